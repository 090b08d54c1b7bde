/**
 * Fair admission: at most `concurrency` tasks run at once and at most `maxQueue` wait. Waiting tasks
 * are kept per client (a key the caller cannot mint for free: see clients.ts) and started
 * round-robin across clients, so one client sending a hundred scripts delays another client's one
 * script by at most one turn. Nor can clients fill the queue against a newcomer: while k clients
 * wait, each may hold at most maxQueue / (k + 1) waiting tasks (at least one), and the last tenth of
 * the queue (at least one place) is kept for clients with nothing waiting, so a newcomer finds a
 * place however the others got theirs. p-limit has no notion of clients, hence this small queue.
 */

type Task = () => Promise<void>;

export class QueueFullError extends Error {
  override name = 'QueueFullError';
}

export class FairScheduler {
  readonly concurrency: number;
  readonly maxQueue: number;
  /** Places only a client with nothing waiting may take. */
  readonly newcomerPlaces: number;
  #running = 0;
  #waiting = 0;
  /** Client → its waiting tasks; Map order is the round-robin order. */
  readonly #queues = new Map<string, Task[]>();

  constructor(concurrency: number, maxQueue: number) {
    this.concurrency = concurrency;
    this.maxQueue = maxQueue;
    this.newcomerPlaces = Math.max(1, Math.floor(maxQueue / 10));
  }

  get running(): number {
    return this.#running;
  }

  get waiting(): number {
    return this.#waiting;
  }

  /** Starts `task` now or queues it; throws QueueFullError when the queue is full. */
  submit(client: string, task: Task): void {
    if (this.#running < this.concurrency) {
      this.#start(task);
      return;
    }
    if (this.#waiting >= this.maxQueue) {
      throw new QueueFullError(`The server's queue is full: ${this.#running} scripts running and ${this.#waiting} waiting (at most ${this.maxQueue}); retry later`);
    }
    const queue = this.#queues.get(client) ?? [];
    if (queue.length > 0 && this.#waiting >= this.maxQueue - this.newcomerPlaces) {
      throw new QueueFullError(`The server's queue is full for this client: it has ${queue.length} scripts waiting, and the last ${this.newcomerPlaces} of ${this.maxQueue} places are kept for clients with none waiting; retry later`);
    }
    const clients = this.#queues.size + (queue.length === 0 ? 1 : 0);
    const share = Math.max(1, Math.floor(this.maxQueue / (clients + 1)));
    if (queue.length >= share) {
      throw new QueueFullError(`The server's queue is full for this client: it has ${queue.length} scripts waiting, its share while ${clients} clients wait (at most ${share} of ${this.maxQueue}); retry later`);
    }
    queue.push(task);
    this.#queues.set(client, queue);
    this.#waiting += 1;
  }

  /** Takes a task out of the queue before it started; false when it was not waiting. */
  remove(client: string, task: Task): boolean {
    const queue = this.#queues.get(client);
    const index = queue?.indexOf(task) ?? -1;
    if (!queue || index < 0) return false;
    queue.splice(index, 1);
    if (queue.length === 0) this.#queues.delete(client);
    this.#waiting -= 1;
    return true;
  }

  #start(task: Task): void {
    this.#running += 1;
    // Tasks record their own failures; one that still throws must not take the process down.
    void task().catch(() => undefined).finally(() => {
      this.#running -= 1;
      this.#next();
    });
  }

  #next(): void {
    const first = this.#queues.entries().next();
    if (first.done) return;
    const [client, queue] = first.value;
    const task = queue.shift()!;
    // The client goes to the back of the line.
    this.#queues.delete(client);
    if (queue.length > 0) this.#queues.set(client, queue);
    this.#waiting -= 1;
    this.#start(task);
  }
}
