// Hostile scripts against the tools path: reaching an upstream's URL or process directly, forging
// the relay's tool route with a session that is not theirs, reading another run's results, and a
// flood of calls — which must cost the orchestrator bounded memory while other runs' calls stay right.
import net from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime } from '../../orchestrator/index.js';
import { openRelaySession, relayHostPort } from '../../orchestrator/relay/relay.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { ToolHub } from '../../orchestrator/tools/hub.js';
import { startHttpUpstream, type HttpUpstream } from '../helpers/mcp-upstream.js';
import { FIXTURE_SERVER } from '../helpers/mcp-upstream.js';
import type { Runtime } from '../../types/runtime.js';

const hostile = suite('tools hostile');
let upstream: HttpUpstream;
let runtime: Runtime;
/** The flood's `blob` calls say it began, and are held until the other run has ended: the two overlap by construction. */
let floodBegan!: () => void;
const floodBegun = new Promise<void>((resolve) => (floodBegan = resolve));
let otherEnd!: () => void;
const otherEnded = new Promise<void>((resolve) => (otherEnd = resolve));

hostile.before(async () => {
  upstream = await startHttpUpstream();
  runtime = createRuntime({
    concurrency: 2,
    mcpServers: { remote: { url: upstream.url }, fixture: { command: process.execPath, args: [FIXTURE_SERVER] } },
    tools: { host: { echo: { handler: ({ tag }) => tag }, len: { handler: ({ tag }) => String(tag).length }, blob: { handler: async () => {
      floodBegan();
      await otherEnded;
      return 'z'.repeat(64 * 1024);
    } } } },
  });
});

hostile.after(async () => {
  otherEnd();
  await runtime.close();
  await upstream.close();
});

hostile('tools hostile :: a script reaches neither an upstream\'s URL nor its process', async () => {
  const pid = Number((await runtime.run({ code: 'console.log(await tools.fixture.pid({}))' })).stdout);
  assert.ok(pid > 0);
  const r = await runtime.run({
    code: `
      const out = [];
      const grab = async (f) => { try { await f(); out.push('REACHED'); } catch (e) { out.push(e.name); } };
      await grab(() => fetch(${JSON.stringify(upstream.url)}, { method: 'POST', body: '{}' }));
      await grab(() => Deno.connect({ hostname: '127.0.0.1', port: ${upstream.port} }));
      await grab(async () => Deno.kill(${pid}, 'SIGKILL'));
      await grab(() => new Deno.Command('/bin/sh', { args: ['-c', 'kill -9 ${pid}'] }).output());
      await grab(() => Deno.readTextFile('/proc/${pid}/environ'));
      console.log(JSON.stringify(out));
    `,
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(JSON.parse(r.stdout), ['NotCapable', 'NotCapable', 'NotCapable', 'NotCapable', 'NotCapable']);
  assert.is(upstream.headers.filter((h) => h['content-length'] === '2').length, 0, 'the upstream never saw the script\'s request');
  process.kill(pid, 0);
});

hostile('tools hostile :: the relay\'s tool route answers no made-up or ended session, and a connection is one run\'s', async () => {
  const [, port] = (await relayHostPort()).split(':');
  const r = await runtime.run({
    code: `
      const out = [];
      for (const secret of ['0'.repeat(48), 'g'.repeat(48), '../'.repeat(16)]) {
        const res = await fetch('http://127.0.0.1:${port}/r/' + secret + '/tools/call', { method: 'POST', body: JSON.stringify({ server: 'host', tool: 'echo', args: { tag: 'forged' } }) });
        out.push(res.status + ' ' + (await res.json()).error.type);
      }
      console.log(JSON.stringify(out));
    `,
  });
  assert.equal(JSON.parse(r.stdout), ['403 relay-forbidden', '403 relay-forbidden', '403 relay-forbidden'], r.stderr);
  // Sessions opened here stand in for two runs: an ended one's address is dead, and a connection
  // that spoke for one run cannot speak for another.
  const hub = new ToolHub({ mcpServers: { servers: [], secrets: [] }, hostTools: { host: { echo: { handler: ({ tag }) => tag } } } });
  const limits = { dispatcher: hub, maxCalls: 10, timeoutMs: 5000 };
  const a = await openRelaySession({ apiBaseUrl: 'http://127.0.0.1:1', tools: limits });
  const b = await openRelaySession({ apiBaseUrl: 'http://127.0.0.1:1', tools: limits });
  const body = JSON.stringify({ server: 'host', tool: 'echo', args: { tag: 'abcdefghijklmn' } });
  const call = (url: string) => `POST ${new URL(url).pathname}/tools/call HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
  const answers = await new Promise<string>((resolve) => {
    const socket = net.connect(Number(port), '127.0.0.1', () => {
      socket.write(call(a.url));
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk;
        if (text.includes('abcdefghijklmn') && !text.includes('second')) {
          text += '\nsecond\n';
          socket.write(call(b.url));
        }
      });
      socket.on('close', () => resolve(text));
    });
  });
  assert.match(answers, /^HTTP\/1\.1 200[\s\S]*"value":"abcdefghijklmn"[\s\S]*second[\s\S]*HTTP\/1\.1 429[\s\S]*relay-too-many-connections/);
  const { toolCalls } = await a.close({ abortRunning: false });
  assert.is(toolCalls.length, 1);
  assert.equal((await b.close({ abortRunning: false })).toolCalls, [], 'b never ran a call');
  const ended = await fetch(`${a.url}/tools/call`, { method: 'POST', body: '{"server":"host","tool":"echo","args":{}}' });
  assert.is(ended.status, 403);
});

hostile('tools hostile :: two runs calling the same upstream at once each get only their own answers', async () => {
  const script = (tag: string) => `
    const got = await Promise.all(Array.from({ length: 60 }, (_, i) => i % 2 ? tools.remote.echo({ message: '${tag}-' + i }) : tools.host.echo({ tag: '${tag}-' + i })));
    console.log(got.every((v, i) => v === '${tag}-' + i) ? 'all mine' : JSON.stringify(got));
  `;
  const [a, b] = await Promise.all([runtime.run({ code: script('alpha') }), runtime.run({ code: script('beta') })]);
  assert.is(a.stdout, 'all mine\n', a.stderr);
  assert.is(b.stdout, 'all mine\n', b.stderr);
  assert.is(a.toolCalls.length, 60);
});

hostile('tools hostile :: a flood of calls and of unread answers costs bounded memory; another run\'s calls stay right', async () => {
  global.gc?.();
  const before = process.memoryUsage().rss;
  const flood = runtime.run({
    code: `
      // 1,200 calls at once, large answers, arguments near the limit: the queue, maxToolCalls and the relay's budgets hold.
      const big = 'q'.repeat(200 * 1000);
      const results = await Promise.allSettled(Array.from({ length: 1200 }, (_, i) => i % 3 === 0 ? tools.host.blob({}) : i % 3 === 1 ? tools.host.len({ tag: big }) : tools.host.echo({ tag: 'x' })));
      const counts = {};
      for (const r of results) { const k = r.status === 'fulfilled' ? 'ok' : r.reason.type; counts[k] = (counts[k] ?? 0) + 1; }
      console.log(JSON.stringify(counts));
    `,
    timeoutSecs: 120,
  });
  // The other run starts once the flood's calls arrive (or the flood ended without any: the checks below say so).
  await Promise.race([floodBegun, flood]);
  const other = await runtime.run({ code: 'const v = await Promise.all([1,2,3].map((i) => tools.remote.echo({ message: "other-" + i }))); console.log(v.join(","))' }).finally(otherEnd);
  assert.is(other.stdout, 'other-1,other-2,other-3\n', other.stderr);
  const r = await flood;
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const counts = JSON.parse(r.stdout) as Record<string, number>;
  assert.is(counts.ok, 1000, r.stdout);
  assert.is(counts['tool-call-limit'], 200, r.stdout);
  assert.is(r.toolCalls.length, 1000);
  const grown = (process.memoryUsage().rss - before) / 1024 / 1024;
  assert.ok(grown < 300, `orchestrator RSS grew ${grown.toFixed(0)} MB`);
});

hostile('tools hostile :: names past the longest a tool may have are refused at the door, so records cannot hold a script\'s megabytes', async () => {
  const r = await runtime.run({
    code: `
      const out = [];
      for (const tool of ['n'.repeat(1024 * 1024 - 200), 't'.repeat(${RELAY_LIMITS.toolNameChars})]) {
        try { await tools.$call('host', tool, {}); out.push('called'); } catch (e) { out.push(e.type + ': ' + e.message.slice(0, 160)); }
      }
      console.log(JSON.stringify(out));
    `,
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const [longTool, atLimit] = JSON.parse(r.stdout) as string[];
  assert.match(longTool!, /^tool-invalid-request: A tool's name has at most 256 characters; this call's has 1048376/);
  assert.match(atLimit!, /^unknown-tool: host has no tool `t{100}/, 'a name at the limit is looked up as usual');
  assert.equal(r.toolCalls.map((call) => [call.server, call.tool.length]), [['host', RELAY_LIMITS.toolNameChars]], 'only the call that was made is recorded');
  // A raw request names a server the binding would have refused itself.
  const hub = new ToolHub({ mcpServers: { servers: [], secrets: [] }, hostTools: { host: { echo: { handler: () => 'x' } } } });
  const session = await openRelaySession({ apiBaseUrl: 'http://127.0.0.1:1', tools: { dispatcher: hub, maxCalls: 10, timeoutMs: 5000 } });
  const raw = await fetch(`${session.url}/tools/call`, { method: 'POST', body: JSON.stringify({ server: 'h'.repeat(100_000), tool: 'echo', args: {} }) });
  assert.is(raw.status, 400);
  assert.match(((await raw.json()) as { error: { message: string } }).error.message, /^A tool server's name has at most 64 characters; this call's has 100000$/);
  assert.equal((await session.close({ abortRunning: false })).toolCalls, []);
});

hostile('tools hostile :: a server\'s stderr, quoted in the operator\'s warning when it fails, has the configuration\'s secrets scrubbed', async () => {
  const secret = 'warned-secret-0123456789';
  const own = createRuntime({ mcpServers: { chatty: { command: process.execPath, args: [FIXTURE_SERVER, '--stderr-env', 'CHATTY_KEY'], env: { CHATTY_KEY: secret } } } });
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  try {
    const r = await own.run({ code: 'try { await tools.chatty.crash({}); } catch (e) { console.log(e.type); }' });
    assert.is(r.stdout, 'unavailable\n', r.stderr);
    await new Promise((resolve) => setImmediate(resolve));
    const said = warnings.find((warning) => warning.includes('`chatty`'));
    assert.ok(said, JSON.stringify(warnings));
    assert.match(said!, /its stderr ended with: fixture: starting with CHATTY_KEY=\[token redacted\]/);
    assert.not.ok(said!.includes(secret));
  } finally {
    process.off('warning', onWarning);
    await own.close();
  }
});

hostile.run();
