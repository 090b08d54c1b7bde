// get_code_docs through the SDK's own Client against `code-runtime mcp`: the first call (no topic) is
// an overview within the budget that names every other topic, each of which answers; every topic is
// cut from the files people read too (not a copy), and those files ship in the package.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RUN_OPTIONS } from '../../orchestrator/run/option-table.js';
import { DOC_SOURCES, DOC_TOPICS } from '../../orchestrator/server/docs.js';
import { ROOT } from '../helpers/helpers.js';
import { CLI } from './processes.js';

const docs = suite('docs');
let client: Client;

function text(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0]!).text;
}

async function topic(name?: string): Promise<{ text: string; isError: boolean }> {
  const result = await client.callTool({ name: 'get_code_docs', arguments: name === undefined ? {} : { topic: name } });
  return { text: text(result), isError: result.isError === true };
}

const source = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** One `## heading` section of a markdown file, heading included. */
function section(file: string, heading: string): string {
  const markdown = source(file);
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `${file} has "## ${heading}"`);
  const end = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start + 1, end < 0 ? undefined : end).trim();
}

docs.before(async () => {
  client = new Client({ name: 'docs-test', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp'], stderr: 'pipe' }));
});

docs.after(async () => {
  await client.close();
});

docs('docs :: the first call is an overview of at most 6,000 characters that names every other topic, and each of those answers', async () => {
  const overview = await topic();
  assert.not.ok(overview.isError);
  assert.ok(overview.text.length <= 6000, `the overview is ${overview.text.length} characters`);
  assert.is(overview.text, (await topic('overview')).text);
  const named = [...overview.text.split('## Ask next')[1]!.matchAll(/^- `(\w+)` \(([\d,]+) characters\)/gm)];
  // `tools` is made for each server's own tool servers, so the overview names it without a size.
  assert.equal(named.map(([, name]) => name), DOC_TOPICS.filter((name) => name !== 'overview' && name !== 'tools'), 'every other topic, in order');
  assert.match(overview.text.split('## Ask next')[1]!, /^- `tools`: TypeScript declarations of the `tools` a script can call$/m);
  for (const [, name, size] of named) {
    const answer = await topic(name);
    assert.not.ok(answer.isError, name);
    assert.ok(answer.text.length > 500, `${name} has content`);
    assert.is(answer.text.length.toLocaleString('en-US'), size, `${name}'s size as the overview says`);
  }
  const { resources } = await client.listResources();
  for (const name of DOC_TOPICS) assert.ok(resources.some((resource) => resource.uri === `code-runtime://docs/${name}`), name);
  const rules = await client.readResource({ uri: 'code-runtime://docs/rules' });
  assert.is((rules.contents[0] as { text?: string }).text, (await topic('rules')).text);
});

docs('docs :: a model can write a script from the overview: the rules, the limits and every method of the reference', async () => {
  const { text: overview } = await topic();
  assert.ok(overview.includes(section('docs/sandbox.md', 'The rules')), 'the rules, as docs/sandbox.md says them');
  const { timeoutSecs: t, memoryMbytes: m } = RUN_OPTIONS;
  assert.ok(overview.includes(`\`timeoutSecs\` ${t.min}–${t.max} (default ${t.default}); \`memoryMbytes\` ${m.min}–${m.max} (default ${m.default})`), 'the limits, from the option table');
  const conventions = section('docs/API.md', 'Conventions').split('\n').slice(1).join('\n').trim();
  assert.ok(overview.includes(conventions.replace(/\[([^\]]+)\]\(#[^)]*\)/g, '$1')), 'API.md\'s conventions, links to other sections as plain text');
  const methods = [...section('docs/API.md', 'Methods').matchAll(/^\| \[`([\w.]+)\(/gm)].map(([, name]) => name!);
  assert.ok(methods.length >= 19, methods.join());
  for (const method of methods) assert.match(overview, new RegExp(`^- \`${method.replace('.', '\\.')}\\(`, 'm'), method);
  assert.not.match(overview, /\]\(#/, 'no links to sections the overview does not hold');
});

docs('docs :: every topic is cut from docs/ and types/, not a copy, and those files ship in the package', async () => {
  assert.is((await topic('api')).text, source('docs/API.md'));
  assert.is((await topic('recipes')).text, source('docs/recipes.md'));
  assert.ok((await topic('types')).text.includes(source('types/apify.d.ts')));
  const rules = (await topic('rules')).text;
  for (const heading of ['The rules', 'How a run ends']) assert.ok(rules.includes(section('docs/sandbox.md', heading)), heading);
  const areas: Record<string, string[]> = { actors: ['Lists', 'Actors', 'Runs'], storage: ['Lists', 'Datasets', 'Key-value stores'], errors: ['Errors', 'Budget'] };
  for (const [name, headings] of Object.entries(areas)) {
    const answer = (await topic(name)).text;
    for (const heading of headings) assert.ok(answer.includes(section('docs/API.md', heading)), `${name}: ${heading}`);
  }
  // What `npm pack` ships, as npm itself lists it (no build: --ignore-scripts).
  const packed = await execa('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--offline'], { cwd: ROOT });
  const files = (JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{ files: Array<{ path: string }> }>)[0]!.files.map((file) => file.path);
  for (const file of DOC_SOURCES) assert.ok(files.includes(file), `${file} is in the package`);
});

docs('docs :: a wrong topic is a tool error that lists the topics', async () => {
  const wrong = await topic('secrets');
  assert.ok(wrong.isError);
  assert.match(wrong.text, new RegExp(`\`topic\` to be one of ${DOC_TOPICS.join(', ')}, got "secrets"`));
});

docs('docs :: the tool\'s own description stays short: it points at the overview', async () => {
  const { tools } = await client.listTools();
  const tool = tools.find((entry) => entry.name === 'get_code_docs')!;
  assert.ok(JSON.stringify(tool).length <= 900, `get_code_docs costs ${JSON.stringify(tool).length} characters of tools/list`);
  assert.match(tool.description!, /no topic first/);
});

docs.run();
