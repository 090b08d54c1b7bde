/**
 * One child of the spawner, as child.ts drives it: the same members it uses of a ChildProcess
 * (`Launched`). Its streams are the connections it opens to the spawner's socket, which arrive a
 * moment after it is handed out (socket-streams.ts holds what comes before).
 * Invariants: its end is reported once, after its exit status and the end of both output streams,
 * as a ChildProcess's 'close' is; output connections that never come (this process out of file
 * descriptors) end it as lost after CONNECT_GRACE_MS of event-loop time, never as the script's exit;
 * a kill the spawner does not act on within KILL_ANSWER_MS has the spawner asked whether it is alive.
 */
import type { Socket } from 'node:net';
import { holdHandles } from './handles.js';
import { SocketInput, SocketOutput } from './socket-streams.js';
import { waitStatus } from './spawner-protocol.js';
import { afterPolls, KILL_ANSWER_MS } from './spawner-watchdog.js';
import type { ChildExit, Launched, OnChildEnd } from './process-handle.js';

/** How long a child's output connections may lag behind its exit (event-loop time, see `exit`) before the run is given up as broken. */
const CONNECT_GRACE_MS = 2000;

/** What a spawner's child needs of its spawner (spawner-process.ts). */
export interface ChildHost {
  /** Asks the spawner to SIGKILL child `id`. */
  kill(id: string): void;
  /** Counts a held child in (1) or out (-1): the spawner's pipes keep Node alive while any is held. */
  hold(delta: number): void;
  /** Child `id` has ended: it takes no more connections. */
  forget(id: string): void;
  /** Asks whether the spawner is alive; `alive` hears the answer (none kills the spawner, and this child with it). */
  probe(alive: () => void): void;
  /** Connections accepted whose header is not read yet: this child's may be among them. */
  readonly unnamed: number;
}

export class SpawnedChild implements Launched {
  readonly stdin = new SocketInput();
  readonly stdout: SocketOutput;
  readonly stderr: SocketOutput;
  pid: number | undefined;
  readonly #id: string;
  readonly #host: ChildHost;
  readonly #onEnd: OnChildEnd;
  readonly #sockets: Array<Socket | undefined> = [undefined, undefined, undefined];
  #status: { exitCode: number | null; signal: string | null } | undefined;
  /** Output streams not yet at their end. */
  #open = 2;
  #ended = false;
  #held = true;
  #grace: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;

  constructor(id: string, host: ChildHost, onEnd: OnChildEnd) {
    this.#id = id;
    this.#host = host;
    this.#onEnd = onEnd;
    const ended = () => {
      this.#open -= 1;
      this.#maybeEnd();
    };
    this.stdout = new SocketOutput(ended);
    this.stderr = new SocketOutput(ended);
  }

  get exited(): boolean {
    return this.#ended || this.#status !== undefined;
  }

  kill(): void {
    if (this.exited) return;
    this.#host.kill(this.#id);
    // A spawner that does not answer (stopped, wedged) would keep this child past its deadline; a
    // child merely slow to die (a big heap to unmap) keeps only its own run waiting.
    if (!this.#watchdog) this.#watchAfterKill();
  }

  hold(held: boolean): void {
    if (this.#held === held || this.#ended) return;
    this.#held = held;
    this.#host.hold(held ? 1 : -1);
    holdHandles([...this.#sockets, this.#grace, this.#watchdog], held);
  }

  /** A connection from the child, its header read: stdin, stdout or stderr. False when it already has that stream, or has ended. */
  attach(stream: 0 | 1 | 2, socket: Socket): boolean {
    if (this.#sockets[stream] || this.#ended) return false;
    this.#sockets[stream] = socket;
    if (!this.#held) socket.unref();
    if (stream === 0) this.stdin.connect(socket);
    else (stream === 1 ? this.stdout : this.stderr).connect(socket);
    return true;
  }

  /** The spawner's `pid`: the child exists (it has exec'd Deno, or is about to). */
  started(pid: number): void {
    this.pid = pid;
  }

  /** It never started: `error` says at which step. */
  failed(error: NodeJS.ErrnoException): void {
    this.#end({ exitCode: null, signal: null, startError: error });
  }

  /** The process was lost with the spawner, after it may have run (its output is not complete). */
  lost(error: Error): void {
    this.#end({ exitCode: null, signal: null, lost: error });
  }

  /** The spawner's `exit`, with the child's wait status. */
  exit(status: number): void {
    this.#status = waitStatus(status);
    // As Node does for a ChildProcess: output nobody reads is drained, so its end can be seen.
    this.stdout.resume();
    this.stderr.resume();
    this.#maybeEnd();
    if (this.#ended) return;
    // Connections not yet accepted or not yet named (a busy event loop) come soon; the grace is
    // counted in the loop's own time: each check lets two more polls accept and read before judging.
    const check = () => {
      if (this.#ended || (this.#sockets[1] && this.#sockets[2])) return;
      if (this.#host.unnamed > 0) {
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

  #watchAfterKill(): void {
    this.#watchdog = setTimeout(() => afterPolls(() => {
      if (!this.exited) this.#host.probe(() => this.#watchAfterKill());
    }), KILL_ANSWER_MS);
    if (!this.#held) this.#watchdog.unref();
  }

  /** Ends once the exit status and both streams' ends are in, as a ChildProcess's 'close' does. */
  #maybeEnd(): void {
    if (!this.#ended && this.#status && this.#open === 0) this.#end({ ...this.#status });
  }

  #end(exit: ChildExit): void {
    if (this.#ended) return;
    this.#ended = true;
    clearTimeout(this.#grace);
    clearTimeout(this.#watchdog);
    if (this.#held) this.#host.hold(-1);
    this.#host.forget(this.#id);
    for (const socket of this.#sockets) socket?.destroy();
    this.stdin.destroy();
    this.#onEnd(exit);
  }
}
