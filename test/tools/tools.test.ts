// Scripts calling tools through `tools`, end to end: real Deno children, the relay, and real MCP
// upstreams — the reference server-everything over stdio, a small SDK server over stdio that can
// crash, hang and change its tool list, and an SDK server over Streamable HTTP in this process —
// plus host tools. One runtime (and so one connection per upstream) serves the whole suite.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, runCode, toolResult } from '../../orchestrator/index.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { rejects } from '../helpers/helpers.js';
import { childPids, EVERYTHING, FIXTURE_SERVER, startHttpUpstream, type HttpUpstream } from '../helpers/mcp-upstream.js';
import type { Runtime } from '../../types/runtime.js';
import type { HostTools, McpServers } from '../../types/mcp.js';

const SECRET = 'env-secret-7Hq2Lx9Vw4Rt';
const TOKEN = 'header-token-Zp8Kd3Mn6Bv1';
process.env.CODE_RUNTIME_TEST_SECRET = SECRET;
process.env.CODE_RUNTIME_TEST_TOKEN = TOKEN;

let peak = 0;
let live = 0;
const hostTools: HostTools = {
  calc: {
    add: {
      description: 'Adds two numbers',
      inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      handler: ({ a, b }) => (a as number) + (b as number),
    },
    list: { handler: () => [1, 'two', null] },
    nothing: { handler: () => undefined },
    fail: { handler: () => { throw new Error('calc broke: division by zero'); } },
    image: { handler: () => toolResult({ content: [{ type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }, { type: 'text', text: 'a pixel' }] }) },
    big: { handler: ({ bytes }) => 'y'.repeat(bytes as number) },
    // Counts how many calls are in its handler at once.
    busy: {
      handler: async () => {
        live += 1;
        peak = Math.max(peak, live);
        await new Promise((resolve) => setTimeout(resolve, 20));
        live -= 1;
        return peak;
      },
    },
    slow: { handler: (_args, { signal }) => new Promise((resolve) => signal.addEventListener('abort', () => resolve('late'))) },
  },
};

let upstream: HttpUpstream;
let runtime: Runtime;

function servers(): McpServers {
  return {
    everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], env: { SECRET_FOR_TEST: '${CODE_RUNTIME_TEST_SECRET}' } },
    fixture: { command: process.execPath, args: [FIXTURE_SERVER] },
    remote: { type: 'http', url: upstream.url, headers: { Authorization: 'Bearer ${CODE_RUNTIME_TEST_TOKEN}' } },
    broken: { command: '/nonexistent/code-runtime-test-server', args: ['--secret-flag'] },
    allow: { command: process.execPath, args: [EVERYTHING, 'stdio'], tools: ['echo'] },
  };
}

async function run(code: string, options: Record<string, unknown> = {}) {
  return runtime.run({ code, timeoutSecs: 60, ...options });
}

const tools = suite('tools');

tools.before(async () => {
  upstream = await startHttpUpstream();
  runtime = createRuntime({ concurrency: 2, mcpServers: servers(), tools: hostTools });
});

tools.after(async () => {
  const before = childPids(FIXTURE_SERVER).length + childPids(EVERYTHING).length;
  await runtime.close();
  assert.ok(before >= 2, `the stdio upstreams were running (${before})`);
  assert.equal([...childPids(FIXTURE_SERVER), ...childPids(EVERYTHING)], [], 'close() ended every upstream process');
  await upstream.close();
});

tools('tools :: server-everything over stdio and an SDK server over Streamable HTTP: values, brackets, structured content', async () => {
  const r = await run(`
    const sum = await tools.everything['get-sum']({ a: 2, b: 3 });
    const echoed = await tools.everything.echo({ message: 'héllo' });
    const weather = await tools.everything['get-structured-content']({ location: 'Chicago' });
    const remote = await tools.remote.echo({ message: 'over http' });
    const dynamic = await tools.$call('everything', 'get-sum', { a: 40, b: 2 });
    console.log(JSON.stringify({ sum, echoed, weather, remote, dynamic }));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(JSON.parse(r.stdout), {
    sum: 'The sum of 2 and 3 is 5.',
    echoed: 'Echo: héllo',
    weather: { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 },
    remote: 'over http',
    dynamic: 'The sum of 40 and 2 is 42.',
  });
  assert.equal(r.toolCalls.map((c) => [c.server, c.tool, c.status]), [
    ['everything', 'get-sum', 'SUCCEEDED'], ['everything', 'echo', 'SUCCEEDED'], ['everything', 'get-structured-content', 'SUCCEEDED'],
    ['remote', 'echo', 'SUCCEEDED'], ['everything', 'get-sum', 'SUCCEEDED'],
  ]);
  assert.ok(r.toolCalls.every((c) => Number.isInteger(c.durationMillis) && c.durationMillis >= 0));
});

tools('tools :: errors are catchable and name what exists: isError, unknown tool, unknown server, bad arguments', async () => {
  const r = await run(`
    const out = [];
    const grab = async (f) => { try { await f(); out.push('no error'); } catch (e) { out.push([e.name, e.type, e.message]); } };
    await grab(() => tools.everything['get-sum']({ a: 'two' }));
    await grab(() => tools.everything.nope({}));
    await grab(() => tools.nope.thing({}));
    await grab(() => tools.calc.fail({}));
    await grab(() => tools.calc.add({ a: 1 }));
    await grab(() => tools.calc.add([1, 2]));
    await grab(() => tools.allow['get-sum']({ a: 1, b: 2 }));
    console.log(JSON.stringify(out));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const [badArgs, unknownTool, unknownServer, hostError, schema, notObject, notAllowed] = JSON.parse(r.stdout) as string[][];
  assert.is(badArgs![0], 'ToolError');
  assert.match(badArgs![2]!, /get-sum/);
  assert.match(badArgs![2]!, /Invalid|number/i);
  assert.equal(unknownTool!.slice(0, 2), ['ToolError', 'unknown-tool']);
  assert.match(unknownTool![2]!, /everything has no tool `nope`; its tools are: .*echo.*get-sum/);
  assert.equal(unknownServer!.slice(0, 2), ['ToolError', 'unknown-tool']);
  assert.match(unknownServer![2]!, /no tool server `nope`; the servers are: everything, fixture, remote, broken, allow, calc/);
  assert.equal(hostError, ['ToolError', 'tool-error', 'calc.fail: calc broke: division by zero']);
  assert.equal(schema!.slice(0, 2), ['ToolError', 'invalid-arguments']);
  assert.match(schema![2]!, /calc\.add.*required property 'b'/);
  assert.match(notObject![2]!, /takes one object of named arguments.*got an array/);
  assert.match(notAllowed![2]!, /allow has no tool `get-sum`; its tools are: echo$/, 'the allowlist is all the script sees');
  assert.equal(r.toolCalls.map((c) => c.status), ['FAILED', 'FAILED', 'FAILED', 'FAILED', 'FAILED'], 'calls refused in the guest never reach the relay');
});

tools('tools :: $list describes every tool; $callTool gives the whole result (images) and does not throw on isError', async () => {
  const r = await run(`
    const list = await tools.$list();
    const image = await tools.$callTool('calc', 'image', {});
    const failed = await tools.$callTool('calc', 'fail', {});
    const tiny = await tools.$callTool('everything', 'get-tiny-image', {});
    console.log(JSON.stringify({
      servers: [...new Set(list.map((t) => t.server))],
      sum: list.find((t) => t.name === 'get-sum'),
      allow: list.filter((t) => t.server === 'allow').map((t) => t.name),
      image, failed, tinyTypes: tiny.content.map((c) => c.type),
      valueOfImage: await tools.calc.image({}),
    }));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.servers, ['everything', 'fixture', 'remote', 'allow', 'calc'], 'a server that cannot start is left out of the list');
  assert.equal(out.sum.server, 'everything');
  assert.equal(out.sum.kind, 'mcp');
  assert.equal(out.sum.inputSchema.required, ['a', 'b']);
  assert.equal(out.allow, ['echo']);
  assert.equal(out.image, { content: [{ type: 'image', data: 'iVBORw0KGgo=', mimeType: 'image/png' }, { type: 'text', text: 'a pixel' }] });
  assert.equal(out.failed, { content: [{ type: 'text', text: 'calc broke: division by zero' }], isError: true });
  assert.ok(out.tinyTypes.includes('image'), out.tinyTypes);
  assert.is(out.valueOfImage, 'a pixel', 'a rich result resolves to its text');
});

tools('tools :: host tools return any JSON value as is', async () => {
  const r = await run(`
    console.log(JSON.stringify([await tools.calc.add({ a: 2, b: 3 }), await tools.calc.list({}), await tools.calc.nothing({}) ?? 'undefined', await tools.calc.add({ a: 0.5, b: 0.25 })]));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(JSON.parse(r.stdout), [5, [1, 'two', null], 'undefined', 0.75]);
});

tools('tools :: secrets from ${VAR} and header values never reach the script, in any encoding', async () => {
  const r = await run(`
    const env = await tools.everything['get-env']({});
    const headers = await tools.$callTool('remote', 'echo-headers', {});
    const fixture = await tools.fixture.env({ name: 'SECRET_FOR_TEST' });
    console.log(env);
    console.log(JSON.stringify(headers));
    console.log(fixture);
    try { await tools.broken.anything({}); } catch (e) { console.log(e.message); }
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  // The upstreams did get them: the env var is in server-everything's environment, the header was sent.
  assert.match(r.stdout, /"SECRET_FOR_TEST": "\[token redacted\]"/);
  assert.ok(upstream.headers.some((h) => h.authorization === `Bearer ${TOKEN}`), 'the header reached the upstream');
  const forms = [SECRET, TOKEN].flatMap((secret) => [secret, secret.toUpperCase(), secret.toLowerCase(), Buffer.from(secret).toString('base64').slice(0, 16),
    Buffer.from(secret).toString('hex'), Buffer.from(`x${secret}`).toString('base64url').slice(4, 20)]);
  for (const form of forms) assert.not.ok(r.stdout.includes(form) || r.stderr.includes(form), `${form} leaked`);
  assert.ok((r.stdout.match(/\[token redacted\]/g) ?? []).length >= 7, r.stdout);
  // Nothing of the configuration either: not the broken server's command, nor the HTTP URL.
  assert.match(r.stdout, /the tool server `broken` could not be started: its command was not found \(ENOENT\)/);
  for (const detail of ['/nonexistent', '--secret-flag', upstream.url, String(upstream.port)]) assert.not.ok(r.stdout.includes(detail), `${detail} shown`);
});

tools('tools :: a literal key in a server\'s URL query (`?token=…`, as some MCP servers take it) is a secret too', async () => {
  const key = 'literal-url-key-0123456789';
  const own = createRuntime({ mcpServers: { keyed: { url: `${upstream.url}?token=${key}&region=eu` } } });
  try {
    const r = await own.run({ code: 'console.log(await tools.keyed["echo-url"]({}))' });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.match(r.stdout, /query=\?token=\[token redacted\]&region=eu/, 'the upstream got the key; the script sees it redacted');
    assert.not.ok(r.stdout.includes(key));
  } finally {
    await own.close();
  }
});

tools('tools :: a server that cannot start fails only its own calls, with why; a stdio server that crashes mid-call is started again', async () => {
  const r = await run(`
    const out = [];
    const grab = async (f) => { try { out.push(await f()); } catch (e) { out.push(e.type + ': ' + e.message); } };
    await grab(() => tools.broken.x({}));
    const before = await tools.fixture.pid({});
    await grab(() => tools.fixture.crash({}));
    await grab(() => tools.everything.echo({ message: 'still fine' }));
    const after = await tools.fixture.pid({});
    out.push(before !== after && Number(after) > 0 ? 'restarted' : 'same process ' + before + ' ' + after);
    console.log(JSON.stringify(out));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const [broken, crash, fine, restarted] = JSON.parse(r.stdout) as string[];
  assert.match(broken!, /^unavailable: the tool server `broken` could not be started: its command was not found/);
  assert.match(crash!, /^unavailable: fixture\.crash failed: the tool server `fixture` (exited|closed)/);
  assert.is(fine, 'Echo: still fine');
  assert.is(restarted, 'restarted');
});

tools('tools :: a tool that never answers times out at toolTimeoutSecs and is cancelled upstream', async () => {
  const cancelledBefore = upstream.cancelled;
  const started = upstream.hangStarted();
  const pending = run(`
    try { await tools.remote.hang({}); } catch (e) { console.log(e.type, e.message); }
    try { await tools.calc.slow({}); } catch (e) { console.log(e.type); }
  `, { toolTimeoutSecs: 1 });
  await started;
  const r = await pending;
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'timed-out remote.hang did not answer within 1 s (toolTimeoutSecs); the call was cancelled\ntimed-out\n');
  assert.equal(r.toolCalls.map((c) => c.status), ['TIMED-OUT', 'TIMED-OUT']);
  await upstream.cancelledAtLeast(cancelledBefore + 1);
});

tools('tools :: aborting a run cancels its calls in flight, upstream too', async () => {
  const cancelledBefore = upstream.cancelled;
  const started = upstream.hangStarted();
  const controller = new AbortController();
  const pending = run('await tools.remote.hang({});', { signal: controller.signal });
  await started;
  controller.abort();
  const r = await pending;
  assert.is(r.status, 'ABORTED');
  assert.equal(r.toolCalls.map((c) => [c.tool, c.status]), [['hang', 'ABORTED']]);
  await upstream.cancelledAtLeast(cancelledBefore + 1);
});

tools('tools :: a run that times out cancels its calls upstream', async () => {
  const cancelledBefore = upstream.cancelled;
  const r = await run('await tools.remote.hang({});', { timeoutSecs: 1 });
  assert.is(r.status, 'TIMED-OUT');
  assert.equal(r.toolCalls.map((c) => c.status), ['ABORTED']);
  await upstream.cancelledAtLeast(cancelledBefore + 1);
});

tools('tools :: limits: maxToolCalls, arguments over 1 MiB, results over 10 MiB, 8 calls in flight at once', async () => {
  peak = 0;
  const r = await run(`
    const out = {};
    out.busy = Math.max(...await Promise.all(Array.from({ length: 30 }, () => tools.calc.busy({}))));
    try { await tools.calc.add({ a: 1, b: 2, pad: 'x'.repeat(${RELAY_LIMITS.toolArgsBytes}) }); } catch (e) { out.args = e.type + ': ' + e.message; }
    try { await tools.calc.big({ bytes: ${RELAY_LIMITS.toolResultBytes + 10} }); } catch (e) { out.result = e.type + ': ' + e.message; }
    try { await tools.remote.big({ bytes: ${RELAY_LIMITS.toolResultBytes + 10} }); } catch (e) { out.remote = e.type; }
    const rest = await Promise.allSettled(Array.from({ length: 5 }, () => tools.calc.add({ a: 1, b: 1 })));
    out.rest = rest.map((s) => s.status === 'fulfilled' ? s.value : s.reason.type + ': ' + s.reason.message);
    console.log(JSON.stringify(out));
  `, { maxToolCalls: 36 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const out = JSON.parse(r.stdout);
  assert.ok(out.busy >= 2 && out.busy <= 8, `at most 8 at once, and some at once: ${out.busy}`);
  assert.ok(peak <= 8, `the handler saw ${peak} at once`);
  assert.match(out.args, /^tool-arguments-too-large: The tool call's arguments are 1\.0 MiB, over the limit of 1 MiB per call/);
  assert.match(out.result, /^tool-result-too-large: calc\.big answered with 10\.0 MiB, over the limit of 10 MiB per tool answer/);
  assert.is(out.remote, 'tool-result-too-large');
  // 30 + the two big results = 32 of 36 (arguments refused at the door never count): four more go, one is refused.
  assert.equal(out.rest, [2, 2, 2, 2, 'tool-call-limit: maxToolCalls limit of 36 reached: this run may make at most 36 tool calls']);
  assert.is(r.toolCalls.length, 36);
});

tools('tools :: a tool added at run time (notifications/tools/list_changed) can be called', async () => {
  const r = await run(`
    const out = [];
    try { await tools.fixture.added({}); } catch (e) { out.push(e.type); }
    out.push(await tools.fixture['add-tool']({}));
    for (let i = 0; i < 50; i++) {
      try { out.push(await tools.fixture.added({})); break; } catch (e) { if (e.type !== 'unknown-tool') throw e; await new Promise((r) => setTimeout(r, 20)); }
    }
    console.log(JSON.stringify(out));
  `);
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(JSON.parse(r.stdout), ['unknown-tool', 'ok', 'added works']);
});

tools('tools :: a run may add namespaces of its own; a clash with the runtime\'s is an error', async () => {
  const r = await runtime.run({ code: 'console.log(await tools.mine.hello({ name: "x" }), Object.keys(tools).includes("everything"))', tools: { mine: { hello: { handler: ({ name }) => `hi ${name}` } } } });
  assert.is(r.stdout, 'hi x true\n', r.stderr);
  await rejects(runtime.run({ code: '1', tools: { calc: { x: { handler: () => 1 } } } }), TypeError, /Two tool namespaces are named `calc`/);
});

tools('tools :: runCode starts its own servers and closes them (their processes end) when the run ends', async () => {
  const before = childPids(FIXTURE_SERVER).length;
  const r = await runCode({ code: 'console.log(await tools.own.pid({}))', mcpServers: { own: { command: process.execPath, args: [FIXTURE_SERVER] } } });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.ok(Number(r.stdout) > 0);
  assert.is(childPids(FIXTURE_SERVER).length, before, 'the run\'s own server is gone');
  assert.throws(() => process.kill(Number(r.stdout), 0), /ESRCH/);
});

tools('tools :: a run without tools gets a `tools` that says how to add them', async () => {
  const r = await runCode({ code: 'try { await tools.x.y() } catch (e) { console.log(e.message) }' });
  assert.is(r.stdout, 'This run has no tool servers; an operator adds them with --config (mcpServers) or createRuntime({ mcpServers, tools })\n');
  assert.equal(r.toolCalls, []);
});

tools.run();
