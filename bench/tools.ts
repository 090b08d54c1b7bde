/**
 * `npm run bench:tools`: what Code Mode buys, and what the tools path costs. Against the reference
 * upstream (server-everything over stdio):
 * 1. 100 `get-sum` calls made by one script through `code-runtime mcp --config` (one run_code),
 *    against 100 separate MCP tool calls from a client to the same upstream: wall time, and the
 *    characters a model reads in each case (what it is shown and what it writes).
 * 2. Added latency per call: sequential calls from a script (guest → relay → SDK Client → upstream)
 *    against sequential calls of a Node SDK Client straight to the same upstream, interleaved;
 *    and a host tool (no upstream), the floor of the path.
 * 3. The bounds, as the code defines them.
 * Writes bench/tools-results.json. Usage: node dist/bench/tools.js [--quick]
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { PACKAGE_ROOT } from '../orchestrator/run/deno.js';
import { RUN_OPTIONS } from '../orchestrator/run/option-table.js';
import { RELAY_LIMITS } from '../orchestrator/relay/limits.js';
import { createRuntime } from '../orchestrator/index.js';
import { round, summarize, table } from './stats.js';

const QUICK = process.argv.includes('--quick');
const CALLS = 100;
const ROUNDS = QUICK ? 3 : 7;
const LATENCY_CALLS = QUICK ? 100 : 300;
const CLI = path.join(PACKAGE_ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const EVERYTHING = path.join(PACKAGE_ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
const CONFIG = path.join(PACKAGE_ROOT, 'dist', 'bench', 'tools-config.json');
const progress = (text: string) => process.stderr.write(`… ${text}\n`);

/** The script a model writes for the job: 100 calls, one compact line printed. */
const SCRIPT = `const sums = await Promise.all(Array.from({ length: ${CALLS} }, (_, i) => tools.everything['get-sum']({ a: i, b: 1 })));
const total = sums.reduce((t, s) => t + Number(s.match(/is (\\d+)/)[1]), 0);
console.log(\`${CALLS} sums, total \${total}\`);`;

async function client(command: string, args: string[]): Promise<Client> {
  const c = new Client({ name: 'bench', version: '1' });
  await c.connect(new StdioClientTransport({ command, args, stderr: 'pipe' }));
  return c;
}

const chars = (value: unknown) => JSON.stringify(value).length;

async function codeModeVsDirect() {
  writeFileSync(CONFIG, JSON.stringify({ mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } } }));
  const codeMode = await client(process.execPath, [CLI, 'mcp', '--config', CONFIG]);
  const direct = await client(process.execPath, [EVERYTHING, 'stdio']);
  // What each model is shown once, before any call: the tool definitions (and, in Code Mode, the docs it reads).
  const codeModeList = (await codeMode.listTools()).tools;
  const docsRequest = { name: 'get_code_docs', arguments: { topic: 'tools' } };
  const docs = await codeMode.callTool(docsRequest);
  const directList = (await direct.listTools()).tools;
  // Warm both: the upstream behind code-runtime starts on first use.
  await codeMode.callTool({ name: 'run_code', arguments: { code: SCRIPT } });
  await direct.callTool({ name: 'get-sum', arguments: { a: 1, b: 1 } });
  const codeModeMs: number[] = [];
  const directMs: number[] = [];
  let codeModeRequest: unknown;
  let codeModeAnswer: unknown;
  const directRequests: unknown[] = [];
  const directAnswers: unknown[] = [];
  for (let round = 0; round < ROUNDS; round += 1) {
    progress(`code mode vs direct, round ${round + 1}/${ROUNDS}`);
    let started = performance.now();
    codeModeRequest = { name: 'run_code', arguments: { code: SCRIPT } };
    codeModeAnswer = await codeMode.callTool(codeModeRequest as { name: string; arguments: Record<string, unknown> });
    codeModeMs.push(performance.now() - started);
    directRequests.length = 0;
    directAnswers.length = 0;
    started = performance.now();
    for (let i = 0; i < CALLS; i += 1) {
      const request = { name: 'get-sum', arguments: { a: i, b: 1 } };
      directRequests.push(request);
      directAnswers.push(await direct.callTool(request));
    }
    directMs.push(performance.now() - started);
  }
  const answer = codeModeAnswer as { content: Array<{ text: string }> };
  const answerText = answer.content.map((c) => c.text).join('');
  if (!answerText.startsWith('SUCCEEDED')) throw new Error(`the script failed: ${answerText}`);
  await codeMode.close();
  await direct.close();
  // A model reads the tool list it is given, what it writes (the calls) and what comes back.
  const model = {
    codeMode: {
      toolList: chars(codeModeList), docs: chars(docs.content), written: chars(codeModeRequest),
      answersText: answer.content.map((c) => c.text).join('').length, answersJson: chars(answer),
    },
    direct: { toolList: chars(directList), written: directRequests.reduce<number>((n, r) => n + chars(r), 0), answersJson: directAnswers.reduce<number>((n, a) => n + chars(a), 0) },
  };
  return { codeModeMs: summarize(codeModeMs), directMs: summarize(directMs), model, stdout: /\d+ sums, total \d+/.exec(answerText)?.[0] ?? answerText };
}

async function latency() {
  const runtime = createRuntime({
    concurrency: 1,
    mcpServers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } },
    tools: { host: { add: { handler: ({ a, b }) => (a as number) + (b as number) } } },
  });
  const direct = await client(process.execPath, [EVERYTHING, 'stdio']);
  // Warmed first inside the run (JIT, keep-alive connection), then timed.
  const script = (call: string) => `for (let i = 0; i < 50; i++) await ${call};
const t = performance.now();
for (let i = 0; i < ${LATENCY_CALLS}; i++) await ${call};
console.log((performance.now() - t) / ${LATENCY_CALLS});`;
  const viaScript: number[] = [];
  const viaHost: number[] = [];
  const viaSdk: number[] = [];
  // This process's CPU per call (the orchestrator's side: relay and SDK client; the client's side
  // for the direct calls), which load on the machine does not inflate as it does wall time.
  const cpuScript: number[] = [];
  const cpuSdk: number[] = [];
  const cpuOf = async (work: () => Promise<unknown>) => {
    const before = process.cpuUsage();
    await work();
    const used = process.cpuUsage(before);
    return used.user + used.system;
  };
  const sums = script("tools.everything['get-sum']({ a: i, b: 1 })");
  const none = script('Promise.resolve(i)');
  await runtime.run({ code: sums });
  for (let round = 0; round < ROUNDS; round += 1) {
    progress(`latency, round ${round + 1}/${ROUNDS}`);
    let upstream: Awaited<ReturnType<typeof runtime.run>> | undefined;
    const withCalls = await cpuOf(async () => (upstream = await runtime.run({ code: sums })));
    if (upstream?.status !== 'SUCCEEDED') throw new Error(upstream?.stderr);
    const withoutCalls = await cpuOf(() => runtime.run({ code: none }));
    cpuScript.push((withCalls - withoutCalls) / (LATENCY_CALLS + 50));
    viaScript.push(Number(upstream.stdout));
    viaHost.push(Number((await runtime.run({ code: script('tools.host.add({ a: i, b: 1 })') })).stdout));
    const started = performance.now();
    cpuSdk.push(await cpuOf(async () => {
      for (let i = 0; i < LATENCY_CALLS; i += 1) await direct.callTool({ name: 'get-sum', arguments: { a: i, b: 1 } });
    }) / LATENCY_CALLS);
    viaSdk.push((performance.now() - started) / LATENCY_CALLS);
  }
  await direct.close();
  await runtime.close();
  return {
    script: summarize(viaScript.map((ms) => ms * 1000)), host: summarize(viaHost.map((ms) => ms * 1000)), sdk: summarize(viaSdk.map((ms) => ms * 1000)),
    cpuScript: summarize(cpuScript), cpuSdk: summarize(cpuSdk),
  };
}

const compare = await codeModeVsDirect();
const perCall = await latency();
const bounds = {
  maxToolCalls: RUN_OPTIONS.maxToolCalls.default,
  toolTimeoutSecs: RUN_OPTIONS.toolTimeoutSecs.default,
  toolCallsPerRun: RELAY_LIMITS.toolCallsPerRun,
  toolArgsBytes: RELAY_LIMITS.toolArgsBytes,
  toolResultBytes: RELAY_LIMITS.toolResultBytes,
  answerBytesPerRun: RELAY_LIMITS.answerBytesPerRun,
  answerBytes: RELAY_LIMITS.answerBytes,
  requestsPerRun: RELAY_LIMITS.requestsPerRun,
  connectionsPerRun: RELAY_LIMITS.connectionsPerRun,
  toolCallRecords: RELAY_LIMITS.toolCallRecords,
};
const m = compare.model;
// In context: what the model has read by the end. Processed: an agent sends the whole context again
// at every turn, so each turn reads everything before it (the tool list every time).
const codeModeContext = m.codeMode.toolList + m.codeMode.docs + m.codeMode.written + m.codeMode.answersJson;
const codeModeProcessed = m.codeMode.toolList + (m.codeMode.toolList + m.codeMode.docs) + codeModeContext;
const perDirectCall = (m.direct.written + m.direct.answersJson) / CALLS;
const directContext = m.direct.toolList + m.direct.written + m.direct.answersJson;
let directProcessed = 0;
for (let turn = 0; turn <= CALLS; turn += 1) directProcessed += m.direct.toolList + turn * perDirectCall;
process.stdout.write(`${table([
  [`${CALLS} get-sum calls`, 'wall ms (median)', 'p95', 'model turns', 'chars in context', 'chars processed over the turns'],
  ['one script (run_code)', compare.codeModeMs.median, compare.codeModeMs.p95, 3, codeModeContext, Math.round(codeModeProcessed)],
  [`${CALLS} MCP tool calls`, compare.directMs.median, compare.directMs.p95, CALLS + 1, directContext, Math.round(directProcessed)],
])}\n  in context: code mode = tool list ${m.codeMode.toolList} + tools docs ${m.codeMode.docs} + script ${m.codeMode.written} + answer ${m.codeMode.answersJson} (its text ${m.codeMode.answersText});`
  + ` direct = tool list ${m.direct.toolList} + calls ${m.direct.written} + answers ${m.direct.answersJson} (${Math.round(perDirectCall)} per call);`
  + ` processed ratio ${round(directProcessed / codeModeProcessed, 1)}×\n`
  + `  script printed: ${compare.stdout}\n\n${table([
    ['sequential calls, µs per call', 'median', 'p95'],
    ['SDK Client → server-everything (direct)', perCall.sdk.median, perCall.sdk.p95],
    ['script → relay → SDK Client → server-everything', perCall.script.median, perCall.script.p95],
    ['script → relay → host tool (no upstream)', perCall.host.median, perCall.host.p95],
  ])}\n  added per call over direct: ${round(perCall.script.median - perCall.sdk.median, 0)} µs wall;`
  + ` this process's CPU per call ${perCall.cpuScript.median} µs through a script against ${perCall.cpuSdk.median} µs for the direct client (+${round(perCall.cpuScript.median - perCall.cpuSdk.median, 0)} µs)\n\nbounds: ${JSON.stringify(bounds)}\n`);
writeFileSync(path.join(PACKAGE_ROOT, 'bench', 'tools-results.json'), `${JSON.stringify({ calls: CALLS, rounds: ROUNDS, compare, perCall, bounds }, null, 2)}\n`);
