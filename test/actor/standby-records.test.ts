// Standby at platform scale, against the fake platform on loopback: Standby processes as runs of one
// user (each with its own default key-value store, one token). An execution made on run A is read,
// paged and fetched over MCP and REST on run B after A stopped, with the answers A gave; SIGTERM
// mid-run writes the records of what the run held, the aborted one saying the server shut down; one
// still running on A is answered on B with where it runs (never a 404), then with its result; a
// store that refuses writes costs only cross-run answers, and one that refuses reads says so; a
// JSON-only client and a stale session behave as the spec asks; a batch run still makes exactly its
// one item and no records.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ACTOR_ENTRY, startStandby, type StandbyProcess } from './harness.js';
import { startPlatform, type Platform, type PlatformRun } from './platform-mock.js';

const scale = suite('actor-standby-records');
let platform: Platform;
let runB: PlatformRun;
let b: StandbyProcess;

scale.before(async () => {
  platform = await startPlatform({}, { memoryMbytes: 1024 });
  runB = await platform.addRun();
  b = await startStandby(runB.env, { CODE_RUNTIME_HEARTBEAT_SECS: '1' });
});

scale.after(async () => {
  await b?.stop();
  await platform?.close();
});

type View = Record<string, any>;

async function rest(base: string, path: string, init: RequestInit = {}): Promise<{ status: number; body: View; headers: Headers }> {
  const response = await fetch(`${base}${path}`, { ...init, headers: { 'content-type': 'application/json', ...init.headers } });
  return { status: response.status, body: await response.json() as View, headers: response.headers };
}

async function mcpClient(base: string): Promise<Client> {
  const client = new Client({ name: 'standby-records', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  return client;
}

function text(result: unknown): string {
  return (result as { content: Array<{ text: string }> }).content[0]!.text;
}

/** Execution records in a run's default store. */
function executionKeys(run: PlatformRun): string[] {
  return [...run.records.keys()].filter((key) => key.startsWith('exe-'));
}

async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!await check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const LINES = 'for (let i = 1; i <= 2500; i++) console.log(`line ${i} ü`); console.error("a warning");';
const PAGE_PATHS = ['', '?lineOffset=1&lineLimit=100', '?lineOffset=2000&lineLimit=7', '?byteOffset=5000&byteLimit=1000', '?byteOffset=30000'];

scale('standby records :: executions made on A, A stopped by SIGTERM mid-run: B reads, pages and fetches the ended one as A did, and the one A had to abort with its output so far', async () => {
  const runA = await platform.addRun();
  const a = await startStandby(runA.env);
  const started = await rest(a.base, '/v1/runs?wait=30', { method: 'POST', body: JSON.stringify({ code: LINES }) });
  assert.is(started.body.status, 'SUCCEEDED', JSON.stringify(started.body).slice(0, 500));
  const id = started.body.executionId as string;
  assert.match(id, new RegExp(`^exe_${runA.storeId}_[A-Za-z0-9_-]{24}$`));

  // What A answers, while it holds it.
  const onA = await mcpClient(a.base);
  const sessionOnA = (onA.transport as StreamableHTTPClientTransport).sessionId!;
  const asked = { executionId: id, waitSecs: 0 };
  const expected = {
    view: (await rest(a.base, `/v1/runs/${id}`)).body,
    pages: await Promise.all(PAGE_PATHS.map(async (query) => (await rest(a.base, `/v1/runs/${id}/output/stdout${query}`)).body)),
    answer: text(await onA.callTool({ name: 'get_execution', arguments: asked })),
    small: text(await onA.callTool({ name: 'get_execution', arguments: { ...asked, maxAnswerChars: 1500 } })),
    output: text(await onA.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', lineOffset: 1200, lineLimit: 30 } })),
    stderr: text(await onA.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stderr' } })),
  };
  await onA.close().catch(() => undefined);

  // Another still runs when A gets SIGTERM: A stops it after its grace, and writes what it held.
  const cut = await rest(a.base, '/v1/runs', { method: 'POST', body: JSON.stringify({ code: 'console.log("before"); await new Promise((resolve) => setTimeout(resolve, 60_000)); console.log("after")' }) });
  const cutId = cut.body.executionId as string;
  await until(async () => (await rest(a.base, `/v1/runs/${cutId}`)).body.stdout === 'before\n', 'its first line');
  assert.is(await a.stop('SIGTERM'), 0, a.log());
  runA.status = 'ABORTED';
  assert.match(a.log(), /Standby: SIGTERM; finishing running scripts, then stopping/);
  assert.match(a.log(), /Standby: \d+ execution records written \(\d+ bytes\), 0 failed\n/);
  assert.is(executionKeys(runA).length, 2, `one record key per execution in A's store: ${executionKeys(runA).join(', ')}`);
  assert.equal(executionKeys(runB), []);
  const aborted = await rest(b.base, `/v1/runs/${cutId}`);
  assert.equal([aborted.status, aborted.body.state, aborted.body.status, aborted.body.stdout], [200, 'ended', 'ABORTED', 'before\n']);
  assert.match(aborted.body.statusMessage, /^The server shut down while the script was running/);

  // B answers the same, from A's record.
  assert.equal((await rest(b.base, `/v1/runs/${id}`)).body, expected.view);
  for (const [index, query] of PAGE_PATHS.entries()) assert.equal((await rest(b.base, `/v1/runs/${id}/output/stdout${query}`)).body, expected.pages[index], query);
  const onB = await mcpClient(b.base);
  assert.is(text(await onB.callTool({ name: 'get_execution', arguments: asked })), expected.answer);
  assert.is(text(await onB.callTool({ name: 'get_execution', arguments: { ...asked, maxAnswerChars: 1500 } })), expected.small);
  assert.is(text(await onB.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', lineOffset: 1200, lineLimit: 30 } })), expected.output);
  assert.is(text(await onB.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stderr' } })), expected.stderr);
  await onB.close();

  // A's MCP session is A's: on B it is unknown (404, as the spec asks), and the client begins anew.
  const stale = await fetch(`${b.base}/mcp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionOnA, 'mcp-protocol-version': '2025-06-18' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
  });
  assert.is(stale.status, 404);
  assert.match(((await stale.json()) as { error: { message: string } }).error.message, /unknown or closed; initialize a new one/);
  const unknown = await rest(b.base, `/v1/runs/exe_${runA.storeId}_${'Q'.repeat(24)}`);
  assert.equal([unknown.status, unknown.body.error.type], [404, 'not-found']);
});

/** A JSON-only client's call, with when each chunk of its answer arrived (`onChunk` hears each as it comes). */
function jsonCall(base: string, headers: Record<string, string>, body: unknown, onChunk?: (count: number) => void): Promise<{ answer: View; gaps: number[]; sessionId?: string }> {
  return new Promise((resolve, reject) => {
    const sent = Date.now();
    const request = http.request(`${base}/mcp`, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers } }, (response) => {
      const arrivals = [sent];
      let all = '';
      response.on('data', (chunk: Buffer) => {
        arrivals.push(Date.now());
        all += chunk.toString();
        onChunk?.(arrivals.length - 1);
      });
      response.on('end', () => {
        try {
          const sessionId = response.headers['mcp-session-id'] as string | undefined;
          resolve({ answer: JSON.parse(all) as View, gaps: arrivals.slice(1).map((at, index) => at - arrivals[index]!), sessionId });
        } catch (error) {
          reject(error);
        }
      });
    });
    request.on('error', reject);
    request.end(JSON.stringify(body));
  });
}

scale('standby records :: one still running on A is answered on B with where it runs, then with its result; refused writes and reads cost only cross-run answers', async () => {
  const runA = await platform.addRun();
  const a = await startStandby(runA.env);
  try {
    const started = await rest(a.base, '/v1/runs', { method: 'POST', body: JSON.stringify({ code: 'console.log("working"); await new Promise((resolve) => setTimeout(resolve, 60_000));' }) });
    const id = started.body.executionId as string;
    await until(() => executionKeys(runA).length === 1, 'its start record');

    const running = await rest(b.base, `/v1/runs/${id}`);
    assert.equal([running.status, running.body.state, running.body.heldBy], [200, 'running', runA.id]);
    assert.is(running.headers.get('retry-after'), '5');
    const onB = await mcpClient(b.base);
    const answer = text(await onB.callTool({ name: 'get_execution', arguments: { executionId: id, waitSecs: 1 } }));
    assert.match(answer, new RegExp(`is still running on another run of this Actor \\(run ${runA.id}\\) \\(after waiting 1 s\\); its output can be read once it ends\\. Call get_execution`));
    const cancel = await onB.callTool({ name: 'cancel_execution', arguments: { executionId: id } });
    assert.equal([cancel.isError, /only that run can stop it/.test(text(cancel))], [true, true]);
    assert.is((await rest(b.base, `/v1/runs/${id}/abort`, { method: 'POST' })).status, 409);

    // A JSON-only client on B waits for it across runs (B polls A's record); bytes flow the whole
    // time, and once two heartbeats have come, the script is stopped on A.
    const session = await jsonCall(b.base, {}, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'json', version: '1' } } });
    assert.is(session.answer.result.serverInfo.name, 'code-runtime');
    const headers = { 'mcp-session-id': session.sessionId!, 'mcp-protocol-version': '2025-06-18' };
    let aborted: Promise<unknown> | undefined;
    const { answer: ended, gaps } = await jsonCall(b.base, headers, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'get_execution', arguments: { executionId: id, waitSecs: 20 } } }, (count) => {
      if (count === 2) aborted = rest(a.base, `/v1/runs/${id}/abort`, { method: 'POST' });
    });
    assert.is(((await aborted) as { body: View }).body.status, 'ABORTED');
    assert.match(ended.result.content[0].text, /^ABORTED \(exit code 130\): Aborted by the caller .*\n--- stdout ---\nworking$/);
    assert.ok(Math.max(...gaps) < 2500 && gaps.length >= 3, `chunk gaps ${gaps.join(', ')} ms`);
    await onB.close();

    // A store that refuses A's writes: A answers for its own; B has no record, and says what that may mean.
    platform.refuse = new RegExp(`^PUT /v2/key-value-stores/${runA.storeId}/records/`);
    const unsaved = await rest(a.base, '/v1/runs?wait=30', { method: 'POST', body: JSON.stringify({ code: 'console.log("kept here")' }) });
    assert.equal([unsaved.body.status, unsaved.body.stdout], ['SUCCEEDED', 'kept here\n']);
    await until(() => /could not save execution record/.test(a.log()), 'the failed write in A\'s log');
    assert.is((await rest(a.base, `/v1/runs/${unsaved.body.executionId}`)).body.stdout, 'kept here\n');
    const missing = await rest(b.base, `/v1/runs/${unsaved.body.executionId}`);
    assert.is(missing.status, 404);
    assert.match(missing.body.error.message, /no run of this Actor has a record of it \(the id is unknown, or the run that made it could not save its record\)/);
    // A store that refuses reads: B says so (503), and B's own executions still answer.
    platform.refuse = /^GET \/v2\/key-value-stores\/[^/]+\/records\//;
    const unreadable = await rest(b.base, `/v1/runs/${unsaved.body.executionId}`);
    assert.equal([unreadable.status, unreadable.body.error.type], [503, 'records-unavailable']);
    assert.match(unreadable.body.error.message, new RegExp(`not held by this run, and the key-value store holding its record \\(${runA.storeId}\\) could not be read: .*Executions started on this run still answer`));
    const own = await rest(b.base, '/v1/runs?wait=30', { method: 'POST', body: JSON.stringify({ code: 'console.log("on B")' }) });
    assert.equal([own.status, (await rest(b.base, `/v1/runs/${own.body.executionId}`)).body.stdout], [200, 'on B\n']);
  } finally {
    platform.refuse = undefined;
    await a.stop();
    runA.status = 'SUCCEEDED';
  }
});

scale('standby records :: a batch run ({ code }) still makes exactly its one item, and no execution records', async () => {
  const batch = await startPlatform({ code: 'console.log(6 * 7)' });
  try {
    const run = await execa(process.execPath, [ACTOR_ENTRY], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...batch.env }, extendEnv: false, stdin: 'ignore', reject: false, all: true, timeout: 60_000 });
    assert.is(run.exitCode, 0, run.all);
    assert.equal(batch.items.map((item) => [item.status, item.stdout]), [['SUCCEEDED', '42\n']]);
    assert.equal([...batch.records.keys()], ['INPUT']);
    assert.equal(batch.requests.filter((request) => request.path.includes('/records/') && request.method === 'PUT'), []);
  } finally {
    await batch.close();
  }
});

scale.run();
