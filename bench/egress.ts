/**
 * `npm run bench:egress`: what the egress gate costs, against a direct fetch from Deno to the same
 * loopback server, all in one run on this machine. The origin is a separate Node process (so its
 * CPU is nobody's here); each side runs the same script: sequential GETs of a small JSON answer,
 * timed and CPU-counted inside Deno (`process.cpuUsage`, no permission needed) around the loop
 * only. The gated side adds the relay's CPU: this process's, over a run with the requests minus a
 * run without them. Then one large download each way, for throughput. Rounds alternate (direct,
 * gated) so load on the machine falls on both alike. Loopback only.
 * Usage: node dist/bench/egress.js [--quick]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { runCode } from '../orchestrator/index.js';
import { resolveDeno } from '../orchestrator/run/deno.js';
import { RELAY_LIMITS } from '../orchestrator/relay/limits.js';
import { round, summarize, table } from './stats.js';

const QUICK = process.argv.includes('--quick');
const REQUESTS = QUICK ? 300 : 1000;
const ROUNDS = QUICK ? 3 : 5;
const DOWNLOAD_BYTES = 64 * 1024 * 1024;
/** A secret configured for the origin, so the gate scrubs as it would in use. */
const HEADER = { Authorization: 'Bearer bench_secret_0123456789abcdefXYZ' };

const progress = (text: string) => process.stderr.write(`… ${text}\n`);

/** The origin: a keep-alive server answering `/small` with 120 bytes of JSON and `/big?bytes=N` with N bytes. */
async function startOrigin(): Promise<{ url: string; child: ChildProcess }> {
  const source = `
const http = require('node:http');
const small = Buffer.from(JSON.stringify({ id: 42, name: 'example', tags: ['a', 'b', 'c'], text: 'x'.repeat(60) }));
const block = Buffer.alloc(1 << 16, 'y');
http.createServer((req, res) => {
  const url = new URL(req.url, 'http://o');
  if (url.pathname === '/big') {
    let left = Number(url.searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    const pump = () => { while (left > 0) { const n = Math.min(left, block.length); left -= n; if (!res.write(block.subarray(0, n))) return res.once('drain', pump); } res.end(); };
    return pump();
  }
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': small.length });
  res.end(small);
}).listen(0, '127.0.0.1', function () { process.stdout.write(String(this.address().port) + '\\n'); });`;
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())));
  return { url: `http://127.0.0.1:${port}`, child };
}

/** The script both sides run: N requests after a warm-up, then one download; prints one JSON line. */
function script(origin: string, requests: number, download: number): string {
  return `
import process from 'node:process';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
for (let i = 0; i < 20; i += 1) await (await fetch('${origin}/small')).arrayBuffer();
// The baseline run (no requests) still warms up, so the difference is the requests' own.
const samples = [];
const cpu0 = cpu();
const t0 = performance.now();
for (let i = 0; i < ${requests}; i += 1) {
  const s = performance.now();
  await (await fetch('${origin}/small')).arrayBuffer();
  samples.push(performance.now() - s);
}
const wall = performance.now() - t0;
const cpuMs = cpu() - cpu0;
let downloadMs = 0;
if (${download} > 0) {
  const d0 = performance.now();
  let got = 0;
  for await (const chunk of (await fetch('${origin}/big?bytes=${download}')).body) got += chunk.length;
  downloadMs = performance.now() - d0;
  if (got !== ${download}) throw new Error('short download: ' + got);
}
console.log(JSON.stringify({ samples, wall, cpuMs, downloadMs }));`;
}

interface Side {
  latency: number[];
  cpuPerRequest: number[];
  mbPerSec: number[];
}

interface Measured {
  samples: number[];
  wall: number;
  cpuMs: number;
  downloadMs: number;
}

async function direct(file: string, origin: string): Promise<Measured> {
  const host = new URL(origin).host;
  const r = await execa(resolveDeno(), ['run', '--quiet', '--no-config', '--no-prompt', `--allow-net=${host}`, file], { reject: false, env: { DENO_NO_UPDATE_CHECK: '1' } });
  if (r.exitCode !== 0) throw new Error(`direct: ${r.stderr}`);
  return JSON.parse(r.stdout) as Measured;
}

/** One gated run; with `requests` 0 it is the baseline whose relay CPU is subtracted. */
async function gated(origin: string, requests: number, download: number): Promise<{ measured: Measured; relayCpuMs: number }> {
  const before = process.cpuUsage();
  const r = await runCode({ code: script(origin, requests, download), egress: { [origin]: { headers: HEADER } }, timeoutSecs: 300, memoryMbytes: 256 });
  const used = process.cpuUsage(before);
  if (r.status !== 'SUCCEEDED') throw new Error(`gated: ${r.statusMessage}\n${r.stderr}`);
  return { measured: JSON.parse(r.stdout) as Measured, relayCpuMs: (used.user + used.system) / 1000 };
}

async function main(): Promise<void> {
  const { url: origin, child } = await startOrigin();
  const scratch = mkdtempSync(path.join(tmpdir(), 'code-runtime-bench-egress-'));
  const file = path.join(scratch, 'direct.ts');
  writeFileSync(file, script(origin, REQUESTS, DOWNLOAD_BYTES));
  const sides: Record<'direct' | 'gated', Side> = {
    direct: { latency: [], cpuPerRequest: [], mbPerSec: [] },
    gated: { latency: [], cpuPerRequest: [], mbPerSec: [] },
  };
  const relayPerRequest: number[] = [];
  try {
    for (let round = 1; round <= ROUNDS; round += 1) {
      progress(`round ${round} of ${ROUNDS}: ${REQUESTS} requests and a ${DOWNLOAD_BYTES / 1024 / 1024} MiB download, direct then through the gate`);
      const d = await direct(file, origin);
      sides.direct.latency.push(...d.samples);
      sides.direct.cpuPerRequest.push(d.cpuMs / REQUESTS);
      sides.direct.mbPerSec.push(DOWNLOAD_BYTES / 1024 / 1024 / (d.downloadMs / 1000));
      const base = await gated(origin, 0, 0);
      const g = await gated(origin, REQUESTS, 0);
      sides.gated.latency.push(...g.measured.samples);
      // The relay's CPU for the requests alone: this run's minus the same run without them.
      relayPerRequest.push((g.relayCpuMs - base.relayCpuMs) / REQUESTS);
      sides.gated.cpuPerRequest.push(g.measured.cpuMs / REQUESTS);
      const download = await gated(origin, 0, DOWNLOAD_BYTES);
      sides.gated.mbPerSec.push(DOWNLOAD_BYTES / 1024 / 1024 / (download.measured.downloadMs / 1000));
    }
  } finally {
    child.kill();
    rmSync(scratch, { recursive: true, force: true });
  }
  const median = (values: number[]) => summarize(values).median;
  const precise = (values: number[]) => round([...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!, 3);
  const lat = { direct: summarize(sides.direct.latency), gated: summarize(sides.gated.latency) };
  const latMs = { direct: precise(sides.direct.latency), gated: precise(sides.gated.latency) };
  const p95 = (values: number[]) => round([...values].sort((a, b) => a - b)[Math.ceil(values.length * 0.95) - 1]!, 3);
  const cpu = { direct: precise(sides.direct.cpuPerRequest), guest: precise(sides.gated.cpuPerRequest), relay: precise(relayPerRequest) };
  const rows: Array<Array<string | number>> = [
    ['per request (GET, 120 B JSON)', 'direct fetch', 'through the gate', 'added'],
    ['latency median, ms', latMs.direct, latMs.gated, round(latMs.gated - latMs.direct, 3)],
    ['latency p95, ms', p95(sides.direct.latency), p95(sides.gated.latency), round(p95(sides.gated.latency) - p95(sides.direct.latency), 3)],
    ['CPU in Deno, ms', cpu.direct, cpu.guest, round(cpu.guest - cpu.direct, 3)],
    ['CPU in the relay (orchestrator), ms', 0, cpu.relay, cpu.relay],
    ['CPU in all, ms', cpu.direct, round(cpu.guest + cpu.relay, 3), round(cpu.guest + cpu.relay - cpu.direct, 3)],
    [`download of ${DOWNLOAD_BYTES / 1024 / 1024} MiB, MiB/s`, round(median(sides.direct.mbPerSec)), round(median(sides.gated.mbPerSec)), ''],
  ];
  process.stdout.write(`${table(rows)}\n`);
  process.stdout.write(`(${lat.direct.runs} requests each way over ${ROUNDS} rounds; the gate scrubs one configured secret; `
    + `bounds per run: ${RELAY_LIMITS.requestsPerRun} requests in flight, ${RELAY_LIMITS.egressRequestBytesPerRun / 1024 / 1024} MiB up, ${RELAY_LIMITS.egressResponseBytesPerRun / 1024 / 1024} MiB down)\n`);
}

await main();
