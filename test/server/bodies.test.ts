// Request bodies in flight (bodies.ts), issue 18. As units first, time moved by hand, bodies fed
// chunk by chunk through a Hono app's fetch: what is counted and for how long, the per-request
// limit before a byte is read, a client's half and the server's budget (with the room kept for
// small bodies), slow bodies giving way, chunked ones racing, the read timeout, MCP's error shape.
// Then against a real `serve`: 20 clients each sending an 80 MiB body at once, and slowly, with
// the serve process's RSS from /proc and another client answered; a declared or chunked body over
// the limit refused and its connection closed, not drained; a body that stops arriving dropped.
import net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BodyGate, MAX_REQUEST_BODY_BYTES } from '../../orchestrator/server/bodies.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { closedByServer, fetchFrom, idle, MCP_HEADERS, peakDuring, request, upload, type Usage } from './load.js';
import { startServe, type ServeProcess } from './processes.js';

const MiB = 1024 * 1024;

// ---

const units = suite('server bodies: units');

/** A body the test feeds by hand. */
function fed() {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let pulls = 0;
  const stream = new ReadableStream<Uint8Array>({ start: (made) => void (controller = made), pull: () => void (pulls += 1) }, { highWaterMark: 0 });
  return {
    stream,
    get pulls() {
      return pulls;
    },
    /** Chunks pushed and not yet read. */
    get unread() {
      return -(controller.desiredSize ?? 0);
    },
    push: (bytes: number, fill = 0x61) => controller.enqueue(new Uint8Array(bytes).fill(fill)),
    end: () => controller.close(),
  };
}

/** A gate over an app whose handler reads the whole body, then waits until the test lets it answer. */
function harness(maxBytes: number, readTimeoutSecs = 30) {
  const clock = { now: 0 };
  const gate = new BodyGate({ maxBytes, readTimeoutSecs }, () => clock.now);
  const app = new Hono();
  const held: Array<() => void> = [];
  app.use('*', gate.middleware((c) => c.req.header('x-client') ?? 'A'));
  app.post('*', async (c) => {
    const text = await c.req.text();
    const usedWhileAnswering = gate.budget.used;
    await new Promise<void>((resolve) => held.push(resolve));
    return c.json({ length: text.length, usedWhileAnswering });
  });
  const send = (body: ReadableStream<Uint8Array>, options: { length?: number; client?: string; path?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'x-client': options.client ?? 'A' };
    if (options.length !== undefined) headers['content-length'] = String(options.length);
    return app.fetch(new Request(`http://localhost${options.path ?? '/v1/runs'}`, { method: 'POST', headers, body, duplex: 'half' } as RequestInit));
  };
  /** Lets the oldest held answer go. */
  const answer = () => held.shift()?.();
  return { clock, gate, send, answer, held };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** Waits for `check`, always past the promise jobs already queued (a chunk read is seen a few jobs later). */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 200; i += 1) {
    await turn();
    if (check()) return;
  }
  assert.ok(check(), 'never happened');
}

units('bodies :: a body counts from its first byte until its answer is done; over the limit by its length, nothing is read', async () => {
  const { gate, send, answer, held } = harness(64 * MiB);
  assert.is(gate.maxRequestBytes, 32 * MiB, 'one request may send the client\'s half when that is less than the largest a caller needs');
  const body = fed();
  const pending = send(body.stream, { length: 3 * MiB });
  await until(() => gate.budget.used === 3 * MiB);
  body.push(2 * MiB);
  body.push(MiB);
  body.end();
  await until(() => held.length === 1);
  assert.is(gate.budget.used, 3 * MiB, 'held while it is answered');
  answer();
  const answered = await (await pending).json() as { length: number; usedWhileAnswering: number };
  assert.equal(answered, { length: 3 * MiB, usedWhileAnswering: 3 * MiB });
  assert.is(gate.budget.used, 0);

  const big = fed();
  const refused = await send(big.stream, { length: 32 * MiB + 1 });
  assert.is(refused.status, 413);
  assert.is(refused.headers.get('connection'), 'close');
  const error = (await refused.json() as { error: { type: string; message: string } }).error;
  assert.is(error.type, 'payload-too-large');
  assert.match(error.message, /The request body is 33554433 bytes, over the 33554432 bytes one request may send \(half of this server's maxBodiesBytes/);
  assert.is(big.pulls, 0, 'not a byte of it was read');
  assert.is(gate.budget.used, 0);
  // At the default budget, the largest request a caller needs fits.
  assert.is(new BodyGate({ maxBytes: 192 * MiB, readTimeoutSecs: 30 }).maxRequestBytes, MAX_REQUEST_BODY_BYTES);
});

units('bodies :: a client holds at most half (429); the server\'s budget is shared (503), with its last eighth kept for small bodies', async () => {
  const { gate, send, answer, held } = harness(64 * MiB);
  const first = fed();
  const a1 = send(first.stream, { length: 20 * MiB, client: 'A' });
  first.push(20 * MiB);
  first.end();
  await until(() => held.length === 1);
  const second = await send(fed().stream, { length: 20 * MiB, client: 'A' });
  assert.is(second.status, 429);
  assert.is(second.headers.get('retry-after'), '1');
  assert.match((await second.json() as { error: { message: string } }).error.message, /This client's request bodies .* already hold 20 MiB, and this body \(20971520 bytes\) would take them past 32 MiB, one client's share/);
  // Another client fits beside it, up to the big bodies' 56 MiB (64 less the eighth kept for small ones).
  const other = fed();
  const b1 = send(other.stream, { length: 30 * MiB, client: 'B' });
  other.push(30 * MiB);
  other.end();
  await until(() => held.length === 2);
  const third = await send(fed().stream, { length: 7 * MiB, client: 'C' });
  assert.is(third.status, 503);
  assert.match((await third.json() as { error: { message: string } }).error.message, /holding 50 MiB of request bodies .* does not fit in 64 MiB \(maxBodiesBytes \/ --max-bodies-mb; bodies over 1 MiB leave the last eighth to smaller ones\)/);
  // A small one still finds room.
  const small = fed();
  const c1 = send(small.stream, { length: 1000, client: 'C' });
  small.push(1000);
  small.end();
  await until(() => held.length === 3);
  while (held.length > 0) answer();
  assert.equal(await Promise.all([a1, b1, c1].map(async (pending) => (await pending).status)), [200, 200, 200]);
  assert.is(gate.budget.used, 0);
});

units('bodies :: when the budget is short, a body that stalled gives way; one that keeps arriving does not', async () => {
  const { clock, gate, send, answer, held } = harness(64 * MiB);
  const slow = fed();
  const a = send(slow.stream, { length: 28 * MiB, client: 'A' });
  slow.push(MiB);
  const steady = fed();
  const b = send(steady.stream, { length: 28 * MiB, client: 'B' });
  steady.push(MiB);
  await until(() => gate.budget.used === 56 * MiB && slow.unread === 0 && steady.unread === 0);
  clock.now = 1500;
  steady.push(MiB);
  await until(() => steady.unread === 0);
  const c = fed();
  const pending = send(c.stream, { length: 20 * MiB, client: 'C' });
  const dropped = await a;
  assert.is(dropped.status, 503);
  assert.match((await dropped.json() as { error: { message: string } }).error.message, /arriving too slowly to keep its place \(1048576 bytes of 29360128 in 1.5 s\)/);
  await until(() => gate.budget.used === 48 * MiB);
  c.push(20 * MiB);
  c.end();
  steady.push(26 * MiB);
  steady.end();
  await until(() => held.length === 2);
  answer();
  answer();
  assert.equal([(await b).status, (await pending).status], [200, 200]);
  assert.is(gate.budget.used, 0);
});

units('bodies :: chunked bodies are counted as they arrive: the earliest keeps its room, one over the limit is 413', async () => {
  const { clock, gate, send, answer, held } = harness(32 * MiB);
  const [early, middle, late] = [fed(), fed(), fed()];
  const first = send(early.stream, { client: 'A' });
  early.push(10 * MiB);
  const second = send(middle.stream, { client: 'B' });
  middle.push(10 * MiB);
  const third = send(late.stream, { client: 'C' });
  late.push(3 * MiB);
  await until(() => gate.budget.used === 23 * MiB && late.unread === 0);
  clock.now = 100;
  // 28 MiB are for big bodies (32 less an eighth): the earliest takes its room from the latest.
  early.push(6 * MiB);
  const refused = await third;
  assert.is(refused.status, 503);
  assert.match((await refused.json() as { error: { message: string } }).error.message, /room for a chunked body that began before this one \(3145728 bytes of a chunked body in 0.1 s\); retry, or send a Content-Length/);
  early.end();
  middle.end();
  await until(() => held.length === 2);
  answer();
  answer();
  assert.equal([(await first).status, (await second).status], [200, 200]);
  assert.is(gate.budget.used, 0);
  const over = fed();
  const tooLarge = send(over.stream, { client: 'A' });
  over.push(16 * MiB);
  over.push(1);
  const answerOver = await tooLarge;
  assert.is(answerOver.status, 413);
  assert.match((await answerOver.json() as { error: { message: string } }).error.message, /The request body passed 16777216 bytes, over the 16777216 bytes one request may send/);
  assert.is(gate.budget.used, 0);
});

units('bodies :: a body that receives nothing for the read timeout is dropped (408); at /mcp refusals are JSON-RPC errors', async () => {
  const { clock, gate, send } = harness(64 * MiB, 5);
  const quiet = fed();
  const pending = send(quiet.stream, { length: MiB, path: '/mcp' });
  quiet.push(1000);
  await until(() => gate.receiving === 1 && quiet.unread === 0);
  clock.now = 4000;
  gate.sweep();
  assert.is(gate.receiving, 1);
  clock.now = 5000;
  gate.sweep();
  const dropped = await pending;
  assert.is(dropped.status, 408);
  const rpc = await dropped.json() as { jsonrpc: string; id: null; error: { code: number; message: string } };
  assert.equal([rpc.jsonrpc, rpc.id, rpc.error.code], ['2.0', null, -32000]);
  assert.match(rpc.error.message, /The request body stopped arriving: nothing for 5 s \(1000 bytes of 1048576 received\); a body must keep arriving, with pauses under 5 s/);
  assert.is(gate.budget.used, 0);
});

// ---

const load = suite('server bodies: 20 clients, 80 MiB each');
/** What the attack may add to RSS; before the bound, at once it added 1.6 GiB, slowly 2.5 GiB (bench:hostile). */
const RSS_GROWTH_MIB = 1000;
const CLIENTS = 20;
let serve: ServeProcess;
/** A run with 60 MiB of input files (six of 10 MiB, each file's most): an 80 MiB body. */
let big: Buffer;

/** Another client's ordinary work, over REST and MCP, checked for correctness. */
async function otherClient(url: string): Promise<void> {
  const run = await request(`${url}/v1/runs?wait=30`, { from: '127.0.0.2', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'console.log(6 * 7)', files: { 'n.txt': { text: 'x' } } }) });
  assert.equal([run.status, run.json().stdout], [200, '42\n']);
  const client = new Client({ name: 'other', version: '1' }, { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { fetch: fetchFrom('127.0.0.2') }));
  try {
    const answer = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("still fine")' } });
    assert.is((answer.structuredContent as Record<string, unknown>).stdout, 'still fine\n');
  } finally {
    await client.close();
  }
}

/** Each answer's status and error type (or what ended it), counted. */
function tally(answers: Array<{ status: number; text: string } | { error: string }>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = 'error' in answer ? answer.error : `${answer.status} ${answer.status === 202 ? 'started' : JSON.parse(answer.text).error?.type}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

async function attack(name: string, options: Parameters<typeof upload>[2]): Promise<void> {
  const before: Usage = await idle(serve.url, serve.child.pid!);
  const { peak, value: answers } = await peakDuring(serve.child.pid!, async () => {
    const sent = Promise.all(Array.from({ length: CLIENTS }, (_, i) => upload(serve.url, big, { ...options, from: `127.0.1.${i + 1}` })));
    await otherClient(serve.url);
    return sent;
  });
  const counts = tally(answers);
  process.stderr.write(`  [bodies ${name}] before ${before.rssMiB} MiB; peak ${peak.rssMiB} MiB; answers ${JSON.stringify(counts)}\n`);
  assert.ok(peak.rssMiB - before.rssMiB < RSS_GROWTH_MIB, `RSS grew ${peak.rssMiB - before.rssMiB} MiB (from ${before.rssMiB})`);
  assert.ok((counts['202 started'] ?? 0) >= 1, `none started: ${JSON.stringify(counts)}`);
  assert.ok((counts['503 busy'] ?? 0) >= CLIENTS / 2, `the budget refused too few: ${JSON.stringify(counts)}`);
  const health = (await request(`${serve.url}/healthz`)).json();
  assert.is(health.bodyBytes, 0, 'every body\'s bytes were given back');
}

load.before(async () => {
  serve = await startServe();
  const file = Buffer.alloc(10 * 1024 * 1024, 7).toString('base64');
  big = Buffer.from(JSON.stringify({ code: 'console.log(1)', files: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, { base64: file }])) }));
  assert.ok(big.length > 80 * MiB && big.length < MAX_REQUEST_BODY_BYTES, `${big.length}`);
});

load.after(async () => {
  await serve.stop();
});

load('bodies :: 20 clients each POST an 80 MiB body at once: RSS bounded, the rest refused at once (503), another client answered', async () => {
  await attack('at once', {});
});

load('bodies :: 20 clients each send an 80 MiB body slowly, chunked: RSS bounded, the earliest kept, another client answered', async () => {
  await attack('slowly, chunked', { chunked: true, pieceBytes: 4 * MiB, everyMs: 100 });
});

// ---

const edges = suite('server bodies: limits and timeouts');
let small: ServeProcess;

edges.before(async () => {
  // One request may send 8 MiB here (half of 16); a body must keep arriving, with pauses under 1 s.
  small = await startServe(['--max-bodies-mb', '16', '--read-timeout', '1']);
});

edges.after(async () => {
  await small.stop();
});

/** A raw request whose headers and first bytes are sent, then nothing: the answer the server gives and whether it closed the connection. */
function rawBody(url: string, path: string, headers: Record<string, string>, first: string): Promise<{ head: string; body: string; closed: boolean }> {
  const port = Number(new URL(url).port);
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (text += chunk));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      const lines = [`POST ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`)];
      socket.write(`${lines.join('\r\n')}\r\n\r\n${first}`);
    });
    void closedByServer(socket, 10_000).then((closed) => {
      const [head = '', body = ''] = text.split('\r\n\r\n');
      resolve({ head, body, closed });
      socket.destroy();
    });
  });
}

edges('bodies :: a Content-Length over the limit is refused before its body is read, and the connection closed (REST and MCP)', async () => {
  const rest = await rawBody(small.url, '/v1/runs', { 'content-type': 'application/json', 'content-length': String(200 * MiB) }, '{"code":"');
  assert.match(rest.head, /^HTTP\/1.1 413 /);
  assert.match(rest.head, /connection: close/i);
  assert.is(JSON.parse(rest.body).error.type, 'payload-too-large');
  assert.match(JSON.parse(rest.body).error.message, /The request body is 209715200 bytes, over the 8388608 bytes one request may send \(half of this server's maxBodiesBytes \/ --max-bodies-mb\)/);
  assert.ok(rest.closed, 'the server kept the connection open to drain the body');
  const mcp = await rawBody(small.url, '/mcp', { ...MCP_HEADERS, 'content-length': String(9 * MiB) }, '{"jsonrpc":"2.0"');
  assert.match(mcp.head, /^HTTP\/1.1 413 /);
  const rpc = JSON.parse(mcp.body);
  assert.equal([rpc.jsonrpc, rpc.id, rpc.error.code], ['2.0', null, -32000]);
  assert.match(rpc.error.message, /The request body is 9437184 bytes, over the 8388608 bytes/);
  assert.ok(mcp.closed);
});

edges('bodies :: a chunked body is refused when it passes the limit; one that stops arriving is dropped after the read timeout', async () => {
  const chunked = await upload(small.url, Buffer.alloc(9 * MiB, 0x20), { chunked: true, pieceBytes: MiB });
  assert.ok('status' in chunked, JSON.stringify(chunked));
  assert.is((chunked as { status: number }).status, 413);
  assert.match((chunked as { text: string }).text, /The request body passed 8388608 bytes, over the 8388608 bytes one request may send/);
  const started = performance.now();
  const quiet = await rawBody(small.url, '/v1/runs', { 'content-type': 'application/json', 'content-length': String(MiB) }, '{"code":"');
  const tookMs = performance.now() - started;
  assert.match(quiet.head, /^HTTP\/1.1 408 /);
  assert.is(JSON.parse(quiet.body).error.type, 'request-timeout');
  assert.match(JSON.parse(quiet.body).error.message, /The request body stopped arriving: nothing for 1 s \(9 bytes of 1048576 received\); a body must keep arriving, with pauses under 1 s/);
  assert.ok(quiet.closed);
  assert.ok(tookMs < 5000, `dropped after ${Math.round(tookMs)} ms`);
  assert.is((await request(`${small.url}/healthz`)).json().bodyBytes, 0);
});

units.run();
load.run();
edges.run();
