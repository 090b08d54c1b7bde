// Builds the guest the sandbox runs: guest/bootstrap.ts and every module it imports, as one
// JavaScript module (esbuild: types stripped, imports inlined, minified, nothing fetched), so a
// child loads and parses one small module instead of transpiling nine. Part of `npm run build`;
// the file is never committed, and a test checks that it is the build of the current sources.
// Usage: node scripts/bundle-guest.mjs [out]   (default: dist/guest/bootstrap.js)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'guest', 'bootstrap.js'));
const result = await build({
  // Relative to the package, so the module comments (and so the bytes) do not depend on where it is.
  absWorkingDir: root,
  entryPoints: ['guest/bootstrap.ts'],
  bundle: true,
  format: 'esm',
  platform: 'neutral',
  // Deno runs it as written: no down-levelling of syntax the guest relies on.
  target: 'esnext',
  // Less for V8 to scan in every child (measured: about 1 ms of CPU per run); names are kept, so
  // `apify.ApifyApiError.name` and printed functions read as in the sources.
  minify: true,
  keepNames: true,
  write: false,
  logLevel: 'error',
});
const header = '// Built by scripts/bundle-guest.mjs from guest/bootstrap.ts and its imports; do not edit.\n';
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, header + result.outputFiles[0].text);
