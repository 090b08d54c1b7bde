/**
 * A separate Node process for tests that must measure or starve the orchestrator itself (its fd
 * table, its RSS) without disturbing the test runner. Usage: `node resource-probe.js <scenario> [its argument]`;
 * prints one JSON line with what it saw. Run under `prlimit --nofile` for the fd scenario.
 */
import { openSync, closeSync } from 'node:fs';
import { createRuntime, runCode } from '../../orchestrator/index.js';

async function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error: String((error as Error)?.message ?? error) };
  }
}

/** Opens /dev/null until the process has no file descriptor left; returns them to close later. */
function holdEveryFd(): number[] {
  const held: number[] = [];
  for (;;) {
    try {
      held.push(openSync('/dev/null', 'r'));
    } catch {
      return held;
    }
  }
}

/** Uses up every file descriptor, runs scripts, frees some, runs again. */
async function fdExhaustion(): Promise<unknown> {
  // Warm up what is set up once per process (the relay server, Deno's path).
  const first = await runCode({ code: 'console.log("before")' });
  const held = holdEveryFd();
  const starved = await settle(runCode({ code: 'console.log("starved")' }));
  const runtime = createRuntime({ concurrency: 2, warmProcesses: 1 });
  const starvedMany = await settle(runtime.runMany([{ code: 'console.log(1)' }, { code: 'console.log(2)' }]));
  // Let the pool's failed refills and their backoff happen while starved.
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const fd of held.splice(0, 64)) closeSync(fd);
  const after = await settle(runCode({ code: 'console.log("after")' }));
  const afterPool = await settle(runtime.run({ code: 'console.log("pool after")' }));
  await runtime.close();
  for (const fd of held) closeSync(fd);
  return { first: first.stdout, starved, starvedMany, after, afterPool };
}

/** Starved before its first run: the setup done once per process (DENO_DIR, relay) fails as a rejection too. */
async function fdExhaustionFromStart(): Promise<unknown> {
  const held = holdEveryFd();
  const starved = await settle(runCode({ code: 'console.log("starved")' }));
  for (const fd of held.splice(0, 64)) closeSync(fd);
  const after = await settle(runCode({ code: 'console.log("after")' }));
  for (const fd of held) closeSync(fd);
  return { starved, after };
}

/**
 * One byte per write until the orchestrator has received as many chunks as the argument after the
 * scenario says (then the run is aborted): its RSS while it collects them. Counted in chunks, not
 * seconds, as a busy machine delivers fewer and larger ones per second.
 */
async function tinyWrites(): Promise<unknown> {
  const wanted = Number(process.argv[3]);
  if (!Number.isSafeInteger(wanted) || wanted < 1) throw new Error(`tiny-writes needs a number of chunks, got ${process.argv[3]}`);
  const gc = (globalThis as { gc?: () => void }).gc;
  await runCode({ code: 'console.log("warm")' });
  gc?.();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  let chunks = 0;
  const enough = new AbortController();
  const code = 'const b = new Uint8Array(1);\nlet n = 0;\nwhile (true) { b[0] = 97 + (n++ % 26); Deno.stdout.writeSync(b); Deno.stderr.writeSync(b); }\n';
  const result = await runCode({
    code,
    timeoutSecs: 60,
    maxOutputBytes: 1024 * 1024,
    signal: enough.signal,
    onOutput: () => {
      chunks += 1;
      if (chunks === wanted) enough.abort();
    },
  });
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  return { status: result.status, stdoutBytes: result.stdoutBytes, stderrBytes: result.stderrBytes, kept: result.stdout.length, chunks, growthBytes: peak - before };
}

const scenarios: Record<string, () => Promise<unknown>> = { 'fd-exhaustion': fdExhaustion, 'fd-exhaustion-from-start': fdExhaustionFromStart, 'tiny-writes': tinyWrites };
const scenario = scenarios[process.argv[2] ?? ''];
if (!scenario) throw new Error(`Unknown scenario ${process.argv[2]}; one of ${Object.keys(scenarios).join(', ')}`);
process.stdout.write(`${JSON.stringify(await scenario())}\n`);
