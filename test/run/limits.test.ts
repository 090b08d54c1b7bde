// The limits, enforced from outside the child: wall clock, memory beyond the heap, and output caps.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { resolveTool } from '../../orchestrator/run/deno.js';
import { dataLimitBytes } from '../../orchestrator/run/sandbox.js';
import { fixture, fixturePath } from '../helpers/helpers.js';

const limits = suite('limits');

limits('limits :: a script trapping SIGTERM in a hot loop is dead within timeout + 1 s', async () => {
  // Counted from its first output, which comes after the deadline started (at the envelope): Deno's
  // own start, slow on a busy machine, is not part of the bound.
  let printed: number | undefined;
  const r = await runCode({ code: fixture('traps-sigterm.ts'), timeoutSecs: 1, onOutput: () => { printed ??= performance.now(); } });
  const elapsed = performance.now() - printed!;
  assert.is(r.status, 'TIMED-OUT');
  assert.is(r.stdout, 'trapping\n');
  assert.ok(elapsed < 2000, `dead ${Math.round(elapsed)} ms after it printed`);
});

limits('limits :: a timer that never stops is TIMED-OUT, output before the kill kept', async () => {
  // Ticks every 20 ms: a second one comes well within the second, even after a slow start.
  const r = await runCode({ code: 'let n = 0;\nsetInterval(() => console.log(`tick ${++n}`), 20);', timeoutSecs: 1 });
  assert.is(r.status, 'TIMED-OUT');
  assert.match(r.stdout, /^tick 1\ntick 2\n/);
  // Every line it printed is kept whole and in order, up to the kill.
  const ticks = r.stdout.split('\n');
  assert.is(ticks.pop(), '');
  assert.equal(ticks, ticks.map((_, i) => `tick ${i + 1}`));
});

limits('limits :: 16 GB of ArrayBuffers ends as OUT-OF-MEMORY, the host untouched', async () => {
  const r = await runCode({ code: fixture('arraybuffer-bomb.ts'), memoryMbytes: 64, timeoutSecs: 30 });
  assert.is(r.status, 'OUT-OF-MEMORY', `${r.statusMessage}\n${r.stderr}`);
  assert.is(r.exitCode, 137);
  // The watch kills at 64 + 128 MB resident: it may see one 256 MB block at most, never 1 GB.
  assert.not.match(r.stdout, /1024 MB/);
});

limits('limits :: one 16 GB allocation is refused at once: a RangeError the script can catch, FAILED if it does not', async () => {
  // The orchestrator saw no memory used, so it is not OUT-OF-MEMORY: only the script's own words say so.
  const r = await runCode({ code: 'const a = new Uint8Array(16 * 1024 ** 3);\nconsole.log(a.length);', memoryMbytes: 64 });
  assert.is(r.status, 'FAILED', `${r.statusMessage}\n${r.stderr}`);
  assert.is(r.statusMessage, 'Script threw: RangeError: Array buffer allocation failed (allocations past the memory limit are refused)');
  assert.is(r.stdout, '');
  const caught = await runCode({ code: 'try { new Uint8Array(16 * 1024 ** 3); } catch (e) { console.log("caught", e.name); }', memoryMbytes: 64 });
  assert.is(caught.status, 'SUCCEEDED');
  assert.is(caught.stdout, 'caught RangeError\n');
});

/** Runs `script` (ES module text) in a Node process whose data-segment limits are `soft:hard` bytes; its last line of stdout, parsed. */
function underDataLimit(soft: number, hard: number, script: string): Record<string, string> {
  const prlimit = resolveTool('prlimit');
  assert.ok(prlimit, 'util-linux prlimit is needed to lower the data limit');
  const index = new URL('../../orchestrator/index.js', import.meta.url).href;
  const code = `const { runCode, createRuntime } = await import(${JSON.stringify(index)});\n${script}`;
  const r = spawnSync(prlimit!, [`--data=${soft}:${hard}`, '--', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

const MB = 1024 * 1024;

limits('limits :: under a data-segment hard limit too low for memoryMbytes, a run is refused naming the limit and what fits', () => {
  // Between what 16 MB and 256 MB of heap need: the small run fits, the large one cannot be capped.
  const hard = 1400 * MB;
  assert.ok(dataLimitBytes(16) <= hard && dataLimitBytes(256) > hard);
  const out = underDataLimit(hard, hard, `
    const out = {};
    await runCode({ code: 'console.log(1)', memoryMbytes: 256 }).then(() => { out.big = 'resolved'; }, (e) => { out.big = e.message; });
    const small = await runCode({ code: 'console.log("fits")', memoryMbytes: 16 });
    out.small = small.status + ' ' + small.stdout;
    const runtime = createRuntime({ defaults: { memoryMbytes: 256 } });
    const [entry] = await runtime.runMany([{ code: 'console.log(1)' }]);
    out.many = entry.status + ': ' + entry.statusMessage;
    await runtime.close();
    console.log(JSON.stringify(out));`);
  const need = dataLimitBytes(256) / MB;
  const fits = (hard - dataLimitBytes(0)) / (dataLimitBytes(1) - dataLimitBytes(0));
  const message = `memoryMbytes 256 needs a data-segment limit of ${need} MB, above this process's hard limit (RLIMIT_DATA, \`ulimit -d\`) of 1400 MB, which sandboxes cannot exceed: use memoryMbytes ≤ ${fits}, or start the orchestrator with a data limit of at least ${need} MB`;
  assert.is(out.big, message);
  assert.is(out.small, 'SUCCEEDED fits\n');
  assert.is(out.many, `INFRASTRUCTURE-ERROR: ${message}`);
});

limits('limits :: the command line says the refusal with the flag it was given (--memory), not the library\'s option name', () => {
  const prlimit = resolveTool('prlimit');
  assert.ok(prlimit, 'util-linux prlimit is needed to lower the data limit');
  const hard = 1400 * MB;
  const cli = fileURLToPath(new URL('../../orchestrator/bin/code-runtime.js', import.meta.url));
  const r = spawnSync(prlimit!, [`--data=${hard}:${hard}`, '--', process.execPath, cli, '--memory', '256', fixturePath('hello.ts')], { encoding: 'utf8', timeout: 60_000 });
  const need = dataLimitBytes(256) / MB;
  const fits = (hard - dataLimitBytes(0)) / (dataLimitBytes(1) - dataLimitBytes(0));
  assert.is(r.stderr, `code-runtime: --memory 256 needs a data-segment limit of ${need} MB, above this process's hard limit (RLIMIT_DATA, \`ulimit -d\`) of 1400 MB, which sandboxes cannot exceed: use --memory ≤ ${fits}, or start the orchestrator with a data limit of at least ${need} MB\n`);
  assert.is(r.status, 70);
  assert.is(r.stdout, '');
});

limits('limits :: only the hard data limit bounds the cap: a soft limit below it is raised for the child', () => {
  // The shell's `ulimit -d` may raise the soft limit up to the hard one.
  const out = underDataLimit(1000 * MB, 2000 * MB, `
    const r = await runCode({ code: 'console.log("capped")', memoryMbytes: 256 });
    console.log(JSON.stringify({ run: r.status + ' ' + r.stdout }));`);
  assert.ok(dataLimitBytes(256) > 1000 * MB && dataLimitBytes(256) <= 2000 * MB);
  assert.is(out.run, 'SUCCEEDED capped\n');
});

limits('limits :: a WebAssembly memory bomb is refused at once, or ends as OUT-OF-MEMORY when it grows', async () => {
  const big = await runCode({ code: 'const m = new WebAssembly.Memory({ initial: 65536 });\nconsole.log(m.buffer.byteLength);', memoryMbytes: 64 });
  assert.is(big.status, 'FAILED', big.stderr);
  assert.match(big.statusMessage, /^Script threw: RangeError: WebAssembly\.Memory\(\): could not allocate memory/);
  const growing = await runCode({
    code: 'const m = new WebAssembly.Memory({ initial: 1, maximum: 65536 });\nfor (let i = 0; i < 400; i++) { m.grow(160); new Uint8Array(m.buffer).fill(1); }\nconsole.log("grew", m.buffer.byteLength);',
    memoryMbytes: 64,
    timeoutSecs: 30,
  });
  // Killed at the resident limit, or refused by the data limit first (a RangeError), never grown.
  assert.ok(growing.status === 'OUT-OF-MEMORY' || /RangeError: WebAssembly\.Memory/.test(growing.statusMessage), `${growing.status}: ${growing.statusMessage}`);
  assert.not.match(growing.stdout, /grew/);
});

limits('limits :: a Worker bomb ends as OUT-OF-MEMORY, not a host full of threads', async () => {
  const r = await runCode({ code: fixture('worker-bomb.ts'), memoryMbytes: 64, timeoutSecs: 30 });
  assert.is(r.status, 'OUT-OF-MEMORY', `${r.statusMessage}\n${r.stderr}`);
  assert.not.match(r.stdout, /all 200 spawned/);
});

limits('limits :: a script can use the memory it was given', async () => {
  const r = await runCode({ code: 'const a = new Uint8Array(32 * 1024 * 1024).fill(7);\nconsole.log(a.length, a[a.length - 1]);', memoryMbytes: 64 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, '33554432 7\n');
});

limits('limits :: 1 GiB to stdout: counted, head and tail kept, orchestrator memory bounded', async () => {
  const before = process.memoryUsage();
  let peakExternal = 0;
  const r = await runCode({
    code: fixture('flood.ts'),
    maxOutputBytes: 1024 * 1024,
    timeoutSecs: 120,
    onOutput: () => {
      const m = process.memoryUsage();
      peakExternal = Math.max(peakExternal, m.arrayBuffers + m.heapUsed - before.arrayBuffers - before.heapUsed);
    },
  });
  assert.is(r.status, 'SUCCEEDED', r.statusMessage);
  assert.is(r.stdoutBytes, 1024 ** 3);
  assert.ok(r.stdoutTruncated);
  assert.match(r.stdout, /^x+\n/);
  assert.match(r.stdout, /\n\[… \d+ bytes cut; lineOffset \d+, byteOffset \d+ …\]\n/);
  assert.ok(Buffer.byteLength(r.stdout) < 1024 * 1024 + 100, `kept ${Buffer.byteLength(r.stdout)} bytes`);
  assert.is(r.stderr, 'flood done\n');
  assert.ok(peakExternal < 256 * 1024 * 1024, `orchestrator grew by ${peakExternal} bytes`);
});

limits('limits :: one 64 MiB line keeps its head and tail under the default cap', async () => {
  const r = await runCode({ code: fixture('long-line.ts'), memoryMbytes: 512, timeoutSecs: 60 });
  assert.is(r.status, 'SUCCEEDED', r.statusMessage);
  assert.is(r.stdoutBytes, 64 * 1024 * 1024 + 1);
  assert.ok(r.stdoutTruncated);
  assert.ok(r.stdout.startsWith('HEADxxx'));
  assert.ok(r.stdout.endsWith('xxxTAIL\n'));
  const kept = Buffer.byteLength(r.stdout);
  assert.ok(kept > 8 * 1024 * 1024 - 10 && kept < 8 * 1024 * 1024 + 100, `kept ${kept} bytes`);
});

limits('limits :: output exactly at the cap is not truncated', async () => {
  const r = await runCode({ code: 'Deno.stdout.writeSync(new TextEncoder().encode("y".repeat(4096)));', maxOutputBytes: 4096 });
  assert.is(r.stdoutTruncated, false);
  assert.is(r.stdout, 'y'.repeat(4096));
});

limits('limits :: a truncated stderr still yields the error and its message', async () => {
  const r = await runCode({ code: 'console.error("e".repeat(100_000));\nthrow new Error("after the flood");', maxOutputBytes: 8192 });
  assert.is(r.status, 'FAILED');
  assert.is(r.statusMessage, 'Script threw: Error: after the flood');
  assert.ok(r.stderrTruncated);
  assert.match(r.stderr, /error: Uncaught Error: after the flood\n {4}at script\.ts:2:7\n$/);
  assert.not.match(r.stderr, /code-runtime:/);
});

limits('limits :: invalid UTF-8 is replaced, not fatal', async () => {
  const r = await runCode({ code: 'Deno.stdout.writeSync(new Uint8Array([0x41, 0xff, 0xfe, 0x42, 0x0a]));' });
  assert.is(r.status, 'SUCCEEDED');
  assert.is(r.stdout, 'A\uFFFD\uFFFDB\n');
  assert.is(r.stdoutBytes, 5);
});

limits('limits :: multi-byte characters are not split at the truncation marker', async () => {
  const r = await runCode({ code: 'console.log("é".repeat(10_000));', maxOutputBytes: 4097 });
  assert.ok(r.stdoutTruncated);
  assert.not.match(r.stdout, /\uFFFD/);
});

limits.run();
