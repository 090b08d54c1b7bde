/// <reference path="./files.d.ts" />
/**
 * The global `apify` object of a code-runtime script: a typed subset of the Apify API v2, already
 * authenticated (the token stays outside the sandbox). Reference it for completion and type checks:
 * `/// <reference types="code-runtime/types/apify" />`, or a relative `/// <reference path="…/apify.d.ts" />`.
 * Every method takes one options object and returns the API's parsed JSON without its `{ data }` envelope.
 * The reference written for agents is docs/API.md.
 */

// ---------------------------------------------------------------------------------------------
// Records the API returns. Only the fields scripts commonly read are named; the rest are there too.

/** The status of an Actor run. `READY` and `RUNNING` are not finished; the others are, or soon will be. */
export type ActorRunStatus = 'READY' | 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMING-OUT' | 'TIMED-OUT' | 'ABORTING' | 'ABORTED';

/** An Actor run. @example const run = await apify.actor.run({ actorId: 'apify/hello-world' }); run.status */
export interface ActorRun {
  id: string;
  /** The Actor's ID (not its `username/name`). */
  actId: string;
  status: ActorRunStatus;
  startedAt: string;
  finishedAt?: string | null;
  /** Where the run's results usually are: read them with `apify.dataset.listItems({ datasetId })`. */
  defaultDatasetId: string;
  defaultKeyValueStoreId: string;
  /** What the run has cost so far, in USD. */
  usageTotalUsd?: number;
  [field: string]: unknown;
}

/** An Actor, as `actor.getDetails` returns it. */
export interface Actor {
  id: string;
  name: string;
  username: string;
  title?: string;
  description?: string;
  [field: string]: unknown;
}

/** An Actor as the Store lists it. */
export interface StoreActor {
  id: string;
  name: string;
  username: string;
  title?: string;
  description?: string;
  categories?: string[];
  [field: string]: unknown;
}

/** A dataset. */
export interface Dataset {
  id: string;
  name?: string | null;
  itemCount?: number;
  [field: string]: unknown;
}

/** A key-value store. */
export interface KeyValueStore {
  id: string;
  name?: string | null;
  [field: string]: unknown;
}

/** One dataset item: a JSON object. */
export type DatasetItem = Record<string, unknown>;

/** A value that `kvs.set` stores and `kvs.get` returns: JSON, text or bytes. */
export type RecordValue = unknown;

// ---------------------------------------------------------------------------------------------
// Lists.

/**
 * One page of a list: an array of its items that also has the page's fields, so both
 * `const items = await list` and `const { items, count } = await list` work.
 */
export type ListPage<T> = T[] & {
  /** The same array. */
  items: T[];
  /** Items on this page. */
  count: number;
  offset: number;
  limit: number;
  /** Items in the whole list, when the API says. */
  total?: number;
  desc?: boolean;
};

/**
 * A list call's result. `await` it for one page (see {@link ListPage}); or `for await` over it,
 * without awaiting, for every item across all pages (up to `limit` items when one is given).
 * @example for await (const item of apify.dataset.listItems({ datasetId })) console.log(item.url);
 */
export interface PagedList<T> extends PromiseLike<ListPage<T>>, AsyncIterable<T> {
  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<ListPage<T> | R>;
  finally(onFinally?: (() => void) | null): Promise<ListPage<T>>;
  readonly [Symbol.toStringTag]: string;
}

// ---------------------------------------------------------------------------------------------
// Options.

/** Options of `actor.search` and `store`. */
export interface StoreSearchOptions {
  /** Words to search for, e.g. `'google maps'`. */
  query?: string;
  /** The same as `query` (the name `store()` uses). */
  search?: string;
  /** Actors per page (awaited), or in all (iterated). */
  limit?: number;
  /** How many results to skip. Default 0. */
  offset?: number;
  /** A Store category, e.g. `'AI'`. */
  category?: string;
}

export interface ActorIdOptions {
  /** `username/name` (e.g. `'apify/rag-web-browser'`) or the Actor's ID. */
  actorId: string;
}

export interface ActorStartOptions extends ActorIdOptions {
  /** The Actor's input (JSON). Default `{}`. */
  input?: unknown;
  /** Memory for the run in MB, a power of 2 from 128. Default: the Actor's own. */
  memoryMbytes?: number;
  /** The run's timeout in seconds, at least 1. Default: the runtime's `defaultTimeoutSecs`, else the Actor's own. */
  timeoutSecs?: number;
  /** The most this run may charge, in USD, at least 0.01; clamped to what remains of the runtime's budget. */
  maxTotalChargeUsd?: number;
  /** The most items a pay-per-result run may charge for, at least 1. */
  maxItems?: number;
}

export interface ActorRunOptions extends ActorStartOptions {
  /** How long to wait for the run to finish, in seconds (any length; waits in 60 s steps). Default 60. */
  waitForFinishSecs?: number;
}

export interface ActorRunAndGetItemsOptions extends ActorRunOptions, DatasetFilterOptions {
  /** The most items to return. Default: all. */
  limit?: number;
  /** Items to skip. Default 0. */
  offset?: number;
}

export interface RunIdOptions {
  /** The run's ID, e.g. `run.id`. */
  runId: string;
}

export interface RunWaitOptions extends RunIdOptions {
  /** How long to wait, in seconds (any length; waits in 60 s steps). Default 60. */
  waitForFinishSecs?: number;
}

export interface RunGetLogOptions extends RunIdOptions {
  /** Only the last `limit` characters of the log. Default: all of it. */
  limit?: number;
}

export interface CreateStorageOptions {
  /** A name makes the storage permanent (and returns the existing one of that name); none makes a temporary one. */
  name?: string;
}

export interface DatasetIdOptions {
  /** The dataset's ID (e.g. `run.defaultDatasetId`) or `username~name`. */
  datasetId: string;
}

export interface DatasetPushItemsOptions extends DatasetIdOptions {
  /** One item or an array of items, each a JSON object. */
  items: DatasetItem | DatasetItem[];
}

export interface DatasetFilterOptions {
  /** Only these fields of each item, e.g. `['title', 'url']`. */
  fields?: string[] | string;
  /** Every field but these. */
  omit?: string[] | string;
  /** Leave out empty items and fields whose name starts with `#`. */
  clean?: boolean;
  /** Newest items first. */
  desc?: boolean;
}

export interface DatasetListItemsOptions extends DatasetIdOptions, DatasetFilterOptions {
  /** Items per page (awaited) or in all (iterated). Default: all. */
  limit?: number;
  /** Items to skip. Default 0. */
  offset?: number;
}

export interface DatasetIterateOptions extends DatasetListItemsOptions {
  /** Items fetched per call. Default 1000. */
  batchSize?: number;
}

export interface DatasetGetSchemaOptions extends DatasetIdOptions {
  /** How many items to look at. Default 5. */
  sample?: number;
}

export interface StoreIdOptions {
  /** The store's ID (e.g. `run.defaultKeyValueStoreId`) or `username~name`. */
  storeId: string;
}

export interface KvsGetOptions extends StoreIdOptions {
  /** The record's key: 1–256 characters of `a-zA-Z0-9!-_.'()`. */
  key: string;
}

export interface KvsSetOptions extends KvsGetOptions {
  /** An object or other JSON value (stored as JSON), a string (text) or a Uint8Array/ArrayBuffer (binary). */
  value: RecordValue;
  /** Overrides the content type the value's kind implies, e.g. `'text/html'`. */
  contentType?: string;
}

export interface KvsListOptions extends StoreIdOptions {
  /** The most keys to return. Default 1000. */
  limit?: number;
  /** List the keys after this one (from `nextExclusiveStartKey` of the previous call). */
  exclusiveStartKey?: string;
}

// ---------------------------------------------------------------------------------------------
// Results.

/** The JSON types `getSchema` reports. */
export type FieldType = 'string' | 'number' | 'boolean' | 'object' | 'array' | 'null';

export interface DatasetField {
  name: string;
  /** The types seen for the field in the sample, e.g. `['string', 'null']`. */
  types: FieldType[];
  /** Whether some sampled item had the field null or did not have it. */
  nullable: boolean;
}

export interface DatasetSchema {
  /** Items in the dataset, as its metadata says (may lag just after a write). */
  itemCount: number | undefined;
  /** How many items were looked at. */
  sampleSize: number;
  fields: DatasetField[];
}

export interface KeyList {
  items: { key: string; size: number }[];
  count: number;
  limit: number;
  isTruncated: boolean;
  exclusiveStartKey?: string | null;
  /** Pass as `exclusiveStartKey` to get the next keys. */
  nextExclusiveStartKey?: string | null;
  [field: string]: unknown;
}

/**
 * What every failed call throws: a non-2xx answer of the Apify API (or of the runtime's relay,
 * e.g. a budget limit). Its message is one line: `GET /v2/acts/x~y failed with 404 record-not-found: …`.
 */
export interface ApifyApiError extends Error {
  name: 'ApifyApiError';
  /** HTTP status, e.g. 404; 0 when the API could not be reached at all. */
  statusCode: number;
  /** The API's error type, e.g. `'record-not-found'`, when it gave one. */
  type: string | undefined;
  method: string;
  /** The API path, e.g. `/v2/acts/apify~hello-world/runs`. */
  path: string;
  /** How many times the call was tried (429 and 5xx answers are retried). */
  attempts: number;
}

// ---------------------------------------------------------------------------------------------
// The namespaces.

export interface ActorApi {
  /**
   * Searches the Apify Store. GET /v2/store
   * @example const actors = await apify.actor.search({ query: 'instagram', limit: 5 });
   */
  search(options: StoreSearchOptions): PagedList<StoreActor>;
  /**
   * One Actor's details. GET /v2/acts/:actorId
   * @example const actor = await apify.actor.getDetails({ actorId: 'apify/rag-web-browser' });
   */
  getDetails(options: ActorIdOptions): Promise<Actor>;
  /**
   * The same as `getDetails`.
   * @example const { title } = await apify.actor.get({ actorId: 'apify/rag-web-browser' });
   */
  get(options: ActorIdOptions): Promise<Actor>;
  /**
   * Starts a run and returns at once, without waiting. POST /v2/acts/:actorId/runs
   * @example const run = await apify.actor.start({ actorId: 'apify/hello-world', input: { name: 'x' } });
   */
  start(options: ActorStartOptions): Promise<ActorRun>;
  /**
   * Starts a run and waits for it to finish (up to `waitForFinishSecs`); an unfinished run is returned, not thrown.
   * @example const run = await apify.actor.run({ actorId: 'apify/hello-world', waitForFinishSecs: 300 });
   */
  run(options: ActorRunOptions): Promise<ActorRun>;
  /**
   * The same as `run`.
   * @example const run = await apify.actor.call({ actorId: 'apify/hello-world', input: { name: 'x' } });
   */
  call(options: ActorRunOptions): Promise<ActorRun>;
  /**
   * Runs an Actor, waits, and reads its default dataset. Check `run.status`: a failed or unfinished run gives what it stored so far.
   * @example const { run, items } = await apify.actor.runAndGetItems({ actorId: 'apify/rag-web-browser', input: { query: 'apify' }, limit: 3 });
   */
  runAndGetItems(options: ActorRunAndGetItemsOptions): Promise<{ run: ActorRun; items: ListPage<DatasetItem> }>;
  /**
   * The same as `runAndGetItems`.
   * @example const { items } = await apify.actor.callAndGetItems({ actorId: 'apify/rag-web-browser', input: { query: 'deno' } });
   */
  callAndGetItems(options: ActorRunAndGetItemsOptions): Promise<{ run: ActorRun; items: ListPage<DatasetItem> }>;
}

export interface RunApi {
  /**
   * A run's current state. GET /v2/actor-runs/:runId
   * @example const { status } = await apify.run.get({ runId: run.id });
   */
  get(options: RunIdOptions): Promise<ActorRun>;
  /**
   * Waits for a run to finish (up to `waitForFinishSecs`) and returns it, finished or not.
   * @example const done = await apify.run.wait({ runId: run.id, waitForFinishSecs: 600 });
   */
  wait(options: RunWaitOptions): Promise<ActorRun>;
  /**
   * The same as `wait`.
   * @example const run = await apify.run.waitForFinish({ runId: started.id, waitForFinishSecs: 300 });
   */
  waitForFinish(options: RunWaitOptions): Promise<ActorRun>;
  /**
   * Aborts a run this script started (any other run id throws a 403). POST /v2/actor-runs/:runId/abort
   * @example await apify.run.abort({ runId: run.id });
   */
  abort(options: RunIdOptions): Promise<ActorRun>;
  /**
   * A run's log as text. GET /v2/logs/:runId
   * @example console.log(await apify.run.getLog({ runId: run.id, limit: 2000 }));
   */
  getLog(options: RunGetLogOptions): Promise<string>;
}

export interface DatasetApi {
  /**
   * Creates a dataset (or returns the existing one of that name). POST /v2/datasets
   * @example const { id } = await apify.dataset.create();
   */
  create(options?: CreateStorageOptions): Promise<Dataset>;
  /**
   * Appends items. POST /v2/datasets/:datasetId/items
   * @example await apify.dataset.pushItems({ datasetId: id, items: [{ url: 'https://apify.com' }] });
   */
  pushItems(options: DatasetPushItemsOptions): Promise<void>;
  /**
   * Items of a dataset: awaited, one page; iterated with `for await`, all of them. GET /v2/datasets/:datasetId/items
   * @example const items = await apify.dataset.listItems({ datasetId: run.defaultDatasetId, fields: ['title'], limit: 10 });
   */
  listItems(options: DatasetListItemsOptions): PagedList<DatasetItem>;
  /**
   * Every item, fetched `batchSize` at a time.
   * @example for await (const item of apify.dataset.iterate({ datasetId })) count += 1;
   */
  iterate(options: DatasetIterateOptions): AsyncIterable<DatasetItem>;
  /**
   * The item count and the fields seen in a sample of items, with their types.
   * @example const { itemCount, fields } = await apify.dataset.getSchema({ datasetId });
   */
  getSchema(options: DatasetGetSchemaOptions): Promise<DatasetSchema>;
  /**
   * The same as `getSchema`.
   * @example const { fields } = await apify.dataset.inferFields({ datasetId, sample: 20 });
   */
  inferFields(options: DatasetGetSchemaOptions): Promise<DatasetSchema>;
}

export interface KeyValueStoreApi {
  /**
   * Creates a key-value store (or returns the existing one of that name). POST /v2/key-value-stores
   * @example const { id: storeId } = await apify.kvs.create({ name: 'my-store' });
   */
  create(options?: CreateStorageOptions): Promise<KeyValueStore>;
  /**
   * Stores a record: objects as JSON, strings as text, bytes as binary. PUT /v2/key-value-stores/:storeId/records/:key
   * @example await apify.kvs.set({ storeId, key: 'state', value: { page: 3 } });
   */
  set(options: KvsSetOptions): Promise<void>;
  /**
   * A record as the kind it was stored as (object, string or Uint8Array), or `null` when there is none.
   * @example const state = await apify.kvs.get({ storeId, key: 'state' }) ?? { page: 0 };
   */
  get(options: KvsGetOptions): Promise<RecordValue | null>;
  /**
   * The store's keys. GET /v2/key-value-stores/:storeId/keys
   * @example const { items } = await apify.kvs.list({ storeId }); items.map((k) => k.key)
   */
  list(options: KvsListOptions): Promise<KeyList>;
}

/** The `apify` global. */
export interface ApifyBinding {
  actor: ActorApi;
  run: RunApi;
  dataset: DatasetApi;
  kvs: KeyValueStoreApi;
  /** The same object as `kvs`, e.g. `await apify.keyValueStore.get({ storeId, key: 'OUTPUT' })`. */
  keyValueStore: KeyValueStoreApi;
  /**
   * The same as `actor.search`, under the name the Apify API gives it.
   * @example const actors = await apify.store({ search: 'web scraper', limit: 5 });
   */
  store(options: StoreSearchOptions): PagedList<StoreActor>;
  /** The class of the errors calls throw, e.g. `if (error instanceof apify.ApifyApiError && error.statusCode === 404) …`. */
  ApifyApiError: abstract new (...args: never[]) => ApifyApiError;
}

declare global {
  /**
   * Drives the Apify platform from a code-runtime script, already authenticated.
   * @example const { items } = await apify.actor.runAndGetItems({ actorId: 'apify/rag-web-browser', input: { query: 'apify' }, limit: 3 });
   */
  const apify: ApifyBinding;
}
