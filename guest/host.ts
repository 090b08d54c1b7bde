/**
 * Hides the host from the script: install paths, the orchestrator's PID, the DENO_DIR, WebGPU.
 * It runs in the main realm before the script, and again first thing in every Worker the script
 * creates (the Worker constructor is wrapped so each Worker imports it before its own module).
 * Invariant: it is JavaScript source text, not a function of this bundle, so a Worker gets exactly
 * this code whatever the bundler renames or injects. WebGPU's libraries are kept from loading by the
 * sandbox's environment (`DENO_WEBGPU_BACKEND`); here `navigator.gpu` is removed as well.
 */

/**
 * Body of `function (scriptName, source)`; `source` is this text again, for Workers of Workers.
 * `scriptName` is a string, or in the main realm a function giving it (it runs before the envelope arrives).
 */
const HIDE_HOST = String.raw`
  const define = Object.defineProperty;
  const g = globalThis;
  const deno = g.Deno;
  const fixed = (key, value) => {
    try {
      define(deno, key, { get: () => value, set: () => {}, enumerable: true, configurable: false });
    } catch {
      // Already fixed: nothing to do.
    }
  };
  // Node's process (loaded lazily, from these) then shows the same: argv, execPath, title, ppid.
  fixed('execPath', () => 'deno');
  const nameOf = typeof scriptName === 'function' ? scriptName : () => scriptName;
  try {
    define(deno, 'mainModule', { get: () => 'file:///' + nameOf(), set: () => {}, enumerable: true, configurable: false });
  } catch {
    // Already fixed: nothing to do.
  }
  fixed('ppid', 1);
  const internal = deno[deno.internal];
  if (internal && internal.__nodeBootstrapArgs) internal.__nodeBootstrapArgs.argv0 = 'deno';
  // Deno's internals (raw ops among them) are no business of a script.
  delete deno[deno.internal];
  // Storage that lives in DENO_DIR would outlive the run, and its errors name the folder.
  for (const name of ['localStorage', 'sessionStorage', 'caches', 'CacheStorage', 'Cache']) delete g[name];
  for (const name of ['Navigator', 'WorkerNavigator']) {
    if (g[name] && g[name].prototype) delete g[name].prototype.gpu;
  }
  for (const name of ['GPU', 'GPUAdapter', 'GPUDevice', 'GPUAdapterInfo']) delete g[name];

  const Original = g.Worker;
  if (typeof Original !== 'function') return;
  const makeBlobUrl = URL.createObjectURL;
  const stringify = JSON.stringify;
  const construct = Reflect.construct;
  let hider;
  const Worker = function Worker(specifier, options) {
    if (!new.target) throw new TypeError("Failed to construct 'Worker': Please use the 'new' operator");
    let url;
    try {
      url = new URL(String(specifier)).href;
    } catch {
      // Not an absolute URL: the original constructor gives its own error.
      return construct(Original, [specifier, options], new.target);
    }
    hider ??= makeBlobUrl(new Blob(['(function (scriptName, source) {' + source + '})(' + stringify(nameOf()) + ', ' + stringify(source) + ');'], { type: 'text/javascript' }));
    // Imports run in order: the hider first, then the Worker's own module, its errors its own.
    const prelude = 'import ' + stringify(hider) + '; import ' + stringify(url) + ';';
    return construct(Original, [makeBlobUrl(new Blob([prelude], { type: 'text/javascript' })), options], new.target);
  };
  Worker.prototype = Original.prototype;
  define(Original.prototype, 'constructor', { value: Worker, writable: true, configurable: true });
  define(g, 'Worker', { value: Worker, writable: true, configurable: true, enumerable: false });
`;

/**
 * Hides the host in this realm, and arranges the same for every Worker created from it. `sourceUrl`
 * names this realm's copy as a guest file, so its frames (the Worker wrapper's, in a script's
 * `new Worker(…)` error) are dropped from stacks like the rest of the guest's; unnamed, they showed
 * `eval at … (file:///<install path>/…)`. Workers get the text unnamed: their copy is a blob module.
 */
export function hideHost(scriptName: string | (() => string), sourceUrl: string): void {
  new Function('scriptName', 'source', `${HIDE_HOST}\n//# sourceURL=${sourceUrl}`)(scriptName, HIDE_HOST);
}
