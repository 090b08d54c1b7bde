/**
 * What each piece of the sandbox's hardening costs, measured side by side in one run: the same
 * trivial script (`console.log(1)`) under successively more of the sandbox, runs interleaved so
 * machine noise falls on every variant alike. Usage: `npm run build && node dist/bench/hardening.js [runs]`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BOOTSTRAP_PATH, resolveDeno, resolveTool, sharedDenoDir } from '../orchestrator/run/deno.js';
import { relayHostPort, openRelaySession } from '../orchestrator/relay/relay.js';
import { sandboxCommand } from '../orchestrator/run/sandbox.js';
import { runCode } from '../orchestrator/run/run.js';

const RUNS = Number(process.argv[2] ?? 40);
const CODE = 'console.log(1)';

interface Variant {
  name: string;
  run(): Promise<void>;
}

function spawnTimed(file: string, args: string[], env: Record<string, string>, input?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env, cwd: '/', stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} exited ${code}`))));
    child.stdin.end(input ?? '');
  });
}

function stats(samples: number[]): { median: number; p95: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { median: at(0.5), p95: at(0.95) };
}

async function main(): Promise<void> {
  const deno = resolveDeno();
  const denoDir = sharedDenoDir();
  const scratch = mkdtempSync(path.join(tmpdir(), 'code-runtime-hardening-'));
  const plain = path.join(scratch, 'one.js');
  writeFileSync(plain, CODE);
  const apiBaseUrl = new URL('http://127.0.0.1:9');
  const settings = {
    denoPath: deno, bootstrapPath: BOOTSTRAP_PATH, denoDir, memoryMbytes: 256, apiBaseUrl,
    relayHostPort: await relayHostPort(), prlimitPath: null, setprivPath: null,
  };
  const sandboxOnly = sandboxCommand(settings);
  const prlimit = resolveTool('prlimit');
  const setpriv = resolveTool('setpriv');
  const withPrlimit = sandboxCommand({ ...settings, prlimitPath: prlimit });
  const full = sandboxCommand({ ...settings, prlimitPath: prlimit, setprivPath: setpriv });
  const flagsOnly = sandboxOnly.args.slice(0, -1);
  const session = await openRelaySession({ apiBaseUrl: apiBaseUrl.origin });
  const envelope = JSON.stringify({ code: CODE, secret: 'bench', scriptName: 'script.ts', apify: { url: session.url } });
  const env = full.env;

  const variants: Variant[] = [
    { name: 'bare `deno run one.js`', run: () => spawnTimed(deno, ['run', plain], env) },
    { name: '+ lockdown flags (no config/lock/remote/npm, net allow+deny, heap flag)', run: () => spawnTimed(deno, [...flagsOnly, plain], env) },
    { name: '+ guest bootstrap (stdin envelope, apify binding, blob module)', run: () => spawnTimed(deno, sandboxOnly.args, env, envelope) },
    ...(prlimit ? [{ name: '+ prlimit --data wrapper', run: () => spawnTimed(withPrlimit.file, withPrlimit.args, env, envelope) }] : []),
    ...(setpriv ? [{ name: '+ setpriv --pdeathsig wrapper', run: () => spawnTimed(full.file, full.args, env, envelope) }] : []),
    { name: 'runCode (+ relay session, execa, memory watch, capped buffers, emit pruning)', run: async () => { await runCode({ code: CODE, apiBaseUrl: apiBaseUrl.origin }); } },
  ];
  for (const v of variants) await v.run();
  const samples = variants.map(() => [] as number[]);
  for (let i = 0; i < RUNS; i += 1) {
    for (const [index, v] of variants.entries()) {
      const started = performance.now();
      await v.run();
      samples[index]!.push(performance.now() - started);
    }
  }
  await session.close({ abortRunning: false });
  rmSync(scratch, { recursive: true, force: true });
  console.log(`Hardening cost, ${RUNS} interleaved runs each of \`${CODE}\` (ms):\n`);
  console.log(`${'variant'.padEnd(78)} ${'median'.padStart(7)} ${'p95'.padStart(7)} ${'Δ median'.padStart(9)}`);
  let previous: number | undefined;
  for (const [index, v] of variants.entries()) {
    const { median, p95 } = stats(samples[index]!);
    const delta = previous === undefined ? '' : `${median - previous >= 0 ? '+' : ''}${(median - previous).toFixed(1)}`;
    console.log(`${v.name.padEnd(78)} ${median.toFixed(1).padStart(7)} ${p95.toFixed(1).padStart(7)} ${delta.padStart(9)}`);
    previous = median;
  }
  const bare = stats(samples[0]!).median;
  const all = stats(samples.at(-1)!).median;
  console.log(`\nrunCode / bare deno run: ${(all / bare).toFixed(2)}×`);
}

await main();
