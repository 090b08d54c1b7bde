/**
 * `npm run bench:hostile`: issue 18's findings at full size against a real `serve`, loopback only,
 * each bounded in time, with the serve process's RSS and fds read from /proc and another client's
 * answers checked: clients that never read (REST pages, pipelined pages, MCP answers, MCP progress),
 * idle connections under a low fd limit, large request bodies from many clients at once and slowly
 * (chunked), a session flood
 * beside a live call, fairness bought with free sessions, cross-origin and text/plain POSTs,
 * /healthz for strangers, and shutdown. `--cli` points at another build's `code-runtime.js`, so the
 * same figures can be taken before and after a change. Writes bench/hostile-results.json.
 *
 * Usage: node dist/bench/hostile.js [--cli PATH] [--readers 150] [--mcp 40] [--progress 100] [--secs 10] [--initializes 1000] [--bodies 20] [--only NAME,…]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { PACKAGE_ROOT } from '../orchestrator/run/deno.js';
import { fetchFrom, idle, initialize, MCP_HEADERS, nonReader, peakDuring, rawRequest, request, sleep, upload, usage, type Usage } from '../test/server/load.js';
import { STRUCTURED_CAPABILITY } from '../orchestrator/server/mcp.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

const { values } = parseArgs({
  options: {
    cli: { type: 'string', default: path.join(PACKAGE_ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js') },
    readers: { type: 'string', default: '150' }, mcp: { type: 'string', default: '40' }, progress: { type: 'string', default: '100' },
    secs: { type: 'string', default: '10' }, initializes: { type: 'string', default: '1000' }, bodies: { type: 'string', default: '20' }, only: { type: 'string' },
  },
});
const CLI = path.resolve(values.cli!);
const count = (name: 'readers' | 'mcp' | 'progress' | 'secs' | 'initializes' | 'bodies', max: number): number => {
  const value = Number(values[name]);
  if (!Number.isInteger(value) || value < 1 || value > max) throw new Error(`--${name} must be a whole number from 1 to ${max}, got ${values[name]}`);
  return value;
};

const CONTROL_BYTES = 'await Deno.stdout.write(new Uint8Array(1048576).fill(1));';
const JSON_TYPE = { 'content-type': 'application/json' };
const progress = (text: string) => process.stderr.write(`… ${text}\n`);

interface Serve {
  child: ChildProcess;
  url: string;
  port: number;
  pid: number;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** `wrapper` runs it under a command that execs it (prlimit), so the pid stays serve's. */
function startServe(args: string[] = [], wrapper: string[] = []): Promise<Serve> {
  const command = [...wrapper, process.execPath, CLI, 'serve', '--port', '0', ...args];
  const child = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const url = stderr.match(/serving on (http:\/\/\S+) /)?.[1];
      if (url) {
        resolve({
          child, url, port: Number(new URL(url).port), pid: child.pid!, stderr: () => stderr,
          stop: () => {
            child.kill('SIGKILL');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

async function run(url: string, code: string, wait = 30, from?: string): Promise<Record<string, any>> {
  const answer = await request(`${url}/v1/runs?wait=${wait}`, { from, headers: JSON_TYPE, body: JSON.stringify({ code }), timeoutMs: 60_000 });
  try {
    return { httpStatus: answer.status, ...answer.json() };
  } catch {
    return { httpStatus: answer.status, body: answer.text.slice(0, 200) };
  }
}

/** Another client's ordinary work during an attack: how long liveness took, and whether a run came back right. */
async function other(url: string, from = '127.0.0.2'): Promise<{ healthzMs: number | string; runCorrect: boolean; runStatus: unknown }> {
  const started = performance.now();
  const healthzMs = await request(`${url}/healthz`, { from, timeoutMs: 30_000 }).then(() => Math.round(performance.now() - started), (error: Error) => `failed: ${error.message}`);
  const answer: Record<string, any> = await run(url, 'console.log(6 * 7)', 30, from).catch((error: Error) => ({ status: `failed: ${error.message}` }));
  return { healthzMs, runCorrect: answer.stdout === '42\n', runStatus: answer.status ?? answer.httpStatus };
}

function mcpClient(url: string, from?: string): Promise<Client> {
  const client = new Client({ name: 'bench', version: '1' }, STRUCTURED);
  return client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), from ? { fetch: fetchFrom(from) } : {})).then(() => client);
}

function figures(baseline: Usage, peak: Usage, after: Usage) {
  return { baselineRssMiB: baseline.rssMiB, peakRssMiB: peak.rssMiB, afterRssMiB: after.rssMiB, baselineFds: baseline.fds, peakFds: peak.fds, afterFds: after.fds };
}

/** Sockets that ask for something and never read, held while `during` runs. */
async function withNonReaders(serve: Serve, raws: Array<{ raw: string; from?: string }>, during: () => Promise<Record<string, unknown>>) {
  const sockets: net.Socket[] = [];
  const { peak, value } = await peakDuring(serve.pid, async () => {
    for (const { raw, from } of raws) sockets.push(await nonReader(serve.port, raw, from));
    return during();
  }, 100);
  for (const socket of sockets) socket.destroy();
  await sleep(3000);
  return { peak, value, after: usage(serve.pid) };
}

/** A run with 60 MiB of input files (six of 10 MiB, each file's most) in base64: an 80 MiB body. */
function bigBody(): Buffer {
  const file = Buffer.alloc(10 * 1024 * 1024, 7).toString('base64');
  return Buffer.from(JSON.stringify({ code: 'console.log(1)', files: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`f${i}.bin`, { base64: file }])) }));
}

/** `clients` clients (one loopback address each) POST an 80 MiB body at the pace `options` say, while another client works. */
async function bodies(options: Parameters<typeof upload>[2]): Promise<Record<string, unknown>> {
  const clients = count('bodies', 250);
  const body = bigBody();
  const serve = await startServe();
  try {
    const baseline = await idle(serve.url, serve.pid);
    const started = performance.now();
    const { peak, value } = await peakDuring(serve.pid, async () => {
      const sent = Promise.all(Array.from({ length: clients }, (_, i) => upload(serve.url, body, { ...options, from: `127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`, timeoutMs: 180_000 })));
      const another = await other(serve.url);
      const answers: Record<string, number> = {};
      for (const answer of await sent) {
        const key = 'error' in answer ? answer.error : `${answer.status} ${answer.status === 202 ? 'started' : (JSON.parse(answer.text) as { error?: { type?: string } }).error?.type}`;
        answers[key] = (answers[key] ?? 0) + 1;
      }
      return { answers, ...another };
    }, 100);
    const secs = Math.round((performance.now() - started) / 100) / 10;
    await sleep(3000);
    return { clients, bodyMiB: Math.round(body.length / 1024 / 1024), secs, ...value, ...figures(baseline, peak, usage(serve.pid)) };
  } finally {
    await serve.stop();
  }
}

const scenarios: Record<string, () => Promise<Record<string, unknown>>> = {
  async restReaders() {
    const readers = count('readers', 5000);
    const serve = await startServe();
    try {
      const big = await run(serve.url, CONTROL_BYTES);
      const baseline = await idle(serve.url, serve.pid);
      const raw = rawRequest('GET', serve.port, `/v1/runs/${big.executionId}/output/stdout?byteOffset=0&byteLimit=1048576`);
      const { peak, value, after } = await withNonReaders(serve, Array.from({ length: readers }, () => ({ raw })), async () => {
        await sleep(2000);
        return other(serve.url);
      });
      return { readers, ...figures(baseline, peak, after), ...value };
    } finally {
      await serve.stop();
    }
  },

  async pipelined() {
    const serve = await startServe();
    try {
      const big = await run(serve.url, CONTROL_BYTES);
      const baseline = await idle(serve.url, serve.pid);
      const raw = rawRequest('GET', serve.port, `/v1/runs/${big.executionId}/output/stdout?byteOffset=0&byteLimit=1048576`).repeat(400);
      const { peak, value, after } = await withNonReaders(serve, Array.from({ length: 50 }, () => ({ raw })), async () => {
        await sleep(2000);
        return other(serve.url);
      });
      return { sockets: 50, pipelinedEach: 400, ...figures(baseline, peak, after), ...value };
    } finally {
      await serve.stop();
    }
  },

  async idleConnections() {
    const serve = await startServe([], ['prlimit', '--nofile=256:256', '--']);
    try {
      const baseline = await idle(serve.url, serve.pid);
      const { peak, value, after } = await withNonReaders(serve, Array.from({ length: 300 }, () => ({ raw: '' })), async () => {
        await sleep(500);
        return other(serve.url);
      });
      return { fdLimit: 256, idleConnections: 300, ...figures(baseline, peak, after), ...value };
    } finally {
      await serve.stop();
    }
  },

  async mcpReaders() {
    const sessions = count('mcp', 100);
    const serve = await startServe();
    try {
      const big = await run(serve.url, CONTROL_BYTES);
      const ids = [];
      for (let i = 0; i < sessions; i += 1) ids.push((await initialize(serve.url, '127.0.0.3')).sessionId!);
      const baseline = await idle(serve.url, serve.pid);
      const raws = ids.map((sessionId, i) => ({
        from: '127.0.0.3',
        raw: rawRequest('POST', serve.port, '/mcp', { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
          JSON.stringify({ jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'get_output', arguments: { executionId: big.executionId, stream: 'stdout', byteOffset: 0, byteLimit: 1048576 } } })),
      }));
      const { peak, value, after } = await withNonReaders(serve, raws, async () => {
        await sleep(3000);
        return other(serve.url);
      });
      return { sessions, ...figures(baseline, peak, after), ...value };
    } finally {
      await serve.stop();
    }
  },

  async progressReaders() {
    const sessions = count('progress', 500);
    const secs = count('secs', 600);
    const serve = await startServe();
    try {
      const printing = await run(serve.url, `const end = Date.now() + ${(secs + 10) * 1000}; while (Date.now() < end) { console.log("\\u0001".repeat(4000)); await new Promise((r) => setTimeout(r, 20)); }`, 0);
      const ids = [];
      for (let i = 0; i < sessions; i += 1) ids.push((await initialize(serve.url, '127.0.0.3')).sessionId!);
      const baseline = usage(serve.pid);
      const raws = ids.map((sessionId, i) => ({
        from: '127.0.0.3',
        raw: rawRequest('POST', serve.port, '/mcp', { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' },
          JSON.stringify({ jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'get_execution', arguments: { executionId: printing.executionId, waitSecs: 50 }, _meta: { progressToken: i } } })),
      }));
      const { peak, value, after } = await withNonReaders(serve, raws, async () => {
        await sleep(secs * 1000);
        return other(serve.url);
      });
      return { sessions, secs, ...figures(baseline, peak, after), ...value };
    } finally {
      await serve.stop();
    }
  },

  bodiesAtOnce: () => bodies({}),

  /** 1 MiB every 100 ms, chunked: every body is in flight at once (with a length, the budget refuses them before reading). */
  bodiesSlowly: () => bodies({ chunked: true, pieceBytes: 1024 * 1024, everyMs: 100 }),

  async sessionFlood() {
    const initializes = count('initializes', 10_000);
    const serve = await startServe();
    try {
      const live = await mcpClient(serve.url);
      const baseline = await idle(serve.url, serve.pid);
      const call = live.callTool({ name: 'run_code', arguments: { code: 'await new Promise((r) => setTimeout(r, 25_000)); console.log("live answer")', waitSecs: 50 } }, undefined, { timeout: 120_000 })
        .then((answer) => (answer.structuredContent as Record<string, unknown>).stdout === 'live answer\n', (error: Error) => `lost: ${error.message.slice(0, 120)}`);
      const started = performance.now();
      const { peak, value } = await peakDuring(serve.pid, async () => {
        let ok = 0;
        const refusals = new Map<string, number>();
        for (let i = 0; i < initializes; i += 1) {
          const { sessionId, status, text } = await initialize(serve.url, '127.0.0.2');
          if (sessionId) ok += 1;
          else refusals.set(`${status} ${text.slice(0, 140)}`, (refusals.get(`${status} ${text.slice(0, 140)}`) ?? 0) + 1);
        }
        return { sessionsMade: ok, refusals: Object.fromEntries(refusals) };
      }, 100);
      const floodSecs = Math.round((performance.now() - started) / 100) / 10;
      const liveAnswer = await call;
      const liveSessionAfter = await live.listTools().then(() => 'alive', (error: Error) => `closed: ${error.message.slice(0, 120)}`);
      await live.close().catch(() => undefined);
      return { initializes, floodSecs, ...value, liveAnswerCorrect: liveAnswer, liveSessionAfter, ...figures(baseline, peak, usage(serve.pid)) };
    } finally {
      await serve.stop();
    }
  },

  async fairness() {
    const serve = await startServe(['--concurrency', '1', '--max-queue', '20']);
    try {
      const flood = await Promise.all(Array.from({ length: 21 }, () => mcpClient(serve.url, '127.0.0.2')));
      const baseline = await idle(serve.url, serve.pid);
      const { peak, value } = await peakDuring(serve.pid, async () => {
        const answers = await Promise.all(flood.map((client) => client.callTool({ name: 'run_code', arguments: { code: 'await new Promise((r) => setTimeout(r, 500))', waitSecs: 0 } })));
        const newcomer = await mcpClient(serve.url, '127.0.0.3');
        const mcp = await newcomer.callTool({ name: 'run_code', arguments: { code: 'console.log("newcomer")', waitSecs: 50 } });
        await newcomer.close();
        const rest = await run(serve.url, 'console.log("newcomer")', 50, '127.0.0.4');
        return {
          floodTaken: answers.filter((answer) => !answer.isError).length,
          newcomerMcp: mcp.isError ? (mcp.content as Array<{ text: string }>)[0]!.text.slice(0, 120) : (mcp.structuredContent as Record<string, unknown>).stdout === 'newcomer\n',
          newcomerRest: rest.stdout === 'newcomer\n' ? true : `${rest.httpStatus} ${JSON.stringify(rest.error ?? rest.status)}`.slice(0, 140),
        };
      }, 100);
      await Promise.all(flood.map((client) => client.close()));
      return { ...value, ...figures(baseline, peak, usage(serve.pid)) };
    } finally {
      await serve.stop();
    }
  },

  async crossOrigin() {
    const serve = await startServe();
    try {
      const baseline = await idle(serve.url, serve.pid);
      const body = JSON.stringify({ code: 'console.log("csrf")' });
      const { peak, value } = await peakDuring(serve.pid, async () => {
        const statuses = { otherPortJson: new Map<number, number>(), textPlain: new Map<number, number>() };
        for (let i = 0; i < 200; i += 1) {
          const a = await request(`${serve.url}/v1/runs`, { headers: { ...JSON_TYPE, origin: `http://localhost:${serve.port + 1}` }, body });
          statuses.otherPortJson.set(a.status, (statuses.otherPortJson.get(a.status) ?? 0) + 1);
          const b = await request(`${serve.url}/v1/runs`, { headers: { 'content-type': 'text/plain' }, body });
          statuses.textPlain.set(b.status, (statuses.textPlain.get(b.status) ?? 0) + 1);
        }
        return { otherPortJson: Object.fromEntries(statuses.otherPortJson), textPlain: Object.fromEntries(statuses.textPlain) };
      }, 100);
      const after = await idle(serve.url, serve.pid);
      return { requests: 400, ...value, ...(await other(serve.url)), ...figures(baseline, peak, after) };
    } finally {
      await serve.stop();
    }
  },

  async healthz() {
    const token = 'a-long-enough-secret-token';
    const guarded = await startServe(['--auth-token', token]);
    const open = await startServe();
    try {
      return {
        strangerWithoutToken: (await request(`${guarded.url}/healthz`)).text,
        foreignHost: (await request(`${open.url}/healthz`, { headers: { host: 'evil.example' } })).text,
        withToken: (await request(`${guarded.url}/healthz`, { headers: { authorization: `Bearer ${token}` } })).text,
        readinessProbe: (await request(`${guarded.url}/`, { headers: { host: 'platform.internal', 'x-apify-container-server-readiness-probe': '1' } })).text,
      };
    } finally {
      await guarded.stop();
      await open.stop();
    }
  },

  async shutdown() {
    const serve = await startServe(['--grace', '2']);
    const client = await mcpClient(serve.url);
    const call = client.callTool({ name: 'run_code', arguments: { code: 'console.log("up"); await new Promise(() => setInterval(() => {}, 1000));', waitSecs: 50 } }, undefined, { timeout: 60_000 });
    await sleep(1500);
    const exited = new Promise<number | null>((resolve) => serve.child.once('exit', resolve));
    serve.child.kill('SIGTERM');
    await sleep(300);
    const draining = await request(`${serve.url}/healthz`).then((answer) => `${answer.status} ${answer.text}`, (error: Error) => error.message);
    const answer = await call.then((result) => (result.structuredContent as Record<string, unknown>).statusMessage, (error: Error) => `lost: ${error.message}`);
    await exited;
    const second = await startServe(['--grace', '60']);
    await run(second.url, 'await new Promise(() => setInterval(() => {}, 1000));', 0);
    const secondExit = new Promise<number | null>((resolve) => second.child.once('exit', resolve));
    second.child.kill('SIGTERM');
    await sleep(300);
    const before = performance.now();
    second.child.kill('SIGTERM');
    const code = await Promise.race([secondExit, sleep(10_000).then(() => 'still running after 10 s')]);
    if (code === 'still running after 10 s') await second.stop();
    await client.close().catch(() => undefined);
    return { healthzWhileDraining: draining, abortedMessage: answer, secondSignal: `exit ${String(code)} after ${Math.round(performance.now() - before)} ms` };
  },
};

const chosen = values.only ? values.only.split(',') : Object.keys(scenarios);
const results: Record<string, unknown> = { cli: CLI };
for (const name of chosen) {
  const scenario = scenarios[name];
  if (!scenario) throw new Error(`No scenario ${name}; the scenarios: ${Object.keys(scenarios).join(', ')}`);
  progress(name);
  results[name] = await scenario().catch((error: Error) => ({ error: error.message }));
  process.stdout.write(`${name}: ${JSON.stringify(results[name])}\n`);
}
writeFileSync(path.join(PACKAGE_ROOT, 'bench', 'hostile-results.json'), `${JSON.stringify(results, null, 2)}\n`);
process.exit(0);
