/**
 * A byte budget: what the server may hold for clients that have not taken it yet. `take` either
 * fits or refuses (it never goes over); `give` returns what was taken. One budget per kind of
 * holding (unsent answers, stored stream events), sized from `maxBufferedBytes`.
 */
export class ByteBudget {
  readonly limit: number;
  #used = 0;

  constructor(limit: number) {
    this.limit = limit;
  }

  get used(): number {
    return this.#used;
  }

  take(bytes: number): boolean {
    if (this.#used + bytes > this.limit) return false;
    this.#used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.#used = Math.max(0, this.#used - bytes);
  }
}

/** How `maxBufferedBytes` is shared: most for unsent answers, a quarter for stream events kept for resuming. */
export function splitBuffered(maxBufferedBytes: number): { answers: number; events: number } {
  const events = Math.floor(maxBufferedBytes / 4);
  return { answers: maxBufferedBytes - events, events };
}
