/**
 * A fake Apify API for tests, on 127.0.0.1: a route table over in-memory Actors, runs, datasets and
 * key-value stores. It records every request with its headers and body, answers errors or delays or
 * holds its answer until the test releases it (or cuts the connection) on demand, moves runs READY → RUNNING → SUCCEEDED over simulated time (each `waitForFinish=N`
 * advances a run by N seconds at once) and pages datasets like the real API. Never the internet.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface FakeActor {
  id: string;
  username: string;
  name: string;
  title?: string;
  description?: string;
  categories?: string[];
  /** Simulated seconds until the run finishes; Infinity never finishes. Default 0 (done at once). */
  durationSecs?: number;
  /** How the run ends. Default SUCCEEDED. */
  finalStatus?: string;
  /** Items the run leaves in its default dataset when it finishes. */
  items?: (input: unknown) => Record<string, unknown>[];
  log?: string;
}

export interface FakeRun {
  id: string;
  actId: string;
  status: string;
  elapsedSecs: number;
  actor: FakeActor;
  /** When the fake created it (ISO), as the real API's `startedAt`. */
  startedAt: string;
  input: unknown;
  options: Record<string, string>;
  defaultDatasetId: string;
  defaultKeyValueStoreId: string;
}

interface KvRecord {
  body: Buffer;
  contentType: string;
}

/** An answer injected ahead of the route table for matching requests. */
export interface Injected {
  method?: string;
  path: RegExp;
  /** Answer this status with an API error body; none: delay only, then route normally. */
  status?: number;
  /** How many matching requests it applies to. Default 1. */
  times?: number;
  retryAfter?: string;
  delayMs?: number;
  /** Hold the answer until this settles (after `delayMs`, if both): a test releases it once it saw what it waits for. */
  until?: Promise<unknown>;
  type?: string;
  message?: string;
  /** Extra headers of the injected answer (e.g. a redirect's `location`). */
  headers?: Record<string, string>;
  /** Handle the request as usual (a start creates its run) but cut the connection instead of answering. */
  drop?: boolean;
}

export interface FakeApi {
  url: string;
  token: string;
  requests: RecordedRequest[];
  runs: Map<string, FakeRun>;
  datasets: Map<string, { name?: string; items: Record<string, unknown>[] }>;
  stores: Map<string, { name?: string; records: Map<string, KvRecord> }>;
  inject(rule: Injected): void;
  /** A dataset holding `items`; returns its id. */
  addDataset(items: Record<string, unknown>[]): string;
  /** Requests whose path matches, as `METHOD /path?query`. */
  calls(path: RegExp): string[];
  close(): Promise<void>;
}

const FINISHED = new Set(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED']);

export const DEFAULT_ACTORS: FakeActor[] = [
  { id: 'HelloActorId01', username: 'apify', name: 'hello-world', title: 'Hello World', description: 'Says hello', categories: ['DEVELOPER_TOOLS'] },
  {
    id: 'RagActorId0001', username: 'apify', name: 'rag-web-browser', title: 'RAG Web Browser', description: 'Web browser for AI agents', categories: ['AI'],
    durationSecs: 30,
    items: (input) => [1, 2, 3, 4, 5].map((n) => ({ n, query: (input as { query?: string })?.query, metadata: { title: `Result ${n}` }, extra: 'x' })),
  },
  { id: 'SlowActorId001', username: 'test', name: 'slow', title: 'Slow', description: 'Takes 150 s', durationSecs: 150, items: () => [{ done: true }] },
  { id: 'ForeverActor01', username: 'test', name: 'forever', title: 'Forever', description: 'Never finishes', durationSecs: Infinity },
  { id: 'FailingActor01', username: 'test', name: 'failing', title: 'Failing', description: 'Fails', finalStatus: 'FAILED', log: 'line 1\nline 2\nboom\n' },
];

function newId(): string {
  return randomBytes(9).toString('base64url').replace(/[-_]/g, 'x');
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(text);
}

function apiError(res: http.ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  send(res, status, { error: { type, message } }, headers);
}

export async function startFakeApi(options: { token: string; actors?: FakeActor[] }): Promise<FakeApi> {
  const actors = options.actors ?? DEFAULT_ACTORS;
  const requests: RecordedRequest[] = [];
  const runs = new Map<string, FakeRun>();
  const datasets = new Map<string, { name?: string; items: Record<string, unknown>[] }>();
  const stores = new Map<string, { name?: string; records: Map<string, KvRecord> }>();
  const rules: Injected[] = [];

  const findActor = (id: string) => actors.find((a) => a.id === id || `${a.username}~${a.name}` === id);
  const addDataset = (items: Record<string, unknown>[] = [], name?: string) => {
    const id = newId();
    datasets.set(id, { name, items });
    return id;
  };
  const addStore = (name?: string) => {
    const id = newId();
    stores.set(id, { name, records: new Map() });
    return id;
  };
  const runView = (run: FakeRun) => ({
    id: run.id, actId: run.actId, status: run.status, startedAt: run.startedAt,
    finishedAt: FINISHED.has(run.status) ? '2025-01-01T00:01:00.000Z' : null,
    defaultDatasetId: run.defaultDatasetId, defaultKeyValueStoreId: run.defaultKeyValueStoreId,
    options: run.options, usageTotalUsd: 0.01,
  });
  const advance = (run: FakeRun, secs: number) => {
    if (FINISHED.has(run.status) || run.status === 'ABORTING') return;
    run.elapsedSecs += secs;
    run.status = 'RUNNING';
    if (run.elapsedSecs >= (run.actor.durationSecs ?? 0)) {
      run.status = run.actor.finalStatus ?? 'SUCCEEDED';
      datasets.get(run.defaultDatasetId)?.items.push(...(run.actor.items?.(run.input) ?? []));
    }
  };

  type Handler = (req: RecordedRequest, params: string[], res: http.ServerResponse) => void;
  const table: [string, RegExp, Handler, { public?: boolean }?][] = [
    ['GET', /^\/v2\/store$/, (req, _p, res) => {
      const words = (req.query.search ?? '').toLowerCase();
      const found = actors.filter((a) => `${a.username} ${a.name} ${a.title} ${a.description}`.toLowerCase().includes(words))
        .filter((a) => !req.query.category || a.categories?.includes(req.query.category));
      const offset = Number(req.query.offset ?? 0);
      const limit = Math.min(Number(req.query.limit ?? 1000), 1000);
      const items = found.slice(offset, offset + limit).map((a) => ({ id: a.id, name: a.name, username: a.username, title: a.title, description: a.description }));
      send(res, 200, { data: { total: found.length, count: items.length, offset, limit, desc: false, items } });
    }, { public: true }],
    ['GET', /^\/v2\/acts\/([^/]+)$/, (_req, [id], res) => {
      const actor = findActor(id as string);
      if (!actor) return apiError(res, 404, 'record-not-found', 'Actor was not found');
      send(res, 200, { data: { id: actor.id, name: actor.name, username: actor.username, title: actor.title, description: actor.description } });
    }],
    ['POST', /^\/v2\/acts\/([^/]+)\/runs$/, (req, [id], res) => {
      const actor = findActor(id as string);
      if (!actor) return apiError(res, 404, 'record-not-found', 'Actor was not found');
      const input = req.body.length > 0 ? JSON.parse(req.body.toString()) : undefined;
      const run: FakeRun = {
        id: newId(), actId: actor.id, status: 'READY', elapsedSecs: 0, actor, startedAt: new Date().toISOString(), input, options: { ...req.query },
        defaultDatasetId: addDataset(), defaultKeyValueStoreId: addStore(),
      };
      runs.set(run.id, run);
      send(res, 201, { data: runView(run) });
    }],
    ['GET', /^\/v2\/acts\/([^/]+)\/runs$/, (req, [id], res) => {
      const actor = findActor(id as string);
      if (!actor) return apiError(res, 404, 'record-not-found', 'Actor was not found');
      const mine = [...runs.values()].filter((run) => run.actor === actor);
      const items = (req.query.desc === 'true' || req.query.desc === '1' ? mine.reverse() : mine).slice(0, Number(req.query.limit ?? 1000)).map(runView);
      send(res, 200, { data: { total: mine.length, count: items.length, offset: 0, limit: items.length, desc: true, items } });
    }],
    ['GET', /^\/v2\/actor-runs\/([^/]+)$/, (req, [id], res) => {
      const run = runs.get(id as string);
      if (!run) return apiError(res, 404, 'record-not-found', 'Actor run was not found');
      advance(run, Math.min(Number(req.query.waitForFinish ?? 0), 60));
      send(res, 200, { data: runView(run) });
    }],
    ['POST', /^\/v2\/actor-runs\/([^/]+)\/abort$/, (_req, [id], res) => {
      const run = runs.get(id as string);
      if (!run) return apiError(res, 404, 'record-not-found', 'Actor run was not found');
      if (!FINISHED.has(run.status)) run.status = 'ABORTED';
      send(res, 200, { data: runView(run) });
    }],
    ['GET', /^\/v2\/logs\/([^/]+)$/, (_req, [id], res) => {
      const run = runs.get(id as string);
      if (!run) return apiError(res, 404, 'record-not-found', 'Log was not found');
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(run.actor.log ?? `Run ${run.id} of ${run.actor.username}/${run.actor.name}\n`);
    }],
    ['POST', /^\/v2\/datasets$/, (req, _p, res) => {
      const name = req.query.name;
      const existing = name ? [...datasets].find(([, d]) => d.name === name)?.[0] : undefined;
      const id = existing ?? addDataset([], name);
      send(res, existing ? 200 : 201, { data: { id, name: name ?? null, itemCount: datasets.get(id)?.items.length } });
    }],
    ['GET', /^\/v2\/datasets\/([^/]+)$/, (_req, [id], res) => {
      const dataset = datasets.get(id as string);
      if (!dataset) return apiError(res, 404, 'record-not-found', 'Dataset was not found');
      send(res, 200, { data: { id, name: dataset.name ?? null, itemCount: dataset.items.length } });
    }],
    ['GET', /^\/v2\/datasets\/([^/]+)\/items$/, (req, [id], res) => {
      const dataset = datasets.get(id as string);
      if (!dataset) return apiError(res, 404, 'record-not-found', 'Dataset was not found');
      const q = req.query;
      const flag = (value?: string) => value === 'true' || value === '1';
      let items = flag(q.desc) ? [...dataset.items].reverse() : dataset.items;
      if (flag(q.clean)) items = items.filter((item) => Object.keys(item).length > 0);
      const offset = Number(q.offset ?? 0);
      const limit = q.limit === undefined ? items.length : Number(q.limit);
      const fields = q.fields?.split(',');
      const omit = q.omit?.split(',') ?? [];
      const page = items.slice(offset, offset + limit).map((item) => Object.fromEntries(Object.entries(item)
        .filter(([k]) => (!fields || fields.includes(k)) && !omit.includes(k))));
      send(res, 200, page, {
        'x-apify-pagination-total': String(items.length), 'x-apify-pagination-offset': String(offset),
        'x-apify-pagination-limit': String(limit), 'x-apify-pagination-count': String(page.length),
        'x-apify-pagination-desc': String(flag(q.desc)),
      });
    }],
    ['POST', /^\/v2\/datasets\/([^/]+)\/items$/, (req, [id], res) => {
      const dataset = datasets.get(id as string);
      if (!dataset) return apiError(res, 404, 'record-not-found', 'Dataset was not found');
      const body = JSON.parse(req.body.toString()) as Record<string, unknown> | Record<string, unknown>[];
      dataset.items.push(...(Array.isArray(body) ? body : [body]));
      send(res, 201, undefined);
    }],
    ['POST', /^\/v2\/key-value-stores$/, (req, _p, res) => {
      const name = req.query.name;
      const existing = name ? [...stores].find(([, s]) => s.name === name)?.[0] : undefined;
      const id = existing ?? addStore(name);
      send(res, existing ? 200 : 201, { data: { id, name: name ?? null } });
    }],
    ['GET', /^\/v2\/key-value-stores\/([^/]+)\/keys$/, (req, [id], res) => {
      const store = stores.get(id as string);
      if (!store) return apiError(res, 404, 'record-not-found', 'Key-value store was not found');
      const limit = Number(req.query.limit ?? 1000);
      const after = req.query.exclusiveStartKey;
      const keys = [...store.records.keys()].sort().filter((key) => !after || key > after);
      const items = keys.slice(0, limit).map((key) => ({ key, size: store.records.get(key)?.body.length ?? 0 }));
      const isTruncated = keys.length > limit;
      send(res, 200, { data: { items, count: items.length, limit, exclusiveStartKey: after ?? null, isTruncated, nextExclusiveStartKey: isTruncated ? items.at(-1)?.key : null } });
    }],
    ['GET', /^\/v2\/key-value-stores\/([^/]+)\/records\/([^/]+)$/, (_req, [id, key], res) => {
      const record = stores.get(id as string)?.records.get(decodeURIComponent(key as string));
      if (!record) return apiError(res, 404, 'record-not-found', 'Record was not found');
      res.writeHead(200, { 'content-type': record.contentType });
      res.end(record.body);
    }],
    ['PUT', /^\/v2\/key-value-stores\/([^/]+)\/records\/([^/]+)$/, (req, [id, key], res) => {
      const store = stores.get(id as string);
      if (!store) return apiError(res, 404, 'record-not-found', 'Key-value store was not found');
      store.records.set(decodeURIComponent(key as string), { body: req.body, contentType: req.headers['content-type'] ?? 'application/octet-stream' });
      send(res, 201, undefined);
    }],
    // Not in the relay's allowlist: here so a test can tell a refusal from a missing route.
    ['GET', /^\/v2\/users\/me$/, (_req, _p, res) => send(res, 200, { data: { username: 'me', token: options.token } })],
  ];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = {
        method: req.method ?? '', path: url.pathname, query: Object.fromEntries(url.searchParams), headers: req.headers, body: Buffer.concat(chunks),
      };
      requests.push(recorded);
      void answer(recorded, res);
    });
  });

  async function answer(req: RecordedRequest, res: http.ServerResponse): Promise<void> {
    const rule = rules.find((r) => (r.method ?? req.method) === req.method && r.path.test(req.path) && (r.times ?? 1) > 0);
    if (rule) {
      rule.times = (rule.times ?? 1) - 1;
      if (rule.delayMs) await new Promise((resolve) => setTimeout(resolve, rule.delayMs));
      if (rule.until) await rule.until.catch(() => undefined);
      if (rule.drop) res.socket?.destroy();
      if (rule.status) {
        return apiError(res, rule.status, rule.type ?? 'injected-error', rule.message ?? `Injected ${rule.status}`,
          { ...(rule.retryAfter === undefined ? {} : { 'retry-after': rule.retryAfter }), ...rule.headers });
      }
    }
    for (const [method, pattern, handler, flags] of table) {
      const match = req.method === method ? pattern.exec(req.path) : null;
      if (!match) continue;
      if (!flags?.public && req.headers.authorization !== `Bearer ${options.token}`) {
        return apiError(res, 401, 'token-not-provided', 'Authentication token was not provided or is not valid');
      }
      return handler(req, match.slice(1), res);
    }
    apiError(res, 404, 'page-not-found', `No route for ${req.method} ${req.path}`);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    requests,
    runs,
    datasets,
    stores,
    inject: (rule) => rules.push({ ...rule }),
    addDataset: (items) => addDataset(items),
    calls: (path) => requests.filter((r) => path.test(r.path))
      .map((r) => `${r.method} ${r.path}${Object.keys(r.query).length ? `?${new URLSearchParams(r.query)}` : ''}`),
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
