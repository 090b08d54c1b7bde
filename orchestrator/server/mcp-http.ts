/**
 * MCP over Streamable HTTP at `/mcp`: a transport and an McpServer per session, kept in the session
 * registry (caps, idle expiry, never closing a busy or recent session), answering as SSE or JSON as
 * the Accept of its first request allows (accept.ts). Streams are resumable: each
 * session's transport has a bounded event store, every SSE stream begins with a priming event (an
 * id and a `retry` field; the SDK primes POST streams, this module the GET ones), and a client that
 * reconnects with `Last-Event-ID` gets what it missed. An answer too large for one connection is
 * sent as an error that says so, not dropped with the connection. Nothing here parses JSON-RPC:
 * the SDK does.
 */
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport, type WebStandardStreamableHTTPServerTransportOptions } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { Context } from 'hono';
import { handleMcpRequest, rpcErrorBody, sessionMode, transportOptions, type SessionMode } from './accept.js';
import { rememberJson, type EventLog, type SessionEvents } from './events.js';
import { createMcpServer } from './mcp.js';
import type { ExecutionService } from './service.js';
import { SessionLimitError, type SessionRegistry } from './sessions.js';

/** What a priming event tells a client to wait before reconnecting, in ms. */
export const RETRY_MS = 1000;
/** The SDK's id for a session's GET stream. */
const STANDALONE_STREAM = '_GET_stream';
/** Clients of this protocol version or later understand a priming event (empty data). */
const PRIMING_SINCE = '2025-11-25';

type Send = WebStandardStreamableHTTPServerTransport['send'];

/** The SDK's transport, with answers held to what one connection may carry. */
class BoundedTransport extends WebStandardStreamableHTTPServerTransport {
  readonly #maxMessageBytes: number;

  constructor(options: WebStandardStreamableHTTPServerTransportOptions, maxMessageBytes: number) {
    super(options);
    this.#maxMessageBytes = maxMessageBytes;
  }

  override async send(message: JSONRPCMessage, options?: Parameters<Send>[1]): Promise<void> {
    if ('result' in message && message.result !== undefined) {
      const json = JSON.stringify(message);
      const bytes = Buffer.byteLength(json);
      if (bytes > this.#maxMessageBytes) {
        message = { jsonrpc: '2.0', id: message.id, error: { code: -32603, message: `The answer is ${bytes} bytes, more than one connection may hold (${this.#maxMessageBytes}); ask for less (a smaller page)` } };
      } else {
        rememberJson(message, json);
      }
    }
    return super.send(message, options);
  }
}

export interface McpRouteOptions {
  service: ExecutionService;
  sessions: SessionRegistry;
  events: EventLog;
  /** The caller's key (clients.ts). */
  clientOf: (c: Context) => string;
  maxRequestBodyBytes: number;
  /** The most seconds between bytes of an answer still being prepared (accept.ts). */
  heartbeatSecs: number;
  /** The largest message one connection may carry. */
  maxMessageBytes: number;
  /** Adds tools to each session's server (the conformance suite's). */
  extend?: (server: McpServer) => void;
}

interface Live {
  id: string;
  client: string;
  mode: SessionMode;
  transport: BoundedTransport;
  events: SessionEvents;
  close(): Promise<void>;
}

function rpcError(c: Context, status: 400 | 404 | 429 | 503, message: string, retryAfterSecs?: number): Response {
  if (retryAfterSecs !== undefined) c.header('Retry-After', String(retryAfterSecs));
  return c.json(rpcErrorBody(message, status === 404 ? -32001 : -32000), status);
}

/** Whether a request's body holds an `initialize` (read from a copy: the original stays for the SDK). */
async function initializes(c: Context): Promise<boolean> {
  if (c.req.method !== 'POST') return false;
  const body: unknown = await c.req.raw.clone().json().catch(() => undefined);
  return Array.isArray(body) ? body.some((message) => isInitializeRequest(message)) : isInitializeRequest(body);
}

/** `response` with `prefix` sent before its body. */
function prefixed(response: Response, prefix: string): Response {
  const source = response.body!.getReader();
  let first = true;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(new TextEncoder().encode(prefix));
        return;
      }
      const { done, value } = await source.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel: (reason) => source.cancel(reason),
  }, { highWaterMark: 0 });
  return new Response(body, { status: response.status, headers: response.headers });
}

export function mcpRoute(options: McpRouteOptions) {
  const { service, sessions, events } = options;
  const live = new Map<string, Live>();

  /** A GET stream starts with a priming event: a new id on the session's stream, or the client's own on a resume. */
  function primed(c: Context, session: Live, response: Response): Response {
    const version = c.req.header('mcp-protocol-version') ?? '';
    const sse = response.headers.get('content-type')?.startsWith('text/event-stream');
    if (c.req.method !== 'GET' || response.status !== 200 || !response.body || !sse || version < PRIMING_SINCE) return response;
    const id = c.req.header('last-event-id') ?? session.events.store(STANDALONE_STREAM, {});
    return prefixed(response, `id: ${id}\nretry: ${RETRY_MS}\ndata: \n\n`);
  }

  /** Serves one request of a session, which is busy until the answer is done. */
  async function serve(c: Context, session: Live): Promise<Response> {
    sessions.begin(session.id);
    let response: Response;
    try {
      response = primed(c, session, await handleMcpRequest(session.transport, session.mode, c.req.raw, options.heartbeatSecs));
    } catch (error) {
      sessions.end(session.id);
      throw error;
    }
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    if (outgoing) outgoing.once('close', () => sessions.end(session.id));
    else sessions.end(session.id);
    return response;
  }

  /** A request without a session can only begin one: it is held to the caps before anything is made. */
  async function begin(c: Context): Promise<Response> {
    if (!service.accepting) return rpcError(c, 503, 'The server is shutting down');
    const client = options.clientOf(c);
    let ticket;
    try {
      ticket = sessions.reserve(client);
    } catch (error) {
      if (!(error instanceof SessionLimitError)) throw error;
      // Only an initialize is refused for the caps; anything else without a session is the caller's mistake.
      if (!await initializes(c)) return rpcError(c, 400, 'Bad Request: Mcp-Session-Id header is required');
      return rpcError(c, 429, error.message, error.retryAfterSecs);
    }
    const id = randomUUID();
    const mode = sessionMode(c.req.raw);
    const sessionEvents = events.session();
    let session!: Live;
    const transport = new BoundedTransport({
      ...transportOptions(mode, options.heartbeatSecs),
      sessionIdGenerator: () => id,
      eventStore: sessionEvents,
      retryInterval: RETRY_MS,
      onsessioninitialized: () => {
        live.set(id, session);
        sessions.add(ticket, session);
      },
      onsessionclosed: () => forget(id),
      maxRequestBodySize: options.maxRequestBodyBytes,
    }, options.maxMessageBytes);
    session = { id, client, mode, transport, events: sessionEvents, close: () => transport.close() };
    transport.onclose = () => forget(id);
    try {
      const server = createMcpServer(service, client);
      options.extend?.(server);
      await server.connect(transport);
      return await serve(c, session);
    } finally {
      if (!ticket.settled) {
        // Not an initialize: nothing began; what was made goes.
        sessions.release(ticket);
        await transport.close().catch(() => undefined);
      }
    }
  }

  function forget(id: string): void {
    const session = live.get(id);
    sessions.remove(id);
    if (!session) return;
    live.delete(id);
    session.events.clear();
  }

  return {
    async handle(c: Context): Promise<Response> {
      const sessionId = c.req.header('mcp-session-id');
      if (sessionId === undefined) return begin(c);
      const session = sessions.get(sessionId) && live.get(sessionId);
      if (!session) return rpcError(c, 404, `MCP session ${JSON.stringify(sessionId.slice(0, 64))} is unknown or closed; initialize a new one`);
      return serve(c, session);
    },
    async closeAll(): Promise<void> {
      await sessions.closeAll();
    },
  };
}
