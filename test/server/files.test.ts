// Files and values through the server's front doors, with real clients: MCP through the SDK's own
// Client (Streamable HTTP, and stdio against `code-runtime mcp`): files in as text and base64, the
// value as structuredContent and a JSON text block, images inline, other files as resource links read
// back with resources/read; REST: the same JSON in, `GET /v1/runs/{id}/files/{name}` out. The store
// counts files against its memory budget and forgets them with the execution; input files a
// server cannot hold are refused.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, createServer, type CodeRuntimeServer, type Runtime } from '../../orchestrator/index.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { EXECUTION_OVERHEAD_BYTES, ExecutionStore } from '../../orchestrator/server/executions.js';
import { ExecutionService } from '../../orchestrator/server/service.js';
import { QueueFullError } from '../../orchestrator/server/scheduler.js';
import type { JsonValue, RunResult } from '../../types/result.js';
import type { Runtime as RuntimeType } from '../../types/runtime.js';
import { CLI } from './processes.js';

type Block = { type: string; text?: string; data?: string; mimeType?: string; uri?: string; name?: string; size?: number };

// A 1×1 PNG, and one padded past the 1 MiB that is shown inline.
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a3e1b3e20000000049454e44ae426082', 'hex');
const BIG_PNG = Buffer.concat([PNG, Buffer.alloc(1024 * 1024)]);
const BINARY = Buffer.from(Array.from({ length: 300 }, (_, i) => i % 256));

const SCRIPT = `
const csv = await files.readText('data.csv');
await files.write('logo.png', await files.read('logo.png'));
await files.write('big.png', await files.read('big.png'));
await files.write('report.csv', csv.toUpperCase());
await files.write('raw.bin', await files.read('raw.bin'));
export default { rows: csv.trim().split('\\n').length, ok: true };
`;

const INPUT = {
  'data.csv': { text: 'a,b\n1,2\n' },
  'logo.png': { base64: PNG.toString('base64') },
  'big.png': { base64: BIG_PNG.toString('base64') },
  'raw.bin': { base64: BINARY.toString('base64') },
};

const served = suite('server files');
let runtime: Runtime;
let server: CodeRuntimeServer;
let base: string;
let client: Client;
/** A client that declared it reads structuredContent. */
let structuredClient: Client;

served.before(async () => {
  runtime = createRuntime({ concurrency: 2 });
  server = createServer({ runtime, concurrency: 2 });
  base = `http://127.0.0.1:${(await server.listen({ port: 0 })).port}`;
  client = new Client({ name: 'files-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  structuredClient = new Client({ name: 'files-test-structured', version: '1' }, { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } });
  await structuredClient.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
});

served.after(async () => {
  await client.close();
  await structuredClient.close();
  await server.close();
  await runtime.close();
});

served('server files :: MCP: files in as text and base64; the value as a JSON block, images inline, links for the rest, each link read back', async () => {
  const answer = await client.callTool({ name: 'run_code', arguments: { code: SCRIPT, files: INPUT } });
  assert.not.ok(answer.isError, JSON.stringify(answer.content).slice(0, 500));
  assert.is(answer.structuredContent, undefined, 'a client that did not ask gets the output once, as text');
  const content = answer.content as Block[];
  assert.equal(content.map((block) => block.type), ['text', 'text', 'text', 'image', 'resource_link', 'resource_link', 'resource_link']);
  assert.match(content[0]!.text!, /^SUCCEEDED/);
  assert.is(content[1]!.text, '{"rows":2,"ok":true}', 'the value as one compact JSON block');
  assert.ok(content[2]!.text!.startsWith(`Files the script wrote, kept while the execution is:\n- logo.png (image/png, ${PNG.length} bytes): shown below;`), content[2]!.text);
  assert.equal(Buffer.from(content[3]!.data!, 'base64'), PNG);
  assert.is(content[3]!.mimeType, 'image/png');
  const links = content.slice(4);
  const id = /code-runtime:\/\/executions\/([^/]+)\/files\//.exec(links[0]!.uri!)![1]!;
  assert.equal(links.map((link) => [link.name, link.uri, link.size]), [
    ['big.png', `code-runtime://executions/${id}/files/big.png`, BIG_PNG.length],
    ['report.csv', `code-runtime://executions/${id}/files/report.csv`, 8],
    ['raw.bin', `code-runtime://executions/${id}/files/raw.bin`, 300],
  ]);
  const csv = await client.readResource({ uri: links[1]!.uri! });
  assert.equal(csv.contents, [{ uri: links[1]!.uri!, mimeType: 'text/csv; charset=utf-8', text: 'A,B\n1,2\n' }]);
  const raw = await client.readResource({ uri: links[2]!.uri! });
  assert.equal(Buffer.from((raw.contents[0] as { blob: string }).blob, 'base64'), BINARY);
  const big = await client.readResource({ uri: links[0]!.uri! });
  assert.equal(Buffer.from((big.contents[0] as { blob: string }).blob, 'base64'), BIG_PNG);
  // get_execution answers the same, from the store.
  const again = await client.callTool({ name: 'get_execution', arguments: { executionId: id } });
  assert.equal((again.content as Block[]).map((block) => block.type), content.map((block) => block.type));
});

served('server files :: MCP: a client that reads structuredContent gets the value and the file list there, and the same blocks', async () => {
  const answer = await structuredClient.callTool({ name: 'run_code', arguments: { code: SCRIPT, files: INPUT } });
  const structured = answer.structuredContent as Record<string, any>;
  assert.equal(structured.value, { rows: 2, ok: true });
  assert.equal(structured.files, [
    { name: 'logo.png', contentType: 'image/png', size: PNG.length },
    { name: 'big.png', contentType: 'image/png', size: BIG_PNG.length },
    { name: 'report.csv', contentType: 'text/csv; charset=utf-8', size: 8 },
    { name: 'raw.bin', contentType: 'application/octet-stream', size: 300 },
  ]);
  assert.equal((answer.content as Block[]).map((block) => block.type), ['text', 'text', 'text', 'image', 'resource_link', 'resource_link', 'resource_link']);
  const link = (answer.content as Block[]).find((block) => block.name === 'report.csv')!;
  assert.is(link.uri, `code-runtime://executions/${structured.executionId}/files/report.csv`);
});

served('server files :: MCP: a file or execution that is not there is resource-not-found, saying which; the template is listed', async () => {
  const answer = await structuredClient.callTool({ name: 'run_code', arguments: { code: 'await files.write("only.txt", "x")' } });
  const id = (answer.structuredContent as Record<string, string>).executionId;
  for (const [uri, message] of [
    [`code-runtime://executions/${id}/files/other.txt`, /has no file "other\.txt"; its files are "only\.txt"/],
    ['code-runtime://executions/exe_nope/files/a.txt', /No execution "exe_nope"/],
  ] as const) {
    try {
      await client.readResource({ uri });
      assert.unreachable(`${uri} was read`);
    } catch (error) {
      assert.is((error as { code?: number }).code, -32002);
      assert.match((error as Error).message, message);
    }
  }
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.ok(resourceTemplates.some((template) => template.uriTemplate === 'code-runtime://executions/{executionId}/files/{name}'));
});

served('server files :: MCP: arguments that are not files are refused naming the argument', async () => {
  for (const files of [{ 'a.txt': 'plain' }, { 'a.txt': { text: 'x', base64: 'eA==' } }, { 'a.txt': { base64: 'not base64!' } }, { '../a': { text: 'x' } }]) {
    const answer = await client.callTool({ name: 'run_code', arguments: { code: ';', files } });
    assert.is(answer.isError, true, JSON.stringify(files));
    assert.match((answer.content as Block[])[0]!.text!, /files|Input file/, JSON.stringify(answer.content));
  }
});

served('server files :: REST: the same JSON in; GET /v1/runs/{id}/files/{name} gives the bytes, typed, as an attachment that cannot run', async () => {
  const response = await fetch(`${base}/v1/runs?wait=30`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: SCRIPT, files: INPUT }),
  });
  const view = await response.json() as Record<string, any>;
  assert.is(view.status, 'SUCCEEDED', JSON.stringify(view));
  assert.equal(view.value, { rows: 2, ok: true });
  assert.is(view.files.length, 4);
  const raw = await fetch(`${base}/v1/runs/${view.executionId}/files/raw.bin`);
  assert.is(raw.status, 200);
  assert.is(raw.headers.get('content-type'), 'application/octet-stream');
  assert.is(raw.headers.get('x-content-type-options'), 'nosniff');
  assert.is(raw.headers.get('content-security-policy'), 'sandbox');
  assert.is(raw.headers.get('content-disposition'), 'attachment; filename*=UTF-8\'\'raw.bin');
  assert.equal(Buffer.from(await raw.arrayBuffer()), BINARY);
  const named = await fetch(`${base}/v1/runs?wait=30`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'await files.write("zpráva č. 1.txt", "ahoj")' }),
  });
  const { executionId } = await named.json() as { executionId: string };
  const text = await fetch(`${base}/v1/runs/${executionId}/files/${encodeURIComponent('zpráva č. 1.txt')}`);
  assert.is(await text.text(), 'ahoj');
  const missing = await fetch(`${base}/v1/runs/${executionId}/files/nope.txt`);
  assert.is(missing.status, 404);
  assert.match(((await missing.json()) as { error: { message: string } }).error.message, /has no file "nope\.txt"; its files are "zpráva č\. 1\.txt"/);
  const bad = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: ';', files: { 'a.bin': { base64: '%%%' } } }) });
  assert.is(bad.status, 400);
  const openapi = await (await fetch(`${base}/v1/openapi.json`)).json() as { paths: Record<string, unknown> };
  assert.ok(openapi.paths['/v1/runs/{id}/files/{name}']);
});

served.run();

// ---
const stdio = suite('server files stdio');

stdio('server files stdio :: `code-runtime mcp`: a file in, an image back inline and a link read back', async () => {
  const local = new Client({ name: 'files-stdio', version: '1' });
  await local.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], stderr: 'pipe' }));
  try {
    const answer = await local.callTool({ name: 'run_code', arguments: { code: SCRIPT, files: INPUT } });
    const content = answer.content as Block[];
    assert.equal(Buffer.from(content.find((block) => block.type === 'image')!.data!, 'base64'), PNG);
    const link = content.find((block) => block.type === 'resource_link' && block.name === 'report.csv')!;
    assert.is(((await local.readResource({ uri: link.uri! })).contents[0] as { text: string }).text, 'A,B\n1,2\n');
  } finally {
    await local.close();
  }
});

stdio.run();

// ---
const store = suite('server files store');

function result(files: Array<[string, number]>, value?: JsonValue): RunResult {
  return {
    status: 'SUCCEEDED', exitCode: 0, stdout: '', stderr: '', statusMessage: 'ok', durationMillis: 1, stdoutBytes: 0, stderrBytes: 0,
    stdoutTruncated: false, stderrTruncated: false, actorRuns: [], toolCalls: [], requests: [], ...(value === undefined ? {} : { value }),
    files: files.map(([name, size]) => ({ name, contentType: 'application/octet-stream', size, bytes: new Uint8Array(size) })),
  };
}

store('server files store :: files and the value count against the memory budget and leave with their execution', () => {
  const executions = new ExecutionStore({ memoryBudgetBytes: 3 * EXECUTION_OVERHEAD_BYTES + 100_000 });
  const first = executions.create('a');
  executions.end(first, { result: result([['a.bin', 60_000]], { n: 1 }) });
  assert.is(executions.heldBytes(), EXECUTION_OVERHEAD_BYTES + 60_000 + '{"n":1}'.length);
  const second = executions.create('a');
  executions.end(second, { result: result([['b.bin', 60_000]]) });
  assert.throws(() => executions.get(first.id), /expired/, 'the first, with its file, made room for the second');
  assert.is(executions.get(second.id).result!.files[0]!.name, 'b.bin');
  assert.is(executions.heldBytes(), EXECUTION_OVERHEAD_BYTES + 60_000);
});

store('server files store :: input files of waiting and running scripts are counted; past the budget a start is refused, and they are let go at the end', async () => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  const stub: RuntimeType = {
    run: async () => {
      await held;
      return result([]);
    },
    runMany: async () => [],
    toolServers: [],
    listTools: async () => ({ tools: [], unavailable: [] }),
    close: async () => undefined,
  };
  const service = new ExecutionService({ runtime: stub, concurrency: 1, maxQueue: 10, memoryBudgetBytes: 1024 * 1024 });
  const file = (kib: number) => ({ 'in.bin': { base64: Buffer.alloc(kib * 1024).toString('base64') } });
  const running = service.start('a', { code: ';', files: file(400) });
  const waiting = service.start('b', { code: ';', files: file(400) });
  assert.is(running.inputBytes! + waiting.inputBytes!, 800 * 1024);
  assert.is(service.store.heldBytes(), 800 * 1024 + 2 * EXECUTION_OVERHEAD_BYTES);
  assert.throws(() => service.start('c', { code: ';', files: file(400) }), (error: Error) => error instanceof QueueFullError
    && /already holds 0\.8 MiB of input files for scripts waiting or running; with these 0\.4 MiB it would pass its memory budget of 1 MiB/.test(error.message));
  release();
  await Promise.all([running.done, waiting.done]);
  assert.is(running.inputBytes, 0);
  assert.is(service.start('c', { code: ';', files: file(400) }).inputBytes, 400 * 1024);
});

store.run();
