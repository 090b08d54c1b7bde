/**
 * The spawner's socket, Node's side: a Unix socket in a private directory (spawner-socket-dir.ts)
 * that each child connects its stdin, stdout and stderr to, before Deno's exec. A connection is
 * handed on only once its header (spawner-protocol.ts) names a stream of a spawn that takes it;
 * anything else is dropped, and so is one that has not named itself within HEADER_TIMEOUT_MS.
 * Invariant: `unnamed` counts the connections accepted whose header has not been read yet, so a
 * child's end can wait for output connections that are still being named (spawned-child.ts); the
 * header timeout bounds that wait, and what a connection that never names itself can hold.
 */
import { lstatSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { socketDirectory } from './spawner-socket-dir.js';
import { MAX_HEADER_BYTES, parseHeader } from './spawner-protocol.js';
import { afterPolls } from './spawner-watchdog.js';

/** How long a connection may take to name itself (in event-loop time); a child writes its header right after connecting. */
export const HEADER_TIMEOUT_MS = 2000;

/** Hands a named connection to its spawn; false when none takes it (then it is dropped). */
export type TakeConnection = (stream: 0 | 1 | 2, id: string, socket: Socket) => boolean;

export class SpawnerSocket {
  readonly path: string;
  readonly #dir: string;
  readonly #server: Server;
  readonly #take: TakeConnection;
  /** Connections accepted whose header line has not been read yet. */
  unnamed = 0;
  /** The socket file as it was made, to tell it from one put in its place. */
  #made: { dev: number; ino: number } | undefined;

  /** Makes its directory (throws, saying why, when it cannot); `failed` hears once if the listening socket fails. */
  constructor(take: TakeConnection, failed: (error: Error) => void) {
    const { dir, socketPath } = socketDirectory();
    this.#dir = dir;
    this.path = socketPath;
    this.#take = take;
    this.#server = createServer((socket) => this.#accept(socket));
    this.#server.unref();
    this.#server.on('error', failed);
  }

  /** Starts listening; `listening` runs once it does. */
  listen(listening: () => void): void {
    this.#server.listen(this.path, () => {
      try {
        const { dev, ino } = lstatSync(this.path);
        this.#made = { dev, ino };
      } catch {
        // Removed already: `inPlace` says so.
      }
      listening();
    });
  }

  /** Whether its path still leads to this socket: not removed (a temp cleaner), nor replaced. */
  inPlace(): boolean {
    try {
      const now = lstatSync(this.path);
      return now.isSocket() && now.dev === this.#made?.dev && now.ino === this.#made.ino;
    } catch {
      return false;
    }
  }

  /** Stops listening and removes the directory. Synchronous, for an 'exit' hook. */
  close(): void {
    this.#server.close();
    rmSync(this.#dir, { recursive: true, force: true });
  }

  /** Reads a new connection's header, then hands the connection on, paused, with what followed the header unread. */
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
    // Judged after two more polls: a header that came while the loop was blocked is read first.
    const timeout = setTimeout(() => afterPolls(() => {
      if (!named) socket.destroy();
    }), HEADER_TIMEOUT_MS);
    timeout.unref();
    socket.once('close', () => clearTimeout(timeout));
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf(10);
      if (end < 0) {
        if (head.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      name();
      clearTimeout(timeout);
      socket.off('data', onData);
      socket.pause();
      const header = parseHeader(head.subarray(0, end).toString('latin1'));
      const rest = head.subarray(end + 1);
      if (rest.length > 0) socket.unshift(rest);
      if (!header || !this.#take(header.stream, header.id, socket)) socket.destroy();
    };
    socket.on('data', onData);
  }
}
