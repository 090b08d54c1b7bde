// Remote mode against a local fake of the Apify API: each script is one Actor run (start, wait, read
// the one dataset item) and comes back as a RunResult; concurrency bounds the Actor runs; abort
// aborts the Actor run; a run without an item rejects; options remote mode cannot honour are refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, runCode } from '../../orchestrator/index.js';
import { platformMemoryMbytes } from '../../orchestrator/runtime/remote.js';
import type { RunResult } from '../../types/result.js';
import { rejects } from '../helpers/helpers.js';
import { startRemoteFake, type FakeHandler, type RemoteFake } from './remote-fake.js';

/** The Actor's item for a result, as `orchestrator/actor/item.ts` shapes it (no byte counts). */
function itemOf(result: RunResult): Record<string, unknown> {
  const { stdoutBytes: _o, stderrBytes: _e, ...rest } = result;
  return { ...rest, stdoutRecord: null, stderrRecord: null };
}

/** Plays the Actor: runs the input's code here, with the input's limits. */
const localActor: FakeHandler = async (run) => {
  const { code, timeoutSecs, memoryMbytes } = run.input as { code: string; timeoutSecs: number; memoryMbytes: number };
  return { item: itemOf(await runCode({ code, timeoutSecs, memoryMbytes })) };
};

async function withFake(handler: FakeHandler, body: (fake: RemoteFake) => Promise<void>): Promise<void> {
  const fake = await startRemoteFake(handler);
  try {
    await body(fake);
  } finally {
    await fake.close();
  }
}

const remote = suite('remote');

remote('remote :: a script runs as one Actor run and comes back as the same RunResult', () => withFake(localActor, async (fake) => {
  const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url }, defaults: { timeoutSecs: 20 } });
  const code = 'console.log("from afar");\nconsole.error("warned");';
  const result = await rt.run({ code, memoryMbytes: 200 });
  const local = await runCode({ code });
  assert.equal({ ...result, durationMillis: 0 }, { ...local, durationMillis: 0 });
  assert.is(fake.runs.length, 1);
  const [run] = fake.runs;
  assert.is(run!.actId, 'apify~code-runtime');
  assert.equal(run!.input, { code, timeoutSecs: 20, memoryMbytes: 200 });
  assert.is(run!.params.memory, String(platformMemoryMbytes(200)));
  assert.is(run!.params.timeout, String(20 + 30 + 60));
  assert.ok(fake.requests.some((line) => line.startsWith('GET /v2/datasets/dataset1/items?')), fake.requests.join('\n'));
  await rt.close();
}));

remote('remote :: script failures are results, in input order, with concurrency bounding the Actor runs', () => withFake(localActor, async (fake) => {
  const rt = createRuntime({ concurrency: 2, remote: { token: fake.token, baseUrl: fake.url, actorId: 'someone/runner', build: 'beta' } });
  const results = await rt.runMany([
    { code: 'await new Promise((r) => setTimeout(r, 200)); console.log("a")' },
    { code: 'throw new Error("b")' },
    { code: 'console.log("c")' },
    { code: 'Deno.exit(4)' },
    { code: 'console.log("e")' },
  ]);
  assert.equal(results.map((r) => r.status), ['SUCCEEDED', 'FAILED', 'SUCCEEDED', 'FAILED', 'SUCCEEDED']);
  assert.equal(results.map((r) => r.stdout), ['a\n', '', 'c\n', '', 'e\n']);
  assert.is(results[1]!.statusMessage, 'Script threw: Error: b');
  assert.is(results[3]!.exitCode, 4);
  assert.is(fake.runs.length, 5);
  assert.ok(fake.maxRunning <= 2, `${fake.maxRunning} Actor runs at once`);
  assert.ok(fake.runs.every((run) => run.actId === 'someone~runner' && run.params.build === 'beta'));
  await rt.close();
}));

remote('remote :: abort aborts the Actor run gracefully and gives ABORTED', async () => {
  const handler: FakeHandler = async (run) => {
    await run.aborted;
    return {};
  };
  await withFake(handler, async (fake) => {
    const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url } });
    const controller = new AbortController();
    const pending = rt.run({ code: 'while (true) {}', signal: controller.signal });
    while (fake.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    controller.abort();
    const result = await pending;
    assert.is(result.status, 'ABORTED');
    assert.is(result.exitCode, 130);
    assert.is(fake.runs[0]!.abortedGracefully, true);
    await rt.close();
  });
});

remote('remote :: close() aborts the Actor runs still going', async () => {
  const handler: FakeHandler = async (run) => {
    await run.aborted;
    // As the Actor does on 'aborting': the item says how far the script got.
    return { item: { status: 'ABORTED', exitCode: 130, stdout: 'partial\n', stderr: '', statusMessage: 'Aborted by the caller', durationMillis: 5, stdoutTruncated: false, stderrTruncated: false, actorRuns: [] } };
  };
  await withFake(handler, async (fake) => {
    const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url } });
    const pending = rt.run({ code: 'while (true) {}' });
    while (fake.runs.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await rt.close();
    const result = await pending;
    assert.is(result.status, 'ABORTED');
    assert.is(result.stdout, 'partial\n');
    assert.is(fake.runs[0]!.status, 'ABORTED');
  });
});

remote('remote :: the caller’s maxOutputBytes caps the streams of the item', () => withFake(async () => ({
  item: { status: 'SUCCEEDED', exitCode: 0, stdout: 'z'.repeat(20_000), stderr: '', statusMessage: 'Script completed', durationMillis: 3, stdoutTruncated: false, stderrTruncated: false, actorRuns: [] },
}), async (fake) => {
  const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url } });
  const result = await rt.run({ code: 'x', maxOutputBytes: 4096 });
  assert.ok(result.stdoutTruncated);
  assert.is(result.stdoutBytes, 20_000);
  assert.match(result.stdout, /\[… \d+ bytes cut; lineOffset \d+, byteOffset \d+ …\]/);
  assert.ok(Buffer.byteLength(result.stdout) < 4200);
  await rt.close();
}));

remote('remote :: an Actor run that ends without an item rejects, naming the run', () => withFake(async () => ({ status: 'FAILED', statusMessage: 'Invalid input' }), async (fake) => {
  const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url } });
  await rejects(rt.run({ code: 'console.log(1)' }), Error, /Actor run run1 ended FAILED without a result: Invalid input/);
  await rt.close();
}));

remote('remote :: a wrong token is an API error, not a result', () => withFake(localActor, async (fake) => {
  const rt = createRuntime({ remote: { token: 'wrong', baseUrl: fake.url } });
  await rejects(rt.run({ code: 'console.log(1)' }), Error, /token/i);
  await rt.close();
}));

remote('remote :: options remote mode cannot honour are TypeErrors', async () => {
  const remoteOptions = { token: 't', baseUrl: 'http://127.0.0.1:9' };
  assert.throws(() => createRuntime({ remote: remoteOptions, warmProcesses: 1 }), (e: Error) => e instanceof TypeError && /`warmProcesses`.*0 with `remote`/.test(e.message));
  assert.throws(() => createRuntime({ remote: { ...remoteOptions, memoryMbytes: 1000 } }), (e: Error) => e instanceof TypeError && /`remote.memoryMbytes`.*power of 2/.test(e.message));
  assert.throws(() => createRuntime({ remote: { ...remoteOptions, baseUrl: 'ftp://x' } }), (e: Error) => e instanceof TypeError && /`remote.baseUrl`/.test(e.message));
  assert.throws(() => createRuntime({ remote: { ...remoteOptions, tokn: 'x' } as never }), (e: Error) => e instanceof TypeError && /Unknown option `remote.tokn`/.test(e.message));
  assert.throws(() => createRuntime({ remote: remoteOptions, defaults: { token: 'x' } }), (e: Error) => e instanceof TypeError && /`defaults.token`/.test(e.message));
  const rt = createRuntime({ remote: remoteOptions });
  await rejects(rt.run({ code: 'x', apiBaseUrl: 'http://127.0.0.1:1' }), TypeError, /`apiBaseUrl` cannot be used with a remote runtime/);
  await rt.close();
});

remote('remote :: input files travel in the Actor\'s input; the value and the files come back from the item and its records', () => withFake(async (run) => {
  // Plays the Actor: its input files decoded, the script run here, each written file a record.
  const given = run.input.files as Record<string, { base64: string }>;
  const files = Object.fromEntries(Object.entries(given).map(([name, file]) => [name, Buffer.from(file.base64, 'base64')]));
  const result = await runCode({ code: run.input.code as string, files });
  const records = Object.fromEntries(result.files.map((file) => [`key-${file.name}`, { body: Buffer.from(file.bytes), contentType: file.contentType }]));
  const listed = result.files.map(({ name, contentType, size }) => ({ name, contentType, size, key: `key-${name}`, url: 'https://example.invalid/' }));
  return { item: { ...itemOf(result), files: listed }, records };
}, async (fake) => {
  const rt = createRuntime({ remote: { token: fake.token, baseUrl: fake.url } });
  const bytes = Uint8Array.from([0, 1, 2, 250]);
  const result = await rt.run({ code: 'await files.write("out.bin", await files.read("in.bin"));\nexport default files.list();', files: { 'in.bin': bytes } });
  assert.is(result.status, 'SUCCEEDED', result.stderr);
  assert.equal(result.value, [{ name: 'in.bin', size: 4, contentType: 'application/octet-stream' }]);
  assert.equal(result.files.map(({ name, contentType, size }) => ({ name, contentType, size })), [{ name: 'out.bin', contentType: 'application/octet-stream', size: 4 }]);
  assert.equal([...result.files[0]!.bytes], [...bytes]);
  assert.ok(fake.requests.some((line) => line.startsWith('GET /v2/key-value-stores/store1/records/key-out.bin')), fake.requests.join('\n'));
  await rt.close();
}));

remote('remote :: Actor run memory fits the script, in powers of 2', () => {
  assert.is(platformMemoryMbytes(16), 512);
  assert.is(platformMemoryMbytes(256), 1024);
  assert.is(platformMemoryMbytes(1024), 2048);
  assert.is(platformMemoryMbytes(32_768), 32_768);
});

remote.run();
