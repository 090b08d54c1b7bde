/**
 * One sandbox process, used once. `spawnChild` starts it; it then waits for its envelope on stdin,
 * so it can be started ahead of time. `superviseChild` sends the envelope, collects stdout and stderr
 * into capped buffers, and enforces the limits from outside (SIGKILL at the deadline, counted from
 * the envelope, on a resident-memory overrun, or on abort). Records *why* it killed before killing,
 * and reports the exit facts; it never decides the run's status.
 */
import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { OutputBuffer } from './output.js';
import type { SandboxCommand } from './sandbox.js';
import type { OutputListener } from '../../types/options.js';

export type KillReason = 'timeout' | 'memory' | 'abort';

/** What one run asks of a started child. */
export interface SuperviseSpec {
  /** The envelope, written to stdin, which is then closed. */
  input: string;
  timeoutMs: number;
  /** Resident memory above which the child is killed. */
  rssLimitBytes: number;
  maxOutputBytes: number;
  onOutput?: OutputListener;
  signal?: AbortSignal;
  /** `performance.now()` when the run got its process (before spawning a fresh one); default: now. */
  startedAt?: number;
}

export interface ChildFacts {
  /** The process's exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it, e.g. `SIGKILL`. */
  signal: string | null;
  /** Set when the orchestrator killed it, and why. */
  killedFor?: KillReason;
  /** From `startedAt` (a fresh child: its spawn; a warm one: its envelope) to the exit. */
  durationMillis: number;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
}

const MEMORY_POLL_MS = 50;
const PAGE_BYTES = 4096;

/** Every child not yet ended, so that none outlives this process (see `killAllOnExit`). */
const live = new Set<SandboxChild>();
let exitHookInstalled = false;

/**
 * Kills every live child when this process exits. Placed first among 'exit' listeners, so a later
 * listener that throws cannot stop it (execa's own cleanup runs after those).
 */
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.prependListener('exit', () => {
    for (const child of live) child.kill();
  });
}

/** A started sandbox process that has not been given its run yet; it can be given one run, once. */
export class SandboxChild {
  readonly file: string;
  readonly #process: ResultPromise;
  #claimed = false;

  constructor(command: SandboxCommand, cwd: string) {
    this.file = command.file;
    this.#process = execa(command.file, command.args, {
      cwd,
      env: command.env,
      extendEnv: false,
      stdin: 'pipe',
      buffer: false,
      reject: false,
      stripFinalNewline: false,
      killSignal: 'SIGKILL',
      forceKillAfterDelay: false,
      // Killed when this Node process exits; an idle child also exits by itself on stdin's EOF.
      cleanup: true,
    });
    killAllOnExit();
    live.add(this);
    const forget = () => live.delete(this);
    this.#process.then(forget, forget);
  }

  get pid(): number | undefined {
    return this.#process.pid;
  }

  /** True once the process has ended (or never started). */
  get exited(): boolean {
    return this.#process.exitCode !== null || this.#process.signalCode !== null || this.#process.pid === undefined;
  }

  /** Settles when the process has ended, however it ended. Never rejects. */
  get ended(): Promise<unknown> {
    return this.#process;
  }

  /** Whether the process and its pipes keep Node's event loop alive (an idle warm child should not). */
  hold(held: boolean): void {
    const handles = [this.#process, this.#process.stdin, this.#process.stdout, this.#process.stderr] as Array<{ ref?(): void; unref?(): void } | null>;
    for (const handle of handles) {
      if (held) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  kill(): void {
    if (!this.exited) this.#process.kill('SIGKILL');
  }

  /** The process, for its one run. Throws if it was already given one: a child never runs twice. */
  claim(): ResultPromise {
    if (this.#claimed) throw new Error('A sandbox child runs exactly one script; this one was already used');
    this.#claimed = true;
    this.hold(true);
    return this.#process;
  }
}

/** Starts a sandbox process, which waits for its envelope. Does not throw; a failed start shows in the run. */
export function spawnChild(command: SandboxCommand, cwd: string): SandboxChild {
  return new SandboxChild(command, cwd);
}

async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    // statm: size resident shared … in pages.
    const fields = (await readFile(`/proc/${pid}/statm`, 'utf8')).split(' ');
    return Number(fields[1]) * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

function watchMemory(pid: number | undefined, limit: number, kill: (reason: KillReason) => void): () => void {
  if (process.platform !== 'linux' || pid === undefined) return () => {};
  const timer = setInterval(async () => {
    const rss = await residentBytes(pid);
    if (rss !== undefined && rss > limit) kill('memory');
  }, MEMORY_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Gives a started child its run and supervises it to its end. Rejects only when it never started. */
export async function superviseChild(sandbox: SandboxChild, spec: SuperviseSpec): Promise<ChildFacts> {
  const child = sandbox.claim();
  const stdout = new OutputBuffer(spec.maxOutputBytes);
  const stderr = new OutputBuffer(spec.maxOutputBytes);
  let killedFor: KillReason | undefined;
  const kill = (reason: KillReason) => {
    // Already gone on its own: a limit that fires now did not end it.
    if (child.exitCode !== null || child.signalCode !== null) return;
    killedFor ??= reason;
    child.kill('SIGKILL');
  };
  const collect = (name: 'stdout' | 'stderr', buffer: OutputBuffer) => (chunk: Buffer) => {
    buffer.push(chunk);
    spec.onOutput?.(name, chunk);
  };
  child.stdout?.on('data', collect('stdout', stdout));
  child.stderr?.on('data', collect('stderr', stderr));

  const started = spec.startedAt ?? performance.now();
  const deadline = setTimeout(() => kill('timeout'), spec.timeoutMs);
  const stopWatch = watchMemory(child.pid, spec.rssLimitBytes, kill);
  const onAbort = () => kill('abort');
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();
  else child.stdin?.end(spec.input);
  try {
    const result = await child;
    if (result.exitCode === undefined && result.signal === undefined && !killedFor) {
      throw new Error(`Could not start the Deno sandbox (${sandbox.file}): ${result.message}`, { cause: result.cause });
    }
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      killedFor,
      durationMillis: Math.round(performance.now() - started),
      stdout,
      stderr,
    };
  } finally {
    clearTimeout(deadline);
    stopWatch();
    spec.signal?.removeEventListener('abort', onAbort);
  }
}
