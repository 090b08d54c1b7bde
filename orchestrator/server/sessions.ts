/**
 * The MCP sessions of the Streamable HTTP front door, and what they may take. A session costs one
 * `initialize`, so sessions are capped per client (clients.ts) and in total, and a new one beyond a
 * cap is refused with an error that says which cap and what to do. To make room, only a session
 * that is neither busy (a request in flight, an open stream) nor recently used may be closed: the
 * least recently used of the client's own first, then of anyone's. Sessions idle for
 * `sessionIdleSecs` expire (a client that comes back gets 404 and initializes anew, as the spec
 * says). Invariant: a session is counted from its reservation to its removal, once.
 */

export interface SessionLimits {
  maxSessions: number;
  maxSessionsPerClient: number;
  sessionIdleSecs: number;
}

/** A session as the registry sees it. */
export interface Session {
  readonly id: string;
  readonly client: string;
  /** Closes its transport; the registry has already forgotten it. */
  close(): Promise<void>;
}

interface Entry {
  session: Session;
  lastUsed: number;
  /** Requests and streams in flight. */
  busy: number;
}

/** A place held for a session being initialized. */
export interface Ticket {
  readonly client: string;
  settled: boolean;
}

/** Used within this long (at most a minute; half the idle time) a session is recent: it never makes room. */
const RECENT_MS_MAX = 60_000;

export class SessionLimitError extends Error {
  override name = 'SessionLimitError';
  constructor(message: string, readonly retryAfterSecs: number) {
    super(message);
  }
}

export class SessionRegistry {
  readonly limits: SessionLimits;
  readonly #now: () => number;
  /** In order of last use, least recent first. */
  readonly #entries = new Map<string, Entry>();
  /** Sessions and tickets per client. */
  readonly #perClient = new Map<string, number>();
  #tickets = 0;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(limits: SessionLimits, now: () => number = Date.now) {
    this.limits = limits;
    this.#now = now;
  }

  get size(): number {
    return this.#entries.size;
  }

  get recentMs(): number {
    return Math.min(RECENT_MS_MAX, (this.limits.sessionIdleSecs * 1000) / 2);
  }

  get(id: string): Session | undefined {
    return this.#entries.get(id)?.session;
  }

  /** Holds a place for a new session of `client`, making room if a session may give way; else throws SessionLimitError. */
  reserve(client: string): Ticket {
    const { maxSessions, maxSessionsPerClient } = this.limits;
    if (this.#count(client) >= maxSessionsPerClient && !this.#makeRoom(client)) {
      throw this.#refusal(`this client has ${this.#count(client)} MCP sessions open (at most ${maxSessionsPerClient} per client)`);
    }
    if (this.#entries.size + this.#tickets >= maxSessions && !this.#makeRoom()) {
      throw this.#refusal(`the server has ${this.#entries.size + this.#tickets} MCP sessions open (at most ${maxSessions})`);
    }
    this.#tickets += 1;
    this.#perClient.set(client, this.#count(client) + 1);
    return { client, settled: false };
  }

  /** The ticket's session began (it was initialized). */
  add(ticket: Ticket, session: Session): void {
    if (ticket.settled) return;
    ticket.settled = true;
    this.#tickets -= 1;
    this.#entries.set(session.id, { session, lastUsed: this.#now(), busy: 0 });
  }

  /** The ticket was not used (the request did not initialize a session). */
  release(ticket: Ticket): void {
    if (ticket.settled) return;
    ticket.settled = true;
    this.#tickets -= 1;
    this.#uncount(ticket.client);
  }

  /** Forgets a session (closed by its client, or by the server). */
  remove(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    this.#entries.delete(id);
    this.#uncount(entry.session.client);
  }

  /** A request or stream of the session starts; it is busy until `end`. */
  begin(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.busy += 1;
    this.#touch(id, entry);
  }

  end(id: string): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    entry.busy = Math.max(0, entry.busy - 1);
    this.#touch(id, entry);
  }

  /** Closes sessions idle for `sessionIdleSecs`; runs every so often once started. */
  sweep(): void {
    const cutoff = this.#now() - this.limits.sessionIdleSecs * 1000;
    for (const [id, entry] of this.#entries) {
      if (entry.lastUsed > cutoff) break;
      if (entry.busy === 0) this.#close(id, entry);
    }
  }

  start(): void {
    const every = Math.max(250, Math.min(30_000, (this.limits.sessionIdleSecs * 1000) / 4));
    this.#sweeper ??= setInterval(() => this.sweep(), every);
    this.#sweeper.unref();
  }

  async closeAll(): Promise<void> {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const all = [...this.#entries.values()].map((entry) => entry.session);
    for (const session of all) this.remove(session.id);
    await Promise.allSettled(all.map((session) => session.close()));
  }

  #count(client: string): number {
    return this.#perClient.get(client) ?? 0;
  }

  #uncount(client: string): void {
    const left = this.#count(client) - 1;
    if (left > 0) this.#perClient.set(client, left);
    else this.#perClient.delete(client);
  }

  #touch(id: string, entry: Entry): void {
    entry.lastUsed = this.#now();
    // Map order is the order of last use.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
  }

  /** Closes the least recently used session (of `client`, when given) that is idle and not recent; false if none may go. */
  #makeRoom(client?: string): boolean {
    const cutoff = this.#now() - this.recentMs;
    for (const [id, entry] of this.#entries) {
      if (entry.lastUsed > cutoff) return false;
      if (entry.busy === 0 && (client === undefined || entry.session.client === client)) {
        this.#close(id, entry);
        return true;
      }
    }
    return false;
  }

  #close(id: string, entry: Entry): void {
    this.remove(id);
    void entry.session.close().catch(() => undefined);
  }

  #refusal(why: string): SessionLimitError {
    const recentSecs = Math.round(this.recentMs / 1000);
    return new SessionLimitError(
      `Too many MCP sessions: ${why}, each in use or used in the last ${recentSecs} s. Close sessions you no longer need (DELETE /mcp with their Mcp-Session-Id), or retry later; idle sessions close after ${this.limits.sessionIdleSecs} s`,
      Math.max(1, recentSecs),
    );
  }
}
