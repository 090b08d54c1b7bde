/**
 * The executions a server knows: each under an unguessable id, with its two whole streams and, once
 * ended, its result (its files and value too, counted in its cost). Finished executions are kept
 * for a TTL and within a memory budget (oldest finished evicted first); running and queued ones are
 * never evicted. An evicted id is remembered (a bounded number of them) so that asking for it says
 * "expired" rather than "unknown".
 */
import { newExecutionId } from './records/ids.js';
import { OutputStream } from './stream.js';
import { resultBytes } from './files.js';
import type { RunResult } from '../../types/result.js';

export type ExecutionState = 'queued' | 'running' | 'ended';

export interface Execution {
  id: string;
  /** Who started it: fair queueing is per client. */
  client: string;
  state: ExecutionState;
  createdAt: Date;
  startedAt?: Date;
  endedAt?: Date;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Set once it ended with a result. */
  result?: RunResult;
  /** Set when it ended without a result (an infrastructure failure). */
  error?: string;
  /** Bytes of input files it holds until it ends (counted against the budget while it waits or runs); none when unset. */
  inputBytes?: number;
  controller: AbortController;
  /** Set when the server's shutdown stopped it (its result then says so, not "aborted by the caller"). */
  stoppedBy?: 'shutdown';
  /** Set when another run holds it (an answer from its record, `records/`): that run's id. */
  heldBy?: string;
  /** Resolves when it ends. */
  done: Promise<void>;
}

/** Still going on another run (known from its record): answered with where it runs, never cancelled here. */
export function runsElsewhere(execution: Execution): boolean {
  return execution.heldBy !== undefined && execution.state !== 'ended';
}

export const STORE_DEFAULTS = {
  streamCapBytes: 64 * 1024 ** 2,
  ttlSecs: 3600,
  memoryBudgetBytes: 512 * 1024 ** 2,
} as const;

/**
 * What a kept execution costs beyond its streams (its objects; measured ~2 KiB), counted in the
 * budget so that many runs printing nothing cannot pile up unbounded for the whole TTL.
 */
export const EXECUTION_OVERHEAD_BYTES = 4096;

/** Bytes a finished execution holds: its streams, the copy of their ends in its RunResult, its files and value, its objects. */
function cost(execution: Execution): number {
  const result = execution.result;
  const copies = result ? Buffer.byteLength(result.stdout) + Buffer.byteLength(result.stderr) : 0;
  return execution.stdout.heldBytes + execution.stderr.heldBytes + copies + resultBytes(result) + EXECUTION_OVERHEAD_BYTES;
}

/** Remembered evicted ids, so their 404 can say "expired". */
const EXPIRED_MEMORY = 10_000;

export interface StoreOptions {
  streamCapBytes?: number;
  ttlSecs?: number;
  memoryBudgetBytes?: number;
  /** Milliseconds since the epoch; tests move time. */
  now?: () => number;
  /** Makes ids (default: `exe_` and 24 random characters); a record store's ids say where its records are. */
  newId?: () => string;
  /** Told when an execution ends, whatever ended it (the record store writes its final record). */
  onEnded?: (execution: Execution) => void;
}

/** Thrown for an id the store does not have; `expired` says it had it once. */
export class UnknownExecutionError extends Error {
  override name = 'UnknownExecutionError';
  constructor(readonly id: string, readonly expired: boolean, ttlSecs: number) {
    super(expired
      ? `Execution ${JSON.stringify(id)} has expired: finished executions are kept for ${ttlSecs} s and within the server's memory budget`
      : `No execution ${JSON.stringify(shorten(id))}: the id is unknown (finished executions are kept for ${ttlSecs} s)`);
  }
}

function shorten(id: string): string {
  return id.length > 64 ? `${id.slice(0, 64)}…` : id;
}

export class ExecutionStore {
  readonly streamCapBytes: number;
  readonly ttlSecs: number;
  readonly memoryBudgetBytes: number;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #onEnded: ((execution: Execution) => void) | undefined;
  /** In creation order, which is also the eviction order among finished ones. */
  readonly #executions = new Map<string, Execution>();
  readonly #expired = new Set<string>();
  /** Finished executions in the order they ended: eviction takes from the front. */
  readonly #finished = new Map<string, Execution>();
  /** Queued and running ones. */
  readonly #active = new Set<Execution>();
  /** Bytes the finished ones hold (`cost`; their streams no longer grow). */
  #finishedBytes = 0;
  /** Ending is recorded here so every path (result, failure, abort before start) wakes waiters alike. */
  readonly #settle = new WeakMap<Execution, () => void>();

  constructor(options: StoreOptions = {}) {
    this.streamCapBytes = options.streamCapBytes ?? STORE_DEFAULTS.streamCapBytes;
    this.ttlSecs = options.ttlSecs ?? STORE_DEFAULTS.ttlSecs;
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? STORE_DEFAULTS.memoryBudgetBytes;
    this.#now = options.now ?? Date.now;
    this.#newId = options.newId ?? (() => newExecutionId());
    this.#onEnded = options.onEnded;
  }

  create(client: string, inputBytes = 0): Execution {
    this.sweep();
    let settle!: () => void;
    const done = new Promise<void>((resolve) => {
      settle = resolve;
    });
    const execution: Execution = {
      id: this.#newId(),
      client,
      state: 'queued',
      createdAt: new Date(this.#now()),
      stdout: new OutputStream(this.streamCapBytes),
      stderr: new OutputStream(this.streamCapBytes),
      controller: new AbortController(),
      done,
      inputBytes,
    };
    this.#settle.set(execution, settle);
    this.#executions.set(execution.id, execution);
    this.#active.add(execution);
    return execution;
  }

  /** Marks it ended with a result or an error; wakes whoever waits on it. */
  end(execution: Execution, outcome: { result?: RunResult; error?: string }): void {
    if (execution.state === 'ended') return;
    execution.state = 'ended';
    execution.endedAt = new Date(this.#now());
    execution.result = outcome.result;
    execution.error = outcome.error;
    execution.inputBytes = 0;
    execution.stdout.end();
    execution.stderr.end();
    this.#active.delete(execution);
    this.#finished.set(execution.id, execution);
    this.#finishedBytes += cost(execution);
    this.#settle.get(execution)?.();
    this.#settle.delete(execution);
    this.#onEnded?.(execution);
    this.sweep();
  }

  /** Keeps an ended execution made elsewhere (restored from its record) as if it had ended here. */
  adopt(execution: Execution): void {
    if (execution.state !== 'ended' || !execution.endedAt || this.#executions.has(execution.id)) return;
    this.#executions.set(execution.id, execution);
    this.#finished.set(execution.id, execution);
    this.#finishedBytes += cost(execution);
    this.#expired.delete(execution.id);
    this.sweep();
  }

  get(id: string): Execution {
    this.sweep();
    const execution = this.#executions.get(id);
    // An adopted one may have ended before others kept after it: its own time decides.
    if (execution?.endedAt && execution.endedAt.getTime() <= this.#now() - this.ttlSecs * 1000) this.#evict(execution);
    else if (execution) return execution;
    throw new UnknownExecutionError(id, this.#expired.has(id), this.ttlSecs);
  }

  /** Everything not yet ended. */
  active(): Execution[] {
    return [...this.#active];
  }

  /** Bytes held by all executions: output, and each one's own cost. */
  heldBytes(): number {
    let running = 0;
    for (const execution of this.#active) running += execution.stdout.heldBytes + execution.stderr.heldBytes + (execution.inputBytes ?? 0) + EXECUTION_OVERHEAD_BYTES;
    return this.#finishedBytes + running;
  }

  /** Evicts finished executions past their TTL, then the earliest finished while over the budget. O(evicted). */
  sweep(): void {
    const cutoff = this.#now() - this.ttlSecs * 1000;
    let over: boolean | undefined;
    for (const execution of this.#finished.values()) {
      const expired = execution.endedAt!.getTime() <= cutoff;
      // Only counted when the TTL does not decide, and then once per sweep.
      over ??= expired ? undefined : this.heldBytes() > this.memoryBudgetBytes;
      if (!expired && !over) break;
      this.#evict(execution);
      if (!expired) over = undefined;
    }
  }

  #evict(execution: Execution): void {
    const { id } = execution;
    this.#finished.delete(id);
    this.#finishedBytes -= cost(execution);
    this.#executions.delete(id);
    this.#expired.add(id);
    if (this.#expired.size > EXPIRED_MEMORY) this.#expired.delete(this.#expired.values().next().value!);
  }
}
