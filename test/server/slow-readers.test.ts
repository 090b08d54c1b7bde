// Finding 1: clients that never read must not pin the server's memory. A `serve` process with its
// default bounds; 150 sockets ask REST for the largest page of control bytes, 50 sockets pipeline
// 400 such requests each, and 40 MCP sessions ask for it through get_output, and none of them
// reads. The server's RSS and fds are measured from /proc, and another client (another loopback
// address) must get correct answers meanwhile. A second server with a 2 s write timeout drops the
// sockets that never read; a third, with few file descriptors, caps connections so that idle ones
// cannot starve scripts of fds.
import type net from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe, type ServeProcess } from './processes.js';
import { fetchFrom, idle, initialize, MCP_HEADERS, nonReader, peakDuring, rawRequest, request, serverConnections, sleep, usage, type Usage } from './load.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

const CONTROL_BYTES = 'await Deno.stdout.write(new Uint8Array(1048576).fill(1));';
const OTHER = '127.0.0.2';
const READERS = 150;
const SESSIONS = 40;
/** What the attack may add to RSS; before the bounds it added over 1 GiB. */
const RSS_GROWTH_MIB = 256;

async function startRun(url: string, code: string, wait = 30): Promise<Record<string, any>> {
  const answer = await request(`${url}/v1/runs?wait=${wait}`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  return answer.json();
}

/** Polls until `check` holds or `ms` passed; the last value. */
async function until<T>(ms: number, read: () => T, check: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + ms;
  let value = read();
  while (!check(value) && Date.now() < deadline) {
    await sleep(100);
    value = read();
  }
  return value;
}

/**
 * Another client's ordinary work, checked for correctness while the attack goes on. Building the
 * attackers' pages takes the server's CPU for a moment first (a cost per request, not memory kept);
 * after that, liveness must be quick.
 */
async function otherClient(url: string, executionId: string): Promise<void> {
  await request(`${url}/healthz`, { from: OTHER, timeoutMs: 20_000 });
  const started = performance.now();
  const health = await request(`${url}/healthz`, { from: OTHER, timeoutMs: 5000 });
  assert.is(health.status, 200);
  assert.ok(performance.now() - started < 3000, `healthz took ${Math.round(performance.now() - started)} ms`);
  const run = await request(`${url}/v1/runs?wait=30`, { from: OTHER, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'console.log(6 * 7)' }) });
  assert.equal([run.status, run.json().status, run.json().stdout], [200, 'SUCCEEDED', '42\n']);
  const page = await request(`${url}/v1/runs/${executionId}/output/stdout?byteOffset=5&byteLimit=10`, { from: OTHER });
  assert.equal([page.status, page.json().text, page.json().byteOffset], [200, '\u0001'.repeat(10), 5]);
  const client = new Client({ name: 'other', version: '1' }, STRUCTURED);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { fetch: fetchFrom(OTHER) }));
  try {
    const answer = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("still fine")' } });
    assert.is((answer.structuredContent as Record<string, unknown>).stdout, 'still fine\n');
  } finally {
    await client.close();
  }
}

const bounded = suite('server slow readers');
let serve: ServeProcess;
let executionId: string;
let baseline: Usage;

bounded.before(async () => {
  serve = await startServe();
  const run = await startRun(serve.url, CONTROL_BYTES);
  assert.is(run.stdoutBytes, 1048576);
  executionId = run.executionId;
  // Warm: one whole page read, so the baseline includes what an honest reader costs.
  const page = await request(`${serve.url}/v1/runs/${executionId}/output/stdout?byteOffset=0&byteLimit=1048576`);
  assert.is(page.status, 200);
  await otherClient(serve.url, executionId);
  baseline = await idle(serve.url, serve.child.pid!);
});

bounded.after(async () => {
  await serve.stop();
});

bounded('slow readers :: 150 REST sockets that never read a 6 MiB page: RSS bounded, others answered', async () => {
  const port = Number(new URL(serve.url).port);
  const sockets: net.Socket[] = [];
  const { peak } = await peakDuring(serve.child.pid!, async () => {
    const raw = rawRequest('GET', port, `/v1/runs/${executionId}/output/stdout?byteOffset=0&byteLimit=1048576`);
    for (let i = 0; i < READERS; i += 1) sockets.push(await nonReader(port, raw));
    await sleep(1000);
    await otherClient(serve.url, executionId);
  });
  for (const socket of sockets) socket.destroy();
  const after = await until(5000, () => usage(serve.child.pid!), (now) => now.fds <= baseline.fds + 10);
  process.stderr.write(`  [slow readers REST] baseline ${baseline.rssMiB} MiB / ${baseline.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - baseline.rssMiB < RSS_GROWTH_MIB, `RSS grew ${peak.rssMiB - baseline.rssMiB} MiB (from ${baseline.rssMiB})`);
  assert.ok(after.fds <= baseline.fds + 10, `${after.fds} fds after they left (baseline ${baseline.fds})`);
  assert.ok(after.rssMiB - baseline.rssMiB < RSS_GROWTH_MIB, `RSS stayed ${after.rssMiB - baseline.rssMiB} MiB above the baseline`);
});

bounded('slow readers :: 50 sockets pipelining 400 page requests each, never reading: RSS bounded, others answered', async () => {
  const port = Number(new URL(serve.url).port);
  const before = await idle(serve.url, serve.child.pid!);
  const sockets: net.Socket[] = [];
  const raw = rawRequest('GET', port, `/v1/runs/${executionId}/output/stdout?byteOffset=0&byteLimit=1048576`).repeat(400);
  const { peak } = await peakDuring(serve.child.pid!, async () => {
    for (let i = 0; i < 50; i += 1) sockets.push(await nonReader(port, raw));
    await sleep(1000);
    await otherClient(serve.url, executionId);
  });
  for (const socket of sockets) socket.destroy();
  const after = await until(5000, () => usage(serve.child.pid!), (now) => now.fds <= before.fds + 10);
  process.stderr.write(`  [slow readers pipelined] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < RSS_GROWTH_MIB, `RSS grew ${peak.rssMiB - before.rssMiB} MiB (from ${before.rssMiB})`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds after they left (before ${before.fds})`);
});

bounded('slow readers :: 40 MCP sessions that never read get_output answers: RSS bounded, others answered', async () => {
  const port = Number(new URL(serve.url).port);
  const sessions: string[] = [];
  for (let i = 0; i < SESSIONS; i += 1) {
    const { sessionId } = await initialize(serve.url, '127.0.0.3');
    assert.ok(sessionId, 'initialize gave no session');
    sessions.push(sessionId);
  }
  const before = await idle(serve.url, serve.child.pid!);
  const sockets: net.Socket[] = [];
  const { peak } = await peakDuring(serve.child.pid!, async () => {
    for (const [i, sessionId] of sessions.entries()) {
      const body = JSON.stringify({ jsonrpc: '2.0', id: 2 + i, method: 'tools/call', params: { name: 'get_output', arguments: { executionId, stream: 'stdout', byteOffset: 0, byteLimit: 1048576 } } });
      sockets.push(await nonReader(port, rawRequest('POST', port, '/mcp', { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body), '127.0.0.3'));
    }
    await sleep(1000);
    await otherClient(serve.url, executionId);
  });
  for (const socket of sockets) socket.destroy();
  const after = await until(5000, () => usage(serve.child.pid!), (now) => now.fds <= before.fds + 10);
  process.stderr.write(`  [slow readers MCP] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < RSS_GROWTH_MIB, `RSS grew ${peak.rssMiB - before.rssMiB} MiB (from ${before.rssMiB})`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds after they left (before ${before.fds})`);
});

// ---

const timed = suite('server write timeout');
let quick: ServeProcess;

timed.before(async () => {
  quick = await startServe(['--write-timeout', '2']);
});

timed.after(async () => {
  await quick.stop();
});

timed('write timeout :: a socket that never reads its answer, or its progress, is dropped; its fd is freed', async () => {
  const port = Number(new URL(quick.url).port);
  const run = await startRun(quick.url, CONTROL_BYTES);
  const { sessionId } = await initialize(quick.url);
  const start = await idle(quick.url, quick.child.pid!);
  const sockets = [];
  for (let i = 0; i < 5; i += 1) sockets.push(await nonReader(port, rawRequest('GET', port, `/v1/runs/${run.executionId}/output/stdout?byteOffset=0&byteLimit=1048576`)));
  // An MCP session that never reads a 1.8 MB answer (300,000 control bytes, escaped, twice).
  const call = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'get_output', arguments: { executionId: run.executionId, stream: 'stdout', byteOffset: 0, byteLimit: 300_000 } } });
  sockets.push(await nonReader(port, rawRequest('POST', port, '/mcp', { ...MCP_HEADERS, 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-11-25' }, call)));
  await sleep(200);
  const held = usage(quick.child.pid!);
  assert.is(serverConnections(port), 6);
  // The clients never close them: the server must, 2 s after they stopped reading.
  const gone = await until(8000, () => serverConnections(port), (count) => count === 0);
  assert.is(gone, 0, 'the server kept sockets that never read');
  const after = usage(quick.child.pid!);
  process.stderr.write(`  [write timeout] start ${start.fds} fds; with 6 non-readers ${held.fds}; after the timeout ${after.fds}\n`);
  assert.ok(after.fds <= start.fds + 3, `${after.fds} fds after (${start.fds} before, ${held.fds} while held)`);
  assert.is((await request(`${quick.url}/healthz`)).status, 200);
  for (const socket of sockets) socket.destroy();
});

// ---

const capped = suite('server connection caps');
let few: ServeProcess;
const FD_LIMIT = 256;

capped.before(async () => {
  few = await startServe([], process.env, ['prlimit', `--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--']);
});

capped.after(async () => {
  await few.stop();
});

capped('connections :: 300 idle connections from one client under a 256-fd limit: capped, scripts still start, others served', async () => {
  const port = Number(new URL(few.url).port);
  const before = await idle(few.url, few.child.pid!);
  const sockets: net.Socket[] = [];
  const { peak } = await peakDuring(few.child.pid!, async () => {
    for (let i = 0; i < 300; i += 1) sockets.push(await nonReader(port, ''));
    await sleep(500);
    const health = await request(`${few.url}/healthz`, { from: OTHER });
    assert.is(health.status, 200);
    const runs = await Promise.all([1, 2, 3].map((n) => request(`${few.url}/v1/runs?wait=30`, { from: OTHER, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: `console.log(${n} * 2)` }) })));
    assert.equal(runs.map((run) => run.json().stdout), ['2\n', '4\n', '6\n']);
  });
  // Beyond its share (a quarter of the cap, itself half the fds left) each is refused: with a 503
  // while few are refused at once, else closed at once (a refusal must not hold an fd either).
  let refused = await request(`${few.url}/healthz`).catch(() => undefined);
  for (let tries = 0; !refused && tries < 30; tries += 1) {
    await sleep(100);
    refused = await request(`${few.url}/healthz`).catch(() => undefined);
  }
  assert.is(refused?.status, 503);
  assert.match(refused!.json().error.message, /this client has \d+ connections open \(at most \d+ per client\)/);
  for (const socket of sockets) socket.destroy();
  const after = await until(5000, () => usage(few.child.pid!), (now) => now.fds <= before.fds + 5);
  process.stderr.write(`  [connection caps] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.fds < FD_LIMIT - 64, `${peak.fds} fds at the peak (limit ${FD_LIMIT})`);
  assert.ok(after.fds <= before.fds + 5);
});

bounded.run();
timed.run();
capped.run();
