/**
 * Installs the global `apify` of types/apify.d.ts: the namespaces (actors.ts, storages.ts) over
 * one HTTP layer (api.ts) bound to this run's relay, plus the aliases other documentation uses.
 * The object is frozen and its relay address fixed here, so a script cannot point it elsewhere.
 * It is built on first use: most scripts never touch it, and building it cost every run ~1 ms of CPU.
 */
import type { ApifyBinding } from '../types/apify.d.ts';
import { ApifyApiError, createApi } from './api.ts';
import { actorNamespaces } from './actors.ts';
import { datasetNamespace, kvsNamespace } from './storages.ts';

export interface BindingConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
}

// Captured at load, before the user's code runs (the binding itself may be built later).
const freeze = Object.freeze;
const defineProperty = Object.defineProperty;

export function createBinding(config: BindingConfig): ApifyBinding {
  const api = createApi(config.url);
  const dataset = datasetNamespace(api);
  const kvs = kvsNamespace(api);
  const { actor, run, store } = actorNamespaces(api, dataset.listItems);
  // Aliases are the same functions and objects, so either naming gives the same results.
  return freeze({ actor, run, dataset, kvs, keyValueStore: kvs, store, ApifyApiError });
}

/** `apify` as a getter without a setter: the same object every time, and assigning to it throws in a module. */
export function installApify(target: typeof globalThis, config: BindingConfig): void {
  let binding: ApifyBinding | undefined;
  defineProperty(target, 'apify', { get: () => (binding ??= createBinding(config)), enumerable: false, configurable: false });
}
