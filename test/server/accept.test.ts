// Real clients' Accept headers at /mcp, against an in-process server (scripted runtime, loopback):
// `Accept: application/json` alone, and no Accept, get a session that answers in JSON (the SDK's
// transport alone would refuse them 406); what the session cannot answer is refused with a message
// that says what to send; an unknown session is a 404; and bytes keep flowing during a long wait,
// both as JSON (whitespace before the answer) and as SSE (keep-alive comments), at most a heartbeat
// apart, so a gateway that cuts idle connections does not cut the call.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { HEARTBEAT_SECS, takesJson } from '../../orchestrator/server/accept.js';
import { createServer, type CodeRuntimeServer } from '../../orchestrator/server/http.js';
import { script, scriptedRuntime } from '../helpers/scripted-runtime.js';

const accept = suite('server accept');
let server: CodeRuntimeServer;
let base = '';

accept.before(async () => {
  server = createServer({ runtime: scriptedRuntime(), concurrency: 2, heartbeatSecs: 1 });
  const { port } = await server.listen({ port: 0 });
  base = `http://127.0.0.1:${port}`;
});

accept.after(async () => {
  await server.close();
});

const INITIALIZE = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'json-only', version: '1' } } };

async function post(body: unknown, headers: Record<string, string>): Promise<Response> {
  return fetch(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** A session begun with `accept` (undefined: no Accept header at all); returns the headers to go on with. */
async function begin(accept: string | undefined): Promise<Record<string, string>> {
  const headers: Record<string, string> = accept === undefined ? {} : { accept };
  const response = await post(INITIALIZE, headers);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const answer = await response.json() as { result: { serverInfo: { name: string } } };
  assert.is(answer.result.serverInfo.name, 'code-runtime');
  const session = { ...headers, 'mcp-session-id': response.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
  assert.is((await post({ jsonrpc: '2.0', method: 'notifications/initialized' }, session)).status, 202);
  return session;
}

for (const [label, header] of [['Accept: application/json alone', 'application/json'], ['no Accept at all', undefined], ['Accept: */*', '*/*']] as const) {
  accept(`accept :: a client sending ${label} gets a session that answers in JSON`, async () => {
    const session = await begin(header);
    const listed = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, session);
    assert.is(listed.status, 200);
    assert.ok(((await listed.json()) as { result: { tools: unknown[] } }).result.tools.length >= 5);
    const called = await post({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'run_code', arguments: { code: script({ stdout: '42\n' }) } } }, session);
    assert.match(called.headers.get('content-type') ?? '', /^application\/json/);
    const answer = await called.json() as { result: { content: Array<{ text: string }> } };
    assert.match(answer.result.content[0]!.text, /^SUCCEEDED .*\n--- stdout ---\n42$/);
  });
}

accept('accept :: what a session cannot answer is refused, saying what to send; an unknown session is a 404', async () => {
  const html = await post(INITIALIZE, { accept: 'text/html' });
  assert.is(html.status, 406);
  assert.match(((await html.json()) as { error: { message: string } }).error.message, /send `Accept: application\/json`/);
  // A session that began with SSE keeps answering as SSE.
  const sse = await beginSse();
  const jsonOnly = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { ...sse, accept: 'application/json' });
  assert.is(jsonOnly.status, 406);
  assert.match(((await jsonOnly.json()) as { error: { message: string } }).error.message, /answers as Server-Sent Events.*begin a new session with `Accept: application\/json`/);
  const stale = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { accept: 'application/json', 'mcp-session-id': 'a-session-from-another-run' });
  assert.is(stale.status, 404);
  assert.equal(((await stale.json()) as { error: { code: number } }).error.code, -32001);
  assert.ok(takesJson(new Request('http://x/', { headers: { accept: 'application/json;q=0.9, */*;q=0.1' } })));
  assert.not.ok(takesJson(new Request('http://x/', { headers: { accept: 'application/jsonx' } })));
});

/** A session begun as the SDK's client begins one (it takes SSE). */
async function beginSse(): Promise<Record<string, string>> {
  const accept = 'application/json, text/event-stream';
  const response = await post(INITIALIZE, { accept });
  await response.text();
  return { accept, 'mcp-session-id': response.headers.get('mcp-session-id')!, 'mcp-protocol-version': '2025-06-18' };
}

/** Posts `body` with raw http and notes when each chunk of the answer arrived. */
function timedPost(headers: Record<string, string>, body: unknown): Promise<{ status: number; text: string; gaps: number[] }> {
  return new Promise((resolve, reject) => {
    const { port } = new URL(base);
    const sent = Date.now();
    const request = http.request({ host: '127.0.0.1', port: Number(port), path: '/mcp', method: 'POST', headers: { 'content-type': 'application/json', ...headers } }, (response) => {
      const arrivals = [sent];
      let text = '';
      response.on('data', (chunk: Buffer) => {
        arrivals.push(Date.now());
        text += chunk.toString();
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text, gaps: arrivals.slice(1).map((at, index) => at - arrivals[index]!) }));
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

accept('accept :: bytes keep flowing during a long wait, a heartbeat apart, for JSON and for SSE clients', async () => {
  assert.ok(HEARTBEAT_SECS < 15, 'by default, well within a 15 s idle cut');
  const call = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'run_code', arguments: { code: script({ stdout: 'slow\n', waitMs: 3500 }), waitSecs: 10 } } };
  // Both at once: the same 3.5 s serve both checks.
  await Promise.all(['application/json', 'application/json, text/event-stream'].map(async (header) => {
    const headers = header === 'application/json' ? await begin(header) : await beginSse();
    const answer = await timedPost(headers, call);
    assert.is(answer.status, 200);
    const longest = Math.max(...answer.gaps);
    // 1 s heartbeats over a 3.5 s wait: several, none much later than a heartbeat.
    assert.ok(answer.gaps.length >= 4, `${header}: ${answer.gaps.length} chunks (${answer.gaps.join(', ')} ms)`);
    assert.ok(longest < 2000, `${header}: ${longest} ms without a byte (${answer.gaps.join(', ')})`);
    const message = header === 'application/json'
      ? JSON.parse(answer.text) as { result: { content: Array<{ text: string }> } }
      : JSON.parse(answer.text.split('\n').filter((line) => line.startsWith('data: {')).at(-1)!.slice(6)) as { result: { content: Array<{ text: string }> } };
    assert.match(message.result.content[0]!.text, /^SUCCEEDED .*\n--- stdout ---\nslow$/);
    if (header === 'application/json') assert.match(answer.text, /^\n+\{/, 'whitespace before the JSON, which JSON allows');
    else assert.match(answer.text, /: keepalive/);
  }));
});

accept('accept :: the SDK\'s own client still gets SSE, with progress', async () => {
  const client = new Client({ name: 'sdk', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  const progress: string[] = [];
  const result = await client.callTool({ name: 'run_code', arguments: { code: script({ stdout: 'p\n' }) } }, undefined, { onprogress: (event) => void progress.push(event.message ?? '') });
  assert.match((result.content as Array<{ text: string }>)[0]!.text, /^SUCCEEDED/);
  assert.ok(progress.length > 0);
  await client.close();
});

accept.run();
