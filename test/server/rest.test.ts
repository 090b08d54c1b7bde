// The REST API through a real HTTP server on 127.0.0.1 and `fetch` (raw `http` where a header must
// be forged): every route, waits that time out and are picked up later, paging a running and an
// ended execution across multi-byte characters, abort, the error statuses (400, 401/403, 404
// unknown and expired, 413, 429), Host/Origin checks, a disconnecting client, and hostile scripts
// contained as through runCode. One runtime (one warm pool) serves every server in this file.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, createServer, LIMITS, type CodeRuntimeServer, type Runtime } from '../../orchestrator/index.js';
import { startCanaries, type Canaries } from '../helpers/helpers.js';

const rest = suite('server rest');
const TOKEN_IN_DEFAULTS = 'apify_api_server-own-token-0123456789';

let runtime: Runtime;
let server: CodeRuntimeServer;
let base: string;
const extra: CodeRuntimeServer[] = [];

async function start(options: Parameters<typeof createServer>[0]): Promise<string> {
  const created = createServer({ runtime, ...options });
  extra.push(created);
  const address = await created.listen({ port: 0 });
  return `http://127.0.0.1:${address.port}`;
}

async function call(url: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const response = await fetch(url, json === undefined ? rest : { ...rest, method: rest.method ?? 'POST', headers: { 'content-type': 'application/json', ...rest.headers }, body: JSON.stringify(json) });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as Record<string, any> };
}

/** Asks for the output page at `url` until `done` says it is complete (at most 20 s); returns that answer. */
async function pageUntil(url: string, done: (page: Record<string, any>) => boolean) {
  const until = Date.now() + 20_000;
  for (;;) {
    const answer = await call(url);
    if (done(answer.body) || Date.now() > until) return answer;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A request with headers fetch will not forge (Host). */
function raw(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path, headers }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

rest.before(async () => {
  runtime = createRuntime({ concurrency: 2, defaults: { token: TOKEN_IN_DEFAULTS, apiBaseUrl: 'http://127.0.0.1:9' } });
  server = createServer({ runtime, concurrency: 2 });
  base = `http://127.0.0.1:${(await server.listen({ port: 0 })).port}`;
});

rest.after(async () => {
  await Promise.all([server, ...extra].map((each) => each.close()));
  await runtime.close();
});

rest('rest :: POST /v1/runs?wait answers with the result', async () => {
  const { status, body, headers } = await call(`${base}/v1/runs?wait=20`, { json: { code: 'console.log("héllo"); console.error("warn")' } });
  assert.is(status, 200);
  assert.is(body.state, 'ended');
  assert.is(body.status, 'SUCCEEDED');
  assert.is(body.stdout, 'héllo\n');
  assert.is(body.stderr, 'warn\n');
  assert.is(body.stdoutBytes, 7);
  assert.match(body.executionId, /^exe_/);
  assert.is(headers.get('location'), `/v1/runs/${body.executionId}`);
  const failed = await call(`${base}/v1/runs?wait=20`, { json: { code: 'throw new Error("boom")' } });
  assert.is(failed.status, 200);
  assert.is(failed.body.status, 'FAILED');
  assert.match(failed.body.statusMessage, /boom/);
});

rest('rest :: a run that outlives wait is 202; its output pages while it runs and after', async () => {
  const code = 'for (let i = 1; i <= 30; i++) console.log(`línea ${i} 😀`); await new Promise((r) => setTimeout(r, 1500)); console.log("fin");';
  const started = await call(`${base}/v1/runs?wait=0.3`, { json: { code } });
  assert.is(started.status, 202);
  assert.ok(['queued', 'running'].includes(started.body.state));
  const id = started.body.executionId;
  // Until both lines are in: the first page with any text may hold line 2 alone.
  const running = await pageUntil(`${base}/v1/runs/${id}/output/stdout?lineOffset=2&lineLimit=2`, (page) => page.nextLineOffset === 4);
  assert.is(running.body.state, 'running');
  assert.is(running.body.text, 'línea 2 😀\nlínea 3 😀\n');
  assert.is(running.body.nextLineOffset, 4);
  // Byte 2 is inside "í" and byte 11 inside "😀": the page moves to whole characters.
  const bytes = await call(`${base}/v1/runs/${id}/output/stdout?byteOffset=2&byteLimit=8`);
  assert.is(bytes.body.byteOffset, 3);
  assert.is(bytes.body.text, 'nea 1 ');
  assert.is(bytes.body.nextByteOffset, 9);
  const ended = await call(`${base}/v1/runs/${id}?wait=20`);
  assert.is(ended.body.status, 'SUCCEEDED');
  assert.ok(ended.body.stdout.endsWith('fin\n'));
  const tail = await call(`${base}/v1/runs/${id}/output/stdout?lineOffset=30`);
  assert.equal([tail.body.text, tail.body.hasMore, tail.body.state], ['línea 30 😀\nfin\n', false, 'ended']);
  const emoji = Buffer.from('línea 1 ').length;
  const split = await call(`${base}/v1/runs/${id}/output/stdout?byteOffset=${emoji + 1}&byteLimit=3`);
  assert.is(split.body.byteOffset, emoji + 4);
});

rest('rest :: abort ends it ABORTED with what it printed', async () => {
  const started = await call(`${base}/v1/runs`, { json: { code: 'console.log("before"); await new Promise(() => setInterval(() => {}, 1000));' } });
  assert.is(started.status, 202);
  // Aborted once its first page shows the line, however long it took to start.
  await pageUntil(`${base}/v1/runs/${started.body.executionId}/output/stdout`, (page) => page.text === 'before\n');
  const aborted = await call(`${base}/v1/runs/${started.body.executionId}/abort`, { method: 'POST' });
  assert.is(aborted.status, 200);
  assert.is(aborted.body.status, 'ABORTED');
  assert.is(aborted.body.exitCode, 130);
  assert.is(aborted.body.stdout, 'before\n');
});

rest('rest :: invalid options are 400 naming the option; a token is refused, never echoed', async () => {
  const bad = await call(`${base}/v1/runs`, { json: { code: 'console.log(1)', timeoutSecs: 99_999 } });
  assert.is(bad.status, 400);
  assert.equal(bad.body.error.type, 'invalid-request');
  assert.match(bad.body.error.message, /`timeoutSecs`.*1 to 3,600.*99999/);
  const token = await call(`${base}/v1/runs`, { json: { code: 'console.log(1)', token: 'apify_api_leakme' } });
  assert.is(token.status, 400);
  assert.match(token.body.error.message, /`token` is not accepted/);
  assert.not.match(JSON.stringify(token.body), /leakme/);
  const notJson = await call(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
  assert.is(notJson.status, 400);
  const wait = await call(`${base}/v1/runs/x?wait=99`);
  assert.is(wait.status, 400);
  assert.match(wait.body.error.message, /`wait`.*0 to 50/);
  const page = await call(`${base}/v1/runs/x/output/stdout?lineOffset=0`);
  assert.match(page.body.error.message, /`lineOffset`/);
});

rest('rest :: unknown ids and routes are 404; evicted ids say expired', async () => {
  const unknown = await call(`${base}/v1/runs/exe_doesnotexist`);
  assert.is(unknown.status, 404);
  assert.match(unknown.body.error.message, /unknown/);
  assert.is((await call(`${base}/v2/nothing`)).status, 404);
  assert.is((await call(`${base}/v1/runs/x/output/stdin`)).status, 404);
  const shortLived = await start({ ttlSecs: 1 });
  const done = await call(`${shortLived}/v1/runs?wait=20`, { json: { code: 'console.log(1)' } });
  assert.is(done.body.state, 'ended');
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const expired = await call(`${shortLived}/v1/runs/${done.body.executionId}`);
  assert.is(expired.status, 404);
  assert.match(expired.body.error.message, /expired/);
});

rest('rest :: a body over the cap is 413, refused at its declared length', async () => {
  // The cap has room for the longest script and 64 MiB of input files in base64; past it nothing is read.
  const port = Number(new URL(base).port);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/v1/runs', headers: { 'content-type': 'application/json', 'content-length': String(200 * 1024 * 1024) } }, (response) => {
      let body = '';
      response.on('data', (chunk) => (body += chunk));
      response.on('end', () => {
        resolve({ status: response.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.write('{"code":"');
  });
  assert.is(answer.status, 413);
  assert.is(JSON.parse(answer.body).error.type, 'payload-too-large');
  assert.match(JSON.parse(answer.body).error.message, /code is at most 1,000,000 characters, input files 64 MiB in base64/);
});

rest('rest :: a full queue is 429 with Retry-After; queued runs can be aborted', async () => {
  const small = await start({ concurrency: 1, maxQueue: 1 });
  const forever = { code: 'await new Promise(() => setInterval(() => {}, 1000));' };
  const first = await call(`${small}/v1/runs`, { json: forever });
  const second = await call(`${small}/v1/runs`, { json: forever });
  assert.is(second.body.state, 'queued');
  const third = await call(`${small}/v1/runs`, { json: forever });
  assert.is(third.status, 429);
  assert.is(third.headers.get('retry-after'), '5');
  assert.match(third.body.error.message, /queue is full/);
  const queued = await call(`${small}/v1/runs/${second.body.executionId}/abort`, { method: 'POST' });
  assert.equal([queued.body.status, queued.body.startedAt], ['ABORTED', undefined]);
  await call(`${small}/v1/runs/${first.body.executionId}/abort`, { method: 'POST' });
});

rest('rest :: Host and Origin must name an allowed host', async () => {
  const port = Number(new URL(base).port);
  assert.is((await raw(port, '/v1/openapi.json', { host: 'evil.example' })).status, 403);
  assert.is((await raw(port, '/v1/openapi.json', { host: `localhost:${port}`, origin: 'http://evil.example' })).status, 403);
  assert.is((await raw(port, '/mcp', { host: 'rebound.example:80' })).status, 403);
  assert.is((await raw(port, '/v1/openapi.json', { host: `localhost:${port}`, origin: `http://localhost:${port}` })).status, 200);
});

rest('rest :: a token is required off loopback, and checked', async () => {
  const open = createServer({ runtime });
  extra.push(open);
  try {
    await open.listen({ host: '0.0.0.0', port: 0 });
    assert.unreachable('listened on 0.0.0.0 without a token');
  } catch (error) {
    assert.match((error as Error).message, /needs an auth token/);
  }
  const token = 'a-long-enough-secret-token';
  const guarded = await start({ authToken: token });
  const none = await call(`${guarded}/v1/openapi.json`);
  assert.is(none.status, 401);
  assert.is(none.headers.get('www-authenticate'), 'Bearer');
  assert.is((await call(`${guarded}/v1/openapi.json`, { headers: { authorization: 'Bearer wrong-token' } })).status, 403);
  assert.is((await call(`${guarded}/v1/openapi.json`, { headers: { authorization: `Bearer ${token}` } })).status, 200);
  assert.is((await call(`${guarded}/healthz`)).status, 200);
});

rest('rest :: MCP sessions beyond the cap are refused while every session is recent; none is closed to make room', async () => {
  const capped = await start({ maxSessions: 2 });
  const clients = [new Client({ name: 'a', version: '1' }), new Client({ name: 'b', version: '1' }), new Client({ name: 'c', version: '1' })];
  try {
    await clients[0]!.connect(new StreamableHTTPClientTransport(new URL(`${capped}/mcp`)));
    await clients[1]!.connect(new StreamableHTTPClientTransport(new URL(`${capped}/mcp`)));
    await clients[2]!.connect(new StreamableHTTPClientTransport(new URL(`${capped}/mcp`))).then(
      () => assert.unreachable('a third session was made'),
      (error: Error) => assert.match(error.message, /the server has 2 MCP sessions open \(at most 2\)/),
    );
    assert.ok((await clients[0]!.listTools()).tools.length > 0);
    assert.ok((await clients[1]!.listTools()).tools.length > 0);
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
  }
});

rest('rest :: a stray MCP request without a session closes nobody\'s session', async () => {
  const capped = await start({ maxSessions: 1 });
  const client = new Client({ name: 'kept', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${capped}/mcp`)));
    const stray = await fetch(`${capped}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' });
    assert.is(stray.status, 400);
    await stray.text();
    assert.ok((await client.listTools()).tools.length > 0, 'the only real session was closed');
  } finally {
    await client.close();
  }
});

rest('rest :: on close, an MCP tool call waiting on a script still gets its ABORTED answer', async () => {
  const closing = createServer({ runtime, graceSecs: 0 });
  extra.push(closing);
  const address = await closing.listen({ port: 0 });
  const client = new Client({ name: 'draining', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${address.port}/mcp`)));
  let printed = false;
  const call = client.callTool({ name: 'run_code', arguments: { code: 'console.log("ready!"); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 30 } }, undefined, {
    timeout: 20_000,
    onprogress: (event) => {
      // Not a bare word: the first progress names the execution, whose random id could hold one.
      printed ||= (event.message ?? '').includes('ready!');
    },
  });
  for (let tries = 0; !printed && tries < 200; tries += 1) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.ok(printed, 'the script never printed');
  await closing.close();
  const answer = await call;
  assert.match((answer.content as Array<{ text: string }>)[0]!.text, /^ABORTED \(exit code 130\)[^\n]*\n--- stdout ---\nready!$/);
  await client.close().catch(() => undefined);
});

rest('rest :: a client that goes away mid-wait loses nothing', async () => {
  const started = await call(`${base}/v1/runs`, { json: { code: 'await new Promise((r) => setTimeout(r, 700)); console.log("still here")' } });
  const controller = new AbortController();
  const abandoned = fetch(`${base}/v1/runs/${started.body.executionId}?wait=20`, { signal: controller.signal });
  setTimeout(() => controller.abort(), 200);
  await abandoned.then(() => assert.unreachable('the wait was not abandoned'), () => undefined);
  const later = await call(`${base}/v1/runs/${started.body.executionId}?wait=20`);
  assert.equal([later.body.status, later.body.stdout], ['SUCCEEDED', 'still here\n']);
});

rest('rest :: the OpenAPI document names exactly the routes, with the limits', async () => {
  const { status, body } = await call(`${base}/v1/openapi.json`);
  assert.is(status, 200);
  assert.is(body.openapi, '3.1.0');
  assert.equal(Object.keys(body.paths).sort(), ['/v1/openapi.json', '/v1/runs', '/v1/runs/{id}', '/v1/runs/{id}/abort', '/v1/runs/{id}/files/{name}', '/v1/runs/{id}/output/{stream}']);
  const options = body.components.schemas.RunOptions;
  assert.equal([options.properties.timeoutSecs.maximum, options.properties.code.maxLength], [LIMITS.timeoutSecs.max, LIMITS.codeChars.max]);
  assert.equal(options.required, ['code']);
  assert.is(options.additionalProperties, false);
});

rest('rest :: hostile scripts are contained as through runCode', async () => {
  let canaries: Canaries | undefined;
  try {
    canaries = await startCanaries();
    const probes = [
      `Deno.readTextFile(${JSON.stringify(canaries.file)})`,
      `Deno.env.get(${JSON.stringify(canaries.envName)})`,
      `Deno.env.get("APIFY_TOKEN")`,
      `fetch(${JSON.stringify(canaries.server.url)}).then((r) => r.text())`,
      // By absolute path: the sandbox has no PATH, and a program not found proves nothing.
      'new Deno.Command("/usr/bin/id").output()',
    ];
    const code = probes.map((expr, i) => `try { console.log(${i}, "ok", String(await ${expr})); } catch (e) { console.log(${i}, "denied", e?.name); }`).join('\n')
      + '\nconsole.log(JSON.stringify(globalThis.apify ? Object.keys(apify) : []));';
    const { body } = await call(`${base}/v1/runs?wait=30`, { json: { code } });
    const all = JSON.stringify(body);
    for (const secret of [canaries.fileSecret, canaries.envSecret, 'server-canary', TOKEN_IN_DEFAULTS]) assert.not.ok(all.includes(secret), `leaked ${secret}`);
    // Refused by the sandbox (NotCapable), not failing for some other reason.
    for (let i = 0; i < probes.length; i += 1) assert.match(body.stdout, new RegExp(`^${i} denied NotCapable$`, 'm'));
    // A flood is held to the per-stream cap; the server stays well.
    const capped = await start({ streamCapBytes: 64 * 1024 });
    const flood = await call(`${capped}/v1/runs?wait=30`, { json: { code: 'const line = "z".repeat(1023) + "\\n"; for (let i = 0; i < 2048; i++) console.log(line);' } });
    assert.is(flood.body.stdoutComplete, false);
    assert.ok(flood.body.stdoutBytes > 2 * 1024 ** 2);
    const last = await call(`${capped}/v1/runs/${flood.body.executionId}/output/stdout?byteOffset=${flood.body.stdoutBytes - 10}`);
    assert.is(last.body.text.length, 10);
    assert.is((await call(`${capped}/healthz`)).body.ok, true);
  } finally {
    await canaries?.close();
  }
});

rest.run();
