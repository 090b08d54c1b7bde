/**
 * `createServer`: one Hono app with MCP Streamable HTTP at `/mcp` (one McpServer per session),
 * the REST API under `/v1`, `GET /healthz` and the Standby readiness probe; guarded by Host/Origin
 * checks (DNS rebinding), an optional bearer token (constant-time compare) and a body cap. Embedders
 * mount `handler` (a Node request listener) or `fetch`; `listen` serves it and refuses a
 * non-loopback address without a token. `close` drains: no new work, a grace period, then aborts.
 */
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createAdaptorServer, getRequestListener, type HttpBindings } from '@hono/node-server';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { Hono, type Context, type Next } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { RUN_OPTIONS } from '../run/option-table.js';
import { handleMcpRequest, sessionMode, transportOptions, type SessionMode } from './accept.js';
import { createMcpServer } from './mcp.js';
import { serverSettings, type ServerOptions, type ServerSettings } from './options.js';
import { errorBody, restRoutes } from './rest.js';
import { ExecutionService } from './service.js';

/** The largest script, JSON-escaped at up to 4 bytes a character, plus room for the other fields. */
const BODY_LIMIT_BYTES = RUN_OPTIONS.code.maxLength * 4 + 64 * 1024;
const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];
/** How long open connections may finish their answers when the server closes. */
const CLOSE_LINGER_MS = 1000;
/** The header the Apify platform's readiness probe sends to a Standby Actor. */
const READINESS_HEADER = 'x-apify-container-server-readiness-probe';

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
   * caller (the Apify platform, for a Standby Actor).
   */
  listen(options?: { host?: string; port?: number; authenticatedUpstream?: boolean }): Promise<AddressInfo>;
  /** Stops taking work, lets running scripts finish for `graceSecs`, aborts the rest, closes everything. */
  close(): Promise<void>;
}

function isLoopback(host: string): boolean {
  return ['127.0.0.1', '::1', 'localhost'].includes(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `example.com:3000` → `example.com`; `[::1]:3000` → `[::1]`. */
function hostnameOf(hostHeader: string): string {
  const bracket = hostHeader.match(/^(\[[^\]]*\])(:\d+)?$/);
  if (bracket) return bracket[1]!.toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

function originHostname(origin: string): string | undefined {
  try {
    const { hostname } = new URL(origin);
    return hostname.includes(':') ? `[${hostname.replace(/^\[|\]$/g, '')}]` : hostname.toLowerCase();
  } catch {
    return undefined;
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** DNS-rebinding protection: Host (and Origin, when sent) must name an allowed host. */
function hostGuard(allowed: string[]) {
  const names = new Set(allowed.map((host) => host.toLowerCase()));
  return async (c: Context<Env>, next: Next) => {
    const host = c.req.header('host');
    if (!host || !names.has(hostnameOf(host))) {
      return c.json(errorBody('forbidden', `Host ${JSON.stringify(host ?? '')} is not allowed (allowed: ${[...names].join(', ')}); set allowedHosts / --allowed-hosts to serve under another name`), 403);
    }
    const origin = c.req.header('origin');
    if (origin && origin !== 'null' && !names.has(originHostname(origin) ?? '')) {
      return c.json(errorBody('forbidden', `Origin ${JSON.stringify(origin)} is not allowed (allowed hosts: ${[...names].join(', ')})`), 403);
    }
    if (origin === 'null') return c.json(errorBody('forbidden', 'Origin "null" is not allowed'), 403);
    return next();
  };
}

function authGuard(token: string) {
  const expected = digest(token);
  return async (c: Context<Env>, next: Next) => {
    const header = c.req.header('authorization') ?? '';
    const match = header.match(/^Bearer\s+(.+)$/i);
    if (!match) {
      c.header('WWW-Authenticate', 'Bearer');
      return c.json(errorBody('unauthorized', 'Send the server\'s token as `Authorization: Bearer <token>`'), 401);
    }
    // Hashes have one length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(match[1]!.trim()), expected)) return c.json(errorBody('forbidden', 'The bearer token is not this server\'s'), 403);
    return next();
  };
}

/** MCP over Streamable HTTP: a transport and an McpServer per session, kept by session id. */
function mcpRoute(service: ExecutionService, maxSessions: number, heartbeatSecs: number) {
  /** In order of last use: at the cap, the least recently used session is closed (clients that never say goodbye cannot fill it). */
  const sessions = new Map<string, WebStandardStreamableHTTPServerTransport>();
  /** Each session's answers: JSON or SSE, from the Accept of the request that began it (accept.ts). */
  const modes = new WeakMap<WebStandardStreamableHTTPServerTransport, SessionMode>();
  const handle = async (c: Context<Env>) => {
    const sessionId = c.req.header('mcp-session-id');
    let transport = sessionId ? sessions.get(sessionId) : undefined;
    if (sessionId && !transport) {
      return c.json({ jsonrpc: '2.0', error: { code: -32001, message: `MCP session ${JSON.stringify(sessionId.slice(0, 64))} is unknown or closed; initialize a new one` }, id: null }, 404);
    }
    if (transport && sessionId) {
      sessions.delete(sessionId);
      sessions.set(sessionId, transport);
    }
    if (!transport) {
      if (!service.accepting) return c.json(errorBody('shutting-down', 'The server is shutting down'), 503);
      const id = randomUUID();
      const mode = sessionMode(c.req.raw);
      const created = new WebStandardStreamableHTTPServerTransport({
        ...transportOptions(mode, heartbeatSecs),
        sessionIdGenerator: () => id,
        onsessioninitialized: async () => {
          // Only a session that really began pushes one out (a stray request must not close another
          // client's); its executions go on and stay fetchable from any session.
          while (sessions.size >= maxSessions) {
            const [oldest, stale] = sessions.entries().next().value!;
            sessions.delete(oldest);
            await stale.close().catch(() => undefined);
          }
          sessions.set(id, created);
        },
        onsessionclosed: () => void sessions.delete(id),
        maxRequestBodySize: BODY_LIMIT_BYTES,
      });
      created.onclose = () => sessions.delete(id);
      modes.set(created, mode);
      // Fair queueing is per MCP session.
      await createMcpServer(service, `mcp:${id}`).connect(created);
      transport = created;
    }
    return handleMcpRequest(transport, modes.get(transport) ?? 'sse', c.req.raw, heartbeatSecs);
  };
  return {
    handle,
    async closeAll() {
      await Promise.allSettled([...sessions.values()].map((transport) => transport.close()));
      sessions.clear();
    },
  };
}

function buildApp(settings: ServerSettings, service: ExecutionService, mcp: ReturnType<typeof mcpRoute>): Hono<Env> {
  const app = new Hono<Env>();
  app.onError((error, c) => c.json(errorBody('internal', `The server failed: ${error.message}`), 500));
  app.notFound((c) => c.json(errorBody('not-found', `No route ${c.req.method} ${c.req.path}; see GET /v1/openapi.json and POST /mcp`), 404));
  // The platform's probe comes before any check: it must be answered at once.
  app.get('/', (c, next) => (c.req.header(READINESS_HEADER) !== undefined ? c.text('ok') : next()));
  app.get('/healthz', (c) => c.json({ ok: true, accepting: service.accepting, running: service.scheduler.running, waiting: service.scheduler.waiting }));
  const hosts = settings.allowedHosts ?? (settings.authToken ? 'any' : LOOPBACK_HOSTS);
  if (hosts !== 'any') app.use('*', hostGuard(hosts));
  if (settings.authToken) app.use('*', authGuard(settings.authToken));
  app.use('*', bodyLimit({ maxSize: BODY_LIMIT_BYTES, onError: (c) => c.json(errorBody('payload-too-large', `The request body is over ${BODY_LIMIT_BYTES} bytes (code is at most ${RUN_OPTIONS.code.maxLength.toLocaleString('en-US')} characters)`), 413) }));
  app.get('/', (c) => c.json({ name: 'code-runtime', mcp: '/mcp', rest: '/v1', openapi: '/v1/openapi.json' }));
  app.all('/mcp', mcp.handle);
  app.route('/v1', restRoutes(service));
  return app;
}

export function createServer(options: ServerOptions = {}): CodeRuntimeServer {
  const settings = serverSettings(options);
  const service = new ExecutionService(settings);
  const mcp = mcpRoute(service, settings.maxSessions, settings.heartbeatSecs);
  const app = buildApp(settings, service, mcp);
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
      const created = createAdaptorServer({ fetch: app.fetch, hostname: host }) as Server;
      // Slow clients cannot hold a request open forever; long waits are at most 50 s.
      created.requestTimeout = 120_000;
      created.headersTimeout = 30_000;
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
        if (settings.ownsRuntime) await settings.runtime.close();
      })();
      return closing;
    },
  };
}
