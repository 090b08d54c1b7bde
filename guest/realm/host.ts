/**
 * Hides the host from the script: install paths, the orchestrator's PID, Deno's internals, the
 * DENO_DIR's storage and WebGPU. WebGPU's libraries are kept from loading by the sandbox's
 * environment (`DENO_WEBGPU_BACKEND`); here `navigator.gpu` is removed as well.
 */
import { defineProperty, own } from './captured.ts';
import { facts } from './facts.ts';

type Bag = Record<PropertyKey, unknown>;

function fixed(target: object, key: string, get: () => unknown): void {
  try {
    defineProperty(target, key, own({ get, set: () => {}, enumerable: true, configurable: false }));
  } catch {
    // Already fixed: nothing to do.
  }
}

export function hideHost(): void {
  const global = globalThis as unknown as Bag;
  const deno = Deno as unknown as Bag & { internal: symbol };
  // Node's process (loaded lazily, from these) then shows the same: argv, execPath, title, ppid.
  fixed(deno, 'execPath', () => () => 'deno');
  fixed(deno, 'mainModule', () => `file:///${facts.scriptName}`);
  fixed(deno, 'ppid', () => 1);
  const internal = deno[deno.internal] as { __nodeBootstrapArgs?: { argv0: string } } | undefined;
  if (internal?.__nodeBootstrapArgs) internal.__nodeBootstrapArgs.argv0 = 'deno';
  // Deno's internals (raw ops among them) are no business of a script.
  delete deno[deno.internal];
  // Storage that lives in DENO_DIR would outlive the run, and its errors name the folder.
  for (const name of ['localStorage', 'sessionStorage', 'caches', 'CacheStorage', 'Cache']) delete global[name];
  for (const name of ['Navigator', 'WorkerNavigator']) {
    const prototype = (global[name] as { prototype?: Bag } | undefined)?.prototype;
    if (prototype) delete prototype.gpu;
  }
  for (const name of ['GPU', 'GPUAdapter', 'GPUDevice', 'GPUAdapterInfo']) delete global[name];
}
