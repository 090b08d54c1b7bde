/**
 * `createServer`: one Hono app with MCP Streamable HTTP at `/mcp` (mcp-http.ts), the REST API under
 * `/v1`, `GET /healthz` and the Standby readiness probe. Guarded by Host/Origin checks, an optional
 * bearer token and JSON-only REST bodies (guards.ts); bounded per connection and in total
 * (connections.ts: connection caps, unsent bytes, write timeout; bodies.ts: request bodies in flight,
 * the read timeout) and per client (sessions.ts, scheduler.ts, keyed by clients.ts). Embedders mount `handler` (a Node request listener) or
 * `fetch`; `listen` serves it and refuses a non-loopback address without a token. `close` drains:
 * no new work, a grace period, then aborts.
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { Hono, type Context } from 'hono';
import { BodyGate, REQUEST_TIMEOUT_MS } from './bodies.js';
import { splitBuffered } from './budget.js';
import { clientKey } from './clients.js';
import { addConformanceTools } from './conformance.js';
import { ConnectionGuard } from './connections.js';
import { EventLog } from './events.js';
import { createGuards, jsonBodies, LOOPBACK_HOSTS } from './guards.js';
import { mcpRoute } from './mcp-http.js';
import { serverSettings, type ServerOptions, type ServerSettings } from './options.js';
import { errorBody, restRoutes } from './rest.js';
import { ExecutionService } from './service.js';
import { SessionRegistry } from './sessions.js';

/** How long open connections may finish their answers when the server closes. */
const CLOSE_LINGER_MS = 1000;
/** The header the Apify platform's readiness probe sends to a Standby Actor. */
const READINESS_HEADER = 'x-apify-container-server-readiness-probe';
/** Stream events kept for resuming: at most this much per session, for at most this long. */
const EVENTS_PER_SESSION_BYTES = 1024 ** 2;
const EVENT_TTL_MS = 10 * 60_000;
/** Room SSE framing takes around one message. */
const FRAMING_BYTES = 1024;

type Env = { Bindings: HttpBindings };

export interface CodeRuntimeServer {
  /** The executions, shared by every front door. */
  readonly service: ExecutionService;
  /** The app as a fetch handler (Request → Response). */
  readonly fetch: (request: Request) => Response | Promise<Response>;
  /** The app as a Node `http` request listener, to mount in another server. */
  readonly handler: (request: IncomingMessage, response: ServerResponse) => Promise<void>;
  /**
   * Serves on `host:port` (port 0 picks one); resolves with the bound address. A non-loopback host
   * needs `authToken`, unless `authenticatedUpstream` says something in front authenticates every
   * caller (the Apify platform, for a Standby Actor); then a caller's own bearer token tells callers
   * apart for the per-client caps and fair queueing.
   */
  listen(options?: { host?: string; port?: number; authenticatedUpstream?: boolean }): Promise<AddressInfo>;
  /** Stops taking work, lets running scripts finish for `graceSecs`, aborts the rest, closes everything. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return ['127.0.0.1', '::1', 'localhost'].includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

interface Parts {
  settings: ServerSettings;
  service: ExecutionService;
  connections: ConnectionGuard;
  bodies: BodyGate;
  sessions: SessionRegistry;
  events: EventLog;
  mcp: ReturnType<typeof mcpRoute>;
  clientOf: (c: Context) => string;
}

function buildApp({ settings, service, connections, bodies, sessions, events, mcp, clientOf }: Parts): Hono<Env> {
  const guards = createGuards({ hosts: settings.allowedHosts ?? (settings.authToken ? 'any' : LOOPBACK_HOSTS), allowedOrigins: settings.allowedOrigins, authToken: settings.authToken });
  const app = new Hono<Env>();
  app.onError((error, c) => c.json(errorBody('internal', `The server failed: ${error.message}`), 500));
  app.notFound((c) => c.json(errorBody('not-found', `No route ${c.req.method} ${c.req.path}; see GET /v1/openapi.json and POST /mcp`), 404));
  // Every answer is counted against its connection and the server's budget until it is sent.
  app.use('*', async (c, next) => {
    await next();
    // MCP's answers are streams (SSE, or JSON begun early and kept alive: accept.ts): they go out as they come.
    c.res = await connections.admit(c.res, c.env?.outgoing, c.req.path === '/mcp');
  });
  // The platform's probe comes before any check: it must be answered at once (not ready while draining).
  app.get('/', (c, next) => {
    if (c.req.header(READINESS_HEADER) === undefined) return next();
    return service.accepting ? c.text('ok') : c.text('draining', 503);
  });
  // Liveness for anyone; the load only for callers who pass the guards.
  app.get('/healthz', (c) => {
    const status = service.accepting ? 200 : 503;
    if (!guards.trusted(c)) return c.json({ ok: service.accepting }, status);
    return c.json({
      ok: service.accepting, accepting: service.accepting, running: service.scheduler.running, waiting: service.scheduler.waiting,
      sessions: sessions.size, connections: connections.connections, bufferedBytes: connections.budget.used + events.bytes, bodyBytes: bodies.budget.used,
    }, status);
  });
  app.use('*', guards.check);
  // While unsent answers fill the budget, work is refused before it is done (after the guards: a
  // stranger learns nothing of the load).
  app.use('*', async (c, next) => connections.refuseEarly(c.env?.outgoing) ?? next());
  // A REST body that is not JSON is refused before it is read; every body is counted while it is held.
  app.use('/v1/*', jsonBodies);
  app.use('*', bodies.middleware(clientOf));
  app.get('/', (c) => c.json({ name: 'code-runtime', mcp: '/mcp', rest: '/v1', openapi: '/v1/openapi.json' }));
  app.all('/mcp', (c) => mcp.handle(c));
  app.route('/v1', restRoutes(service, clientOf));
  return app;
}

export function createServer(options: ServerOptions = {}): CodeRuntimeServer {
  const settings = serverSettings(options);
  const service = new ExecutionService(settings);
  const buffered = splitBuffered(settings.maxBufferedBytes);
  const connections = new ConnectionGuard({
    maxConnections: settings.maxConnections,
    maxConnectionsPerClient: settings.maxConnectionsPerClient,
    maxUnsentBytesPerConnection: settings.maxUnsentBytesPerConnection,
    maxUnsentBytes: buffered.answers,
    writeTimeoutSecs: settings.writeTimeoutSecs,
  });
  const bodies = new BodyGate({ maxBytes: settings.maxBodiesBytes, readTimeoutSecs: settings.readTimeoutSecs });
  bodies.start();
  const events = new EventLog({ maxBytes: buffered.events, perSessionBytes: Math.min(EVENTS_PER_SESSION_BYTES, buffered.events), ttlMs: EVENT_TTL_MS });
  const sessions = new SessionRegistry(settings);
  sessions.start();
  // Set by `listen`: whether a caller's bearer token was verified in front of this server.
  let tokensVerifiedUpstream = false;
  const clientOf = (c: Context) => clientKey((c.env as HttpBindings | undefined)?.incoming?.socket?.remoteAddress, c.req.header('authorization'), tokensVerifiedUpstream);
  const mcp = mcpRoute({
    service, sessions, events, clientOf,
    maxRequestBodyBytes: bodies.maxRequestBytes,
    heartbeatSecs: settings.heartbeatSecs,
    maxMessageBytes: settings.maxUnsentBytesPerConnection - FRAMING_BYTES,
    extend: settings.conformanceTools ? addConformanceTools : undefined,
  });
  const app = buildApp({ settings, service, connections, bodies, sessions, events, mcp, clientOf });
  const handler = getRequestListener(app.fetch);
  let server: Server | undefined;
  let closing: Promise<void> | undefined;

  return {
    service,
    fetch: (request) => app.fetch(request),
    handler,
    async listen({ host = '127.0.0.1', port = 3000, authenticatedUpstream = false } = {}) {
      if (!isLoopback(host) && !settings.authToken && !authenticatedUpstream) {
        throw new TypeError(`Listening on ${host} (not loopback) needs an auth token: pass --auth-token or set CODE_RUNTIME_AUTH_TOKEN`);
      }
      tokensVerifiedUpstream = authenticatedUpstream;
      // Slow clients cannot hold a request open forever (long waits are at most 50 s), nor a connection without one.
      const created = http.createServer({ requestTimeout: REQUEST_TIMEOUT_MS, headersTimeout: 20_000, connectionsCheckingInterval: 5000 }, connections.listener(getRequestListener(app.fetch, { hostname: host })));
      connections.attach(created);
      await new Promise<void>((resolve, reject) => {
        created.once('error', reject);
        created.listen(port, host, () => {
          created.off('error', reject);
          resolve();
        });
      });
      server = created;
      return created.address() as AddressInfo;
    },
    close() {
      closing ??= (async () => {
        // Tool calls that were waiting on those executions have answered (ABORTED or their result):
        // their answers are queued on the sessions' streams before the sessions close.
        await service.drain(settings.graceSecs * 1000);
        await mcp.closeAll();
        if (server) {
          const stopped = new Promise<void>((resolve) => server!.close(() => resolve()));
          // Answers already being written (a wait that just ended) get a moment to go out.
          server.closeIdleConnections();
          const force = setTimeout(() => server!.closeAllConnections(), CLOSE_LINGER_MS);
          await stopped;
          clearTimeout(force);
        }
        connections.stop();
        bodies.stop();
        if (settings.ownsRuntime) await settings.runtime.close();
      })();
      return closing;
    },
  };
}
