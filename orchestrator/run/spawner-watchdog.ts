/**
 * How the orchestrator tells a hung spawner from a busy event loop. Every check here is judged in
 * the loop's own time: when it comes due, two more polls first read what arrived while Node was
 * blocked (a `pong`, a child's `exit`), so an embedder that blocks its loop never makes a healthy
 * spawner look hung. `Probe` asks the spawner whether it is alive; a killed child whose end is
 * overdue asks through it (spawned-child.ts), and no answer kills the spawner with its children.
 */
import { say } from './spawner-protocol.js';

/** How long a killed child may take to be reported dead before the spawner is asked whether it is alive, and how long it has to answer. */
export const KILL_ANSWER_MS = 3000;

/** Runs `fn` after two more turns of the event loop: what arrived while it was blocked is read first. */
export function afterPolls(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** A `ping` to the spawner, one at a time: whoever asks while one is out hears its `pong` too. */
export class Probe {
  readonly #send: (line: string) => void;
  readonly #silent: () => void;
  #out: { timer: NodeJS.Timeout; alive: Array<() => void> } | undefined;
  #pings = 0;

  /** `silent`: no answer within KILL_ANSWER_MS of event-loop time. */
  constructor(send: (line: string) => void, silent: () => void) {
    this.#send = send;
    this.#silent = silent;
  }

  /** Asks; `alive` hears the answer. `held`: the wait keeps Node's event loop alive. */
  ask(alive: () => void, held: boolean): void {
    if (this.#out) {
      this.#out.alive.push(alive);
      return;
    }
    this.#pings += 1;
    this.#send(say.ping(this.#pings));
    const timer = setTimeout(() => afterPolls(() => {
      if (this.#out?.timer === timer) this.#silent();
    }), KILL_ANSWER_MS);
    if (!held) timer.unref();
    this.#out = { timer, alive: [alive] };
  }

  /** The spawner's `pong`. */
  answered(): void {
    const out = this.#out;
    this.#out = undefined;
    clearTimeout(out?.timer);
    for (const alive of out?.alive ?? []) alive();
  }

  stop(): void {
    clearTimeout(this.#out?.timer);
    this.#out = undefined;
  }
}
