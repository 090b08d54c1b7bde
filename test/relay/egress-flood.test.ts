// A script that floods the egress gate (thousands of fetches at once, raw requests past the guest's
// queue, huge answers it never reads, uploads that never end) while well-behaved scripts fetch
// beside it: their answers are exact, the orchestrator's memory and file descriptors stay within
// stated bounds, and what the flooding run held is gone when it ends.
import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { fixture } from '../helpers/helpers.js';
import { poolFds, sampleProcess } from '../helpers/load.js';
import { startOrigin, type Origin } from '../helpers/origins.js';

const TOKEN = 'apify_api_EGRESSflood0123456789abcdefXYZ';
const AUTH = 'Bearer egress_flood_secret_0123456789';
/** What the flood may add to the orchestrator's RSS (every answer streams with backpressure; nothing is buffered whole). */
const MAX_RSS_GROWTH_MB = 160;
/**
 * Fds it may add at the peak: per run at once (the flood and one good run) its relay connections,
 * and its requests to origins, counted twice because the origin runs in this process; the silent
 * kept-alive ones; the children's pipes.
 */
const MAX_FD_GROWTH = 2 * (RELAY_LIMITS.connectionsPerRun + 2 * RELAY_LIMITS.requestsPerRun) + 2 * RELAY_LIMITS.egressFreeSocketsPerOrigin + 32;
/** Requests its own fetch and its raw calls each make at least, however long that takes on a busy machine (it floods 4 s at least). */
const MIN_REQUESTS = 200;

const flood = suite<{ api: FakeApi; origin: Origin }>('egress flood', {} as { api: FakeApi; origin: Origin });

flood.before(async (ctx) => {
  ctx.api = await startFakeApi({ token: TOKEN });
  ctx.origin = await startOrigin();
});
flood.after(async (ctx) => {
  await ctx.api.close();
  await ctx.origin.close();
});

flood('egress flood :: a run flooding the gate costs the orchestrator bounded memory and fds, and other runs\' requests stay exact', async ({ api, origin }) => {
  const egress = { [origin.url]: { headers: { Authorization: AUTH } } };
  const ports = [Number(new URL(api.url).port), origin.port];
  const basePool = poolFds(ports);
  const sampler = sampleProcess();
  const hostile = runCode({ code: `const FLOOD_MS = 4000, FLOOD_MIN = ${MIN_REQUESTS}; const ORIGIN = '${origin.url}';\n${fixture('egress-flood.ts')}`, token: TOKEN, apiBaseUrl: api.url, egress, timeoutSecs: 30, maxOutputBytes: 64 * 1024 });
  const good = `
let ok = 0;
for (let i = 0; i < 30; i += 1) {
  const body = 'request-' + i + '-' + 'y'.repeat(i * 100);
  const echo = await (await fetch('${origin.url}/echo?n=' + i, { method: 'PUT', body })).json();
  if (echo.method === 'PUT' && echo.url === '/echo?n=' + i && echo.body === body) ok += 1;
}
console.log('ok', ok);`;
  const results = [];
  const goodSpans: [number, number][] = [];
  for (let i = 0; i < 3; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 700));
    const startedAt = Date.now();
    results.push(await runCode({ code: good, egress, timeoutSecs: 30 }));
    goodSpans.push([startedAt, Date.now()]);
  }
  const bad = await hostile;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = readdirSync('/proc/self/fd').length - poolFds(ports);
  const seen = sampler.stop();
  for (const r of results) assert.is(r.stdout, 'ok 30\n', `${r.statusMessage}\n${r.stderr}`);
  const stats = JSON.parse(bad.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number | boolean>;
  assert.ok(stats.relayFound && Number(stats.fetched) >= MIN_REQUESTS && Number(stats.raw) >= MIN_REQUESTS && Number(stats.held) > 0 && Number(stats.uploads) > 0,
    `the flood did not happen: ${bad.stdout.slice(-300)} ${bad.stderr.slice(-300)}`);
  // The well-behaved runs fetched while it flooded, not before or after it.
  const [floodStart, floodEnd] = [Number(stats.startedAt), Number(stats.endedAt)];
  assert.ok(goodSpans.some(([start, end]) => start < floodEnd && end > floodStart), `no well-behaved run during the flood (${floodStart}–${floodEnd}): ${JSON.stringify(goodSpans)}`);
  assert.ok(Number(stats.refused) > 0, 'the relay\'s bounds refused some of it');
  const rssGrowthMb = (seen.peakRss - seen.baseRss) / 1024 / 1024;
  assert.ok(rssGrowthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${rssGrowthMb.toFixed(0)} MB (bound ${MAX_RSS_GROWTH_MB})`);
  assert.ok(seen.peakFds - seen.baseFds < MAX_FD_GROWTH, `fds grew by ${seen.peakFds - seen.baseFds} (bound ${MAX_FD_GROWTH})`);
  const outlived = after - (seen.baseFds - basePool);
  assert.ok(outlived < 2 * RELAY_LIMITS.requestsPerRun, `${outlived} fds outlived the flooding run`);
  // Its requests are listed, up to the cap.
  assert.ok(bad.requests.length > 100 && bad.requests.length <= RELAY_LIMITS.egressRecords, `${bad.requests.length} requests listed`);
});

flood.run();
