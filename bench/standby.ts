/**
 * `npm run -s build:all && node dist/bench/standby.js [--quick]`: what recording executions costs a
 * Standby run (issue 23's evidence), against the fake platform on loopback (test/actor/platform-mock.ts).
 *
 * 1. A run's answer with the store on: a trivial script's REST round trip (`POST /v1/runs?wait=30`) on
 *    a Standby run without records (its default store id is one records cannot name, so it keeps
 *    executions in memory only), one with records and an instant store, and one with records and a
 *    store that takes 250 ms per request; interleaved, medians. Writes happen after the answer, so
 *    the three should not differ beyond noise.
 * 2. A cross-run `get_execution`: `GET /v1/runs/{id}` on run B for an execution that ended on run A
 *    (first lookup: one record read, decoded and restored), beside the same on A (in memory); and
 *    for one still running on A (its record and A's run status).
 * 3. The records one execution writes: count and bytes, as the store received them, for a trivial
 *    script and for ones printing 1 MiB and 10 MiB.
 * Each figure is a ratio or difference measured in the same run, never an absolute target.
 */
import { startStandby, type StandbyProcess } from '../test/actor/harness.js';
import { startPlatform, type Platform, type PlatformRun } from '../test/actor/platform-mock.js';
import { summarize, table } from './stats.js';

const QUICK = process.argv.includes('--quick');
const ROUNDS = QUICK ? 15 : 40;
const LOOKUPS = QUICK ? 10 : 25;
const SLOW_STORE_MS = 250;

const progress = (text: string) => process.stderr.write(`… ${text}\n`);

async function post(base: string, code: string, wait = 30): Promise<{ ms: number; id: string; status: string }> {
  const started = performance.now();
  const response = await fetch(`${base}/v1/runs?wait=${wait}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
  const body = await response.json() as { executionId: string; status: string };
  return { ms: performance.now() - started, id: body.executionId, status: body.status };
}

async function get(base: string, id: string): Promise<{ ms: number; state: string; status: number }> {
  const started = performance.now();
  const response = await fetch(`${base}/v1/runs/${id}`);
  const body = await response.json() as { state: string };
  return { ms: performance.now() - started, state: body.state, status: response.status };
}

async function flushed(run: PlatformRun, platform: Platform, count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ([...run.records.keys()].filter((key) => key.startsWith('exe-')).length < count || platform.requests.length === 0) {
    if (Date.now() > deadline) throw new Error('records were not written');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** PUTs of execution records, by key: how many and how many bytes each key got. */
function writesOf(platform: Platform, run: PlatformRun): Map<string, number[]> {
  const writes = new Map<string, number[]>();
  for (const request of platform.requests) {
    const match = request.path.match(new RegExp(`^/v2/key-value-stores/${run.storeId}/records/(exe-.+)$`));
    if (request.method === 'PUT' && match) writes.set(match[1]!, [...(writes.get(match[1]!) ?? []), request.body.length]);
  }
  return writes;
}

async function main(): Promise<void> {
  const platform = await startPlatform({}, { memoryMbytes: 1024 });
  const servers: StandbyProcess[] = [];
  try {
    const runA = await platform.addRun();
    const runB = await platform.addRun();
    const runSlow = await platform.addRun();
    const runOff = await platform.addRun({ storeId: 'mock-store-without-records' });
    progress('starting four Standby runs');
    const off = await startStandby(runOff.env);
    const a = await startStandby(runA.env);
    const b = await startStandby(runB.env);
    const slow = await startStandby(runSlow.env);
    servers.push(off, a, b, slow);
    if (!/kept in this process only/.test(off.log()) || !/are recorded in key-value store/.test(a.log())) throw new Error(`unexpected setup:\n${off.log()}\n${a.log()}`);

    // 1. A run's answer, records off / on / on with a slow store.
    progress(`${ROUNDS} interleaved rounds of a trivial script on each`);
    const trivial = 'console.log(1)';
    for (const server of [off, a, slow]) await post(server.base, trivial);
    const samples: Record<string, number[]> = { off: [], on: [], slow: [] };
    const order: Array<[keyof typeof samples, StandbyProcess]> = [['off', off], ['on', a], ['slow', slow]];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Each takes each place in turn, so that none always follows another's background writes.
      for (let turn = 0; turn < order.length; turn += 1) {
        const [name, server] = order[(round + turn) % order.length]!;
        // Only that run's store is slow: the platform delays every record request while it answers.
        platform.recordDelayMs = name === 'slow' ? SLOW_STORE_MS : 0;
        samples[name]!.push((await post(server.base, trivial)).ms);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    platform.recordDelayMs = 0;
    const [offS, onS, slowS] = [summarize(samples.off!), summarize(samples.on!), summarize(samples.slow!)];

    // 2. Cross-run lookups.
    progress(`${LOOKUPS} cross-run lookups`);
    const ids: string[] = [];
    for (let index = 0; index < LOOKUPS; index += 1) ids.push((await post(a.base, 'for (let i = 0; i < 200; i++) console.log("line", i)')).id);
    await flushed(runA, platform, ids.length + ROUNDS + 1);
    const localLookups: number[] = [];
    const crossLookups: number[] = [];
    for (const id of ids) {
      localLookups.push((await get(a.base, id)).ms);
      const cross = await get(b.base, id);
      if (cross.state !== 'ended') throw new Error(`B answered ${cross.state} for ${id}`);
      crossLookups.push(cross.ms);
    }
    const again: number[] = [];
    for (const id of ids) again.push((await get(b.base, id)).ms);
    const running: number[] = [];
    const sleeping = await post(a.base, 'await new Promise((resolve) => setTimeout(resolve, 120_000))', 0);
    await new Promise((resolve) => setTimeout(resolve, 500));
    for (let index = 0; index < LOOKUPS; index += 1) {
      const answer = await get(b.base, sleeping.id);
      if (answer.state !== 'running') throw new Error(`B answered ${answer.state} for a running one`);
      running.push(answer.ms);
    }
    await fetch(`${a.base}/v1/runs/${sleeping.id}/abort`, { method: 'POST' });

    // 3. What one execution writes.
    progress('records of one execution');
    const sizes: Array<[string, string]> = [['trivial (console.log(1))', trivial], ['1 MiB of stdout', 'const line = "x".repeat(1023); for (let i = 0; i < 1024; i++) console.log(line)'], ['10 MiB of stdout', 'const line = "x".repeat(1023); for (let i = 0; i < 10240; i++) console.log(line)'], ['1 MiB of varied text', 'for (let i = 0; i < 20000; i++) console.log(`row ${i}: ${Math.random().toString(36).repeat(1 + i % 4)}`)']];
    const written: Array<Array<string | number>> = [['execution', 'records (keys)', 'writes', 'bytes written', 'printed bytes']];
    for (const [label, code] of sizes) {
      const before = new Set(writesOf(platform, runA).keys());
      const { id } = await post(a.base, code);
      const view = await (await fetch(`${a.base}/v1/runs/${id}`)).json() as { stdoutBytes: number };
      const deadline = Date.now() + 60_000;
      let mine: number[] | undefined;
      for (;;) {
        const fresh = [...writesOf(platform, runA).entries()].filter(([key]) => !before.has(key));
        const key = fresh.find(([, bytes]) => bytes.length > 0);
        // Its final record landed once the record decodes as ended: wait until B answers it ended.
        if (key && (await get(b.base, id)).state === 'ended') {
          mine = writesOf(platform, runA).get(key[0]);
          break;
        }
        if (Date.now() > deadline) throw new Error(`no records for ${label}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      written.push([label, 1, mine!.length, mine!.join(' + '), view.stdoutBytes]);
    }

    const rows: Array<Array<string | number>> = [
      ['a trivial run\'s answer (REST, wait)', 'median ms', 'p95 ms', 'runs'],
      ['records off', offS.median, offS.p95, offS.runs],
      ['records on, instant store', onS.median, onS.p95, onS.runs],
      [`records on, store ${SLOW_STORE_MS} ms per request`, slowS.median, slowS.p95, slowS.runs],
    ];
    const lookups = [summarize(localLookups), summarize(crossLookups), summarize(again), summarize(running)];
    const lookupRows: Array<Array<string | number>> = [
      ['GET /v1/runs/{id} (200 lines of output)', 'median ms', 'p95 ms', 'runs'],
      ['on A, which holds it', lookups[0]!.median, lookups[0]!.p95, lookups[0]!.runs],
      ['on B, first time (record read, restored)', lookups[1]!.median, lookups[1]!.p95, lookups[1]!.runs],
      ['on B, again (kept by B)', lookups[2]!.median, lookups[2]!.p95, lookups[2]!.runs],
      ['on B, still running on A (record + run status)', lookups[3]!.median, lookups[3]!.p95, lookups[3]!.runs],
    ];
    process.stdout.write(`${table(rows)}\n\nAdded by records: ${(onS.median - offS.median).toFixed(1)} ms median with an instant store, `
      + `${(slowS.median - offS.median).toFixed(1)} ms with a store taking ${SLOW_STORE_MS} ms a request (the answer does not wait for it).\n\n`
      + `${table(lookupRows)}\n\nCross-run get_execution adds ${(lookups[1]!.median - lookups[0]!.median).toFixed(1)} ms median on loopback (one record read and decode); `
      + `on the platform add one API round trip (two when it still runs elsewhere).\n\n${table(written)}\n`
      + '(A record key is written at most twice: a start record, unless the script ended before its turn, then the final one. Bytes are as sent: gzipped, then sealed.)\n');
  } finally {
    await Promise.all(servers.map((server) => server.stop()));
    await platform.close();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exitCode = 1;
});
