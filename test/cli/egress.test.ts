// Egress through the front doors an operator uses: the CLI's `--config FILE` and `--allow-host
// ORIGIN`, and `code-runtime mcp --config` with the SDK's own Client calling run_code; the
// origins are loopback servers, and the secret comes from the orchestrator's environment.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, scratchDir } from '../helpers/helpers.js';
import { encodedForms, startOrigin, type Origin } from '../helpers/origins.js';
import type { RunResult } from '../../types/result.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';

const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const SECRET = 'sk_CLIsecret0123456789abcdefXYZ';
const scratch = scratchDir('cli-egress');

interface Context {
  a: Origin;
  b: Origin;
  config: string;
}

const cli = suite<Context>('cli egress', {} as Context);

cli.before(async (ctx) => {
  [ctx.a, ctx.b] = await Promise.all([startOrigin(), startOrigin()]);
  ctx.config = path.join(scratch, 'config.json');
  writeFileSync(ctx.config, JSON.stringify({ egress: { [ctx.a.url]: { headers: { 'X-Api-Key': '${CLI_EGRESS_KEY}' } } } }));
});
cli.after(async (ctx) => {
  await Promise.all([ctx.a.close(), ctx.b.close()]);
});

function run(args: string[], input = '') {
  return execa(process.execPath, [CLI, ...args], { reject: false, input, cwd: ROOT, env: { CLI_EGRESS_KEY: SECRET } });
}

const script = (urls: string[]) => urls.map((url) => `try { const r = await fetch('${url}'); console.log(r.status, JSON.stringify(await r.json())); } catch (e) { console.log(e.name, e.message); }`).join('\n');

cli('cli egress :: --config adds the file\'s origins and headers, --allow-host adds an origin, and the result lists the requests', async ({ a, b, config }) => {
  const r = await run(['--json', '--config', config, '--allow-host', b.url, '-'], script([`${a.url}/echo`, `${b.url}/echo`, 'http://127.0.0.3:9/']));
  assert.is(r.exitCode, 0, r.stderr);
  const result = JSON.parse(r.stdout) as RunResult;
  const out = result.stdout.trimEnd().split('\n');
  assert.match(out[0]!, /^200 .*\[token redacted\]/);
  assert.match(out[1]!, /^200 /);
  assert.is(out[2], `NotCapable network access to 127.0.0.3:9 is not allowed in this sandbox; allowed: ${a.url}, ${b.url}, https://api.apify.com`);
  assert.is(a.seen.at(-1)?.headers['x-api-key'], SECRET);
  assert.is(b.seen.at(-1)?.headers['x-api-key'], undefined, 'the header went to its own origin only');
  for (const form of encodedForms(SECRET)) assert.not.ok(r.stdout.includes(form), `${form} reached the output`);
  assert.equal(result.requests.map(({ origin, status }) => `${origin} ${status}`), [`${a.url} 200`, `${b.url} 200`]);
});

cli('cli egress :: a bad --allow-host or --config is a usage error naming the flag and what is allowed', async ({ config }) => {
  const bad = await run(['--allow-host', 'ftp://x.com', '-'], 'console.log(1)');
  assert.is(bad.exitCode, 2);
  assert.match(bad.stderr, /--allow-host "ftp:\/\/x\.com" must be an http\(s\) origin such as https:\/\/api\.github\.com/);
  const missing = await run(['--config', path.join(scratch, 'nope.json'), '-'], 'console.log(1)');
  assert.is(missing.exitCode, 2);
  assert.match(missing.stderr, /--config: cannot read the configuration .*nope\.json: no such file/);
  const wrong = path.join(scratch, 'wrong.json');
  writeFileSync(wrong, JSON.stringify({ egress: { 'https://x.com': { headers: { Connection: 'x' } } } }));
  const refused = await run(['--config', wrong, '-'], 'console.log(1)');
  assert.is(refused.exitCode, 2);
  assert.match(refused.stderr, /in .*wrong\.json: `egress\["https:\/\/x\.com"\]\.headers\.Connection` is set by the relay itself/);
  // Without the variable the file names, it says which one.
  const unset = await execa(process.execPath, [CLI, '--config', config, '-'], { reject: false, input: 'console.log(1)', cwd: ROOT, env: {} });
  assert.is(unset.exitCode, 2);
  assert.match(unset.stderr, /uses \$\{CLI_EGRESS_KEY\}, which is not set in the orchestrator's environment/);
  const help = await run(['--help']);
  assert.match(help.stdout, /--allow-host ORIGIN/);
  assert.match(help.stdout, /--config FILE/);
});

cli('cli egress :: code-runtime mcp --config: run_code\'s script reaches the origin with the header, and the answer lists the request', async ({ a, config }) => {
  // A client that asks for answers as structuredContent, where the result's `requests` are.
  const client = new Client({ name: 'egress-test', version: '1' }, { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--config', config], env: { CLI_EGRESS_KEY: SECRET, PATH: process.env.PATH ?? '' }, stderr: 'pipe' }));
  try {
    const answer = await client.callTool({ name: 'run_code', arguments: { code: script([`${a.url}/echo?via=mcp`]) } });
    const structured = answer.structuredContent as { status: string; stdout: string; requests?: Array<{ origin: string; status: number }> };
    assert.is(structured.status, 'SUCCEEDED', JSON.stringify(answer));
    assert.match(structured.stdout, /^200 .*\[token redacted\]/);
    assert.equal(structured.requests?.map(({ origin, status }) => `${origin} ${status}`), [`${a.url} 200`]);
    assert.is(a.seen.find((seen) => seen.url === '/echo?via=mcp')?.headers['x-api-key'], SECRET);
    for (const form of encodedForms(SECRET)) assert.not.ok(JSON.stringify(answer).includes(form), `${form} reached the client`);
  } finally {
    await client.close();
  }
});

cli.run();
