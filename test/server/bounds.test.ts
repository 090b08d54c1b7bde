// The server's bounds as units, with time moved by hand: who a client is (clients.ts), the event
// store's budgets and replay (events.ts), the session registry's caps, room-making and expiry
// (sessions.ts), the queue's places kept for newcomers (scheduler.ts), and which stop requests
// exit at once (shutdown.ts).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { addressKey, clientKey } from '../../orchestrator/server/clients.js';
import { EventLog } from '../../orchestrator/server/events.js';
import { FairScheduler, QueueFullError } from '../../orchestrator/server/scheduler.js';
import { SessionLimitError, SessionRegistry, type Session } from '../../orchestrator/server/sessions.js';
import { stopRequests } from '../../orchestrator/server/shutdown.js';

const clients = suite('server bounds: clients');

clients('clients :: an address is the key; IPv6 by its /64, IPv4-mapped as IPv4', () => {
  assert.is(addressKey('10.1.2.3'), 'address:10.1.2.3');
  assert.is(addressKey('::ffff:10.1.2.3'), 'address:10.1.2.3');
  assert.is(addressKey('2001:db8:0:1:aaaa:bbbb:cccc:dddd'), 'address:2001:db8:0:1/64');
  assert.is(addressKey('2001:db8::1'), addressKey('2001:0db8:0000:0000:ffff::2'));
  assert.is.not(addressKey('2001:db8:0:1::1'), addressKey('2001:db8:0:2::1'));
  assert.is(addressKey(undefined), 'address:unknown');
});

clients('clients :: a bearer token names a client only when something in front verified it', () => {
  assert.is(clientKey('10.0.0.1', 'Bearer alice-token', false), 'address:10.0.0.1');
  const alice = clientKey('10.0.0.1', 'Bearer alice-token', true);
  assert.match(alice, /^token:/);
  assert.not.match(alice, /alice/);
  assert.is(clientKey('10.0.0.2', 'Bearer alice-token', true), alice);
  assert.is.not(clientKey('10.0.0.1', 'Bearer bob-token', true), alice);
  assert.is(clientKey('10.0.0.1', undefined, true), 'address:10.0.0.1');
});

// ---

const events = suite('server bounds: events');
const message = (id: number, text: string) => ({ jsonrpc: '2.0' as const, id, result: { text } });

events('events :: a client that lost its stream gets what it missed, in order, without the priming event or progress', async () => {
  const store = new EventLog({ maxBytes: 1024 ** 2, perSessionBytes: 1024 ** 2, ttlMs: 60_000 }).session();
  const primed = store.store('s1', {});
  const first = await store.storeEvent('s1', message(1, 'one'));
  await store.storeEvent('s2', message(2, 'other stream'));
  await store.storeEvent('s1', { jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 1, progress: 5, message: 'printed' } });
  await store.storeEvent('s1', message(3, 'three'));
  assert.is(await store.getStreamIdForEventId(primed), 's1');
  const sent: string[] = [];
  const stream = await store.replayEventsAfter(primed, { send: async (id, sentMessage) => void sent.push(`${id} ${JSON.stringify(sentMessage)}`) });
  assert.is(stream, 's1');
  // The progress notification (s1~4) is not replayed: the answer supersedes it.
  assert.equal(sent.map((line) => line.split(' ')[0]), [first, 's1~5']);
  assert.match(sent[1]!, /"three"/);
  assert.is(await store.getStreamIdForEventId('nonsense'), undefined);
});

events('events :: a session keeps at most its share, all sessions the budget, for the TTL; oldest go first', async () => {
  let now = 0;
  const log = new EventLog({ maxBytes: 4000, perSessionBytes: 2500, ttlMs: 1000 }, () => now);
  const a = log.session();
  const b = log.session();
  const ids = [];
  for (let i = 0; i < 20; i += 1) ids.push(await a.storeEvent('s', message(i, 'x'.repeat(100))));
  assert.ok(a.bytes <= 2500 && a.bytes > 2000, `${a.bytes}`);
  const kept: number[] = [];
  await a.replayEventsAfter(ids[0]!, { send: async (_id, sent) => void kept.push((sent as { id: number }).id) });
  assert.is(kept.at(-1), 19, 'the newest are kept');
  assert.ok(kept[0]! > 1, 'the oldest went');
  for (let i = 0; i < 20; i += 1) await b.storeEvent('t', message(i, 'y'.repeat(100)));
  assert.ok(log.bytes <= 4000, `${log.bytes}`);
  assert.ok(a.bytes < 2000, 'the other session gave way to the budget');
  // Too large for a session's share: sent, not kept.
  const huge = await a.storeEvent('s', message(99, 'z'.repeat(3000)));
  assert.match(huge, /^s~/);
  now = 5000;
  await b.storeEvent('t', message(100, 'late'));
  assert.ok(log.bytes < 300, `expired events went (${log.bytes})`);
  a.clear();
  b.clear();
  assert.is(log.bytes, 0);
});

// ---

const sessions = suite('server bounds: sessions');

function registry(limits: Partial<ConstructorParameters<typeof SessionRegistry>[0]>, clock: { now: number }) {
  const closed: string[] = [];
  const made = new SessionRegistry({ maxSessions: 4, maxSessionsPerClient: 2, sessionIdleSecs: 100, ...limits }, () => clock.now);
  const open = (id: string, client: string) => {
    const ticket = made.reserve(client);
    const session: Session = { id, client, close: async () => void closed.push(id) };
    made.add(ticket, session);
    return session;
  };
  return { made, open, closed };
}

sessions('sessions :: a client at its cap is refused until one of its own sessions is neither busy nor recent', () => {
  const clock = { now: 0 };
  const { made, open, closed } = registry({}, clock);
  open('a1', 'A');
  open('a2', 'A');
  assert.throws(() => made.reserve('A'), (error: Error) => error instanceof SessionLimitError && /this client has 2 MCP sessions open \(at most 2 per client\)/.test(error.message));
  made.begin('a1');
  clock.now = 60_000;
  // a1 is busy, a2 idle for 60 s (past the 50 s "recent" of a 100 s idle time): a2 makes room.
  open('a3', 'A');
  assert.equal(closed, ['a2']);
  assert.ok(made.get('a1'));
  // Another client's sessions are not touched for A's cap.
  open('b1', 'B');
  assert.equal(closed, ['a2']);
});

sessions('sessions :: at the server\'s cap, the least recently used idle session of anyone makes room; a stray ticket is given back', () => {
  const clock = { now: 0 };
  const { made, open, closed } = registry({ maxSessions: 2 }, clock);
  open('a1', 'A');
  clock.now = 10;
  open('b1', 'B');
  assert.throws(() => made.reserve('C'), /the server has 2 MCP sessions open \(at most 2\)/);
  // Recent means used within half the idle time (50 s): a1 is not, b1 still is.
  clock.now = 50_009;
  open('c1', 'C');
  assert.equal(closed, ['a1']);
  assert.throws(() => made.reserve('D'), (error: Error) => error instanceof SessionLimitError);
  made.remove('c1');
  const ticket = made.reserve('D');
  made.release(ticket);
  made.release(ticket);
  assert.is(made.size, 1);
  open('d1', 'D');
  assert.is(made.size, 2);
});

sessions('sessions :: idle ones expire; busy ones never do', () => {
  const clock = { now: 0 };
  const { made, open, closed } = registry({}, clock);
  open('a1', 'A');
  open('b1', 'B');
  made.begin('b1');
  clock.now = 100_000;
  made.sweep();
  assert.equal(closed, ['a1']);
  assert.ok(made.get('b1'));
  made.end('b1');
  clock.now = 200_001;
  made.sweep();
  assert.equal(closed, ['a1', 'b1']);
  assert.is(made.size, 0);
});

// ---

const queue = suite('server bounds: queue');

queue('queue :: the last places are kept for newcomers however the others got theirs', () => {
  const fair = new FairScheduler(1, 20);
  const never = () => new Promise<void>(() => undefined);
  fair.submit('a', never);
  const fill = (client: string) => {
    let taken = 0;
    for (let i = 0; i < 20; i += 1) {
      try {
        fair.submit(client, never);
        taken += 1;
      } catch (error) {
        assert.ok(error instanceof QueueFullError);
      }
    }
    return taken;
  };
  // Alone, a takes half; b a third; c what is left but the two places kept for newcomers.
  assert.equal([fill('a'), fill('b'), fill('c')], [10, 6, 2]);
  assert.throws(() => fair.submit('c', never), /the last 2 of 20 places are kept for clients with none waiting/);
  fair.submit('d', never);
  fair.submit('e', never);
  assert.throws(() => fair.submit('f', never), /queue is full: 1 scripts running and 20 waiting/);
});

// ---

const stops = suite('server bounds: stop requests');

stops('stops :: the first request drains; a platform event never exits; a second signal does', async () => {
  const exits: Array<number | undefined> = [];
  const lines: string[] = [];
  const realExit = process.exit;
  process.exit = ((code?: number) => void exits.push(code)) as typeof process.exit;
  try {
    const requests = stopRequests((line) => lines.push(line));
    requests.request('the run is being aborted');
    assert.is(await requests.first, 'the run is being aborted');
    requests.request('the run is moving to another server');
    requests.request('SIGTERM', 143);
    assert.equal(exits, [], 'a SIGTERM after a platform event is its next step, not an operator losing patience');
    requests.request('SIGINT', 130);
    assert.equal(exits, [130]);
    assert.match(lines[0]!, /second signal \(SIGINT\)/);
  } finally {
    process.exit = realExit;
  }
});

clients.run();
events.run();
stops.run();
sessions.run();
queue.run();
