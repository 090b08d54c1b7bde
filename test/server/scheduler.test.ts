// Fair admission, directly: concurrency and queue bounds, and round-robin across clients so one
// client's backlog cannot starve another.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { FairScheduler, QueueFullError } from '../../orchestrator/server/scheduler.js';

const scheduler = suite('server scheduler');

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

scheduler('scheduler :: one client\'s backlog does not starve another', async () => {
  const fair = new FairScheduler(1, 10);
  const order: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const task = (name: string) => () => {
    order.push(name);
    const g = gate();
    gates.set(name, g);
    return g.promise;
  };
  for (const name of ['a1', 'a2', 'a3', 'a4']) fair.submit('a', task(name));
  fair.submit('b', task('b1'));
  assert.is(fair.running, 1);
  assert.is(fair.waiting, 4);
  for (let step = 0; step < 5; step += 1) {
    gates.get(order.at(-1)!)!.open();
    await new Promise((resolve) => setImmediate(resolve));
  }
  // b1 runs right after a2 (a's next turn), not after all of a's scripts.
  assert.equal(order, ['a1', 'a2', 'b1', 'a3', 'a4']);
});

scheduler('scheduler :: a full queue refuses, and a queued task can be removed', () => {
  const fair = new FairScheduler(1, 1);
  const never = () => new Promise<void>(() => undefined);
  fair.submit('a', never);
  const queued = () => Promise.resolve();
  fair.submit('a', queued);
  assert.throws(() => fair.submit('b', never), (error: Error) => error instanceof QueueFullError && /queue is full/.test(error.message));
  assert.ok(fair.remove('a', queued));
  assert.is(fair.waiting, 0);
  assert.not.ok(fair.remove('a', queued));
});

scheduler('scheduler :: clients cannot fill the queue against a newcomer', () => {
  const fair = new FairScheduler(1, 6);
  const never = () => new Promise<void>(() => undefined);
  fair.submit('a', never);
  // Alone, a client may hold half the queue (6 / 2), then it is refused with its share named.
  for (let i = 0; i < 3; i += 1) fair.submit('a', never);
  assert.throws(() => fair.submit('a', never), (error: Error) => error instanceof QueueFullError && /its share while 1 clients wait \(at most 3 of 6\)/.test(error.message));
  // A second client gets in: 6 / (2 + 1) = 2 for it.
  fair.submit('b', never);
  fair.submit('b', never);
  assert.throws(() => fair.submit('b', never), (error: Error) => error instanceof QueueFullError);
  // Two clients flooding still leave room for a third.
  fair.submit('c', never);
  assert.is(fair.waiting, 6);
  assert.throws(() => fair.submit('d', never), (error: Error) => /queue is full: 1 scripts running and 6 waiting/.test(error.message));
});

scheduler.run();
