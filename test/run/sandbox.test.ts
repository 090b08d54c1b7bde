// The sandbox's command line, as a table: the one place that grants anything.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { execa } from 'execa';
import path from 'node:path';
import { resolveDeno, resolveShell, resolveTool } from '../../orchestrator/run/deno.js';
import { dataLimitBytes, hostPort, SHELL_NAME, sandboxCommand, wrapCommand, type SandboxSettings, type WrapperTools } from '../../orchestrator/run/sandbox.js';
import { fixturePath, scratchDir, startServer } from '../helpers/helpers.js';

const sandbox = suite('sandbox');

const base: SandboxSettings = {
  denoPath: '/opt/deno',
  bootstrapPath: '/app/guest/bootstrap.ts',
  denoDir: '/tmp/deno-dir',
  memoryMbytes: 64,
  apiBaseUrl: new URL('https://api.apify.com'),
  relayHostPort: '127.0.0.1:40000',
};
const noWrappers: WrapperTools = { shellPath: null, capData: false, setprivPath: null };

function flag(args: string[], name: string): string | undefined {
  return args.find((arg) => arg.startsWith(`${name}=`))?.slice(name.length + 1);
}

sandbox('sandbox :: only the API host:port and the relay are allowed', () => {
  const { args } = sandboxCommand(base);
  assert.is(flag(args, '--allow-net'), 'api.apify.com:443,127.0.0.1:40000');
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

sandbox('sandbox :: an API hostname may not resolve to private or loopback addresses', () => {
  const deny = flag(sandboxCommand(base).args, '--deny-net')!.split(',');
  for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '127.0.0.0/32', '127.0.0.2/31', '127.128.0.0/9', '127.0.0.1:443',
    '100.64.0.0/10', '198.18.0.0/15', '224.0.0.0/4', '240.0.0.0/4', '[::]', '[::1]', '[fd00:ec2::254]', '[::ffff:169.254.169.254]']) {
    assert.ok(deny.includes(range), `${range} not denied`);
  }
  // The relay's own address stays reachable.
  assert.not.ok(deny.some((range) => range === '127.0.0.1' || range === '127.0.0.0/8' || range === '127.0.0.1:40000'));
});

sandbox('sandbox :: Deno takes the whole deny list, but no IPv6 range (so the IPv6 gap is documented, not closed)', () => {
  const deny = flag(sandboxCommand(base).args, '--deny-net')!;
  const run = (denyNet: string) => spawnSync(resolveDeno(), ['run', '--quiet', '--no-prompt', `--deny-net=${denyNet}`, fixturePath('hello.ts')], { encoding: 'utf8' });
  const accepted = run(deny);
  assert.is(accepted.stdout, 'hello from the sandbox\n', accepted.stderr);
  // When this starts passing, Deno takes IPv6 ranges: deny fc00::/7 and fe80::/10 in sandbox.ts and drop this test.
  const ranges = run('fc00::/7');
  assert.is.not(ranges.status, 0);
  assert.match(ranges.stderr, /Bad host:port pair: fc00::\/7/);
});

sandbox('sandbox :: with an API hostname, the child still reaches the relay, and mapped loopback only there', async () => {
  const server = await startServer('127.0.0.1', 'relay-reached');
  try {
    const deny = flag(sandboxCommand({ ...base, relayHostPort: `127.0.0.1:${server.port}` }).args, '--deny-net')!;
    const probe = path.join(scratchDir('sandbox'), 'probe.ts');
    writeFileSync(probe, ['http://127.0.0.1', 'http://[::ffff:127.0.0.1]'].map((origin) => `try { console.log(await (await fetch('${origin}:${server.port}/')).text()); } catch (e) { console.log(String(e.cause ?? e).slice(0, 60)); }`).join('\n')
      + "\ntry { await fetch('http://[::ffff:7f00:1]:443/'); } catch (e) { console.log(String(e.cause ?? e).includes('Requires net access') ? 'mapped loopback denied' : String(e)); }");
    // Not spawnSync: the server answering the probe runs in this process's event loop.
    const run = await execa(resolveDeno(), ['run', '--quiet', '--no-prompt', `--allow-net=api.apify.com:443,127.0.0.1:${server.port}`, `--deny-net=${deny}`, probe], { reject: false });
    assert.is(run.stdout, 'relay-reached\nrelay-reached\nmapped loopback denied', run.stderr);
  } finally {
    await server.close();
  }
});

sandbox('sandbox :: the loopback split covers all of 127/8 except 127.0.0.1', () => {
  const deny = flag(sandboxCommand(base).args, '--deny-net')!.split(',').filter((r) => r.startsWith('127.') && r.includes('/'));
  const covered = deny.reduce((sum, range) => sum + 2 ** (32 - Number(range.split('/')[1])), 0);
  assert.is(covered, 2 ** 24 - 1);
});

for (const api of ['http://127.0.0.1:8080', 'http://localhost:3000', 'http://[::1]:9000']) {
  sandbox(`sandbox :: a literal local API (${api}) is allowed as given, with no deny list`, () => {
    const { args } = sandboxCommand({ ...base, apiBaseUrl: new URL(api) });
    assert.is(flag(args, '--allow-net'), `${hostPort(new URL(api))},127.0.0.1:40000`);
    assert.is(flag(args, '--deny-net'), undefined);
  });
}

sandbox('sandbox :: default ports are spelled out', () => {
  assert.is(hostPort(new URL('https://api.apify.com')), 'api.apify.com:443');
  assert.is(hostPort(new URL('http://gateway.local')), 'gateway.local:80');
  assert.is(hostPort(new URL('http://127.0.0.1:8080')), '127.0.0.1:8080');
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
