/**
 * The orchestrator's side of the spawner (spawner.pl, beside this module once built): one long-lived Perl process per
 * orchestrator that forks every sandbox child, so Node never forks its own ≈100 MB (1.5–2 ms of CPU
 * and a 3–4 ms stall of the event loop per child) and Deno starts with no wrapper exec before it.
 * Children's stdio reach Node as connections to a Unix socket in a private (0700) directory.
 * Invariants: a spawner is used only once it said `ready`, so a machine where it cannot run loses
 * nothing (launch.ts starts children directly meanwhile); a child's end is reported once, after its
 * exit status and all of its output; when the spawner dies, so do its children (their death signal),
 * and each of their runs ends as an infrastructure failure, never as the script's.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdtempSync, readdirSync, rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { constants, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveTool } from './deno.js';
import { holdHandles } from './handles.js';
import { SocketInput, SocketOutput } from './socket-streams.js';
import type { ChildExit, OnChildEnd } from './process-handle.js';
import type { SandboxCommand } from './sandbox.js';

/** The spawner's Perl program: copied beside the compiled module by the build (scripts/build-lib.mjs), shipped in the package. */
const SPAWNER_PROGRAM = fileURLToPath(new URL('./spawner.pl', import.meta.url));

/** Syscall numbers the spawner needs (prctl, prlimit64), per architecture; elsewhere there is no spawner. */
const SYSCALLS: Partial<Record<string, { prctl: number; prlimit64: number }>> = {
  x64: { prctl: 157, prlimit64: 302 },
  arm64: { prctl: 167, prlimit64: 261 },
};

/** How long a child's output connections may lag behind its exit (event-loop time, see `exit`) before the run is given up as broken. */
const CONNECT_GRACE_MS = 2000;
/** How long a killed child may take to be reported dead before the spawner is asked whether it is alive, and how long it has to answer (then it is killed, and its children with it). */
const KILL_ANSWER_MS = 3000;
/** Longest header a connection may open with (`2 <id>\n`). */
const MAX_HEADER_BYTES = 32;
/** A spawner that dies unasked this many times is not started again: children then start directly. */
const MAX_DEATHS = 3;
/** Distinct commands the spawner keeps (a few per memory size and API host in use); past it, it forgets them all. */
const MAX_COMMANDS = 32;
/** Longest Unix socket path Linux takes (sun_path is 108 bytes, NUL included). */
const MAX_SOCKET_PATH = 107;

/** Each step a child can fail at before Deno's exec, in words; `code` when Node's own hint for the errno fits (child.ts). */
const STEPS: Record<string, { words: string; code?: boolean }> = {
  fork: { words: 'forking it', code: true },
  pipe: { words: 'creating its report pipe', code: true },
  deathsig: { words: 'setting its death signal' },
  limits: { words: "giving it the orchestrator's resource limits" },
  datalimit: { words: 'setting its data-segment limit' },
  socket: { words: 'connecting its stdio', code: true },
  connect: { words: "connecting its stdio to the spawner's socket" },
  header: { words: 'naming its stdio to the orchestrator (were its connections dropped for lack of file descriptors?)', code: true },
  dup2: { words: 'connecting its stdio' },
  fds: { words: 'listing its file descriptors', code: true },
  chdir: { words: 'entering its working directory' },
  exec: { words: 'executing Deno', code: true },
  command: { words: 'finding its command' },
};

/** An errno's name: the first of its aliases (EAGAIN, not EWOULDBLOCK), as Node's own errors name it. */
export function errnoName(errno: number): string | undefined {
  for (const [name, number] of Object.entries(constants.errno)) if (number === errno) return name;
  return undefined;
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** A start failure, shaped like Node's own (`code`) so child.ts words it the same way. */
function startError(message: string, code?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), code ? { code } : {});
}

/** Where spawners keep their socket (`code-runtime-spawner-XXXXXX/s`), so one a killed orchestrator left can be found. */
const DIR_PREFIX = 'code-runtime-spawner-';
/** A socket directory with no socket this old was left by a spawner that never listened. */
const ORPHAN_AGE_MS = 60_000;

/**
 * Removes socket directories spawners left when their orchestrator was killed: only this user's own
 * real directories (never a symlink, never another user's, never recursively), and only when nothing
 * listens on the socket in it any more, which holds across pid namespaces sharing the directory.
 * Asynchronous and best effort: a directory it cannot judge or remove is left.
 */
function removeOrphans(base: string, own: string): void {
  let names: string[];
  try {
    names = readdirSync(base).filter((name) => name.startsWith(DIR_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    const dir = join(base, name);
    try {
      const entry = lstatSync(dir);
      // In a sticky /tmp nobody else can rename a directory this user owns: what was checked is what is removed.
      if (dir === own || !entry.isDirectory() || entry.uid !== process.getuid?.()) continue;
      const socketPath = join(dir, 's');
      if (!existsSync(socketPath)) {
        // Made and not yet listened in (a spawner starting right now), or left before it listened.
        if (Date.now() - entry.mtimeMs > ORPHAN_AGE_MS) rmdirSync(dir);
        continue;
      }
      const probe = createConnection(socketPath);
      probe.on('connect', () => probe.destroy());
      probe.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNREFUSED') return;
        try {
          unlinkSync(socketPath);
          rmdirSync(dir);
        } catch {
          // Changed meanwhile: left.
        }
      });
      probe.unref();
    } catch {
      // Gone meanwhile, or not ours to look into: left.
    }
  }
}

/** A private (0700) directory for the socket whose path fits a Unix socket's (in bytes): under the temp dir, else /tmp. */
function socketDirectory(): { dir: string; socketPath: string } {
  const tried: string[] = [];
  for (const base of [...new Set([tmpdir(), '/tmp'])]) {
    let dir: string;
    try {
      dir = mkdtempSync(join(base, DIR_PREFIX));
    } catch (error) {
      tried.push(`${base}: ${(error as Error).message}`);
      continue;
    }
    const socketPath = join(dir, 's');
    if (Buffer.byteLength(socketPath) <= MAX_SOCKET_PATH) {
      removeOrphans(base, dir);
      return { dir, socketPath };
    }
    rmSync(dir, { recursive: true, force: true });
    tried.push(`${base}: the socket path would be ${Buffer.byteLength(socketPath)} bytes, over the ${MAX_SOCKET_PATH} a Unix socket takes`);
  }
  throw new Error(`no directory for its socket (${tried.join('; ')})`);
}

const hex = (text: string) => Buffer.from(text).toString('hex');

/** Errors that say the machine is short of something now, not that the spawner cannot work here: such a start failure counts as a death (retried later). */
const TRANSIENT = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'ENOMEM']);

/** Runs `fn` after two more turns of the event loop: what arrived while it was blocked is read first. */
function afterPolls(fn: () => void): void {
  setImmediate(() => setImmediate(fn));
}

/** One child of the spawner, as child.ts drives it: the same members it uses of a ChildProcess. */
export class SpawnedChild {
  readonly stdin = new SocketInput();
  readonly stdout: SocketOutput;
  readonly stderr: SocketOutput;
  pid: number | undefined;
  readonly #id: string;
  readonly #spawner: Spawner;
  readonly #onEnd: OnChildEnd;
  readonly #sockets: Array<Socket | undefined> = [undefined, undefined, undefined];
  #status: { exitCode: number | null; signal: string | null } | undefined;
  /** Output streams not yet at their end. */
  #open = 2;
  #ended = false;
  #held = true;
  #grace: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(id: string, spawner: Spawner, onEnd: OnChildEnd) {
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
    if (this.exited) return;
    this.#spawner.send(`kill\t${this.#id}\n`);
    // A spawner that does not answer (stopped, wedged) would keep this child past its deadline; a
    // child merely slow to die (a big heap to unmap) keeps only its own run waiting.
    if (!this.#watchdog) this.#watchAfterKill();
  }

  #watchAfterKill(): void {
    this.#watchdog = setTimeout(() => afterPolls(() => {
      if (!this.exited) this.#spawner.probe(() => this.#watchAfterKill());
    }), KILL_ANSWER_MS);
    if (!this.#held) this.#watchdog.unref();
  }

  hold(held: boolean): void {
    if (this.#held === held || this.#ended) return;
    this.#held = held;
    this.#spawner.hold(held ? 1 : -1);
    holdHandles([...this.#sockets, this.#grace, this.#watchdog], held);
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

  /** The process was lost with the spawner, after it may have run (its output is not complete). */
  lost(error: Error): void {
    this.#end({ exitCode: null, signal: null, lost: error });
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
    // Connections not yet accepted or not yet named (a busy event loop) come soon; the grace is
    // counted in the loop's own time: each check lets two more polls accept and read before judging.
    const check = () => {
      if (this.#ended || (this.#sockets[1] && this.#sockets[2])) return;
      if (this.#spawner.unnamed > 0) {
        this.#grace = setTimeout(check, 50);
        if (!this.#held) this.#grace.unref();
        return;
      }
      afterPolls(() => {
        if (this.#ended || (this.#sockets[1] && this.#sockets[2])) return;
        this.#end({ exitCode: null, signal: null, lost: new Error('the sandbox process ran, but its output never reached the orchestrator: its connections were not accepted (was this process out of file descriptors?)') });
      });
    };
    this.#grace = setTimeout(check, CONNECT_GRACE_MS);
    if (!this.#held) this.#grace.unref();
  }

  #end(exit: ChildExit): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#grace);
    clearTimeout(this.#watchdog);
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
  /** Set once it takes no new children (its socket is gone); it closes when its last child ends. */
  #retiring = false;
  /** Connections accepted whose header line has not been read yet. */
  unnamed = 0;
  /** Set while a `ping` awaits its `pong`; who to tell when it comes. */
  #probe: { timer: NodeJS.Timeout; alive: Array<() => void> } | undefined;
  #pings = 0;
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
    const { dir, socketPath } = socketDirectory();
    this.#dir = dir;
    this.socketPath = socketPath;
    open.add(this);
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.unref();
    this.#server.on('error', (error) => this.#gone(`its socket failed: ${error.message}`));
    this.#server.listen(socketPath, () => {
      if (this.#closing) return;
      let child: ChildProcess;
      try {
        child = spawn(perlPath, [SPAWNER_PROGRAM, socketPath, String(process.pid), String(syscalls.prctl), String(syscalls.prlimit64)], {
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
          this.#message(pending.slice(0, end).split('\t'));
          pending = pending.slice(end + 1);
        }
      });
      this.#refHandles();
    });
  }

  get ready(): boolean {
    return this.#ready && !this.#closing && !this.#retiring;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  /** Starts `command` in a fresh child; `onEnd` hears once how it ended (or that it never started). */
  spawn(command: SandboxCommand, cwd: string, onEnd: OnChildEnd): SpawnedChild {
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
    if (this.#retiring && this.#children.size === 0) this.close();
  }

  /** Asks the spawner whether it is alive: `alive` hears the answer; none within KILL_ANSWER_MS (in event-loop time) kills it, and its children with it. */
  probe(alive: () => void): void {
    if (this.#probe) {
      this.#probe.alive.push(alive);
      return;
    }
    this.#pings += 1;
    this.send(`ping\t${this.#pings}\n`);
    const timer = setTimeout(() => afterPolls(() => {
      if (this.#probe?.timer === timer) this.#gone(`it did not answer within ${KILL_ANSWER_MS / 1000} s while a killed child's end was overdue`);
    }), KILL_ANSWER_MS);
    if (this.#held === 0) timer.unref();
    this.#probe = { timer, alive: [alive] };
  }

  /** Stops the spawner; every child it has dies with it. Synchronous, so it can run in an 'exit' hook. */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    clearTimeout(this.#probe?.timer);
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
    this.#server.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  #refHandles(): void {
    const child = this.#process;
    if (child) holdHandles([child, child.stdin, child.stdout, child.stderr], this.#held > 0);
  }

  #message([verb, id, value, errno]: string[]): void {
    if (verb === 'ready') {
      this.#ready = true;
      return;
    }
    if (verb === 'pong') {
      const probe = this.#probe;
      this.#probe = undefined;
      clearTimeout(probe?.timer);
      for (const alive of probe?.alive ?? []) alive();
      return;
    }
    const child = this.#children.get(id ?? '');
    if (!child) return;
    if (verb === 'pid') child.started(Number(value));
    else if (verb === 'exit') child.exit(Number(value));
    else if (verb === 'fail') {
      const code = errnoName(Number(errno));
      const step = STEPS[value ?? ''];
      child.failed(startError(`the spawner failed ${step?.words ?? value} (${code ?? `errno ${errno}`})`, step?.code ? code : undefined));
      // Its socket is gone (a temp cleaner, an operator): no child of this spawner could start again.
      if (value === 'connect' && ['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'EACCES'].includes(code ?? '')) {
        this.#retire(`its socket ${this.socketPath} cannot be connected to (${code})`);
      }
    }
  }

  /** Takes no new children (the next ones start a new spawner), and closes once its own have ended. */
  #retire(why: string): void {
    if (this.#retiring || this.#closing) return;
    this.#retiring = true;
    this.#onGone(true, why);
    if (this.#children.size === 0) this.close();
  }

  /** A connection's header names its stream and child; anything else is dropped. */
  #accept(socket: Socket): void {
    socket.on('error', () => {});
    this.unnamed += 1;
    let named = false;
    const name = () => {
      if (named) return;
      named = true;
      this.unnamed -= 1;
    };
    socket.once('close', name);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end < 0) {
        if (head.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      name();
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

  /** `retry`: a failure to start that a later attempt may not meet (counted as a death, not as "cannot start here"). */
  #gone(why: string, retry = false): void {
    const wasReady = this.#ready || retry;
    // Closed on purpose, or already reported when it retired: not a death to count.
    const asked = this.#closing || this.#retiring;
    this.close();
    for (const child of [...this.#children.values()]) {
      if (child.pid === undefined) child.failed(startError(`the sandbox spawner ended (${why}) before it started this run's process`));
      else child.lost(new Error(`the sandbox spawner ended (${why}), and this run's process died with it`));
    }
    if (!asked) this.#onGone(wasReady, why);
  }
}

let current: Spawner | undefined;
/** Every spawner not yet closed (the current one, and retired ones whose children still run), for the exit hook. */
const open = new Set<Spawner>();
let spawnsSeen = 0;
let deaths = 0;
let disabled: string | undefined = process.env.CODE_RUNTIME_SPAWNER === 'off' ? 'off' : undefined;

/**
 * The spawner to start a child with, or undefined: then the caller starts it directly. One is started
 * in the background from a process's second child on (a process that runs one script never pays for
 * Perl's start), and used once it is ready.
 */
export function readySpawner(): Spawner | undefined {
  if (current?.ready) return current;
  spawnsSeen += 1;
  if (current || disabled || spawnsSeen < 2) return undefined;
  const perlPath = resolveTool('perl');
  if (process.platform !== 'linux' || !SYSCALLS[process.arch] || !perlPath) {
    disabled = 'unsupported';
    return undefined;
  }
  try {
    current = new Spawner(perlPath, (wasReady, why) => {
      current = undefined;
      deaths += 1;
      if (wasReady && deaths < MAX_DEATHS) return;
      giveUp(wasReady ? `died ${deaths} times` : 'could not start', why);
    });
    stopOnExit();
  } catch (error) {
    giveUp('could not start', error instanceof Error ? error.message : String(error));
  }
  return undefined;
}

/** No spawner from now on in this process, said once: children start the slower way. */
function giveUp(what: string, why: string): void {
  disabled = why;
  process.emitWarning(`code-runtime: the sandbox spawner ${what} (${why}); sandboxes now start through setpriv and sh, which costs each ≈ 3 ms more CPU`);
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
  process.prependListener('exit', () => {
    for (const spawner of open) spawner.close();
  });
}
