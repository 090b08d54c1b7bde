// What a script sees inside the guest: languages, console routing, stack traces, timers, stdin.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { fixture } from '../helpers/helpers.js';
import { startFakeApi } from '../helpers/fake-api.js';

const guest = suite('guest');

guest('guest :: TypeScript is stripped natively, with no type check', async () => {
  const code = [
    'interface Point { x: number; y: number }',
    'enum Color { Red = "red", Blue = "blue" }',
    'function first<T>(items: T[]): T | undefined { return items[0]; }',
    'const p: Point = { x: 1, y: 2 };',
    'const wrong: number = "not checked" as unknown as number;',
    'console.log(JSON.stringify(p), Color.Blue, first<string>(["a"]), wrong, <number>(3 as unknown));',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, '{"x":1,"y":2} blue a not checked 3\n');
});

guest('guest :: plain JavaScript runs', async () => {
  const r = await runCode({ code: 'const xs = [1, 2, 3];\nconsole.log(xs.map((x) => x * 2).join(","));' });
  assert.is(r.stdout, '2,4,6\n');
});

guest('guest :: JSX is rejected with a parse error', async () => {
  const r = await runCode({ code: fixture('jsx.ts') });
  assert.is(r.status, 'FAILED');
  assert.match(r.statusMessage, /^Syntax error at script\.ts:1:\d+: /);
});

guest('guest :: top-level await, setTimeout, setInterval and fetch are there', async () => {
  const code = [
    'await new Promise((resolve) => setTimeout(resolve, 20));',
    'let ticks = 0;',
    'await new Promise<void>((resolve) => { const id = setInterval(() => { if (++ticks === 3) { clearInterval(id); resolve(); } }, 5); });',
    'console.log("ticks", ticks, typeof fetch, typeof structuredClone, typeof crypto.randomUUID());',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'ticks 3 function function string\n');
});

guest('guest :: log, info and debug go to stdout; warn and error to stderr', async () => {
  const r = await runCode({ code: 'console.log("L"); console.info("I"); console.debug("D"); console.warn("W"); console.error("E");' });
  assert.is(r.stdout, 'L\nI\nD\n');
  assert.is(r.stderr, 'W\nE\n');
});

guest('guest :: no ANSI colour codes, even for objects and errors', async () => {
  const r = await runCode({ code: 'console.log({ a: 1, s: "x", n: null, d: new Date(0), m: new Map([[1, 2]]) });\nconsole.error(new Error("shown"));\nconsole.log("%cstyled", "color: red");\nthrow new Error("last");' });
  assert.not.ok((r.stdout + r.stderr).includes('\u001b'), JSON.stringify(r.stdout + r.stderr));
  assert.match(r.stdout, /a: 1/);
});

guest('guest :: reassigning console.log cannot stop console.error being captured', async () => {
  const r = await runCode({ code: 'console.log = () => {};\nconsole.log("hidden");\nconsole.error("still captured");' });
  assert.is(r.stdout, '');
  assert.is(r.stderr, 'still captured\n');
});

guest('guest :: stack traces point at the script\'s own lines, with no wrapper or URL', async () => {
  const r = await runCode({ code: fixture('throws.ts') });
  assert.match(r.stderr, /\n {4}at script\.ts:4:7\n?/);
  for (const noise of ['blob:', 'data:', 'bootstrap', 'file://', 'ext:', 'guest/']) {
    assert.not.ok(r.stderr.includes(noise), `stderr shows ${noise}: ${r.stderr}`);
  }
});

guest('guest :: nested frames keep their function names and lines', async () => {
  const r = await runCode({ code: fixture('nested-throw.ts') });
  assert.is(r.statusMessage, 'Script threw: RangeError: too deep: 3');
  assert.match(r.stderr, /at inner \(script\.ts:2:20\)/);
  assert.match(r.stderr, /at script\.ts:5:1/);
});

guest('guest :: the script name shown in traces can be set', async () => {
  const r = await runCode({ code: fixture('throws.ts'), scriptName: 'report.ts' });
  assert.match(r.stderr, /at report\.ts:4:7/);
});

guest('guest :: an error the script prints itself also names its own lines', async () => {
  const r = await runCode({ code: 'function f() { return new Error("printed"); }\n\nconsole.log(f().stack);' });
  assert.match(r.stdout, /^Error: printed\n {4}at f \(script\.ts:1:23\)\n {4}at script\.ts:3:13\n$/);
});

guest('guest :: a script reading stdin gets end-of-file', async () => {
  const r = await runCode({ code: 'const buf = new Uint8Array(16);\nconsole.log(await Deno.stdin.read(buf));' });
  assert.is(r.stdout, 'null\n');
});

guest('guest :: the apify global is present and cannot be replaced', async () => {
  const r = await runCode({ code: 'console.log(typeof apify);\ntry { (globalThis as any).apify = 1; } catch {}\nconsole.log(typeof apify);' });
  assert.is(r.stdout, 'object\nobject\n');
});

guest('guest :: apify is built on first use: the same frozen object every time, still not replaceable', async () => {
  const code = [
    'const before = Object.getOwnPropertyDescriptor(globalThis, "apify");',
    'console.log(typeof before?.get, before?.configurable, apify === apify, Object.isFrozen(apify));',
    'try { (globalThis as any).apify = 1; console.log("assigned"); } catch (e) { console.log((e as Error).name); }',
    'console.log(Reflect.deleteProperty(globalThis, "apify"), typeof apify.dataset.listItems);',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'function false true true\nTypeError\nfalse function\n');
});

guest('guest :: globals patched before apify\'s first use neither see the binding\'s code nor break it', async () => {
  // The binding is compiled on first use (lazy.ts), after the script ran: it must take nothing from the globals by then.
  const code = [
    'const seen: string[] = [];',
    'const F = Function;',
    '(globalThis as any).Function = function (...args: string[]) { seen.push(args.join(" ")); return (F as any)(...args); };',
    'const dp = Object.defineProperty;',
    'Object.defineProperty = function (o: any, k: any, d: any) { seen.push(String(k)); return dp(o, k, d); } as any;',
    '(Object.prototype as any).polluted = 1;',
    '(globalThis as any).Error = class NotError {};',
    'console.log(typeof apify.actor.start, apify.actor.start.name, new apify.ApifyApiError({ statusCode: 1, message: "m", method: "GET", path: "/", attempts: 1 } as any) instanceof Object.getPrototypeOf(RangeError));',
    'console.log(seen.length, seen.join("|").includes("file:"));',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'function start true\n0 false\n');
});

guest('guest :: globals patched before the first use of tools, files and fetch neither see their code nor break them', async () => {
  // Each is compiled on first use (lazy.ts), after the script ran: each takes its builtins from those captured at start.
  const code = [
    'const seen: string[] = [];',
    'const F = Function;',
    '(globalThis as any).Function = function (...args: string[]) { seen.push(args.join(" ")); return (F as any)(...args); };',
    'const dp = Object.defineProperty;',
    'Object.defineProperty = function (o: any, k: any, d: any) { seen.push(String(k)); return dp(o, k, d); } as any;',
    'const { NotCapable } = Deno.errors;',
    'const base = Object.getPrototypeOf(RangeError);',
    'const boom = (name: string) => () => { throw new (base as any)(`patched ${name} was called`); };',
    'const saved: Record<string, unknown> = {};',
    'for (const name of ["create", "hasOwn", "getPrototypeOf", "getOwnPropertySymbols"]) { saved[name] = (Object as any)[name]; (Object as any)[name] = boom(`Object.${name}`); }',
    'for (const name of ["Error", "Proxy", "Set", "Blob", "URL"]) { saved[name] = (globalThis as any)[name]; (globalThis as any)[name] = boom(name); }',
    '(Array.prototype as any).map = boom("map");',
    'RegExp.prototype.test = boom("test");',
    'TextEncoder.prototype.encode = boom("encode");',
    '(Object.prototype as any).polluted = 1;',
    'console.log(files.list()[0].name);',
    'try { tools.$call("none", "x"); } catch (e) { console.log((e as any).name, (e as any).type, e instanceof base); }',
    'try { new WebSocket("ws://198.51.100.2/"); } catch (e) { console.log(e instanceof NotCapable, (e as Error).message); }',
    '// Deno\'s own fetch (which files.write calls, and the relay-bound fetch) needs these as they were.',
    'for (const name of ["create", "hasOwn", "getPrototypeOf", "getOwnPropertySymbols"]) (Object as any)[name] = saved[name];',
    'await fetch("http://198.51.100.1/").catch((e) => console.log(e instanceof NotCapable, e.message));',
    'for (const name of ["Error", "Proxy", "Set", "Blob", "URL"]) (globalThis as any)[name] = saved[name];',
    'await files.write("out.txt", "written", { contentType: "text/plain" });',
    'console.log(seen.length, seen.join("|").includes("file:"));',
  ].join('\n');
  const r = await runCode({ code, files: { 'in.txt': 'x' } });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, [
    'in.txt',
    'ToolError unknown-tool true',
    'true network access to 198.51.100.2:80 is not allowed in this sandbox; allowed: https://api.apify.com',
    'true network access to 198.51.100.1:80 is not allowed in this sandbox; allowed: https://api.apify.com',
    '0 false',
    '',
  ].join('\n'));
  assert.equal(r.files.map((file) => [file.name, file.contentType, Buffer.from(file.bytes).toString()]), [['out.txt', 'text/plain', 'written']]);
});

guest('guest :: a failing new Worker(…) shows the script\'s frames only, not the guest\'s Worker wrapper', async () => {
  const code = [
    'try { new Worker("relative.js", { type: "module" }); } catch (e) { console.log((e as Error).stack); }',
    'Error.prepareStackTrace = (_e, frames) => frames.map((f) => `${f.getFunctionName()} ${f.getEvalOrigin()}`).join(";");',
    'try { new Worker("relative.js", { type: "module" }); } catch (e) { console.log((e as Error).stack); }',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'URIError: running a Worker from a relative path is not available in this sandbox (tried "relative.js"): the script is one module, with no files beside it; a Worker can run only data: and blob: URLs\n    at script.ts:1:7\nnull undefined\n');
});

guest('guest :: Deno\'s own report of a never-settling top-level await names the script live, as in the result', async () => {
  const live: string[] = [];
  const r = await runCode({ code: 'console.error("waiting");\nawait new Promise(() => {});', onOutput: (stream, chunk) => { if (stream === 'stderr') live.push(Buffer.from(chunk).toString()); } });
  assert.is(r.statusMessage, 'Script never finished: its top-level await waits on a promise that nothing will settle');
  assert.is(r.stderr, 'waiting\nerror: Top-level await promise never resolved\nawait new Promise(() => {});\n^\n    at <anonymous> (script.ts:2:1)\n');
  assert.is(live.join(''), r.stderr);
});

guest('guest :: a Worker running the script\'s own module names it in its stacks, and its uncaught error fails the run, named', async () => {
  const code = [
    'if ((self as any).name === "w") { console.log(new Error("in worker").stack); console.trace("traced"); throw new RangeError("from the worker"); }',
    'const w = new Worker(import.meta.url, { type: "module", name: "w" });',
    'await new Promise((resolve) => setTimeout(resolve, 5_000));',
  ].join('\n');
  const r = await runCode({ code, timeoutSecs: 20 });
  assert.is(r.status, 'FAILED');
  assert.is(r.statusMessage, 'Script threw: RangeError: from the worker');
  assert.is(r.stdout, 'Error: in worker\n    at script.ts:1:47\n');
  assert.is(r.stderr, 'Trace: traced\n    at script.ts:1:86\nerror: Uncaught (in worker "w") RangeError: from the worker\n    at script.ts:1:109\n');
});

guest('guest :: a Worker\'s error the script handles on the Worker object ends nothing', async () => {
  const code = [
    'const w = new Worker(URL.createObjectURL(new Blob(["throw new Error(\'boom\');"], { type: "application/javascript" })), { type: "module" });',
    'console.log(await new Promise((resolve) => { w.onerror = (e) => { e.preventDefault(); resolve(`${e.message} | ${e.error}`); }; }));',
  ].join('\n');
  const r = await runCode({ code, timeoutSecs: 20 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'Uncaught Error: boom | null\n');
  assert.is(r.stderr, '');
});

guest('guest :: stacks name the script even after it replaced the global Error', async () => {
  const r = await runCode({ code: 'const E = Error;\n(globalThis as any).Error = class NotError {};\nconsole.log(new E("made").stack);\nconsole.log(new RangeError("r").stack);' });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'Error: made\n    at script.ts:3:13\nRangeError: r\n    at script.ts:4:13\n');
});

guest('guest :: the failure report is whole when the script patched the string, array and regexp methods it would use', async () => {
  const code = [
    'for (const name of ["split", "slice", "replace", "replaceAll", "match", "startsWith", "indexOf"]) (String.prototype as any)[name] = () => { throw new Error(name); };',
    'for (const name of ["join", "filter", "map"]) (Array.prototype as any)[name] = () => { throw new Error(name); };',
    'RegExp.prototype.test = () => { throw new Error("test"); };',
    'RegExp.prototype.exec = () => { throw new Error("exec"); };',
    'Object.defineProperty(Object.prototype, "get", { get() { throw new Error("get"); }, configurable: true });',
    'throw new TypeError("reported whole");',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'FAILED');
  assert.is(r.statusMessage, 'Script threw: TypeError: reported whole');
  assert.is(r.stderr, 'error: Uncaught TypeError: reported whole\n    at script.ts:6:7\n');
});

guest('guest :: a stack\'s first line is V8\'s name: message, for console.trace and captureStackTrace on plain objects too', async () => {
  const code = [
    'console.trace("here", 1);',
    'const o = { name: "N", message: "msg" }; Error.captureStackTrace(o); console.log((o as any).stack);',
    'class Odd extends Error { toString() { return "not the header"; } }',
    'console.log(new Odd("m").stack);',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stderr, 'Trace: here 1\n    at script.ts:1:9\n');
  assert.is(r.stdout, 'N: msg\n    at script.ts:2:48\nError: m\n    at script.ts:4:13\n');
});

// The guest ends the process with Deno.exit() once the loop is empty and the last unload listener
// ran (guest/exit.ts), skipping the isolate's teardown; none of the script's own endings may be lost.
guest('guest :: ending early keeps every unload listener, its exit code and its output', async () => {
  const code = [
    'addEventListener("unload", () => console.log("unload 1"));',
    'globalThis.onunload = () => console.error("onunload");',
    'let waits = 0;',
    'addEventListener("beforeunload", (e) => { if (waits++ < 2) { e.preventDefault(); setTimeout(() => console.log("more work", waits), 1); } });',
    'addEventListener("beforeunload", () => addEventListener("unload", () => console.log("added at beforeunload")), { once: true });',
    'Deno.exitCode = 4;',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'FAILED');
  assert.is(r.exitCode, 4);
  assert.is(r.stdout, 'more work 1\nmore work 2\nunload 1\nadded at beforeunload\n');
  assert.is(r.stderr, 'onunload\n');
});

guest('guest :: the done record never shows, live or captured, and a forged one is only output', async () => {
  const live: string[] = [];
  const code = [
    'console.log("a");',
    'console.log("\\0code-runtime:not-the-secret:{\\"kind\\":\\"done\\",\\"exitCode\\":0}");',
    'console.error("b");',
    'Deno.exitCode = 9;',
    'await new Promise((r) => setTimeout(r, 30));',
    'console.log("c");',
  ].join('\n');
  const r = await runCode({ code, onOutput: (stream, chunk) => live.push(`${stream}:${Buffer.from(chunk).toString()}`) });
  // The forged record ended nothing: the script ran on, and its exit code is the one it set last.
  assert.is(r.exitCode, 9);
  assert.is(r.status, 'FAILED');
  assert.is(r.stdout, 'a\n\0code-runtime:not-the-secret:{"kind":"done","exitCode":0}\nc\n');
  assert.is(r.stderr, 'b\n');
  // The real record (exit code 9, with the secret) reached no listener.
  assert.not.ok(live.join('').includes('"exitCode":9'), live.join(''));
  assert.is(live.filter((x) => x.startsWith('stdout:')).map((x) => x.slice(7)).join(''), r.stdout);
  assert.is(live.filter((x) => x.startsWith('stderr:')).map((x) => x.slice(7)).join(''), r.stderr);
});

guest('guest :: an exit code set past 255 ends the run with the code the process exits with, as in plain Deno', async () => {
  for (const [set, exits] of [[256, 0], [259, 3], [-1, 255]] as const) {
    const r = await runCode({ code: `Deno.exitCode = ${set};\nconsole.log("x");` });
    assert.is(r.exitCode, exits, String(set));
    assert.is(r.status, exits === 0 ? 'SUCCEEDED' : 'FAILED', String(set));
    assert.is(r.stdout, 'x\n');
  }
});

guest('guest :: a heap snapshot does not give the script the records\' secret (it cannot forge done)', async () => {
  const code = [
    'import v8 from "node:v8";',
    'let text = "";',
    'for await (const chunk of v8.getHeapSnapshot()) text += chunk;',
    'const found = new Set<string>();',
    'for (const s of JSON.parse(text).strings as string[]) for (const m of s.matchAll(/[0-9a-f]{32}/g)) found.add(m[0]);',
    'for (const secret of found) {',
    '  const bytes = new TextEncoder().encode(`\\0code-runtime:${secret}:{"kind":"done","exitCode":0}\\n`);',
    '  Deno.stdout.writeSync(bytes);',
    '  Deno.stderr.writeSync(bytes);',
    '}',
    'await new Promise((r) => setTimeout(r, 30));',
    'console.log("ran on");',
    'Deno.exitCode = 3;',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.exitCode, 3, r.stderr);
  assert.ok(r.stdout.endsWith('ran on\n'), r.stdout);
});

guest('guest :: a script that dispatches unload itself keeps running (only Deno\'s own unload ends it early)', async () => {
  const code = [
    // Before any beforeunload, and after one a listener cancelled (the loop then goes on).
    'dispatchEvent(new Event("unload"));',
    'console.log("after");',
    'let waits = 0;',
    'addEventListener("beforeunload", (e) => { if (waits++ < 1) { e.preventDefault(); setTimeout(() => { dispatchEvent(new Event("unload")); console.log("after again"); }, 1); } });',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'after\nafter again\n');
});

guest('guest :: Node process.on("exit") hooks still run (a script naming process ends the usual way)', async () => {
  const r = await runCode({ code: 'import process from "node:process";\nprocess.on("exit", (code) => console.log("exit hook", code));\nconsole.log("main");' });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'main\nexit hook 0\n');
});

guest('guest :: the early end steps aside for the global process however it is reached', async () => {
  const r = await runCode({ code: 'const p = (globalThis as any)["pro" + "cess"];\np.on("exit", () => console.log("exit hook"));\nconsole.log("main");' });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'main\nexit hook\n');
});

guest('guest :: an error thrown in an unload or beforeunload listener fails the run, as in plain Deno', async () => {
  for (const event of ['unload', 'beforeunload']) {
    const r = await runCode({ code: `addEventListener("${event}", () => { throw new Error("late ${event}"); });\nconsole.log("main");` });
    assert.is(r.status, 'FAILED', event);
    assert.is(r.exitCode, 1);
    assert.is(r.stdout, 'main\n');
    assert.match(r.stderr, new RegExp(`^error: Uncaught Error: late ${event}\\n    at script\\.ts:1:\\d+\\n$`));
  }
  const handled = await runCode({ code: 'addEventListener("error", (e) => e.preventDefault());\naddEventListener("unload", () => { throw new Error("late"); });' });
  assert.is(handled.status, 'SUCCEEDED', handled.stderr);
});

guest('guest :: an uncaught API error shows the script\'s frames, none of the guest\'s', async () => {
  const api = await startFakeApi({ token: 'guest-test-token' });
  try {
    const r = await runCode({ code: 'const id = "missing-run";\nawait apify.run.get({ runId: id });', apiBaseUrl: api.url, token: 'guest-test-token' });
    assert.is(r.status, 'FAILED');
    assert.match(r.statusMessage, /^Script threw: ApifyApiError: /);
    assert.match(r.stderr, /at (async )?script\.ts:2:\d+/);
    assert.not.ok(r.stderr.includes('guest/'), r.stderr);
    assert.not.ok(r.stderr.includes('ext:'), r.stderr);
  } finally {
    await api.close();
  }
});

guest.run();
