/**
 * Where the sandbox's pieces live: the Deno binary (from the npm `deno` package, never PATH), the
 * guest bundle, and the DENO_DIR the children share. That directory is made so nothing a script
 * does is written to disk at all: the sandbox transpiles in memory (`DENO_EMIT_CACHE_MODE`, see
 * sandbox.ts); analysis and code caches and location data are blocked here, and so, as a second
 * line, are the emit folders of every module kind a script can load (`data:`, `blob:`, Workers');
 * only emits of the guest's own files (`gen/file`) may be cached. Whatever else appears is pruned per run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The package root: this file is at `<root>/orchestrator/run/` as source and `<root>/dist/orchestrator/run/` built. */
export const PACKAGE_ROOT = (() => {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.resolve(here, '..', '..');
  return path.basename(up) === 'dist' ? path.resolve(up, '..') : up;
})();

/** The module children run: the guest's loader, built from guest/ by `npm run build` (scripts/bundle-guest.mjs). */
export const BOOTSTRAP_PATH = path.join(PACKAGE_ROOT, 'dist', 'guest', 'bootstrap.js');
/** The guest's code, one line of JSON the loader reads first on stdin (built with the loader). */
export const GUEST_CODE_PATH = path.join(PACKAGE_ROOT, 'dist', 'guest', 'guest.json');

let bootstrapUrl: string | undefined;
let guestCode: Buffer | undefined;

/** A file of the built guest; throws, naming the fix, when the package was not built. */
function readBuilt(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new Error(`The guest bundle ${file} is missing; run \`npm run build\` in the code-runtime folder`, { cause: error });
  }
}

/**
 * The module children run, as a `data:` URL of the built loader, read once: a file path would be in
 * every child's heap (Deno's module map; a script can list it with node:v8's getHeapSnapshot), and
 * with it the install path. Throws, naming the fix, when the package was not built.
 */
export function resolveBootstrap(): string {
  bootstrapUrl ??= `data:text/javascript,${encodeURIComponent(readBuilt(BOOTSTRAP_PATH).toString('utf8'))}`;
  return bootstrapUrl;
}

/** The guest's code as every child is sent it first, read once; throws, naming the fix, when the package was not built. */
export function resolveGuestCode(): Buffer {
  guestCode ??= readBuilt(GUEST_CODE_PATH);
  return guestCode;
}

let denoPath: string | undefined;

/** The Deno executable shipped inside the npm `deno` package; throws if the package is missing. */
export function resolveDeno(): string {
  if (denoPath) return denoPath;
  let installApi: { runInstall(): string };
  try {
    installApi = require('deno/install_api.cjs');
  } catch (error) {
    throw new Error('The npm package `deno` is not installed; run `npm install` in the code-runtime folder', { cause: error });
  }
  // Copies the platform package's binary next to the wrapper when it can, else returns it in place.
  denoPath = installApi.runInstall();
  return denoPath;
}

export type SystemTool = 'prlimit' | 'setpriv' | 'perl';

const toolPaths = new Map<SystemTool, string | null>();

/**
 * A util-linux tool, or null where the system has none (macOS). The sandbox wraps Deno in `setpriv`,
 * which kills it with its parent; the tests lower this process's own limits with `prlimit`.
 */
export function resolveTool(name: SystemTool): string | null {
  if (!toolPaths.has(name)) {
    toolPaths.set(name, [`/usr/bin/${name}`, `/bin/${name}`].find((candidate) => existsSync(candidate)) ?? null);
  }
  return toolPaths.get(name)!;
}

let shell: string | null | undefined;

/**
 * The POSIX shell that sets the child's limits before it execs Deno (sandbox.ts): `/bin/sh`, when it
 * knows `ulimit -d` and `trap`, else null (the sandbox then runs without them). Asked once per process.
 */
export function resolveShell(): string | null {
  if (shell === undefined) {
    const sh = '/bin/sh';
    const probe = existsSync(sh) ? spawnSync(sh, ['-c', "ulimit -d >/dev/null && trap '' TRAP"], { stdio: 'ignore', env: {} }) : undefined;
    shell = probe?.status === 0 ? sh : null;
  }
  return shell;
}

/**
 * This process's hard limit on its data segment (RLIMIT_DATA), in bytes, which its children inherit
 * and cannot raise: Infinity when unlimited or unknown (not Linux). Read afresh each time (≈ 15 µs),
 * since an operator may lower it while the process runs (`prlimit --pid`).
 */
export function dataHardLimitBytes(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max data size'));
    // Columns after the name: soft, hard, unit (bytes); `unlimited` where there is none.
    const hard = line?.slice('Max data size'.length).trim().split(/\s+/)[1];
    return hard && /^\d+$/.test(hard) ? Number(hard) : Infinity;
  } catch {
    // No /proc (not Linux): nothing known, nothing capped.
    return Infinity;
  }
}

let denoDir: string | undefined;

/** Deno's sqlite caches: folders where it expects a database file, so it keeps them in memory. */
const BLOCKED_DATABASES = ['dep_analysis_cache_v2', 'node_analysis_cache_v2', 'v8_code_cache_v2'];
/** Emit folders (`gen/<scheme>`) for every kind of module a script can load; only `gen/file` is the bootstrap's. */
const BLOCKED_EMITS = ['data', 'blob', 'http', 'https', 'npm', 'jsr', 'node'];
/** What a run may leave in `gen/`: the bootstrap's emits and the blocking files themselves. */
const KEPT_IN_GEN = new Set(['file', ...BLOCKED_EMITS]);

/** Makes `dir/name` a file (not a folder), so nothing can be written below it. */
function blockAsFile(dir: string, name: string): void {
  const at = path.join(dir, name);
  try {
    if (statSync(at).isFile()) return;
  } catch {
    // Not there yet.
  }
  rmSync(at, { recursive: true, force: true });
  writeFileSync(at, '');
}

/**
 * The DENO_DIR every child of this process uses. Shared so the bootstrap is transpiled once, and
 * shaped so runs write nothing: the sqlite analysis caches and the V8 code cache are folders where
 * Deno expects database files (it falls back to memory), `location_data` (localStorage, Cache API) is a
 * file, and so is `gen/<kind>` for every module kind but the bootstrap's (Deno then transpiles in
 * memory only: measured 0 bytes written for any number of `data:`/`blob:`/Worker modules).
 */
export function sharedDenoDir(): string {
  if (denoDir && existsSync(denoDir)) return denoDir;
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  const prefix = `code-runtime-${uid}-`;
  removeOrphans(prefix);
  const dir = path.join(tmpdir(), `${prefix}${process.pid}`);
  mkdirSync(path.join(dir, 'gen'), { recursive: true, mode: 0o700 });
  for (const name of BLOCKED_DATABASES) mkdirSync(path.join(dir, name), { recursive: true });
  // localStorage and the Cache API live below it: a file there makes them fail instead.
  blockAsFile(dir, 'location_data');
  for (const name of BLOCKED_EMITS) blockAsFile(path.join(dir, 'gen'), name);
  denoDir = dir;
  process.once('exit', removeSharedDenoDir);
  return dir;
}

/**
 * After a run: removes anything in `gen/` that is not the bootstrap's (a module kind not blocked
 * above) and restores the blocking files, so nothing a script caused outlives its run.
 */
export function pruneScriptEmits(dir: string): void {
  const gen = path.join(dir, 'gen');
  let names: string[];
  try {
    names = readdirSync(gen);
  } catch {
    return;
  }
  try {
    for (const name of names) {
      if (!KEPT_IN_GEN.has(name)) rmSync(path.join(gen, name), { recursive: true, force: true });
    }
    for (const name of BLOCKED_EMITS) blockAsFile(gen, name);
  } catch {
    // Out of file descriptors or racing another run's prune: the next run's prune tries again.
  }
}

/** Runs at exit: must never throw, or later exit listeners (killing children) would not run. */
export function removeSharedDenoDir(): void {
  try {
    if (denoDir) rmSync(denoDir, { recursive: true, force: true });
  } catch {
    // A child still writing into it; the next orchestrator to start removes it (removeOrphans).
  }
  denoDir = undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the DENO_DIRs of this user's orchestrators that died without cleaning up (SIGTERM, SIGKILL). */
function removeOrphans(prefix: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(prefix.length));
    if (!name.startsWith(prefix) || !Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    try {
      rmSync(path.join(tmpdir(), name), { recursive: true, force: true });
    } catch {
      // Not ours to remove after all, or already gone.
    }
  }
}
