/**
 * One spawner: a long-lived Perl process (spawner.pl, beside this module once built) that forks
 * every sandbox child for this orchestrator, so Node never forks its own ≈ 100 MB (1.5–2 ms of CPU
 * and a 3–4 ms stall of the event loop per child) and Deno starts with no wrapper exec before it.
 * This class starts it, talks to it over its stdin and stdout (spawner-protocol.ts), takes its
 * children's connections on its socket (spawner-socket.ts) and tells the caller once how it ended
 * (`SpawnerEnd`); whether to start another is spawner.ts's policy.
 * Invariants: it takes children only once it said `ready`; when it dies, so do its children (their
 * death signal), and each of their runs ends as an infrastructure failure, never as the script's;
 * every spawner still open is killed, synchronously, when this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { holdHandles } from './handles.js';
import { SpawnedChild, type ChildHost } from './spawned-child.js';
import { CommandTable, errnoName, newSpawnId, parseMessage, say, socketUnreachable, startError, stepFailure } from './spawner-protocol.js';
import { SpawnerSocket } from './spawner-socket.js';
import { KILL_ANSWER_MS, Probe } from './spawner-watchdog.js';
import type { OnChildEnd } from './process-handle.js';
import type { SandboxCommand } from './sandbox.js';

/** The spawner's Perl program: copied beside the compiled module by the build (scripts/build-lib.mjs), shipped in the package. */
const SPAWNER_PROGRAM = fileURLToPath(new URL('./spawner.pl', import.meta.url));

/** Syscall numbers the spawner needs (prctl, prlimit64), per architecture; elsewhere there is no spawner. */
export const SYSCALLS: Partial<Record<string, { prctl: number; prlimit64: number }>> = {
  x64: { prctl: 157, prlimit64: 302 },
  arm64: { prctl: 167, prlimit64: 261 },
};

/** Errors that say the machine is short of something now, not that the spawner cannot work here: such a start failure is a death (retried later). */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/** How a spawner ended, said once to whoever started it. */
export type SpawnerEnd =
  /**
   * It ended unasked after it said `ready` (crashed, killed, hung), failed to start for a reason
   * that may pass (EMFILE…), or its children cannot connect to its socket though the socket is in
   * place (then it retires, as below). Counted: spawner.ts gives up after MAX_DEATHS.
   */
  | { kind: 'died'; why: string }
  /** It could not start here (no usable Perl, no socket directory), or ended before it said `ready`. */
  | { kind: 'never-started'; why: string }
  /**
   * Its socket was removed or replaced under it (a temp cleaner, an operator), so no child of it
   * can connect again: it takes no new children and closes once its own have ended, and the next
   * child starts a new spawner. Not a death: nothing is wrong with spawners here.
   */
  | { kind: 'retired'; why: string };

/** Every spawner not yet closed (retired ones whose children still run included), for the exit hook. */
const open = new Set<Spawner>();
let exitHook = false;

function closeAllOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  // Killing a spawner kills every child it started (their death signal), synchronously.
  process.prependListener('exit', () => {
    for (const spawner of open) spawner.close();
  });
}

export class Spawner implements ChildHost {
  readonly #socket: SpawnerSocket;
  readonly #onEnd: (end: SpawnerEnd) => void;
  readonly #probe: Probe;
  readonly #children = new Map<string, SpawnedChild>();
  readonly #commands = new CommandTable();
  #process: ChildProcess | undefined;
  /** Set once it said `ready`. */
  #saidReady = false;
  #closing = false;
  /** Set once it takes no new children; it closes when its last child ends. */
  #retiring = false;
  /** Children held (running a script): while any is, its pipes keep Node's event loop alive. */
  #held = 0;

  /** Starts one with `perlPath`; `onEnd` hears once how it ended, unless it was closed on purpose first. Throws when it has no socket directory. */
  constructor(perlPath: string, onEnd: (end: SpawnerEnd) => void) {
    this.#onEnd = onEnd;
    this.#probe = new Probe((line) => this.#send(line), () => {
      this.#gone(`it did not answer within ${KILL_ANSWER_MS / 1000} s while a killed child's end was overdue`);
    });
    this.#socket = new SpawnerSocket(
      (stream, id, socket) => this.#children.get(id)?.attach(stream, socket) ?? false,
      (error) => this.#gone(`its socket failed: ${error.message}`),
    );
    open.add(this);
    closeAllOnExit();
    this.#socket.listen(() => {
      if (!this.#closing) this.#start(perlPath);
    });
  }

  /** Whether it takes children now: it said `ready`, and is neither closing nor retiring. */
  get ready(): boolean {
    return this.#saidReady && !this.#closing && !this.#retiring;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  get socketPath(): string {
    return this.#socket.path;
  }

  get unnamed(): number {
    return this.#socket.unnamed;
  }

  /** Starts `command` in a fresh child; `onEnd` hears once how it ended (or that it never started). */
  spawn(command: SandboxCommand, cwd: string, onEnd: OnChildEnd): SpawnedChild {
    const id = newSpawnId();
    const child = new SpawnedChild(id, this, onEnd);
    this.#children.set(id, child);
    this.hold(1);
    const dataBytes = process.platform === 'linux' ? command.dataLimitBytes : 0;
    this.#send(say.spawn(id, this.#commands.number(command, (line) => this.#send(line)), dataBytes, cwd));
    return child;
  }

  kill(id: string): void {
    this.#send(say.kill(id));
  }

  hold(delta: number): void {
    this.#held += delta;
    this.#holdPipes();
  }

  forget(id: string): void {
    this.#children.delete(id);
    if (this.#retiring && this.#children.size === 0) this.close();
  }

  probe(alive: () => void): void {
    this.#probe.ask(alive, this.#held > 0);
  }

  /** Stops the spawner; every child it has dies with it. Synchronous, so it can run in an 'exit' hook. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#probe.stop();
    open.delete(this);
    const child = this.#process;
    // Never without a pid: Node would signal pid 0, the whole process group.
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // Already gone.
      }
    }
    this.#socket.close();
  }

  #start(perlPath: string): void {
    const syscalls = SYSCALLS[process.arch]!;
    let child: ChildProcess;
    try {
      child = spawn(perlPath, [SPAWNER_PROGRAM, this.#socket.path, String(process.pid), String(syscalls.prctl), String(syscalls.prlimit64)], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {},
      });
    } catch (error) {
      this.#gone(`perl did not start: ${(error as Error).message}`);
      return;
    }
    this.#process = child;
    child.on('error', (error: NodeJS.ErrnoException) => this.#gone(`perl did not start: ${error.message}`, TRANSIENT.has(error.code ?? '')));
    // A spawn that failed (EMFILE, EAGAIN…) has no pid and no pipes: its 'error' comes next.
    if (child.pid === undefined || !child.stdin || !child.stdout || !child.stderr) return;
    let said = '';
    child.stderr.setEncoding('utf8').on('data', (text: string) => { said = (said + text).slice(-500); });
    child.on('close', (code, signal) => this.#gone(`perl ended (${signal ?? `exit ${code}`})${said ? `: ${said.trim()}` : ''}`));
    child.stdin.on('error', () => {});
    let pending = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => {
      pending += text;
      for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
        this.#message(pending.slice(0, end));
        pending = pending.slice(end + 1);
      }
    });
    this.#holdPipes();
  }

  #send(line: string): void {
    this.#process?.stdin?.write(line);
  }

  #holdPipes(): void {
    const child = this.#process;
    if (child) holdHandles([child, child.stdin, child.stdout, child.stderr], this.#held > 0);
  }

  #message(line: string): void {
    const message = parseMessage(line);
    if (!message) return;
    if (message.verb === 'ready') {
      this.#saidReady = true;
      return;
    }
    if (message.verb === 'pong') {
      this.#probe.answered();
      return;
    }
    const child = this.#children.get(message.id);
    if (!child) return;
    if (message.verb === 'pid') child.started(message.pid);
    else if (message.verb === 'exit') child.exit(message.status);
    else {
      child.failed(stepFailure(message.step, message.errno));
      // No child of this spawner could connect again: it retires, a death unless its socket is gone.
      if (socketUnreachable(message.step, message.errno)) {
        const why = `its socket ${this.#socket.path} cannot be connected to (${errnoName(message.errno)})`;
        this.#retire(this.#socket.inPlace() ? { kind: 'died', why } : { kind: 'retired', why: `${why}: it was removed or replaced` });
      }
    }
  }

  /** Takes no new children (the next ones start a new spawner), and closes once its own have ended; `end` says why. */
  #retire(end: SpawnerEnd): void {
    if (this.#retiring || this.#closing) return;
    this.#retiring = true;
    this.#onEnd(end);
    if (this.#children.size === 0) this.close();
  }

  /** It ended, or must: `retry` marks a failure to start that a later attempt may not meet (a death, not "cannot start here"). */
  #gone(why: string, retry = false): void {
    const end: SpawnerEnd = this.#saidReady || retry ? { kind: 'died', why } : { kind: 'never-started', why };
    // Closed on purpose, or already reported when it retired: not an end to report.
    const asked = this.#closing || this.#retiring;
    this.close();
    for (const child of [...this.#children.values()]) {
      if (child.pid === undefined) child.failed(startError(`the sandbox spawner ended (${why}) before it started this run's process`));
      else child.lost(new Error(`the sandbox spawner ended (${why}), and this run's process died with it`));
    }
    if (!asked) this.#onEnd(end);
  }
}
