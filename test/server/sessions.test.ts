// Finding 2: nobody can evict everyone's MCP sessions. Clients at other loopback addresses open
// sessions as fast as they can while a live client waits on a tool call: the live session and its
// answer survive, each flooding client is refused at its own cap with an error that says so, the
// server's total cap refuses the rest, and the server's RSS and fds stay bounded. Idle sessions
// expire; a busy one (an open GET stream) does not; at a client's cap its least recently used
// session makes room only once it is no longer recent. The live client's script waits at a gate
// (an origin --allow-host lets it fetch) until the flood is over, so its call is in flight throughout.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe, type ServeProcess } from './processes.js';
import { idle as settled, initialize, MCP_HEADERS, peakDuring, request, sleep } from './load.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { startGate, type Gate } from '../helpers/gate.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

const caps = suite('server session caps');
let serve: ServeProcess;
let gate: Gate;

caps.before(async () => {
  gate = await startGate();
  serve = await startServe(['--max-sessions', '60', '--max-sessions-per-client', '20', '--allow-host', gate.url]);
});

caps.after(async () => {
  await serve.stop();
  await gate.close();
});

caps('sessions :: a flood of initializes neither evicts a live session nor loses its answer', async () => {
  const live = new Client({ name: 'live', version: '1' }, STRUCTURED);
  await live.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`)));
  const before = await settled(serve.url, serve.child.pid!);
  const call = live.callTool({ name: 'run_code', arguments: { code: `await (await fetch('${gate.url}/')).text(); console.log("live answer")`, waitSecs: 30 } });
  // The script is at the gate: the call is in flight before the flood begins.
  for (let tries = 0; gate.arrived === 0 && tries < 400; tries += 1) await sleep(25);
  assert.is(gate.arrived, 1, 'the live script reached the gate');
  const outcomes: Record<string, { ok: number; refused: string[] }> = {};
  const flood = async (from: string) => {
    const outcome = outcomes[from] = { ok: 0, refused: [] as string[] };
    for (let i = 0; i < 40; i += 1) {
      const { sessionId, status, text } = await initialize(serve.url, from);
      if (sessionId) outcome.ok += 1;
      else outcome.refused.push(`${status} ${text}`);
    }
  };
  const { peak } = await peakDuring(serve.child.pid!, async () => {
    // One client alone meets its own cap; then three at once meet the server's.
    await flood('127.0.0.2');
    await Promise.all(['127.0.0.3', '127.0.0.4', '127.0.0.5'].map(flood));
  });
  gate.open();
  const answer = await call;
  assert.is((answer.structuredContent as Record<string, unknown>).stdout, 'live answer\n');
  assert.ok((await live.listTools()).tools.length > 0, 'the live session was closed');
  const total = Object.values(outcomes).reduce((sum, outcome) => sum + outcome.ok, 0);
  // 59 places besides the live session; no client gets more than its 20.
  assert.is(total, 59);
  for (const [from, outcome] of Object.entries(outcomes)) {
    assert.ok(outcome.ok <= 20, `${from} got ${outcome.ok} sessions`);
    assert.ok(outcome.refused.every((text) => text.startsWith('429 ')), `${from}: ${outcome.refused[0]}`);
  }
  const messages = Object.values(outcomes).flatMap((outcome) => outcome.refused);
  assert.ok(messages.some((text) => /this client has 20 MCP sessions open \(at most 20 per client\)/.test(text)), messages[0]);
  assert.ok(messages.some((text) => /the server has 60 MCP sessions open \(at most 60\)/.test(text)), messages.at(-1));
  // A newcomer is refused too while every session is recent, with the same clear words.
  const newcomer = await initialize(serve.url, '127.0.0.9');
  assert.is(newcomer.status, 429);
  assert.match(newcomer.text, /at most 60\).*DELETE \/mcp/);
  const after = await settled(serve.url, serve.child.pid!);
  process.stderr.write(`  [sessions] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < 200, `RSS grew ${peak.rssMiB - before.rssMiB} MiB`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds (before ${before.fds})`);
  const health = await request(`${serve.url}/healthz`);
  assert.is(health.json().sessions, 60);
  await live.close();
});

// ---

const idle = suite('server session expiry');
let short: ServeProcess;

idle.before(async () => {
  short = await startServe(['--session-idle-secs', '3', '--max-sessions-per-client', '2']);
});

idle.after(async () => {
  await short.stop();
});

function listTools(url: string, sessionId: string) {
  return request(`${url}/mcp`, { headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' }, body: JSON.stringify({ jsonrpc: '2.0', id: 5, method: 'tools/list' }) });
}

idle('sessions :: at a client\'s cap only a session no longer recent makes room; idle ones expire, busy ones stay', async () => {
  const first = await initialize(short.url);
  const second = await initialize(short.url);
  // Both recent: the third is refused.
  const third = await initialize(short.url);
  assert.is(third.status, 429, third.text);
  // A GET stream keeps the second busy.
  const stream = await new Promise<http.IncomingMessage>((resolve, reject) => {
    http.get(`${short.url}/mcp`, { headers: { accept: 'text/event-stream', 'mcp-session-id': second.sessionId!, 'mcp-protocol-version': '2025-11-25' } }, resolve).on('error', reject);
  });
  assert.is(stream.statusCode, 200);
  await sleep(1700);
  // Past half the idle time the first is no longer recent: it makes room. It has not expired yet
  // (idle 3 s), so the room is made by the cap's rule.
  assert.is((await request(`${short.url}/healthz`)).json().sessions, 2, 'both sessions were still open');
  const fourth = await initialize(short.url);
  assert.ok(fourth.sessionId, fourth.text);
  assert.is((await listTools(short.url, first.sessionId!)).status, 404);
  // Idle 3 s, and the sweep runs every 0.75 s: it closes the fourth however late a busy machine runs it.
  let open = 2;
  for (let tries = 0; open > 1 && tries < 300; tries += 1) {
    await sleep(50);
    open = (await request(`${short.url}/healthz`)).json().sessions as number;
  }
  assert.is(open, 1, 'the sweep closed the idle session');
  // The fourth expired; the busy second did not.
  const expired = await listTools(short.url, fourth.sessionId!);
  assert.is(expired.status, 404);
  assert.match(expired.text, /unknown or closed; initialize a new one/);
  assert.is((await listTools(short.url, second.sessionId!)).status, 200);
  stream.destroy();
});

caps.run();
idle.run();
