// Builds the guest the sandbox runs, in dist/guest/: `guest.json`, the guest's code as two strings of
// JavaScript bundled by esbuild from guest/ (types stripped, imports inlined, minified, nothing
// fetched), and `bootstrap.js`, the small module Deno runs, which reads that line from stdin (the
// orchestrator writes it first) and runs the code with `new Function`. Why not a module: Deno parses
// a module's whole text for its imports, and the sandbox keeps no analysis cache, so a 20 KB guest
// module cost every child ~3.5 ms of CPU, and even as string literals ~1.5 ms. Why three strings: the
// core (bootstrap.ts, run.ts, exit.ts, install.ts, …) runs in every child; the realm code (realm/)
// runs first in the main realm and in every Worker, which gets it as text; and the `apify` binding
// (binding.ts and its modules) is compiled only when a script first touches `apify`
// (lazy-binding.ts), ~1 ms saved per run that never does.
// Part of `npm run build`; never committed; a test checks it is the build of the sources.
// Usage: node scripts/bundle-guest.mjs [outDir]   (default: dist/guest)
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const guest = path.join(root, 'guest');
const outDir = path.resolve(process.argv[2] ?? path.join(root, 'dist', 'guest'));
/** The guest's code as the orchestrator sends it (orchestrator/run/deno.ts reads it). */
const GUEST_CODE_FILE = 'guest.json';

/** Replaces the module at guest/<file> with `contents` (resolved from guest/) in one build. */
function swap(file, contents) {
  const name = file.replace('.', '\\.');
  return {
    name: `swap-${file}`,
    setup(b) {
      b.onResolve({ filter: new RegExp(`(^|/)${name}$`) }, () => ({ path: file, namespace: 'guest-swap' }));
      b.onLoad({ filter: new RegExp(`^${name}$`), namespace: 'guest-swap' }, () => ({ contents, resolveDir: guest, loader: 'ts' }));
    },
  };
}

async function bundle(entry, format, plugins, { keepNames = true } = {}) {
  const result = await build({
    // Relative to the package, so the module comments (and so the bytes) do not depend on where it is.
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    format,
    platform: 'neutral',
    // Deno runs it as written: no down-levelling of syntax the guest relies on.
    target: 'esnext',
    // Less for V8 to scan in every child; names are kept, so `apify.ApifyApiError.name` and
    // printed functions read as in the sources.
    minify: true,
    keepNames,
    // The core runs as a function body, not a module: the loader hands it the module's URL.
    define: { 'import.meta.url': 'guestModuleUrl' },
    plugins,
    write: false,
    logLevel: 'error',
  });
  const text = result.outputFiles[0].text;
  if (/^\s*(import|export)\b[^(]|\bimport\.meta\b/m.test(text)) {
    throw new Error(`bundle-guest: ${entry} runs as a function body, so it may use no import/export statement and no import.meta but \`import.meta.url\``);
  }
  return text;
}

// The core: lazy-binding.ts compiles the binding from the loader's second string, with the builtins
// the core captured at start (free names below are the `new Function` parameters). The `Function`
// too is the captured one: a script's own would be handed the binding's source and sourceURL.
const core = await bundle('guest/bootstrap.ts', 'esm', [swap('lazy-binding.ts', [
  "import { builtins } from './builtins.ts';",
  'declare const guestBindingSource: string;',
  "export const loadBinding = () => builtins.Function('guestBuiltins', guestBindingSource)(builtins);",
].join('\n'))]);
// The binding runs its top level only when a script first touches `apify`, after the script patched
// what it likes, so that top level may use no global as it is by then: its builtins are the core's,
// passed in; its entry exports nothing (esbuild's export helpers would walk the exports with for-in,
// so an enumerable Object.prototype property broke `apify`), but hands createBinding to the caller;
// and keepNames' helper takes the captured Object.defineProperty (rewritten below).
const bindingEntry = 'binding-entry.ts';
const binding = (await bundle(bindingEntry, 'iife', [
  swap(bindingEntry, "import { createBinding } from './binding.ts';\ndeclare let guestBinding: unknown;\nguestBinding = createBinding;"),
  swap('builtins.ts', 'declare const guestBuiltins: never;\nexport const builtins = guestBuiltins;'),
])).replaceAll('Object.defineProperty', 'guestBuiltins.defineProperty');
if (/__esModule|\bObject\.|\bfor\s*\(\s*var\b/.test(binding.slice(0, binding.indexOf('guestBuiltins;')))) {
  throw new Error('bundle-guest: the binding\'s prologue reads globals the script may have patched by the time it runs');
}

// The realm code: a function body returning the prepared realm (as ESM with no exports, its top
// level is the body's own: no wrapper function for V8 to parse twice). It runs before any code of the
// script's in its realm, and after that calls only builtins it captured, so esbuild's keepNames
// helper (a descriptor object literal, which a script's Object.prototype.get would spoil) is left out;
// the one name a script sees, Worker's, is set by hand.
const realmEntry = 'realm-entry.ts';
const realm = await bundle(realmEntry, 'esm', [swap(realmEntry, [
  "import { prepareRealm } from './realm/realm.ts';",
  'declare const guestRealmSource: string;',
  'declare const guestHiddenUrls: readonly string[];',
  'declare let guestRealm: unknown;',
  'guestRealm = prepareRealm(guestRealmSource, guestHiddenUrls);',
].join('\n'))], { keepNames: false });

// Strict, as a module would be; async, for the core's top-level await. The loader names each by
// sourceURL, so their frames are recognisably the guest's (bootstrap.ts drops them from stacks).
const guestCode = JSON.stringify({
  core: `"use strict";return(async()=>{${core}})();`,
  binding: `"use strict";let guestBinding;${binding}return guestBinding;`,
  realm: `"use strict";let guestRealm;${realm}return guestRealm;`,
});
// The module Deno loads: small, because Deno parses a module's whole text; the code comes on stdin.
const loader = `// Built by scripts/bundle-guest.mjs from guest/; do not edit.
// Reads the guest's code, which the orchestrator writes first on stdin as one line of JSON (${GUEST_CODE_FILE}), and runs it.
const buffer = new Uint8Array(65536);
let head = new Uint8Array(0);
let end;
while ((end = head.indexOf(10)) < 0) {
  const n = await Deno.stdin.read(buffer);
  if (n === null) throw new Error("code-runtime: the guest's code never arrived on stdin");
  const next = new Uint8Array(head.length + n);
  next.set(head);
  next.set(buffer.subarray(0, n), head.length);
  head = next;
}
const { core, binding, realm } = JSON.parse(new TextDecoder().decode(head.subarray(0, end)));
const named = (name) => "\\n//# sourceURL=code-runtime-guest:" + name;
new Function("guestModuleUrl", "guestBindingSource", "guestRealmSource", "guestStdinHead", core + named("guest.js"))(import.meta.url, binding + named("guest-binding.js"), realm, head.subarray(end + 1));
`;
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'bootstrap.js'), loader);
writeFileSync(path.join(outDir, GUEST_CODE_FILE), `${guestCode}\n`);
