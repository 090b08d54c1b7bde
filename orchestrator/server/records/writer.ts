/**
 * Writes records off the hot path. Nothing here is awaited by an answer: a write is queued and its
 * bytes are made only when its turn comes (so an execution that ended meanwhile skips its start
 * record). One execution's writes go in order (its final record never lands before its start
 * record); small and large records have their own limits on writes in flight, so a large output
 * never holds up the small records behind it. A failed write is counted and reported, never thrown:
 * a store that is down costs answers from other processes only.
 */
import pLimit from 'p-limit';
import type { RecordStore } from './store.js';

export interface WriteStats {
  /** Records written, and their bytes as stored. */
  written: number;
  bytes: number;
  /** Writes the store refused or that failed. */
  failed: number;
  /** Start records not written because the execution had already ended. */
  skipped: number;
}

export interface WriterOptions {
  store: RecordStore;
  /** Told of each failed write (the caller decides how much of it to log). */
  onError: (message: string) => void;
}

/** Start records in flight at once; final records (which may carry megabytes of output) in flight at once. */
const SMALL_WRITES = 4;
const LARGE_WRITES = 2;

export class RecordWriter {
  readonly stats: WriteStats = { written: 0, bytes: 0, failed: 0, skipped: 0 };
  readonly #store: RecordStore;
  readonly #onError: WriterOptions['onError'];
  readonly #small = pLimit(SMALL_WRITES);
  readonly #large = pLimit(LARGE_WRITES);
  /** Each execution's last queued write, so the next one follows it. */
  readonly #chains = new Map<string, Promise<void>>();

  constructor(options: WriterOptions) {
    this.#store = options.store;
    this.#onError = options.onError;
  }

  /** Writes in flight or waiting. */
  get pending(): number {
    return this.#chains.size;
  }

  /**
   * Queues a write of `key` after `chain`'s earlier ones. `make` gives the bytes when its turn comes,
   * or undefined to skip it; `done` runs once it is over, however it went.
   */
  write(chain: string, key: string, make: () => Promise<Uint8Array | undefined>, options: { large?: boolean; done?: () => void } = {}): void {
    const limit = options.large ? this.#large : this.#small;
    const previous = this.#chains.get(chain) ?? Promise.resolve();
    const next = previous.then(() => limit(async () => {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await make();
        if (bytes === undefined) {
          this.stats.skipped += 1;
          return;
        }
        await this.#store.put(key, bytes);
        this.stats.written += 1;
        this.stats.bytes += bytes.byteLength;
      } catch (error) {
        this.stats.failed += 1;
        this.#onError(`could not save execution record ${key}${bytes ? ` (${bytes.byteLength} bytes)` : ''}: ${(error as Error).message}`);
      } finally {
        options.done?.();
      }
    }));
    this.#chains.set(chain, next);
    // The chain is forgotten once its last write is over.
    void next.then(() => {
      if (this.#chains.get(chain) === next) this.#chains.delete(chain);
    });
  }

  /** Resolves once `chain`'s queued writes are over (at once when none are). */
  async written(chain: string): Promise<void> {
    await this.#chains.get(chain);
  }

  /** Resolves true once every queued write is over, or false when `timeoutMs` passes first. */
  async flush(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      while (this.#chains.size > 0) {
        const all = Promise.allSettled([...this.#chains.values()]).then(() => true as const);
        if (!await Promise.race([all, timeout])) return false;
      }
      return true;
    } finally {
      clearTimeout(timer);
    }
  }
}
