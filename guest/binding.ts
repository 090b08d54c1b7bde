/**
 * STUB (replaced by the issue-4 work): installs the global `apify` object, an Apify API client over
 * `fetch` against the orchestrator's loopback relay. The token is never here; the relay adds it.
 */
export interface BindingConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
}

export function installApify(target: typeof globalThis, _config: BindingConfig): void {
  Object.defineProperty(target, 'apify', { value: Object.freeze({}), enumerable: false, configurable: false, writable: false });
}
