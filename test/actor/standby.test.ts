// The Actor in Standby mode against the fake platform: the entry serves on ACTOR_WEB_SERVER_PORT,
// answers the readiness probe, runs scripts through MCP and REST with the run's token going to the
// relay only, fits itself to the run's memory, and on the platform's `aborting` event stops taking
// work and aborts what still runs after the grace period. Batch runs are covered by the other tests.
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { standbySizing } from '../../orchestrator/actor/standby.js';
import { ACTOR_ENTRY } from './harness.js';
import { PLATFORM, startPlatform, STORE_ACTORS } from './platform-mock.js';

const standby = suite('actor-standby');

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

standby('actor-standby :: sizing fits the run\'s memory', () => {
  const small = standbySizing(512, 2);
  assert.is(small.concurrency, 1);
  // Scripts, Deno's overhead, the orchestrator, kept output and request bodies while parsed (three times their bytes) fit the run.
  const fits = (sizing: ReturnType<typeof standbySizing>) => sizing.concurrency * (sizing.scriptMemoryMbytes + 128) + 160
    + sizing.memoryBudgetBytes / 1024 ** 2 + 3 * sizing.maxBodiesBytes / 1024 ** 2;
  assert.ok(fits(small) <= 512, JSON.stringify(small));
  assert.ok(small.maxBodiesBytes >= 8 * 1024 ** 2 && small.scriptMemoryMbytes >= 64, JSON.stringify(small));
  const big = standbySizing(4096, 2);
  assert.ok(big.concurrency >= 4 && big.concurrency <= 8, JSON.stringify(big));
  assert.ok(fits(big) <= 4096, JSON.stringify(big));
  assert.ok(big.streamCapBytes <= big.memoryBudgetBytes);
  // A big run takes the server's default: one request may carry 64 MiB of input files (about 89 MiB as JSON).
  assert.is(standbySizing(8192, 8).maxBodiesBytes, 192 * 1024 ** 2);
});

standby('actor-standby :: serves MCP and REST on the port, answers the probe, drains on aborting', async () => {
  const mock = await startPlatform({}, { memoryMbytes: 1024 });
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = execa(process.execPath, [ACTOR_ENTRY], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...mock.env, APIFY_META_ORIGIN: 'STANDBY', ACTOR_WEB_SERVER_PORT: String(port), CODE_RUNTIME_HOST: '127.0.0.1', CODE_RUNTIME_GRACE_SECS: '1' },
    extendEnv: false, stdin: 'ignore', reject: false, all: true, timeout: 60_000,
  });
  try {
    let probe: Response | undefined;
    for (let tries = 0; tries < 300 && !probe; tries += 1) {
      probe = await fetch(`${base}/`, { headers: { 'x-apify-container-server-readiness-probe': '1' } }).catch(() => undefined);
      if (!probe) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(probe, 'the server never came up');
    assert.equal([probe!.status, await probe!.text()], [200, 'ok']);

    // The run's token reaches the API through the relay; the script sees none.
    const rest = await fetch(`${base}/v1/runs?wait=30`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'const a = await apify.actor.search({ query: "x" }); let env; try { env = Deno.env.get("APIFY_TOKEN"); } catch { env = "no-env"; } console.log(a.map((x) => x.name).join(","), env)' }) });
    const result = await rest.json() as Record<string, any>;
    assert.is(result.status, 'SUCCEEDED', JSON.stringify(result));
    assert.is(result.stdout.trim(), `${STORE_ACTORS.map((a) => a.name).join(',')} no-env`);
    assert.not.ok(JSON.stringify(result).includes(PLATFORM.TOKEN));
    assert.is(mock.requests.find((r) => r.path === '/v2/store')?.authorization, `Bearer ${PLATFORM.TOKEN}`);

    const client = new Client({ name: 'standby-test', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
    const tool = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(6 * 7)' } });
    assert.match((tool.content as Array<{ text: string }>)[0]!.text, /^SUCCEEDED .*\n--- stdout ---\n42$/);
    // Over the per-script memory the run can give: refused, naming the limit.
    const big = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(1)', memoryMbytes: 32_768 } });
    assert.is(big.isError, true);
    assert.match((big.content as Array<{ text: string }>)[0]!.text, /memoryMbytes/);
    await client.close();

    const long = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'console.log("working"); await new Promise(() => setInterval(() => {}, 1000));' }) });
    const { executionId } = await long.json() as { executionId: string };
    const waiting = fetch(`${base}/v1/runs/${executionId}?wait=30`).then((response) => response.json() as Promise<Record<string, any>>);
    // It runs and printed before the platform says the run is aborting, however slow its start.
    for (let tries = 0; tries < 400; tries += 1) {
      const view = await (await fetch(`${base}/v1/runs/${executionId}`)).json() as Record<string, any>;
      if (view.stdoutBytes > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    mock.emit('aborting');
    // Draining: no new work, while the running script has its grace period.
    let refused: Response | undefined;
    for (let tries = 0; tries < 400; tries += 1) {
      refused = await fetch(`${base}/v1/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'console.log(1)' }) });
      if (refused.status === 503) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.is(refused?.status, 503);
    // The platform's probe and /healthz say the run is draining.
    const draining = await fetch(`${base}/`, { headers: { 'x-apify-container-server-readiness-probe': '1' } });
    assert.is(draining.status, 503);
    const ended = await waiting;
    assert.equal([ended.status, ended.stdout], ['ABORTED', 'working\n']);
    assert.match(ended.statusMessage, /^The server shut down while the script was running/);
    const done = await child;
    assert.is(done.exitCode, 0, done.all);
    assert.match(done.all ?? '', /Standby: the run is being aborted/);
  } finally {
    child.kill();
    await mock.close();
  }
});

standby.run();
