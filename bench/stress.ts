/**
 * `npm run stress`: a hostile load for a bounded time, loopback only. Several scripts at once each
 * flood the relay (silent connections, slow uploads, one-byte chunks, many calls) and their own
 * stdout/stderr (many tiny writes); others attack the process side (huge output, heap, ArrayBuffer
 * and Worker bombs, `data:` import floods, forged out-of-memory errors); well-behaved scripts run
 * beside them over and over. Prints
 * the orchestrator's peak RSS and fd count and whether every well-behaved result was exact; exits 1
 * if one was not. Not part of `npm test`.
 *
 * Usage: npm run stress -- [--secs 25] [--hostile 3] [--process 2] [--good 2]
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
  options: { secs: { type: 'string', default: '25' }, hostile: { type: 'string', default: '3' }, process: { type: 'string', default: '2' }, good: { type: 'string', default: '2' } },
});
const count = (name: 'secs' | 'hostile' | 'process' | 'good', min: number, max: number): number => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(values[name])}`);
    process.exit(2);
  }
  return value;
};
const secs = count('secs', 5, 600);
const hostileLanes = count('hostile', 0, 32);
const processLanes = count('process', 0, 32);
const goodLanes = count('good', 1, 32);

/** Attacks on the process side, each with the statuses it may end with (anything else is wrong). */
const PROCESS_ATTACKS: Record<string, { code: string; statuses: string[] }> = {
  hugeOutput: { code: 'const chunk = new Uint8Array(1 << 16).fill(65);\nfor (let i = 0; i < 4096; i++) Deno.stdout.writeSync(chunk);', statuses: ['SUCCEEDED', 'TIMED-OUT'] },
  heapBomb: { code: fixture('heap-bomb.ts'), statuses: ['OUT-OF-MEMORY'] },
  bufferBomb: { code: fixture('arraybuffer-bomb.ts'), statuses: ['OUT-OF-MEMORY'] },
  workerBomb: { code: fixture('worker-bomb.ts'), statuses: ['OUT-OF-MEMORY'] },
  imports: { code: 'for (let i = 0; i < 300; i++) await import("data:application/typescript," + encodeURIComponent("export const n: number = " + i + ";//" + "x".repeat(20000)));', statuses: ['SUCCEEDED', 'TIMED-OUT'] },
  forgedOom: { code: 'throw new RangeError("Array buffer allocation failed: just kidding");', statuses: ['FAILED'] },
};
const processStatuses = new Map<string, number>();
/** Process attacks that ended with a status they must not (e.g. a forged OOM taken at its word). */
const misjudged: string[] = [];

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
    const r = await runCode({ code: `const FLOOD_MS = ${floodMs}, FLOOD_MIN_SILENT = 0;\n${fixture('relay-flood.ts')}`, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 60, maxOutputBytes: 64 * 1024 });
    hostileStatuses.set(r.status, (hostileStatuses.get(r.status) ?? 0) + 1);
  }
}

async function processLane(lane: number): Promise<void> {
  const kinds = Object.keys(PROCESS_ATTACKS);
  for (let n = lane; Date.now() < until; n += 1) {
    const kind = kinds[n % kinds.length]!;
    const attack = PROCESS_ATTACKS[kind]!;
    const r = await runCode({ code: attack.code, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 10, memoryMbytes: 64, maxOutputBytes: 64 * 1024 });
    const key = `${kind} ${r.status}`;
    processStatuses.set(key, (processStatuses.get(key) ?? 0) + 1);
    if (!attack.statuses.includes(r.status)) misjudged.push(`${kind} ended ${r.status}: ${r.statusMessage}`);
  }
}

async function goodLane(): Promise<void> {
  while (Date.now() < until) {
    const r = await runCode({ code: WELL_BEHAVED, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 60 });
    goodRuns += 1;
    if (!isExact(r)) wrong.push(`${r.status}: ${r.statusMessage} ${r.stdout.slice(0, 200)} ${r.stderr.slice(0, 300)}`);
  }
}

console.log(`stress: ${secs} s, ${hostileLanes} flooding, ${processLanes} process-attacking and ${goodLanes} well-behaved scripts at a time, fake API on ${api.url}`);
await Promise.all([
  ...Array.from({ length: hostileLanes }, hostileLane),
  ...Array.from({ length: processLanes }, (_, lane) => processLane(lane)),
  ...Array.from({ length: goodLanes }, goodLane),
]);
const seen = sampler.stop();
await api.close();

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
console.log(`orchestrator RSS: ${mb(seen.baseRss)} before, ${mb(seen.peakRss)} peak`);
console.log(`orchestrator fds: ${seen.baseFds} before, ${seen.peakFds} peak`);
console.log(`flooding runs: ${[...hostileStatuses].map(([status, n]) => `${n} ${status}`).join(', ') || 'none'}`);
console.log(`process attacks: ${[...processStatuses].map(([key, n]) => `${n} ${key}`).join(', ') || 'none'}`);
console.log(`well-behaved runs: ${goodRuns}, exact: ${goodRuns - wrong.length}${wrong.length ? `, WRONG: ${wrong.length}` : ' (all correct)'}`);
for (const line of wrong.slice(0, 5)) console.log(`  ${line}`);
for (const line of misjudged.slice(0, 5)) console.log(`  MISJUDGED ${line}`);
process.exit(wrong.length > 0 || misjudged.length > 0 ? 1 : 0);
