/**
 * Warm sandbox processes: children started ahead of time with one fixed command, each waiting for
 * its envelope on stdin. A child is handed out once and never comes back. The pool refills in the
 * background (after the taken child's run), never holds more than its size, backs off when children
 * die before use, and neither its idle children nor its timers keep the Node process alive.
 */
import { spawnChild, type SandboxChild } from '../run/child.js';
import type { Sandbox } from '../run/run.js';
import type { SandboxCommand } from '../run/sandbox.js';

export interface PoolOptions {
  /** Idle children to keep, at most. */
  size: number;
  /** What every child is started with; only runs needing exactly this get one. */
  sandbox: Pick<Sandbox, 'command' | 'cwd'>;
  /** How a child is started (tests swap it). Default: `spawnChild`. */
  spawn?: (command: SandboxCommand, cwd: string) => SandboxChild;
  /**
   * Whether starting a child ahead of time helps now (default: always). The runtime says no while
   * its running scripts alone fill the CPU's cores: a refill alongside would only put more processes
   * on them than they can run, costing CPU (`refill()` tries again as runs end).
   */
  worthFilling?: () => boolean;
}

/** First wait after a child died unused; doubles per further failure, up to the maximum. */
const BACKOFF_MS = { first: 100, max: 10_000 };

export function sameCommand(a: SandboxCommand, b: SandboxCommand): boolean {
  return a.file === b.file && a.dataLimitBytes === b.dataLimitBytes && a.args.length === b.args.length && a.args.every((arg, i) => arg === b.args[i])
    && Object.keys(a.env).length === Object.keys(b.env).length && Object.entries(a.env).every(([k, v]) => b.env[k] === v);
}

export class WarmPool {
  readonly #size: number;
  readonly #sandbox: Pick<Sandbox, 'command' | 'cwd'>;
  readonly #spawn: (command: SandboxCommand, cwd: string) => SandboxChild;
  readonly #worthFilling: () => boolean;
  readonly #idle = new Set<SandboxChild>();
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #refill: NodeJS.Immediate | undefined;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#size = options.size;
    this.#sandbox = options.sandbox;
    this.#spawn = options.spawn ?? spawnChild;
    this.#worthFilling = options.worthFilling ?? (() => true);
    this.#fill();
  }

  /** A warm child for a run that needs `command`, or undefined (the run then starts its own). */
  take(command: SandboxCommand): SandboxChild | undefined {
    if (this.#closed || !sameCommand(command, this.#sandbox.command)) return undefined;
    for (const child of this.#idle) {
      this.#idle.delete(child);
      if (child.exited) continue;
      // It lived until it was needed: children start fine again.
      this.#failures = 0;
      // Replaced once its run is over, so the new child's start-up never competes with that run.
      void child.ended.then(() => this.#scheduleFill());
      return child;
    }
    return undefined;
  }

  /** Tops the pool up in the background if it is worth it now (the runtime calls this as runs end). */
  refill(): void {
    if (this.#idle.size < this.#size) this.#scheduleFill();
  }

  /** Kills every idle child and stops refilling; resolves once they are gone. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    if (this.#refill) clearImmediate(this.#refill);
    const children = [...this.#idle];
    this.#idle.clear();
    for (const child of children) {
      // Held again so Node waits for the exits that close() promises.
      child.hold(true);
      child.kill();
    }
    await Promise.all(children.map((child) => child.ended));
  }

  #scheduleFill(): void {
    if (this.#closed || this.#refill || this.#retry) return;
    this.#refill = setImmediate(() => {
      this.#refill = undefined;
      if (this.#worthFilling()) this.#fill();
    }).unref();
  }

  #fill(): void {
    while (!this.#closed && !this.#retry && this.#idle.size < this.#size) {
      const child = this.#spawn(this.#sandbox.command, this.#sandbox.cwd);
      child.hold(false);
      this.#idle.add(child);
      void child.ended.then(() => this.#diedIdle(child));
    }
  }

  /** A child ended: if it was still idle it died unused, so wait before starting more. */
  #diedIdle(child: SandboxChild): void {
    if (!this.#idle.delete(child) || this.#closed) return;
    this.#failures += 1;
    const delay = Math.min(BACKOFF_MS.first * 2 ** (this.#failures - 1), BACKOFF_MS.max);
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#fill();
    }, delay).unref();
  }
}
