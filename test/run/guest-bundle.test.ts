// The guest children run: the build of the current guest/ sources, a small loader module plus the
// guest's code (the core, the realm code, and the modules compiled on first use) that every child is
// sent first on stdin.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BOOTSTRAP_PATH, GUEST_CODE_PATH } from '../../orchestrator/run/deno.js';
import { sandboxFor } from '../../orchestrator/run/run.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import { ROOT, scratchDir } from '../helpers/helpers.js';
import { startFakeApi } from '../helpers/fake-api.js';
import { runCode } from '../../orchestrator/index.js';

const bundle = suite('guest-bundle');

bundle('guest-bundle :: the bundle children run is the build of the current guest/ sources', () => {
  const fresh = scratchDir('bundle');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-guest.mjs'), fresh], { stdio: 'pipe' });
  for (const shipped of [BOOTSTRAP_PATH, GUEST_CODE_PATH]) {
    // Equal bytes: a guest/ edit without a rebuild, or a hand edit of the bundle, fails here.
    assert.ok(readFileSync(shipped, 'utf8') === readFileSync(path.join(fresh, path.basename(shipped)), 'utf8'), `${shipped} differs from a fresh build of guest/; run npm run build`);
  }
  // One line of JSON: the core, and each module compiled on first use (known by what only it has) apart from it.
  const lines = readFileSync(GUEST_CODE_PATH, 'utf8').split('\n');
  assert.is(lines.length, 2);
  const { core, lazy } = JSON.parse(lines[0]!) as { core: string; lazy: Record<string, string> };
  const marks = { binding: '"ApifyApiError"', tools: '"ToolError"', files: '"FilesError"', egress: '/egress/to/' };
  assert.equal(Object.keys(lazy).sort(), Object.keys(marks).sort());
  for (const [name, mark] of Object.entries(marks)) {
    assert.ok(lazy[name]!.includes(mark), `${name} has ${mark}`);
    assert.not.ok(core.includes(mark), `the core has ${mark}`);
  }
});

bundle('guest-bundle :: one small self-contained module: no imports for Deno to resolve, only the script\'s own', () => {
  const loader = readFileSync(BOOTSTRAP_PATH, 'utf8');
  const code = readFileSync(GUEST_CODE_PATH, 'utf8');
  for (const shipped of [loader, code]) {
    assert.not.match(shipped, /^\s*(import|export)\b[^(]/m);
    assert.not.match(shipped, /\bfrom\s*["']/);
  }
  // Deno parses a module's whole text in every child: the loader stays small.
  assert.ok(loader.length < 2048, `the loader is ${loader.length} bytes`);
  // The dynamic imports are the user's script, as a blob URL (the core), and a Worker's module (the realm code).
  assert.equal(loader.match(/\bimport\(/g), null);
  const { core, realm, lazy } = JSON.parse(code.split('\n')[0]!) as { core: string; realm: string; lazy: Record<string, string> };
  assert.equal([core, realm, ...Object.values(lazy)].map((part) => part.match(/\bimport\(/g)?.length ?? 0), [1, 1, 0, 0, 0, 0]);
});

bundle('guest-bundle :: a child reads the guest\'s code, then its envelope, and ends both streams with its done record', async () => {
  // The raw protocol, below runCode: this is what lets a run end without waiting for the process's
  // teardown (child.ts). If Deno's listener list moves, the guest stops writing it and this fails.
  const { command, cwd } = await sandboxFor(normalizeOptions({ code: '1' }));
  const envelope = JSON.stringify({ code: 'console.log("out"); console.error("err"); Deno.exitCode = 3;', secret: 'abc123', scriptName: 'script.ts', apify: { url: 'http://127.0.0.1:9/x' } });
  const child = spawn(command.file, command.args, { cwd, env: command.env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin.end(Buffer.concat([command.stdin!, Buffer.from(envelope)]));
  const code = await new Promise((resolve) => child.on('close', resolve));
  const done = '\0code-runtime:abc123:{"kind":"done","exitCode":3}\n';
  assert.is(code, 3);
  assert.is(Buffer.concat(out).toString(), `out\n${done}`);
  assert.is(Buffer.concat(err).toString(), `err\n${done}`);
});

bundle('guest-bundle :: sandboxes run the bundle, never guest/ sources', async () => {
  const { command } = await sandboxFor(normalizeOptions({ code: '1' }));
  // The built loader, as a data: URL: no path of this machine reaches the child.
  assert.is(command.args.at(-1), `data:text/javascript,${encodeURIComponent(readFileSync(BOOTSTRAP_PATH, 'utf8'))}`);
  assert.not.ok(command.args.some((arg) => arg.includes(path.join(ROOT, 'dist')) || arg.includes(path.join(ROOT, 'guest'))));
});

bundle('guest-bundle :: the frames of tools, files and fetch, compiled on first use, stay hidden from stacks the script prints', async () => {
  const code = [
    'try { tools.$call("none", "x"); } catch (e) { console.log((e as Error).stack); }',
    'try { await files.read("none.txt"); } catch (e) { console.log((e as Error).stack); }',
    'try { await fetch("http://198.51.100.1/"); } catch (e) { console.log((e as Error).stack); }',
  ].join('\n');
  const r = await runCode({ code });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const stacks = r.stdout.split(/\n(?=\S)/);
  assert.is(stacks.length, 3, r.stdout);
  assert.match(stacks[0]!, /^ToolError: [^\n]*\n    at script\.ts:1:\d+$/);
  assert.match(stacks[1]!, /^FilesError: [^\n]*\n    at (async )?script\.ts:2:\d+$/);
  assert.match(stacks[2]!, /^NotCapable: [^\n]*\n    at (async )?script\.ts:3:\d+\n?$/);
});

bundle('guest-bundle :: the bundled binding\'s frames stay hidden from stacks the script prints', async () => {
  const api = await startFakeApi({ token: 'bundle-test-token' });
  try {
    const code = [
      'try { await apify.run.get({ runId: "missing-run" }); } catch (e) { console.log(e.stack); }',
      'console.log(typeof apify.actor.call, apify.ApifyApiError.name);',
    ].join('\n');
    const r = await runCode({ code, apiBaseUrl: api.url, token: 'bundle-test-token' });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.match(r.stdout, /^ApifyApiError: [^\n]*\n    at (async )?script\.ts:1:\d+\n/);
    assert.not.ok(/guest\/|binding|eval|ext:/.test(r.stdout), r.stdout);
    assert.match(r.stdout, /\nfunction ApifyApiError\n$/);
  } finally {
    await api.close();
  }
});

bundle.run();
