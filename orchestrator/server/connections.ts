/**
 * What each HTTP connection may cost. Connections are capped in total and per client address (a
 * refused one gets a short 503 and is closed), and a connection may have 2 requests in progress
 * (deeper HTTP/1.1 pipelining closes it). Every answer body passes through `admit`: its bytes count
 * against the connection, its client (at most half the budget) and the server's budget for unsent
 * answers until they are handed to the operating system; an answer that does not fit is refused
 * (503) before anything is queued, a request that arrives while the budget is nearly full is refused
 * before any work is done for it (`refuseEarly`), and a stream (SSE) that outgrows its connection's
 * share is dropped. A slow reader is a connection to drop, not a buffer to grow: one whose unsent
 * bytes make no progress for `writeTimeoutSecs` is closed, and when the budget is short the
 * connections stalled longest give way first. Large answers go out in slices, so the socket holds
 * one slice at a time and progress is visible. Invariant: every byte taken from the budget is given
 * back exactly once (answer done, connection closed, or dropped), whichever comes first.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { SharedBudget } from './budget.js';
import { addressKey } from './clients.js';

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** What one connection may have waiting to be sent. */
  maxUnsentBytesPerConnection: number;
  /** What all connections together may have waiting (the answers' part of `maxBufferedBytes`). */
  maxUnsentBytes: number;
  writeTimeoutSecs: number;
}

/** Answers up to this size go out in one piece; larger ones in slices of it. */
const SLICE_BYTES = 64 * 1024;
/** A connection whose unsent bytes (or a body whose received bytes, bodies.ts) did not move for this long gives way when the budget is short. */
export const STALLED_MS = 1000;
const SWEEP_MS = 500;
/** How long a refused connection may take to read its 503, and how many may at once (each holds an fd). */
const REFUSED_LINGER_MS = 1000;
const MAX_LINGERING = 16;
/**
 * Requests one connection may have in progress (HTTP/1.1 pipelining). Node reads a whole chunk of
 * pipelined requests and starts them all before any answer is written; clients do not pipeline
 * deeper than this, so a connection that does is closed.
 */
const MAX_IN_PROGRESS_PER_CONNECTION = 2;

interface Connection {
  socket: Socket;
  client: string;
  /** Bytes of answers on it not yet handed to the socket (or, for whole answers, not yet finished). */
  reserved: number;
  /** When its unsent bytes last moved (or it had none). */
  progressAt: number;
  lastPending: number;
  /** Each answer in progress on it: gives back what it holds and stops it. */
  answers: Set<(why?: Error) => void>;
  /** Requests started and not yet answered. */
  inProgress: number;
}

/** The soft limit on open files, where /proc tells it. */
function openFileLimit(): number | undefined {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((row) => row.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : undefined;
  } catch {
    return undefined;
  }
}

/** The default cap: 1000, or less when the process may open few files (half of them, leaving the rest for scripts). */
export function defaultMaxConnections(): number {
  const files = openFileLimit();
  return files === undefined ? 1000 : Math.max(16, Math.min(1000, Math.floor((files - 64) / 2)));
}

/** An error answer, as the REST API shapes them; `raw` is the same as a whole HTTP response. */
function refusal(type: string, message: string, retryAfterSecs: number) {
  const body = JSON.stringify({ error: { type, message } });
  return {
    response: () => new Response(body, { status: 503, headers: { 'content-type': 'application/json', 'retry-after': String(retryAfterSecs) } }),
    raw: `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: ${retryAfterSecs}\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  };
}

export class ConnectionGuard {
  readonly limits: ConnectionLimits;
  /** Unsent answers: the server's and each client's (half). */
  readonly budget: SharedBudget;
  readonly #open = new Map<Socket, Connection>();
  /** Open connections per client address. */
  readonly #perClient = new Map<string, number>();
  readonly #refused = new WeakSet<Socket>();
  #sweeper: NodeJS.Timeout | undefined;
  /** Refused connections still reading their 503. */
  #lingering = 0;

  constructor(limits: ConnectionLimits) {
    this.limits = limits;
    this.budget = new SharedBudget(limits.maxUnsentBytes);
  }

  get connections(): number {
    return this.#open.size;
  }

  /** Guards `server`'s connections; the request listener must be wrapped with `listener`. */
  attach(server: Server): void {
    // Before http's own listener: a refused socket never reaches a request handler.
    server.prependListener('connection', (socket: Socket) => this.#accept(socket));
    this.#sweeper ??= setInterval(() => this.#sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  /** Wraps a request listener: requests on refused or closed connections, or pipelined too deep, are not served. */
  listener(handle: (request: IncomingMessage, response: ServerResponse) => unknown) {
    return (request: IncomingMessage, response: ServerResponse) => {
      // A refused connection has its 503 on the way and closes after; nothing is served on it.
      if (this.#refused.has(request.socket)) return;
      const connection = this.#open.get(request.socket);
      if (request.socket.destroyed || !connection) {
        response.destroy();
        return;
      }
      if (connection.inProgress >= MAX_IN_PROGRESS_PER_CONNECTION) {
        this.#drop(connection);
        response.destroy();
        return;
      }
      connection.inProgress += 1;
      response.once('close', () => (connection.inProgress -= 1));
      return handle(request, response);
    };
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /**
   * A 503 for a request that arrives while unsent answers nearly fill the budget (after the
   * connections stalled longest gave way), before any work is done for it; undefined when there is
   * room. Its answer's size is not known yet: a quarter of the budget must be free.
   */
  refuseEarly(outgoing: ServerResponse | undefined): Response | undefined {
    const connection = outgoing && this.#open.get(outgoing.socket as Socket);
    if (!connection) return undefined;
    const headroom = Math.max(SLICE_BYTES, Math.floor(this.budget.limit / 4));
    if (this.#fits(connection, headroom) || this.#makeRoom(connection, headroom)) return undefined;
    return this.#busy().response();
  }

  #fits(connection: Connection, bytes: number): boolean {
    return this.budget.fits(connection.client, bytes);
  }

  /**
   * The answer to send on `outgoing`'s connection, counted until it is sent: itself, sliced, or a
   * 503 when it cannot be held. Without a Node connection (an embedder's `fetch`), unchanged.
   */
  async admit(response: Response, outgoing: ServerResponse | undefined, streamed = false): Promise<Response> {
    const connection = outgoing && this.#open.get(outgoing.socket as Socket);
    // Nothing to count where the answer can no longer be sent (its client went away meanwhile).
    if (!connection || !response.body || !outgoing || outgoing.destroyed || connection.socket.destroyed) return response;
    // A `streamed` answer (or any event stream) goes out chunk by chunk as it comes.
    if (streamed || response.headers.get('content-type')?.startsWith('text/event-stream')) return this.#stream(connection, response, outgoing);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > this.limits.maxUnsentBytesPerConnection) {
      return refusal('busy', `The answer is ${bytes.byteLength} bytes, more than one connection may hold (${this.limits.maxUnsentBytesPerConnection}); ask for less (a smaller page)`, 0).response();
    }
    if (!this.#take(connection, bytes.byteLength)) return this.#busy().response();
    const headers = new Headers(response.headers);
    headers.set('content-length', String(bytes.byteLength));
    let held = bytes.byteLength;
    const release = () => {
      this.#give(connection, held);
      held = 0;
      connection.answers.delete(release);
    };
    connection.answers.add(release);
    outgoing.once('close', release);
    outgoing.once('finish', () => {
      connection.progressAt = Date.now();
      release();
    });
    if (bytes.byteLength <= SLICE_BYTES) return new Response(bytes, { status: response.status, headers });
    // Slices are taken one at a time as the socket drains; the whole buffer stays counted until sent.
    let offset = 0;
    const body = new ReadableStream<Uint8Array>({
      pull: (controller) => {
        connection.progressAt = Date.now();
        if (offset >= bytes.byteLength) return controller.close();
        controller.enqueue(bytes.subarray(offset, offset + SLICE_BYTES));
        offset += SLICE_BYTES;
      },
      cancel: release,
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, headers });
  }

  /** An event stream, read as fast as it is written, its chunks queued here (and counted) until the socket takes them. */
  #stream(connection: Connection, response: Response, outgoing: ServerResponse): Response {
    const reader = response.body!.getReader();
    const queue: Uint8Array[] = [];
    let queued = 0;
    let stopped = false;
    let ended = false;
    let wake: (() => void) | undefined;
    const stop = (why?: Error) => {
      if (stopped) return;
      stopped = true;
      this.#give(connection, queued);
      queue.length = 0;
      queued = 0;
      connection.answers.delete(stop);
      reader.cancel(why).catch(() => undefined);
      wake?.();
    };
    connection.answers.add(stop);
    outgoing.once('close', () => stop());
    void (async () => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (stopped) return;
          if (done) break;
          if (connection.reserved + value.byteLength > this.limits.maxUnsentBytesPerConnection || !this.#take(connection, value.byteLength)) {
            // The client is not keeping up: it can resume from its last event id on a new connection.
            this.#drop(connection);
            return;
          }
          queue.push(value);
          queued += value.byteLength;
          wake?.();
        }
      } catch {
        // The source failed or was cancelled: end what was sent.
      }
      ended = true;
      wake?.();
    })();
    const body = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        while (queue.length === 0 && !ended && !stopped) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        connection.progressAt = Date.now();
        const chunk = queue.shift();
        if (!chunk) return controller.close();
        queued -= chunk.byteLength;
        this.#give(connection, chunk.byteLength);
        controller.enqueue(chunk);
      },
      cancel: () => stop(),
    }, { highWaterMark: 0 });
    return new Response(body, { status: response.status, headers: response.headers });
  }

  #accept(socket: Socket): void {
    const client = addressKey(socket.remoteAddress);
    const mine = this.#perClient.get(client) ?? 0;
    const { maxConnections, maxConnectionsPerClient } = this.limits;
    if (this.#open.size >= maxConnections || mine >= maxConnectionsPerClient) {
      const why = this.#open.size >= maxConnections
        ? `the server has ${this.#open.size} connections open (at most ${maxConnections})`
        : `this client has ${mine} connections open (at most ${maxConnectionsPerClient} per client)`;
      this.#refused.add(socket);
      socket.on('error', () => undefined);
      // Under a flood, refusals must not hold fds: beyond a few at a time, closed without a word.
      if (this.#lingering >= MAX_LINGERING) {
        socket.destroy();
        return;
      }
      this.#lingering += 1;
      const timer = setTimeout(() => socket.destroy(), REFUSED_LINGER_MS).unref();
      socket.once('close', () => {
        this.#lingering -= 1;
        clearTimeout(timer);
      });
      socket.end(refusal('too-many-connections', `Connection refused: ${why}; close idle connections or retry later`, 5).raw);
      return;
    }
    const connection: Connection = { socket, client, reserved: 0, progressAt: Date.now(), lastPending: 0, answers: new Set(), inProgress: 0 };
    this.#open.set(socket, connection);
    this.#perClient.set(client, mine + 1);
    socket.once('close', () => {
      for (const release of [...connection.answers]) release();
      this.#open.delete(socket);
      const left = (this.#perClient.get(client) ?? 1) - 1;
      if (left > 0) this.#perClient.set(client, left);
      else this.#perClient.delete(client);
    });
  }

  #busy() {
    return refusal('busy', `The server is holding as many unsent bytes as it may (${this.limits.maxUnsentBytes}) for clients that have not read their answers; retry in a moment`, 1);
  }

  /** Takes `bytes` for `connection`, making room when the budget (or its client's half) is short. */
  #take(connection: Connection, bytes: number): boolean {
    if (!this.#fits(connection, bytes) && !this.#makeRoom(connection, bytes)) return false;
    this.budget.take(connection.client, bytes);
    connection.reserved += bytes;
    return true;
  }

  /**
   * Drops connections that stalled, the fullest first (its client's own when the client's half is
   * what is short), until `bytes` fit for `connection`; whether they do.
   */
  #makeRoom(connection: Connection, bytes: number): boolean {
    if (this.#fits(connection, bytes)) return true;
    const now = Date.now();
    const own = this.budget.shortage(connection.client, bytes) === 'client';
    const stalled = [...this.#open.values()]
      .filter((other) => other !== connection && other.reserved > 0 && now - other.progressAt >= STALLED_MS && (!own || other.client === connection.client))
      .sort((a, b) => b.reserved - a.reserved);
    for (const other of stalled) {
      this.#drop(other);
      if (this.#fits(connection, bytes)) return true;
    }
    return false;
  }

  #give(connection: Connection, bytes: number): void {
    if (bytes <= 0) return;
    connection.reserved -= bytes;
    this.budget.give(connection.client, bytes);
  }

  /** Closes a connection that does not read; what it held is given back at once. */
  #drop(connection: Connection): void {
    for (const release of [...connection.answers]) release(new Error('dropped: the client did not read'));
    connection.socket.destroy();
  }

  #sweep(): void {
    const now = Date.now();
    const timeoutMs = this.limits.writeTimeoutSecs * 1000;
    for (const connection of this.#open.values()) {
      const pending = connection.reserved + connection.socket.writableLength;
      if (pending === 0 || pending < connection.lastPending) connection.progressAt = now;
      connection.lastPending = pending;
      if (pending > 0 && now - connection.progressAt >= timeoutMs) this.#drop(connection);
    }
  }
}
