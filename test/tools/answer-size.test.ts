// An upstream MCP server's answer larger than the orchestrator takes, over both transports: the
// call fails alone with `tool-result-too-large`, saying the limit; the connection every run shares
// stays up (another run's call in flight is answered; the stdio server is the same process); and
// over HTTP the orchestrator never holds the whole answer (its peak resident memory, from /proc,
// grows by far less than the answer). Upstreams are real child processes (test/fixtures/mcp-server.mjs).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime } from '../../orchestrator/index.js';
import { UPSTREAM_LIMITS } from '../../orchestrator/tools/upstream.js';
import { CappedLineBuffer, cappedFetch, MESSAGE_TOO_LARGE } from '../../orchestrator/tools/message-cap.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { FIXTURE_SERVER } from '../helpers/mcp-upstream.js';
import type { Runtime } from '../../types/runtime.js';

const MiB = 1024 * 1024;
const sizes = suite('tools answer size');

interface HttpFixture {
  url: string;
  child: ChildProcess;
}

async function startHttpFixture(json: boolean): Promise<HttpFixture> {
  const child = spawn(process.execPath, [FIXTURE_SERVER, '--http', ...(json ? ['--json'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    child.once('exit', (code) => reject(new Error(`the fixture exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}/mcp`, child };
}

let runtime: Runtime;
let sse: HttpFixture;
let jsonHttp: HttpFixture;

sizes.before(async () => {
  [sse, jsonHttp] = await Promise.all([startHttpFixture(false), startHttpFixture(true)]);
  runtime = createRuntime({
    concurrency: 4,
    mcpServers: {
      stdio: { command: process.execPath, args: [FIXTURE_SERVER] }, sse: { url: sse.url }, json: { url: jsonHttp.url },
      paged: { command: process.execPath, args: [FIXTURE_SERVER, '--paged'] },
    },
  });
});

sizes.after(async () => {
  await runtime.close();
  sse.child.kill();
  jsonHttp.child.kill();
});

/** What a call of `server.big({ bytes })` came to in the script: its error's type and message, or its length. */
function callBig(server: string, bytes: number) {
  return runtime.run({ code: `try { console.log('length', (await tools.${server}.big({ bytes: ${bytes} })).length); } catch (e) { console.log(e.type, e.message); }`, timeoutSecs: 60 });
}

function callSlow(server: string, ms: number) {
  return runtime.run({ code: `console.log(await tools.${server}.slow({ ms: ${ms} }))`, timeoutSecs: 60 });
}

const kib = (field: string) => Number(/(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8').split('\n').find((line) => line.startsWith(field)) ?? '')?.[1] ?? 0) * 1024;

sizes('tools answer size :: a stdio answer over the relay\'s limit, or over the transport\'s, fails its call alone; the server and another run\'s call live on', async () => {
  const pid = (await runtime.run({ code: 'console.log(await tools.stdio.pid({}))' })).stdout.trim();
  // Another run's call is under way when the big answers come; the server's pid, asked after, says the connection was never remade.
  const slow = callSlow('stdio', 500);
  const [over, huge] = await Promise.all([callBig('stdio', 12 * MiB), callBig('stdio', UPSTREAM_LIMITS.messageBytes + MiB)]);
  assert.match(over.stdout, new RegExp(`^tool-result-too-large stdio\\.big answered with 12\\.0 MiB, over the limit of ${RELAY_LIMITS.toolResultBytes / MiB} MiB per tool answer`));
  assert.match(huge.stdout, new RegExp(`^tool-result-too-large stdio\\.big answered with more than ${UPSTREAM_LIMITS.messageBytes / MiB} MiB, over the limit of ${RELAY_LIMITS.toolResultBytes / MiB} MiB per tool answer`));
  const other = await slow;
  assert.is(other.stdout, 'slow done\n', other.stderr);
  assert.is((await runtime.run({ code: 'console.log(await tools.stdio.pid({}))' })).stdout.trim(), pid, 'the same server process');
});

sizes('tools answer size :: an HTTP answer over the transport\'s limit, as SSE or JSON, fails its call alone, never held whole', async () => {
  const answer = 3 * UPSTREAM_LIMITS.messageBytes;
  for (const server of ['sse', 'json']) {
    const slow = callSlow(server, 500);
    const before = kib('VmRSS');
    // The peak resident size from here on (Linux: 5 resets it to the current size).
    writeFileSync('/proc/self/clear_refs', '5');
    const big = await callBig(server, answer);
    const grew = kib('VmHWM') - before;
    assert.match(big.stdout, new RegExp(`^tool-result-too-large ${server}\\.big answered with more than ${UPSTREAM_LIMITS.messageBytes / MiB} MiB`));
    assert.ok(grew < answer, `${server}: the orchestrator's peak grew by ${(grew / MiB).toFixed(0)} MiB for an answer of ${answer / MiB} MiB`);
    assert.is((await slow).stdout, 'slow done\n');
    // The connection is as good as before.
    assert.is((await callBig(server, 1000)).stdout, 'length 1000\n');
  }
});

sizes('tools answer size :: a tool list whose pages come to more than one message\'s bound is refused, not kept', async () => {
  const r = await runtime.run({ code: 'try { await tools.$list("paged"); } catch (e) { console.log(e.type, e.message); }' });
  assert.is(r.stdout, `unavailable the tool server \`paged\` could not list its tools: they come to more than ${UPSTREAM_LIMITS.messageBytes / MiB} MiB\n`, r.stderr);
});

sizes('tools answer size :: the stdio buffer reads messages split anywhere, and drops one over its limit, answering its id at either end', () => {
  const small = (id: number) => JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: 'ž'.repeat(10) }] } });
  const big = JSON.stringify({ result: { content: [{ type: 'text', text: `"id":1} ${'y'.repeat(300)}` }] }, jsonrpc: '2.0', id: 7 });
  const bigFirst = JSON.stringify({ jsonrpc: '2.0', id: 'req-8', result: { text: 'z'.repeat(300) } });
  const stream = Buffer.from(`${small(1)}\n${big}\r\n${small(2)}\n${bigFirst}\n\n${small(3)}\n`);
  for (let step = 1; step <= 40; step += 13) {
    const buffer = new CappedLineBuffer(200);
    const got: unknown[] = [];
    for (let at = 0; at < stream.length; at += step) {
      buffer.append(stream.subarray(at, at + step));
      for (let message = buffer.readMessage(); message; message = buffer.readMessage()) got.push(message);
    }
    assert.equal(got.map((m) => {
      const message = m as { id: number | string; result?: unknown; error?: { code: number } };
      return [message.id, message.error ? message.error.code : 'ok'];
    }), [[1, 'ok'], [7, MESSAGE_TOO_LARGE], [2, 'ok'], ['req-8', MESSAGE_TOO_LARGE], [3, 'ok']], `chunks of ${step}`);
  }
  const anonymous = new CappedLineBuffer(100);
  assert.throws(() => anonymous.append(Buffer.from(`{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"${'q'.repeat(200)}"}}\n`)),
    /a message of more than .* MiB that names no request/);
});

sizes('tools answer size :: an SSE answer passes event by event, split anywhere; an event over the limit becomes its id and the request\'s error (the standalone stream drops it and goes on)', async () => {
  const events = 'event: message\nid: 1\ndata: {"small":1}\n\n'
    + `id: 2\ndata: {"big":"${'b'.repeat(300)}"}\r\n\r\n`
    + ': a comment\r\rdata: {"small":3}\n\n';
  const error = `{"jsonrpc":"2.0","id":41,"error":{"code":${MESSAGE_TOO_LARGE},"message":"the tool server answered with more than ${200 / MiB} MiB in one message","data":{"limitBytes":200}}}`;
  for (const step of [1, 7, 64, 1000]) {
    const base = (async () => new Response(new ReadableStream({
      start(controller) {
        const bytes = Buffer.from(events);
        for (let at = 0; at < bytes.length; at += step) controller.enqueue(bytes.subarray(at, at + step));
        controller.close();
      },
    }), { headers: { 'content-type': 'text/event-stream' } })) as unknown as typeof fetch;
    const post = await cappedFetch(200, base)('http://127.0.0.1:9/mcp', { method: 'POST', body: JSON.stringify({ jsonrpc: '2.0', id: 41, method: 'tools/call' }) });
    assert.is(await post.text(), `event: message\nid: 1\ndata: {"small":1}\n\nid: 2\ndata: ${error}\n\n`, `a request's stream, chunks of ${step}`);
    const standalone = await cappedFetch(200, base)('http://127.0.0.1:9/mcp', { method: 'GET' });
    assert.is(await standalone.text(), 'event: message\nid: 1\ndata: {"small":1}\n\nid: 2\ndata: {}\n\n: a comment\r\rdata: {"small":3}\n\n', `the standalone stream, chunks of ${step}`);
  }
});

sizes.run();
