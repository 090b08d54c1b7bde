// Builds the guest the sandbox runs, in dist/guest/: `guest.json`, the guest's code as strings of
// JavaScript bundled by esbuild from guest/ (types stripped, imports inlined, minified, nothing
// fetched), and `bootstrap.js`, the small module Deno runs, which reads that line from stdin (the
// orchestrator writes it first) and runs the code with `new Function`. Why not a module: Deno parses
// a module's whole text for its imports, and the sandbox keeps no analysis cache, so a 20 KB guest
// module cost every child ~3.5 ms of CPU, and even as string literals ~1.5 ms. Why several strings:
// the core (bootstrap.ts, run.ts, exit.ts, install.ts, network.ts, …) runs in every child; the realm
// code (realm/) runs first in the main realm and in every Worker, which gets it as text; and the
// modules behind the globals a script may never use, the `apify` binding (binding.ts and its
// modules), `tools` (tools.ts), `files` (files.ts) and the `fetch` through the relay (egress.ts),
// are each compiled only when a script first touches them (lazy.ts): a run that never does pays
// nothing for them.
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

/** The lazily compiled modules: their names (guest.json's `lazy`), files and what each hands its caller. */
const LAZY = [
  { name: 'binding', file: 'binding.ts', factory: 'createBinding', loader: 'loadBinding' },
  { name: 'tools', file: 'tools.ts', factory: 'createTools', loader: 'loadTools' },
  { name: 'files', file: 'files.ts', factory: 'createFiles', loader: 'loadFiles' },
  { name: 'egress', file: 'egress.ts', factory: 'createEgress', loader: 'loadEgress' },
];

// The core: lazy.ts compiles each lazy module from its string (the loader's `guestLazySources`),
// with the builtins the core captured at start (free names below are the `new Function`
// parameters). The `Function` too is the captured one: a script's own would be handed the module's
// source and sourceURL.
const core = await bundle('guest/bootstrap.ts', 'esm', [swap('lazy.ts', [
  "import { builtins } from './builtins.ts';",
  'declare const guestLazySources: Record<string, string>;',
  "const load = (name: string) => builtins.Function('guestBuiltins', guestLazySources[name])(builtins);",
  ...LAZY.map(({ name, loader }) => `export const ${loader} = () => load('${name}');`),
].join('\n'))]);
// A lazy module runs its top level only when a script first touches it, after the script patched
// what it likes, so that top level may use no global as it is by then: its builtins are the
// core's, passed in; its entry exports nothing (esbuild's export helpers would walk the exports
// with for-in, so an enumerable Object.prototype property broke `apify`), but hands its factory to
// the caller; and keepNames' helper takes the captured Object.defineProperty (rewritten below).
const lazy = {};
for (const { name, file, factory } of LAZY) {
  const entry = `${name}-entry.ts`;
  const text = (await bundle(entry, 'iife', [
    swap(entry, `import { ${factory} } from './${file}';\ndeclare let guestLazy: unknown;\nguestLazy = ${factory};`),
    swap('builtins.ts', 'declare const guestBuiltins: never;\nexport const builtins = guestBuiltins;'),
  ])).replaceAll('Object.defineProperty', 'guestBuiltins.defineProperty');
  if (/__esModule|\bObject\.|\bfor\s*\(\s*var\b/.test(text.slice(0, text.indexOf('guestBuiltins;')))) {
    throw new Error(`bundle-guest: ${file}'s prologue reads globals the script may have patched by the time it runs`);
  }
  // Named by sourceURL, so its frames are recognisably the guest's (the realm drops them from stacks).
  lazy[name] = `"use strict";let guestLazy;${text}return guestLazy;\n//# sourceURL=code-runtime-guest:guest-${name}.js`;
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

// Strict, as a module would be; async, for the core's top-level await. The loader names the core by
// sourceURL (the lazy modules are named above), so its frames are recognisably the guest's too.
const guestCode = JSON.stringify({
  core: `"use strict";return(async()=>{${core}})();`,
  realm: `"use strict";let guestRealm;${realm}return guestRealm;`,
  lazy,
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
const { core, realm, lazy } = JSON.parse(new TextDecoder().decode(head.subarray(0, end)));
new Function("guestModuleUrl", "guestLazySources", "guestRealmSource", "guestStdinHead", core + "\\n//# sourceURL=code-runtime-guest:guest.js")(import.meta.url, lazy, realm, head.subarray(end + 1));
`;
mkdirSync(outDir, { recursive: true });
writeFileSync(path.join(outDir, 'bootstrap.js'), loader);
writeFileSync(path.join(outDir, GUEST_CODE_FILE), `${guestCode}\n`);
