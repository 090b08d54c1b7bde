// The `apify` global, black-box: scripts run by runCode in real Deno, against the fake API on
// 127.0.0.1 through the real relay. Every method and alias, paging, waiting, retries, errors,
// key-value round trips, the budget under concurrent starts and the cleanup of runs.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode, type RunOptions, type RunResult } from '../../orchestrator/index.js';
import { DEFAULT_ACTORS, startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { denoCheck, fixturePath, ROOT, scratchDir } from '../helpers/helpers.js';

const TOKEN = 'apify_api_FAKEtoken0123456789abcdefXYZ';

interface Context {
  api: FakeApi;
}

/** A suite with its own fake API, whose request log is emptied before each test. */
function apiSuite(name: string, actors = DEFAULT_ACTORS) {
  const s = suite<Context>(name, {} as Context);
  s.before(async (ctx) => {
    ctx.api = await startFakeApi({ token: TOKEN, actors });
  });
  s.before.each((ctx) => {
    ctx.api.requests.length = 0;
  });
  s.after(async (ctx) => {
    await ctx.api.close();
  });
  return s;
}

async function run(api: FakeApi, code: string, options: Partial<RunOptions> = {}): Promise<RunResult> {
  return await runCode({ code, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 30, ...options });
}

/** Runs a script that must succeed, and returns the JSON it printed last. */
async function output<T = Record<string, unknown>>(api: FakeApi, code: string, options: Partial<RunOptions> = {}): Promise<T> {
  const r = await run(api, code, options);
  assert.is(r.status, 'SUCCEEDED', `${r.statusMessage}\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1] as string) as T;
}

// ---
const actor = apiSuite('apify.actor');

actor('apify.actor :: search returns the page as an array that also has the page fields', async ({ api }) => {
  const out = await output(api, `
    const page = await apify.actor.search({ query: 'apify', limit: 2, category: 'AI' });
    const { items, count, offset, limit, total } = page;
    console.log(JSON.stringify({ isArray: Array.isArray(page), same: items === page, names: page.map((a) => a.name), count, offset, limit, total,
      printed: Deno.inspect(page).includes('count') }));
  `);
  assert.equal(out, { isArray: true, same: true, names: ['rag-web-browser'], count: 1, offset: 0, limit: 2, total: 1, printed: false });
  assert.equal(api.calls(/store/), ['GET /v2/store?search=apify&category=AI&offset=0&limit=2']);
});

actor('apify.actor :: store({ search }) is the same search as actor.search({ query })', async ({ api }) => {
  const out = await output(api, `
    const a = await apify.actor.search({ query: 'test' });
    const b = await apify.store({ search: 'test' });
    console.log(JSON.stringify({ a: a.map((x) => x.name), b: b.map((x) => x.name), sameFn: apify.store === apify.actor.search }));
  `);
  assert.equal(out, { a: ['slow', 'forever', 'failing'], b: ['slow', 'forever', 'failing'], sameFn: true });
});

actor('apify.actor :: getDetails and its alias get turn username/name into username~name', async ({ api }) => {
  const out = await output(api, `
    const a = await apify.actor.getDetails({ actorId: 'apify/hello-world' });
    const b = await apify.actor.get({ actorId: 'HelloActorId01' });
    console.log(JSON.stringify({ a: a.title, b: b.title }));
  `);
  assert.equal(out, { a: 'Hello World', b: 'Hello World' });
  assert.equal(api.calls(/acts/), ['GET /v2/acts/apify~hello-world', 'GET /v2/acts/HelloActorId01']);
});

actor('apify.actor :: start sends the input as JSON and the run options as query parameters', async ({ api }) => {
  const out = await output(api, `
    const run = await apify.actor.start({ actorId: 'apify/hello-world', input: { name: 'Ada' }, memoryMbytes: 256, timeoutSecs: 30, maxTotalChargeUsd: 0.5, maxItems: 10 });
    console.log(JSON.stringify({ status: run.status, hasDataset: typeof run.defaultDatasetId === 'string' }));
  `);
  assert.equal(out, { status: 'READY', hasDataset: true });
  const start = api.requests.find((r) => r.method === 'POST');
  assert.equal(start?.query, { memory: '256', timeout: '30', maxTotalChargeUsd: '0.5', maxItems: '10' });
  assert.equal(JSON.parse(start?.body.toString() ?? ''), { name: 'Ada' });
  assert.match(String(start?.headers['content-type']), /^application\/json/);
});

actor('apify.actor :: run waits in 60 s steps past 60 s of simulated time until the run is finished', async ({ api }) => {
  const out = await output(api, `
    const run = await apify.actor.run({ actorId: 'test/slow', waitForFinishSecs: 600 });
    console.log(JSON.stringify({ status: run.status }));
  `);
  assert.equal(out, { status: 'SUCCEEDED' });
  const waits = api.requests.filter((r) => r.path.startsWith('/v2/actor-runs/')).map((r) => r.query.waitForFinish);
  assert.equal(waits, ['60', '60', '60']);
});

actor('apify.actor :: call (= run) returns a run still going when its time is up, as a value', async ({ api }) => {
  const out = await output(api, `
    const run = await apify.actor.call({ actorId: 'test/forever', waitForFinishSecs: 150 });
    console.log(JSON.stringify({ status: run.status, same: apify.actor.call === apify.actor.run }));
  `);
  assert.equal(out, { status: 'RUNNING', same: true });
  const waits = api.requests.filter((r) => r.path.startsWith('/v2/actor-runs/')).map((r) => r.query.waitForFinish);
  assert.equal(waits, ['60', '60', '30']);
});

actor('apify.actor :: run with the default wait asks for one 60 s step', async ({ api }) => {
  const out = await output(api, `
    const run = await apify.actor.run({ actorId: 'test/forever' });
    console.log(JSON.stringify({ status: run.status }));
  `);
  assert.equal(out, { status: 'RUNNING' });
  assert.equal(api.requests.filter((r) => r.method === 'GET').map((r) => r.query.waitForFinish), ['60']);
});

actor('apify.actor :: runAndGetItems and callAndGetItems run, wait and read the default dataset', async ({ api }) => {
  const out = await output(api, `
    const a = await apify.actor.runAndGetItems({ actorId: 'apify/rag-web-browser', input: { query: 'apify' }, limit: 3 });
    const b = await apify.actor.callAndGetItems({ actorId: 'apify/rag-web-browser', input: { query: 'deno' }, fields: ['n', 'query'], offset: 3 });
    console.log(JSON.stringify({ a: a.items.map((i) => i.metadata.title), aStatus: a.run.status, b: b.items, bCount: b.items.count }));
  `);
  assert.equal(out, {
    a: ['Result 1', 'Result 2', 'Result 3'], aStatus: 'SUCCEEDED',
    b: [{ n: 4, query: 'deno' }, { n: 5, query: 'deno' }], bCount: 2,
  });
  assert.match(api.calls(/items$/)[1] ?? '', /fields=n%2Cquery&offset=3$/);
});

actor('apify.actor :: for await over store() walks the Store page by page', async () => {
  const many = Array.from({ length: 1203 }, (_, i) => ({ id: `FillerActor${i}`, username: 'filler', name: `filler-${i}`, title: 'Filler' }));
  const api = await startFakeApi({ token: TOKEN, actors: [...DEFAULT_ACTORS, ...many] });
  try {
    const out = await output(api, `
      let n = 0;
      for await (const a of apify.store({ search: 'filler' })) n += 1;
      console.log(JSON.stringify({ n }));
    `);
    assert.equal(out, { n: 1203 });
    assert.equal(api.calls(/store/), ['GET /v2/store?search=filler&offset=0&limit=1000', 'GET /v2/store?search=filler&offset=1000&limit=1000']);
  } finally {
    await api.close();
  }
});

actor.run();

// ---
const runs = apiSuite('apify.run');

runs('apify.run :: get, wait, waitForFinish, abort and getLog', async ({ api }) => {
  const out = await output(api, `
    const started = await apify.actor.start({ actorId: 'test/forever' });
    const got = await apify.run.get({ runId: started.id });
    const waited = await apify.run.wait({ runId: started.id, waitForFinishSecs: 5 });
    const aborted = await apify.run.abort({ runId: started.id });
    const after = await apify.run.waitForFinish({ runId: started.id });
    const failed = await apify.actor.run({ actorId: 'test/failing' });
    const log = await apify.run.getLog({ runId: failed.id });
    const tail = await apify.run.getLog({ runId: failed.id, limit: 5 });
    console.log(JSON.stringify({ got: got.status, waited: waited.status, aborted: aborted.status, after: after.status, failed: failed.status, log, tail }));
  `);
  assert.equal(out, { got: 'RUNNING', waited: 'RUNNING', aborted: 'ABORTED', after: 'ABORTED', failed: 'FAILED', log: 'line 1\nline 2\nboom\n', tail: 'boom\n' });
  assert.ok(api.calls(/actor-runs/).some((c) => /\?waitForFinish=5$/.test(c)), 'wait sends its own seconds');
});

runs.run();

// ---
const datasets = apiSuite('apify.dataset');

datasets('apify.dataset :: create, pushItems and listItems, awaited as an array or destructured', async ({ api }) => {
  const out = await output(api, `
    const empty = await apify.dataset.create();
    const named = await apify.dataset.create({ name: 'my-data' });
    await apify.dataset.pushItems({ datasetId: named.id, items: [{ a: 1, b: 'x' }, { a: 2, b: 'y' }] });
    await apify.dataset.pushItems({ datasetId: named.id, items: { a: 3, b: 'z' } });
    const items = await apify.dataset.listItems({ datasetId: named.id });
    const { items: page, count, total, offset } = await apify.dataset.listItems({ datasetId: named.id, offset: 1, limit: 1, fields: ['a'] });
    const desc = await apify.dataset.listItems({ datasetId: named.id, desc: true, omit: 'b' });
    console.log(JSON.stringify({ emptyName: empty.name, sameNamed: (await apify.dataset.create({ name: 'my-data' })).id === named.id,
      all: items.map((i) => i.a), page, count, total, offset, desc }));
  `);
  assert.equal(out, { emptyName: null, sameNamed: true, all: [1, 2, 3], page: [{ a: 2 }], count: 1, total: 3, offset: 1, desc: [{ a: 3 }, { a: 2 }, { a: 1 }] });
});

datasets('apify.dataset :: for await over listItems and iterate walk every page', async ({ api }) => {
  const datasetId = api.addDataset(Array.from({ length: 2500 }, (_, i) => ({ i })));
  const out = await output(api, `
    let sum = 0, n = 0;
    for await (const item of apify.dataset.listItems({ datasetId: '${datasetId}' })) { sum += item.i; n += 1; }
    let m = 0;
    for await (const item of apify.dataset.iterate({ datasetId: '${datasetId}', batchSize: 700, offset: 100 })) m += 1;
    let capped = 0;
    for await (const item of apify.dataset.listItems({ datasetId: '${datasetId}', limit: 1500 })) capped += 1;
    console.log(JSON.stringify({ n, sum, m, capped }));
  `);
  assert.equal(out, { n: 2500, sum: (2499 * 2500) / 2, m: 2400, capped: 1500 });
  const limits = api.requests.map((r) => `${r.query.offset}+${r.query.limit}`);
  assert.equal(limits, ['0+1000', '1000+1000', '2000+1000', '100+700', '800+700', '1500+700', '2200+700', '0+1000', '1000+500']);
});

datasets('apify.dataset :: pushItems sends a large array in batches, in order', async ({ api }) => {
  const out = await output(api, `
    const { id } = await apify.dataset.create();
    const big = 'x'.repeat(1_200_000);
    await apify.dataset.pushItems({ datasetId: id, items: [1, 2, 3, 4].map((n) => ({ n, big })) });
    const items = await apify.dataset.listItems({ datasetId: id, fields: ['n'] });
    console.log(JSON.stringify(items.map((i) => i.n)));
  `);
  assert.equal(out, [1, 2, 3, 4]);
  const batches = api.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/items')).map((r) => (JSON.parse(r.body.toString()) as { n: number }[]).map((i) => i.n));
  assert.equal(batches, [[1, 2], [3, 4]]);
});

datasets('apify.dataset :: getSchema and inferFields report the count and the fields with their types', async ({ api }) => {
  const datasetId = api.addDataset([{ title: 'a', price: 1, tags: [] }, { title: 'b', price: null }, { title: 'c', price: 3, extra: { x: 1 } }]);
  const out = await output(api, `
    const a = await apify.dataset.getSchema({ datasetId: '${datasetId}' });
    const b = await apify.dataset.inferFields({ datasetId: '${datasetId}', sample: 1 });
    console.log(JSON.stringify({ a, b }));
  `);
  assert.equal(out, {
    a: {
      itemCount: 3, sampleSize: 3, fields: [
        { name: 'title', types: ['string'], nullable: false },
        { name: 'price', types: ['number', 'null'], nullable: true },
        { name: 'tags', types: ['array'], nullable: true },
        { name: 'extra', types: ['object'], nullable: true },
      ],
    },
    b: {
      itemCount: 3, sampleSize: 1, fields: [
        { name: 'title', types: ['string'], nullable: false },
        { name: 'price', types: ['number'], nullable: false },
        { name: 'tags', types: ['array'], nullable: false },
      ],
    },
  });
});

datasets.run();

// ---
const kvs = apiSuite('apify.kvs');

kvs('apify.kvs :: JSON, text and bytes come back as the kind they were stored as', async ({ api }) => {
  const out = await output(api, `
    const { id: storeId } = await apify.kvs.create({ name: 'round-trip' });
    await apify.kvs.set({ storeId, key: 'json', value: { a: [1, 'two'], b: null } });
    await apify.kvs.set({ storeId, key: 'text', value: 'héllo' });
    await apify.kvs.set({ storeId, key: 'bytes', value: new Uint8Array([0, 1, 255]) });
    await apify.kvs.set({ storeId, key: 'buffer', value: new Uint8Array([7, 8]).buffer });
    await apify.kvs.set({ storeId, key: 'html', value: '<b>x</b>', contentType: 'text/html' });
    const bytes = await apify.keyValueStore.get({ storeId, key: 'bytes' });
    const buffer = await apify.kvs.get({ storeId, key: 'buffer' });
    console.log(JSON.stringify({
      json: await apify.kvs.get({ storeId, key: 'json' }),
      text: await apify.kvs.get({ storeId, key: 'text' }),
      bytes: bytes instanceof Uint8Array ? [...bytes] : 'not bytes',
      buffer: [...buffer],
      html: await apify.kvs.get({ storeId, key: 'html' }),
      missing: await apify.kvs.get({ storeId, key: 'nothing-here' }),
      alias: apify.keyValueStore === apify.kvs,
    }));
  `);
  assert.equal(out, { json: { a: [1, 'two'], b: null }, text: 'héllo', bytes: [0, 1, 255], buffer: [7, 8], html: '<b>x</b>', missing: null, alias: true });
  const types = api.requests.filter((r) => r.method === 'PUT').map((r) => r.headers['content-type']);
  assert.equal(types, ['application/json; charset=utf-8', 'text/plain; charset=utf-8', 'application/octet-stream', 'application/octet-stream', 'text/html']);
});

kvs('apify.kvs :: list pages through keys with exclusiveStartKey', async ({ api }) => {
  const out = await output(api, `
    const { id: storeId } = await apify.kvs.create();
    for (const key of ['a', 'b', 'c']) await apify.kvs.set({ storeId, key, value: key });
    const first = await apify.kvs.list({ storeId, limit: 2 });
    const rest = await apify.kvs.list({ storeId, exclusiveStartKey: first.nextExclusiveStartKey });
    console.log(JSON.stringify({ first: first.items.map((i) => i.key), truncated: first.isTruncated, rest: rest.items.map((i) => i.key) }));
  `);
  assert.equal(out, { first: ['a', 'b'], truncated: true, rest: ['c'] });
});

kvs.run();

// ---
const errors = apiSuite('apify errors');

errors('apify errors :: 429 and 500 answers are retried with backoff until one succeeds', async ({ api }) => {
  api.inject({ path: /^\/v2\/acts\//, status: 429, times: 1 });
  api.inject({ path: /^\/v2\/acts\//, status: 500, times: 1 });
  const started = Date.now();
  const out = await output(api, `
    const actor = await apify.actor.getDetails({ actorId: 'apify/hello-world' });
    console.log(JSON.stringify({ title: actor.title }));
  `);
  assert.equal(out, { title: 'Hello World' });
  assert.is(api.calls(/acts/).length, 3);
  // Two waits of 250 ms and 500 ms, each ±25 %.
  assert.ok(Date.now() - started >= 550, `took ${Date.now() - started} ms`);
});

errors('apify errors :: retries stop after 5 attempts and the error says so in one line', async ({ api }) => {
  api.inject({ path: /^\/v2\/datasets\//, status: 503, times: 10, retryAfter: '0', type: 'server-overloaded', message: 'Try\nlater' });
  const r = await run(api, `await apify.dataset.listItems({ datasetId: 'abc' });`);
  assert.is(r.status, 'FAILED');
  assert.is(r.statusMessage, 'Script threw: ApifyApiError: GET /v2/datasets/abc/items failed with 503 server-overloaded: Try later (gave up after 5 attempts)');
  assert.is(api.requests.length, 5);
});

errors('apify errors :: other 4xx are not retried; the error carries statusCode, type, method and path', async ({ api }) => {
  const out = await output(api, `
    try {
      await apify.actor.start({ actorId: 'nobody/nothing' });
    } catch (error) {
      const { name, statusCode, type, method, path, message } = error;
      console.log(JSON.stringify({ isClass: error instanceof apify.ApifyApiError, name, statusCode, type, method, path, message }));
    }
  `);
  assert.equal(out, {
    isClass: true, name: 'ApifyApiError', statusCode: 404, type: 'record-not-found', method: 'POST', path: '/v2/acts/nobody~nothing/runs',
    message: 'POST /v2/acts/nobody~nothing/runs failed with 404 record-not-found: Actor was not found',
  });
  assert.is(api.requests.length, 1);
});

errors('apify errors :: an uncaught API error fails the script with its one line in stderr', async ({ api }) => {
  const r = await run(api, `console.log('before');\nawait apify.run.get({ runId: 'missing' });`);
  assert.is(r.status, 'FAILED');
  assert.is(r.stdout, 'before\n');
  assert.match(r.stderr, /^error: Uncaught ApifyApiError: GET \/v2\/actor-runs\/missing failed with 404 record-not-found: Actor run was not found\n/);
});

errors('apify errors :: bad options are refused before any call, naming the option and what is allowed', async ({ api }) => {
  const out = await output(api, `
    const messages = [];
    for (const call of [
      () => apify.actor.start({ actor: 'apify/hello-world' }),
      () => apify.actor.run({}),
      () => apify.dataset.listItems({ datasetId: 'x', limit: -1 }),
      () => apify.kvs.set({ storeId: 'x', key: 'bad/key', value: 1 }),
      () => apify.kvs.set({ storeId: 'x', key: 'k' }),
      () => apify.run.get('abc'),
    ]) {
      try { await call(); messages.push('no error'); } catch (error) { messages.push(error.name + ': ' + error.message); }
    }
    console.log(JSON.stringify(messages));
  `);
  assert.equal(out, [
    'TypeError: apify.actor.start: unknown option `actor`; the options are actorId, input, memoryMbytes, timeoutSecs, maxTotalChargeUsd, maxItems',
    "TypeError: apify.actor.run: `actorId` must be a non-empty string such as 'apify/rag-web-browser', got undefined",
    'TypeError: apify.dataset.listItems: `limit` must be an integer of at least 0, got -1 (number)',
    "TypeError: apify.kvs.set: `key` must be 1–256 characters of a-z A-Z 0-9 ! - _ . ' ( ), got \"bad/key\" (string)",
    'TypeError: apify.kvs.set: `value` must be a JSON value, a string, a Uint8Array or an ArrayBuffer, got undefined',
    'TypeError: apify.run.get: expected one options object, such as apify.run.get({ runId: … }), got "abc" (string)',
  ]);
  assert.is(api.requests.length, 0);
});

errors('apify errors :: create() needs no options object', async ({ api }) => {
  const out = await output(api, `
    const d = await apify.dataset.create();
    const k = await apify.kvs.create();
    console.log(JSON.stringify({ d: typeof d.id, k: typeof k.id }));
  `);
  assert.equal(out, { d: 'string', k: 'string' });
});

errors.run();

// ---
const budget = apiSuite('budget');

budget('budget :: maxActorRuns holds under five concurrent starts', async ({ api }) => {
  const r = await run(api, `
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(() => apify.actor.start({ actorId: 'test/forever' })));
    console.log(JSON.stringify(results.map((x) => x.status === 'fulfilled' ? 'started' : x.reason.message)));
  `, { maxActorRuns: 2 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const outcomes = JSON.parse(r.stdout) as string[];
  assert.is(outcomes.filter((o) => o === 'started').length, 2);
  const refusals = outcomes.filter((o) => o !== 'started');
  assert.is(refusals.length, 3);
  for (const message of refusals) {
    assert.is(message, 'POST /v2/acts/test~forever/runs failed with 403 budget-exceeded: maxActorRuns limit of 2 reached: the script may start at most 2 Actor runs');
  }
  assert.is(api.calls(/\/runs$/).length, 2);
  assert.is(r.actorRuns.length, 2);
});

budget('budget :: maxTotalChargeUsd clamps each run to what remains, then refuses', async ({ api }) => {
  const r = await run(api, `
    await apify.actor.start({ actorId: 'test/forever', maxTotalChargeUsd: 0.4 });
    await apify.actor.start({ actorId: 'test/forever', maxTotalChargeUsd: 5 });
    await apify.actor.start({ actorId: 'test/forever' });
  `, { maxTotalChargeUsd: 1 });
  assert.is(r.status, 'FAILED');
  assert.is(r.statusMessage, 'Script threw: ApifyApiError: POST /v2/acts/test~forever/runs failed with 403 budget-exceeded: maxTotalChargeUsd limit of $1 reached: the Actor runs this script started already reserve $1 of it and each run\'s cap is at least $0.01; give each run a smaller maxTotalChargeUsd to leave room for more runs');
  assert.equal(api.requests.filter((q) => q.path.endsWith('/runs')).map((q) => q.query.maxTotalChargeUsd), ['0.4', '0.6']);
});

budget('budget :: defaultTimeoutSecs applies to runs that set no timeout', async ({ api }) => {
  await output(api, `
    await apify.actor.start({ actorId: 'apify/hello-world' });
    await apify.actor.start({ actorId: 'apify/hello-world', timeoutSecs: 5 });
    console.log('{}');
  `, { defaultTimeoutSecs: 120 });
  assert.equal(api.requests.filter((q) => q.path.endsWith('/runs')).map((q) => q.query.timeout), ['120', '5']);
});

budget.run();

// ---
const cleanup = apiSuite('cleanup');

cleanup('cleanup :: a script that throws has its unfinished runs aborted and listed', async ({ api }) => {
  const r = await run(api, `
    await apify.actor.run({ actorId: 'apify/hello-world' });
    await apify.actor.start({ actorId: 'test/forever' });
    throw new Error('oops');
  `);
  assert.is(r.status, 'FAILED');
  assert.is(r.actorRuns.length, 2);
  assert.equal(r.actorRuns.map((x) => [x.actorId, x.status]), [['apify/hello-world', 'SUCCEEDED'], ['test/forever', 'ABORTED']]);
  assert.ok(r.actorRuns.every((x) => typeof x.defaultDatasetId === 'string'));
  assert.equal(api.calls(/abort$/), [`POST /v2/actor-runs/${r.actorRuns[1]?.id}/abort`]);
});

cleanup('cleanup :: a script killed at its timeout (SIGKILL) has its runs aborted, even one whose start was in flight', async ({ api }) => {
  // The start's answer comes after the kill, so only the relay can still record and abort the run.
  api.inject({ method: 'POST', path: /\/runs$/, delayMs: 2500, times: 1 });
  const r = await run(api, `
    apify.actor.start({ actorId: 'test/forever' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (;;) {}
  `, { timeoutSecs: 2 });
  assert.is(r.status, 'TIMED-OUT');
  assert.is(r.actorRuns.length, 1);
  assert.is(r.actorRuns[0]?.status, 'ABORTED');
  assert.is(api.runs.get(r.actorRuns[0]?.id ?? '')?.status, 'ABORTED');
});

cleanup('cleanup :: a script that succeeds leaves its runs going', async ({ api }) => {
  const r = await run(api, `await apify.actor.start({ actorId: 'test/forever' });`);
  assert.is(r.status, 'SUCCEEDED');
  assert.equal(r.actorRuns.map((x) => [x.actorId, x.status]), [['test/forever', 'READY']]);
  assert.equal(api.calls(/abort$/), []);
});

cleanup.run();

// ---
const types = suite('types');

types('types :: a script using every method and alias as docs/API.md shows type-checks against apify.d.ts', () => {
  const r = denoCheck(fixturePath('apify-typed.ts'));
  assert.is(r.status, 0, r.output);
});

types('types :: apify.d.ts catches a wrong option name and a positional argument', () => {
  const file = path.join(scratchDir('typed'), 'bad.ts');
  writeFileSync(file, `/// <reference path="${path.join(ROOT, 'types', 'apify.d.ts')}" />\nawait apify.actor.start({ actor: 'x' });\nawait apify.run.get('id');\n`);
  const r = denoCheck(file);
  assert.is(r.status, 1);
  assert.match(r.output, /'actor' does not exist in type 'ActorStartOptions'/);
  assert.match(r.output, /Argument of type 'string' is not assignable to parameter of type 'RunIdOptions'/);
});

types.run();
