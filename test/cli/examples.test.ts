// Every code example a newcomer copies works as shown: the scripts in examples/, every code block of
// README.md (each is run the way its reader would run it, and a `text` or `json` block right after
// it is its expected output; a block the test does not know how to check fails), and the scripts
// of docs/recipes.md. Loopback only: `apify` calls go to the fake API on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { transformSync } from 'esbuild';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeConfig } from '../../orchestrator/config/load.js';
import { runCode } from '../../orchestrator/index.js';
import { resolveDeno } from '../../orchestrator/run/deno.js';
import { runActor } from '../actor/harness.js';
import { DEFAULT_ACTORS, startFakeApi } from '../helpers/fake-api.js';
import { denoCheck, ROOT, scratchDir } from '../helpers/helpers.js';

const examples = suite('examples');
const dir = path.join(ROOT, 'examples');

examples('examples :: hello.ts greets on stdout and finds the apify client', async () => {
  const r = await runCode({ code: readFileSync(path.join(dir, 'hello.ts'), 'utf8') });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'Hello, world! (en)\nHello, svět! (cs)\nThe global apify client is ready.\n');
  assert.is(r.stderr, 'This line went to stderr.\n');
});

examples('examples :: apify-store.ts searches the Store and looks closer at the top hit', async () => {
  const scraper = { id: 'WebScraperId01', username: 'apify', name: 'web-scraper', title: 'Web Scraper', description: 'Crawls websites' };
  const api = await startFakeApi({ token: 'examples-token', actors: [...DEFAULT_ACTORS, scraper] });
  try {
    const r = await runCode({ code: readFileSync(path.join(dir, 'apify-store.ts'), 'utf8'), apiBaseUrl: api.url, token: 'examples-token' });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.is(r.stdout, '1 Actor for "web scraper":\n- apify/web-scraper: Web Scraper\n\nTop hit: Web Scraper, by apify\n');
    assert.ok(api.calls(/store/).length >= 1 && api.calls(/acts\//).length === 1, JSON.stringify(api.calls(/./)));
  } finally {
    await api.close();
  }
});

for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
  examples(`examples :: ${name} type-checks`, () => {
    const r = denoCheck(path.join(dir, name));
    assert.is(r.status, 0, r.output);
  });
}

examples.run();

// ---------------------------------------------------------------------------------------------
// The code blocks of the README and of docs/recipes.md.

interface Block {
  lang: string;
  code: string;
  /** Where its opening fence is, as `file:line`. */
  where: string;
}

function blocks(file: string): Block[] {
  const lines = readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const open = lines[i]!.match(/^```(\w*)\s*$/);
    if (!open) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${file}:${i + 1}: a code block that is never closed`);
    found.push({ lang: open[1]!, code: lines.slice(i + 1, end).join('\n'), where: `${file}:${i + 1}` });
    i = end;
  }
  return found;
}

/** Where the README tells its reader to put the clone. */
const CLONE_PLACEHOLDER = '/absolute/path/to/code-runtime';
const TOKEN = 'examples-token';
/** npm and npx as the README's commands run them here: nothing from the registry, no update check. */
// A cache of its own: npx's shared ~/.npm/_npx is raced by other npm processes on a busy machine (ENOENT).
const NPM_CACHE = mkdtempSync(path.join(tmpdir(), 'code-runtime-npm-cache-'));
const NPM_ENV = { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_cache: NPM_CACHE };
const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const README = blocks('README.md');

/** A block of expected output: `text`, or the Actor item as JSON. */
const isOutput = (block: Block) => block.lang === 'text' || (block.lang === 'json' && /"stdout"/.test(block.code));
/** An operator's `--config` file (servers for `tools`, origins for `fetch`), not an MCP client's configuration naming code-runtime. */
const isOperatorConfig = (block: Block) => block.lang === 'json' && !/"code-runtime"/.test(block.code) && /"(mcpServers|egress)"/.test(block.code);
/** A library example imports the package; any other TypeScript block is a script for the sandbox. */
const isLibrary = (block: Block) => block.lang === 'ts' && /from 'code-runtime'/.test(block.code);

/** An MCP client's way of starting the server, as a config names it: command, arguments, environment. */
interface ServerCommand {
  command: string;
  args: string[];
  env: Record<string, string>;
}

const serversUsed = new Map<string, Promise<void>>();

/**
 * Checks that a configuration names the CLI in the clone, then starts that server the way the
 * client would (from another folder, the clone being this repository) and runs a script through
 * it. Configurations that name the same command share one start.
 */
async function checkMcpServer(config: ServerCommand, where: string): Promise<void> {
  assert.is(config.command, 'node', `${where}: the command is node, not npm (npm start would print a banner on stdout)`);
  assert.equal(config.args.slice(1), ['mcp'], where);
  assert.ok(config.args[0]!.startsWith(`${CLONE_PLACEHOLDER}/`), `${where}: the script is named from the clone's path`);
  const script = path.join(ROOT, config.args[0]!.slice(CLONE_PLACEHOLDER.length));
  assert.is(script, CLI, `${where}: the path is the CLI's`);
  assert.equal(Object.keys(config.env), ['APIFY_TOKEN'], where);
  const key = JSON.stringify([script, ...config.args.slice(1)]);
  if (!serversUsed.has(key)) serversUsed.set(key, useServer(script, config.args.slice(1), config.env));
  await serversUsed.get(key);
}

async function useServer(script: string, args: string[], env: Record<string, string>): Promise<void> {
  const client = new Client({ name: 'readme', version: '1' });
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [script, ...args], env, cwd: tmpdir(), stderr: 'pipe' }));
  try {
    const { tools } = await client.listTools();
    assert.ok(['run_code', 'get_code_docs'].every((name) => tools.some((tool) => tool.name === name)), JSON.stringify(tools.map((tool) => tool.name)));
    const result = await client.callTool({ name: 'run_code', arguments: { code: 'console.log(6 * 7)' } });
    // The answer is one text block: the headline, then the output (docs/mcp.md).
    assert.match((result.content as Array<{ text: string }>)[0]!.text, /^SUCCEEDED .*\n--- stdout ---\n42$/);
  } finally {
    await client.close();
  }
}

/** The `apify` global's declarations for a script in `folder` (a relative path: Deno loads an absolute one twice). */
function apifyReference(folder: string): string {
  return `/// <reference path="${path.relative(folder, path.join(ROOT, 'types', 'apify.d.ts'))}" />`;
}

/** A library example: its types stripped (esbuild), `code-runtime` resolved to this build, run by Node. */
async function runLibraryExample(code: string): Promise<string> {
  const js = transformSync(code, { loader: 'ts', format: 'esm' }).code
    .replaceAll('from "code-runtime"', `from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'orchestrator', 'index.js')).href)}`);
  const file = path.join(scratchDir('readme-library'), 'example.mjs');
  writeFileSync(file, js);
  const r = await execa(process.execPath, [file], { reject: false, all: true, timeout: 60_000 });
  assert.is(r.exitCode, 0, r.all);
  return r.stdout;
}

/** The shell commands of a block, one per line, without their trailing comments. */
function commands(code: string): string[] {
  return code.split('\n').map((line) => line.replace(/\s+#\s.*$/, '').trim()).filter((line) => line && !line.startsWith('#'));
}

/** `claude mcp add [options] <name> -- <command> [args…]`: options before the name, the server's command after `--`. */
function claudeMcpAdd(line: string): ServerCommand {
  const words = line.split(/\s+/);
  assert.equal(words.slice(0, 3), ['claude', 'mcp', 'add'], line);
  const dash = words.indexOf('--');
  assert.is(words[dash - 1], 'code-runtime', 'the server\'s name comes last before --');
  const options = words.slice(3, dash - 1);
  const env: Record<string, string> = {};
  for (let i = 0; i < options.length; i += 2) {
    if (options[i] === '--env') env[options[i + 1]!.split('=')[0]!] = options[i + 1]!.split('=').slice(1).join('=');
    else assert.equal(options.slice(i, i + 2), ['--transport', 'stdio'], `an option claude mcp add takes: ${options[i]}`);
  }
  return { command: words[dash + 1]!, args: words.slice(dash + 2), env };
}

/** The Actor's item without what differs from run to run. */
function itemFacts(item: Record<string, unknown>): Record<string, unknown> {
  const { durationMillis, ...rest } = item;
  assert.type(durationMillis, 'number');
  return rest;
}

/** How one shell command of the README is checked; `output` is the block shown after it, if any. */
async function checkCommand(line: string, where: string, output: string | undefined): Promise<void> {
  if (line === 'npm test') {
    // The suite running this test is that command; CI runs the same (.ci/run).
    assert.match(readFileSync(path.join(ROOT, '.ci', 'run'), 'utf8'), /^npm test$/m);
    return;
  }
  if (line.startsWith('npm install && npm start -- ')) {
    // `npm install` ran before the suite; the rest is the reader's first run, through npm.
    const r = await execa('sh', ['-c', line.slice('npm install && '.length)], { cwd: ROOT, env: NPM_ENV, reject: false, all: true });
    assert.is(r.exitCode, 0, r.all);
    assert.ok(output && r.stdout.endsWith(output), `${where}: stdout ends with the output shown\n${r.stdout}`);
    assert.is(r.stderr, 'This line went to stderr.', 'and the line the README says goes to stderr');
    return;
  }
  if (line.startsWith('claude mcp add ')) return checkMcpServer(claudeMcpAdd(line), where);
  if (line.startsWith('npx apify run --input ')) {
    // The Actor entry with this input, as `apify run` starts it (test/actor/cli.test.ts runs the CLI itself).
    const input = line.match(/^npx apify run --input '(.+)'$/)![1]!;
    const run = await runActor(JSON.parse(input));
    assert.is(run.exitCode, 0, run.log);
    assert.is(run.items.length, 1);
    assert.ok(output, `${where}: the item is shown`);
    const shown = itemFacts(JSON.parse(output));
    const actual = itemFacts(run.items[0] as unknown as Record<string, unknown>);
    assert.equal(actual, shown);
    return;
  }
  assert.ok(line.includes('npx code-runtime '), `${where}: no check for \`${line}\``);
  // npx itself is checked once, below; here the same command runs the CLI without npm's start-up.
  const filesOut = line.match(/--files-out (\S+)/)?.[1];
  // The folder the command names, in the clone: it must not be there before (nothing of the reader's is touched).
  if (filesOut) assert.not.ok(existsSync(path.join(ROOT, filesOut)), `${filesOut}/ is not in the clone before the command`);
  const r = await execa('sh', ['-c', line.replace('npx code-runtime ', `${process.execPath} ${CLI} `)], { cwd: ROOT, reject: false, all: true });
  try {
    assert.is(r.exitCode, 0, `${line}\n${r.all}`);
    if (filesOut) {
      // examples/files.ts: the totals of examples/sales.csv, as a file and as the value.
      assert.is(readFileSync(path.join(ROOT, filesOut, 'totals.csv'), 'utf8'), 'region,total\nEU,260\nUS,390\n');
      assert.is(r.stderr, '[code-runtime] value: {"EU":260,"US":390}', 'the value, on stderr as the README says');
    }
  } finally {
    if (filesOut) rmSync(path.join(ROOT, filesOut), { recursive: true, force: true });
  }
  if (output !== undefined) assert.is(r.stdout, output, `${where}: stdout is the output shown`);
  else if (line.includes('--json')) assert.is((JSON.parse(r.stdout) as { status: string }).status, 'SUCCEEDED');
  else if (line.includes('--help')) assert.match(r.stdout, /^Usage: code-runtime /);
  else if (line.startsWith('echo ')) assert.is(r.stdout, '42');
  else assert.match(r.stdout, /Hello, world!/);
}

const readme = suite('readme');
readme.after(() => rmSync(NPM_CACHE, { recursive: true, force: true }));

readme('readme :: every code block is one this test knows how to check, and there is one plain `npm test`', () => {
  assert.ok(README.length >= 10, `${README.length} blocks`);
  for (const [i, block] of README.entries()) {
    assert.ok(['sh', 'json', 'ts', 'text'].includes(block.lang), `${block.where}: a \`${block.lang}\` block`);
    const before = README[i - 1];
    if (isOutput(block)) assert.ok(before && !isOutput(before) && before.lang !== 'json', `${block.where}: output follows the command it is the output of`);
  }
  const tests = README.filter((block) => block.lang === 'sh').flatMap((block) => commands(block.code)).filter((line) => line === 'npm test');
  assert.is(tests.length, 1, 'exactly one plain `npm test`: the command CI runs');
});

for (const [i, block] of README.entries()) {
  const next = README[i + 1];
  const output = next && isOutput(next) ? next.code : undefined;
  if (isOutput(block)) continue;
  if (block.lang === 'json' && isOperatorConfig(block)) {
    readme(`readme :: ${block.where}: the operator configuration is one the CLI, the server and the Actor accept`, () => {
      // Its ${VAR}s set, as the operator's environment would have them.
      const vars = Object.fromEntries([...block.code.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => [name!, `value-of-${name}`]));
      const config = normalizeConfig(JSON.parse(block.code), vars);
      assert.ok(config.mcpServers.servers.length + config.egress.rules.length > 0, `${block.where}: it configures something`);
    });
  } else if (block.lang === 'json') {
    readme(`readme :: ${block.where}: the MCP client configuration starts a working server`, async () => {
      type Entry = ServerCommand & { type?: string };
      const config = JSON.parse(block.code) as { mcpServers?: Record<string, Entry>; servers?: Record<string, Entry> };
      const server = (config.mcpServers ?? config.servers)?.['code-runtime'];
      assert.ok(server, `${block.where}: a code-runtime server under mcpServers (Claude Desktop, Cursor) or servers (VS Code)`);
      if (config.servers) assert.is(server.type, 'stdio', `${block.where}: VS Code needs the type`);
      await checkMcpServer(server, block.where);
    });
  } else if (isLibrary(block)) {
    readme(`readme :: ${block.where}: the library example prints what the README shows`, async () => {
      assert.ok(output, `${block.where}: a library example shows its output`);
      assert.is(await runLibraryExample(block.code), output);
    });
  } else if (block.lang === 'sh') {
    for (const line of commands(block.code)) readme(`readme :: ${block.where}: \`${line.slice(0, 70)}\``, () => checkCommand(line, block.where, output));
  }
}

readme('readme :: `npx code-runtime` in the clone\'s folder is this clone\'s CLI, with nothing from the registry', async () => {
  const r = await execa('npx', ['code-runtime', '--version'], { cwd: ROOT, env: NPM_ENV, reject: false, all: true });
  assert.is(r.exitCode, 0, r.all);
  assert.is(r.stdout, (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version);
});

readme('readme :: every sandbox script of README.md and docs/recipes.md type-checks and runs against the API', async () => {
  const scripts = [...README, ...blocks('docs/recipes.md')].filter((block) => block.lang === 'ts' && !isLibrary(block));
  assert.ok(scripts.length >= 6, `${scripts.length} scripts`);
  // One `deno check` for all of them (a Deno start each would cost seconds).
  const scratch = scratchDir('readme-scripts');
  const files = scripts.map((block, i) => {
    const file = path.join(scratch, `script-${i + 1}.ts`);
    writeFileSync(file, `${apifyReference(scratch)}\n${block.code}\nexport {};\n`);
    return file;
  });
  const checked = spawnSync(resolveDeno(), ['check', '--quiet', '--no-config', '--no-lock', ...files], {
    encoding: 'utf8', env: { ...process.env, DENO_DIR: path.join(scratch, 'deno'), DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  });
  assert.is(checked.status, 0, `${checked.stdout}${checked.stderr}`);
  const api = await startFakeApi({ token: TOKEN });
  try {
    const datasetId = api.addDataset([{ country: 'CZ' }, { country: 'US' }, { country: 'CZ' }, {}]);
    for (const block of scripts) {
      const r = await runCode({ code: block.code.replaceAll('DATASET_ID', datasetId), apiBaseUrl: api.url, token: TOKEN, timeoutSecs: 30 });
      assert.is(r.status, 'SUCCEEDED', `${block.where}: ${r.stderr}`);
      assert.is(r.stderr, '', block.where);
    }
  } finally {
    await api.close();
  }
});

readme('readme :: every relative link of README.md and docs/ leads to a file, and to a heading that exists there', () => {
  // GitHub's anchors: the heading in lower case, punctuation dropped, spaces as hyphens.
  const slug = (heading: string) => heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s-]/gu, '').replace(/\s/g, '-');
  const headings = (file: string) => readFileSync(file, 'utf8').split('\n').filter((line) => /^#{1,6} /.test(line)).map((line) => slug(line.replace(/^#+ /, '')));
  const pages = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const broken: string[] = [];
  let links = 0;
  for (const page of pages) {
    const prose = readFileSync(path.join(ROOT, page), 'utf8').replace(/```[\s\S]*?```/g, '');
    for (const [, target] of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/.test(target!)) continue;
      links += 1;
      const [file, anchor] = target!.split('#');
      const resolved = file ? path.join(ROOT, path.dirname(page), file) : path.join(ROOT, page);
      if (!existsSync(resolved)) broken.push(`${page}: ${target} (no such file)`);
      else if (anchor && resolved.endsWith('.md') && !headings(resolved).includes(anchor)) broken.push(`${page}: ${target} (no such heading)`);
    }
  }
  assert.ok(links > 50, `${links} links read`);
  assert.equal(broken, []);
});

readme.run();
