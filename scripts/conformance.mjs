// The official MCP conformance suite against `code-runtime serve`, for the scenarios that apply to
// this server. The suite needs Node 22; both it and a Node 22 binary (the registry's
// `node-linux-<arch>` package) are installed, pinned, OUTSIDE the project (never in its deps), under
// $CODE_RUNTIME_CONFORMANCE_DIR (default ~/.cache/code-runtime-conformance), once. Each scenario's
// checks are read from the suite's own JSON; any FAILURE or WARNING fails the run.
// Usage: npm run conformance        (builds first)    node scripts/conformance.mjs [scenario…]
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/*
 * 0.2.0-alpha.12, not 0.1.16 (the `latest` tag): 0.1.16's server-sse-polling sends
 * `MCP-Protocol-Version: 2025-03-26` on its POST after negotiating 2025-11-25, and the SDK (rightly)
 * does not prime a stream for a 2025-03-26 client, so 0.1.16 reports two WARNINGs there whatever
 * the server does; 0.2.0-alpha.12 sends the negotiated version. Every other scenario below passes
 * on both.
 */
const SUITE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
const NODE = `node-linux-${process.arch}@22.23.5`;
const SCENARIOS = [
  'server-initialize', 'ping', 'logging-set-level', 'tools-list', 'server-sse-multiple-streams', 'server-sse-polling', 'resources-list', 'dns-rebinding-protection',
];
const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const DIR = process.env.CODE_RUNTIME_CONFORMANCE_DIR || path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'code-runtime-conformance');

const log = (line) => process.stderr.write(`${line}\n`);

/** The suite and a Node 22, installed once under DIR; their paths. */
function tools() {
  const suite = path.join(DIR, 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js');
  const ownMajor = Number(process.versions.node.split('.')[0]);
  const node22 = ownMajor >= 22 ? process.execPath : path.join(DIR, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node');
  const wanted = ownMajor >= 22 ? [SUITE] : [SUITE, NODE];
  const stamp = path.join(DIR, 'node_modules', '.code-runtime-conformance');
  if (!existsSync(suite) || !existsSync(node22) || !existsSync(stamp) || readFileSync(stamp, 'utf8') !== wanted.join(' ')) {
    log(`… installing ${wanted.join(' and ')} under ${DIR} (outside the project)`);
    execFileSync('npm', ['install', '--prefix', DIR, '--no-audit', '--no-fund', '--no-save', '--loglevel', 'error', ...wanted], { stdio: ['ignore', 'ignore', 'inherit'] });
    writeFileSync(stamp, wanted.join(' '));
  }
  return { node22, suite };
}

/** `code-runtime serve` on a free loopback port, with the suite's test tool; its URL and a stop function. */
function startServe() {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0'], { env: { ...process.env, CODE_RUNTIME_CONFORMANCE_TOOLS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      const match = stderr.match(/serving on (http:\/\/\S+) /);
      if (match) {
        clearTimeout(timer);
        resolve({ url: match[1].replace('127.0.0.1', 'localhost'), stop: () => child.kill('SIGTERM') });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** One scenario's checks, from the suite's results directory. */
function runScenario({ node22, suite }, url, scenario) {
  const out = mkdtempSync(path.join(tmpdir(), 'conformance-'));
  try {
    let text = '';
    try {
      text = execFileSync(node22, [suite, 'server', '--url', `${url}/mcp`, '--scenario', scenario, '-o', out], { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      // The suite exits non-zero on a failed check; its checks file still says which.
      text = `${error.stdout ?? ''}${error.stderr ?? ''}`;
    }
    const dir = readdirSync(out).find((name) => existsSync(path.join(out, name, 'checks.json')));
    if (!dir) return { scenario, checks: [], error: text.trim().split('\n').slice(-5).join(' | ') || 'no checks.json' };
    return { scenario, checks: JSON.parse(readFileSync(path.join(out, dir, 'checks.json'), 'utf8')) };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

const chosen = process.argv.slice(2).length > 0 ? process.argv.slice(2) : SCENARIOS;
const installed = tools();
const serve = await startServe();
let bad = 0;
try {
  log(`conformance (${SUITE}) against ${serve.url}/mcp`);
  for (const scenario of chosen) {
    const { checks, error } = runScenario(installed, serve.url, scenario);
    const count = (status) => checks.filter((check) => check.status === status).length;
    const problems = checks.filter((check) => check.status === 'FAILURE' || check.status === 'WARNING');
    const failed = problems.length > 0 || count('SUCCESS') === 0 || error !== undefined;
    if (failed) bad += 1;
    process.stdout.write(`${failed ? 'FAIL' : 'ok  '} ${scenario.padEnd(30)} ${count('SUCCESS')} SUCCESS, ${count('FAILURE')} FAILURE, ${count('WARNING')} WARNING${error ? ` (${error})` : ''}\n`);
    for (const problem of problems) process.stdout.write(`       ${problem.status} ${problem.id}: ${problem.errorMessage ?? problem.description}\n`);
  }
} finally {
  serve.stop();
}
process.stdout.write(`conformance: ${chosen.length - bad} scenarios passed, ${bad} failed\n`);
process.exit(bad > 0 ? 1 : 0);
