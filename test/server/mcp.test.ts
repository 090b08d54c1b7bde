// MCP through the SDK's own Client: over stdio against the `code-runtime mcp` command, and over
// Streamable HTTP against a `code-runtime serve` process. Every tool, progress notifications,
// tool errors vs script errors, paging, cancellation, a client that disconnects mid-run,
// and one execution store behind both MCP and REST. Each server is started once per suite.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { scratchDir } from '../helpers/helpers.js';
import { CLI, runCli, startServe, type ServeProcess } from './processes.js';

/** These clients ask for answers as structuredContent (answers.test.ts covers the default, text). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

type Structured = Record<string, any>;

function text(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0]!).text;
}

function structured(result: unknown): Structured {
  return (result as { structuredContent: Structured }).structuredContent;
}

const stdio = suite('server mcp stdio');
let client: Client;

stdio.before(async () => {
  client = new Client({ name: 'test', version: '1' }, STRUCTURED);
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--concurrency', '2'], stderr: 'pipe' }));
});

stdio.after(async () => {
  await client.close();
});

stdio('mcp stdio :: five tools with input schemas, run_code a task on request, and the docs as resources', async () => {
  const { tools } = await client.listTools();
  assert.equal(tools.map((tool) => tool.name), ['run_code', 'get_execution', 'get_output', 'cancel_execution', 'get_code_docs']);
  const run = tools[0]!;
  assert.equal(run.inputSchema.required, ['code']);
  assert.is(run.execution?.taskSupport, 'optional');
  assert.match(run.description!, /apify/);
  assert.match(run.description!, /get_output/);
  const { resources } = await client.listResources();
  assert.ok(resources.some((resource) => resource.uri === 'code-runtime://docs/api'));
});

stdio('mcp stdio :: run_code answers with the result; a failing script is isError, not a protocol error', async () => {
  const ok = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("hi ✓")' } });
  assert.not.ok(ok.isError);
  assert.equal([structured(ok).status, structured(ok).stdout, structured(ok).state], ['SUCCEEDED', 'hi ✓\n', 'ended']);
  assert.match(text(ok), /^SUCCEEDED \(exit code 0\)/);
  assert.not.match(text(ok), /hi ✓/, 'the output is in structuredContent only');
  const failed = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("partial");\nthrow new TypeError("nope")' } });
  assert.is(failed.isError, true);
  assert.match(text(failed), /FAILED \(exit code 1\): Script threw: TypeError: nope/);
  assert.equal([structured(failed).status, structured(failed).stdout], ['FAILED', 'partial\n']);
});

stdio('mcp stdio :: a bad argument is a tool error naming it, its value and what is allowed', async () => {
  const bad = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(1)', memoryMbytes: 5 } });
  assert.is(bad.isError, true);
  assert.match(text(bad), /`memoryMbytes`.*16 to 32,768.*got 5/);
  const token = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(1)', token: 'apify_api_secret-value' } });
  assert.is(token.isError, true);
  assert.match(text(token), /`token` is not accepted/);
  assert.not.match(text(token), /secret-value/);
  const unknown = await client.callTool({ name: 'get_execution', arguments: { executionId: 'exe_nothing' } });
  assert.is(unknown.isError, true);
  assert.match(text(unknown), /unknown/);
});

stdio('mcp stdio :: a run that outlives waitSecs is fetched later; progress carries its lines', async () => {
  const code = 'for (let i = 0; i < 4; i++) { console.log(`tick ${i}`); await new Promise((r) => setTimeout(r, 300)); }';
  const progress: string[] = [];
  const first = await client.callTool({ name: 'run_code', arguments: { code, waitSecs: 0.5 } }, undefined, { onprogress: (event) => void progress.push(event.message ?? '') });
  const id = structured(first).executionId;
  assert.is(structured(first).state, 'running');
  assert.match(text(first), /still running.*get_execution/s);
  assert.not.ok(first.isError);
  const later = await client.callTool({ name: 'get_execution', arguments: { executionId: id, waitSecs: 20 } }, undefined, { onprogress: (event) => void progress.push(event.message ?? '') });
  assert.is(structured(later).status, 'SUCCEEDED');
  assert.is(structured(later).stdout, 'tick 0\ntick 1\ntick 2\ntick 3\n');
  assert.ok(progress[0]!.includes(id), `the first progress names the execution: ${progress[0]}`);
  assert.match(progress.join(''), /tick 0[\s\S]*tick 3/);
});

stdio('mcp stdio :: get_output pages by lines and by bytes without splitting a character', async () => {
  const run = await client.callTool({ name: 'run_code', arguments: { code: 'for (let i = 1; i <= 250; i++) console.log(`ŕow ${i}`);' } });
  const id = structured(run).executionId;
  const lines = await client.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout' } });
  const page = structured(lines);
  assert.equal([page.lineOffset, page.nextLineOffset, page.hasMore], [1, 101, true]);
  assert.is(page.text.split('\n')[99], 'ŕow 100');
  const next = structured(await client.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', lineOffset: 250, lineLimit: 5 } }));
  assert.equal([next.text, next.hasMore], ['ŕow 250\n', false]);
  const bytes = structured(await client.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', byteOffset: 1, byteLimit: 4 } }));
  assert.equal([bytes.byteOffset, bytes.text], [2, 'ow 1'], 'byte 1 is inside "ŕ"');
});

stdio('mcp stdio :: cancel_execution aborts it, keeping what it printed', async () => {
  const run = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("up"); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 0 } });
  const executionId = structured(run).executionId;
  // Cancelled once its first page shows the line, however long it took to start.
  const until = Date.now() + 20_000;
  for (;;) {
    const page = structured(await client.callTool({ name: 'get_output', arguments: { executionId, stream: 'stdout' } }));
    if (page.text === 'up\n' || Date.now() > until) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const cancelled = await client.callTool({ name: 'cancel_execution', arguments: { executionId } });
  assert.equal([structured(cancelled).status, structured(cancelled).stdout], ['ABORTED', 'up\n']);
  assert.not.ok(cancelled.isError, 'a cancel that stopped the script succeeded');
});

stdio('mcp stdio :: a client that vanishes mid-run (its stdout pipe gone) is a goodbye, not a crash', async () => {
  const child = spawn(process.execPath, [CLI, 'mcp', '--grace', '0'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stdout = '';
  const printing = new Promise<void>((resolve) => child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (stdout.includes('still-printing')) resolve();
  }));
  const send = (message: unknown) => child.stdin.write(`${JSON.stringify(message)}\n`);
  send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'gone', version: '1' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'run_code', arguments: { code: 'setInterval(() => console.log("still-printing"), 50); await new Promise(() => {});', waitSecs: 50 }, _meta: { progressToken: 1 } } });
  try {
    await printing;
    // The client dies without closing stdin: the next progress notification meets a broken pipe.
    child.stdout.destroy();
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000).unref())]);
    assert.is(code, 0, `mcp ended with ${String(code)}:\n${stderr}`);
    assert.not.match(stderr, /EPIPE|Unhandled/);
  } finally {
    child.kill('SIGKILL');
  }
});

stdio('mcp stdio :: on SIGTERM a tool call waiting on a script still gets its ABORTED answer', async () => {
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--grace', '0'], stderr: 'pipe' });
  const own = new Client({ name: 'sigterm', version: '1' }, STRUCTURED);
  await own.connect(transport);
  let printed = false;
  const call = own.callTool({ name: 'run_code', arguments: { code: 'console.log("ready!"); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 30 } }, undefined, {
    timeout: 20_000,
    onprogress: (event) => {
      // Not a bare word: the first progress names the execution, whose random id could hold one.
      printed ||= (event.message ?? '').includes('ready!');
    },
  });
  try {
    for (let tries = 0; !printed && tries < 200; tries += 1) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(printed, 'the script never printed');
    process.kill(transport.pid!, 'SIGTERM');
    const answer = await call;
    assert.equal([structured(answer).status, structured(answer).stdout], ['ABORTED', 'ready!\n']);
  } finally {
    await own.close().catch(() => undefined);
  }
});

// ---

const overHttp = suite('server mcp http');
let serve: ServeProcess;

async function httpClient(): Promise<Client> {
  const each = new Client({ name: 'test-http', version: '1' }, STRUCTURED);
  await each.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`)));
  return each;
}

overHttp.before(async () => {
  serve = await startServe(['--concurrency', '2']);
});

overHttp.after(async () => {
  assert.is(await serve.stop(), 0);
});

overHttp('mcp http :: run_code over Streamable HTTP, and REST sees the same execution', async () => {
  const each = await httpClient();
  try {
    const run = await each.callTool({ name: 'run_code', arguments: { code: 'console.log(JSON.stringify({ a: 1 }))' } });
    assert.is(structured(run).stdout, '{"a":1}\n');
    const viaRest = await (await fetch(`${serve.url}/v1/runs/${structured(run).executionId}`)).json() as Structured;
    assert.is(viaRest.status, 'SUCCEEDED');
  } finally {
    await each.close();
  }
});

overHttp('mcp http :: a client that disconnects mid-run: the run ends, another session fetches it', async () => {
  const first = await httpClient();
  let id: string | undefined;
  const call = first.callTool({ name: 'run_code', arguments: { code: 'await new Promise((r) => setTimeout(r, 800)); console.log("done anyway")', waitSecs: 20 } }, undefined, {
    onprogress: (event) => {
      id ??= event.message?.match(/exe_[\w-]+/)?.[0];
    },
  });
  call.catch(() => undefined);
  for (let tries = 0; !id && tries < 100; tries += 1) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(id, 'no progress named the execution');
  await first.close();
  const second = await httpClient();
  try {
    const later = await second.callTool({ name: 'get_execution', arguments: { executionId: id, waitSecs: 20 } });
    assert.equal([structured(later).status, structured(later).stdout], ['SUCCEEDED', 'done anyway\n']);
  } finally {
    await second.close();
  }
});

overHttp('mcp http :: get_output on a character still being printed says to wait (never an empty page claiming more); REST the same', async () => {
  const each = await httpClient();
  try {
    // "ab", then the first byte of "é", then nothing: the script waits until it is cancelled.
    const run = await each.callTool({ name: 'run_code', arguments: { code: 'await Deno.stdout.write(new Uint8Array([0x61, 0x62, 0xc3])); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 0 } });
    const id = structured(run).executionId;
    const page = async (query: string) => (await fetch(`${serve.url}/v1/runs/${id}/output/stdout?${query}`)).json() as Promise<Structured>;
    let first = await page('byteOffset=0');
    for (let tries = 0; first.totalBytes < 3 && tries < 200; tries += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      first = await page('byteOffset=0');
    }
    assert.equal([first.state, first.text, first.nextByteOffset, first.hasMore, first.pendingBytes, first.totalBytes], ['running', 'ab', 2, false, 1, 3]);
    const there = await page('byteOffset=2&byteLimit=1');
    assert.equal([there.text, there.nextByteOffset, there.hasMore, there.pendingBytes], ['', 2, false, 1]);
    const viaMcp = await each.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', byteOffset: 2 } });
    assert.equal([structured(viaMcp).text, structured(viaMcp).hasMore, structured(viaMcp).pendingBytes], ['', false, 1]);
    assert.match(text(viaMcp), /nothing more yet; the script is still running \(the 1 bytes after it begin a character not all printed yet\): ask again from byteOffset 2\]/);
    await each.callTool({ name: 'cancel_execution', arguments: { executionId: id } });
    // Ended, the lone byte is what it is: shown as a replacement character, and the stream ends.
    const ended = await page('byteOffset=2');
    assert.equal([ended.state, ended.text, ended.nextByteOffset, ended.hasMore, ended.pendingBytes], ['ended', '\uFFFD', 3, false, undefined]);
  } finally {
    await each.close();
  }
});

overHttp('mcp http :: a page is at most 64 KiB as sent over REST and over MCP, though each control byte costs six', async () => {
  const each = await httpClient();
  try {
    // 2 MiB of control bytes on one line, then a 1 MiB line: raw pages of 1 MiB were 6 MiB of JSON.
    const run = await each.callTool({ name: 'run_code', arguments: { code: 'console.log("\\u0001".repeat(2 * 1024 * 1024)); console.log("x".repeat(1024 * 1024));' } });
    const id = structured(run).executionId;
    assert.is(structured(run).stdoutBytes, 3 * 1024 ** 2 + 2);
    const bound = 64 * 1024;
    for (const query of ['byteOffset=0&byteLimit=1048576', 'lineOffset=1', 'lineOffset=2', `byteOffset=${2 * 1024 ** 2 + 1}&byteLimit=1048576`]) {
      const response = await fetch(`${serve.url}/v1/runs/${id}/output/stdout?${query}`);
      const body = Buffer.from(await response.arrayBuffer());
      assert.is(response.status, 200);
      assert.ok(body.length <= bound + 1024, `REST ?${query}: ${body.length} bytes`);
      const page = JSON.parse(body.toString()) as Structured;
      assert.ok(page.nextByteOffset > page.byteOffset && page.hasMore === (page.nextByteOffset < page.totalBytes));
      if (query.startsWith('line')) assert.equal([page.partialLine, page.nextLineOffset], [true, undefined], query);
    }
    for (const args of [{ byteOffset: 0, byteLimit: 1024 ** 2 }, { lineOffset: 1 }]) {
      const answer = await each.callTool({ name: 'get_output', arguments: { executionId: id, stream: 'stdout', ...args } });
      const sent = Buffer.byteLength(JSON.stringify(answer));
      // The page's text may be in both the text block and structuredContent; each is bounded.
      assert.ok(sent <= 2 * bound + 2048, `MCP ${JSON.stringify(args)}: ${sent} bytes`);
      assert.ok(Buffer.byteLength(JSON.stringify(structured(answer).text)) <= bound + 2);
      assert.ok(structured(answer).nextByteOffset > 10_000);
    }
  } finally {
    await each.close();
  }
});

overHttp('serve :: refuses a non-loopback address without a token', async () => {
  const { code, stderr } = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { ...process.env, CODE_RUNTIME_AUTH_TOKEN: '' });
  assert.is(code, 2);
  assert.match(stderr, /needs an auth token/);
});

overHttp('cli :: a script file named mcp still runs as a script', async () => {
  const dir = scratchDir('mcp-file');
  const file = path.join(dir, 'mcp');
  writeFileSync(file, 'Deno.exit(3)');
  assert.is((await runCli([file])).code, 3);
});

stdio.run();
overHttp.run();
