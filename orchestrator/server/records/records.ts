/**
 * Executions that outlive the process that ran them. With a record store (`store.ts`), each
 * execution id names where its records are (`ids.ts`); when it is created a start record says it
 * exists, which run holds it and since when; when it ends a final record holds its result and both
 * streams as held (up to the per-stream cap). Any process given the same store can then answer for
 * it: an ended one is restored exactly (same answers, same pages) and kept like its own; one still
 * running elsewhere is answered with its state and the run that holds it, never as unknown.
 *
 * Invariants: no answer waits for a write (`writer.ts` queues them); the output of waiting final
 * records is bounded (`maxPendingBytes`; beyond it a final record keeps the result but not the
 * output, and says so); one execution writes at most three records (start, started if it queued,
 * final), each within its cap; TTL and "expired" are judged from the record's own times; a
 * record store that cannot be read costs answers for other processes' executions only, with an
 * error that says so.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UnknownExecutionError, type Execution } from '../executions.js';
import { OutputStream } from '../stream.js';
import { decodeRecord, encodeRecord, finalBody, type DecodedRecord, type StartBody } from './codec.js';
import { newExecutionId, parseExecutionId, recordKey, type ParsedId } from './ids.js';
import { RecordsUnavailableError, type RecordStore } from './store.js';
import { RecordWriter, type WriteStats } from './writer.js';

export interface RecordsOptions {
  store: RecordStore;
  ttlSecs: number;
  streamCapBytes: number;
  /** Output bytes all final records waiting to be written may hold. */
  maxPendingBytes: number;
  now?: () => number;
}

export interface FindOptions {
  /** How long to wait for an execution running elsewhere to end (polling its record). */
  waitSecs?: number;
  signal?: AbortSignal;
}

export interface RecordStats extends WriteStats {
  /** Executions whose records are still being written. */
  pending: number;
  /** Final records written without their output (too much output was waiting to be written). */
  withoutOutput: number;
  /** Lookups answered from the store. */
  found: number;
}

/** Bytes of everything but the streams one final record may hold (the result, its binary values). */
const RESULT_PART_BYTES = 16 * 1024 * 1024;
/** Waits between reads of a record while an execution runs elsewhere. */
const POLL_MS = [500, 1000, 2000, 3000] as const;
/** The longest a script may run, for a record that never ended and says no limit. */
const LONGEST_SCRIPT_SECS = 3600;
/** Failed writes logged one by one before only every hundredth is. */
const LOGGED_FAILURES = 5;

/** How a process's own lifetime is told apart from a restart of the same run (a migration). */
const PROCESS_STARTED = Date.now() - Math.round(process.uptime() * 1000);

export class ExecutionRecords {
  readonly #store: RecordStore;
  readonly #writer: RecordWriter;
  readonly #ttlSecs: number;
  readonly #maxRecordBytes: number;
  readonly #maxPendingBytes: number;
  readonly #now: () => number;
  #pendingBytes = 0;
  readonly #stats = { withoutOutput: 0, found: 0 };
  /** State each recorded execution's start record says (to write again when a queued one starts). */
  readonly #recorded = new WeakMap<Execution, 'queued' | 'running'>();
  /** Start records queued but not yet made (they will say the state of when they are). */
  readonly #startPending = new WeakSet<Execution>();
  readonly #timeouts = new WeakMap<Execution, number | undefined>();

  constructor(options: RecordsOptions) {
    this.#store = options.store;
    this.#ttlSecs = options.ttlSecs;
    this.#maxRecordBytes = 2 * options.streamCapBytes + RESULT_PART_BYTES + 1024 * 1024;
    this.#maxPendingBytes = options.maxPendingBytes;
    this.#now = options.now ?? Date.now;
    const log = (line: string) => (options.store.log ? options.store.log(line) : void process.stderr.write(`${line}\n`));
    this.#writer = new RecordWriter({
      store: options.store,
      onError: (message) => {
        const failed = this.#writer.stats.failed;
        if (failed <= LOGGED_FAILURES || failed % 100 === 0) log(`code-runtime: ${message} (${failed} failed so far); this run still answers for its own executions`);
      },
    });
  }

  get stats(): RecordStats {
    return { ...this.#writer.stats, ...this.#stats, pending: this.#writer.pending };
  }

  /** A new execution id that names this process's record store. */
  readonly newId = (): string => newExecutionId(this.#store.home);

  /** The execution exists (it was accepted): its start record is queued. */
  created(execution: Execution, timeoutSecs?: number): void {
    const parsed = parseExecutionId(execution.id);
    if (!parsed) return;
    this.#timeouts.set(execution, timeoutSecs);
    this.#writeStart(execution, parsed);
  }

  /** A queued execution started: its start record says so, if it said queued. */
  started(execution: Execution): void {
    const parsed = parseExecutionId(execution.id);
    if (parsed && this.#recorded.get(execution) === 'queued' && !this.#startPending.has(execution)) this.#writeStart(execution, parsed);
  }

  #writeStart(execution: Execution, parsed: ParsedId): void {
    const key = recordKey(parsed.secret);
    this.#recorded.set(execution, execution.state === 'running' ? 'running' : 'queued');
    this.#startPending.add(execution);
    this.#writer.write(execution.id, key, async () => {
      this.#startPending.delete(execution);
      // Ended before its turn: the final record says everything.
      if (execution.state === 'ended') return undefined;
      const state = execution.state;
      this.#recorded.set(execution, state);
      const body: StartBody = {
        v: 1, kind: 'start', state, holder: this.#store.holder,
        createdAt: execution.createdAt.toISOString(), startedAt: execution.startedAt?.toISOString(), timeoutSecs: this.#timeouts.get(execution),
      };
      return encodeRecord(body, [], parsed.secret, key);
    });
  }

  /** The execution ended: its final record (result and streams) is queued. */
  ended(execution: Execution): void {
    const parsed = parseExecutionId(execution.id);
    // Never accepted (refused by the queue): nobody has its id.
    if (!parsed || !this.#recorded.has(execution)) return;
    const key = recordKey(parsed.secret);
    const outputBytes = execution.stdout.heldBytes + execution.stderr.heldBytes;
    const keepOutput = this.#pendingBytes + outputBytes <= this.#maxPendingBytes;
    const reserved = keepOutput ? outputBytes : 0;
    this.#pendingBytes += reserved;
    if (!keepOutput) this.#stats.withoutOutput += 1;
    this.#writer.write(execution.id, key, async () => {
      const { body, parts } = finalBody({
        holder: this.#store.holder,
        createdAt: execution.createdAt,
        startedAt: execution.startedAt,
        endedAt: execution.endedAt ?? new Date(this.#now()),
        result: execution.result,
        error: execution.error,
        streams: keepOutput ? { stdout: execution.stdout.snapshot(), stderr: execution.stderr.snapshot() } : undefined,
        maxPartBytes: this.#maxRecordBytes - outputBytes,
      });
      if (!keepOutput) body.dropped.push('its output: more output than this run may hold for writing was waiting to be written');
      return encodeRecord(body, parts, parsed.secret, key);
    }, { large: true, done: () => void (this.#pendingBytes -= reserved) });
  }

  /** Resolves once every queued write is done (true), or when `timeoutMs` has passed (false). */
  flush(timeoutMs: number): Promise<boolean> {
    return this.#writer.flush(timeoutMs);
  }

  /**
   * An execution this process does not hold, from its record: ended (restored; the caller may keep
   * it), running elsewhere (a snapshot with `heldBy`; polled for up to `waitSecs` first), or lost
   * (its run stopped before it ended). Throws UnknownExecutionError (no record, or expired) and
   * RecordsUnavailableError (the store cannot be read).
   */
  async find(id: string, options: FindOptions = {}): Promise<Execution> {
    const parsed = parseExecutionId(id);
    if (!parsed?.home) throw new UnknownExecutionError(id, false, this.#ttlSecs);
    const deadline = this.#now() + (options.waitSecs ?? 0) * 1000;
    let holderStopped = false;
    for (let attempt = 0; ; attempt += 1) {
      const record = await this.#read(id, parsed as Required<ParsedId>);
      this.#stats.found += 1;
      if (record.kind === 'final') return this.#restored(id, record);
      const body = record.body;
      const created = Date.parse(body.createdAt);
      if (created + ((body.timeoutSecs ?? LONGEST_SCRIPT_SECS) + this.#ttlSecs) * 1000 <= this.#now()) throw new UnknownExecutionError(id, true, this.#ttlSecs);
      if (body.holder === this.#store.holder) {
        // This run made it but does not hold it: the run restarted (a migration) while it ran ...
        if (created < PROCESS_STARTED) return this.#lost(id, body, `this run (${body.holder}) restarted while it ran (the platform moved it to another server)`);
        // ... or it ended and was let go before its final record was written: read that once it is
        // (and if that write failed, this run let it go: it has expired here).
        if (attempt > 0) throw new UnknownExecutionError(id, true, this.#ttlSecs);
        await this.#writer.written(id);
        continue;
      } else if (holderStopped) {
        return this.#lost(id, body, `run ${body.holder}, which ran it, stopped before it could save how it ended`);
      } else if (attempt === 0 && await this.#store.isRunning?.(body.holder).catch(() => undefined) === false) {
        // Read once more: its final record may have landed just before it stopped.
        holderStopped = true;
        continue;
      }
      const left = deadline - this.#now();
      if (left <= 0 || options.signal?.aborted) return this.#elsewhere(id, body);
      await sleep(Math.min(left, POLL_MS[Math.min(attempt, POLL_MS.length - 1)]!), undefined, { signal: options.signal }).catch(() => undefined);
    }
  }

  async #read(id: string, parsed: Required<ParsedId>): Promise<DecodedRecord> {
    const key = recordKey(parsed.secret);
    let sealed: Uint8Array | undefined;
    try {
      sealed = await this.#store.get(parsed.home, key);
    } catch (error) {
      throw new RecordsUnavailableError(`Execution ${JSON.stringify(id)} is not held by this run, and the key-value store holding its record (${parsed.home}) could not be read: ${(error as Error).message}. Executions started on this run still answer; ask again shortly`);
    }
    const unknown = () => {
      const error = new UnknownExecutionError(id, false, this.#ttlSecs);
      error.message = `No execution ${JSON.stringify(id)}: no run of this Actor has a record of it (the id is unknown, or the run that made it could not save its record)`;
      return error;
    };
    if (sealed === undefined) throw unknown();
    try {
      return await decodeRecord(sealed, parsed.secret, key, this.#maxRecordBytes + 64 * 1024);
    } catch {
      // Not sealed with this id's secret: for this id, there is no record.
      throw unknown();
    }
  }

  #restored(id: string, record: Extract<DecodedRecord, { kind: 'final' }>): Execution {
    const { body } = record;
    const endedAt = new Date(body.endedAt);
    if (endedAt.getTime() <= this.#now() - this.#ttlSecs * 1000) throw new UnknownExecutionError(id, true, this.#ttlSecs);
    const stream = (name: 'stdout' | 'stderr') => {
      const snapshot = record.streams?.[name];
      if (snapshot) return OutputStream.restore(snapshot);
      const empty = new OutputStream(1);
      empty.end();
      return empty;
    };
    const missing = body.dropped.length > 0 ? ` (its record lacks ${body.dropped.join('; ')})` : '';
    return ended(id, {
      createdAt: new Date(body.createdAt),
      startedAt: body.startedAt ? new Date(body.startedAt) : undefined,
      endedAt,
      result: record.result && missing ? { ...record.result, statusMessage: `${record.result.statusMessage}${missing}` } : record.result,
      error: body.error,
      stdout: stream('stdout'),
      stderr: stream('stderr'),
    });
  }

  #lost(id: string, body: StartBody, why: string): Execution {
    const empty = () => {
      const stream = new OutputStream(1);
      stream.end();
      return stream;
    };
    return ended(id, {
      createdAt: new Date(body.createdAt),
      startedAt: body.startedAt ? new Date(body.startedAt) : undefined,
      endedAt: undefined,
      error: `${why}; what it printed and how it ended are lost. Run it again`,
      stdout: empty(),
      stderr: empty(),
    });
  }

  #elsewhere(id: string, body: StartBody): Execution {
    const empty = () => new OutputStream(1);
    return {
      id,
      client: 'elsewhere',
      state: body.state,
      createdAt: new Date(body.createdAt),
      startedAt: body.startedAt ? new Date(body.startedAt) : undefined,
      stdout: empty(),
      stderr: empty(),
      controller: new AbortController(),
      // Nothing more happens to this snapshot: waiting on it ends at once.
      done: Promise.resolve(),
      heldBy: body.holder,
    };
  }
}

/** An ended execution made from a record (a lost one has no `endedAt`: it is not kept, having no time to expire by). */
function ended(id: string, fields: Pick<Execution, 'createdAt' | 'startedAt' | 'endedAt' | 'result' | 'error' | 'stdout' | 'stderr'>): Execution {
  return { id, client: 'record', state: 'ended', ...fields, controller: new AbortController(), done: Promise.resolve() };
}
