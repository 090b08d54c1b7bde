// What a script can learn about the machine it runs on, and whether it can touch the guest's own
// failure report: install paths, the orchestrator's PID, DENO_DIR, WebGPU — in Workers as well.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { resolveDeno, sharedDenoDir } from '../../orchestrator/run/deno.js';
import { sandboxCommand } from '../../orchestrator/run/sandbox.js';
import { ROOT, scratchDir } from '../helpers/helpers.js';

const host = suite('host');

host('host :: a heap snapshot (node:v8) holds no path of this machine: install folder, DENO_DIR, Deno binary', async () => {
  // Decoded only after the snapshot, so the needles themselves are not in it.
  const needles = Buffer.from(JSON.stringify([ROOT, sharedDenoDir(), path.dirname(resolveDeno())])).toString('base64');
  const code = [
    'import v8 from "node:v8";',
    'let text = "";',
    'for await (const chunk of v8.getHeapSnapshot()) text += new TextDecoder().decode(chunk);',
    `console.log(JSON.stringify(JSON.parse(atob("${needles}")).map((needle: string) => text.includes(needle))));`,
  ].join('\n');
  const r = await runCode({ code, memoryMbytes: 512, timeoutSecs: 60 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, '[false,false,false]\n');
});

/** Collects what a realm shows of the host; prints it as one JSON line (via `emit`). */
const PROBE = `
const seen = {};
const grab = async (key, get) => { try { seen[key] = String(await get()); } catch (e) { seen[key] = 'error: ' + String(e?.message ?? e); } };
await grab('execPath', () => Deno.execPath());
await grab('mainModule', () => Deno.mainModule);
await grab('ppid', () => Deno.ppid);
await grab('internal', () => typeof Deno[Deno.internal]);
await grab('gpu', () => typeof navigator.gpu);
await grab('GPU', () => typeof globalThis.GPU);
await grab('caches', async () => typeof caches === 'undefined' ? 'absent' : (await caches.open('c'), 'opened'));
await grab('argv', () => process.argv.join(' '));
await grab('processExecPath', () => process.execPath);
await grab('argv0', () => process.argv0);
await grab('title', () => process.title);
await grab('processPpid', () => process.ppid);
const saved = Error.prepareStackTrace;
Error.prepareStackTrace = (_error, frames) => frames.map((frame) => String(frame.getFileName())).join(' | ');
await grab('frames', async () => { try { await globalThis.apify?.dataset.get({}); return 'no throw'; } catch (e) { return e.stack; } });
await grab('framesPlain', () => new Error('x').stack);
Error.prepareStackTrace = saved;
await grab('restored', () => new Error('y').stack.split('\\n')[0]);
`;

host('host :: no install path, orchestrator PID or DENO_DIR reaches a script, nor a Worker it starts', async () => {
  const workerSource = `${PROBE}\npostMessage(JSON.stringify(seen));`;
  const code = `${PROBE}
console.log(JSON.stringify(seen));
const w = new Worker(URL.createObjectURL(new Blob([${JSON.stringify(workerSource)}], { type: 'application/javascript' })), { type: 'module' });
console.log(await new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); }));
w.terminate();
const viaProto = Object.getPrototypeOf(w).constructor;
console.log(JSON.stringify({ sameConstructor: viaProto === Worker }));`;
  const r = await runCode({ code, timeoutSecs: 30 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const [main, worker, proto] = r.stdout.trim().split('\n').map((line) => JSON.parse(line));
  const everything = r.stdout + r.stderr;
  for (const leak of [ROOT, 'node_modules', sharedDenoDir(), `code-runtime-${process.getuid?.() ?? 'user'}`]) {
    assert.not.ok(everything.includes(leak), `${leak} leaked:\n${everything}`);
  }
  for (const [realm, seen] of [['main', main], ['worker', worker]] as const) {
    assert.is(seen.ppid, '1', `${realm}: Deno.ppid`);
    assert.is(seen.processPpid, '1', `${realm}: process.ppid`);
    assert.is(seen.execPath, 'deno', realm);
    assert.is(seen.internal, 'undefined', `${realm}: Deno[Deno.internal]`);
    assert.is(seen.gpu, 'undefined', `${realm}: navigator.gpu`);
    assert.is(seen.GPU, 'undefined', realm);
    assert.is(seen.caches, 'absent', realm);
    assert.equal([seen.argv0, seen.title, seen.processExecPath], ['deno', 'deno', 'deno'], realm);
    assert.match(seen.argv, /^deno \S+$/, realm);
  }
  assert.is(main.mainModule, 'file:///script.ts');
  assert.is(main.frames.includes('script.ts') || main.frames.includes('blob:'), true, main.frames);
  assert.is(main.restored, 'Error: y');
  assert.is(proto.sameConstructor, true, 'the original Worker constructor is not reachable through its prototype');
});

/** Tries node:worker_threads' Worker as `label`; prints what happened as one JSON line (the Worker, if it starts, reports what it sees). */
const NODE_WORKER_PROBE = `
const { Worker: NodeWorker, isMainThread } = await import('node:worker_threads');
const { createRequire } = await import('node:module');
const tryWorker = async (label, make) => {
  try {
    const w = make();
    const seen = await new Promise((resolve) => { w.on('message', resolve); w.on('error', (e) => resolve('error: ' + e.message)); });
    await w.terminate();
    return { label, started: true, seen };
  } catch (e) {
    return { label, started: false, name: e.name, notCapable: e instanceof Deno.errors.NotCapable, message: e.message };
  }
};
const LEAK = 'require("node:worker_threads").parentPort.postMessage([Deno.execPath(), Deno.ppid, typeof Deno[Deno.internal]].join(" "))';
const results = [];
results.push(await tryWorker('eval', () => new NodeWorker(LEAK, { eval: true })));
results.push(await tryWorker('data URL', () => new NodeWorker(new URL('data:text/javascript,' + encodeURIComponent(LEAK)))));
results.push(await tryWorker('subclass', () => new (class extends NodeWorker {})(LEAK, { eval: true })));
Error.stackTraceLimit = 0;
results.push(await tryWorker('no stack limit', () => new NodeWorker(LEAK, { eval: true })));
Error.stackTraceLimit = 10;
Error.prepareStackTrace = () => [];
results.push(await tryWorker('own stack hook', () => new NodeWorker(LEAK, { eval: true })));
Error.prepareStackTrace = undefined;
const RealError = Error;
globalThis.Error = { prepareStackTrace: () => [] };
results.push(await tryWorker('own Error', () => new NodeWorker(LEAK, { eval: true })));
globalThis.Error = RealError;
const t0 = performance.now();
const mock = { now: () => 42 };
const real = globalThis.performance;
globalThis.performance = mock;
const mocked = performance.now();
globalThis.performance = real;
results.push({ label: 'rest', isMainThread: typeof isMainThread, path: createRequire('file:///script.ts')('node:path').join('a', 'b'), now: typeof t0, mocked });
return results;
`;

host('host :: a node:worker_threads Worker, which would start without the realm code (install path, PID, internals), is refused; the module and performance work as before', async () => {
  const code = `const probe = async () => {${NODE_WORKER_PROBE}};
console.log(JSON.stringify(await probe()));
const inWorker = new Worker(URL.createObjectURL(new Blob([${JSON.stringify(`const probe = async () => {${NODE_WORKER_PROBE}};\npostMessage(JSON.stringify(await probe()));`)}], { type: 'application/javascript' })), { type: 'module' });
console.log(await new Promise((resolve) => { inWorker.onmessage = (e) => resolve(e.data); inWorker.onerror = (e) => resolve(JSON.stringify([{ label: 'worker failed', message: e.message }])); }));
inWorker.terminate();`;
  const r = await runCode({ code, timeoutSecs: 60 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.not.ok((r.stdout + r.stderr).includes(ROOT), `the install path leaked:\n${r.stdout}`);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 2, r.stdout);
  for (const [realm, line] of [['main', lines[0]!], ['worker', lines[1]!]] as const) {
    const results = JSON.parse(line) as Array<Record<string, unknown>>;
    const rest = results.pop()!;
    assert.equal(rest, { label: 'rest', isMainThread: 'boolean', path: 'a/b', now: 'number', mocked: 42 }, `${realm}: ${line}`);
    for (const result of results) {
      assert.equal(result, {
        label: result.label,
        started: false,
        name: 'NotCapable',
        notCapable: true,
        message: 'node:worker_threads Workers are not available in this sandbox: they would start without its protections; use a Web Worker, new Worker(url, { type: "module" }), with a data: or blob: URL',
      }, `${realm}: ${JSON.stringify(result)}`);
    }
  }
});

host('host :: WebGPU is off: no adapter, and the graphics libraries are never loaded', async () => {
  const command = sandboxCommand({
    denoPath: resolveDeno(),
    bootstrapPath: '/unused.js',
    denoDir: sharedDenoDir(),
    memoryMbytes: 64,
    relayHostPort: '127.0.0.1:2',
  });
  // The sandbox's own environment, with a probe that asks for an adapter the way a script would
  // if it found the API (the probe may read /proc/self/maps; the sandbox never may).
  const probe = path.join(scratchDir('gpu'), 'gpu.js');
  writeFileSync(probe, `
const gpu = Object.getOwnPropertyDescriptor(Navigator.prototype, 'gpu')?.get?.call(navigator);
const adapter = await gpu?.requestAdapter();
console.log(JSON.stringify({ adapter: adapter === null ? null : typeof adapter }));
await new Promise((resolve) => setTimeout(resolve, 10_000));`);
  const child = spawn(resolveDeno(), ['run', '--quiet', '--no-config', probe], { env: command.env });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString()));
      child.once('exit', () => reject(new Error('the probe ended before answering')));
    });
    assert.is(JSON.parse(line).adapter, null, 'an adapter was handed out');
    // What the process mapped while asking: no Vulkan, EGL, GL or DRM library.
    const libraries = readFileSync(`/proc/${child.pid}/maps`, 'utf8').match(/[^ /]*(vulkan|EGL|GLX|libGL|libdrm)[^ /\n]*\.so[^ \n]*/g) ?? [];
    assert.equal([...new Set(libraries)], []);
  } finally {
    child.kill('SIGKILL');
  }
});

host('host :: the failure report cannot be read by patching what it touches, nor forged with what was read', async () => {
  const code = `
const out = Deno.stdout.writeSync.bind(Deno.stdout);
const enc = new TextEncoder();
const encodeRaw = enc.encode.bind(enc);
const dec = new TextDecoder();
let busy = false;
const report = (text) => { if (text.includes('code-runtime:')) out(encodeRaw('LEAK ' + text + '\\n')); };
const seen = (bytes) => { if (busy) return; busy = true; try { report(dec.decode(bytes)); } catch {} finally { busy = false; } };
const subarray = Uint8Array.prototype.subarray;
Uint8Array.prototype.subarray = function (...args) { seen(this); return subarray.apply(this, args); };
const lengthGetter = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'length').get;
Object.defineProperty(Object.getPrototypeOf(Uint8Array.prototype), 'length', { get() { seen(this); return lengthGetter.call(this); }, configurable: true });
const encode = TextEncoder.prototype.encode;
TextEncoder.prototype.encode = function (text) { if (!busy) { busy = true; try { report(String(text)); } catch {} finally { busy = false; } } return encode.call(this, text); };
const writeSync = Deno.stderr.writeSync;
Deno.stderr.writeSync = function (bytes) { seen(bytes); return writeSync.call(this, bytes); };
Object.prototype.toJSON = function () { return { kind: 'threw', error: 'RangeError: Array buffer allocation failed' }; };
throw new Error('plain');`;
  const r = await runCode({ code });
  assert.not.match(r.stdout, /LEAK/, r.stdout);
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 1);
  assert.is(r.statusMessage, 'Script threw: Error: plain');
});

host.run();
