/**
 * What the guest costs one child, and how two builds of it compare: this build's dist/guest and,
 * with `--against DIR`, another's (its dist/guest folder), run in turn so machine noise falls on
 * both alike. Each child is the sandbox's Deno command (no wrapper, no spawner, no relay traffic),
 * given the guest's code, then, once it has had time to set up as a warm child does, its envelope.
 * Per script and build: the whole child's CPU (`perf stat` task-clock: what a cold run costs); the
 * CPU from the envelope to the exit (the whole less its threads' schedstat before the envelope) and
 * the wall time from the envelope to the guest's `done` record (what a warm run costs); and a cold
 * child's wall time from spawn to exit.
 * Usage: `npm run bench:guest -- [--against DIR] [--runs N] [--only NAME,NAME]` (runs default 40;
 * DIR e.g. another checkout's dist/guest, built by its own `npm run build:all`). Needs `perf stat`.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GUEST_CODE_PATH, resolveBootstrap } from '../orchestrator/run/deno.js';
import { sandboxFor } from '../orchestrator/run/run.js';
import { normalizeOptions } from '../orchestrator/run/options.js';
import { round, summarize, table } from './stats.js';

const argv = process.argv.slice(2);
const flag = (name: string) => {
  const at = argv.indexOf(name);
  return at < 0 ? undefined : argv[at + 1];
};
const RUNS = Number(flag('--runs') ?? 40);
const AGAINST = flag('--against');
/** Time a child gets to set up before its envelope, as a warm child has in the pool (the setup takes ~20–40 ms). */
const SETUP_MS = 250;
const RELAY = 'http://127.0.0.1:9/relay/bench';

/** Scripts: none reaches the relay (a refused fetch is refused inside the child). */
const ALL_SCRIPTS: Record<string, string> = {
  'console.log(1)': 'console.log(1)',
  'files.list()': 'console.log(files.list().length)',
  'typeof tools.$list': 'console.log(typeof tools.$list)',
  'refused fetch': "await fetch('http://198.51.100.1/').catch((e) => console.log(e.name))",
  'apify.ApifyApiError': 'console.log(apify.ApifyApiError.name)',
};
/** `--only NAME,NAME`: these scripts alone (e.g. for a build without tools, files or fetch). */
const ONLY = flag('--only')?.split(',');
const SCRIPTS = Object.fromEntries(Object.entries(ALL_SCRIPTS).filter(([name]) => !ONLY || ONLY.includes(name)));

interface Build {
  name: string;
  bootstrap: string;
  guestCode: Buffer;
}

function build(name: string, dir: string): Build {
  const loader = readFileSync(path.join(dir, 'bootstrap.js'), 'utf8');
  return { name, bootstrap: `data:text/javascript,${encodeURIComponent(loader)}`, guestCode: readFileSync(path.join(dir, 'guest.json')) };
}

/** The sizes of the guest's strings, e.g. `core 10465, realm 11906, lazy.tools 3913`. */
function parts(code: Record<string, unknown>, prefix = ''): string {
  return Object.entries(code).map(([k, v]) => (typeof v === 'string' ? `${prefix}${k} ${v.length}` : parts(v as Record<string, unknown>, `${prefix}${k}.`))).join(', ');
}

function envelope(code: string): string {
  return JSON.stringify({
    code, secret: 'bench', scriptName: 'script.ts', allowedOrigins: [],
    apify: { url: RELAY }, tools: { url: RELAY, servers: ['everything'] }, egress: { url: RELAY },
    files: { url: RELAY, inputs: [{ name: 'in.txt', size: 3, contentType: 'text/plain' }], maxFileBytes: 1 << 20 },
  });
}

/** CPU time (ns) of every thread of `pid` so far, from schedstat. */
function threadsCpuNs(pid: number): number {
  let total = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      total += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // A thread that ended meanwhile.
    }
  }
  return total;
}

/** The pid of `parent`'s only child (perf's Deno). */
function childOf(parent: number): number {
  for (let i = 0; i < 200; i += 1) {
    const children = readFileSync(`/proc/${parent}/task/${parent}/children`, 'utf8').trim();
    if (children !== '') return Number(children.split(' ')[0]);
  }
  throw new Error('perf started no child');
}

interface Sample {
  childCpu: number;
  warmCpu: number;
  warmWall: number;
  coldWall: number;
}

/** One warm-style child under perf stat: its whole CPU, and the envelope-to-done part's CPU and wall time. */
async function warmChild(command: { file: string; args: string[]; env: Record<string, string> }, b: Build, code: string, out: string): Promise<Omit<Sample, 'coldWall'>> {
  const args = command.args.map((arg) => (arg === resolveBootstrap() ? b.bootstrap : arg));
  const perf = spawn('perf', ['stat', '-x,', '-e', 'task-clock', '-o', out, '--', command.file, ...args], { env: command.env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
  perf.stderr.resume();
  perf.stdin.write(b.guestCode);
  await new Promise((resolve) => setTimeout(resolve, SETUP_MS));
  const deno = childOf(perf.pid!);
  let stdout = '';
  const closed = new Promise<number | null>((resolve) => perf.on('close', resolve));
  const before = threadsCpuNs(deno);
  const started = performance.now();
  const done = new Promise<number>((resolve, reject) => {
    perf.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // The orchestrator ends a run at this record too, not at the process's exit.
      if (stdout.includes('"kind":"done"')) resolve(performance.now() - started);
    });
    perf.on('close', () => reject(new Error(`the child ended without its done record: ${stdout}`)));
  });
  perf.stdin.end(envelope(code));
  const warmWall = await done;
  if ((await closed) !== 0) throw new Error(`perf or the child failed: ${stdout}`);
  const line = readFileSync(out, 'utf8').split('\n').find((row) => row.includes('task-clock'));
  const childCpu = Number(line?.split(',')[0]);
  // The child exits right after its done record, so the rest of its CPU is the whole less what it used before the envelope.
  return { childCpu, warmCpu: childCpu - before / 1e6, warmWall };
}

/** A cold child: spawned, given the guest's code and its envelope at once; wall time to its exit. */
function coldChild(command: { file: string; args: string[]; env: Record<string, string> }, b: Build, code: string): Promise<number> {
  const args = command.args.map((arg) => (arg === resolveBootstrap() ? b.bootstrap : arg));
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command.file, args, { env: command.env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('close', (status) => (status === 0 ? resolve(performance.now() - started) : reject(new Error(`child exited ${status}`))));
    child.stdin.end(Buffer.concat([b.guestCode, Buffer.from(envelope(code))]));
  });
}

async function main(): Promise<void> {
  if (spawnSync('perf', ['stat', '-x,', '-e', 'task-clock', '--', 'true'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('`perf stat` does not work here; this benchmark needs it');
  }
  const builds = [build('this build', path.dirname(GUEST_CODE_PATH))];
  if (AGAINST) builds.push(build(`--against ${AGAINST}`, AGAINST));
  const { command } = await sandboxFor(normalizeOptions({ code: 'bench' }));
  const scratch = mkdtempSync(path.join(tmpdir(), 'code-runtime-guest-bench-'));
  const out = path.join(scratch, 'perf.txt');
  const samples = new Map<string, Sample[]>();
  const key = (script: string, b: Build) => `${script}\0${b.name}`;
  try {
    for (const b of builds) console.error(`… ${b.name}: guest code ${b.guestCode.length} bytes (${parts(JSON.parse(b.guestCode.toString()))})`);
    for (let i = 0; i < RUNS; i += 1) {
      if (i % 10 === 0) console.error(`… round ${i + 1} of ${RUNS}`);
      for (const [name, code] of Object.entries(SCRIPTS)) {
        // Alternating which build goes first, so neither always follows the other.
        for (const b of i % 2 === 0 ? builds : [...builds].reverse()) {
          const warm = await warmChild(command, b, code, out);
          const coldWall = await coldChild(command, b, code);
          const list = samples.get(key(name, b)) ?? [];
          list.push({ ...warm, coldWall });
          samples.set(key(name, b), list);
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const rows: Array<Array<string | number>> = [['script', 'build', 'child CPU ms', 'envelope→exit CPU ms', 'envelope→done wall ms', 'cold wall ms']];
  for (const name of Object.keys(SCRIPTS)) {
    for (const b of builds) {
      const list = samples.get(key(name, b))!;
      const cell = (pick: (s: Sample) => number) => {
        const s = summarize(list.map(pick));
        return `${s.median} (p95 ${s.p95})`;
      };
      rows.push([name, b.name, cell((s) => s.childCpu), cell((s) => s.warmCpu), cell((s) => s.warmWall), cell((s) => s.coldWall)]);
    }
  }
  console.log(`The guest's cost per child: ${RUNS} runs of each script and build, interleaved; medians (p95)\n`);
  console.log(table(rows));
  if (builds.length === 2) {
    console.log('\nthis build minus the other, medians:');
    for (const name of Object.keys(SCRIPTS)) {
      const m = (b: Build, pick: (s: Sample) => number) => summarize(samples.get(key(name, b))!.map(pick)).median;
      const d = (pick: (s: Sample) => number) => round(m(builds[0]!, pick) - m(builds[1]!, pick), 2);
      console.log(`  ${name}: child CPU ${d((s) => s.childCpu)} ms, envelope→exit CPU ${d((s) => s.warmCpu)} ms, wall ${d((s) => s.warmWall)} ms, cold wall ${d((s) => s.coldWall)} ms`);
    }
  }
}

await main();
