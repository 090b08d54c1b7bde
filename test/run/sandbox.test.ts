// The sandbox's command line, as a table: the one place that grants anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import path from 'node:path';
import { resolveDeno, resolveShell, resolveTool } from '../../orchestrator/run/deno.js';
import { dataLimitBytes, SHELL_NAME, sandboxCommand, wrapCommand, type SandboxSettings, type WrapperTools } from '../../orchestrator/run/sandbox.js';
import { scratchDir, startServer } from '../helpers/helpers.js';

const sandbox = suite('sandbox');

const base: SandboxSettings = {
  denoPath: '/opt/deno',
  bootstrapPath: '/app/guest/bootstrap.ts',
  denoDir: '/tmp/deno-dir',
  memoryMbytes: 64,
  relayHostPort: '127.0.0.1:40000',
};
const noWrappers: WrapperTools = { shellPath: null, capData: false, setprivPath: null };

function flag(args: string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

sandbox('sandbox :: the relay\'s address and port is the child\'s whole network, and nothing else is granted', () => {
  const { args } = sandboxCommand(base);
  assert.is(flag(args, '--allow-net'), '127.0.0.1:40000');
  // Nothing to deny: no name is resolved in the sandbox, so no name can be rebound to a private address.
  assert.is(flag(args, '--deny-net'), undefined);
  assert.not.ok(args.some((arg) => /^--allow-(read|write|env|run|ffi|sys|all|import)/.test(arg) || arg === '-A'));
});

sandbox('sandbox :: every discovery and fetch path is switched off', () => {
  const { args } = sandboxCommand(base);
  for (const off of ['--no-config', '--no-lock', '--no-remote', '--no-npm', '--no-prompt', '--no-code-cache']) {
    assert.ok(args.includes(off), `${off} missing`);
  }
  assert.is(args[0], 'run');
  assert.is(args.at(-1), '/app/guest/bootstrap.ts');
});

sandbox('sandbox :: the heap flag follows memoryMbytes', () => {
  assert.ok(sandboxCommand({ ...base, memoryMbytes: 300 }).args.includes('--v8-flags=--single-threaded,--max-old-space-size=300'));
});

sandbox('sandbox :: the environment is exactly the sandbox\'s own', () => {
  const { env } = sandboxCommand(base);
  assert.equal(env, { DENO_DIR: '/tmp/deno-dir', DENO_NO_UPDATE_CHECK: '1', DENO_NO_PACKAGE_JSON: '1', DENO_EMIT_CACHE_MODE: 'disable', NO_COLOR: '1', DENO_WEBGPU_BACKEND: 'none' });
});

sandbox('sandbox :: a real child reaches the relay, and no other port, address or name, not even one that resolves to it', async () => {
  const relay = await startServer('127.0.0.1', 'relay-reached');
  const other = await startServer('127.0.0.1', 'other-port');
  try {
    const { args } = sandboxCommand({ ...base, relayHostPort: `127.0.0.1:${relay.port}` });
    const probe = path.join(scratchDir('sandbox'), 'probe.ts');
    const tries = [
      `fetch('http://127.0.0.1:${relay.port}/').then((r) => r.text())`,
      // Deno reads the mapped form as 127.0.0.1: the same address and port, the relay.
      `fetch('http://[::ffff:127.0.0.1]:${relay.port}/').then((r) => r.text())`,
      `fetch('http://localhost:${relay.port}/')`,
      `fetch('http://127.0.0.1:${other.port}/')`,
      `fetch('http://127.0.0.2:${relay.port}/')`,
      `fetch('http://[::1]:${relay.port}/')`,
      `fetch('https://api.apify.com/v2/store')`,
      `Deno.connect({ hostname: '127.0.0.1', port: ${other.port} })`,
      `Deno.resolveDns('api.apify.com', 'A')`,
    ];
    writeFileSync(probe, tries.map((expr) => `try { console.log(String(await ${expr}).slice(0, 20)); } catch (e) { console.log(e.name); }`).join('\n'));
    // Not spawnSync: the servers answering the probe run in this process's event loop.
    const run = await execa(resolveDeno(), ['run', '--quiet', '--no-prompt', flag(args, '--allow-net') && `--allow-net=${flag(args, '--allow-net')}`, probe].filter(Boolean) as string[], { reject: false });
    assert.equal(run.stdout.split('\n'), ['relay-reached', 'relay-reached', ...Array(tries.length - 2).fill('NotCapable')], run.stderr);
    assert.is(other.connections, 0, 'another port was contacted');
  } finally {
    await relay.close();
    await other.close();
  }
});

sandbox('sandbox :: with a shell, the data segment is capped and SIGTRAP ignored, then Deno is exec\'d with its arguments as they are', () => {
  const { file, args } = wrapCommand(sandboxCommand(base), { ...noWrappers, shellPath: '/bin/sh', capData: true });
  assert.is(file, '/bin/sh');
  const bytes = dataLimitBytes(64);
  assert.is(bytes, (1100 + 128 + 128) * 1024 * 1024);
  // Its errors are signed with its own name, not Deno's path (`code-runtime-sandbox: 1: ulimit: …`).
  assert.equal(args.slice(0, 5), ['-c', `ulimit -d ${bytes / 1024} && trap '' TRAP && exec "$@"`, SHELL_NAME, '/opt/deno', 'run']);
  assert.is(args.at(-1), '/app/guest/bootstrap.ts');
  // Where RLIMIT_DATA does not cover every mapping (not Linux), only the signal is ignored.
  assert.is(wrapCommand(sandboxCommand(base), { ...noWrappers, shellPath: '/bin/sh' }).args[1], `trap '' TRAP && exec "$@"`);
});

sandbox('sandbox :: the command carries the data cap every way of starting it applies; bare, it is Deno itself', () => {
  const command = sandboxCommand({ ...base, memoryMbytes: 300 });
  assert.is(command.dataLimitBytes, dataLimitBytes(300));
  assert.is(command.file, '/opt/deno');
  // With no wrapper at hand, the command is started as it is.
  assert.equal(wrapCommand(command, noWrappers), { file: command.file, args: command.args, env: command.env });
});

sandbox('sandbox :: with setpriv, the child dies with the orchestrator, outermost', () => {
  const { file, args } = wrapCommand(sandboxCommand(base), { shellPath: '/bin/sh', capData: true, setprivPath: '/usr/bin/setpriv' });
  assert.is(file, '/usr/bin/setpriv');
  assert.equal(args.slice(0, 5), ['--pdeathsig', 'KILL', '--', '/bin/sh', '-c']);
  assert.equal(args.slice(6, 9), [SHELL_NAME, '/opt/deno', 'run']);
});

sandbox('sandbox :: the real wrappers hand Deno its limits: the data cap and SIGTRAP ignored (the death signal: runtime.test.ts)', () => {
  const shellPath = resolveShell();
  const setprivPath = resolveTool('setpriv');
  assert.ok(shellPath, '/bin/sh must know `ulimit -d` and `trap`');
  assert.ok(setprivPath, 'util-linux setpriv is needed');
  // `cat` stands in for Deno: what it reads of itself is what Deno would start with.
  const selfView = (file: string) => {
    const command = wrapCommand(sandboxCommand({ ...base, denoPath: '/bin/cat' }), { shellPath, capData: true, setprivPath });
    const wrappers = command.args.slice(0, command.args.indexOf('/bin/cat') + 1);
    const r = spawnSync(command.file, [...wrappers, file], { encoding: 'utf8', env: command.env });
    assert.is(r.status, 0, r.stderr);
    return r.stdout;
  };
  const status = selfView('/proc/self/status');
  const ignored = BigInt(`0x${status.match(/^SigIgn:\s*([0-9a-f]+)$/m)![1]}`);
  assert.ok(ignored & (1n << 4n), 'SIGTRAP (5) ignored');
  assert.match(selfView('/proc/self/limits'), new RegExp(`^Max data size\\s+${dataLimitBytes(64)}\\s+${dataLimitBytes(64)}\\s+bytes`, 'm'));
});

sandbox.run();
