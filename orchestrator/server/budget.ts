/**
 * A byte budget shared by clients: what the server may hold for them, together at most `limit`,
 * each client at most `perClient` (half, unless said otherwise), so that no client can take what
 * the others need. `take` either fits or refuses (it never goes over); `give` returns what was
 * taken. One budget per kind of holding: unsent answers (the answers' part of `maxBufferedBytes`),
 * request bodies being received and parsed (`maxBodiesBytes`).
 */

/** What is short when bytes do not fit: the client's share, or the server's budget. */
export type Shortage = 'client' | 'server';

export class SharedBudget {
  readonly limit: number;
  readonly perClient: number;
  #used = 0;
  readonly #clients = new Map<string, number>();

  constructor(limit: number, perClient = Math.floor(limit / 2)) {
    this.limit = limit;
    this.perClient = perClient;
  }

  get used(): number {
    return this.#used;
  }

  heldBy(client: string): number {
    return this.#clients.get(client) ?? 0;
  }

  /** What keeps `bytes` more for `client` from fitting, leaving `reserve` of the budget free; undefined when they fit. */
  shortage(client: string, bytes: number, reserve = 0): Shortage | undefined {
    if (this.heldBy(client) + bytes > this.perClient) return 'client';
    if (this.#used + bytes > this.limit - reserve) return 'server';
    return undefined;
  }

  fits(client: string, bytes: number, reserve = 0): boolean {
    return this.shortage(client, bytes, reserve) === undefined;
  }

  take(client: string, bytes: number, reserve = 0): boolean {
    if (!this.fits(client, bytes, reserve)) return false;
    this.#used += bytes;
    this.#clients.set(client, this.heldBy(client) + bytes);
    return true;
  }

  give(client: string, bytes: number): void {
    if (bytes <= 0) return;
    this.#used = Math.max(0, this.#used - bytes);
    const left = this.heldBy(client) - bytes;
    if (left > 0) this.#clients.set(client, left);
    else this.#clients.delete(client);
  }
}

/** How `maxBufferedBytes` is shared: most for unsent answers, a quarter for stream events kept for resuming. */
export function splitBuffered(maxBufferedBytes: number): { answers: number; events: number } {
  const events = Math.floor(maxBufferedBytes / 4);
  return { answers: maxBufferedBytes - events, events };
}
