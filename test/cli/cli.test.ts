// The command line, as a user runs it: real Node, real Deno, exit codes, --json, live streaming.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fixturePath, ROOT, scratchDir } from '../helpers/helpers.js';
import type { RunResult } from '../../types/result.js';
import { NUMBER_OPTIONS, RUN_OPTIONS, type NumberOption } from '../../orchestrator/run/option-table.js';
import { RUN_FLAGS } from '../../orchestrator/cli/flags.js';
import { SERVE_FLAGS, SERVE_ONLY_FLAGS } from '../../orchestrator/cli/serve.js';

const cli = suite('cli');
const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const scratch = scratchDir('cli');

function run(args: string[], input?: string) {
  return execa(process.execPath, [CLI, ...args], { reject: false, input: input ?? '', cwd: ROOT, stripFinalNewline: false });
}

function scriptFile(name: string, code: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, code);
  return file;
}

cli('cli :: streams the script\'s stdout and stderr and exits 0 on success', async () => {
  const r = await run([scriptFile('both.ts', 'console.log("out");\nconsole.error("err");')]);
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, 'out\n');
  assert.is(r.stderr, 'err\n');
});

cli('cli :: exits with the script\'s own exit code', async () => {
  const r = await run([fixturePath('exit-code.ts')]);
  assert.is(r.exitCode, 3);
  assert.is(r.stdout, 'exiting with 3\n');
  assert.match(r.stderr, /\[code-runtime\] FAILED: Script exited with code 3\n$/);
});

cli('cli :: a throw exits 1, with the error at the script\'s own file and line', async () => {
  const r = await run([fixturePath('throws.ts')]);
  assert.is(r.exitCode, 1);
  assert.is(r.stdout, 'before the throw\n');
  assert.match(r.stderr, /error: Uncaught Error: boom\n {4}at throws\.ts:4:7\n/);
  assert.match(r.stderr, /\[code-runtime\] FAILED: Script threw: Error: boom\n$/);
  assert.not.ok(r.stderr.includes('\0') || r.stderr.includes('code-runtime:'), 'the guest report reached the terminal');
});

cli('cli :: a timeout exits 124 within the limit', async () => {
  const child = run(['--timeout', '1', fixturePath('forever.ts')]);
  // Counted from the script's first output (its deadline started before it), not from Node's and Deno's start.
  const startedAt = await new Promise<number>((resolve) => {
    child.stdout!.once('data', () => resolve(Date.now()));
    child.once('exit', () => resolve(Date.now()));
  });
  const r = await child;
  assert.is(r.exitCode, 124);
  assert.is(r.stdout, 'started\n');
  assert.match(r.stderr, /TIMED-OUT: Timed out after 1 s/);
  assert.ok(Date.now() - startedAt < 5000, `ended ${Date.now() - startedAt} ms after the script started`);
});

cli('cli :: --json prints exactly one line, the result, and nothing streams', async () => {
  const r = await run(['--json', '--timeout', '2', '--memory', '64', fixturePath('throws.ts')]);
  assert.is(r.exitCode, 1);
  assert.is(r.stderr, '');
  const lines = r.stdout.split('\n');
  assert.is(lines.length, 2);
  assert.is(lines[1], '');
  const result = JSON.parse(lines[0]!) as RunResult;
  assert.is(result.status, 'FAILED');
  assert.is(result.stdout, 'before the throw\n');
  assert.is(result.statusMessage, 'Script threw: Error: boom');
  assert.equal(Object.keys(result).sort(), ['actorRuns', 'durationMillis', 'exitCode', 'files', 'requests', 'status', 'statusMessage', 'stderr', 'stderrBytes', 'stderrTruncated', 'stdout', 'stdoutBytes', 'stdoutTruncated', 'toolCalls']);
});

cli('cli :: - reads the script from stdin', async () => {
  const r = await run(['-'], 'console.log("from stdin", 6 * 7);');
  assert.is(r.exitCode, 0);
  assert.is(r.stdout, 'from stdin 42\n');
});

cli('cli :: output streams live, before the script ends', async () => {
  const child = execa(process.execPath, [CLI, scriptFile('slow.ts', 'console.log("first");\nawait new Promise((r) => setTimeout(r, 1500));\nconsole.log("second");')], { reject: false, stripFinalNewline: false });
  const firstAt = await new Promise<number>((resolve) => {
    child.stdout!.once('data', () => resolve(Date.now()));
  });
  const r = await child;
  const endedAt = Date.now();
  assert.is(r.stdout, 'first\nsecond\n');
  assert.ok(endedAt - firstAt >= 1000, `first output came ${endedAt - firstAt} ms before the end`);
});

cli('cli :: a reader that goes away (| head) stops the run: exit 141 as for SIGPIPE, no Node error', async () => {
  const script = scriptFile('ticks.ts', 'setInterval(() => console.log("tick"), 5);');
  const started = performance.now();
  // head exits after one line and closes the pipe; bash reports our exit code.
  const r = await execa('bash', ['-c', `"${process.execPath}" "${CLI}" --timeout 60 "${script}" | head -n 1; echo "\${PIPESTATUS[0]}"`], { reject: false, cwd: ROOT });
  assert.is(r.stdout, 'tick\n141', r.stderr);
  assert.is(r.stderr, '');
  assert.ok(performance.now() - started < 40_000, 'ended long before the 60 s timeout');
});

cli('cli :: output that cannot be written (a full disk) is one line and exit 1', async () => {
  const r = await execa('bash', ['-c', `"${process.execPath}" "${CLI}" "${fixturePath('hello.ts')}" > /dev/full`], { reject: false, cwd: ROOT });
  assert.is(r.exitCode, 1);
  assert.is(r.stderr, "code-runtime: cannot write the script's output: ENOSPC");
});

const usage: Array<[string, string[], RegExp]> = [
  ['a missing file', ['no-such-script.ts'], /^code-runtime: cannot read no-such-script\.ts: no such file\n$/],
  ['a directory', [ROOT], /^code-runtime: cannot read .*: it is a directory\n$/],
  ['an empty file', [scriptFile('empty.ts', '  \n')], /^code-runtime: .*empty\.ts is empty\n$/],
  ['a non-numeric timeout', ['--timeout', 'soon', fixturePath('hello.ts')], /^code-runtime: --timeout expects a number from 1 to 3,600, got "soon"\n$/],
  ['a timeout out of range', ['--timeout', '0', fixturePath('hello.ts')], /^code-runtime: --timeout expects a number from 1 to 3,600, got "0"\n$/],
  ['a forgotten timeout value', ['--timeout', fixturePath('hello.ts')], /^code-runtime: --timeout expects a number from 1 to 3,600, got ".*hello\.ts" \(did you forget the value\? e\.g\. --timeout 300 file\.ts\)\n$/],
  ['a negative timeout', ['--timeout=-1', fixturePath('hello.ts')], /^code-runtime: --timeout expects a number from 1 to 3,600, got "-1"\n$/],
  ['a negative timeout after a space', ['--timeout', '-1', fixturePath('hello.ts')], /^code-runtime: --timeout expects a number from 1 to 3,600, got "-1"\n$/],
  ['a timeout flag last', [fixturePath('hello.ts'), '--timeout'], /^code-runtime: --timeout needs a value: a number from 1 to 3,600, e\.g\. --timeout 300 file\.ts\n$/],
  ['too little memory', ['--memory', '8', fixturePath('hello.ts')], /^code-runtime: --memory expects an integer from 16 to 32,768, got "8"\n$/],
  ['fractional memory', ['--memory', '64.5', fixturePath('hello.ts')], /^code-runtime: --memory expects an integer from 16 to 32,768, got "64\.5"\n$/],
  ['a negative run budget', ['--max-total-charge-usd', '-0.5', fixturePath('hello.ts')], /^code-runtime: --max-total-charge-usd expects a number from 0 to 1,000,000, got "-0\.5"\n$/],
  ['an unknown flag', ['--fast', fixturePath('hello.ts')], /^code-runtime: unknown flag --fast; the flags are --timeout, --memory, --max-output, .*--json, --help, --version \(see --help\)/],
  ['no script', ['--json'], /^code-runtime: no script given: name a file, or - for stdin\n$/],
  ['serve: a grace out of range', ['serve', '--grace', '9999'], /^code-runtime: --grace expects an integer from 0 to 3,600, got "9999"\n$/],
  ['mcp: a concurrency that is not a number', ['mcp', '--concurrency', 'two'], /^code-runtime: --concurrency expects an integer from 1 to 256, got "two"\n$/],
  ['serve: a grace with no value', ['serve', '--grace'], /^code-runtime: --grace needs a value: an integer from 0 to 3,600\n$/],
  ['mcp: a negative grace', ['mcp', '--grace', '-1'], /^code-runtime: --grace expects an integer from 0 to 3,600, got "-1"\n$/],
  ['serve: a port out of range', ['serve', '--port', '70000'], /^code-runtime: --port expects an integer from 0 to 65,535, got "70000"\n$/],
  ['serve: an unknown flag', ['serve', '--fast'], /^code-runtime: unknown flag --fast for serve; see code-runtime serve --help\n$/],
  ['mcp: a flag of serve', ['mcp', '--port', '3000'], /^code-runtime: mcp speaks over stdin\/stdout: --port is for serve\n$/],
  ['help for no such command', ['help', 'bogus'], /^code-runtime: help takes one command name, one of mcp, serve; got bogus\n$/],
  ['two scripts', [fixturePath('hello.ts'), fixturePath('throws.ts')], /^code-runtime: one script at a time, got 2/],
];

for (const [name, args, pattern] of usage) {
  cli(`cli :: ${name} is one clear line and exit code 2`, async () => {
    const r = await run(args);
    assert.is(r.exitCode, 2);
    assert.is(r.stdout, '');
    assert.match(r.stderr, pattern);
  });
}

cli('cli :: an empty script on stdin is refused', async () => {
  const r = await run(['-'], '');
  assert.is(r.exitCode, 2);
  assert.is(r.stderr, 'code-runtime: the script on stdin is empty\n');
});

cli('cli :: --help lists every run flag with the option table\'s range and default, and exits 0', async () => {
  const r = await run(['--help']);
  assert.is(r.exitCode, 0);
  assert.is(r.stderr, '');
  assert.match(r.stdout, /--json/);
  assert.match(r.stdout, /--version/);
  assert.match(r.stdout, /--file NAME=PATH .*files\.read\(NAME\)/);
  assert.match(r.stdout, /--files-out DIR .*made when missing/);
  let flags = 0;
  for (const name of NUMBER_OPTIONS) {
    const spec: NumberOption = RUN_OPTIONS[name];
    if (!spec.flag) continue;
    flags += 1;
    const range = `${spec.min.toLocaleString('en-US')}–${spec.max.toLocaleString('en-US')}`;
    assert.ok(r.stdout.includes(`--${spec.flag.name} ${spec.flag.placeholder}`), `--${spec.flag.name} is listed`);
    assert.match(r.stdout, new RegExp(`--${spec.flag.name} .*\\(${range}; default`), `--${spec.flag.name} states its range`);
    if (spec.default !== undefined) assert.match(r.stdout, new RegExp(`--${spec.flag.name} .*default ${spec.default.toLocaleString('en-US')}\\)`));
  }
  assert.is(flags, 12);
});

cli('cli :: help, serve --help and mcp --help print to stdout, and their usage lines name every flag', async () => {
  const general = await run(['help']);
  assert.equal([general.exitCode, general.stderr], [0, '']);
  assert.is(general.stdout, (await run(['--help'])).stdout);
  for (const [, spec] of RUN_FLAGS) assert.ok(general.stdout.split('\n')[0]!.includes(`[--${spec.flag.name} ${spec.flag.placeholder}]`), `--${spec.flag.name} in the usage line`);
  const flags = Object.keys(SERVE_FLAGS).filter((flag) => flag !== 'help');
  for (const args of [['serve', '--help'], ['mcp', '--help'], ['help', 'serve'], ['help', 'mcp']]) {
    const r = await run(args);
    assert.equal([r.exitCode, r.stderr], [0, ''], args.join(' '));
    const [serveLine, mcpLine] = r.stdout.split('\n') as [string, string];
    for (const flag of flags) {
      assert.match(serveLine, new RegExp(`\\[--${flag} [A-Z]+\\]`), `serve's usage line names --${flag}`);
      assert.is(mcpLine.includes(`[--${flag} `), !(SERVE_ONLY_FLAGS as readonly string[]).includes(flag), `mcp's usage line and --${flag}`);
      assert.match(r.stdout, new RegExp(`\\n  --${flag} `), `--${flag} has its help line`);
    }
  }
});

cli('cli :: mcp writes only the protocol to stdout, and says once on stderr when APIFY_TOKEN is not set', async () => {
  for (const token of [undefined, 'apify_api_test-token']) {
    const env: NodeJS.ProcessEnv = { ...process.env, APIFY_TOKEN: token };
    if (token === undefined) delete env.APIFY_TOKEN;
    const child = spawn(process.execPath, [CLI, 'mcp'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const answered = new Promise<void>((resolve) => child.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.split('\n').length > 2) resolve();
    }));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'cli-test', version: '1' } } })}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
    child.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' })}\n`);
    await answered;
    child.stdin.end();
    assert.is(await exited, 0);
    const lines = stdout.trimEnd().split('\n');
    assert.equal(lines.map((line) => (JSON.parse(line) as { id: number }).id), [1, 2], 'every stdout line is a protocol message');
    const said = stderr.split('\n').filter((line) => line.includes('APIFY_TOKEN is not set')).length;
    assert.is(said, token === undefined ? 1 : 0, stderr);
  }
});

cli('cli :: --version prints package.json\'s version', async () => {
  const r = await run(['--version']);
  assert.is(r.exitCode, 0);
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  assert.is(r.stdout, `${pkg.version}\n`);
});

cli('cli :: the budget flags reach the run: --max-actor-runs 0 refuses a start', async () => {
  const code = 'try { await apify.actor.start({ actorId: "a/b" }); } catch (e) { console.log(String(e.message)); }';
  // A closed loopback port as the API: nothing may leave the machine even if the budget failed.
  const r = await execa(process.execPath, [CLI, '--max-actor-runs', '0', scriptFile('start.ts', code)], {
    reject: false, env: { APIFY_API_BASE_URL: 'http://127.0.0.1:9', APIFY_TOKEN: 'test-token' },
  });
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /403 budget-exceeded: maxActorRuns limit of 0 reached/);
});

cli('cli :: a script file named like a subcommand runs as ./name', async () => {
  for (const name of ['mcp', 'serve', 'help']) {
    scriptFile(name, `console.log("ran ${name}")`);
    const r = await execa(process.execPath, [CLI, `./${name}`], { reject: false, cwd: scratch });
    assert.is(r.exitCode, 0, r.stderr);
    assert.is(r.stdout, `ran ${name}`);
  }
});

cli('cli :: `npm start --silent -- --json --timeout 2 --memory 64 file.ts` works exactly like that', async () => {
  const r = await execa('npm', ['start', '--silent', '--', '--json', '--timeout', '2', '--memory', '64', fixturePath('hello.ts')], { cwd: ROOT, reject: false });
  assert.is(r.exitCode, 0, r.stderr);
  const lines = r.stdout.split('\n');
  assert.is(lines.length, 1);
  const result = JSON.parse(lines[0]!) as RunResult;
  assert.is(result.status, 'SUCCEEDED');
  assert.is(result.stdout, 'hello from the sandbox\n');
});

cli.run();
