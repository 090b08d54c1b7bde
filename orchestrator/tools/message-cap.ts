/**
 * A bound on one message from an upstream MCP server, on both transports, before the SDK holds it:
 * the SDK's stdio transport keeps a message until its newline (and closes the connection past 10
 * MiB), and its HTTP transport reads a JSON answer or an SSE event whole, however large. Here a
 * message is held up to `limit` bytes at most: past it, it is dropped as it arrives and, where the
 * request it answers can be told (an HTTP request's body names it; a stdio message names it at its
 * start or end), that request gets a JSON-RPC error of code `MESSAGE_TOO_LARGE` instead, so one
 * oversized answer fails one call and the connection, shared by every run, stays up. A stdio
 * message over the limit that names no id answers nothing that can be told: the connection is
 * then closed, saying why.
 */
import { deserializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** The JSON-RPC error code (implementation-defined range) of an answer the orchestrator cut off. */
export const MESSAGE_TOO_LARGE = -32091;

const MiB = 1024 * 1024;

type Id = string | number;

function tooLarge(id: Id, limit: number): JSONRPCMessage {
  return {
    jsonrpc: '2.0', id,
    error: { code: MESSAGE_TOO_LARGE, message: `the tool server answered with more than ${limit / MiB} MiB in one message`, data: { limitBytes: limit } },
  } as JSONRPCMessage;
}

/** The ids of the requests an HTTP POST body carries (one message or a batch). */
function requestIds(body: unknown): Id[] {
  if (typeof body !== 'string') return [];
  try {
    const parsed = JSON.parse(body) as unknown;
    const messages = Array.isArray(parsed) ? parsed : [parsed];
    return messages.filter((m): m is { id: Id; method: string } => m !== null && typeof m === 'object' && 'method' in m
      && (typeof (m as { id?: unknown }).id === 'string' || typeof (m as { id?: unknown }).id === 'number')).map((m) => m.id);
  } catch {
    return [];
  }
}

/** A JSON answer read up to `limit` bytes; undefined (and the rest cancelled) past it. */
async function readCapped(body: ReadableStream<Uint8Array>, limit: number): Promise<Uint8Array | undefined> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

const LF = 0x0a;
/** Of each SSE line, the bytes kept to read an `id:` field. */
const ID_LINE_BYTES = 300;
const CR = 0x0d;
const ENCODER = new TextEncoder();

/**
 * An SSE stream passed on event by event: each event's bytes are held until its blank line (the
 * SDK's parser dispatches nothing sooner) and passed on whole, unless they pass `limit`. Then, on
 * a request's stream, its `id:` (so a resumed stream starts after it) and the error for each
 * request it answers go in its place and the stream ends there (nothing more of it is read); on the
 * standalone stream (no request) the event is dropped up to its end and the stream goes on.
 */
function sseCap(limit: number, ids: readonly Id[]): TransformStream<Uint8Array, Uint8Array> {
  let held: Uint8Array[] = [];
  /** Bytes of the event so far (its line ends not counted). */
  let eventBytes = 0;
  /** Bytes of the line so far (0 at a line's start), its first bytes, and whether the last byte was a CR. */
  let lineBytes = 0;
  let lineHead: number[] = [];
  let lastWasCr = false;
  /** The event's last `id:` so far. */
  let eventId: string | undefined;
  /** Whether the event now under way is over the limit, and dropped. */
  let dropping = false;
  const replacement = (id: string | undefined) => ENCODER.encode(
    ids.map((request) => `${id === undefined ? '' : `id: ${id}\n`}data: ${JSON.stringify(tooLarge(request, limit))}\n\n`).join('')
    || (id === undefined ? '' : `id: ${id}\ndata: {}\n\n`));
  return new TransformStream({
    transform(chunk, controller) {
      let from = 0;
      for (let i = 0; i < chunk.length; i += 1) {
        const byte = chunk[i]!;
        // `\r\n` is one line end; a lone `\r` or `\n` ends a line too (SSE allows all three).
        const crlf = byte === LF && lastWasCr;
        lastWasCr = byte === CR;
        if (crlf) {
          // The LF of a CRLF that ended an event is that event's, already passed on (or dropped).
          if (from === i) from = i + 1;
          continue;
        }
        if (byte !== LF && byte !== CR) {
          lineBytes += 1;
          if (lineHead.length < ID_LINE_BYTES) lineHead.push(byte);
          eventBytes += 1;
          if (eventBytes > limit && !dropping) {
            held = [];
            if (ids.length > 0) {
              // A request's answer: its error now, and nothing more is read of what this stream still sends.
              controller.enqueue(replacement(eventId));
              controller.terminate();
              return;
            }
            // The standalone stream, which lives on: this event is dropped up to its end.
            dropping = true;
          }
          continue;
        }
        const blank = lineBytes === 0;
        if (!blank && lineHead[0] === 0x69 && lineHead[1] === 0x64 && lineHead[2] === 0x3a) {
          eventId = Buffer.from(lineHead.slice(3)).toString('utf8').replace(/^ /, '');
        }
        lineBytes = 0;
        lineHead = [];
        if (!blank) continue;
        // The event ends here: passed on whole (what was held, then this chunk up to here), or replaced.
        if (dropping) {
          controller.enqueue(replacement(eventId));
          dropping = false;
        } else {
          for (const part of held) controller.enqueue(part);
          controller.enqueue(chunk.subarray(from, i + 1));
        }
        held = [];
        eventBytes = 0;
        eventId = undefined;
        from = i + 1;
      }
      if (!dropping && from < chunk.length) held.push(chunk.subarray(from));
    },
    flush(controller) {
      // A stream that ends mid-event: what was held goes on as it would have (the parser drops it).
      for (const part of held) controller.enqueue(part);
    },
  });
}

/**
 * `fetch` for the SDK's Streamable HTTP transport that never lets one message past `limit`: a JSON
 * answer over it becomes the error for the requests it answers, an SSE event over it is replaced (above).
 */
export function cappedFetch(limit: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const response = await base(input, init);
    const type = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
    if (!response.body || (type !== 'application/json' && type !== 'text/event-stream')) return response;
    const ids = requestIds(init?.body);
    const headers = new Headers(response.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    const init2 = { status: response.status, statusText: response.statusText, headers };
    if (type === 'text/event-stream') return new Response(response.body.pipeThrough(sseCap(limit, ids)), init2);
    const declared = Number(response.headers.get('content-length') ?? '0');
    const bytes = declared > limit ? (await response.body.cancel(), undefined) : await readCapped(response.body, limit);
    if (bytes) return new Response(bytes, init2);
    const errors = ids.map((id) => tooLarge(id, limit));
    // Nothing to answer in its place (no request id): an empty answer, which the SDK reports as unreadable.
    return new Response(errors.length === 1 ? JSON.stringify(errors[0]) : errors.length > 1 ? JSON.stringify(errors) : '', init2);
  };
}

/** `{"jsonrpc":"2.0","id":7,…` or `…,"id":"x"}`: where a stdio message names its id, if it does at either end. */
const ID_AT_START = /^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")/;
const ID_AT_END = /"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.){0,200}")\s*\}\s*$/;
/** Bytes of an oversized line's start and end kept to find its id. */
const ENDS_KEPT = 512;

function idOf(head: string, tail: string): Id | undefined {
  const found = ID_AT_START.exec(head)?.[1] ?? ID_AT_END.exec(tail)?.[1];
  if (found === undefined) return undefined;
  try {
    return JSON.parse(found) as Id;
  } catch {
    return undefined;
  }
}

/**
 * The stdio transport's read buffer (the SDK's ReadBuffer contract: append, readMessage, clear)
 * with a bound per message: a line over `limit` is dropped as it arrives, and the request it
 * answers gets the error instead; one that names no id throws (the SDK then closes the
 * connection), with `onUnanswerable`'s words. Lines are joined once, at their end (the SDK's joins
 * its whole buffer on every chunk).
 */
export class CappedLineBuffer {
  readonly #limit: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  readonly #ready: Array<Buffer | JSONRPCMessage> = [];
  /** While an oversized line is being dropped: its start, and its last bytes so far. */
  #dropping: { head: string; tail: Buffer } | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  append(chunk: Buffer): void {
    let from = 0;
    for (let at = chunk.indexOf(LF); ; at = chunk.indexOf(LF, from)) {
      const piece = chunk.subarray(from, at < 0 ? chunk.length : at);
      this.#take(piece);
      if (at < 0) return;
      this.#endLine();
      from = at + 1;
    }
  }

  readMessage(): JSONRPCMessage | null {
    const next = this.#ready.shift();
    if (next === undefined) return null;
    if (!Buffer.isBuffer(next)) return next;
    return deserializeMessage(next.toString('utf8').replace(/\r$/, ''));
  }

  clear(): void {
    this.#parts = [];
    this.#partBytes = 0;
    this.#ready.length = 0;
    this.#dropping = undefined;
  }

  #take(piece: Buffer): void {
    if (piece.length === 0) return;
    if (this.#dropping) {
      this.#dropping.tail = Buffer.concat([this.#dropping.tail, piece]).subarray(-ENDS_KEPT);
      return;
    }
    if (this.#partBytes + piece.length <= this.#limit) {
      this.#parts.push(piece);
      this.#partBytes += piece.length;
      return;
    }
    // Only its two ends are kept, to find its id.
    const all = [...this.#parts, piece];
    const first: Buffer[] = [];
    for (let i = 0, kept = 0; i < all.length && kept < ENDS_KEPT; i += 1) {
      first.push(all[i]!);
      kept += all[i]!.length;
    }
    const last: Buffer[] = [];
    for (let i = all.length - 1, kept = 0; i >= 0 && kept < ENDS_KEPT; i -= 1) {
      last.unshift(all[i]!);
      kept += all[i]!.length;
    }
    const head = Buffer.concat(first).subarray(0, ENDS_KEPT);
    const tail = Buffer.concat(last).subarray(-ENDS_KEPT);
    this.#dropping = { head: head.toString('utf8'), tail: Buffer.from(tail) };
    this.#parts = [];
    this.#partBytes = 0;
  }

  #endLine(): void {
    const dropped = this.#dropping;
    if (dropped) {
      this.#dropping = undefined;
      const id = idOf(dropped.head, dropped.tail.toString('utf8'));
      if (id === undefined) throw new Error(`the tool server sent a message of more than ${this.#limit / MiB} MiB that names no request`);
      this.#ready.push(tooLarge(id, this.#limit));
      return;
    }
    if (this.#partBytes === 0 && this.#parts.length === 0) return;
    this.#ready.push(this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#partBytes));
    this.#parts = [];
    this.#partBytes = 0;
  }
}
