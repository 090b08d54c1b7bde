/**
 * Request bodies while the server receives and parses them. Each counts against the server's budget
 * for bodies (`maxBodiesBytes`) and its client's share (half; clients.ts says who a client is) from
 * its first byte until its answer is done, since the parsed request lives as long. A body declared
 * (Content-Length) over the per-request limit is refused before a byte of it is read (413); a
 * declared body is counted whole before it is read, so one that cannot fit is refused at once (429
 * when its client's share is full, 503 when the server's budget is), never half-read; a chunked one
 * is counted as it arrives and refused when it passes the limit or finds no room. Bodies over 1 MiB
 * leave the last eighth of the budget to smaller ones, so uploads cannot starve ordinary calls. A
 * body that receives nothing for `readTimeoutSecs` is dropped (408); when the budget is short,
 * bodies still arriving that stalled (nothing for a second) or cannot finish before the request
 * timeout at their pace give way (503), the client's own first when its share is what is short,
 * and a chunked body that finds no room takes it from chunked bodies begun after it (so that
 * chunked uploads racing for the last room end with the earliest done, never with all refused).
 * Every refusal closes the connection (an unread body is never drained) and says what is allowed;
 * at `/mcp` it is a JSON-RPC error. Invariant: every byte taken is given back exactly once.
 */
import type { ServerResponse } from 'node:http';
import type { Context, Next } from 'hono';
import { RUN_OPTIONS } from '../run/option-table.js';
import { SharedBudget, type Shortage } from './budget.js';
import { rpcErrorBody } from './accept.js';
import { STALLED_MS } from './connections.js';
import { FILES_BODY_BYTES } from './files.js';
import { errorBody } from './rest.js';

/** The largest request a caller needs: the longest script JSON-escaped at up to 4 bytes a character, the input files in base64 (`./files.ts`), room for the other fields. */
export const MAX_REQUEST_BODY_BYTES = RUN_OPTIONS.code.maxLength * 4 + FILES_BODY_BYTES + 64 * 1024;
/** How long a whole request (headers and body) may take to arrive; Node's `requestTimeout`. */
export const REQUEST_TIMEOUT_MS = 120_000;
/** Bodies larger than this leave the budget's last eighth to smaller ones. */
const SMALL_BODY_BYTES = 1024 * 1024;
const SWEEP_MS = 500;
const RETRY_AFTER_SECS = 1;
const MiB = 1024 * 1024;

export interface BodyLimits {
  /** Bytes of request bodies held at once, in all (`maxBodiesBytes`). */
  maxBytes: number;
  readTimeoutSecs: number;
}

/** The most one request may send: the largest a caller needs, or its client's share when that is less. */
export function requestBodyLimit(maxBodiesBytes: number): number {
  return Math.min(MAX_REQUEST_BODY_BYTES, Math.floor(maxBodiesBytes / 2));
}

interface Refusal {
  status: 408 | 413 | 429 | 503;
  type: 'request-timeout' | 'payload-too-large' | 'busy';
  message: string;
  retryAfterSecs?: number;
}

interface Body {
  client: string;
  /** Its place in arrival order. */
  order: number;
  /** Bytes taken from the budget for it. */
  held: number;
  /** Its Content-Length, when it has one. */
  declared?: number;
  received: number;
  startedAt: number;
  /** When its last byte arrived (or it started). */
  lastAt: number;
  /** Set when it was dropped: the answer. */
  refusal?: Refusal;
  /** Stops receiving it: the answer becomes `refusal`. */
  drop(refusal: Refusal): void;
}

const mib = (bytes: number) => `${Math.round((bytes / MiB) * 10) / 10} MiB`;

export class BodyGate {
  readonly budget: SharedBudget;
  /** The most one request may send. */
  readonly maxRequestBytes: number;
  readonly #readTimeoutMs: number;
  readonly #now: () => number;
  /** Bodies still arriving (those that may be dropped). */
  readonly #receiving = new Set<Body>();
  #arrivals = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(limits: BodyLimits, now: () => number = Date.now) {
    this.budget = new SharedBudget(limits.maxBytes);
    this.maxRequestBytes = requestBodyLimit(limits.maxBytes);
    this.#readTimeoutMs = limits.readTimeoutSecs * 1000;
    this.#now = now;
  }

  /** Bodies being received right now. */
  get receiving(): number {
    return this.#receiving.size;
  }

  start(): void {
    this.#sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    this.#sweeper.unref();
  }

  stop(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }

  /** Drops the bodies that received nothing for the read timeout. */
  sweep(): void {
    const now = this.#now();
    for (const body of [...this.#receiving]) {
      if (now - body.lastAt < this.#readTimeoutMs) continue;
      body.drop({
        status: 408, type: 'request-timeout',
        message: `The request body stopped arriving: nothing for ${Math.round((now - body.lastAt) / 1000)} s (${body.received} bytes of ${body.declared ?? 'a chunked body'} received); a body must keep arriving, with pauses under ${this.#readTimeoutMs / 1000} s`,
      });
    }
  }

  /** The middleware: a request's body is received here, counted, and handed on from memory. */
  middleware(clientOf: (c: Context) => string) {
    return async (c: Context, next: Next): Promise<Response | void> => {
      const raw = c.req.raw;
      if (!raw.body || raw.method === 'GET' || raw.method === 'HEAD') return next();
      const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
      const length = raw.headers.has('transfer-encoding') ? null : raw.headers.get('content-length');
      const declared = length === null ? undefined : Number(length);
      if (declared !== undefined && declared > this.maxRequestBytes) return this.#refuse(c, this.#tooLarge(`is ${declared} bytes`));
      const client = clientOf(c);
      const now = this.#now();
      let settle!: () => void;
      const dropped = new Promise<void>((resolve) => (settle = resolve));
      const body: Body = {
        client, order: this.#arrivals++, held: 0, declared, received: 0, startedAt: now, lastAt: now,
        drop: (refusal) => {
          body.refusal ??= refusal;
          settle();
        },
      };
      if (declared !== undefined && declared > 0) {
        const refusal = this.#take(body, declared);
        if (refusal) return this.#refuse(c, refusal);
      }
      const release = () => {
        this.#receiving.delete(body);
        this.budget.give(client, body.held);
        body.held = 0;
      };
      this.#receiving.add(body);
      const reader = raw.body.getReader();
      const chunks: Array<Uint8Array | undefined> = [];
      let refusal: Refusal | undefined;
      try {
        for (;;) {
          const read = await Promise.race([reader.read(), dropped]);
          // Dropped (even with a chunk in hand): nothing more is counted for it.
          refusal = body.refusal;
          if (refusal || !read || read.done) break;
          const chunk = read.value;
          body.received += chunk.byteLength;
          body.lastAt = this.#now();
          if (body.received > this.maxRequestBytes) {
            refusal = this.#tooLarge(`passed ${this.maxRequestBytes} bytes`);
            break;
          }
          // A chunked body (or one longer than it said, which Node does not let through) is counted as it comes.
          if (body.received > body.held) refusal = this.#take(body, body.received - body.held);
          if (refusal) break;
          chunks.push(chunk);
        }
      } catch (error) {
        // The client went away mid-body: nothing to answer.
        release();
        throw error;
      }
      this.#receiving.delete(body);
      if (refusal) {
        release();
        chunks.length = 0;
        // The rest is never read: the connection closes once the refusal is sent.
        const cancel = () => void reader.cancel().catch(() => undefined);
        if (outgoing && !outgoing.closed) outgoing.once('close', cancel);
        else cancel();
        return this.#refuse(c, refusal);
      }
      // Handed on from memory, each chunk let go once read: the parsed request is what stays.
      let index = 0;
      c.req.raw = new Request(raw, {
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            const chunk = chunks[index];
            if (index >= chunks.length || !chunk) return controller.close();
            chunks[index++] = undefined;
            controller.enqueue(chunk);
          },
        }, { highWaterMark: 0 }),
        duplex: 'half',
      } as RequestInit);
      if (!outgoing) {
        try {
          return await next();
        } finally {
          release();
        }
      }
      // Its client may have gone as the last byte came: then its answer is done already.
      if (outgoing.closed) release();
      else outgoing.once('close', release);
      return next();
    };
  }

  /** Takes `bytes` more for `body`, making room when the budget is short; the refusal when it cannot. */
  #take(body: Body, bytes: number): Refusal | undefined {
    const reserve = body.held + bytes > SMALL_BODY_BYTES ? Math.floor(this.budget.limit / 8) : 0;
    if (!this.budget.fits(body.client, bytes, reserve)) this.#makeRoom(body, bytes, reserve);
    const short = this.budget.shortage(body.client, bytes, reserve);
    if (short) return this.#busy(short, body, bytes);
    this.budget.take(body.client, bytes, reserve);
    body.held += bytes;
    return undefined;
  }

  /** Whether `body` is arriving too slowly to keep its place: stalled, or unable to finish before the request timeout at its pace. */
  #slow(body: Body, now: number): boolean {
    if (now - body.lastAt >= STALLED_MS) return true;
    const elapsed = now - body.startedAt;
    if (body.declared === undefined || elapsed < STALLED_MS) return false;
    return body.received + (body.received / elapsed) * (body.startedAt + REQUEST_TIMEOUT_MS - now) < body.declared;
  }

  /**
   * Drops bodies still arriving until `bytes` fit for `body` (only its client's own when its share
   * is what is short): slow ones, the largest first; then, for a chunked body, chunked ones begun
   * after it, the latest first.
   */
  #makeRoom(body: Body, bytes: number, reserve: number): void {
    const now = this.#now();
    const own = this.budget.shortage(body.client, bytes, reserve) === 'client';
    const others = [...this.#receiving].filter((other) => other !== body && other.held > 0 && (!own || other.client === body.client));
    const slow = others.filter((other) => this.#slow(other, now)).sort((a, b) => b.held - a.held);
    const later = body.declared !== undefined ? [] : others
      .filter((other) => other.declared === undefined && other.order > body.order && !slow.includes(other))
      .sort((a, b) => b.order - a.order);
    for (const other of [...slow, ...later]) {
      // Its bytes are given back at once: the room is there for this body now.
      this.#receiving.delete(other);
      this.budget.give(other.client, other.held);
      other.held = 0;
      const got = `${other.received} bytes of ${other.declared ?? 'a chunked body'} in ${Math.round((now - other.startedAt) / 100) / 10} s`;
      other.drop({
        status: 503, type: 'busy', retryAfterSecs: RETRY_AFTER_SECS,
        message: slow.includes(other)
          ? `The server needed room for other requests' bodies, and this one was arriving too slowly to keep its place (${got}); send it without pauses, or retry`
          : `The server needed room for a chunked body that began before this one (${got}); retry, or send a Content-Length so that the body's room is kept for it before it is sent`,
      });
      if (this.budget.fits(body.client, bytes, reserve)) return;
    }
  }

  #busy(short: Shortage, body: Body, bytes: number): Refusal {
    const size = body.declared === undefined ? `${body.held + bytes} bytes so far` : `${body.declared} bytes`;
    if (short === 'client') {
      return {
        status: 429, type: 'busy', retryAfterSecs: RETRY_AFTER_SECS,
        message: `This client's request bodies being received or answered already hold ${mib(this.budget.heldBy(body.client))}, and this body (${size}) would take them past ${mib(this.budget.perClient)}, one client's share (half of maxBodiesBytes / --max-bodies-mb); retry once an earlier request is answered`,
      };
    }
    return {
      status: 503, type: 'busy', retryAfterSecs: RETRY_AFTER_SECS,
      message: `The server is holding ${mib(this.budget.used)} of request bodies being received or answered, and this body (${size}) does not fit in ${mib(this.budget.limit)} (maxBodiesBytes / --max-bodies-mb; bodies over 1 MiB leave the last eighth to smaller ones); retry in a moment`,
    };
  }

  #tooLarge(what: string): Refusal {
    const files = `input files ${RUN_OPTIONS.maxFilesInBytes.default / MiB} MiB in base64`;
    const why = this.maxRequestBytes < MAX_REQUEST_BODY_BYTES ? `half of this server's maxBodiesBytes / --max-bodies-mb` : `code is at most ${RUN_OPTIONS.code.maxLength.toLocaleString('en-US')} characters, ${files}`;
    return { status: 413, type: 'payload-too-large', message: `The request body ${what}, over the ${this.maxRequestBytes} bytes one request may send (${why})` };
  }

  #refuse(c: Context, refusal: Refusal): Response {
    const headers: Record<string, string> = { connection: 'close' };
    if (refusal.retryAfterSecs !== undefined) headers['retry-after'] = String(refusal.retryAfterSecs);
    if (c.req.path === '/mcp') return c.json(rpcErrorBody(refusal.message), refusal.status, headers);
    return c.json(errorBody(refusal.type, refusal.message), refusal.status, headers);
  }
}
