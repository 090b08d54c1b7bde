/**
 * `npm run stress`: a hostile load for a bounded time, loopback only. Several scripts at once each
 * flood the relay (silent connections, slow uploads, one-byte chunks, many calls) and their own
 * stdout/stderr (many tiny writes), while well-behaved scripts run beside them over and over. Prints
 * the orchestrator's peak RSS and fd count and whether every well-behaved result was exact; exits 1
 * if one was not. Not part of `npm test`.
 *
 * Usage: npm run stress -- [--secs 25] [--hostile 3] [--good 2]
 */
import { parseArgs } from 'node:util';
import { runCode } from '../orchestrator/index.js';
import { startFakeApi } from '../test/helpers/fake-api.js';
import { fixture } from '../test/helpers/helpers.js';
import { sampleProcess, WELL_BEHAVED, wellBehavedExpected } from '../test/helpers/load.js';
import type { RunResult } from '../types/result.js';

const TOKEN = 'apify_api_STRESStoken0123456789abcdefXYZ';
const FLOOD_MS = 6000;

const { values } = parseArgs({
  options: { secs: { type: 'string', default: '25' }, hostile: { type: 'string', default: '3' }, good: { type: 'string', default: '2' } },
});
const count = (name: 'secs' | 'hostile' | 'good', min: number, max: number): number => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return value;
};
const secs = count('secs', 5, 600);
const hostileLanes = count('hostile', 0, 32);
const goodLanes = count('good', 1, 32);

const api = await startFakeApi({ token: TOKEN });
const sampler = sampleProcess();
const until = Date.now() + secs * 1000;
const hostileStatuses = new Map<string, number>();
let goodRuns = 0;
const wrong: string[] = [];

const expected = JSON.stringify(wellBehavedExpected());
const isExact = (r: RunResult) => {
  try {
    return r.status === 'SUCCEEDED' && JSON.stringify(JSON.parse(r.stdout)) === expected;
  } catch {
    return false;
  }
};

async function hostileLane(): Promise<void> {
  while (Date.now() < until) {
    const floodMs = Math.max(1000, Math.min(FLOOD_MS, until - Date.now()));
    const r = await runCode({ code: `const FLOOD_MS = ${floodMs};\n${fixture('relay-flood.ts')}`, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 60, maxOutputBytes: 64 * 1024 });
    hostileStatuses.set(r.status, (hostileStatuses.get(r.status) ?? 0) + 1);
  }
}

async function goodLane(): Promise<void> {
  while (Date.now() < until) {
    const r = await runCode({ code: WELL_BEHAVED, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 60 });
    goodRuns += 1;
    if (!isExact(r)) wrong.push(`${r.status}: ${r.statusMessage} ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 300)}`);
  }
}

console.log(`stress: ${secs} s, ${hostileLanes} flooding and ${goodLanes} well-behaved scripts at a time, fake API on ${api.url}`);
await Promise.all([...Array.from({ length: hostileLanes }, hostileLane), ...Array.from({ length: goodLanes }, goodLane)]);
const seen = sampler.stop();
await api.close();

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
console.log(`orchestrator RSS: ${mb(seen.baseRss)} before, ${mb(seen.peakRss)} peak`);
console.log(`orchestrator fds: ${seen.baseFds} before, ${seen.peakFds} peak`);
console.log(`flooding runs: ${[...hostileStatuses].map(([status, n]) => `${n} ${status}`).join(', ') || 'none'}`);
console.log(`well-behaved runs: ${goodRuns}, exact: ${goodRuns - wrong.length}${wrong.length ? `, WRONG: ${wrong.length}` : ' (all correct)'}`);
for (const line of wrong.slice(0, 5)) console.log(`  ${line}`);
process.exit(wrong.length > 0 ? 1 : 0);
