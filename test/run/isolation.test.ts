// Hostile scripts against canaries: a file, an environment variable and a server on 127.0.0.2 that
// none may reach. Each script tries, prints what it got, and the test checks nothing leaked.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { sharedDenoDir } from '../../orchestrator/run/deno.js';
import { startCanaries, startServer, type Canaries, type HttpServer } from '../helpers/helpers.js';
import type { RunResult } from '../../types/result.js';

const isolation = suite('isolation');
let canaries: Canaries;
let api: HttpServer;

isolation.before(async () => {
  canaries = await startCanaries();
  // Stands in for the Apify API: the one outside address a script may reach.
  api = await startServer('127.0.0.1', 'api-response');
});

isolation.after(async () => {
  await canaries.close();
  await api.close();
});

/** Runs `code` with the fake API host, each attempt wrapped so one denial does not stop the rest. */
async function attempt(code: string): Promise<RunResult> {
  const r = await runCode({ code, apiBaseUrl: api.url, timeoutSecs: 20 });
  const all = r.stdout + r.stderr + r.statusMessage;
  assert.not.ok(all.includes(canaries.fileSecret), 'the canary file leaked');
  assert.not.ok(all.includes(canaries.envSecret), 'the canary environment variable leaked');
  assert.not.ok(all.includes('server-canary'), 'the canary server answered');
  return r;
}

/** A script line that runs `expr` and prints `label: ok <value>` or `label: denied <ErrorName>: <first line of its message>`. */
function probe(label: string, expr: string): string {
  return `try { const v = await (async () => ${expr})(); console.log(${JSON.stringify(label)} + ": ok " + String(v).slice(0, 80)); } catch (e) { console.log(${JSON.stringify(label)} + ": denied " + (e?.name ?? typeof e) + ": " + String(e?.message).split("\\n")[0]); }`;
}

/**
 * Each label was refused as `how` says: the sandbox's own refusal (Deno's NotCapable, worded by the
 * guest for what it refused; a failed import, a TypeError in its words), never just any error: a
 * probe that fails for another reason (a port that fetch blocks, a file that is not there) proves
 * nothing about the sandbox.
 */
function deniedAll(r: RunResult, labels: string[], how: RegExp): void {
  for (const label of labels) {
    const line = r.stdout.split('\n').find((each) => each.startsWith(`${label}: `)) ?? '(no line)';
    assert.match(line, new RegExp(`^${label}: denied ${how.source}`), `${label} was not refused by the sandbox:\n${r.stdout}\n${r.stderr}`);
  }
}

isolation('isolation :: no file reads, by any route', async () => {
  const f = JSON.stringify(canaries.file);
  const r = await attempt([
    probe('readTextFile', `Deno.readTextFile(${f})`),
    probe('openSync', `Deno.openSync(${f})`),
    probe('statSync', `Deno.statSync(${f})`),
    probe('fetchFile', `fetch("file://" + ${f}).then((r) => r.text())`),
    probe('importFile', `import("file://" + ${f})`),
    probe('nodeFs', `import("node:fs").then((fs) => fs.readFileSync(${f}, "utf8"))`),
    probe('procEnviron', 'Deno.readTextFile("/proc/self/environ")'),
    probe('cwd', 'Deno.cwd()'),
    probe('readDir', 'Array.fromAsync(Deno.readDir("/"))'),
  ].join('\n'));
  deniedAll(r, ['readTextFile', 'openSync', 'statSync', 'fetchFile', 'nodeFs', 'procEnviron', 'readDir'], /NotCapable: reading files is not available in this sandbox/);
  // A dynamic import's refusal is a TypeError in the permission's words.
  deniedAll(r, ['importFile'], /TypeError: importing files is not available in this sandbox/);
  // Deno.cwd() needs no permission; it must reveal nothing (no temp path, user or process id).
  assert.match(r.stdout, /^cwd: (ok \/|denied NotCapable: .*)$/m);
});

isolation('isolation :: no file writes', async () => {
  const target = path.join(canaries.dir, 'written.txt');
  const r = await attempt([
    probe('writeTextFile', `Deno.writeTextFile(${JSON.stringify(target)}, "x")`),
    probe('makeTempDir', 'Deno.makeTempDir()'),
    probe('nodeWrite', `import("node:fs").then((fs) => fs.writeFileSync(${JSON.stringify(target)}, "x"))`),
  ].join('\n'));
  deniedAll(r, ['writeTextFile', 'makeTempDir', 'nodeWrite'], /NotCapable: writing files is not available in this sandbox/);
  assert.not.ok(existsSync(target));
});

isolation('isolation :: no environment, and the child started with a clean one', async () => {
  const r = await attempt([
    probe('envGet', `Deno.env.get(${JSON.stringify(canaries.envName)})`),
    probe('envObject', 'JSON.stringify(Deno.env.toObject())'),
    probe('processEnv', `import("node:process").then((p) => p.default.env[${JSON.stringify(canaries.envName)}])`),
  ].join('\n'));
  deniedAll(r, ['envGet', 'envObject', 'processEnv'], /NotCapable: environment variables are not available in this sandbox/);
});

isolation('isolation :: no subprocesses, no FFI, no signals to other processes', async () => {
  const r = await attempt([
    // By absolute path: the clean environment has no PATH, so a bare name is not found before any
    // permission is asked (the guest words that as a refusal too).
    probe('command', 'new Deno.Command("/bin/echo", { args: ["spawned"] }).output()'),
    probe('childProcess', 'import("node:child_process").then((cp) => cp.execFileSync("/bin/echo", ["spawned"], { env: {} }).toString())'),
    probe('dlopen', 'Deno.dlopen("libc.so.6", {})'),
    // This test process: same user, so only the sandbox can refuse it; SIGCONT would do no harm.
    probe('kill', `Deno.kill(${process.pid}, "SIGCONT")`),
  ].join('\n'));
  deniedAll(r, ['command'], /NotCapable: running subprocesses is not available in this sandbox \(tried "\/bin\/echo"\)/);
  deniedAll(r, ['childProcess'], /NotCapable: running subprocesses is not available in this sandbox/);
  deniedAll(r, ['dlopen'], /NotCapable: loading native libraries \(FFI\) is not available in this sandbox/);
  deniedAll(r, ['kill'], /NotCapable: running or signalling other processes is not available in this sandbox/);
  assert.not.match(r.stdout, /spawned/);
});

isolation('isolation :: no system information', async () => {
  const r = await attempt([
    probe('hostname', 'Deno.hostname()'),
    probe('osRelease', 'Deno.osRelease()'),
    probe('networkInterfaces', 'Deno.networkInterfaces()'),
    probe('loadavg', 'Deno.loadavg()'),
    probe('nodeOs', 'import("node:os").then((os) => os.hostname())'),
  ].join('\n'));
  deniedAll(r, ['hostname', 'osRelease', 'networkInterfaces', 'loadavg', 'nodeOs'], /NotCapable: system information is not available in this sandbox/);
});

isolation('isolation :: the network reaches the API host:port and nothing else', async () => {
  const other = await startServer('127.0.0.1', 'other-port');
  try {
    const r = await attempt([
      probe('api', `fetch(${JSON.stringify(api.url + '/v2/ping')}).then((r) => r.text())`),
      probe('canaryFetch', `fetch(${JSON.stringify(canaries.server.url)}).then((r) => r.text())`),
      probe('otherPort', `fetch(${JSON.stringify(other.url)}).then((r) => r.text())`),
      probe('localhostName', `fetch("http://localhost:${api.port}/").then((r) => r.text())`),
      probe('connect', `Deno.connect({ hostname: "127.0.0.2", port: ${canaries.server.port} })`),
      probe('websocket', `new Promise((ok, fail) => { const ws = new WebSocket("ws://127.0.0.2:${canaries.server.port}"); ws.onopen = ok; ws.onerror = () => fail(new Error("ws")); })`),
      probe('listen', 'Deno.listen({ port: 0 })'),
    ].join('\n'));
    assert.match(r.stdout, /^api: ok api-response/m);
    deniedAll(r, ['canaryFetch', 'otherPort', 'localhostName', 'connect', 'websocket', 'listen'], /NotCapable: network access to \S+ is not allowed in this sandbox/);
    assert.is(canaries.server.connections, 0, 'the canary server was contacted');
    assert.is(other.connections, 0, 'another port of the API host was contacted');
  } finally {
    await other.close();
  }
});

isolation('isolation :: an inherited HTTP_PROXY is not used', async () => {
  process.env.HTTP_PROXY = canaries.server.url;
  process.env.http_proxy = canaries.server.url;
  try {
    const r = await attempt(probe('api', `fetch(${JSON.stringify(api.url + '/v2/via-proxy')}).then((r) => r.text())`));
    assert.match(r.stdout, /^api: ok api-response/m);
    assert.is(canaries.server.connections, 0, 'the request went through the proxy');
  } finally {
    delete process.env.HTTP_PROXY;
    delete process.env.http_proxy;
  }
});

isolation('isolation :: no remote, npm or jsr imports, and no packages from the project', async () => {
  const r = await attempt([
    probe('https', 'import("https://esm.sh/left-pad")'),
    probe('http', `import(${JSON.stringify(api.url + '/module.js')})`),
    probe('npm', 'import("npm:left-pad")'),
    probe('jsr', 'import("jsr:@std/path")'),
    probe('bare', 'import("uvu")'),
    probe('relative', 'import("../helpers/helpers.ts")'),
  ].join('\n'));
  // Refused by the flags Deno runs with (--no-remote, --no-npm, no import permission, no package
  // map), each said for what it refused.
  deniedAll(r, ['https'], /TypeError: importing remote modules is not available in this sandbox \(tried "https:\/\/esm\.sh\/left-pad"\)/);
  deniedAll(r, ['jsr'], /TypeError: importing jsr: packages is not available in this sandbox \(tried "jsr:@std\/path"\)/);
  // Deno's own words, as the guest leaves them so far, or the guest's.
  deniedAll(r, ['http'], /TypeError: (Requires import access to "127\.0\.0\.1:\d+"|importing remote modules is not available in this sandbox)/);
  deniedAll(r, ['npm'], /TypeError: importing npm: packages is not available in this sandbox/);
  deniedAll(r, ['bare'], /TypeError: importing packages is not available in this sandbox \(tried "uvu"\)/);
  deniedAll(r, ['relative'], /TypeError: importing relative paths is not available in this sandbox/);
  assert.not.ok(api.hits.some((hit) => hit.includes('module.js')), 'a module was fetched from the API host');
});

isolation('isolation :: workers inherit the sandbox and cannot escalate', async () => {
  const worker = `const w = new Worker(URL.createObjectURL(new Blob([\`
    let out;
    try { out = Deno.readTextFileSync(${JSON.stringify(canaries.file)}); } catch (e) { out = "denied " + e.name; }
    self.postMessage(out);
  \`], { type: "application/javascript" })), { type: "module" });
  const msg = await new Promise((resolve) => { w.onmessage = (e) => resolve(e.data); });
  w.terminate();
  console.log("worker: " + msg);`;
  const r = await attempt(`${worker}\n${probe('request', 'Deno.permissions.request({ name: "read" }).then((s) => s.state)')}`);
  assert.match(r.stdout, /^worker: denied NotCapable$/m);
  // --no-prompt: a request is answered "denied", never granted.
  assert.match(r.stdout, /^request: ok denied$/m);
});

isolation('isolation :: nothing is shared between runs: no storage, no globals', async () => {
  const first = await attempt([
    'globalThis.leftBehind = "from run one";',
    probe('localStorage', 'localStorage.setItem("k", "v")'),
    probe('caches', 'caches.open("c")'),
    'console.log("types", typeof localStorage, typeof sessionStorage, typeof caches);',
  ].join('\n'));
  deniedAll(first, ['localStorage'], /ReferenceError: localStorage is not defined/);
  deniedAll(first, ['caches'], /ReferenceError: caches is not defined/);
  assert.match(first.stdout, /^types undefined undefined undefined$/m);
  const second = await attempt('console.log("left behind:", typeof globalThis.leftBehind);');
  assert.is(second.stdout, 'left behind: undefined\n');
});

/** Every file under DENO_DIR but the bootstrap's own emits, with its size. */
function denoDirFiles(): Record<string, number> {
  const root = sharedDenoDir();
  const files: Record<string, number> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (at !== path.join(root, 'gen', 'file')) walk(at);
      } else {
        files[path.relative(root, at)] = statSync(at).size;
      }
    }
  };
  walk(root);
  return files;
}

isolation('isolation :: nothing a script imports is written to disk, during or after its run, whatever the module kind', async () => {
  await attempt('console.log("warm")');
  const before = denoDirFiles();
  let during: Record<string, number> | undefined;
  const big = '/' + '/'.repeat(100_000);
  const code = [
    // 40 distinct TypeScript data: modules of 100 KB each (this left 4 MB per run under gen/data).
    `for (let i = 0; i < 40; i++) await import("data:application/typescript," + encodeURIComponent("export const n: number = " + i + ";" + ${JSON.stringify(big)}));`,
    'await import("data:text/javascript,export default 1");',
    'await import("data:application/json,{\\"a\\":1}", { with: { type: "json" } });',
    'const blob = (src) => URL.createObjectURL(new Blob([src], { type: "application/typescript" }));',
    'await import(blob("export const b: number = 2;"));',
    'const w = new Worker(blob(`import "data:application/typescript,export const q: number = 5;"; await import(${JSON.stringify("data:application/typescript,export const r: string = \'w\';")}); const x: number = 1; postMessage(x);`), { type: "module" });',
    'await new Promise((resolve) => { w.onmessage = resolve; });',
    'w.terminate();',
    'await WebAssembly.compile(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));',
    'console.log("imported");',
    'await new Promise((resolve) => setTimeout(resolve, 300));',
  ].join('\n');
  const r = await runCode({
    code,
    timeoutSecs: 30,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout' && Buffer.from(chunk).toString().includes('imported')) during = denoDirFiles();
    },
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(during, before, 'written while the script ran');
  assert.equal(denoDirFiles(), before, 'left after the run');
});

isolation('isolation :: the envelope (with the run secret) is not readable from stdin', async () => {
  const r = await attempt('const text = await new Response(Deno.stdin.readable).text();\nconsole.log(JSON.stringify(text));');
  assert.is(r.status, 'SUCCEEDED');
  assert.is(r.stdout, '""\n');
});

isolation.run();
