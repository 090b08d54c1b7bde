/**
 * The `dataset` and `kvs` namespaces. Dataset lists are awaitable pages and async iterables at
 * once (paging.ts); key-value records keep their kind across a round trip (values.ts); a missing
 * record is `null`, not an error.
 */
import type { Dataset, DatasetApi, DatasetItem, DatasetSchema, KeyList, KeyValueStore, KeyValueStoreApi } from '../types/apify.d.ts';
import { type Api, expectRecord } from './api.ts';
import * as args from './args.ts';
import { allItems, type FetchPage, pagedList } from './paging.ts';
import { inferFields } from './schema.ts';
import { decodeRecord, encodeRecord, itemBatches, JSON_TYPE } from './values.ts';
import { builtins } from './builtins.ts';

const { jsonParse, freeze, isArray } = builtins;

const PAGE_SIZE = 1000;
const DEFAULT_SAMPLE = 5;
const ID_EXAMPLE = 'WkzbQMuFYuamGv3YF';
const LIST_OPTIONS = ['datasetId', 'fields', 'omit', 'clean', 'desc', 'limit', 'offset'] as const;
/** What the API allows in a record key; checked here so a bad key gets a clear message. */
const KEY = /^[a-zA-Z0-9!\-_.'()]{1,256}$/;

/** `create({ name? })` of a storage kind: named storages are permanent, unnamed ones temporary. */
function creator<T>(api: Api, method: string, path: string, what: string): (options?: unknown) => Promise<T> {
  return async (options) => {
    const name = args.optionalString(method, args.options(method, options, ['name']), 'name');
    return expectRecord<T>(await api.json({ method: 'POST', path, query: { name } }), what);
  };
}

export function datasetNamespace(api: Api): DatasetApi {
  /** One page of items per call, with the filters of `o`; the page fields come from the API's headers. */
  function pages(method: string, o: args.Options): FetchPage<DatasetItem> {
    const datasetId = args.requiredId(method, o, 'datasetId', ID_EXAMPLE);
    const fields = args.optionalFields(method, o, 'fields');
    const omit = args.optionalFields(method, o, 'omit');
    const clean = args.optionalBoolean(method, o, 'clean');
    const desc = args.optionalBoolean(method, o, 'desc');
    return async (offset, limit) => {
      const response = (await api.request({ method: 'GET', path: `/v2/datasets/${datasetId}/items`, query: { fields, omit, clean, desc, offset, limit } }))!;
      const items = jsonParse(await response.text()) as DatasetItem[];
      const header = (name: string) => {
        const value = response.header(`x-apify-pagination-${name}`);
        return value === null || value === '' ? undefined : Number(value);
      };
      return { items, offset: header('offset') ?? offset, limit: header('limit') ?? limit, total: header('total'), desc };
    };
  }

  async function getSchema(options: unknown): Promise<DatasetSchema> {
    const method = 'apify.dataset.getSchema';
    const o = args.options(method, options, ['datasetId', 'sample']);
    const datasetId = args.requiredId(method, o, 'datasetId', ID_EXAMPLE);
    const sample = args.optionalNumber(method, o, 'sample', { min: 1, integer: true }) ?? DEFAULT_SAMPLE;
    const [dataset, items] = await Promise.all([
      api.json({ method: 'GET', path: `/v2/datasets/${datasetId}` }) as Promise<Dataset | null>,
      api.json({ method: 'GET', path: `/v2/datasets/${datasetId}/items`, query: { limit: sample } }) as Promise<unknown[]>,
    ]);
    const itemCount = typeof dataset?.itemCount === 'number' ? dataset.itemCount : undefined;
    return { itemCount, sampleSize: items.length, fields: inferFields(items) };
  }

  return freeze({
    create: creator<Dataset>(api, 'apify.dataset.create', '/v2/datasets', 'a dataset'),
    async pushItems(options: unknown): Promise<void> {
      const method = 'apify.dataset.pushItems';
      const o = args.options(method, options, ['datasetId', 'items']);
      const datasetId = args.requiredId(method, o, 'datasetId', ID_EXAMPLE);
      if (o.items === undefined) throw new TypeError(`${method}: \`items\` must be an object or an array of objects, got undefined`);
      // Batches go one after another, so the items keep their order.
      for (const body of itemBatches(method, isArray(o.items) ? o.items : [o.items])) {
        await api.send({ method: 'POST', path: `/v2/datasets/${datasetId}/items`, body, contentType: JSON_TYPE });
      }
    },
    listItems(options: unknown) {
      const method = 'apify.dataset.listItems';
      const o = args.options(method, options, LIST_OPTIONS);
      const [offset, limit] = args.pageRange(method, o);
      return pagedList(pages(method, o), offset, limit, PAGE_SIZE);
    },
    iterate(options: unknown) {
      const method = 'apify.dataset.iterate';
      const o = args.options(method, options, [...LIST_OPTIONS, 'batchSize']);
      const batchSize = args.optionalNumber(method, o, 'batchSize', { min: 1, integer: true }) ?? PAGE_SIZE;
      const [offset, limit] = args.pageRange(method, o);
      return allItems(pages(method, o), offset, limit, batchSize);
    },
    getSchema,
    inferFields: getSchema,
  });
}

export function kvsNamespace(api: Api): KeyValueStoreApi {
  function recordPath(method: string, o: args.Options): string {
    const storeId = args.requiredId(method, o, 'storeId', ID_EXAMPLE);
    const key = args.requiredString(method, o, 'key', 'OUTPUT');
    if (!KEY.test(key)) throw new TypeError(`${method}: \`key\` must be 1–256 characters of a-z A-Z 0-9 ! - _ . ' ( ), got ${args.show(key)}`);
    return `/v2/key-value-stores/${storeId}/records/${encodeURIComponent(key)}`;
  }

  return freeze({
    create: creator<KeyValueStore>(api, 'apify.kvs.create', '/v2/key-value-stores', 'a store'),
    async set(options: unknown): Promise<void> {
      const method = 'apify.kvs.set';
      const o = args.options(method, options, ['storeId', 'key', 'value', 'contentType']);
      const path = recordPath(method, o);
      const { body, contentType } = encodeRecord(method, o.value, args.optionalString(method, o, 'contentType'));
      await api.send({ method: 'PUT', path, body, contentType });
    },
    async get(options: unknown): Promise<unknown> {
      const method = 'apify.kvs.get';
      const response = await api.request({ method: 'GET', path: recordPath(method, args.options(method, options, ['storeId', 'key'])) }, true);
      return response === null ? null : await decodeRecord(response);
    },
    async list(options: unknown): Promise<KeyList> {
      const method = 'apify.kvs.list';
      const o = args.options(method, options, ['storeId', 'limit', 'exclusiveStartKey']);
      const storeId = args.requiredId(method, o, 'storeId', ID_EXAMPLE);
      const limit = args.optionalNumber(method, o, 'limit', { min: 1, integer: true });
      const exclusiveStartKey = args.optionalString(method, o, 'exclusiveStartKey');
      return await api.json({ method: 'GET', path: `/v2/key-value-stores/${storeId}/keys`, query: { limit, exclusiveStartKey } }) as KeyList;
    },
  });
}
