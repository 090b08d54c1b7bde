// What a model pays and reads. The answer text cut to `maxAnswerChars` (over real output streams,
// no Deno); then through the SDK's Client over Streamable HTTP: the size of tools/list, a hello
// world and a 50 KB answer, the output held once (text by default, structuredContent on request),
// annotations, cancel as a success, and REST's wait, 400 and operationIds. One runtime serves all.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, createServer, type CodeRuntimeServer, type Runtime } from '../../orchestrator/index.js';
import { ExecutionStore, type Execution } from '../../orchestrator/server/executions.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { ANSWER_LIMITS } from '../../orchestrator/server/schemas.js';
import { answerHeadline, answerText } from '../../orchestrator/server/view.js';
import type { RunResult } from '../../types/result.js';

type Result = { content: Array<{ type: string; text: string }>; structuredContent?: Record<string, any>; isError?: boolean };

const text = (result: unknown) => (result as Result).content[0]!.text;
const size = (value: unknown) => JSON.stringify(value).length;

// ---

const shape = suite('server answers :: text');
const store = new ExecutionStore();

function result(status: RunResult['status'], extra: Partial<RunResult> = {}): RunResult {
  return {
    status, exitCode: status === 'SUCCEEDED' ? 0 : 1, stdout: '', stderr: '', statusMessage: status === 'SUCCEEDED' ? 'Script completed' : 'Script threw: Error: boom',
    durationMillis: 42, stdoutBytes: 0, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false, actorRuns: [], toolCalls: [], requests: [], files: [], ...extra,
  };
}

/** An execution that printed `stdout` and `stderr` and ended with `ended` (null: still running). */
function printed(stdout: string, stderr = '', ended: RunResult | null = result('SUCCEEDED')): Execution {
  const execution = store.create('test');
  if (stdout) execution.stdout.append(Buffer.from(stdout));
  if (stderr) execution.stderr.append(Buffer.from(stderr));
  if (ended) store.end(execution, { result: ended });
  else execution.state = 'running';
  return execution;
}

shape('answers :: a short run is its headline and what it printed, nothing else', () => {
  const execution = printed('hello world\n');
  assert.is(answerText(execution), `SUCCEEDED (exit code 0) · 42 ms · executionId ${execution.id}\n--- stdout ---\nhello world`);
  const failed = printed('partial\n', 'Error: boom\n', result('FAILED'));
  assert.is(answerText(failed), `FAILED (exit code 1): Script threw: Error: boom · 42 ms · executionId ${failed.id}\n--- stdout ---\npartial\n--- stderr ---\nError: boom`);
  assert.match(answerText(printed('')), /\n\(it printed nothing\)$/);
});

shape('answers :: Actor runs the script started are in the text', () => {
  const runs = [{ id: 'run1', actorId: 'apify/hello', status: 'SUCCEEDED', defaultDatasetId: 'ds1' }];
  assert.match(answerText(printed('x\n', '', result('SUCCEEDED', { actorRuns: runs }))), /\nActor run run1 \(apify\/hello\): SUCCEEDED, dataset ds1\n--- stdout ---/);
});

shape('answers :: many Actor runs still fit maxAnswerChars: as many as fit are listed, and the rest counted', () => {
  const runs = Array.from({ length: 200 }, (_, i) => ({ id: `run${i}`, actorId: 'someone/some-actor', status: 'SUCCEEDED', defaultDatasetId: `ds${i}`, defaultKeyValueStoreId: `kv${i}` }));
  const execution = printed('x\n'.repeat(5000), 'warn\n', result('SUCCEEDED', { actorRuns: runs }));
  for (const max of [ANSWER_LIMITS.min, ANSWER_LIMITS.default]) {
    const answer = answerText(execution, {}, max);
    assert.ok(answer.length <= max, `${answer.length} characters for maxAnswerChars ${max}`);
    const listed = answer.match(/^Actor run run\d+ /gm)?.length ?? 0;
    assert.ok(listed >= 1, 'no Actor run listed');
    assert.match(answer, new RegExp(`\\n… and ${200 - listed} more Actor runs \\(get_execution with a larger maxAnswerChars lists more\\)\\n--- stdout ---\\nx\\n`));
  }
  assert.is(answerText(execution, {}, ANSWER_LIMITS.max).match(/^Actor run /gm)?.length, 200, 'all of them when they fit');
});

shape('answers :: long output fits maxAnswerChars with its head, its tail and how to page', () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${String(i).padStart(4, '0')}\n`).join('');
  const execution = printed(lines, 'a warning\n');
  for (const max of [ANSWER_LIMITS.min, 2500, ANSWER_LIMITS.default]) {
    const answer = answerText(execution, {}, max);
    assert.ok(answer.length <= max, `${answer.length} characters for maxAnswerChars ${max}`);
    assert.ok(answer.length > max * 0.8, `${answer.length} characters leave most of ${max} unused`);
    assert.match(answer, /--- stdout ---\nline 0000\n/);
    assert.match(answer, /line 4999\n--- stderr ---\na warning\n\(Cut to fit the answer: get_output \{"executionId":"exe_[\w-]+","stream":"stdout","lineOffset":\d+\} reads on from the cut/);
    const [, cutLine] = /\[… \d+ bytes cut; lineOffset (\d+),/.exec(answer)!;
    assert.ok(answer.includes(`"lineOffset":${cutLine}}`), 'the call suggested starts where the cut does');
  }
  assert.is(answerText(execution, {}, ANSWER_LIMITS.max).includes(lines.slice(0, -1)), true, 'all of it when it fits');
  // Characters of several bytes: the cut still fits, in characters.
  const wide = printed('é€𝄞'.repeat(8000));
  const answer = answerText(wide, {}, 3000);
  assert.ok(answer.length <= 3000 && answer.length > 2400, `${answer.length}`);
});

shape('answers :: a running execution says what to call next; a cancel says what it did', () => {
  const running = printed('so far\n', '', null);
  assert.match(answerText(running, { waitedSecs: 30 }), new RegExp(`^Execution ${running.id} is still running after 30 s\\. Call get_execution \\{"executionId":"${running.id}","waitSecs":30\\}.*cancel_execution to stop it\\.\\n--- stdout ---\\nso far$`));
  const queued = store.create('test');
  assert.match(answerHeadline(queued), /is waiting for a free slot; it starts by itself/);
  assert.not.match(answerHeadline(queued), /still queued|keeps running/);
  assert.match(answerHeadline(printed('', '', result('ABORTED')), { cancel: 'stopped' }), /^Cancelled: ABORTED \(exit code 1\)/);
  const ended = printed('done\n');
  assert.match(answerHeadline(ended, { cancel: 'already-ended' }), new RegExp(`^Execution ${ended.id} had already ended; nothing was cancelled\\. SUCCEEDED`));
  assert.match(answerHeadline(running, { cancel: 'stopped' }), /was told to stop but has not ended yet/);
});

// ---

const mcp = suite('server answers :: mcp');
let runtime: Runtime;
let server: CodeRuntimeServer;
let base: string;
let plain: Client;
let structured: Client;

async function connect(options?: ConstructorParameters<typeof Client>[1]): Promise<Client> {
  const client = new Client({ name: 'answers', version: '1' }, options);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  return client;
}

mcp.before(async () => {
  runtime = createRuntime({ concurrency: 2, defaults: { apiBaseUrl: 'http://127.0.0.1:9' } });
  server = createServer({ runtime, concurrency: 2 });
  base = `http://127.0.0.1:${(await server.listen({ port: 0 })).port}`;
  plain = await connect();
  structured = await connect({ capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } });
});

mcp.after(async () => {
  await Promise.allSettled([plain.close(), structured.close()]);
  await server.close();
  await runtime.close();
});

mcp('answers :: tools/list is under 6,000 characters: no output schemas, every tool annotated, run_code a task on request', async () => {
  const list = await plain.listTools();
  assert.ok(size(list) <= 6000, `tools/list is ${size(list)} characters`);
  for (const tool of list.tools) {
    assert.is(tool.outputSchema, undefined, `${tool.name} has no output schema`);
    const hints = tool.annotations ?? {};
    for (const hint of ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const) assert.type(hints[hint], 'boolean', `${tool.name}.${hint}`);
  }
  assert.equal(list.tools.map((tool) => [tool.name, tool.execution?.taskSupport]), [
    ['run_code', 'optional'], ['get_execution', 'forbidden'], ['get_output', 'forbidden'], ['cancel_execution', 'forbidden'], ['get_code_docs', 'forbidden'],
  ]);
  const instructions = plain.getInstructions() ?? '';
  assert.ok(instructions.length < 400, `instructions are ${instructions.length} characters`);
  // A first script needs nothing read; a script using `apify` reads the short overview, not the whole reference.
  assert.match(instructions, /Before a script uses `apify`, call get_code_docs once: a short overview/);
});

mcp('answers :: hello world is one text block, the output in it once', async () => {
  const answer = await plain.callTool({ name: 'run_code', arguments: { code: 'console.log("hello world")' } }) as Result;
  assert.equal(Object.keys(answer).sort(), ['content']);
  assert.match(text(answer), /^SUCCEEDED \(exit code 0\) · \d+ ms · executionId exe_[\w-]+\n--- stdout ---\nhello world$/);
  assert.ok(size(answer) < 200, `${size(answer)} characters`);
});

mcp('answers :: 50 KB of output is an answer of at most maxAnswerChars; a model can ask for more or less', async () => {
  const code = 'for (let i = 0; i < 5000; i++) console.log(`line ${String(i).padStart(4, "0")}`)';
  const answer = await plain.callTool({ name: 'run_code', arguments: { code } }) as Result;
  assert.ok(text(answer).length <= ANSWER_LIMITS.default, `${text(answer).length}`);
  // The whole answer is the text and its JSON escapes (a \n each line): the output is there once.
  assert.ok(size(answer) < text(answer).length + 1200, `the whole answer is ${size(answer)} characters`);
  assert.match(text(answer), /line 0000[\s\S]*line 4999\n\(Cut to fit the answer/);
  const id = /executionId (exe_[\w-]+)/.exec(text(answer))![1]!;
  const small = await plain.callTool({ name: 'get_execution', arguments: { executionId: id, maxAnswerChars: 1000 } }) as Result;
  assert.ok(text(small).length <= 1000, `${text(small).length}`);
  const whole = await plain.callTool({ name: 'get_execution', arguments: { executionId: id, maxAnswerChars: 60_000 } }) as Result;
  assert.ok(text(whole).includes('line 2500\nline 2501\n'), 'the middle is there when asked for');
  assert.not.match(text(whole), /Cut to fit/);
  const wrong = await plain.callTool({ name: 'run_code', arguments: { code, maxAnswerChars: 999 } }) as Result;
  assert.is(wrong.isError, true);
  assert.match(text(wrong), /Expected `maxAnswerChars` to be an integer from 1,000 to 100,000, got 999/);
});

mcp('answers :: a client that asks for structuredContent gets the output there and a one-line text', async () => {
  const answer = await structured.callTool({ name: 'run_code', arguments: { code: 'console.log("out"); console.error("err"); throw new Error("boom")' } }) as Result;
  assert.is(answer.isError, true);
  assert.equal([answer.structuredContent?.status, answer.structuredContent?.stdout, answer.structuredContent?.stderr.startsWith('err\n')], ['FAILED', 'out\n', true]);
  assert.not.match(text(answer), /\n/);
  assert.match(text(answer), /^FAILED \(exit code 1\): Script threw: Error: boom/);
  const page = await structured.callTool({ name: 'get_output', arguments: { executionId: answer.structuredContent!.executionId, stream: 'stdout' } }) as Result;
  assert.equal([page.structuredContent?.text, text(page)], ['out\n', '[stdout bytes 0–4 of 4, from line 1; end of the stream]']);
  const plainPage = await plain.callTool({ name: 'get_output', arguments: { executionId: answer.structuredContent!.executionId, stream: 'stdout' } }) as Result;
  assert.equal([plainPage.structuredContent, text(plainPage)], [undefined, '[stdout bytes 0–4 of 4, from line 1; end of the stream]\nout\n']);
});

mcp('answers :: cancelling a running script is a success; cancelling an ended one says it had already ended', async () => {
  const started = await plain.callTool({ name: 'run_code', arguments: { code: 'console.log("up"); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 0.5 } }) as Result;
  assert.match(text(started), /is still running after 0\.5 s/);
  const id = /Execution (exe_[\w-]+)/.exec(text(started))![1]!;
  const cancelled = await plain.callTool({ name: 'cancel_execution', arguments: { executionId: id } }) as Result;
  assert.not.ok(cancelled.isError);
  assert.match(text(cancelled), /^Cancelled: ABORTED \(exit code 130\): Aborted by the caller · \d+ ms · executionId exe_[\w-]+\n--- stdout ---\nup$/);
  const again = await plain.callTool({ name: 'cancel_execution', arguments: { executionId: id } }) as Result;
  assert.not.ok(again.isError);
  assert.match(text(again), new RegExp(`^Execution ${id} had already ended; nothing was cancelled\\. ABORTED`));
  // get_execution of it is still the script's own outcome: it did not succeed.
  assert.is((await plain.callTool({ name: 'get_execution', arguments: { executionId: id } }) as Result).isError, true);
});

mcp('answers :: REST: ?wait has the tools\' bounds, a bad one is a 400 on every route, and every operation has an operationId', async () => {
  for (const [method, path] of [['POST', '/v1/runs'], ['GET', '/v1/runs/exe_none']] as const) {
    for (const wait of ['51', 'soon', '-1']) {
      const response = await fetch(`${base}${path}?wait=${wait}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{"code":"1"}' : undefined });
      const body = await response.json() as { error: { type: string; message: string } };
      assert.is(response.status, 400, `${method} ${path}?wait=${wait}`);
      assert.match(body.error.message, /^Expected `wait` to be a number from 0 to 50, got /);
    }
  }
  const started = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"code":"await new Promise((r) => setTimeout(r, 300))"}' });
  assert.is(started.status, 202, 'no wait by default: answered at once');
  await started.json();
  const openapi = await (await fetch(`${base}/v1/openapi.json`)).json() as { paths: Record<string, Record<string, { operationId?: string; responses: Record<string, unknown> }>> };
  const operations = Object.values(openapi.paths).flatMap((path) => Object.values(path));
  assert.equal(operations.map((operation) => operation.operationId), ['startRun', 'getRun', 'getRunOutput', 'getRunFile', 'abortRun', 'getOpenApi']);
  assert.ok(openapi.paths['/v1/runs/{id}']!.get!.responses[400], 'GET /v1/runs/{id} documents its 400');
});

shape.run();
mcp.run();
