// The package.json a tarball ships: the repository's, without what only the repository can use.
// `npm pack` (and so `npm publish`) packs the package.json on disk, and its lifecycle scripts name
// scripts/, which does not ship: npm would list `prepare` as an install script for an embedder to
// approve. So `prepack` (after the build) swaps in the shipped manifest and `postpack` puts the
// repository's back, byte for byte and with its mtime (a newer one would make the build stale).
// A pack that failed between the two leaves the original saved in dist/: the next `strip` or
// `restore` puts it back first.
// Usage: node scripts/build-pack.mjs strip|restore
import { copyFileSync, existsSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MANIFEST = path.join(ROOT, 'package.json');
const SAVED = path.join(ROOT, 'dist', '.package.json.repository');
/** Fields of the repository's package.json an installed package has no use for: every script needs a file that does not ship, and dev dependencies are never installed with it. */
export const UNSHIPPED_FIELDS = ['scripts', 'devDependencies'];

/** The manifest a tarball ships, from the repository's. */
export function shippedManifest(manifest) {
  const shipped = { ...manifest };
  for (const field of UNSHIPPED_FIELDS) delete shipped[field];
  return shipped;
}

function restore() {
  if (!existsSync(SAVED)) return;
  const { atime, mtime } = statSync(SAVED);
  renameSync(SAVED, MANIFEST);
  utimesSync(MANIFEST, atime, mtime);
}

function strip() {
  restore();
  const { atime, mtime } = statSync(MANIFEST);
  copyFileSync(MANIFEST, SAVED);
  utimesSync(SAVED, atime, mtime);
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  writeFileSync(MANIFEST, `${JSON.stringify(shippedManifest(manifest), null, 2)}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const action = { strip, restore }[process.argv[2]];
  if (!action) {
    process.stderr.write('usage: node scripts/build-pack.mjs strip|restore\n');
    process.exit(2);
  }
  action();
}
