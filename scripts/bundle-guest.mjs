// Builds the guest the sandbox runs: guest/bootstrap.ts and every module it imports, bundled by
// esbuild (types stripped, imports inlined, minified, nothing fetched), then wrapped as a string in a
// two-line module that evaluates it with `new Function`. Deno analyses every JavaScript *module* it
// loads with a full parse for its imports, and the sandbox keeps no analysis cache, so a 20 KB module
// cost every child ~3.5 ms of CPU; a string is only scanned, and V8 compiles the body lazily. Part of
// `npm run build`; the file is never committed, and a test checks that it is the build of the sources.
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
  // The body runs as a function, not a module: the loader hands it the module's own URL.
  define: { 'import.meta.url': 'guestModuleUrl' },
  write: false,
  logLevel: 'error',
});
const bundled = result.outputFiles[0].text;
if (/^\s*(import|export)\b[^(]|\bimport\.meta\b/m.test(bundled)) {
  throw new Error('bundle-guest: the bundled guest runs as a function body, so it may use no import/export statement and no import.meta but `import.meta.url`');
}
// Strict, as a module would be; async, for the guest's top-level await; named, so its frames are
// recognisably the guest's (bootstrap.ts drops them from the script's stacks).
const body = `"use strict";return(async()=>{${bundled}})();`;
const loader = [
  '// Built by scripts/bundle-guest.mjs from guest/bootstrap.ts and its imports; do not edit.',
  `new Function("guestModuleUrl",${JSON.stringify(body)}+"\\n//# sourceURL="+new URL("guest.js",import.meta.url).href)(import.meta.url);`,
  '',
].join('\n');
mkdirSync(path.dirname(out), { recursive: true });
writeFileSync(out, loader);
