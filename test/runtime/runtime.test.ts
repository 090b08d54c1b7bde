// createRuntime: ordering, isolation of failures, abort, close, concurrency, defaults, bad options,
// and no Deno child outliving its process. Real Deno children throughout; each test's runtime uses
// a memory limit of its own, so among this process's descendants its flag shows exactly its children.
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime } from '../../orchestrator/index.js';
import { fixture, rejects, ROOT } from '../helpers/helpers.js';
import { describe, processGroup } from '../helpers/processes.js';
import { sampleMax, sandboxesWith, waitUntil } from '../helpers/sandboxes.js';
import { startRemoteFake } from './remote-fake.js';

const runtime = suite('runtime');

runtime('runtime :: runMany keeps input order and isolates failures', async () => {
  const rt = createRuntime({ concurrency: 3, warmProcesses: 1, defaults: { timeoutSecs: 30 } });
  try {
    const results = await rt.runMany([
      { code: 'console.log("first")' },
      { code: fixture('throws.ts') },
      { code: 'const x = ;' },
      { code: 'await new Promise((r) => setTimeout(r, 300)); console.log("slow")' },
      { code: fixture('exit-code.ts') },
      { code: fixture('heap-bomb.ts'), memoryMbytes: 32 },
      { code: 'console.log("last")' },
    ]);
    assert.equal(results.map((r) => r.status), ['SUCCEEDED', 'FAILED', 'FAILED', 'SUCCEEDED', 'FAILED', 'OUT-OF-MEMORY', 'SUCCEEDED']);
    assert.is(results[0]!.stdout, 'first\n');
    assert.is(results[1]!.statusMessage, 'Script threw: Error: boom');
    assert.match(results[2]!.statusMessage, /^Syntax error/);
    assert.is(results[3]!.stdout, 'slow\n');
    assert.is(results[4]!.exitCode, 3);
    assert.is(results[6]!.stdout, 'last\n');
  } finally {
    await rt.close();
  }
});

runtime('runtime :: runMany of many queued runs emits no listener-leak warning', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  const rt = createRuntime({ concurrency: 2, warmProcesses: 0 });
  try {
    const results = await rt.runMany(Array.from({ length: 24 }, (_, i) => ({ code: `console.log(${i})` })));
    assert.is(results.filter((r) => r.status === 'SUCCEEDED').length, 24);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(warnings, []);
  } finally {
    process.off('warning', onWarning);
    await rt.close();
  }
});

runtime('runtime :: abort gives ABORTED and kills the child', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 1, defaults: { memoryMbytes: 81 } });
  try {
    const controller = new AbortController();
    const result = await rt.run({ code: 'console.log(Deno.pid);\nwhile (true) {}', signal: controller.signal, onOutput: () => controller.abort() });
    assert.is(result.status, 'ABORTED');
    assert.is(result.exitCode, 130);
    assert.is(result.statusMessage, 'Aborted by the caller');
    const pid = result.stdout.trim();
    assert.match(pid, /^\d+$/);
    // Its warm replacement may be waiting; the child that ran the loop is gone.
    assert.equal(sandboxesWith(81).filter((line) => line.startsWith(`${pid}:`)), []);
  } finally {
    await rt.close();
  }
  assert.equal(sandboxesWith(81), []);
});

runtime('runtime :: a signal aborted before the run starts gives ABORTED without a child', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 0, defaults: { memoryMbytes: 82 } });
  try {
    const sampler = sampleMax(() => sandboxesWith(82).length);
    const result = await rt.run({ code: 'console.log(1)', signal: AbortSignal.abort() });
    assert.is(result.status, 'ABORTED');
    assert.is(result.stdout, '');
    assert.is(sampler.stop(), 0);
  } finally {
    await rt.close();
  }
});

runtime('runtime :: close() aborts running scripts, ends queued ones and leaves no Deno process', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 2, defaults: { memoryMbytes: 84 } });
  let started!: () => void;
  const running = new Promise<void>((resolve) => { started = resolve; });
  const first = rt.run({ code: fixture('forever.ts'), onOutput: () => started() });
  const queued = [rt.run({ code: 'console.log(2)' }), rt.run({ code: 'console.log(3)' })];
  await running;
  assert.ok(sandboxesWith(84).length >= 1);
  await rt.close();
  assert.equal(sandboxesWith(84), []);
  const results = await Promise.all([first, ...queued]);
  assert.equal(results.map((r) => r.status), ['ABORTED', 'ABORTED', 'ABORTED']);
  assert.is(results[0]!.stdout, 'started\n');
  await rejects(rt.run({ code: 'console.log(4)' }), Error, /runtime is closed/);
  await rt.close();
});

/**
 * A server on 127.0.0.1 where scripts meet in pairs: each request is held until another one comes,
 * then both are answered. Two scripts that both pass it were running at the same time, however
 * slowly the machine started them.
 */
async function startMeetingPoint(): Promise<{ url: string; close(): Promise<void> }> {
  let waiting: http.ServerResponse | undefined;
  const server = http.createServer((_req, res) => {
    if (!waiting) {
      waiting = res;
      return;
    }
    waiting.end('met');
    res.end('met');
    waiting = undefined;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

runtime('runtime :: concurrency is respected: never more scripts at once than allowed', async () => {
  const meeting = await startMeetingPoint();
  const rt = createRuntime({ concurrency: 2, warmProcesses: 0, defaults: { memoryMbytes: 85, timeoutSecs: 30, apiBaseUrl: meeting.url } });
  try {
    const sampler = sampleMax(() => sandboxesWith(85).length);
    // Each script waits for a partner: with a concurrency of 2 the four meet as two pairs; with 1 none
    // would ever meet (each would time out).
    const code = `console.log(Date.now());\nawait (await fetch(${JSON.stringify(`${meeting.url}/meet`)})).text();\nconsole.log(Date.now());`;
    const results = await rt.runMany(Array.from({ length: 4 }, () => ({ code })));
    const peak = sampler.stop();
    assert.equal(results.map((r) => r.status), ['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED'], results.map((r) => r.statusMessage).join('\n'));
    assert.ok(peak <= 2, `${peak} Deno processes at once`);
    const spans = results.map((r) => String(r.stdout).trim().split('\n').map(Number) as [number, number]);
    const overlap = Math.max(...spans.map(([start]) => spans.filter(([s, e]) => s <= start && start <= e).length));
    assert.is(overlap, 2, `spans ${JSON.stringify(spans)}`);
  } finally {
    await rt.close();
    await meeting.close();
  }
});

runtime('runtime :: defaults apply to every run and a run’s own options win', async () => {
  const rt = createRuntime({ concurrency: 2, warmProcesses: 0, defaults: { maxOutputBytes: 4096, scriptName: 'job.ts' } });
  try {
    const code = 'console.log("y".repeat(10_000));\nthrow new Error("late");';
    const [capped, own] = await rt.runMany([{ code }, { code, maxOutputBytes: 65_536, scriptName: undefined }]);
    assert.ok(capped!.stdoutTruncated);
    assert.match(String(capped!.stderr), /job\.ts:2/);
    assert.not.ok(own!.stdoutTruncated);
    assert.match(String(own!.stderr), /job\.ts:2/, 'an option set to undefined keeps the default');
  } finally {
    await rt.close();
  }
});

runtime('runtime :: bad options are TypeErrors naming the option, and nothing runs', async () => {
  assert.throws(() => createRuntime({ concurrency: 0 }), (e: Error) => e instanceof TypeError && /`concurrency`.*from 1 to 1,024.*got 0/.test(e.message));
  assert.throws(() => createRuntime({ warmProcesses: -1 }), (e: Error) => e instanceof TypeError && /`warmProcesses`/.test(e.message));
  assert.throws(() => createRuntime({ workers: 2 } as never), (e: Error) => e instanceof TypeError && /Unknown option `workers`/.test(e.message));
  assert.throws(() => createRuntime({ defaults: { code: 'x' } as never }), (e: Error) => e instanceof TypeError && /`defaults` cannot hold `code`/.test(e.message));
  assert.throws(() => createRuntime({ defaults: { timeoutSecs: 0 } }), (e: Error) => e instanceof TypeError && /In `defaults`: .*`timeoutSecs`/.test(e.message));
  const rt = createRuntime({ concurrency: 1, warmProcesses: 0, defaults: { memoryMbytes: 86 } });
  try {
    const sampler = sampleMax(() => sandboxesWith(86).length);
    await rejects(rt.runMany([{ code: 'console.log(1)' }, { code: '' }]), TypeError, /^optionsList\[1\]: Expected the `code` option/);
    await rejects(rt.run({ code: 'x', timeoutSecs: 9999 }), TypeError, /`timeoutSecs`/);
    await rejects(rt.runMany('nope' as never), TypeError, /`optionsList`/);
    assert.is(sampler.stop(), 0);
  } finally {
    await rt.close();
  }
});

runtime('runtime :: a run aborted while it waits for its slot is ABORTED at once, and never starts', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 0, defaults: { memoryMbytes: 88 } });
  try {
    const ahead = rt.run({ code: 'await new Promise((r) => setTimeout(r, 4000));\nconsole.log("ahead done");' });
    const controller = new AbortController();
    const queued = rt.run({ code: 'console.log("should never run")', signal: controller.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const abortedAt = Date.now();
    controller.abort();
    const r = await queued;
    const waited = Date.now() - abortedAt;
    assert.is(r.status, 'ABORTED');
    assert.is(r.stdout, '');
    assert.ok(waited < 1000, `resolved ${waited} ms after the abort (the run ahead takes 4 s)`);
    // Only the run ahead ever had a process.
    assert.ok(sandboxesWith(88).length <= 1);
    assert.is((await ahead).stdout, 'ahead done\n');
  } finally {
    await rt.close();
  }
});

runtime('runtime :: close() resolves queued runs ABORTED without waiting for the runs ahead', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 0 });
  const ahead = rt.run({ code: fixture('forever.ts') });
  const queued = rt.run({ code: 'console.log("never")' });
  await new Promise((resolve) => setTimeout(resolve, 300));
  const started = Date.now();
  await rt.close();
  const [a, q] = await Promise.all([ahead, queued]);
  assert.is(a.status, 'ABORTED');
  assert.is(q.status, 'ABORTED');
  assert.is(q.stdout, '');
  assert.ok(Date.now() - started < 5000);
});

runtime('runtime :: runMany keeps every result when one run cannot be carried out', async () => {
  // Remote mode against the local fake: the Actor run of the middle script ends without a result,
  // an infrastructure failure of that one run (run() would reject with it).
  const fake = await startRemoteFake(async (run) => {
    const code = String(run.input.code);
    if (code.includes('lost')) return { status: 'FAILED', statusMessage: 'Actor crashed' };
    return { item: { status: 'SUCCEEDED', exitCode: 0, stdout: code, stderr: '', statusMessage: 'Script completed', durationMillis: 1, stdoutTruncated: false, stderrTruncated: false, actorRuns: [], stdoutRecord: null, stderrRecord: null } };
  });
  const rt = createRuntime({ concurrency: 2, remote: { token: fake.token, baseUrl: fake.url } });
  try {
    const entries = await rt.runMany([{ code: 'one' }, { code: 'lost' }, { code: 'three' }]);
    assert.equal(entries.map((entry) => entry.status), ['SUCCEEDED', 'INFRASTRUCTURE-ERROR', 'SUCCEEDED']);
    assert.is(entries[0]!.stdout, 'one');
    assert.is(entries[2]!.stdout, 'three');
    const lost = entries[1]!;
    assert.ok(lost.status === 'INFRASTRUCTURE-ERROR' && lost.error instanceof Error);
    assert.match(lost.statusMessage, /ended FAILED without a result: Actor crashed/);
    assert.is(lost.stdout, undefined);
  } finally {
    await rt.close();
    await fake.close();
  }
});

const EMBEDDER = `
import { createRuntime } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'orchestrator', 'index.js')).href)};
import { currentSpawner } from ${JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', 'orchestrator', 'run', 'spawner.js')).href)};
const [how, via] = process.argv.slice(1);
const rt = createRuntime({ concurrency: 1, warmProcesses: 2, defaults: { memoryMbytes: 87 } });
if (via === 'spawner') {
  // Runs until the spawner is ready, then two more, so the idle children are the spawner's too.
  for (let i = 0; i < 40 && !currentSpawner()?.ready; i += 1) await rt.run({ code: '0' });
  for (let i = 0; i < 3; i += 1) await rt.run({ code: '0' });
  console.log('spawner', currentSpawner()?.pid);
}
rt.run({ code: 'console.log("started"); while (true) {}', onOutput: () => {
  if (how === 'exit') process.exit(0); else process.kill(process.pid, how);
} });
`;

type Death = 'exit' | 'SIGTERM' | 'SIGKILL';

/**
 * Runs the embedder in a process group of its own (numbered by its pid): its Deno children and
 * spawner stay in that group after it dies, when they are no longer anyone's descendants here.
 */
function embedder(how: Death, via: 'direct' | 'spawner'): Promise<{ said: string; group: number }> {
  return new Promise((resolve, reject) => {
    const child = execFile(process.execPath, ['--input-type=module', '-e', EMBEDDER, how, via], { timeout: 20_000, detached: true } as object, (error, stdout) => {
      // Dying by the signal is the point of those cases.
      if (error && !(how !== 'exit' && error.signal === how)) reject(error);
      else resolve({ said: String(stdout), group: child.pid! });
    });
  });
}

// SIGKILL gives Node no chance to clean up: the child dies by its own death signal (setpriv's, or
// the spawner's, which dies by its own).
for (const via of ['direct', 'spawner'] as const) {
  for (const how of ['exit', 'SIGTERM', 'SIGKILL'] as const) {
    runtime(`runtime :: no Deno child outlives its embedding process (${how}, children started ${via === 'direct' ? 'directly' : 'by the spawner'})`, async () => {
      const { said, group } = await embedder(how, via);
      const spawner = /^spawner (\d+)$/m.exec(said)?.[1];
      if (via === 'spawner') assert.ok(spawner, `a spawner was ready: ${said}`);
      // Killed processes leave the table as soon as the kernel has torn them down: nothing of the
      // embedder's is left, neither a Deno child (running or idle) nor the spawner.
      assert.ok(await waitUntil(() => processGroup(group).length === 0, 5_000), `left behind (the spawner was ${spawner}):\n${describe(processGroup(group))}`);
    });
  }
}

runtime.run();
