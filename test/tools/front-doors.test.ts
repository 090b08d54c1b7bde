// Tools through every front door: `code-runtime mcp --config FILE` driven by the SDK's own Client
// (tools/list within its budget, the `tools` docs topic generated from the servers' schemas, a
// run_code whose script calls tools), the CLI run with --config, config mistakes as usage errors,
// and the Actor's input (servers plus secret header values).
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ActorInputError, parseActorInput } from '../../orchestrator/actor/input.js';
import { denoCheck, ROOT, scratchDir } from '../helpers/helpers.js';
import { EVERYTHING, FIXTURE_SERVER } from '../helpers/mcp-upstream.js';
import { CLI, runCli } from '../server/processes.js';

const doors = suite('tools front doors');
const dir = scratchDir('tools-config');
const configFile = path.join(dir, '.mcp.json');
const SECRET = 'config-secret-Qw8Er5Ty2Ui';
let client: Client;

doors.before(async () => {
  writeFileSync(configFile, JSON.stringify({
    mcpServers: {
      everything: { command: process.execPath, args: [EVERYTHING, 'stdio'], env: { FROM_CONFIG: '${CODE_RUNTIME_DOORS_SECRET}' } },
      fixture: { command: process.execPath, args: [FIXTURE_SERVER] },
    },
  }));
  client = new Client({ name: 'test', version: '1' });
  await client.connect(new StdioClientTransport({
    command: process.execPath, args: [CLI, 'mcp', '--config', configFile], stderr: 'pipe',
    env: { ...process.env as Record<string, string>, CODE_RUNTIME_DOORS_SECRET: SECRET },
  }));
});

doors.after(async () => {
  await client.close();
});

function text(result: unknown): string {
  return (result as { content: Array<{ text: string }> }).content[0]!.text;
}

doors('tools front doors :: mcp --config: run_code names the namespaces, and tools/list grows by one sentence whatever the servers offer', async () => {
  const listed = await client.listTools();
  const bare = new Client({ name: 'test', version: '1' });
  await bare.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], stderr: 'pipe' }));
  const without = (await bare.listTools()).tools;
  await bare.close();
  // The server's budget is for the tools' descriptions and input schemas; the tools' own list is in the docs.
  const size = (tools: typeof without) => JSON.stringify(tools.map(({ outputSchema: _, ...tool }) => tool)).length;
  const grown = size(listed.tools) - size(without);
  assert.ok(grown > 0 && grown <= 150, `configuring two servers added ${grown} characters`);
  const run = listed.tools.find((tool) => tool.name === 'run_code')!;
  assert.match(run.description!, /The global `tools` calls tools \(many per script\): tools\.everything, tools\.fixture\. Their types: get_code_docs \{ topic: "tools" \}\.$/);
  assert.not.match(run.description!, /get-sum/, 'the tool list is in the docs, not the description');
});

doors('tools front doors :: get_code_docs { topic: "tools" } declares every tool, generated from its schemas', async () => {
  const docs = text(await client.callTool({ name: 'get_code_docs', arguments: { topic: 'tools' } }));
  assert.match(docs, /declare namespace Everything \{[\s\S]*export interface GetSumArgs \{[\s\S]*a: number[\s\S]*b: number/);
  assert.match(docs, /export interface GetStructuredContentResult \{[\s\S]*temperature: number/);
  assert.match(docs, /"get-sum"\(args: Everything\.GetSumArgs\): Promise<string>;/);
  assert.match(docs, /"get-structured-content"\(args: Everything\.GetStructuredContentArgs\): Promise<Everything\.GetStructuredContentResult>;/);
  assert.match(docs, /fixture: \{[\s\S]*pid\(args\?: Fixture\.PidArgs\): Promise<string>;/);
  assert.match(docs, /interface ToolsHelpers \{[\s\S]*\$callTool\(/);
  assert.match(docs, /Limits per run: 1,000 calls \(`maxToolCalls`\), 8 at once, 1 MiB of arguments and 10 MiB of result per call, 60 s per call/);
  const resource = await client.readResource({ uri: 'code-runtime://docs/tools' });
  assert.is((resource.contents[0] as { text: string }).text, docs);
});

doors('tools front doors :: run_code: a script calls tools; secrets stay out of the answer', async () => {
  const result = await client.callTool({ name: 'run_code', arguments: { code: `
    const sums = await Promise.all([1, 2, 3].map((i) => tools.everything['get-sum']({ a: i, b: i })));
    console.log(sums.join(' | '));
    console.log(await tools.$call('everything', 'get-env', {}));
  ` } });
  const answer = text(result);
  assert.not.ok(result.isError, answer);
  assert.match(answer, /^SUCCEEDED/);
  assert.match(answer, /The sum of 1 and 1 is 2\. \| The sum of 2 and 2 is 4\. \| The sum of 3 and 3 is 6\./);
  assert.match(answer, /"FROM_CONFIG": "\[token redacted\]"/);
  assert.not.ok(JSON.stringify(result).includes(SECRET));
  // The answer a model reads leaves the call records out: a thousand of them would crowd its context.
  assert.not.match(JSON.stringify(result), /toolCalls/);
});

doors('tools front doors :: the CLI run takes --config; a bad file is a usage error naming it', async () => {
  const script = path.join(dir, 'sum.ts');
  writeFileSync(script, 'console.log(await tools.everything["get-sum"]({ a: 20, b: 22 }));');
  const child = spawn(process.execPath, [CLI, '--config', configFile, '--max-tool-calls', '5', '--json', script], { env: { ...process.env, CODE_RUNTIME_DOORS_SECRET: SECRET } });
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const code = await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(out) as { stdout: string; toolCalls: unknown[] };
  assert.equal([code, result.stdout, result.toolCalls.length], [0, 'The sum of 20 and 22 is 42.\n', 1]);
  const bad = path.join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ mcpServers: { x: { url: 'ftp://nowhere' } } }));
  for (const args of [['--config', bad, script], ['mcp', '--config', bad], ['serve', '--config', path.join(dir, 'missing.json')]]) {
    const r = await runCli(args);
    assert.is(r.code, 2, r.stderr);
    assert.match(r.stderr, args.includes(bad) ? /in .*bad\.json: `mcpServers\.x\.url` must be an http\(s\) URL/ : /cannot read the configuration .*missing\.json: no such file/);
  }
});

doors('tools front doors :: the Actor takes mcpServers, and header values from the secret mcpServerHeaders', () => {
  const limits = { now: Date.now() };
  const { settings } = parseActorInput({
    code: 'console.log(1)',
    mcpServers: { remote: { url: 'https://example.com/mcp', headers: { 'X-Plain': 'visible' } } },
    mcpServerHeaders: { remote: { Authorization: 'Bearer actor-secret-1234' } },
    maxToolCalls: 7,
  }, limits);
  assert.equal(settings.mcpServers, { remote: { url: 'https://example.com/mcp', headers: { 'X-Plain': 'visible', Authorization: 'Bearer actor-secret-1234' } } });
  assert.is(settings.maxToolCalls, 7);
  assert.is(settings.toolTimeoutSecs, 60);
  assert.throws(() => parseActorInput({ code: '1', mcpServerHeaders: { nobody: { A: 'secret-value' } } }, limits),
    (e: Error) => e instanceof ActorInputError && /`mcpServerHeaders\.nobody` names no server of `mcpServers`/.test(e.message) && !e.message.includes('secret-value'));
  assert.throws(() => parseActorInput({ code: '1', mcpServers: { a: { type: 'sse', url: 'https://x' } } }, limits), (e: Error) => /Invalid input: `mcpServers\.a\.type` is "sse"/.test(e.message));
  assert.equal(parseActorInput({ code: '1' }, limits).settings.mcpServers, undefined);
});

doors('tools front doors :: types/tools.d.ts types a script\'s `tools` for editors and deno check', () => {
  const file = path.join(dir, 'typed.ts');
  // Relative: Deno 2.9 loads a declaration referenced by absolute path twice (TS2451).
  const reference = `/// <reference path="${path.relative(dir, path.join(ROOT, 'types', 'tools.d.ts'))}" />`;
  writeFileSync(file, `${reference}
const sum: unknown = await tools.everything['get-sum']({ a: 2, b: 3 });
const list = await tools.$list('everything');
const first: string = list[0]!.name;
const whole = await tools.$callTool('everything', 'get-tiny-image', {});
const kinds: string[] = whole.content.map((block) => block.type);
console.log(sum, first, kinds, whole.isError === true);
`);
  const ok = denoCheck(file);
  assert.is(ok.status, 0, ok.output);
  writeFileSync(file, `${reference}\nawait tools.$callTool('everything');\nawait tools.everything.echo('positional');\n`);
  const bad = denoCheck(file);
  assert.is(bad.status, 1);
  assert.match(bad.output, /Expected 2-3 arguments, but got 1/);
  assert.match(bad.output, /Argument of type 'string' is not assignable to parameter of type 'Record<string, unknown>'/);
});

doors.run();
