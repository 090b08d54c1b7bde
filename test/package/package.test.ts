// The npm package as a consumer gets it: `npm pack` (whose prepare/prepack build what ships) makes a
// tarball with the compiled library, its types, the guest (bundled, and its sources), README and docs and nothing else; a new
// project installs it, imports it (and type-checks that under nodenext), and runs scripts with
// `npx code-runtime`. Offline: the consumer's lockfile is the project's production part of
// package-lock.json, so `npm ci --offline` takes every dependency from the npm cache `npm ci` filled.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixturePath, ROOT, scratchDir } from '../helpers/helpers.js';

const pack = suite('package');

type Json = Record<string, any>;
const project = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Json;
const work = scratchDir('package');
const consumer = path.join(work, 'consumer');
let tarball = '';

pack.after(() => {
  rmSync(work, { recursive: true, force: true });
});

/** The consumer's lockfile: the tarball, plus every production package of the project's own lock. */
function consumerLock(spec: string): Json {
  const lock = JSON.parse(readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as Json;
  const packages: Json = {
    '': { name: 'consumer', dependencies: { 'code-runtime': spec } },
    'node_modules/code-runtime': {
      version: project.version, resolved: spec, dependencies: project.dependencies, engines: project.engines, bin: project.bin,
      peerDependencies: project.peerDependencies, peerDependenciesMeta: project.peerDependenciesMeta,
    },
  };
  for (const [key, entry] of Object.entries(lock.packages as Json)) {
    // The package's dependencies sit where they sit in the project: hoisted at node_modules/.
    if (key !== '' && !entry.dev) packages[key] = entry;
  }
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

pack('package :: npm pack ships the build, its types, guest/, types/, README and docs, and nothing else', async () => {
  const manifest = readFileSync(path.join(ROOT, 'package.json'));
  const r = await execa('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  assert.ok(readFileSync(path.join(ROOT, 'package.json')).equals(manifest), 'the repository\'s package.json is as it was');
  const [info] = JSON.parse(r.stdout.slice(r.stdout.indexOf('['))) as Json[];
  tarball = path.join(work, info!.filename as string);
  const files = (info!.files as Json[]).map((file) => file.path as string).sort();
  for (const needed of [
    'package.json', 'README.md', 'docs/API.md', 'guest/bootstrap.ts', 'types/apify.d.ts',
    'dist/orchestrator/index.js', 'dist/orchestrator/index.d.ts', 'dist/orchestrator/bin/code-runtime.js',
    'dist/orchestrator/bin/actor.js', 'dist/orchestrator/run/spawner.pl', 'dist/guest/bootstrap.js', 'dist/guest/guest.json', 'dist/types/result.d.ts', 'dist/types/options.d.ts', 'dist/types/runtime.d.ts',
  ]) assert.ok(files.includes(needed), `${needed} is in the tarball`);
  const stray = files.filter((file) => !/^(dist\/(orchestrator|types)\/.*\.(js|d\.ts)|dist\/orchestrator\/run\/spawner\.pl|dist\/guest\/(bootstrap\.js|guest\.json)|guest\/(realm\/)?[\w-]+\.ts|types\/[\w.]+\.ts|docs\/[\w.-]+\.md|README\.md|package\.json)$/.test(file));
  assert.equal(stray, [], 'nothing else: no tests, bench, sourcemaps, scripts or .actor');
  // No lifecycle script (they need scripts/, which does not ship) for an embedder to approve; the
  // Apify SDK is the Actor's alone: an optional peer, never installed with the package.
  const shipped = JSON.parse((await execa('tar', ['-xzOf', tarball, 'package/package.json'])).stdout) as Json;
  assert.is(shipped.scripts, undefined, `no scripts: ${JSON.stringify(shipped.scripts)}`);
  assert.is(shipped.devDependencies, undefined);
  assert.is(shipped.dependencies.apify, undefined);
  assert.equal(shipped.peerDependenciesMeta, { apify: { optional: true } });
  assert.equal({ ...shipped, scripts: project.scripts, devDependencies: project.devDependencies }, project, 'nothing else differs');
  // Every compiled module has its source in the tree: nothing stale from an older layout ships.
  for (const file of files.filter((f) => f.startsWith('dist/orchestrator/') && f.endsWith('.js'))) {
    const source = path.join(ROOT, file.slice('dist/'.length).replace(/\.js$/, '.ts'));
    assert.ok(readFileSync(source, 'utf8').length > 0, `${file} has a source`);
  }
});

pack('package :: a new project installs the tarball offline, imports it and type-checks it under nodenext', async () => {
  assert.ok(tarball, 'packed');
  mkdirSync(consumer);
  const spec = `file:${path.relative(consumer, tarball)}`;
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { 'code-runtime': spec } }));
  writeFileSync(path.join(consumer, 'package-lock.json'), JSON.stringify(consumerLock(spec)));
  const install = await execa('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: consumer, reject: false, all: true });
  assert.is(install.exitCode, 0, `npm ci --offline (the npm cache must hold the dependencies, as after \`npm ci\`): ${install.all}`);
  assert.not.ok(existsSync(path.join(consumer, 'node_modules', 'apify')), 'the Apify SDK is not installed for the library');

  const uses = `import { createRuntime, EXIT_CODES, LIMITS, RUNTIME_LIMITS, runCode } from 'code-runtime';
import type { RunOptions, RunResult, Runtime } from 'code-runtime';
import * as everything from 'code-runtime';
const options: RunOptions = { code: 'console.log(6 * 7)', timeoutSecs: LIMITS.timeoutSecs.default };
const result: RunResult = await runCode(options);
const runtime: Runtime = createRuntime({ concurrency: 1, warmProcesses: 0 });
const second = await runtime.run({ code: 'console.error("e"); Deno.exit(3)' });
await runtime.close();
console.log(JSON.stringify({ exports: Object.keys(everything).sort(), result, second, ok: EXIT_CODES, max: RUNTIME_LIMITS.concurrency.max }));
`;
  writeFileSync(path.join(consumer, 'main.ts'), uses);
  // The same program with its types erased, for Node to run.
  writeFileSync(path.join(consumer, 'main.mjs'), uses.replace(/^import type .*\n/m, '').replace(/: (RunOptions|RunResult|Runtime) =/g, ' ='));
  // A sandbox script, typed by the package's `apify` declarations.
  writeFileSync(path.join(consumer, 'script.ts'), `/// <reference types="code-runtime/types/apify" />
import type { StoreActor } from 'code-runtime/types/apify';
const found: StoreActor[] = await apify.actor.search({ query: 'x', limit: 1 });
console.log(found.length);
export {};
`);
  writeFileSync(path.join(consumer, 'wrong.ts'), `import { LIMITS, normalizeOptions } from 'code-runtime';
const n: number = String(LIMITS.timeoutSecs.max);
console.log(normalizeOptions, n);
`);
  // One check over all three files (skipLibCheck: the package's .d.ts are tsc's own output).
  writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true,
      types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    },
    files: ['main.ts', 'script.ts', 'wrong.ts'],
  }));
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const [checked, ran] = await Promise.all([
    execa(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: consumer, reject: false, all: true }),
    execa(process.execPath, ['main.mjs'], { cwd: consumer, reject: false, all: true }),
  ]);
  // main.ts and script.ts type-check; wrong.ts's internal import and type mistake are reported.
  const errors = (checked.all ?? '').split('\n').filter((line) => /error TS/.test(line));
  assert.is(errors.length, 2, checked.all);
  assert.match(errors[0]!, /^wrong\.ts\(1,\d+\): error TS2305: Module '"code-runtime"' has no exported member 'normalizeOptions'/);
  assert.match(errors[1]!, /^wrong\.ts\(2,7\): error TS2322: Type 'string' is not assignable to type 'number'/);

  assert.is(ran.exitCode, 0, ran.all);
  const out = JSON.parse(ran.stdout) as Json;
  assert.equal(out.exports, ['ConfigError', 'EXIT_CODES', 'LIMITS', 'RUNTIME_LIMITS', 'createRuntime', 'createServer', 'runCode', 'serveStdio', 'toolResult'], 'the root exports only public API');
  assert.is(out.result.status, 'SUCCEEDED');
  assert.is(out.result.stdout, '42\n');
  assert.is(out.second.exitCode, 3);
  assert.is(out.second.stderr, 'e\n');
});

pack('package :: npx code-runtime runs a file, --help and --version through the bin symlink, with npm start\'s exit codes', async () => {
  const npx = (args: string[]) => execa('npx', ['--offline', '--no-install', 'code-runtime', ...args], { cwd: consumer, reject: false });
  const [hello, failing, help, version, usage] = await Promise.all([
    npx([fixturePath('hello.ts')]), npx([fixturePath('exit-code.ts')]), npx(['--help']), npx(['--version']), npx(['--timeout', fixturePath('hello.ts')]),
  ]);
  assert.is(hello.exitCode, 0, hello.stderr);
  assert.is(hello.stdout, 'hello from the sandbox');
  assert.is(failing.exitCode, 3);
  assert.is(help.exitCode, 0);
  assert.match(help.stdout, /^Usage: code-runtime /);
  assert.is(version.stdout, project.version);
  assert.is(usage.exitCode, 2);
  assert.match(usage.stderr, /^code-runtime: --timeout expects a number from 1 to 3,600, got ".*hello\.ts"/);
  // With no arguments it runs the Actor, which needs the SDK this install does not have: the fix is named.
  const actor = await npx([]);
  assert.is(actor.exitCode, 70, actor.stderr);
  assert.match(actor.stderr, /^code-runtime: the Actor needs the Apify SDK, the optional peer dependency `apify`, which is not installed: run `npm install apify@\^3\.\d+\.\d+`/);
  const viaNpmStart = await execa('npm', ['start', '--silent', '--', fixturePath('exit-code.ts')], { cwd: ROOT, reject: false });
  assert.is(viaNpmStart.exitCode, failing.exitCode, 'the same exit code as npm start');
});

pack.run();
