/**
 * The `actor` and `run` namespaces (and `store`): search the Store, start Actors, wait for runs.
 * A wait is made of the API's 60 s steps and counts down the seconds asked for, not the clock, so
 * it always ends; a run still going at the end is returned as a value, not thrown.
 */
import type { Actor, ActorApi, ActorRun, DatasetApi, DatasetListItemsOptions, PagedList, RunApi, StoreActor } from '../types/apify.d.ts';
import { type Api, expectRecord, pathId } from './api.ts';
import * as args from './args.ts';
import { type FetchPage, pagedList } from './paging.ts';
import { JSON_TYPE } from './values.ts';
import { builtins } from './builtins.ts';

const { jsonStringify, freeze } = builtins;

/** The API answers one wait of at most this many seconds; longer waits are made of such steps. */
const WAIT_STEP_SECS = 60;
const DEFAULT_WAIT_SECS = 60;
const STORE_PAGE_SIZE = 1000;
const FINISHED = ['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED'];
const START_OPTIONS = ['actorId', 'input', 'memoryMbytes', 'timeoutSecs', 'maxTotalChargeUsd', 'maxItems'] as const;
const ITEM_OPTIONS = ['fields', 'omit', 'clean', 'desc', 'limit', 'offset'] as const;
const RUN_ID_EXAMPLE = 'HG7ML7M8z78YcAPEB';

export function actorNamespaces(api: Api, listItems: DatasetApi['listItems']): { actor: ActorApi; run: RunApi; store: ActorApi['search'] } {
  async function start(method: string, o: args.Options): Promise<ActorRun> {
    const actorId = args.requiredId(method, o, 'actorId', 'apify/rag-web-browser');
    return expectRecord<ActorRun>(await api.json({
      method: 'POST',
      path: `/v2/acts/${actorId}/runs`,
      query: {
        memory: args.optionalNumber(method, o, 'memoryMbytes', { min: 128, integer: true }),
        timeout: args.optionalNumber(method, o, 'timeoutSecs', { min: 1 }),
        maxTotalChargeUsd: args.optionalNumber(method, o, 'maxTotalChargeUsd', { min: 0.01 }),
        maxItems: args.optionalNumber(method, o, 'maxItems', { min: 1, integer: true }),
      },
      body: jsonStringify(o.input === undefined ? {} : o.input),
      contentType: JSON_TYPE,
    }), 'a run');
  }

  async function waitFor(runId: string, waitSecs: number, known?: ActorRun): Promise<ActorRun> {
    let run = known;
    let remaining = waitSecs;
    for (;;) {
      if (run && (FINISHED.includes(run.status) || remaining <= 0)) return run;
      const step = Math.min(WAIT_STEP_SECS, Math.ceil(remaining));
      run = expectRecord<ActorRun>(await api.json({ method: 'GET', path: `/v2/actor-runs/${runId}`, query: { waitForFinish: step } }), 'a run');
      remaining -= step;
    }
  }

  const waitSecs = (method: string, o: args.Options) => args.optionalNumber(method, o, 'waitForFinishSecs', { min: 0 }) ?? DEFAULT_WAIT_SECS;

  function search(options: unknown): PagedList<StoreActor> {
    const method = 'apify.actor.search';
    const o = args.options(method, options, ['query', 'search', 'limit', 'offset', 'category']);
    const words = args.optionalString(method, o, 'query') ?? args.optionalString(method, o, 'search');
    const category = args.optionalString(method, o, 'category');
    const [offset, limit] = args.pageRange(method, o);
    const fetchPage: FetchPage<StoreActor> = async (pageOffset, pageLimit) => {
      const page = await api.json({ method: 'GET', path: '/v2/store', query: { search: words, category, offset: pageOffset, limit: pageLimit } }) as
        { items?: StoreActor[]; total?: number; offset?: number; limit?: number; desc?: boolean } | null;
      return { items: page?.items ?? [], total: page?.total, offset: page?.offset ?? pageOffset, limit: page?.limit ?? pageLimit, desc: page?.desc };
    };
    return pagedList(fetchPage, offset, limit, STORE_PAGE_SIZE);
  }

  async function getDetails(options: unknown): Promise<Actor> {
    const o = args.options('apify.actor.getDetails', options, ['actorId']);
    const actorId = args.requiredId('apify.actor.getDetails', o, 'actorId', 'apify/rag-web-browser');
    return expectRecord<Actor>(await api.json({ method: 'GET', path: `/v2/acts/${actorId}` }), 'an Actor');
  }

  async function run(options: unknown): Promise<ActorRun> {
    const method = 'apify.actor.run';
    const o = args.options(method, options, [...START_OPTIONS, 'waitForFinishSecs']);
    const started = await start(method, o);
    return await waitFor(pathId(started.id), waitSecs(method, o), started);
  }

  async function runAndGetItems(options: unknown) {
    const o = args.options('apify.actor.runAndGetItems', options, [...START_OPTIONS, 'waitForFinishSecs', ...ITEM_OPTIONS]);
    const { fields, omit, clean, desc, limit, offset, ...runOptions } = o;
    const finished = await run(runOptions);
    // The filters are checked by listItems itself.
    const items = await listItems({ datasetId: finished.defaultDatasetId, fields, omit, clean, desc, limit, offset } as DatasetListItemsOptions);
    return { run: finished, items };
  }

  async function wait(options: unknown): Promise<ActorRun> {
    const method = 'apify.run.wait';
    const o = args.options(method, options, ['runId', 'waitForFinishSecs']);
    return await waitFor(args.requiredId(method, o, 'runId', RUN_ID_EXAMPLE), waitSecs(method, o));
  }

  /** `run.get` and `run.abort`: one call on a run, answering the run. */
  function onRun(method: string, verb: 'GET' | 'POST', suffix: string) {
    return async (options: unknown): Promise<ActorRun> => {
      const runId = args.requiredId(method, args.options(method, options, ['runId']), 'runId', RUN_ID_EXAMPLE);
      // Aborting twice stops the run once: safe to repeat, unlike other POSTs.
      return expectRecord<ActorRun>(await api.json({ method: verb, path: `/v2/actor-runs/${runId}${suffix}`, idempotent: true }), 'a run');
    };
  }

  async function getLog(options: unknown): Promise<string> {
    const method = 'apify.run.getLog';
    const o = args.options(method, options, ['runId', 'limit']);
    const runId = args.requiredId(method, o, 'runId', RUN_ID_EXAMPLE);
    const limit = args.optionalNumber(method, o, 'limit', { min: 0, integer: true });
    const text = await (await api.request({ method: 'GET', path: `/v2/logs/${runId}` }))!.text();
    return limit !== undefined && text.length > limit ? text.slice(text.length - limit) : text;
  }

  return {
    actor: freeze({
      search,
      getDetails,
      get: getDetails,
      start: async (options: unknown) => await start('apify.actor.start', args.options('apify.actor.start', options, START_OPTIONS)),
      run,
      call: run,
      runAndGetItems,
      callAndGetItems: runAndGetItems,
    }),
    run: freeze({
      get: onRun('apify.run.get', 'GET', ''),
      wait,
      waitForFinish: wait,
      abort: onRun('apify.run.abort', 'POST', '/abort'),
      getLog,
    }),
    store: search,
  };
}
