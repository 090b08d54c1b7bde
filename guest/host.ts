/**
 * Hides the host from the script: install paths, the orchestrator's PID, the DENO_DIR, WebGPU.
 * `hideHost` runs in the main realm before the script, and again at the start of every Worker the
 * script creates (the Worker constructor is wrapped so each Worker's module first runs this same
 * function, from its own source text). Invariant: self-contained — no imports, no outer names — so
 * `String(hideHost)` is all a Worker needs. WebGPU's libraries are kept from loading by the
 * sandbox's environment (`DENO_WEBGPU_BACKEND`); here `navigator.gpu` is removed as well.
 */
export function hideHost(scriptName: string): void {
  const define = Object.defineProperty;
  const g = globalThis as unknown as Record<string, unknown>;
  const deno = g.Deno as Record<PropertyKey, unknown> & { internal: symbol };
  const fixed = (target: object, key: PropertyKey, value: unknown) => {
    try {
      define(target, key, { get: () => value, set: () => {}, enumerable: true, configurable: false });
    } catch {
      // Already fixed (a nested Worker runs this again in a fresh realm, never twice in one).
    }
  };
  // Node's `process` (loaded lazily, from these) then shows the same: argv, execPath, title, ppid.
  fixed(deno, 'execPath', () => 'deno');
  fixed(deno, 'mainModule', `file:///${scriptName}`);
  fixed(deno, 'ppid', 1);
  const internal = deno[deno.internal] as Record<string, unknown> | undefined;
  const nodeArgs = internal?.__nodeBootstrapArgs as Record<string, unknown> | undefined;
  if (nodeArgs) nodeArgs.argv0 = 'deno';
  // Deno's internals (raw ops among them) are no business of a script.
  delete deno[deno.internal];
  // Storage that lives in DENO_DIR would outlive the run, and its errors name the folder.
  for (const name of ['localStorage', 'sessionStorage', 'caches', 'CacheStorage', 'Cache']) delete g[name];
  for (const name of ['Navigator', 'WorkerNavigator']) {
    const proto = (g[name] as { prototype?: Record<string, unknown> } | undefined)?.prototype;
    if (proto) delete proto.gpu;
  }
  for (const name of ['GPU', 'GPUAdapter', 'GPUDevice', 'GPUAdapterInfo']) delete g[name];

  const Original = g.Worker as (new (specifier: string | URL, options?: unknown) => object) | undefined;
  if (typeof Original !== 'function') return;
  const makeBlobUrl = URL.createObjectURL;
  const stringify = JSON.stringify;
  // This function again, as a module of its own: a Worker imports it before its own module.
  let hider: string | undefined;
  function Worker(this: unknown, specifier: string | URL, options?: unknown): object {
    if (!new.target) throw new TypeError("Failed to construct 'Worker': Please use the 'new' operator");
    let url: string;
    try {
      url = new URL(String(specifier)).href;
    } catch {
      // Not an absolute URL: the original constructor gives its own error.
      return Reflect.construct(Original!, [specifier, options], new.target);
    }
    hider ??= makeBlobUrl(new Blob([`(${String(hideHost)})(${stringify(scriptName)});`], { type: 'text/javascript' }));
    // Imports run in order: the hider first, then the Worker's own module, its errors its own.
    const prelude = `import ${stringify(hider)}; import ${stringify(url)};`;
    return Reflect.construct(Original!, [makeBlobUrl(new Blob([prelude], { type: 'text/javascript' })), options], new.target);
  }
  Worker.prototype = Original.prototype;
  define(Original.prototype, 'constructor', { value: Worker, writable: true, configurable: true });
  define(g, 'Worker', { value: Worker, writable: true, configurable: true, enumerable: false });
}
