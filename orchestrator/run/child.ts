/**
 * One sandbox process, used once. `spawnChild` starts it; it then waits for its envelope on stdin,
 * so it can be started ahead of time. `superviseChild` sends the envelope, takes stdout and stderr
 * (one captured-stream.ts each; the run ends at the guest's `done` record on both), and enforces
 * the limits from outside (SIGKILL at the deadline, counted from the envelope, on a
 * resident-memory overrun, or on abort). Records *why* it killed before killing, and reports the
 * exit facts; it never decides the run's status.
 * Invariant: nothing here can throw or emit an unhandled 'error' because a process could not be
 * started (EMFILE, EAGAIN, ENOENT…): that is one run's rejected promise, never a crash of this process.
 */
import { readFile } from 'node:fs/promises';
import { CapturedStream, liveListener } from './captured-stream.js';
import { HEAP_FATAL } from './v8-trace.js';
import type { OutputBuffer } from './output.js';
import { launch } from './launch.js';
import type { ChildExit, Launched } from './process-handle.js';
import type { SandboxCommand } from './sandbox.js';
import type { ValueRecord } from './value.js';
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
  /** How the guest's records begin: they are cut out of both streams (buffer and listener) and kept apart. */
  reportPrefix?: Buffer;
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
  /** The highest resident memory the watch measured, in bytes (0 when it never sampled). */
  peakRssBytes: number;
  /** From `startedAt` (a fresh child: its spawn; a warm one: its envelope) to the guest's `done` record on both streams, else to the exit (RunResult.durationMillis). */
  durationMillis: number;
  stdout: OutputBuffer;
  /** Stderr without the guest's records. */
  stderr: OutputBuffer;
  /** The guest's last failure report (the line after `reportPrefix`), when it wrote one. */
  report?: string;
  /** The guest's record of the script's default export (stdout), when it wrote one. */
  value?: ValueRecord;
}

const MEMORY_POLL_MS = 50;
const PAGE_BYTES = 4096;

/** Every child not yet ended, so that none outlives this process (see `killAllOnExit`). */
const live = new Set<SandboxChild>();
let exitHookInstalled = false;

/**
 * Kills every live child when this process exits. Placed first among 'exit' listeners, so a later
 * listener that throws cannot stop it.
 */
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.prependListener('exit', () => {
    for (const child of live) child.kill();
  });
}

/** Why a start failed, in words an operator can act on. */
function startFailure(file: string, error: NodeJS.ErrnoException): Error {
  const hints: Record<string, string> = {
    EMFILE: 'this process has no file descriptors left (raise `ulimit -n`, or run fewer scripts at once)',
    ENFILE: 'the system has no file descriptors left',
    EAGAIN: 'the system refused another process (process count or memory limits)',
    ENOMEM: 'the system has no memory for another process',
    ENOENT: 'the executable does not exist',
    EACCES: 'the executable may not be run',
  };
  const hint = hints[error.code ?? ''];
  return new Error(`Could not start the Deno sandbox (${file}): ${error.message}${hint ? `: ${hint}` : ''}; this run did not start`, { cause: error });
}

/** A started sandbox process that has not been given its run yet; it can be given one run, once. */
export class SandboxChild {
  readonly file: string;
  readonly #process: Launched | undefined;
  readonly #ended: Promise<ChildExit>;
  #exit: ChildExit | undefined;
  #claimed = false;

  constructor(command: SandboxCommand, cwd: string) {
    this.file = command.file;
    let settle!: (exit: ChildExit) => void;
    this.#ended = new Promise((resolve) => {
      settle = (exit) => {
        if (this.#exit) return;
        this.#exit = exit;
        live.delete(this);
        resolve(exit);
      };
    });
    const child = launch(command, cwd, settle);
    this.#process = child;
    if (!child || this.#exit) return;
    killAllOnExit();
    live.add(this);
    // Read while the child waits for its run, so a warm child has it ready.
    if (command.stdin) child.stdin?.write(command.stdin);
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** True once the process has ended (or never started). */
  get exited(): boolean {
    return this.#exit !== undefined || !this.#process || this.#process.exited;
  }

  /** Settles when the process has ended, however it ended (or failed to start). Never rejects. */
  get ended(): Promise<ChildExit> {
    return this.#ended;
  }

  /** Whether the process and its pipes keep Node's event loop alive (an idle warm child should not). */
  hold(held: boolean): void {
    this.#process?.hold(held);
  }

  kill(): void {
    if (!this.exited) this.#process?.kill();
  }

  /** The process, for its one run. Throws if it was already given one: a child never runs twice. */
  claim(): Launched | undefined {
    if (this.#claimed) throw new Error('A sandbox child runs exactly one script; this one was already used');
    this.#claimed = true;
    this.hold(true);
    return this.#process;
  }

  /** The run's error when the process never started or was lost, in words an operator can act on. */
  failure(exit: ChildExit): Error | undefined {
    if (exit.lost) return exit.lost;
    return exit.startError ? startFailure(this.file, exit.startError) : undefined;
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

/** Samples the child's resident memory; kills it over the limit. Returns the stop and the peak seen. */
function watchMemory(pidOf: () => number | undefined, limit: number, kill: (reason: KillReason) => void): { stop(): void; peak(): number } {
  let peak = 0;
  if (process.platform !== 'linux') return { stop: () => {}, peak: () => peak };
  const timer = setInterval(async () => {
    // A spawner's child has its pid a moment after it is handed out.
    const pid = pidOf();
    if (pid === undefined) return;
    const rss = await residentBytes(pid);
    if (rss === undefined) return;
    peak = Math.max(peak, rss);
    if (rss > limit) kill('memory');
  }, MEMORY_POLL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer), peak: () => peak };
}

/** Gives a started child its run and supervises it to its end. Rejects only when it never started. */
export async function superviseChild(sandbox: SandboxChild, spec: SuperviseSpec): Promise<ChildFacts> {
  const child = sandbox.claim();
  // The guest's `done` record on both streams means every byte is in: the run ends there, without
  // waiting for the process to be torn down (it exits on its own right after; killed to be sure).
  let finishEarly!: (exit: ChildExit) => void;
  const doneEarly = new Promise<ChildExit>((resolve) => { finishEarly = resolve; });
  const onDone = () => {
    if (stdout.done !== undefined && stdout.done === stderr.done) finishEarly({ exitCode: stdout.done, signal: null });
  };
  const show = liveListener(spec.onOutput);
  const capture = (name: 'stdout' | 'stderr') => new CapturedStream(name, {
    maxOutputBytes: spec.maxOutputBytes,
    show,
    reportPrefix: spec.reportPrefix,
    // V8's out-of-memory report never reaches a live listener (result.ts cuts it from the buffer).
    holdV8Trace: name === 'stderr' && spec.onOutput !== undefined,
    onDone,
  });
  const stdout = capture('stdout');
  const stderr = capture('stderr');
  child?.stdout?.on('data', stdout.push);
  child?.stderr?.on('data', stderr.push);

  let killedFor: KillReason | undefined;
  const kill = (reason: KillReason) => {
    // Already gone on its own: a limit that fires now did not end it.
    if (sandbox.exited) return;
    killedFor ??= reason;
    sandbox.kill();
  };
  const started = spec.startedAt ?? performance.now();
  const deadline = setTimeout(() => kill('timeout'), spec.timeoutMs);
  // Not after the exit: the pid may be another process's by then.
  const memory = watchMemory(() => (sandbox.exited ? undefined : child?.pid), spec.rssLimitBytes, kill);
  const onAbort = () => kill('abort');
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  if (spec.signal?.aborted) onAbort();
  else if (!sandbox.exited) child?.stdin?.end(spec.input);
  try {
    const exit = await Promise.race([sandbox.ended, doneEarly]);
    const failure = sandbox.failure(exit);
    if (failure) throw failure;
    if (!sandbox.exited) sandbox.kill();
    const diedOfHeap = (held: string) => exit.signal === 'SIGTRAP' && HEAP_FATAL.test(held);
    stdout.settle(diedOfHeap);
    stderr.settle(diedOfHeap);
    return {
      exitCode: exit.exitCode,
      signal: exit.signal,
      killedFor,
      peakRssBytes: memory.peak(),
      durationMillis: Math.round(performance.now() - started),
      stdout: stdout.buffer,
      stderr: stderr.buffer,
      // Failure reports come on stderr only; the default export's value on stdout.
      report: stderr.report,
      value: stdout.value,
    };
  } finally {
    clearTimeout(deadline);
    memory.stop();
    spec.signal?.removeEventListener('abort', onAbort);
  }
}
