/**
 * The global `apify` of types/apify.d.ts: the namespaces (actors.ts, storages.ts) over one HTTP
 * layer (api.ts) bound to this run's relay, plus the aliases other documentation uses. The object
 * is frozen and its relay address fixed here, so a script cannot point it elsewhere. install.ts
 * builds it on a script's first use (most scripts never touch it).
 */
import type { ApifyBinding } from '../types/apify.d.ts';
import { ApifyApiError, createApi } from './api.ts';
import { actorNamespaces } from './actors.ts';
import { builtins } from './builtins.ts';
import { datasetNamespace, kvsNamespace } from './storages.ts';

export interface BindingConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
}

const { freeze } = builtins;

export function createBinding(config: BindingConfig): ApifyBinding {
  const api = createApi(config.url);
  const dataset = datasetNamespace(api);
  const kvs = kvsNamespace(api);
  const { actor, run, store } = actorNamespaces(api, dataset.listItems);
  // Aliases are the same functions and objects, so either naming gives the same results.
  return freeze({ actor, run, dataset, kvs, keyValueStore: kvs, store, ApifyApiError });
}
