/**
 * `npm run -s build:all && node dist/bench/files.js [--quick] [--base DIR]`: what files and values
 * cost, as ratios measured in one run on this machine. (1) 10 MiB crossing the sandbox boundary:
 * printed to stdout, written with `files.write`, read with `files.read`, and read and written back;
 * each against a run that prints one line, so what is left is the bytes' own cost. (2) What `files`
 * costs a run that uses none: the same trivial script with and without an empty `files` option, and
 * with `--base DIR` (the build of a checkout without the feature: `DIR/dist/orchestrator/index.js`)
 * against that build too. Every run goes through a warm-pool runtime, the variants interleaved.
 */
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createRuntime } from '../orchestrator/index.js';
import type { RunOptions } from '../types/options.js';
import type { RunResult } from '../types/result.js';
import type { Runtime, RuntimeOptions } from '../types/runtime.js';
import { round, summarize, table } from './stats.js';

const QUICK = process.argv.includes('--quick');
const CROSSING_RUNS = QUICK ? 5 : 11;
const TRIVIAL_RUNS = QUICK ? 40 : 150;
const MiB = 1024 * 1024;
const SIZE = 10 * MiB;
const baseIndex = process.argv.indexOf('--base');
const BASE_DIR = baseIndex > 0 ? process.argv[baseIndex + 1] : undefined;

const progress = (text: string) => process.stderr.write(`… ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Idle time before each timed run, so the warm pool has refilled as in steady use. */
const GAP_MS = 200;

const PAYLOAD = Buffer.alloc(SIZE, 'x');
const FILL = `new Uint8Array(${SIZE}).fill(120)`;

const CROSSINGS: Record<string, RunOptions> = {
  'one line (floor)': { code: 'console.log(1);' },
  '10 MiB to stdout': { code: `const b = ${FILL};\nfor (let at = 0; at < b.length;) at += await Deno.stdout.write(b.subarray(at));`, maxOutputBytes: 16 * MiB },
  '10 MiB files.write': { code: `await files.write('out.bin', ${FILL});` },
  '10 MiB files.read': { code: 'const b = await files.read("in.bin");\nconsole.log(b.length);', files: { 'in.bin': PAYLOAD } },
  '10 MiB read + write': { code: 'await files.write("out.bin", await files.read("in.bin"));', files: { 'in.bin': PAYLOAD } },
};

function check(result: RunResult, what: string): void {
  if (result.status !== 'SUCCEEDED') throw new Error(`${what}: ${result.status}: ${result.statusMessage}\n${result.stderr}`);
}

async function timed(runtime: Runtime, options: RunOptions, what: string): Promise<number> {
  await sleep(GAP_MS);
  const started = performance.now();
  const result = await runtime.run(options);
  const ms = performance.now() - started;
  check(result, what);
  return ms;
}

/** Interleaved rounds of every variant; the median of each. */
async function rounds(variants: Array<[string, Runtime, RunOptions]>, runs: number): Promise<Record<string, number>> {
  const samples: Record<string, number[]> = Object.fromEntries(variants.map(([name]) => [name, []]));
  // One untimed round first, so each starts with Deno's caches as in steady use.
  for (const [name, runtime, options] of variants) await timed(runtime, options, name);
  for (let i = 0; i < runs; i += 1) {
    for (const [name, runtime, options] of i % 2 === 0 ? variants : [...variants].reverse()) samples[name]!.push(await timed(runtime, options, name));
  }
  return Object.fromEntries(Object.entries(samples).map(([name, list]) => [name, summarize(list).median]));
}

async function crossings(runtime: Runtime): Promise<void> {
  progress(`10 MiB across the boundary: ${CROSSING_RUNS} runs of each variant, interleaved`);
  const medians = await rounds(Object.entries(CROSSINGS).map(([name, options]) => [name, runtime, options]), CROSSING_RUNS);
  const floor = medians['one line (floor)']!;
  const stdout = medians['10 MiB to stdout']! - floor;
  const rows: Array<Array<string | number>> = [['run', 'median ms', 'bytes ms', 'MiB/s', 'vs stdout']];
  for (const [name, ms] of Object.entries(medians)) {
    const bytesMs = ms - floor;
    const mibs = name.includes('read + write') ? 20 : 10;
    rows.push([name, round(ms), name === 'one line (floor)' ? '' : round(bytesMs), name === 'one line (floor)' ? '' : round(mibs / (bytesMs / 1000), 0), name === 'one line (floor)' ? '' : `${round(bytesMs / stdout, 2)}×`]);
  }
  console.log(`\n10 MiB across the sandbox boundary (warm pool, concurrency 1; "bytes ms" is the median less the one-line floor)\n${table(rows)}`);
}

async function emptyFiles(runtime: Runtime): Promise<void> {
  progress(`an empty \`files\` on a trivial run: ${TRIVIAL_RUNS} runs of each, interleaved`);
  const variants: Array<[string, Runtime, RunOptions]> = [
    ['no files option', runtime, { code: 'console.log(1);' }],
    ['files: {}', runtime, { code: 'console.log(1);', files: {} }],
  ];
  let base: Runtime | undefined;
  if (BASE_DIR) {
    const url = pathToFileURL(path.resolve(BASE_DIR, 'dist', 'orchestrator', 'index.js')).href;
    const other = await import(url) as { createRuntime(options: RuntimeOptions): Runtime };
    base = other.createRuntime({ concurrency: 1, warmProcesses: 1 });
    variants.push([`base build (${BASE_DIR})`, base, { code: 'console.log(1);' }]);
  }
  try {
    const medians = await rounds(variants, TRIVIAL_RUNS);
    const first = medians['no files option']!;
    const rows: Array<Array<string | number>> = [['run of console.log(1)', 'median ms', 'ratio']];
    for (const [name, ms] of Object.entries(medians)) rows.push([name, round(ms, 2), `${round(ms / first, 3)}×`]);
    console.log(`\nWhat \`files\` costs a run that uses none (warm pool, concurrency 1)\n${table(rows)}`);
  } finally {
    await base?.close();
  }
}

async function main(): Promise<void> {
  console.log(`code-runtime files bench: ${availableParallelism()} cores, Node ${process.version}${QUICK ? ', --quick' : ''}`);
  const runtime = createRuntime({ concurrency: 1, warmProcesses: 1 });
  try {
    await crossings(runtime);
    await emptyFiles(runtime);
  } finally {
    await runtime.close();
  }
}

await main();
