// Shutdown of `serve`: on SIGTERM it drains. While draining `/healthz` answers 503 and new scripts
// are refused; a script still running when the grace ends, or still queued, ends ABORTED with a
// message that says the server shut down (not "Aborted by the caller"). A second signal exits at
// once, leaving no sandbox process behind.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe } from './processes.js';
import { request, sleep, type Answer } from './load.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { descendants, isAlive, processRef, type ProcessRef } from '../helpers/processes.js';
import { waitUntil } from '../helpers/sandboxes.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

/** `/healthz` once it answers 503 (the server took the signal and drains), however long a busy machine takes to get there. */
async function draining(url: string): Promise<Answer> {
  for (let tries = 0; ; tries += 1) {
    const health = await request(`${url}/healthz`);
    if (health.status === 503 || tries >= 500) return health;
    await sleep(20);
  }
}

const FOREVER = 'console.log("up"); await new Promise(() => setInterval(() => {}, 1000));';
const shutdown = suite('server shutdown');

async function mcpClient(url: string): Promise<Client> {
  const client = new Client({ name: 'draining', version: '1' }, STRUCTURED);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
  return client;
}

shutdown('shutdown :: draining answers 503; what it ends says the server shut down', async () => {
  const serve = await startServe(['--grace', '2', '--concurrency', '1']);
  const client = await mcpClient(serve.url);
  let printed = false;
  const running = client.callTool({ name: 'run_code', arguments: { code: FOREVER, waitSecs: 30 } }, undefined, {
    timeout: 20_000,
    onprogress: (event) => {
      printed ||= (event.message ?? '').includes('up\n');
    },
  });
  for (let tries = 0; !printed && tries < 200; tries += 1) await sleep(50);
  assert.ok(printed, 'the script never printed');
  const queued = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(1)', waitSecs: 0 } });
  assert.is((queued.structuredContent as Record<string, unknown>).state, 'queued');
  const queuedAnswer = client.callTool({ name: 'get_execution', arguments: { executionId: (queued.structuredContent as Record<string, string>).executionId, waitSecs: 30 } });
  const exited = new Promise<number | null>((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGTERM');
  const health = await draining(serve.url);
  assert.equal([health.status, health.json().ok, health.json().accepting], [503, false, false]);
  const refused = await request(`${serve.url}/v1/runs`, { headers: { 'content-type': 'application/json' }, body: '{"code":"1"}' });
  assert.is(refused.status, 503);
  const [ranAnswer, waitedAnswer] = await Promise.all([running, queuedAnswer]);
  const ran = ranAnswer.structuredContent as Record<string, string>;
  assert.equal([ran.status, ran.stdout], ['ABORTED', 'up\n']);
  assert.match(ran.statusMessage ?? '', /^The server shut down while the script was running/);
  const waited = waitedAnswer.structuredContent as Record<string, string>;
  assert.is(waited.status, 'ABORTED');
  assert.match(waited.statusMessage ?? '', /^The server shut down before the script started/);
  assert.is(await exited, 0);
  await client.close().catch(() => undefined);
});

shutdown('shutdown :: a second signal exits at once and leaves no sandbox behind', async () => {
  const serve = await startServe(['--grace', '60']);
  const started = await request(`${serve.url}/v1/runs?wait=0`, { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: FOREVER }) });
  assert.is(started.status, 202);
  // Its sandboxes (running and warm) and their spawner, each known by pid and start time.
  const sandboxes = descendants(serve.child.pid!).map(({ pid }) => processRef(pid)).filter((ref): ref is ProcessRef => ref !== undefined);
  assert.ok(sandboxes.length > 0, 'no sandbox process found');
  const exited = new Promise<number | null>((resolve) => serve.child.once('exit', resolve));
  serve.child.kill('SIGTERM');
  // The second signal only once the first was taken (two at once may arrive as one).
  assert.is((await draining(serve.url)).status, 503);
  const before = performance.now();
  serve.child.kill('SIGTERM');
  // The grace is 60 s: an exit within 10 s is the second signal's doing, with room for a busy machine.
  const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(resolve, 20_000, 'still running').unref())]);
  assert.is(code, 143, `exit ${String(code)} (a second SIGTERM should end it at once):\n${serve.stderr()}`);
  assert.ok(performance.now() - before < 10_000, `exited ${Math.round(performance.now() - before)} ms after the second signal`);
  assert.match(serve.stderr(), /second signal/i);
  assert.ok(await waitUntil(() => !sandboxes.some(isAlive), 5_000), `sandbox processes outlived the server: ${sandboxes.filter(isAlive).map(({ pid }) => pid).join(', ')}`);
});

shutdown.run();
