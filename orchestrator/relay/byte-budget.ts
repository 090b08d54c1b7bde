/**
 * Bytes the relay holds for request bodies, counted per run and for the whole process: a run takes
 * bytes as they arrive and gives them back when its request ends. `take` checks the run's share
 * and the process's total in one synchronous step, so concurrent requests cannot overshoot.
 */

export class ByteBudget {
  #used = 0;

  /** `whose` names the budget in refusals, e.g. `this run's`. */
  constructor(readonly limit: number, readonly whose: string, readonly parent?: ByteBudget) {}

  get used(): number {
    return this.#used;
  }

  /** Takes `n` bytes here and in the parent; when either has no room, takes nothing and returns that one. */
  take(n: number): ByteBudget | undefined {
    if (this.#used + n > this.limit) return this;
    const full = this.parent?.take(n);
    if (full) return full;
    this.#used += n;
    return undefined;
  }

  give(n: number): void {
    this.#used -= n;
    this.parent?.give(n);
  }
}
