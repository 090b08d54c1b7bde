// The build of what ships (tsconfig.build.json → dist/, the guest bundle by bundle-guest.mjs, and
// the files beside the compiled code that it reads at run time, such as the spawner's Perl program),
// and whether it is stale: stale when any file or folder under orchestrator/, types/ or guest/, a
// tsconfig*.json or package.json is newer than the last
// build's stamp, or an entry is missing. A folder's mtime changes when a file is added, removed or
// renamed, so deletions count too; outputs whose source is gone are pruned, so a tarball never
// ships them. Used by scripts/build.mjs and scripts/start.mjs.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const stampOf = (root) => path.join(root, 'dist', '.build-stamp');
const SOURCES = ['orchestrator', 'types', 'guest'];
/** Folders tsc compiles file by file, so an output whose source is gone can be found. */
const COMPILED = ['orchestrator', 'types'];
const ENTRIES = [
  'orchestrator/bin/code-runtime.js', 'orchestrator/bin/actor.js', 'orchestrator/index.js', 'orchestrator/index.d.ts', 'guest/bootstrap.js', 'guest/guest.json',
  'orchestrator/run/spawner.pl',
];
/** Files the compiled code reads beside itself, copied as they are from the compiled folders to dist/. */
const ASSET = /\.pl$/;

/** The newest mtime (ms) of a file or folder and everything under it. */
function newest(target) {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) return 0;
  let latest = stat.mtimeMs;
  if (stat.isDirectory()) {
    for (const name of readdirSync(target)) latest = Math.max(latest, newest(path.join(target, name)));
  }
  return latest;
}

/** Whether `root`'s dist/ is older than its sources, or incomplete. */
export function isStale(root = ROOT) {
  const built = statSync(stampOf(root), { throwIfNoEntry: false })?.mtimeMs;
  if (built === undefined || ENTRIES.some((entry) => !existsSync(path.join(root, 'dist', entry)))) return true;
  const configs = readdirSync(root).filter((name) => /^tsconfig.*\.json$/.test(name) || name === 'package.json');
  return [...SOURCES, ...configs].some((name) => newest(path.join(root, name)) > built);
}

/** Every file under `dir`, as full paths. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath ?? entry.path, entry.name));
}

/** Removes dist/<folder>/**.{js,d.ts,js.map,d.ts.map} whose <folder>/**.ts is gone (a moved or deleted module), and copied assets whose source is gone. */
export function pruneOrphans(root, folder) {
  const out = path.join(root, 'dist', folder);
  if (!existsSync(out)) return;
  for (const full of filesUnder(out)) {
    const origin = path.join(root, path.relative(path.join(root, 'dist'), full));
    if (ASSET.test(full)) {
      if (!existsSync(origin)) rmSync(full);
      continue;
    }
    const source = origin.replace(/(\.d)?\.js(\.map)?$|\.d\.ts(\.map)?$/, '');
    if (!existsSync(`${source}.ts`) && !existsSync(`${source}.d.ts`)) rmSync(full);
  }
}

/** Copies the assets of <folder>/ (ASSET) to dist/<folder>/, where the compiled code finds them. Also run by `npm run build:all`. */
export function copyAssets(root = ROOT) {
  for (const folder of COMPILED) {
    for (const full of filesUnder(path.join(root, folder)).filter((file) => ASSET.test(file))) {
      const target = path.join(root, 'dist', path.relative(root, full));
      mkdirSync(path.dirname(target), { recursive: true });
      copyFileSync(full, target);
    }
  }
}

/**
 * Builds dist/. `stdout: 'stderr'` sends the compilers' output to stderr, for a caller whose stdout
 * belongs to something else (`npm start -- mcp`, where stdout is the MCP protocol).
 */
export function build({ stdout = 'inherit' } = {}) {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    process.stderr.write('build: TypeScript is not installed; run `npm install` (it is a dev dependency) first\n');
    return 1;
  }
  // tsc's incremental state does not notice deleted outputs: without an entry, build from scratch.
  if (ENTRIES.some((entry) => !existsSync(path.join(ROOT, 'dist', entry)))) rmSync(path.join(ROOT, 'dist', '.tsbuildinfo-build'), { force: true });
  // Stamped with the time the build began, so an edit made during the build still counts as newer.
  const began = new Date();
  for (const args of [[tsc, '-p', path.join(ROOT, 'tsconfig.build.json')], [path.join(ROOT, 'scripts', 'bundle-guest.mjs')]]) {
    const r = spawnSync(process.execPath, args, { stdio: ['inherit', stdout === 'stderr' ? 2 : 'inherit', 'inherit'], cwd: ROOT });
    if (r.status !== 0) return r.status ?? 1;
  }
  copyAssets(ROOT);
  for (const folder of COMPILED) pruneOrphans(ROOT, folder);
  writeFileSync(stampOf(ROOT), '');
  utimesSync(stampOf(ROOT), began, began);
  return 0;
}
