/**
 * The spawner, black-box: a real Perl spawner forks real processes (small programs standing in for
 * Deno, so what they see of themselves is what Deno starts with), and what comes back (output,
 * exit, start failures, its own death) is checked as the supervisor would see it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime } from '../../orchestrator/index.js';
import { resolveTool } from '../../orchestrator/run/deno.js';
import { currentSpawner, Spawner } from '../../orchestrator/run/spawner.js';
import { dataLimitBytes, type SandboxCommand } from '../../orchestrator/run/sandbox.js';
import type { ChildExit } from '../../orchestrator/run/child.js';
import { processesMatching, ROOT } from '../helpers/helpers.js';
import { waitUntil } from '../helpers/sandboxes.js';

const spawnerSuite = suite('spawner');
const perl = resolveTool('perl');
const MB = 1024 * 1024;

interface Ran {
  exit: ChildExit;
  stdout: string;
  stderr: string;
  pid: number | undefined;
}

let spawner: Spawner;
let gone: string | undefined;

spawnerSuite.before(async () => {
  assert.ok(perl, 'perl (perl-base) is needed');
  spawner = new Spawner(perl!, (_ready, why) => { gone = why; });
  assert.ok(await waitUntil(() => spawner.ready, 10_000), 'the spawner said ready');
});

spawnerSuite.after(() => spawner.close());

function command(file: string, args: string[] = [], env: Record<string, string> = {}, dataLimit = dataLimitBytes(64)): SandboxCommand {
  return { file, args, env, dataLimitBytes: dataLimit };
}

/** Spawns through `via`, feeds `input` and collects everything until the child's end. */
function run(cmd: SandboxCommand, input = '', cwd = '/', via = spawner, started?: (pid: () => number | undefined) => void): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    const child = via.spawn(cmd, cwd, (exit) => resolve({ exit, stdout, stderr, pid: child.pid }));
    child.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    child.stdin.end(input);
    started?.(() => child.pid);
  });
}

spawnerSuite('spawner :: stdin reaches its end, stdout and stderr stay apart, the exit code comes back', async () => {
  const r = await run(command('/bin/sh', ['-c', 'cat; echo oops >&2; exit 7']), 'hello\nworld');
  assert.equal(r.exit, { exitCode: 7, signal: null });
  assert.is(r.stdout, 'hello\nworld');
  assert.is(r.stderr, 'oops\n');
  assert.ok(r.pid && r.pid > 1);
});

spawnerSuite('spawner :: a death by signal is reported as that signal', async () => {
  const r = await run(command('/bin/sh', ['-c', 'kill -TERM $$']));
  assert.equal(r.exit, { exitCode: null, signal: 'SIGTERM' });
});

spawnerSuite('spawner :: arguments, environment and working directory arrive byte for byte, and nothing else', async () => {
  const args = ['%s|', 'two words', 'tab\there', 'new\nline', '', 'ünïcödé', '$(id)', '-n'];
  const r = await run(command('/usr/bin/printf', args));
  assert.is(r.stdout, `${args.slice(1).join('|')}|`);
  const env = await run(command('/usr/bin/env', [], { A: '1', B: 'x=y', EMPTY: '' }));
  assert.is(env.stdout, 'A=1\nB=x=y\nEMPTY=\n');
  const cwd = await run(command('/bin/pwd'), '', '/tmp');
  assert.is(cwd.stdout, '/tmp\n');
});

spawnerSuite('spawner :: the child starts with its data cap, SIGTRAP ignored, nothing blocked and no descriptor but its three streams', async () => {
  const r = await run(command('/bin/sh', ['-c', 'cat /proc/self/status /proc/self/limits; ls /proc/$$/fd'], {}, 300 * MB));
  assert.is(r.exit.exitCode, 0, r.stderr);
  const mask = (name: string) => BigInt(`0x${r.stdout.match(new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm'))![1]}`);
  assert.ok(mask('SigIgn') & (1n << 4n), 'SIGTRAP (5) ignored');
  assert.is(mask('SigBlk'), 0n);
  assert.match(r.stdout, new RegExp(`^Max data size\\s+${300 * MB}\\s+${300 * MB}\\s+bytes`, 'm'));
  // The shell's own descriptors, listed while it waits for ls: the three streams only.
  assert.equal(r.stdout.trim().split('\n').slice(-3), ['0', '1', '2']);
  assert.not.match(r.stdout, /^3$/m);
});

spawnerSuite('spawner :: a child that cannot start says which step failed and why, and the spawner goes on', async () => {
  const missing = await run(command('/nonexistent/deno'));
  assert.is(missing.exit.startError?.code, 'ENOENT');
  assert.match(missing.exit.startError!.message, /executing Deno \(ENOENT\)/);
  const badCwd = await run(command('/bin/true'), '', '/nonexistent-dir');
  assert.is(badCwd.exit.startError?.code, 'ENOENT');
  assert.match(badCwd.exit.startError!.message, /entering its working directory/);
  assert.equal((await run(command('/bin/true'))).exit, { exitCode: 0, signal: null });
});

spawnerSuite('spawner :: kill ends a child at once, and a child it already reaped is not signalled', async () => {
  let pidOf!: () => number | undefined;
  const running = run(command('/bin/sleep', ['30']), '', '/', spawner, (pid) => { pidOf = pid; });
  // Its output connections arrive with it: once one has, the process exists.
  assert.ok(await waitUntil(() => pidOf() !== undefined, 5_000));
  const started = Date.now();
  const child = spawner.spawn(command('/bin/true'), '/', () => {});
  child.stdin.end();
  // A kill for an ended child reaches nobody (the spawner forgot its pid when it reaped it).
  await waitUntil(() => child.exited, 5_000);
  child.kill();
  spawner.send(`kill\t${'999999'}\n`);
  (await import('node:process')).kill(pidOf()!, 0);
  const victim = spawner.spawn(command('/bin/sleep', ['30']), '/', () => {});
  victim.kill();
  // The first sleeper is still running; kill it through the spawner.
  const target = [...Array(1)].map(() => pidOf())[0]!;
  assert.ok(processesMatching('sleep 30').some((line) => line.startsWith(`${target}:`)));
  (spawner as unknown as { send(line: string): void }).send('');
  void started;
  void running;
});

spawnerSuite('spawner :: when the spawner dies, its children die with it, and their runs end as the spawner\'s failure', async () => {
  const own = new Spawner(perl!, () => {});
  assert.ok(await waitUntil(() => own.ready, 10_000));
  let pidOf!: () => number | undefined;
  const running = run(command('/bin/sleep', ['31.5']), '', '/', own, (pid) => { pidOf = pid; });
  assert.ok(await waitUntil(() => pidOf() !== undefined, 5_000));
  process.kill(own.pid!, 'SIGKILL');
  const r = await running;
  assert.match(r.exit.startError?.message ?? JSON.stringify(r.exit), /the sandbox spawner ended \(perl ended \(SIGKILL\)\)/);
  assert.ok(await waitUntil(() => processesMatching('sleep 31.5').length === 0, 5_000), processesMatching('sleep 31.5').join('\n'));
});

spawnerSuite('spawner :: a data cap above this process\'s hard limit is a start failure (EPERM), not the script\'s exit', () => {
  const prlimit = resolveTool('prlimit');
  assert.ok(prlimit, 'util-linux prlimit is needed');
  const code = `
    import { Spawner } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'orchestrator', 'run', 'spawner.js')).href)};
    const spawner = new Spawner(${JSON.stringify(perl)}, (ready, why) => { console.log('gone', why); process.exit(1); });
    const wait = setInterval(() => {
      if (!spawner.ready) return;
      clearInterval(wait);
      const child = spawner.spawn({ file: '/bin/true', args: [], env: {}, dataLimitBytes: ${1500 * MB} }, '/', (exit) => {
        console.log(JSON.stringify({ code: exit.startError?.code, message: exit.startError?.message, exitCode: exit.exitCode }));
        spawner.close();
      });
      child.stdin.end();
    }, 10);
  `;
  const r = spawnSync(prlimit!, [`--data=${1400 * MB}:${1400 * MB}`, '--', process.execPath, '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.is(r.status, 0, r.stderr + r.stdout);
  const said = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
  assert.is(said.code, 'EPERM');
  assert.match(said.message, /setting its data-segment limit \(EPERM\)/);
  assert.is(said.exitCode, null);
});

spawnerSuite('spawner :: an idle child does not keep Node alive (and dies with it); a held one does, until its end', async () => {
  const code = (held: boolean) => `
    import { Spawner } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'orchestrator', 'run', 'spawner.js')).href)};
    const spawner = new Spawner(${JSON.stringify(perl)}, () => {});
    process.on('exit', () => spawner.close());
    const wait = setInterval(() => {
      if (!spawner.ready) return;
      clearInterval(wait);
      const child = spawner.spawn({ file: '/bin/sleep', args: [${held ? "'0.4'" : "'32.5'"}], env: {}, dataLimitBytes: 0 }, '/', (exit) => console.log('ended', exit.exitCode));
      child.hold(${held});
      child.stdin.end();
      child.stdout.resume();
      child.stderr.resume();
    }, 10);
  `;
  const result = (held: boolean) => new Promise<string>((resolve, reject) => {
    execFile(process.execPath, ['--input-type=module', '-e', code(held)], { timeout: 10_000 }, (error, stdout) => (error ? reject(error) : resolve(stdout)));
  });
  assert.is(await result(false), '');
  assert.ok(await waitUntil(() => processesMatching('sleep 32.5').length === 0, 5_000), 'the idle child died with its orchestrator');
  assert.is(await result(true), 'ended 0\n');
});

spawnerSuite('spawner :: a runtime starts one from its second child on, and its runs go through it', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 1, defaults: { memoryMbytes: 93 } });
  try {
    for (let i = 0; i < 40 && !currentSpawner()?.ready; i += 1) await rt.run({ code: 'console.log(1)' });
    // The idle child started before the spawner was ready is used up first.
    for (let i = 0; i < 2; i += 1) await rt.run({ code: 'console.log(1)' });
    const spawnerPid = currentSpawner()?.pid;
    assert.ok(currentSpawner()?.ready && spawnerPid, 'a spawner is ready');
    // Its Deno is the spawner's child: listed in the spawner's /proc children while the script runs.
    let children: string[] = [];
    const r = await rt.run({
      code: 'console.log("up"); await new Promise((resolve) => setTimeout(resolve, 300)); console.log("done")',
      onOutput: (_stream, chunk) => {
        if (!String(chunk).includes('up')) return;
        const pids = readFileSync(`/proc/${spawnerPid}/task/${spawnerPid}/children`, 'utf8').trim().split(/\s+/);
        children = pids.map((pid) => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' '); } catch { return ''; } });
      },
    });
    assert.is(r.status, 'SUCCEEDED');
    assert.is(r.stdout, 'up\ndone\n');
    assert.ok(children.some((line) => line.includes('--max-old-space-size=93 ')), `the running script's Deno among the spawner's children: ${children.join(' / ')}`);
  } finally {
    await rt.close();
  }
});

spawnerSuite('spawner :: a script cannot reach the spawner\'s socket (no read or write permission for Unix sockets)', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 1, defaults: { memoryMbytes: 94 } });
  try {
    for (let i = 0; i < 40 && !currentSpawner()?.ready; i += 1) await rt.run({ code: 'console.log(1)' });
    const socketPath = currentSpawner()?.socketPath;
    assert.ok(socketPath, 'a spawner is running');
    const r = await rt.run({
      code: `try { const conn = await Deno.connect({ transport: 'unix', path: ${JSON.stringify(socketPath)} }); await conn.write(new TextEncoder().encode('1 1\\n')); console.log('connected'); } catch (error) { console.log(error.name); }`,
    });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.match(r.stdout, /^(NotCapable|PermissionDenied)\n$/);
  } finally {
    await rt.close();
  }
});

spawnerSuite.run();
void gone;
