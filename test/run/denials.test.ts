// What a script is told when the sandbox refuses it something: what was refused, that this sandbox
// does not allow it, and for the network which origins it does allow (the envelope's list), never
// Deno's "run again with the --allow-… flag". The same words wherever the script looks (message,
// String(e), stack, console.log, an uncaught report), from Deno.* and node:* alike, in Workers too;
// the class stays NotCapable. Nothing is contacted: every target is refused before connecting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { ROOT, startServer, type HttpServer } from '../helpers/helpers.js';
import type { RunResult } from '../../types/result.js';

const denials = suite('denials');
let api: HttpServer;

denials.before(async () => {
  // Stands in for the Apify API: the origin the envelope names as allowed.
  api = await startServer('127.0.0.1', 'api-response');
});

denials.after(async () => {
  await api.close();
});

/** Runs `code` against the fake API; nothing it prints may carry Deno's advice or this machine's paths. */
async function run(code: string): Promise<RunResult> {
  const r = await runCode({ code, apiBaseUrl: api.url, timeoutSecs: 20 });
  const all = r.stdout + r.stderr + r.statusMessage;
  assert.not.match(all, /--allow-|run again|--no-npm|--no-remote/, all);
  assert.not.ok(all.includes(ROOT), 'the install path leaked');
  return r;
}

/** Script lines: `show(label, fn)` prints one JSON line of how the error fn throws looks, every way a script can see it. */
const SHOW = `
const show = async (label, fn) => {
  try { await fn(); console.log(JSON.stringify({ label, ok: true })); }
  catch (e) {
    console.log(JSON.stringify({
      label, name: e.name, message: e.message, notCapable: e instanceof Deno.errors.NotCapable, typeError: e instanceof TypeError,
      string: String(e), stack: e.stack.split("\\n")[0], inspected: Deno.inspect(e).split("\\n")[0], code: e.code ?? null,
    }));
  }
};`;

interface Shown {
  label: string;
  ok?: boolean;
  name: string;
  message: string;
  notCapable: boolean;
  typeError: boolean;
  string: string;
  stack: string;
  inspected: string;
  code: string | null;
}

function shown(r: RunResult): Record<string, Shown> {
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const out: Record<string, Shown> = {};
  for (const line of r.stdout.trim().split('\n')) {
    const entry = JSON.parse(line) as Shown;
    out[entry.label] = entry;
  }
  return out;
}

/** Asserts each label was refused with `Class: words`, the same in every way of looking. */
function refused(seen: Record<string, Shown>, expected: Record<string, string>, className = 'NotCapable'): void {
  for (const [label, words] of Object.entries(expected)) {
    const entry = seen[label];
    assert.ok(entry && !entry.ok, `${label} was not refused: ${JSON.stringify(entry)}`);
    // An import keeps where it was, on a line of its own (`\n    at script.ts:3:1`).
    assert.is(entry.message.split('\n')[0], words, label);
    assert.is(entry.name, className, label);
    assert.is(className === 'NotCapable' ? entry.notCapable : entry.typeError, true, `${label} is a ${className}`);
    for (const view of [entry.string.split('\n')[0], entry.stack]) assert.is(view, `${className}: ${words}`, label);
    // Deno prints an error with no frames (node:net's, thrown from its event loop) in brackets.
    assert.ok([`${className}: ${words}`, `[${className}: ${words}]`].includes(entry.inspected), `${label}: ${entry.inspected}`);
  }
}

denials('denials :: files, environment, system, subprocesses and FFI: each says what was refused, from Deno.* and node:*', async () => {
  const r = await run(`${SHOW}
await show('readTextFile', () => Deno.readTextFile('/etc/passwd'));
await show('statSync', () => Deno.statSync('/etc/passwd'));
await show('fetchFile', () => fetch('file:///etc/passwd'));
await show('nodeFs', async () => (await import('node:fs')).readFileSync('/etc/passwd'));
await show('nodeFsPromises', async () => (await import('node:fs/promises')).readFile('/etc/passwd'));
await show('writeTextFile', () => Deno.writeTextFile('/tmp/x', 'x'));
await show('makeTempDir', () => Deno.makeTempDir());
await show('symlink', () => Deno.symlinkSync('/a', '/b'));
await show('envGet', () => Deno.env.get('HOME'));
await show('envObject', () => Deno.env.toObject());
await show('processEnv', async () => (await import('node:process')).default.env.HOME);
await show('hostname', () => Deno.hostname());
await show('nodeOs', async () => (await import('node:os')).hostname());
await show('command', () => new Deno.Command('ls').output());
await show('commandSync', () => new Deno.Command('/bin/ls').outputSync());
await show('execSync', async () => (await import('node:child_process')).execSync('ls'));
await show('spawnNoEnv', async () => (await import('node:child_process')).spawnSync('ls', [], { env: {} }));
await show('kill', () => Deno.kill(1, 'SIGTERM'));
await show('dlopen', () => Deno.dlopen('libc.so.6', {}));
await show('pointer', () => Deno.UnsafePointer.of(new Uint8Array(1)));
`);
  const seen = shown(r);
  refused(seen, {
    readTextFile: 'reading files is not available in this sandbox (tried "/etc/passwd")',
    statSync: 'reading files is not available in this sandbox (tried "/etc/passwd")',
    fetchFile: 'reading files is not available in this sandbox (tried "/etc/passwd")',
    nodeFs: 'reading files is not available in this sandbox (tried "/etc/passwd")',
    nodeFsPromises: 'reading files is not available in this sandbox (tried "/etc/passwd")',
    writeTextFile: 'writing files is not available in this sandbox (tried "/tmp/x")',
    makeTempDir: 'writing files is not available in this sandbox (tried the temporary directory)',
    symlink: 'Deno.symlinkSync() is not available in this sandbox',
    envGet: 'environment variables are not available in this sandbox (tried "HOME")',
    envObject: 'environment variables are not available in this sandbox',
    processEnv: 'environment variables are not available in this sandbox (tried "HOME")',
    hostname: 'system information is not available in this sandbox (tried "hostname")',
    nodeOs: 'system information is not available in this sandbox (tried "hostname")',
    // Deno looks a bare command up in the (empty) PATH before it asks: that NotFound is a denial too.
    command: 'running subprocesses is not available in this sandbox (tried "ls")',
    commandSync: 'running subprocesses is not available in this sandbox (tried "/bin/ls")',
    // node:child_process reads the environment first: the denial names the call, not a variable.
    execSync: 'running subprocesses is not available in this sandbox (tried child_process.execSync)',
    spawnNoEnv: 'running subprocesses is not available in this sandbox (tried child_process.spawnSync)',
    kill: 'running or signalling other processes is not available in this sandbox',
    dlopen: 'loading native libraries (FFI) is not available in this sandbox (tried "libc.so.6")',
    pointer: 'loading native libraries (FFI) is not available in this sandbox',
  });
  // A refused spawn is no missing file.
  assert.is(seen.command!.code, null);
});

denials('denials :: the network names the origins the run may reach, from the envelope', async () => {
  const r = await run(`${SHOW}
await show('fetch', () => fetch('http://127.0.0.2:65000/'));
await show('otherPort', () => fetch('http://127.0.0.1:65000/'));
await show('connect', () => Deno.connect({ hostname: '127.0.0.2', port: 65000 }));
await show('listen', () => Deno.listen({ port: 0 }));
await show('websocket', () => new WebSocket('ws://127.0.0.2:65000/'));
await show('nodeNet', async () => { const net = await import('node:net'); await new Promise((ok, fail) => net.connect(65000, '127.0.0.2').on('error', fail).on('connect', ok)); });
await show('nodeHttps', async () => { const https = await import('node:https'); await new Promise((ok, fail) => https.get('https://example.invalid/').on('error', fail).on('response', ok)); });
`);
  const allowed = `allowed: ${new URL(api.url).origin}`;
  const seen = shown(r);
  // A name is refused at its lookup, which node:dns reports as Node does (code EPERM), in these words.
  assert.equal([seen.nodeHttps!.string, seen.nodeHttps!.code], [`Error: network access to example.invalid is not allowed in this sandbox; ${allowed}`, 'EPERM']);
  refused(seen, {
    fetch: `network access to 127.0.0.2:65000 is not allowed in this sandbox; ${allowed}`,
    otherPort: `network access to 127.0.0.1:65000 is not allowed in this sandbox; ${allowed}`,
    connect: `network access to 127.0.0.2:65000 is not allowed in this sandbox; ${allowed}`,
    listen: `network access to 0.0.0.0:0 is not allowed in this sandbox; ${allowed}`,
    websocket: `network access to 127.0.0.2:65000 is not allowed in this sandbox; ${allowed}`,
    nodeNet: `network access to 127.0.0.2:65000 is not allowed in this sandbox; ${allowed}`,
  });
});

const CAN_IMPORT = '; only node: built-ins (e.g. "node:path"), data: and blob: URLs can be imported';

denials('denials :: relative, file, remote, npm: and jsr: imports say so and what can be imported; they stay TypeErrors', async () => {
  const r = await run(`${SHOW}
await show('relative', () => import('./helpers.ts'));
await show('parent', () => import('../x.js'));
await show('file', () => import('file:///etc/passwd'));
await show('https', () => import('https://esm.sh/left-pad'));
await show('npm', () => import('npm:left-pad'));
await show('jsr', () => import('jsr:@std/path'));
await show('bare', () => import('left-pad'));
await show('nested', () => import('data:text/javascript,import "npm:left-pad";'));
`);
  const seen = shown(r);
  assert.match(seen.relative!.message, /\n {4}at script\.ts:\d+:\d+\n?$/);
  refused(seen, {
    relative: `importing relative paths is not available in this sandbox (the script is one module, with no files beside it)${CAN_IMPORT}`,
    parent: `importing relative paths is not available in this sandbox (the script is one module, with no files beside it)${CAN_IMPORT}`,
    file: `importing files is not available in this sandbox (tried "/etc/passwd")${CAN_IMPORT}`,
    https: `importing remote modules is not available in this sandbox (tried "https://esm.sh/left-pad")${CAN_IMPORT}`,
    npm: `importing npm: packages is not available in this sandbox${CAN_IMPORT}`,
    jsr: `importing jsr: packages is not available in this sandbox (tried "jsr:@std/path")${CAN_IMPORT}`,
    bare: `importing packages is not available in this sandbox (tried "left-pad")${CAN_IMPORT}`,
  }, 'TypeError');
  assert.is(seen.npm!.code, 'ERR_MODULE_NOT_FOUND');
  // An import inside another module keeps where it was.
  assert.is(seen.nested!.stack, `TypeError: importing npm: packages is not available in this sandbox${CAN_IMPORT}`);
  assert.match(seen.nested!.message, /^importing npm: packages is not available in this sandbox; [^\n]*\n {4}at data:text\/javascript,/);
});

denials('denials :: the script\'s own static import, and a denial it leaves uncaught, are reported in the sandbox\'s words', async () => {
  const imported = await run('import pad from "npm:left-pad";\nconsole.log(pad);');
  assert.is(imported.status, 'FAILED');
  assert.is(imported.statusMessage, `Script threw: TypeError: importing npm: packages is not available in this sandbox${CAN_IMPORT}`);
  assert.is(imported.stderr, `error: Uncaught TypeError: importing npm: packages is not available in this sandbox${CAN_IMPORT}\n    at script.ts:1:17\n`);
  const thrown = await run('console.log("before");\nDeno.readTextFileSync("/etc/passwd");');
  assert.is(thrown.statusMessage, 'Script threw: NotCapable: reading files is not available in this sandbox (tried "/etc/passwd")');
  assert.is(thrown.stderr, 'error: Uncaught NotCapable: reading files is not available in this sandbox (tried "/etc/passwd")\n    at script.ts:2:6\n');
  const rejected = await run('setTimeout(() => Deno.readTextFile("/etc/passwd"));');
  assert.match(rejected.stderr, /^error: Uncaught \(in promise\) NotCapable: reading files is not available in this sandbox \(tried "\/etc\/passwd"\)\n {4}at [^\n]*script\.ts:1:23\)?\n$/);
});

denials('denials :: in a Worker the same words; a Worker from a URL it cannot run is refused at once; one whose module cannot load fails the run, named', async () => {
  const r = await run(`${SHOW}
const blob = (src) => URL.createObjectURL(new Blob([src], { type: 'application/javascript' }));
const inWorker = new Worker(blob(\`try { Deno.readTextFileSync('/etc/passwd'); } catch (e) { postMessage([e.name, e.message, e instanceof Deno.errors.NotCapable]); }\`), { type: 'module' });
console.log(JSON.stringify(await new Promise((resolve) => { inWorker.onmessage = (e) => resolve(e.data); })));
inWorker.terminate();
await show('remote', () => new Worker('https://esm.sh/left-pad', { type: 'module' }));
await show('relative', () => new Worker('./worker.ts', { type: 'module' }));
const handled = new Worker(blob('import "npm:left-pad";'), { type: 'module' });
console.log(await new Promise((resolve) => { handled.onerror = (e) => { e.preventDefault(); resolve('onerror: ' + e.message); }; }));
new Worker(blob('await import("jsr:@std/path");'), { type: 'module', name: 'loader' });
await new Promise(() => setTimeout(() => {}, 10_000));
`.replace('await show', 'await show'));
  assert.is(r.status, 'FAILED');
  const lines = r.stdout.trim().split('\n');
  assert.equal(JSON.parse(lines[0]!), ['NotCapable', 'reading files is not available in this sandbox (tried "/etc/passwd")', true]);
  const remote = JSON.parse(lines[1]!) as Shown;
  assert.is(remote.string, 'TypeError: importing remote modules is not available in this sandbox (tried "https://esm.sh/left-pad"); a Worker can run only data: and blob: URLs');
  const relative = JSON.parse(lines[2]!) as Shown;
  assert.is(relative.string, 'URIError: running a Worker from a relative path is not available in this sandbox (tried "./worker.ts"): the script is one module, with no files beside it; a Worker can run only data: and blob: URLs');
  assert.is(lines[3], `onerror: Uncaught TypeError: importing npm: packages is not available in this sandbox${CAN_IMPORT}`);
  assert.is(r.statusMessage, `Script threw: TypeError: importing jsr: packages is not available in this sandbox (tried "jsr:@std/path")${CAN_IMPORT}`);
  assert.match(r.stderr, /^error: Uncaught \(in worker "loader"\) TypeError: importing jsr: packages is not available in this sandbox \(tried "jsr:@std\/path"\)/);
});

denials('denials :: a script that patches Error, prototypes, NotCapable or message getters still gets worded denials, and a full report', async () => {
  const code = `
let called = 0;
const spy = () => function () { called += 1; throw new Error('patched'); };
const patches = [
  [String.prototype, ['replace', 'replaceAll', 'split', 'slice', 'indexOf', 'startsWith', 'includes', 'match', 'trim']],
  [Array.prototype, ['join', 'filter', 'push', 'map', 'slice', Symbol.iterator]],
  [RegExp.prototype, ['exec', 'test', Symbol.replace]],
  [Error.prototype, ['toString']],
];
for (let i = 0; i < patches.length; i += 1) for (let j = 0; j < patches[i][1].length; j += 1) patches[i][0][patches[i][1][j]] = spy();
Object.defineProperty(Error.prototype, 'message', { get() { called += 1; return 'from a getter'; }, configurable: true });
Object.defineProperty(Deno.errors.NotCapable.prototype, 'message', { get() { called += 1; return 'from a getter'; }, configurable: true });
let unhooked;
try { Object.defineProperty(Deno.errors.NotCapable.prototype, 'name', { value: 'X' }); unhooked = 'yes'; } catch { unhooked = 'no'; }
Deno.errors.NotCapable = class Fake extends Error {};
globalThis.Error = function NotError() {};
globalThis.TypeError = function NotTypeError() {};
Object.defineProperty(Object.prototype, 'get', { get() { called += 1; return undefined; }, configurable: true });
Object.prototype.toJSON = () => 'hijacked';
const out = (text) => Deno.stdout.writeSync(new TextEncoder().encode(text + '\\n'));
let denied, imported;
try { Deno.readTextFileSync('/etc/passwd'); } catch (e) { denied = e; }
try { await import('npm:left-pad'); } catch (e) { imported = e; }
out(denied.message);
out(denied.stack);
out(imported.message);
out('unhooked ' + unhooked + ', called ' + called);
throw denied;`;
  const r = await run(code);
  assert.is(r.stdout, [
    'reading files is not available in this sandbox (tried "/etc/passwd")',
    'NotCapable: reading files is not available in this sandbox (tried "/etc/passwd")',
    '    at script.ts:22:12',
    `importing npm: packages is not available in this sandbox${CAN_IMPORT}`,
    'unhooked no, called 0',
    '',
  ].join('\n'));
  assert.is(r.statusMessage, 'Script threw: NotCapable: reading files is not available in this sandbox (tried "/etc/passwd")');
  assert.is(r.stderr, 'error: Uncaught NotCapable: reading files is not available in this sandbox (tried "/etc/passwd")\n    at script.ts:22:12\n');
});

denials('denials :: an error given Deno\'s words late (as V8\'s fast calls build them, with no JavaScript run) is worded when its stack is written', async () => {
  const r = await run(`
const late = new Deno.errors.NotCapable('placeholder');
Object.defineProperty(late, 'message', { value: 'Requires read access to "/etc/shadow", run again with the --allow-read flag', writable: true, configurable: true });
console.log(late.stack.split('\\n')[0]);
console.log(late.message);
const own = new Deno.errors.NotCapable('a message of my own');
console.log(String(own));`);
  assert.is(r.stdout, [
    'NotCapable: reading files is not available in this sandbox (tried "/etc/shadow")',
    'reading files is not available in this sandbox (tried "/etc/shadow")',
    'NotCapable: a message of my own',
    '',
  ].join('\n'));
});

denials.run();
