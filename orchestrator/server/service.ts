/**
 * What every front door of the server calls: start a run as an execution (validated, then queued
 * fairly, then run through the runtime with its output captured whole), wait on it, page its
 * output, cancel it, and drain on shutdown. MCP and REST are thin translations of this; nothing
 * here knows about either.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { normalizeOptions } from '../run/options.js';
import { abortedResult } from '../run/run.js';
import { ExecutionStore, STORE_DEFAULTS, UnknownExecutionError, type Execution, type StoreOptions } from './executions.js';
import { ExecutionRecords, type FindOptions } from './records/records.js';
import type { RecordStore } from './records/store.js';
import { FairScheduler, QueueFullError } from './scheduler.js';
import { decodeInputFiles, inputBytes } from './files.js';
import { mib } from '../run/files.js';
import type { ServerRunOptions } from './schemas.js';
import type { Page, PageRequest } from './stream.js';
import type { RunResult } from '../../types/result.js';
import type { Runtime } from '../../types/runtime.js';

/** Listens to an execution's output as it is printed (MCP progress notifications). */
export type OutputWatcher = (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;

/** A caller's options with its input files decoded, as the run takes them. */
type RunnableOptions = Omit<ServerRunOptions, 'files'> & { files?: Record<string, Uint8Array> };

export class ShuttingDownError extends Error {
  override name = 'ShuttingDownError';
}

export interface ServiceOptions extends StoreOptions {
  runtime: Runtime;
  concurrency: number;
  maxQueue: number;
  /** The most memory one script may ask for, in MB. */
  maxMemoryMbytes?: number;
  /** Where executions are recorded so that other processes can answer for them (a Standby Actor's runs). */
  records?: RecordStore;
}

/** Bytes each RunResult keeps itself; the store keeps the whole streams, so this stays small. */
const RESULT_OUTPUT_BYTES = 64 * 1024;

/** How long a shutdown waits for execution records to be written (a platform stopping a run gives a few seconds). */
const RECORDS_FLUSH_MS = 10_000;

/** An ABORTED result's message when the server's shutdown, not a caller, stopped it. */
function shutdownResult(execution: Execution, result: RunResult): RunResult {
  if (execution.stoppedBy !== 'shutdown' || result.status !== 'ABORTED') return result;
  const statusMessage = execution.startedAt
    ? 'The server shut down while the script was running: it was stopped when the shutdown grace period ended. Run it again once the server is back'
    : 'The server shut down before the script started: it never ran. Run it again once the server is back';
  return { ...result, statusMessage };
}

export class ExecutionService {
  readonly store: ExecutionStore;
  /** Set when executions are recorded for other processes (`records/`). */
  readonly records: ExecutionRecords | undefined;
  readonly scheduler: FairScheduler;
  readonly #runtime: Runtime;
  readonly #maxMemoryMbytes: number | undefined;
  readonly #watchers = new Map<string, Set<OutputWatcher>>();
  #accepting = true;

  constructor(options: ServiceOptions) {
    this.#runtime = options.runtime;
    this.#maxMemoryMbytes = options.maxMemoryMbytes;
    const { ttlSecs = STORE_DEFAULTS.ttlSecs, streamCapBytes = STORE_DEFAULTS.streamCapBytes, memoryBudgetBytes = STORE_DEFAULTS.memoryBudgetBytes } = options;
    // Output waiting to be written may hold at most half the budget again (it is held by the store until then anyway).
    this.records = options.records && new ExecutionRecords({ store: options.records, ttlSecs, streamCapBytes, maxPendingBytes: Math.floor(memoryBudgetBytes / 2), now: options.now });
    this.store = new ExecutionStore({ ...options, newId: this.records?.newId, onEnded: this.records && ((execution) => this.records!.ended(execution)) });
    this.scheduler = new FairScheduler(options.concurrency, options.maxQueue);
  }

  /** The runtime scripts run in (its tools, for the docs). */
  get runtime(): Runtime {
    return this.#runtime;
  }

  get accepting(): boolean {
    return this.#accepting;
  }

  /** Validated options in, a queued (or started) execution out. Throws TypeError, QueueFullError, ShuttingDownError. */
  start(client: string, options: ServerRunOptions): Execution {
    if (!this.#accepting) throw new ShuttingDownError('The server is shutting down and takes no new scripts');
    const files = decodeInputFiles(options.files);
    // The library's own checks, too, so the server never accepts what a run would refuse.
    const normalized = normalizeOptions({ ...options, files, maxOutputBytes: RESULT_OUTPUT_BYTES });
    const most = this.#maxMemoryMbytes;
    if (most !== undefined && options.memoryMbytes !== undefined && options.memoryMbytes > most) {
      throw new TypeError(`Expected \`memoryMbytes\` to be at most ${most} on this server (what each of its script slots has), got ${options.memoryMbytes}`);
    }
    const held = inputBytes(files);
    this.#checkInputRoom(held);
    const execution = this.store.create(client, held);
    // Held only until the run starts: the files must not live as long as the execution is kept.
    let pending: RunnableOptions | undefined = { ...options, files };
    const task = () => {
      const run = pending;
      pending = undefined;
      return run ? this.#run(execution, run) : Promise.resolve();
    };
    const aborted = { ...normalized, files: [] };
    try {
      this.scheduler.submit(client, task);
    } catch (error) {
      pending = undefined;
      this.store.end(execution, { error: (error as Error).message });
      throw error;
    }
    this.records?.created(execution, normalized.timeoutSecs);
    execution.controller.signal.addEventListener('abort', () => {
      // Cancelled while waiting: it never starts, and says so as a run aborted before starting would.
      if (execution.state === 'queued' && this.scheduler.remove(client, task)) {
        pending = undefined;
        this.store.end(execution, { result: shutdownResult(execution, abortedResult(aborted)) });
      }
    }, { once: true });
    return execution;
  }

  /** Refuses input files the store's memory budget has no room for beside those of the runs already waiting or running. */
  #checkInputRoom(bytes: number): void {
    if (bytes === 0) return;
    let active = 0;
    for (const execution of this.store.active()) active += execution.inputBytes ?? 0;
    if (active + bytes > this.store.memoryBudgetBytes) {
      throw new QueueFullError(`The server already holds ${mib(active)} of input files for scripts waiting or running; with these ${mib(bytes)} it would pass its memory budget of ${mib(this.store.memoryBudgetBytes)}. Try again when some have finished`);
    }
  }

  async #run(execution: Execution, options: RunnableOptions): Promise<void> {
    if (execution.state !== 'queued') return;
    execution.state = 'running';
    execution.startedAt = new Date();
    this.records?.started(execution);
    try {
      const result = await this.#runtime.run({
        ...options,
        maxOutputBytes: RESULT_OUTPUT_BYTES,
        signal: execution.controller.signal,
        onOutput: (stream, chunk) => {
          execution[stream].append(chunk);
          for (const watcher of this.#watchers.get(execution.id) ?? []) watcher(stream, chunk);
        },
      });
      this.store.end(execution, { result: shutdownResult(execution, result) });
    } catch (error) {
      this.store.end(execution, { error: `The server could not run the script: ${(error as Error).message}` });
    } finally {
      this.#watchers.delete(execution.id);
    }
  }

  /** An execution this process holds; throws UnknownExecutionError. */
  get(id: string): Execution {
    return this.store.get(id);
  }

  /**
   * An execution held here, else (with a record store) from its record: ended ones are kept here
   * from then on, and one running elsewhere is polled for up to `waitSecs` and answered with
   * `heldBy`. Throws UnknownExecutionError, and RecordsUnavailableError when its record cannot be read.
   */
  async find(id: string, options: FindOptions = {}): Promise<Execution> {
    try {
      return this.store.get(id);
    } catch (error) {
      if (!(error instanceof UnknownExecutionError) || !this.records) throw error;
    }
    const execution = await this.records.find(id, options);
    this.store.adopt(execution);
    return execution;
  }

  /** Resolves when it ended or after `waitSecs`, whichever is first; `signal` stops the wait early. */
  async wait(execution: Execution, waitSecs: number, signal?: AbortSignal): Promise<void> {
    if (execution.state === 'ended' || waitSecs <= 0 || signal?.aborted) return;
    // Plain timers, not an aborted signal per wait: an AbortError costs a stack trace each time.
    let timer: NodeJS.Timeout | undefined;
    let stopEarly: (() => void) | undefined;
    try {
      await Promise.race([
        execution.done,
        new Promise<void>((resolve) => {
          timer = setTimeout(resolve, waitSecs * 1000);
          stopEarly = resolve;
          signal?.addEventListener('abort', stopEarly, { once: true });
        }),
      ]);
    } finally {
      clearTimeout(timer);
      if (stopEarly) signal?.removeEventListener('abort', stopEarly);
    }
  }

  /** Live output of a running execution; returns the function that stops watching. */
  watch(execution: Execution, watcher: OutputWatcher): () => void {
    if (execution.state === 'ended') return () => undefined;
    const set = this.#watchers.get(execution.id) ?? new Set();
    set.add(watcher);
    this.#watchers.set(execution.id, set);
    return () => set.delete(watcher);
  }

  page(execution: Execution, stream: 'stdout' | 'stderr', request: PageRequest): Page {
    return execution[stream].page(request);
  }

  cancel(execution: Execution): void {
    execution.controller.abort();
  }

  /**
   * Stops taking work; queued executions end ABORTED at once, running ones get `graceMs` to finish
   * and are then aborted (ABORTED, with what they printed, saying the server shut down). With a
   * record store, their records are written (for up to 10 s). Resolves when none is left and the
   * waiters those endings woke (tool calls, REST waits) have had their turn to answer, so a caller
   * that closes its transports next does not cut those answers off.
   */
  async drain(graceMs: number): Promise<void> {
    this.#accepting = false;
    const stop = (execution: Execution) => {
      if (execution.controller.signal.aborted) return;
      execution.stoppedBy = 'shutdown';
      execution.controller.abort();
    };
    const active = this.store.active();
    for (const execution of active) if (execution.state === 'queued') stop(execution);
    const allDone = Promise.all(active.map((execution) => execution.done));
    const timer = sleep(graceMs, undefined, { ref: false }).then(() => 'timeout' as const);
    if (await Promise.race([allDone.then(() => 'done' as const), timer]) === 'timeout') {
      for (const execution of this.store.active()) stop(execution);
    }
    await allDone;
    // What ended (aborted ones too, with their output so far) is recorded before the process goes.
    await this.records?.flush(RECORDS_FLUSH_MS);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
