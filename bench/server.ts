/**
 * `npm run bench` (after bench.ts): what the server adds to a run. A trivial script's round trip
 * over MCP stdio (`code-runtime mcp`), MCP Streamable HTTP and REST (`code-runtime serve`), beside
 * `runtime.run` in this process (the floor), interleaved so all see the same machine; then
 * throughput at concurrency 2 through REST against direct (alternating rounds, medians), and the
 * server's own cost without a script (a stub runtime). Targets: each round trip's median
 * within 1.5× of direct plus 2 ms; throughput within 10 % of direct. Writes bench/server-results.json.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PACKAGE_ROOT } from '../orchestrator/run/deno.js';
import { createRuntime, createServer, type Runtime } from '../orchestrator/index.js';
import type { RunResult } from '../types/result.js';
import { TRIVIAL } from './scripts.js';
import { round, summarize, table, type Summary } from './stats.js';

const QUICK = process.argv.includes('--quick');
const ROUND_TRIPS = QUICK ? 30 : 60;
const THROUGHPUT_RUNS = QUICK ? 60 : 120;
const THROUGHPUT_ROUNDS = 3;
/** Idle time before each timed run, so warm pools have refilled as in steady use. */
const GAP_MS = 100;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const progress = (text: string) => process.stderr.write(`… ${text}\n`);

function check(status: unknown, what: string): void {
  if (status !== 'SUCCEEDED') throw new Error(`${what}: the run ended ${String(status)}`);
}

/** `code-runtime serve` on a free port; resolves with its URL and a stop function. */
function startServe(): Promise<{ url: string; stop(): void }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--concurrency', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = stderr.match(/serving on (http:\/\/\S+) /);
      if (match) resolve({ url: match[1]!, stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function restRun(url: string): Promise<void> {
  const response = await fetch(`${url}/v1/runs?wait=30`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: TRIVIAL }) });
  check(((await response.json()) as { status?: string }).status, 'REST');
}

async function mcpRun(client: Client, what: string): Promise<void> {
  const result = await client.callTool({ name: 'run_code', arguments: { code: TRIVIAL } });
  // The answer's first word is the status (docs/mcp.md).
  check((result.content as Array<{ text?: string }>)[0]?.text?.split(' ')[0], what);
}

/** Runs `total` tasks with `concurrency` in flight; runs per second. */
async function throughput(total: number, concurrency: number, task: () => Promise<void>): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < total) {
      next += 1;
      await task();
    }
  }));
  return total / ((performance.now() - started) / 1000);
}

const OVERHEAD_RUNS = QUICK ? 200 : 500;

/** A runtime that runs nothing: what is left of a round trip is the server's and the protocol's own cost. */
function stubRuntime(): Runtime {
  const result: RunResult = {
    status: 'SUCCEEDED', exitCode: 0, stdout: '1\n', stderr: '', statusMessage: 'Script completed', durationMillis: 0,
    stdoutBytes: 2, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false, actorRuns: [], toolCalls: [], requests: [], files: [],
  };
  return {
    async run(options) {
      options.onOutput?.('stdout', Buffer.from('1\n'));
      return result;
    },
    async runMany() {
      return [];
    },
    toolServers: [],
    async listTools() {
      return { tools: [], unavailable: [] };
    },
    async close() {},
  };
}

/** Round trips through an in-process server over a runtime that runs nothing (client and server in this process). */
async function protocolOverhead(): Promise<Record<string, Summary>> {
  const server = createServer({ runtime: stubRuntime(), concurrency: 2 });
  const { port } = await server.listen({ port: 0 });
  const url = `http://127.0.0.1:${port}`;
  const client = new Client({ name: 'bench', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    const out: Record<string, Summary> = {};
    for (const [name, run] of [['REST', () => restRun(url)], ['MCP HTTP', () => mcpRun(client, 'MCP HTTP')]] as const) {
      for (let i = 0; i < 20; i += 1) await run();
      const samples: number[] = [];
      for (let i = 0; i < OVERHEAD_RUNS; i += 1) samples.push(await timed(run));
      out[name] = summarize(samples);
    }
    return out;
  } finally {
    await client.close();
    await server.close();
  }
}

export async function serverBench(): Promise<Record<string, unknown>> {
  progress(`server: protocol overhead without a script, ${OVERHEAD_RUNS} round trips each`);
  const overhead = await protocolOverhead();
  const direct = createRuntime({ concurrency: 2 });
  const serve = await startServe();
  const stdio = new Client({ name: 'bench', version: '1' });
  const http = new Client({ name: 'bench', version: '1' });
  try {
    await stdio.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--concurrency', '2'] }));
    await http.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`)));
    const variants: Record<string, () => Promise<void>> = {
      direct: async () => check((await direct.run({ code: TRIVIAL })).status, 'direct'),
      'MCP stdio': () => mcpRun(stdio, 'MCP stdio'),
      'MCP HTTP': () => mcpRun(http, 'MCP HTTP'),
      REST: () => restRun(serve.url),
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(variants).map((name) => [name, []]));
    progress(`server: ${ROUND_TRIPS} round trips of each, interleaved`);
    for (const run of Object.values(variants)) await run();
    for (let i = 0; i < ROUND_TRIPS; i += 1) {
      for (const [name, run] of Object.entries(variants)) {
        await sleep(GAP_MS);
        samples[name]!.push(await timed(run));
      }
    }
    const latency: Record<string, Summary> = Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list)]));
    progress(`server: throughput at concurrency 2, ${THROUGHPUT_RUNS} runs each in ${THROUGHPUT_ROUNDS} alternating rounds`);
    // Alternating rounds, median of each: load from elsewhere on the machine hits both alike.
    const rates = { direct: [] as number[], rest: [] as number[] };
    for (let round = 0; round < THROUGHPUT_ROUNDS; round += 1) {
      rates.direct.push(await throughput(THROUGHPUT_RUNS / THROUGHPUT_ROUNDS, 2, variants.direct!));
      rates.rest.push(await throughput(THROUGHPUT_RUNS / THROUGHPUT_ROUNDS, 2, variants.REST!));
    }
    const directRate = summarize(rates.direct).median;
    const restRate = summarize(rates.rest).median;

    const floor = latency.direct!.median;
    const lines = ['', 'Server round trip of a trivial script (ms)', table([
      ['path', 'median', 'p95', 'over direct'],
      ...Object.entries(latency).map(([name, s]) => [name, s.median, s.p95, `+${round(s.median - floor)}`]),
    ])];
    const targets: string[] = [];
    for (const name of ['MCP stdio', 'MCP HTTP', 'REST']) {
      const limit = round(floor * 1.5 + 2);
      targets.push(`target server round trip ${name}: median ${latency[name]!.median} ms <= 1.5 x direct + 2 ms = ${limit} ms ${latency[name]!.median <= limit ? 'met' : 'MISSED'}`);
    }
    targets.push(`target server throughput at concurrency 2: REST ${round(restRate)}/s >= 90 % of direct ${round(directRate)}/s ${restRate >= 0.9 * directRate ? 'met' : 'MISSED'}`);
    lines.push('', `Without a script (stub runtime, in-process server and client): REST median ${overhead.REST!.median} ms (p95 ${overhead.REST!.p95}), MCP HTTP median ${overhead['MCP HTTP']!.median} ms (p95 ${overhead['MCP HTTP']!.p95})`);
    process.stdout.write(`${[...lines, '', `Throughput at concurrency 2: direct ${round(directRate)} runs/s, REST ${round(restRate)} runs/s`, ...targets].join('\n')}\n`);
    return { latency, overhead, throughput: { direct: round(directRate), rest: round(restRate) }, targets };
  } finally {
    await Promise.allSettled([stdio.close(), http.close(), direct.close()]);
    serve.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = await serverBench();
  writeFileSync(path.join(PACKAGE_ROOT, 'bench', 'server-results.json'), `${JSON.stringify(results, null, 2)}\n`);
}
