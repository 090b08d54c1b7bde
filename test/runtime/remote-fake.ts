/**
 * A local fake of the few Apify API endpoints remote mode uses: start an Actor run, get a run (with
 * `waitForFinish` long-polling), abort a run (gracefully: the handler may still save an item), list
 * a dataset's items, read a record of the run's key-value store. Each run is played by a handler the test supplies; the fake records every
 * request so tests check what it received.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRun {
  id: string;
  actId: string;
  status: string;
  statusMessage?: string;
  defaultDatasetId: string;
  defaultKeyValueStoreId: string;
  input: Record<string, unknown>;
  /** Query parameters of the start request (`memory`, `timeout`, `build`). */
  params: Record<string, string>;
  /** Resolves when the run is aborted through the API. */
  aborted: Promise<void>;
  /** Set when it was aborted: whether gracefully (`gracefully=1` or `true`). */
  abortedGracefully?: boolean;
}

/** What a handler's run ended with: an item for its dataset (or none), records of its key-value store, and the run's status. */
export interface FakeOutcome {
  item?: Record<string, unknown>;
  records?: Record<string, { body: Buffer; contentType: string }>;
  status?: string;
  statusMessage?: string;
}

export type FakeHandler = (run: FakeRun) => Promise<FakeOutcome>;

export interface RemoteFake {
  url: string;
  token: string;
  /** Every request, as `METHOD /path?query`. */
  requests: string[];
  runs: FakeRun[];
  /** The most runs that were RUNNING at once. */
  maxRunning: number;
  close(): Promise<void>;
}

const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED']);

export async function startRemoteFake(handler: FakeHandler, token = 'fake-token'): Promise<RemoteFake> {
  const requests: string[] = [];
  const runs: FakeRun[] = [];
  const items = new Map<string, Record<string, unknown>[]>();
  const stores = new Map<string, Record<string, { body: Buffer; contentType: string }>>();
  const waiters = new Map<string, Array<() => void>>();
  const aborters = new Map<string, () => void>();
  const state = { running: 0, maxRunning: 0 };

  const finish = (run: FakeRun, status: string, statusMessage?: string) => {
    if (TERMINAL.has(run.status)) return;
    run.status = status;
    run.statusMessage = statusMessage;
    state.running -= 1;
    for (const wake of waiters.get(run.id) ?? []) wake();
    waiters.delete(run.id);
  };

  const send = (res: http.ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const notFound = (res: http.ServerResponse) => send(res, 404, { error: { type: 'record-not-found', message: 'Not found' } });
  const view = (run: FakeRun) => ({
    id: run.id, actId: run.actId, status: run.status, statusMessage: run.statusMessage, defaultDatasetId: run.defaultDatasetId, defaultKeyValueStoreId: run.defaultKeyValueStoreId,
  });

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push(`${req.method} ${url.pathname}${url.search}`);
    if (req.headers.authorization !== `Bearer ${token}`) {
      send(res, 401, { error: { type: 'token-not-valid', message: 'Authentication token is not valid.' } });
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const params = Object.fromEntries(url.searchParams);
    let match: RegExpMatchArray | null;

    if (req.method === 'POST' && (match = url.pathname.match(/^\/v2\/(?:acts|actors)\/([^/]+)\/runs$/))) {
      const n = runs.length + 1;
      const run: FakeRun = {
        id: `run${n}`, actId: decodeURIComponent(match[1]!), status: 'RUNNING', defaultDatasetId: `dataset${n}`, defaultKeyValueStoreId: `store${n}`,
        input: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), params,
        aborted: new Promise<void>((resolve) => aborters.set(`run${n}`, resolve)),
      };
      runs.push(run);
      state.running += 1;
      state.maxRunning = Math.max(state.maxRunning, state.running);
      handler(run).then(
        (outcome) => {
          if (TERMINAL.has(run.status)) return;
          if (outcome.item) items.set(run.defaultDatasetId, [outcome.item]);
          if (outcome.records) stores.set(run.defaultKeyValueStoreId, outcome.records);
          finish(run, run.status === 'ABORTING' ? 'ABORTED' : outcome.status ?? 'SUCCEEDED', outcome.statusMessage);
        },
        (error) => finish(run, 'FAILED', String(error)),
      );
      send(res, 201, { data: view(run) });
      return;
    }
    if (req.method === 'GET' && (match = url.pathname.match(/^\/v2\/actor-runs\/([^/]+)$/))) {
      const run = runs.find((r) => r.id === match![1]);
      if (!run) return notFound(res);
      const waitMs = Number(params.waitForFinish ?? 0) * 1000;
      if (!TERMINAL.has(run.status) && waitMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          waiters.set(run.id, [...(waiters.get(run.id) ?? []), () => { clearTimeout(timer); resolve(); }]);
        });
      }
      send(res, 200, { data: view(run) });
      return;
    }
    if (req.method === 'POST' && (match = url.pathname.match(/^\/v2\/actor-runs\/([^/]+)\/abort$/))) {
      const run = runs.find((r) => r.id === match![1]);
      if (!run) return notFound(res);
      run.abortedGracefully = params.gracefully === '1' || params.gracefully === 'true';
      aborters.get(run.id)?.();
      // A graceful abort lets the handler save its item first, as the Actor does on 'aborting'.
      if (run.abortedGracefully && !TERMINAL.has(run.status)) run.status = 'ABORTING';
      else finish(run, 'ABORTED');
      send(res, 200, { data: view(run) });
      return;
    }
    if (req.method === 'GET' && (match = url.pathname.match(/^\/v2\/datasets\/([^/]+)\/items$/))) {
      const all = items.get(match[1]!) ?? [];
      const limit = params.limit ? Number(params.limit) : all.length;
      send(res, 200, all.slice(0, limit), {
        'x-apify-pagination-total': String(all.length), 'x-apify-pagination-offset': '0',
        'x-apify-pagination-limit': String(limit), 'x-apify-pagination-desc': 'false',
      });
      return;
    }
    if (req.method === 'GET' && (match = url.pathname.match(/^\/v2\/key-value-stores\/([^/]+)\/records\/([^/]+)$/))) {
      const record = stores.get(match[1]!)?.[decodeURIComponent(match[2]!)];
      if (!record) return notFound(res);
      res.writeHead(200, { 'content-type': record.contentType });
      res.end(record.body);
      return;
    }
    notFound(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    requests,
    runs,
    get maxRunning() {
      return state.maxRunning;
    },
    close: () => new Promise<void>((resolve) => {
      for (const list of waiters.values()) for (const wake of list) wake();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
