/**
 * A stand-in for the Apify platform on 127.0.0.1, so the Actor can run "at home" offline: the few
 * API v2 routes the SDK and the `apify` binding use (storages, the run, the Store search), the
 * run's events WebSocket, and the environment the platform gives a run. It records every request.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
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
}

export interface Platform {
  env: Record<string, string>;
  requests: SeenRequest[];
  items: Array<Record<string, unknown>>;
  records: Map<string, { body: Buffer; contentType?: string }>;
  /** The run's last status message, as the SDK set it. */
  statusMessage(): string | undefined;
  /** Sends a platform event (`aborting`, `migrating`) to the run, once it has connected. */
  emit(name: string): void;
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

export async function startPlatform(input: unknown, options: PlatformOptions = {}): Promise<Platform> {
  const requests: SeenRequest[] = [];
  const items: Array<Record<string, unknown>> = [];
  const records = new Map<string, { body: Buffer; contentType?: string }>();
  records.set('INPUT', { body: Buffer.from(JSON.stringify(input)), contentType: 'application/json; charset=utf-8' });
  let status: string | undefined;

  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? '/', 'http://mock');
    const body = decode(req, Buffer.concat(chunks));
    requests.push({ method: req.method ?? '', path: url.pathname, authorization: req.headers.authorization, body });
    const json = (code: number, data: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(data));
    };
    if (options.refuse?.test(`${req.method} ${url.pathname}`)) {
      return json(403, { error: { type: 'insufficient-permissions', message: 'Refused by the mock platform' } });
    }
    const record = url.pathname.match(/^\/v2\/key-value-stores\/[^/]+\/records\/(.+)$/);
    if (record) {
      const key = decodeURIComponent(record[1]!);
      if (req.method === 'PUT') {
        records.set(key, { body, contentType: req.headers['content-type'] });
        return json(201, {});
      }
      const found = records.get(key);
      if (!found) return json(404, { error: { type: 'record-not-found', message: 'Record was not found' } });
      res.writeHead(200, { 'content-type': found.contentType ?? 'application/octet-stream' });
      return res.end(found.body);
    }
    if (req.method === 'POST' && url.pathname === `/v2/datasets/${DATASET}/items`) {
      items.push(...([] as Array<Record<string, unknown>>).concat(JSON.parse(body.toString('utf8'))));
      return json(201, {});
    }
    if (url.pathname === `/v2/datasets/${DATASET}`) return json(200, { data: { id: DATASET, itemCount: items.length } });
    if (url.pathname === `/v2/key-value-stores/${STORE}`) return json(200, { data: { id: STORE } });
    if (url.pathname === `/v2/actor-runs/${RUN}`) {
      if (req.method === 'PUT') status = (JSON.parse(body.toString('utf8')) as { statusMessage?: string }).statusMessage;
      return json(200, { data: { id: RUN, status: 'RUNNING', statusMessage: status, options: {} } });
    }
    if (url.pathname === '/v2/store') {
      return json(200, { data: { items: STORE_ACTORS, total: 1, count: 1, offset: 0, limit: 1000, desc: false } });
    }
    json(404, { error: { type: 'page-not-found', message: `The mock platform has no ${req.method} ${url.pathname}` } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const events = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => events.on('listening', resolve));
  let socket: { send(data: string): void } | undefined;
  const pending: string[] = [];
  events.on('connection', (connected) => {
    socket = connected;
    for (const name of pending.splice(0)) connected.send(JSON.stringify({ name, data: {} }));
  });

  const timeoutSecs = options.timeoutSecs ?? 300;
  return {
    env: {
      APIFY_IS_AT_HOME: '1',
      APIFY_TOKEN: TOKEN,
      APIFY_API_BASE_URL: api,
      APIFY_API_PUBLIC_BASE_URL: api,
      ACTOR_RUN_ID: RUN,
      ACTOR_DEFAULT_DATASET_ID: DATASET,
      ACTOR_DEFAULT_KEY_VALUE_STORE_ID: STORE,
      ACTOR_EVENTS_WEBSOCKET_URL: `ws://127.0.0.1:${events.address().port}`,
      ACTOR_MEMORY_MBYTES: String(options.memoryMbytes ?? 1024),
      ACTOR_TIMEOUT_AT: new Date(Date.now() + timeoutSecs * 1000).toISOString(),
    },
    requests,
    items,
    records,
    statusMessage: () => status,
    emit: (name) => (socket ? socket.send(JSON.stringify({ name, data: {} })) : pending.push(name)),
    close: async () => {
      events.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const PLATFORM = { TOKEN, RUN, DATASET, STORE };
