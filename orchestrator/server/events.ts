/**
 * The event store that makes Streamable HTTP resumable: every message the SDK sends on an SSE stream
 * is kept here under an id (`<stream>~<n>`), so a client that lost the stream reconnects with
 * `Last-Event-ID` and gets what it missed. Bounded: all sessions share one byte budget (the events'
 * part of `maxBufferedBytes`), each session may hold at most `perSessionBytes`, and events older
 * than the TTL go; the oldest go first. A message larger than a session's share is sent but not
 * kept. Priming events (the empty one each stream starts with) and progress notifications are kept
 * as ids only, never replayed: progress is superseded by the answer and by get_output, and keeping
 * every one (up to 4 a second per call, 12 KB each) would churn the heap for nothing.
 */
import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

/** What an event costs besides its text (the record, its id, the queues' slots). */
const EVENT_OVERHEAD_BYTES = 96;

/** Messages already serialized on their way out (mcp-http.ts measures them), so they are not serialized again here. */
const serialized = new WeakMap<object, string>();

export function rememberJson(message: object, json: string): void {
  serialized.set(message, json);
}

export interface EventLimits {
  /** All sessions' events together. */
  maxBytes: number;
  perSessionBytes: number;
  ttlMs: number;
}

interface StoredEvent {
  owner: SessionEvents;
  streamId: string;
  seq: number;
  /** The message as sent; '' for a priming event. */
  json: string;
  bytes: number;
  at: number;
  gone: boolean;
}

/** A queue with O(1) shift (a head index, compacted now and then). */
class Queue<T> {
  #items: T[] = [];
  #head = 0;

  get size(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    const item = this.#items[this.#head];
    if (item === undefined) return undefined;
    this.#head += 1;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#items.length; i += 1) yield this.#items[i]!;
  }
}

/** Every session's events, oldest first, under one budget. */
export class EventLog {
  readonly limits: EventLimits;
  readonly #order = new Queue<StoredEvent>();
  #bytes = 0;
  #now: () => number;

  constructor(limits: EventLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.#now = now;
  }

  /** Bytes held by all sessions' events. */
  get bytes(): number {
    return this.#bytes;
  }

  /** A store for one session. */
  session(): SessionEvents {
    return new SessionEvents(this);
  }

  /** @internal Keeps `event`, first making room: expired events, then the oldest (its session's own when over its share). */
  add(event: StoredEvent): boolean {
    const { maxBytes, perSessionBytes } = this.limits;
    if (event.bytes > Math.min(maxBytes, perSessionBytes)) return false;
    this.#expire();
    while (event.owner.bytes + event.bytes > perSessionBytes && event.owner.evictOldest());
    while (this.#bytes + event.bytes > maxBytes && this.#order.size > 0) this.#evict(this.#order.shift());
    this.#order.push(event);
    this.#bytes += event.bytes;
    event.owner.bytes += event.bytes;
    return true;
  }

  /** @internal Marks an event gone and gives back its bytes (it leaves the queues lazily). */
  forget(event: StoredEvent): void {
    if (event.gone) return;
    event.gone = true;
    event.json = '';
    this.#bytes -= event.bytes;
    event.owner.bytes -= event.bytes;
  }

  #evict(event: StoredEvent | undefined): void {
    if (!event) return;
    if (!event.gone) event.owner.drop(event);
  }

  #expire(): void {
    const cutoff = this.#now() - this.limits.ttlMs;
    for (let head = this.#order.peek(); head && (head.gone || head.at <= cutoff); head = this.#order.peek()) this.#evict(this.#order.shift());
  }

  /** @internal */
  now(): number {
    return this.#now();
  }
}

/** One session's events, by stream; the SDK's `EventStore`. */
export class SessionEvents implements EventStore {
  readonly #log: EventLog;
  readonly #streams = new Map<string, Queue<StoredEvent>>();
  /** This session's kept events, oldest first (gone ones leave lazily). */
  readonly #order = new Queue<StoredEvent>();
  #seq = 0;
  /** @internal Bytes this session's kept events hold. */
  bytes = 0;

  constructor(log: EventLog) {
    this.#log = log;
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    return this.store(streamId, message);
  }

  /** `storeEvent`, at once: an id, and the message kept when it fits. A priming message is `{}`. */
  store(streamId: StreamId, message: JSONRPCMessage | Record<string, never>): EventId {
    this.#seq += 1;
    const replayed = 'jsonrpc' in message && !('method' in message && message.method === 'notifications/progress');
    const json = replayed ? serialized.get(message) ?? JSON.stringify(message) : '';
    const event: StoredEvent = { owner: this, streamId, seq: this.#seq, json, bytes: Buffer.byteLength(json) + streamId.length + EVENT_OVERHEAD_BYTES, at: this.#log.now(), gone: false };
    if (this.#log.add(event)) {
      const stream = this.#streams.get(streamId) ?? new Queue<StoredEvent>();
      stream.push(event);
      this.#streams.set(streamId, stream);
      this.#order.push(event);
    }
    return `${streamId}~${this.#seq}`;
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    const parsed = parse(eventId);
    return parsed && this.#streams.has(parsed.streamId) ? parsed.streamId : undefined;
  }

  async replayEventsAfter(lastEventId: EventId, { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> }): Promise<StreamId> {
    const parsed = parse(lastEventId);
    const stream = parsed && this.#streams.get(parsed.streamId);
    if (!parsed || !stream) throw new Error(`Unknown event id ${JSON.stringify(lastEventId.slice(0, 80))}`);
    // A copy: sending awaits, and new events may arrive meanwhile (they go to the live stream).
    const missed = [...stream].filter((event) => !event.gone && event.seq > parsed.seq && event.json);
    for (const event of missed) await send(`${event.streamId}~${event.seq}`, JSON.parse(event.json) as JSONRPCMessage);
    return parsed.streamId;
  }

  /** @internal Drops this session's oldest kept event; false when it kept none. */
  evictOldest(): boolean {
    for (let oldest = this.#order.shift(); oldest; oldest = this.#order.shift()) {
      if (oldest.gone) continue;
      this.drop(oldest);
      return true;
    }
    return false;
  }

  /** @internal Forgets an event, and its stream once empty. */
  drop(event: StoredEvent): void {
    this.#log.forget(event);
    const stream = this.#streams.get(event.streamId);
    if (!stream) return;
    while (stream.peek()?.gone) stream.shift();
    if (stream.size === 0) this.#streams.delete(event.streamId);
  }

  /** Everything this session kept goes (the session closed). */
  clear(): void {
    for (const stream of this.#streams.values()) for (const event of stream) this.#log.forget(event);
    this.#streams.clear();
    this.#order.clear();
  }
}

function parse(eventId: string): { streamId: string; seq: number } | undefined {
  const cut = eventId.lastIndexOf('~');
  const seq = Number(eventId.slice(cut + 1));
  return cut > 0 && Number.isSafeInteger(seq) ? { streamId: eventId.slice(0, cut), seq } : undefined;
}
