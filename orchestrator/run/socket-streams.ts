/**
 * A spawner child's stdin, stdout and stderr: sockets that connect a moment after the child is
 * handed out, so what is written before is held until then, and listeners attached before are
 * served once it comes. No stream layer in between (a PassThrough per stream cost ≈ 0.1 ms per run).
 * Invariants: a stdout or stderr socket is read only once somebody listens or drains it, so an
 * unread child is held back by its socket, not buffered here; every chunk reaches every listener once.
 */
import type { Socket } from 'node:net';
import type { ChildInput, ChildOutput } from './process-handle.js';

export class SocketInput implements ChildInput {
  #socket: Socket | undefined;
  #held: Array<string | Buffer> = [];
  #ended = false;

  write(chunk: string | Buffer): boolean {
    if (this.#socket) this.#socket.write(chunk);
    else this.#held.push(chunk);
    return true;
  }

  end(chunk?: string | Buffer): this {
    if (chunk !== undefined) this.write(chunk);
    this.#ended = true;
    this.#socket?.end();
    return this;
  }

  connect(socket: Socket): void {
    this.#socket = socket;
    for (const chunk of this.#held) socket.write(chunk);
    this.#held = [];
    if (this.#ended) socket.end();
    // Deno never writes to its stdin; reading lets the connection's close be seen.
    socket.resume();
  }

  destroy(): void {
    this.#held = [];
    this.#socket?.destroy();
  }
}

export class SocketOutput implements ChildOutput {
  readonly #listeners: Array<(chunk: Buffer) => void> = [];
  readonly #onEnd: () => void;
  #socket: Socket | undefined;
  #draining = false;
  #flowing = false;

  /** `onEnd`: the socket has delivered its last byte. */
  constructor(onEnd: () => void) {
    this.#onEnd = onEnd;
  }

  on(_event: 'data', listener: (chunk: Buffer) => void): this {
    this.#listeners.push(listener);
    this.#flow();
    return this;
  }

  resume(): this {
    this.#draining = true;
    this.#flow();
    return this;
  }

  connect(socket: Socket): void {
    this.#socket = socket;
    // 'close', not 'end': it also comes after an error (a reset), and only once every byte is out.
    socket.once('close', this.#onEnd);
    this.#flow();
  }

  #flow(): void {
    const socket = this.#socket;
    if (!socket || this.#flowing || (this.#listeners.length === 0 && !this.#draining)) return;
    this.#flowing = true;
    socket.on('data', (chunk: Buffer) => {
      for (const listener of this.#listeners) listener(chunk);
    });
    // Paused while its header was read: a 'data' listener alone does not restart it.
    socket.resume();
  }
}
