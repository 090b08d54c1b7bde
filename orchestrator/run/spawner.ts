/**
 * The orchestrator's side of the spawner (spawner-script.ts): one long-lived Perl process per
 * orchestrator that forks every sandbox child, so Node never forks its own ≈100 MB (1.5–2 ms of CPU
 * and a 3–4 ms stall of the event loop per child) and Deno starts with no wrapper exec before it.
 * Children's stdio reach Node as connections to a Unix socket in a private (0700) directory.
 * Invariants: a spawner is used only once it said `ready`, so a machine where it cannot run loses
 * nothing (launch.ts starts children directly meanwhile); a child's end is reported once, after its
 * exit status and all of its output; when the spawner dies, so do its children (their death signal),
 * and each of their runs ends as an infrastructure failure, never as the script's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { SocketInput, SocketOutput } from './socket-streams.js';
import { SPAWNER_SCRIPT } from './spawner-script.js';
import type { ChildExit } from './child.js';
import type { SandboxCommand } from './sandbox.js';

/** Syscall numbers the spawner needs (prctl, prlimit64), per architecture; elsewhere there is no spawner. */
const SYSCALLS: Partial<Record<string, { prctl: number; prlimit64: number }>> = {
  x64: { prctl: 157, prlimit64: 302 },
  arm64: { prctl: 167, prlimit64: 261 },
};

/** How long a child's output connections may lag behind its exit before the run is given up as broken. */
const CONNECT_GRACE_MS = 2000;
/** Longest header a connection may open with (`2 <id>\n`). */
const MAX_HEADER_BYTES = 32;
/** A spawner that dies unasked this many times is not started again: children then start directly. */
const MAX_DEATHS = 3;
/** Distinct commands the spawner keeps (a few per memory size and API host in use); past it, it forgets them all. */
const MAX_COMMANDS = 32;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

const STEPS: Record<string, string> = {
  fork: 'forking it',
  pipe: 'creating its report pipe',
  deathsig: 'setting its death signal',
  datalimit: 'setting its data-segment limit',
  socket: 'connecting its stdio',
  connect: 'connecting its stdio',
  dup2: 'connecting its stdio',
  fds: 'listing its file descriptors',
  chdir: 'entering its working directory',
  exec: 'executing Deno',
  command: 'finding its command',
};

const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([name, number]) => [number, name]));
const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** A start failure, shaped like Node's own (`code`, `syscall`) so child.ts words it the same way. */
function startError(message: string, code?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), code ? { code } : {});
}

const hex = (text: string) => Buffer.from(text).toString('hex');

/** One child of the spawner, as child.ts drives it: the same members it uses of a ChildProcess. */
export class SpawnedChild {
  readonly stdin = new SocketInput();
  readonly stdout: SocketOutput;
  readonly stderr: SocketOutput;
  pid: number | undefined;
  readonly #id: string;
  readonly #spawner: Spawner;
  readonly #onEnd: (exit: ChildExit) => void;
  readonly #sockets: Array<Socket | undefined> = [undefined, undefined, undefined];
  #status: { exitCode: number | null; signal: string | null } | undefined;
  /** Output streams not yet at their end. */
  #open = 2;
  #ended = false;
  #held = true;
  #grace: NodeJS.Timeout | undefined;

  constructor(id: string, spawner: Spawner, onEnd: (exit: ChildExit) => void) {
    this.#id = id;
    this.#spawner = spawner;
    this.#onEnd = onEnd;
    const ended = () => {
      this.#open -= 1;
      this.#maybeEnd();
    };
    this.stdout = new SocketOutput(ended);
    this.stderr = new SocketOutput(ended);
  }

  /** Ends once the exit status and both streams' ends are in, as a ChildProcess's 'close' does. */
  #maybeEnd(): void {
    if (!this.#ended && this.#status && this.#open === 0) this.#end({ ...this.#status });
  }

  get exited(): boolean {
    return this.#ended || this.#status !== undefined;
  }

  kill(): void {
    if (!this.exited) this.#spawner.send(`kill\t${this.#id}\n`);
  }

  hold(held: boolean): void {
    if (this.#held === held || this.#ended) return;
    this.#held = held;
    this.#spawner.hold(held ? 1 : -1);
    for (const socket of this.#sockets) {
      if (held) socket?.ref();
      else socket?.unref();
    }
  }

  /** A connection from the child, its header read: stdin, stdout or stderr. */
  attach(stream: number, socket: Socket): boolean {
    if (this.#sockets[stream] || this.#ended) return false;
    this.#sockets[stream] = socket;
    if (!this.#held) socket.unref();
    if (stream === 0) this.stdin.connect(socket);
    else (stream === 1 ? this.stdout : this.stderr).connect(socket);
    return true;
  }

  started(pid: number): void {
    this.pid = pid;
  }

  failed(error: NodeJS.ErrnoException): void {
    this.#end({ exitCode: null, signal: null, startError: error });
  }

  exit(status: number): void {
    // A wait status: low 7 bits the terminating signal, else the exit code in the next byte.
    const signal = status & 0x7f;
    this.#status = signal === 0 ? { exitCode: (status >> 8) & 0xff, signal: null } : { exitCode: null, signal: SIGNAL_NAMES.get(signal) ?? `SIG${signal}` };
    // As Node does for a ChildProcess: output nobody reads is drained, so its end can be seen.
    this.stdout.resume();
    this.stderr.resume();
    this.#maybeEnd();
    if (this.#ended) return;
    // Connections still unaccepted (a busy event loop) come soon; ones that never come mean none was accepted.
    this.#grace = setTimeout(() => {
      if (this.#sockets[1] && this.#sockets[2]) return;
      this.#end({ exitCode: null, signal: null, startError: startError('its output connections never reached the orchestrator (out of file descriptors?)', 'EMFILE') });
    }, CONNECT_GRACE_MS);
    if (!this.#held) this.#grace.unref();
  }

  #end(exit: ChildExit): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#grace);
    if (this.#held) this.#spawner.hold(-1);
    this.#spawner.forget(this.#id);
    for (const socket of this.#sockets) socket?.destroy();
    this.stdin.destroy();
    this.#onEnd(exit);
  }
}

/** One spawner process and its socket; `readySpawner()` hands out the current one once it is ready. */
export class Spawner {
  readonly #dir: string;
  readonly socketPath: string;
  readonly #server: Server;
  #process: ChildProcess | undefined;
  #ready = false;
  #closing = false;
  #onGone: (ready: boolean, why: string) => void;
  readonly #children = new Map<string, SpawnedChild>();
  #nextId = 1;
  #held = 0;
  /** Commands the spawner knows, by their argv and env, to the number it knows them by. */
  readonly #commands = new Map<string, number>();
  #nextCommand = 1;

  constructor(perlPath: string, onGone: (everReady: boolean, why: string) => void) {
    this.#onGone = onGone;
    const syscalls = SYSCALLS[process.arch]!;
    this.#dir = mkdtempSync(join(tmpdir(), 'code-runtime-'));
    const socketPath = join(this.#dir, 's');
    this.socketPath = socketPath;
    if (socketPath.length > MAX_SOCKET_PATH) {
      rmSync(this.#dir, { recursive: true, force: true });
      throw new Error(`the socket path ${socketPath} is longer than Unix sockets allow`);
    }
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.unref();
    this.#server.on('error', (error) => this.#gone(`its socket failed: ${error.message}`));
    this.#server.listen(socketPath, () => {
      if (this.#closing) return;
      const child = spawn(perlPath, ['-e', SPAWNER_SCRIPT, socketPath, String(process.pid), String(syscalls.prctl), String(syscalls.prlimit64)], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {},
      });
      this.#process = child;
      child.on('error', (error) => this.#gone(`perl did not start: ${error.message}`));
      let said = '';
      child.stderr.setEncoding('utf8').on('data', (text: string) => { said = (said + text).slice(-500); });
      child.on('close', (code, signal) => this.#gone(`perl ended (${signal ?? `exit ${code}`})${said ? `: ${said.trim()}` : ''}`));
      child.stdin.on('error', () => {});
      let pending = '';
      child.stdout.setEncoding('utf8').on('data', (text: string) => {
        pending += text;
        for (let end = pending.indexOf('\n'); end >= 0; end = pending.indexOf('\n')) {
          this.#message(pending.slice(0, end).split('\t'));
          pending = pending.slice(end + 1);
        }
      });
      this.#refHandles();
    });
  }

  get ready(): boolean {
    return this.#ready && !this.#closing;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts `command` in a fresh child; `onEnd` hears once how it ended (or that it never started). */
  spawn(command: SandboxCommand, cwd: string, onEnd: (exit: ChildExit) => void): SpawnedChild {
    const id = String(this.#nextId++);
    const child = new SpawnedChild(id, this, onEnd);
    this.#children.set(id, child);
    this.hold(1);
    const dataBytes = process.platform === 'linux' ? command.dataLimitBytes : 0;
    this.send(`spawn\t${id}\t${this.#commandNumber(command)}\t${dataBytes}\t${hex(cwd)}\n`);
    return child;
  }

  /** The number the spawner knows `command` by, sent once; at most MAX_COMMANDS are kept at a time. */
  #commandNumber(command: SandboxCommand): number {
    const env = Object.entries(command.env).map(([name, value]) => `${name}=${value}`).join('\0');
    const argv = [command.file, ...command.args].join('\0');
    const key = `${argv}\n${env}`;
    let number = this.#commands.get(key);
    if (number === undefined) {
      if (this.#commands.size >= MAX_COMMANDS) {
        for (const old of this.#commands.values()) this.send(`forget\t${old}\n`);
        this.#commands.clear();
      }
      number = this.#nextCommand++;
      this.#commands.set(key, number);
      this.send(`command\t${number}\t${hex(argv)}\t${hex(env)}\n`);
    }
    return number;
  }

  send(line: string): void {
    this.#process?.stdin?.write(line);
  }

  /** Counts held children: while any is, the spawner's pipes keep Node's event loop alive for its exit. */
  hold(delta: number): void {
    this.#held += delta;
    this.#refHandles();
  }

  forget(id: string): void {
    this.#children.delete(id);
  }

  /** Stops the spawner; every child it has dies with it. Synchronous, so it can run in an 'exit' hook. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    try {
      this.#process?.kill('SIGKILL');
    } catch {
      // Already gone.
    }
    this.#server.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #refHandles(): void {
    const child = this.#process;
    if (!child) return;
    for (const handle of [child, child.stdin, child.stdout, child.stderr] as Array<{ ref?(): void; unref?(): void } | null>) {
      if (this.#held > 0) handle?.ref?.();
      else handle?.unref?.();
    }
  }

  #message([verb, id, value, errno]: string[]): void {
    if (verb === 'ready') {
      this.#ready = true;
      return;
    }
    const child = this.#children.get(id ?? '');
    if (!child) return;
    if (verb === 'pid') child.started(Number(value));
    else if (verb === 'exit') child.exit(Number(value));
    else if (verb === 'fail') {
      const code = ERRNO_NAMES.get(Number(errno));
      child.failed(startError(`the spawner failed ${STEPS[value ?? ''] ?? value} (${code ?? `errno ${errno}`})`, code));
    }
  }

  /** A connection's header names its stream and child; anything else is dropped. */
  #accept(socket: Socket): void {
    socket.on('error', () => {});
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end < 0) {
        if (head.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const match = /^([012]) (\d+)$/.exec(head.subarray(0, end).toString('latin1'));
      const child = match && this.#children.get(match[2]!);
      if (!match || !child) {
        socket.destroy();
        return;
      }
      const rest = head.subarray(end + 1);
      if (rest.length > 0) socket.unshift(rest);
      if (!child.attach(Number(match[1]), socket)) socket.destroy();
    };
    socket.on('data', onData);
  }

  #gone(why: string): void {
    const wasReady = this.#ready;
    const asked = this.#closing;
    this.close();
    for (const child of [...this.#children.values()]) {
      child.failed(startError(`the sandbox spawner ended (${why}), taking this run's process with it`));
    }
    if (!asked) this.#onGone(wasReady, why);
  }
}

let current: Spawner | undefined;
let spawnsSeen = 0;
let deaths = 0;
let disabled: string | undefined = process.env.CODE_RUNTIME_SPAWNER === 'off' ? 'off' : undefined;

/**
 * The spawner to start a child with, or undefined: then the caller starts it directly. One is started
 * in the background from a process's second child on (a process that runs one script never pays for
 * Perl's start), and used once it is ready.
 */
export function readySpawner(perlPath: string | null): Spawner | undefined {
  if (current?.ready) return current;
  spawnsSeen += 1;
  if (current || disabled || spawnsSeen < 2) return undefined;
  if (process.platform !== 'linux' || !SYSCALLS[process.arch] || !perlPath) {
    disabled = 'unsupported';
    return undefined;
  }
  try {
    current = new Spawner(perlPath, (wasReady, why) => {
      current = undefined;
      deaths += 1;
      if (wasReady && deaths < MAX_DEATHS) return;
      disabled = why;
      process.emitWarning(`code-runtime: the sandbox spawner ${wasReady ? `died ${deaths} times` : 'could not start'} (${why}); sandboxes now start through setpriv and sh, which costs each ≈ 3 ms more CPU`);
    });
    stopOnExit();
  } catch (error) {
    disabled = error instanceof Error ? error.message : String(error);
    process.emitWarning(`code-runtime: the sandbox spawner could not start (${disabled}); sandboxes start through setpriv and sh instead, which costs each ≈ 3 ms more CPU`);
  }
  return undefined;
}

/** The current spawner, if one was started: its pid, socket and whether it takes children yet (benchmarks count its CPU; tests look). */
export function currentSpawner(): { pid: number | undefined; socketPath: string; ready: boolean } | undefined {
  return current && { pid: current.pid, socketPath: current.socketPath, ready: current.ready };
}

let exitHook = false;

function stopOnExit(): void {
  if (exitHook) return;
  exitHook = true;
  // Killing the spawner kills every child it started (their death signal), synchronously.
  process.prependListener('exit', () => current?.close());
}
