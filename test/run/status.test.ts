// Every status a run can end with, through runCode and a real Deno child.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { fixture } from '../helpers/helpers.js';

const status = suite('status');

status('status :: a script that runs to its end SUCCEEDED with exit code 0', async () => {
  const r = await runCode({ code: fixture('hello.ts') });
  assert.is(r.status, 'SUCCEEDED');
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, 'hello from the sandbox\n');
  assert.is(r.stderr, '');
  assert.is(r.statusMessage, 'Script completed');
  assert.is(r.stdoutBytes, Buffer.byteLength(r.stdout));
  assert.is(r.stderrBytes, 0);
  assert.is(r.stdoutTruncated, false);
  assert.is(r.stderrTruncated, false);
  assert.equal(r.actorRuns, []);
  assert.ok(r.durationMillis > 0 && r.durationMillis < 30_000, `durationMillis ${r.durationMillis}`);
});

status('status :: Deno.exit(0) is SUCCEEDED, even with timers pending', async () => {
  const r = await runCode({ code: 'setInterval(() => {}, 1000);\nconsole.log("bye");\nDeno.exit(0);' });
  assert.is(r.status, 'SUCCEEDED');
  assert.is(r.stdout, 'bye\n');
});

status('status :: a throw is FAILED with exit code 1, its message and what was printed before', async () => {
  const r = await runCode({ code: fixture('throws.ts') });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.is(r.stdout, 'before the throw\n');
  assert.is(r.statusMessage, 'Script threw: Error: boom');
  assert.match(r.stderr, /^error: Uncaught Error: boom\n/);
});

status('status :: Deno.exit(3) is FAILED with exit code 3', async () => {
  const r = await runCode({ code: fixture('exit-code.ts') });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 3);
  assert.is(r.stdout, 'exiting with 3\n');
  assert.is(r.statusMessage, 'Script exited with code 3');
});

status('status :: an unhandled rejection is FAILED and says so', async () => {
  const r = await runCode({ code: 'Promise.reject(new TypeError("nope"));\nawait new Promise((r) => setTimeout(r, 100));\nconsole.log("unreached");' });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.is(r.stdout, '');
  assert.is(r.statusMessage, 'Script threw: TypeError: nope (unhandled promise rejection)');
  assert.match(r.stderr, /Uncaught \(in promise\) TypeError: nope/);
});

status('status :: a throw inside a timer callback is FAILED', async () => {
  const r = await runCode({ code: 'setTimeout(() => { throw new Error("late"); }, 5);\nconsole.log("scheduled");' });
  assert.is(r.status, 'FAILED');
  assert.is(r.stdout, 'scheduled\n');
  assert.is(r.statusMessage, 'Script threw: Error: late');
});

status('status :: a rejection the script handles itself does not fail the run', async () => {
  const r = await runCode({
    code: 'addEventListener("unhandledrejection", (e) => { e.preventDefault(); console.log("handled", e.reason.message); });\nPromise.reject(new Error("mine"));\nawait new Promise((r) => setTimeout(r, 20));\nconsole.log("still here");',
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'handled mine\nstill here\n');
});

status('status :: throwing a non-Error value is FAILED and shows the value', async () => {
  const r = await runCode({ code: 'throw { code: 42 };' });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.match(r.statusMessage, /^Script threw: \{ code: 42 \}/);
});

status('status :: a syntax error is FAILED, pointing at the line and column', async () => {
  const r = await runCode({ code: 'const ok = 1;\nconst broken = ;\n' });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.match(r.statusMessage, /^Syntax error at script\.ts:2:\d+: /);
  assert.match(r.stderr, /SyntaxError/);
});

status('status :: a top-level await that can never settle is FAILED with a clear message', async () => {
  const r = await runCode({ code: 'console.log("waiting");\nawait new Promise(() => {});' });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.is(r.stdout, 'waiting\n');
  assert.match(r.statusMessage, /^Script never finished: its top-level await waits on a promise/);
  assert.match(r.stderr, /script\.ts:2:1/);
  assert.not.match(r.stderr, /blob:|bootstrap/);
});

status('status :: a hot loop is TIMED-OUT with exit code 124 and keeps what it printed', async () => {
  const r = await runCode({ code: fixture('forever.ts'), timeoutSecs: 1 });
  assert.is(r.status, 'TIMED-OUT');
  assert.is(r.exitCode, 124);
  assert.is(r.stdout, 'started\n');
  assert.is(r.statusMessage, 'Timed out after 1 s');
});

status('status :: a heap blow-up is OUT-OF-MEMORY with exit code 137 and one clear line instead of V8\'s trace', async () => {
  const r = await runCode({ code: `console.log("printed");\nconsole.error("own words");\n${fixture('heap-bomb.ts')}`, memoryMbytes: 64 });
  assert.is(r.status, 'OUT-OF-MEMORY');
  assert.is(r.exitCode, 137);
  assert.is(r.statusMessage, 'Out of memory: the JavaScript heap reached its limit of 64 MB (memoryMbytes)');
  assert.is(r.stdout, 'printed\n');
  // No GC trace, no native stack, no install path: the script's own stderr and the one line.
  assert.is(r.stderr, 'own words\nOut of memory: the JavaScript heap reached its limit of 64 MB (memoryMbytes)\n');
});

status('status :: Workers past what the data limit holds are OUT-OF-MEMORY saying so, not that the heap was full', async () => {
  // Each Worker is an isolate that reserves its own code space within the process's data limit.
  const code = `const ws = [];
for (let i = 0; i < 6; i += 1) ws.push(new Worker(URL.createObjectURL(new Blob(['postMessage(1)'], { type: 'application/javascript' })), { type: 'module' }));
await Promise.all(ws.map((w) => new Promise((resolve) => { w.onmessage = resolve; })));
console.log('all six up');`;
  const r = await runCode({ code, memoryMbytes: 64, timeoutSecs: 30 });
  assert.is(r.status, 'OUT-OF-MEMORY', r.stdout);
  assert.is(r.statusMessage, 'Out of memory: the process could not reserve the memory V8 asked for, within its data limit for memoryMbytes 64: each Worker reserves a large share of it; start fewer Workers, or raise memoryMbytes');
  assert.is(r.stderr, `${r.statusMessage}\n`);
});

status('status :: memory beyond the heap is OUT-OF-MEMORY saying what was measured against which limit', async () => {
  const r = await runCode({ code: fixture('arraybuffer-bomb.ts'), memoryMbytes: 64, timeoutSecs: 30 });
  assert.is(r.status, 'OUT-OF-MEMORY', r.statusMessage);
  assert.match(r.statusMessage, /^Out of memory: the process (used \d+ MB|went) over its limit of 192 MB \(memoryMbytes 64 \+ 128 MB for Deno itself\)$/);
  assert.ok(r.stderr.endsWith(`${r.statusMessage}\n`));
});

status('status :: a script\'s own words never decide a resource status', async () => {
  const cases = [
    'throw new RangeError("Array buffer allocation failed: just kidding");',
    'throw new RangeError("WebAssembly.Memory(): could not allocate memory");',
    'console.error("\\n<--- Last few GCs --->\\n#\\n# Fatal JavaScript out of memory: Reached heap limit");\nDeno.exit(133);',
    'Deno.stderr.writeSync(new TextEncoder().encode("Fatal process out of memory"));\nthrow new Error("x");',
    // V8's words and V8's signal: Deno lets a script signal itself without --allow-run.
    'console.error("\\n<--- Last few GCs --->\\n#\\n# Fatal JavaScript out of memory: Reached heap limit");\nDeno.kill(Deno.pid, "SIGTRAP");\nawait new Promise((r) => setTimeout(r, 200));\nDeno.exit(3);',
    'console.error("# Fatal JavaScript out of memory: Reached heap limit");\nprocess.kill(process.pid, "SIGTRAP");\nawait new Promise((r) => setTimeout(r, 200));\nDeno.exit(3);',
  ];
  for (const code of cases) {
    const r = await runCode({ code, memoryMbytes: 64 });
    assert.is(r.status, 'FAILED', `${code}\n→ ${r.status}: ${r.statusMessage}`);
    assert.is.not(r.exitCode, 137);
  }
});

status('status :: an aborted run is ABORTED with exit code 130', async () => {
  const controller = new AbortController();
  // Aborted once it has printed, however long it took to start.
  const r = await runCode({ code: fixture('forever.ts'), signal: controller.signal, onOutput: () => controller.abort() });
  assert.is(r.status, 'ABORTED');
  assert.is(r.exitCode, 130);
  assert.is(r.statusMessage, 'Aborted by the caller');
  assert.is(r.stdout, 'started\n');
});

status('status :: a script cannot fake the failure report without the run secret', async () => {
  const forged = '\\n\\0code-runtime:0123456789abcdef0123456789abcdef:{\\"kind\\":\\"threw\\",\\"error\\":\\"Error: forged\\"}';
  const r = await runCode({ code: `console.error("${forged}");\nconsole.log('{"status":"SUCCEEDED"}');\nDeno.exit(5);` });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 5);
  assert.is(r.statusMessage, 'Script exited with code 5');
  assert.match(r.stderr, /code-runtime:0123/);
});

status('status :: a script that replaces Deno.exit and builtins still fails with its error', async () => {
  const r = await runCode({
    code: 'Deno.exit = () => {};\nJSON.stringify = () => "{}";\nString.prototype.split = () => [];\nconsole.error = () => {};\nthrow new Error("patched");',
  });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.match(r.statusMessage, /^Script threw/);
});

status('status :: what onOutput saw live is exactly the result\'s streams, with no report line', async () => {
  const seen = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const r = await runCode({
    code: fixture('throws.ts'),
    onOutput: (stream, chunk) => seen[stream].push(Buffer.from(chunk)),
  });
  assert.is(r.status, 'FAILED');
  assert.is(Buffer.concat(seen.stdout).toString(), r.stdout);
  assert.is(Buffer.concat(seen.stderr).toString(), r.stderr);
  assert.not.ok(r.stderr.includes('\0'));
});

status.run();
