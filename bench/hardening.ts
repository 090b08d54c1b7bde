/**
 * What each piece of the sandbox costs, measured side by side in one run: the same trivial script
 * (`console.log(1)`) under successively more of the sandbox, in interleaved slices so machine noise
 * falls on every variant alike. For each: wall-clock latency (median, p95) and CPU per run, the Deno
 * process (reaped children's user + system time) and this Node process apart. Where `perf` works, a
 * second table gives each child layer's own CPU from `perf stat` (task-clock of the whole command,
 * wrappers included): per child rather than per 10 ms tick, so a 1 ms layer shows through the noise.
 * Usage: `npm run build:all && node dist/bench/hardening.js [runs]` (runs per variant, default 40).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOOTSTRAP_PATH, resolveDeno, resolveGuestCode, sharedDenoDir } from '../orchestrator/run/deno.js';
import { relayHostPort, openRelaySession } from '../orchestrator/relay/relay.js';
import { sandboxCommand, wrapCommand, type SandboxCommand } from '../orchestrator/run/sandbox.js';
import { envelope as envelopeFor, runCode } from '../orchestrator/run/run.js';
import { normalizeOptions } from '../orchestrator/run/options.js';
import { launch, sandboxTools } from '../orchestrator/run/launch.js';
import { currentSpawner } from '../orchestrator/run/spawner.js';
import { createRuntime } from '../orchestrator/runtime/runtime.js';
import { childrenCpuMs } from './measure.js';
import { round, summarize, table } from './stats.js';

const RUNS = Number(process.argv[2] ?? 40);
/** Runs per variant in a row; CPU is read per slice, since reaped-children CPU is counted in 10 ms ticks. */
const SLICE = 10;
const CODE = 'console.log(1)';
/** Idle time before each warm-pool run (not timed), so the pool has refilled as in steady use. */
const WARM_GAP_MS = 100;
/** Time for a slice's last child to be reaped (its CPU is counted only then). */
const REAP_MS = 50;

/** A child layer: one process, started as is. */
interface Command {
  file: string;
  args: string[];
  input?: string | Buffer;
}

interface Variant {
  name: string;
  run(): Promise<void>;
  /** Set for a child layer, which the per-child table measures under `perf stat`. */
  command?: Command;
  /** Untimed work before each run (the warm pool's refill). */
  before?(): Promise<void>;
}

function spawnTimed(file: string, args: string[], env: Record<string, string>, input?: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
    // A child that never reads stdin (a bare `deno run`) may exit before the write: EPIPE is not a failure.
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
  });
}

/** Starts `command` as runs' children start (by the spawner once it is ready) and waits for its end. */
function launchTimed(command: SandboxCommand, input: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = launch(command, '/', (exit) => (exit.exitCode === 0 ? resolve() : reject(exit.startError ?? new Error(`exited ${exit.exitCode ?? exit.signal}`))));
    child?.stdout?.resume();
    child?.stderr?.resume();
    child?.stdin?.end(input);
  });
}

/** A variant that spawns `command` and waits for its end. */
function layer(name: string, command: Command, env: Record<string, string>): Variant {
  return { name, command, run: () => spawnTimed(command.file, command.args, env, command.input) };
}

/** Whether `perf stat` can count this user's processes here (not in every container or VM). */
function perfWorks(): boolean {
  return spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'true'], { stdio: 'ignore' }).status === 0;
}

/** CPU of one run of `command` (ms, task-clock of it and its execs), from `perf stat`. */
async function perfCpuMs(command: Command, env: Record<string, string>, out: string): Promise<number> {
  await spawnTimed('perf', ['stat', '-x,', '-e', 'task-clock', '-o', out, '--', command.file, ...command.args], env, command.input);
  const line = readFileSync(out, 'utf8').split('\n').find((row) => row.includes('task-clock'));
  return Number(line?.split(',')[0]);
}

async function main(): Promise<void> {
  const deno = resolveDeno();
  const denoDir = sharedDenoDir();
  const scratch = mkdtempSync(path.join(tmpdir(), 'code-runtime-hardening-'));
  const plain = path.join(scratch, 'one.ts');
  writeFileSync(plain, CODE);
  const apiBaseUrl = new URL('http://127.0.0.1:9');
  const settings = {
    denoPath: deno, bootstrapPath: BOOTSTRAP_PATH, denoDir, memoryMbytes: 256, apiBaseUrl,
    relayHostPort: await relayHostPort(),
  };
  const sandboxOnly = sandboxCommand(settings);
  // The wrappers as runs get them, added one at a time.
  const { shellPath: shell, capData, setprivPath: setpriv } = sandboxTools();
  const withShell = wrapCommand(sandboxOnly, { shellPath: shell, capData, setprivPath: null });
  const full = wrapCommand(sandboxOnly, { shellPath: shell, capData, setprivPath: setpriv });
  const flagsOnly = sandboxOnly.args.slice(0, -1);
  const session = await openRelaySession({ apiBaseUrl: apiBaseUrl.origin });
  const envelope = envelopeFor(normalizeOptions({ code: CODE, apiBaseUrl: apiBaseUrl.origin }), 'bench', session.url);
  // The bundle's loader reads the guest's code first (the guest runs only as the bundle: its realm code is a string of it).
  const guestInput = Buffer.concat([resolveGuestCode(), Buffer.from(envelope)]);
  const env = full.env;
  const warm = createRuntime({ concurrency: 1, warmProcesses: 1, defaults: { apiBaseUrl: apiBaseUrl.origin } });

  const variants: Variant[] = [
    layer('bare `deno run one.ts`', { file: deno, args: ['run', plain] }, env),
    layer('+ lockdown flags (no config/lock/remote/npm, net allow+deny, heap flag)', { file: deno, args: [...flagsOnly, plain] }, env),
    layer('+ guest (its code and the envelope on stdin, globals built on first use, blob module)', { file: deno, args: sandboxOnly.args, input: guestInput }, env),
    ...(shell ? [layer('+ sh wrapper (ulimit -d, SIGTRAP ignored)', { file: withShell.file, args: withShell.args, input: guestInput }, env)] : []),
    ...(setpriv ? [layer('+ setpriv --pdeathsig wrapper', { file: full.file, args: full.args, input: guestInput }, env)] : []),
    // Its CPU is the spawner's (its children's time is its own until it is reaped: measure.ts counts it).
    { name: '  (the same limits from the spawner instead, between its fork and exec)', run: () => launchTimed(sandboxOnly, guestInput) },
    { name: 'runCode (+ relay session, child supervision, capped buffers, emit pruning)', run: async () => { await runCode({ code: CODE, apiBaseUrl: apiBaseUrl.origin }); } },
    {
      name: 'runtime, warm pool, one at a time (CPU includes the refill)',
      before: () => new Promise((resolve) => setTimeout(resolve, WARM_GAP_MS)),
      run: async () => { await warm.run({ code: CODE }); },
    },
  ];
  // From a process's second child on, children start through the spawner once it is ready.
  for (let i = 0; i < 50 && !currentSpawner()?.ready; i += 1) await launchTimed(sandboxOnly, guestInput);
  if (!currentSpawner()?.ready) console.log('(no spawner here: the spawner row starts its children through sh and setpriv)\n');
  for (const v of variants) await v.run();
  const wall = variants.map(() => [] as number[]);
  const denoCpu = variants.map(() => 0);
  const nodeCpu = variants.map(() => 0);
  const runs = Math.ceil(RUNS / SLICE) * SLICE;
  for (let slice = 0; slice < runs / SLICE; slice += 1) {
    for (const [index, v] of variants.entries()) {
      // Children reaped during the gaps (a warm child killed late) are counted in their own slice.
      const children = childrenCpuMs();
      let own = 0;
      for (let i = 0; i < SLICE; i += 1) {
        await v.before?.();
        const cpu = process.cpuUsage();
        const started = performance.now();
        await v.run();
        wall[index]!.push(performance.now() - started);
        const used = process.cpuUsage(cpu);
        own += (used.user + used.system) / 1000;
      }
      if (v.before) await v.before();
      // A run ends at the guest's done record, before its process is reaped: wait for the slice's
      // last child, so its CPU is counted here and not in the next variant's slice.
      await new Promise((resolve) => setTimeout(resolve, REAP_MS));
      denoCpu[index]! += childrenCpuMs() - children;
      nodeCpu[index]! += own;
    }
  }
  // Each child layer again, under perf stat: its own CPU per child, interleaved like the above.
  const layers = variants.filter((v) => v.command);
  const perChild = perfWorks() ? layers.map(() => [] as number[]) : undefined;
  const perfOut = path.join(scratch, 'perf.txt');
  for (let i = 0; perChild && i < runs; i += 1) {
    for (const [index, v] of layers.entries()) perChild[index]!.push(await perfCpuMs(v.command!, env, perfOut));
  }
  await warm.close();
  await session.close({ abortRunning: false });
  rmSync(scratch, { recursive: true, force: true });
  const rows: Array<Array<string | number>> = [['variant', 'median ms', 'p95 ms', 'Δ median', 'CPU ms/run Deno + Node', 'Δ CPU']];
  let previous: { median: number; cpu: number } | undefined;
  const delta = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
  for (const [index, v] of variants.entries()) {
    const { median, p95 } = summarize(wall[index]!);
    const [d, n] = [denoCpu[index]! / runs, nodeCpu[index]! / runs];
    const cpu = d + n;
    rows.push([v.name, median, p95, previous ? delta(median - previous.median) : '', `${round(d)} + ${round(n)} = ${round(cpu)}`, previous ? delta(cpu - previous.cpu) : '']);
    // A comparison row is not a layer: the next row's deltas are against the layer before it.
    if (!v.name.startsWith('  ')) previous = { median, cpu };
  }
  console.log(`Cost of each layer, ${runs} interleaved runs each of \`${CODE}\` (slices of ${SLICE})\n`);
  console.log(table(rows));
  const bare = summarize(wall[0]!).median;
  const runCodeIndex = variants.findIndex((v) => v.name.startsWith('runCode'));
  const ratio = (i: number) => (denoCpu[i]! + nodeCpu[i]!) / (denoCpu[0]! + nodeCpu[0]!);
  console.log(`\nrunCode / bare deno run: latency ${(summarize(wall[runCodeIndex]!).median / bare).toFixed(2)}×, CPU ${ratio(runCodeIndex).toFixed(2)}×`);
  console.log(`warm pool / bare deno run: latency ${(summarize(wall.at(-1)!).median / bare).toFixed(2)}×, CPU ${ratio(variants.length - 1).toFixed(2)}×`);
  if (!perChild) {
    console.log('\n(`perf stat` does not work here, so there is no per-child table)');
    return;
  }
  const childRows: Array<Array<string | number>> = [['child layer', 'CPU ms median', 'p95', 'Δ median']];
  let before: number | undefined;
  for (const [index, v] of layers.entries()) {
    const { median, p95 } = summarize(perChild[index]!);
    childRows.push([v.name, median, p95, before === undefined ? '' : delta(median - before)]);
    if (!v.name.startsWith('  ')) before = median;
  }
  console.log(`\nCPU per child from \`perf stat\` (task-clock of the whole command, wrappers included), ${runs} interleaved runs each\n`);
  console.log(table(childRows));
}

await main();
