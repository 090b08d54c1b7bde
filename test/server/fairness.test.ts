// Finding 3: fairness cannot be bought with free sessions. One client opens 21 MCP sessions and
// queues a script from each against `--concurrency 1 --max-queue 20`; it is held to its share
// (sessions from one address are one client), and clients at other addresses, over MCP and REST,
// still get their scripts queued and correct answers. RSS and fds are measured meanwhile. The
// flooding scripts wait at a gate (an origin in this process that --allow-host lets them fetch) until
// all 21 calls were answered, so none ends while the others arrive, however slow the machine.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe, type ServeProcess } from './processes.js';
import { fetchFrom, idle, peakDuring, request } from './load.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';
import { startGate, type Gate } from '../helpers/gate.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

const fair = suite('server fairness');
let serve: ServeProcess;
let gate: Gate;

fair.before(async () => {
  gate = await startGate();
  serve = await startServe(['--concurrency', '1', '--max-queue', '20', '--allow-host', gate.url]);
});

fair.after(async () => {
  gate.open();
  await serve.stop();
  await gate.close();
});

async function client(from: string): Promise<Client> {
  const each = new Client({ name: from, version: '1' }, STRUCTURED);
  await each.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { fetch: fetchFrom(from) }));
  return each;
}

fair('fairness :: 21 sessions of one client do not fill the queue against others', async () => {
  const warm = await request(`${serve.url}/v1/runs?wait=30`, { headers: { 'content-type': 'application/json' }, body: '{"code":"console.log(0)"}' });
  assert.is(warm.json().status, 'SUCCEEDED');
  const before = await idle(serve.url, serve.child.pid!);
  const flood = await Promise.all(Array.from({ length: 21 }, () => client('127.0.0.2')));
  const { peak } = await peakDuring(serve.child.pid!, async () => {
    const answers = await Promise.all(flood.map((each, i) => each.callTool({ name: 'run_code', arguments: { code: `await (await fetch('${gate.url}/')).text(); console.log(${i})`, waitSecs: 0 } })));
    const refused = answers.filter((answer) => answer.isError);
    const queued = answers.length - refused.length;
    // One runs (held at the gate); half the queue (10) is the flooding client's share while it is the only one waiting.
    assert.is(queued, 11, `${queued} of its scripts were taken`);
    assert.is(refused.length, 10);
    gate.open();
    const text = (refused[0]!.content as Array<{ text: string }>)[0]!.text;
    assert.match(text, /queue is full for this client/);
    const other = await client('127.0.0.3');
    try {
      const answer = await other.callTool({ name: 'run_code', arguments: { code: 'console.log("newcomer over MCP")', waitSecs: 30 } });
      assert.not.ok(answer.isError, JSON.stringify(answer.content));
      assert.is((answer.structuredContent as Record<string, unknown>).stdout, 'newcomer over MCP\n');
    } finally {
      await other.close();
    }
    const rest = await request(`${serve.url}/v1/runs?wait=30`, { from: '127.0.0.4', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code: 'console.log("newcomer over REST")' }) });
    assert.equal([rest.status, rest.json().stdout], [200, 'newcomer over REST\n']);
    // Its scripts still queued are cancelled, so that "after" is soon.
    for (const answer of answers) {
      const id = (answer.structuredContent as Record<string, string> | undefined)?.executionId;
      if (id) await request(`${serve.url}/v1/runs/${id}/abort`, { method: 'POST', from: '127.0.0.2' });
    }
  });
  await Promise.all(flood.map((each) => each.close()));
  const after = await idle(serve.url, serve.child.pid!);
  process.stderr.write(`  [fairness] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < 200, `RSS grew ${peak.rssMiB - before.rssMiB} MiB`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds (before ${before.fds})`);
});

fair.run();
