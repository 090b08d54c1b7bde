// A script that floods the relay (silent connections, slow uploads, one-byte chunks, many calls at
// once, many tiny writes) while well-behaved scripts run beside it: the orchestrator's memory and
// file descriptors stay within stated bounds, the well-behaved results are exact, and everything
// the flooding run held is gone when it ends.
import { readdirSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { fixture } from '../helpers/helpers.js';
import { poolFds, sampleProcess, WELL_BEHAVED, wellBehavedExpected } from '../helpers/load.js';

const TOKEN = 'apify_api_FLOODtoken0123456789abcdefXYZ';
/**
 * Bounds the flood may cost the orchestrator above what it used before (unbounded, it took ~900 MB
 * and one fd per connection). Fds: the two runs' connections, the silent ones not yet closed, the
 * relay's calls to the API, and the children's pipes.
 */
const MAX_RSS_GROWTH_MB = 160;
const MAX_FD_GROWTH = 2 * RELAY_LIMITS.connectionsPerRun + RELAY_LIMITS.unidentifiedConnections + RELAY_LIMITS.requestsPerRun + 32;
/** Silent connections the flood opens at least, however long that takes on a busy machine (it floods 4 s at least). */
const MIN_SILENT = 600;

const flood = suite<{ api: FakeApi }>('relay flood', {} as { api: FakeApi });

flood.before(async (ctx) => {
  ctx.api = await startFakeApi({ token: TOKEN });
});
flood.after(async (ctx) => {
  await ctx.api.close();
});

flood('relay flood :: a flooding run costs the orchestrator bounded memory and fds, and hurts no other run', async ({ api }) => {
  const apiPort = Number(new URL(api.url).port);
  const baseApiFds = poolFds([apiPort]);
  const sampler = sampleProcess();
  const hostile = runCode({ code: `const FLOOD_MS = 4000, FLOOD_MIN_SILENT = ${MIN_SILENT};\n${fixture('relay-flood.ts')}`, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 30, maxOutputBytes: 64 * 1024 });
  const good = [];
  const goodSpans: [number, number][] = [];
  for (let i = 0; i < 3; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, 700));
    const startedAt = Date.now();
    good.push(await runCode({ code: WELL_BEHAVED, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 30 }));
    goodSpans.push([startedAt, Date.now()]);
  }
  const bad = await hostile;
  // What the flooding run held is released with it.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = readdirSync('/proc/self/fd').length - poolFds([apiPort]);
  const seen = sampler.stop();
  for (const r of good) {
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.equal(JSON.parse(r.stdout), wellBehavedExpected());
  }
  const stats = JSON.parse(bad.stdout.trim().split('\n').at(-1) ?? '{}') as { relayFound?: boolean; silent?: number; uploads?: number; startedAt?: number; endedAt?: number };
  assert.ok(stats.relayFound && (stats.silent ?? 0) >= MIN_SILENT && (stats.uploads ?? 0) > 0, `the flood did not happen: ${bad.stdout.slice(-300)} ${bad.stderr.slice(-300)}`);
  // The well-behaved runs ran while it flooded, not before or after it.
  assert.ok(goodSpans.some(([start, end]) => start < stats.endedAt! && end > stats.startedAt!), `no well-behaved run during the flood (${stats.startedAt}–${stats.endedAt}): ${JSON.stringify(goodSpans)}`);
  const rssGrowthMb = (seen.peakRss - seen.baseRss) / 1024 / 1024;
  assert.ok(rssGrowthMb < MAX_RSS_GROWTH_MB, `RSS grew by ${rssGrowthMb.toFixed(0)} MB (bound ${MAX_RSS_GROWTH_MB})`);
  assert.ok(seen.peakFds - seen.baseFds < MAX_FD_GROWTH, `fds grew by ${seen.peakFds - seen.baseFds} (bound ${MAX_FD_GROWTH})`);
  const outlived = after - (seen.baseFds - baseApiFds);
  assert.ok(outlived < 2 * RELAY_LIMITS.requestsPerRun, `${outlived} fds outlived the flooding run`);
});

flood.run();
