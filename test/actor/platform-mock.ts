/**
 * A stand-in for the Apify platform on 127.0.0.1, so the Actor can run "at home" offline: the few
 * API v2 routes the SDK and the `apify` binding use (storages, the run, the Store search), each run's
 * events WebSocket, and the environment the platform gives a run. It records every request.
 *
 * One platform serves one user: `startPlatform` makes the first run, `addRun` more (each with its own
 * run id, default dataset and default key-value store, and the same token), as the platform does
 * when it starts another Standby run of the user's Actor. Key-value store records are kept per store
 * and readable from any run; a test can refuse requests or slow record reads and writes at any time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

// `ws` comes with the Apify SDK; it has no type declarations here.
const { WebSocketServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: { host: string; port: number }) => {
    address(): AddressInfo;
    on(event: 'listening', listener: () => void): void;
    on(event: 'connection', listener: (socket: { send(data: string): void }) => void): void;
    close(): void;
  };
};

export interface SeenRequest {
  method: string;
  path: string;
  authorization?: string;
  body: Buffer;
  /** Which run's default store or run object it touched, when it did. */
  run?: string;
}

type Records = Map<string, { body: Buffer; contentType?: string }>;

/** One run of the user's Actor: its ids, environment, storages and events channel. */
export interface PlatformRun {
  id: string;
  datasetId: string;
  storeId: string;
  env: Record<string, string>;
  items: Array<Record<string, unknown>>;
  /** Its default key-value store. */
  records: Records;
  /** The run's status as the API reports it (`RUNNING` until a test says otherwise). */
  status: string;
  /** The run's last status message, as the SDK set it. */
  statusMessage(): string | undefined;
  /** Sends a platform event (`aborting`, `migrating`) to the run, once it has connected. */
  emit(name: string): void;
}

export interface Platform extends PlatformRun {
  requests: SeenRequest[];
  /** Another run of the same user's Actor (same token, its own run id and storages). */
  addRun(options?: { memoryMbytes?: number; storeId?: string }): Promise<PlatformRun>;
  /** Requests (`METHOD /path`) the API refuses with a 403, as for a failing platform; change it at any time. */
  refuse: RegExp | undefined;
  /** Milliseconds each key-value store record read or write waits before it is answered. */
  recordDelayMs: number;
  close(): Promise<void>;
}

const TOKEN = 'platform-mock-token';
const RUN = 'mockRunId00000001';
const DATASET = 'mockDatasetId0001';
const STORE = 'mockStoreId000001';
export const STORE_ACTORS = [{ id: 'a1', username: 'apify', name: 'web-scraper', title: 'Web Scraper' }];

function decode(req: http.IncomingMessage, body: Buffer): Buffer {
  const encoding = req.headers['content-encoding'];
  return encoding === 'gzip' ? gunzipSync(body) : encoding === 'br' ? brotliDecompressSync(body) : body;
}

export interface PlatformOptions {
  memoryMbytes?: number;
  timeoutSecs?: number;
  /** Requests (`METHOD /path`) the API refuses with a 403, as for a failing platform. */
  refuse?: RegExp;
}

interface RunState extends PlatformRun {
  message?: string;
  close(): void;
}

export async function startPlatform(input: unknown, options: PlatformOptions = {}): Promise<Platform> {
  const requests: SeenRequest[] = [];
  const runs = new Map<string, RunState>();
  const stores = new Map<string, Records>();
  const datasets = new Map<string, RunState>();
  let api = '';

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://mock');
    const body = decode(req, Buffer.concat(chunks));
    const seen: SeenRequest = { method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, body };
    requests.push(seen);
    const json = (code: number, data: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    if (platform.refuse?.test(`${req.method} ${url.pathname}`)) {
      return json(403, { error: { type: 'insufficient-permissions', message: 'Refused by the mock platform' } });
    }
    const record = url.pathname.match(/^\/v2\/key-value-stores\/([^/]+)\/records\/(.+)$/);
    if (record) {
      if (platform.recordDelayMs > 0) await sleep(platform.recordDelayMs);
      const records = stores.get(record[1]!);
      seen.run = [...runs.values()].find((run) => run.storeId === record[1])?.id;
      if (!records) return json(404, { error: { type: 'record-or-token-not-found', message: 'Store was not found' } });
      const key = decodeURIComponent(record[2]!);
      if (req.method === 'PUT') {
        records.set(key, { body, contentType: req.headers['content-type'] });
        return json(201, {});
      }
      const found = records.get(key);
      if (!found) return json(404, { error: { type: 'record-not-found', message: 'Record was not found' } });
      res.writeHead(200, { 'content-type': found.contentType ?? 'application/octet-stream' });
      return res.end(found.body);
    }
    const items = url.pathname.match(/^\/v2\/datasets\/([^/]+)\/items$/);
    if (req.method === 'POST' && items && datasets.has(items[1]!)) {
      datasets.get(items[1]!)!.items.push(...([] as Array<Record<string, unknown>>).concat(JSON.parse(body.toString('utf8'))));
      return json(201, {});
    }
    const dataset = url.pathname.match(/^\/v2\/datasets\/([^/]+)$/);
    if (dataset && datasets.has(dataset[1]!)) return json(200, { data: { id: dataset[1], itemCount: datasets.get(dataset[1]!)!.items.length } });
    const store = url.pathname.match(/^\/v2\/key-value-stores\/([^/]+)$/);
    if (store && stores.has(store[1]!)) return json(200, { data: { id: store[1] } });
    const runPath = url.pathname.match(/^\/v2\/actor-runs\/([^/]+)$/);
    if (runPath) {
      const run = runs.get(runPath[1]!);
      if (!run) return json(404, { error: { type: 'record-not-found', message: 'Actor run was not found' } });
      seen.run = run.id;
      if (req.method === 'PUT') run.message = (JSON.parse(body.toString('utf8')) as { statusMessage?: string }).statusMessage;
      return json(200, { data: { id: run.id, status: run.status, statusMessage: run.message, defaultKeyValueStoreId: run.storeId, defaultDatasetId: run.datasetId, options: {} } });
    }
    if (url.pathname === '/v2/store') {
      return json(200, { data: { items: STORE_ACTORS, total: 1, count: 1, offset: 0, limit: 1000, desc: false } });
    }
    json(404, { error: { type: 'page-not-found', message: `The mock platform has no ${req.method} ${url.pathname}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  async function makeRun(index: number, memoryMbytes: number, storeId?: string): Promise<RunState> {
    const suffix = String(index).padStart(2, '0');
    const ids = index === 1 ? { id: RUN, datasetId: DATASET, storeId: STORE } : { id: `mockRunId000000${suffix}`, datasetId: `mockDatasetId00${suffix}`, storeId: storeId ?? `mockStoreId0000${suffix}` };
    const events = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => events.on('listening', resolve));
    let socket: { send(data: string): void } | undefined;
    const pending: string[] = [];
    events.on('connection', (connected) => {
      socket = connected;
      for (const name of pending.splice(0)) connected.send(JSON.stringify({ name, data: {} }));
    });
    const records: Records = new Map();
    const timeoutSecs = options.timeoutSecs ?? 300;
    const run: RunState = {
      ...ids,
      records,
      items: [],
      status: 'RUNNING',
      env: {
        APIFY_IS_AT_HOME: '1',
        APIFY_TOKEN: TOKEN,
        APIFY_API_BASE_URL: api,
        APIFY_API_PUBLIC_BASE_URL: api,
        ACTOR_RUN_ID: ids.id,
        ACTOR_DEFAULT_DATASET_ID: ids.datasetId,
        ACTOR_DEFAULT_KEY_VALUE_STORE_ID: ids.storeId,
        ACTOR_EVENTS_WEBSOCKET_URL: `ws://127.0.0.1:${events.address().port}`,
        ACTOR_MEMORY_MBYTES: String(memoryMbytes),
        ACTOR_TIMEOUT_AT: new Date(Date.now() + timeoutSecs * 1000).toISOString(),
      },
      statusMessage: () => run.message,
      emit: (name) => (socket ? socket.send(JSON.stringify({ name, data: {} })) : pending.push(name)),
      close: () => events.close(),
    };
    runs.set(run.id, run);
    stores.set(run.storeId, records);
    datasets.set(run.datasetId, run);
    return run;
  }

  const first = await makeRun(1, options.memoryMbytes ?? 1024);
  first.records.set('INPUT', { body: Buffer.from(JSON.stringify(input)), contentType: 'application/json; charset=utf-8' });
  const platform: Platform = {
    get id() { return first.id; },
    get datasetId() { return first.datasetId; },
    get storeId() { return first.storeId; },
    get env() { return first.env; },
    get items() { return first.items; },
    get records() { return first.records; },
    get status() { return first.status; },
    set status(status: string) { first.status = status; },
    statusMessage: () => first.statusMessage(),
    emit: (name) => first.emit(name),
    requests,
    refuse: options.refuse,
    recordDelayMs: 0,
    addRun: ({ memoryMbytes, storeId } = {}) => makeRun(runs.size + 1, memoryMbytes ?? options.memoryMbytes ?? 1024, storeId),
    close: async () => {
      for (const run of runs.values()) run.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return platform;
}

export const PLATFORM = { TOKEN, RUN, DATASET, STORE };
