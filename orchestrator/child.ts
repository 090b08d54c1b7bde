/**
 * One sandbox process, used once: spawns it, sends the envelope on stdin, collects stdout and
 * stderr into capped buffers, and enforces the limits from outside (SIGKILL at the deadline, on a
 * resident-memory overrun, or on abort). Records *why* it killed before killing, and reports the
 * exit facts; it never decides the run's status.
 */
import { readFile } from 'node:fs/promises';
import { execa, type ResultPromise } from 'execa';
import { OutputBuffer } from './output.js';
import type { SandboxCommand } from './sandbox.js';
import type { OutputListener } from '../types/options.js';

export type KillReason = 'timeout' | 'memory' | 'abort';

export interface ChildSpec {
  command: SandboxCommand;
  cwd: string;
  /** The envelope, written to stdin, which is then closed. */
  input: string;
  timeoutMs: number;
  /** Resident memory above which the child is killed. */
  rssLimitBytes: number;
  maxOutputBytes: number;
  onOutput?: OutputListener;
  signal?: AbortSignal;
}

export interface ChildFacts {
  /** The process's exit code, or null when a signal ended it. */
  exitCode: number | null;
  /** The signal that ended it, e.g. `SIGKILL`. */
  signal: string | null;
  /** Set when the orchestrator killed it, and why. */
  killedFor?: KillReason;
  durationMillis: number;
  stdout: OutputBuffer;
  stderr: OutputBuffer;
}

const MEMORY_POLL_MS = 50;
const PAGE_BYTES = 4096;

async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    // statm: size resident shared … in pages.
    const fields = (await readFile(`/proc/${pid}/statm`, 'utf8')).split(' ');
    return Number(fields[1]) * PAGE_BYTES;
  } catch {
    return undefined;
  }
}

function watchMemory(child: ResultPromise, limit: number, kill: (reason: KillReason) => void): () => void {
  if (process.platform !== 'linux' || child.pid === undefined) return () => {};
  const pid = child.pid;
  const timer = setInterval(async () => {
    const rss = await residentBytes(pid);
    if (rss !== undefined && rss > limit) kill('memory');
  }, MEMORY_POLL_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Runs the child to its end. Rejects only when it could not be started at all. */
export async function runChild(spec: ChildSpec): Promise<ChildFacts> {
  const stdout = new OutputBuffer(spec.maxOutputBytes);
  const stderr = new OutputBuffer(spec.maxOutputBytes);
  const started = performance.now();
  const child = execa(spec.command.file, spec.command.args, {
    cwd: spec.cwd,
    env: spec.command.env,
    extendEnv: false,
    input: spec.input,
    buffer: false,
    reject: false,
    stripFinalNewline: false,
    killSignal: 'SIGKILL',
    forceKillAfterDelay: false,
    cleanup: true,
  });
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

  const deadline = setTimeout(() => kill('timeout'), spec.timeoutMs);
  const stopWatch = watchMemory(child, spec.rssLimitBytes, kill);
  const onAbort = () => kill('abort');
  if (spec.signal?.aborted) onAbort();
  spec.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const result = await child;
    if (result.exitCode === undefined && result.signal === undefined && !killedFor) {
      throw new Error(`Could not start the Deno sandbox (${spec.command.file}): ${result.message}`, { cause: result.cause });
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
