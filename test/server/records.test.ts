// Executions that outlive their process, in-process: two ExecutionServices ("runs") over one shared
// record store. A stream kept and restored pages exactly as the original (complete, and cut with
// its line index across the cut); records are sealed (another id's secret, another key, a bomb: no
// record); an execution ended on A answers on B as on A; one running on A is answered with where it
// runs, then with its result once it ends; a run that stopped without a final record leaves a lost
// execution, not a running one forever; no answer waits for a write; a store that refuses writes or
// reads costs only cross-run answers, with errors that say so; what waits to be written is capped;
// the TTL is judged from the record's own times.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ExecutionService } from '../../orchestrator/server/service.js';
import { UnknownExecutionError } from '../../orchestrator/server/executions.js';
import { OutputStream, type PageRequest } from '../../orchestrator/server/stream.js';
import { decodeRecord, encodeRecord, finalBody } from '../../orchestrator/server/records/codec.js';
import { newExecutionId, parseExecutionId, recordKey } from '../../orchestrator/server/records/ids.js';
import { RecordsUnavailableError, type RecordStore } from '../../orchestrator/server/records/store.js';
import { answerText, executionView } from '../../orchestrator/server/view.js';
import { rejects } from '../helpers/helpers.js';
import { script, scriptedRuntime, type Scripted } from '../helpers/scripted-runtime.js';
import type { RunResult } from '../../types/result.js';

const records = suite('server records');

// ---------------------------------------------------------------------------------------------
// A shared in-memory "platform": stores by id, runs that may be stopped, writes that can be held.

interface Shared {
  stores: Map<string, Map<string, Uint8Array>>;
  stopped: Set<string>;
  puts: Array<{ home: string; key: string; bytes: number }>;
  logged: string[];
}

interface Faults {
  /** Writes wait for this before they land. */
  hold?: Promise<void>;
  failPut?: boolean;
  failGet?: boolean;
}

function memoryStore(shared: Shared, home: string, holder: string, faults: Faults = {}): RecordStore {
  shared.stores.set(home, shared.stores.get(home) ?? new Map());
  return {
    home,
    holder,
    async put(key, value) {
      await faults.hold;
      if (faults.failPut) throw new Error('Refused by the test store (403)');
      shared.stores.get(home)!.set(key, value);
      shared.puts.push({ home, key, bytes: value.byteLength });
    },
    async get(store, key) {
      if (faults.failGet) throw new Error('connect ECONNREFUSED');
      return shared.stores.get(store)?.get(key);
    },
    async isRunning(run) {
      return !shared.stopped.has(run);
    },
    log: (line) => void shared.logged.push(line),
  };
}

function platform(): Shared {
  return { stores: new Map(), stopped: new Set(), puts: [], logged: [] };
}

function service(store: RecordStore, options: { now?: () => number; memoryBudgetBytes?: number; ttlSecs?: number } = {}): ExecutionService {
  return new ExecutionService({ runtime: scriptedRuntime(), concurrency: 2, maxQueue: 10, records: store, ...options });
}

async function ran(on: ExecutionService, spec: Scripted) {
  const execution = on.start('test', { code: script(spec) });
  await execution.done;
  return execution;
}

const PAGES: PageRequest[] = [
  {}, { lineOffset: 1, lineLimit: 5 }, { lineOffset: 1000, lineLimit: 50 }, { lineOffset: 1025, lineLimit: 3 }, { lineOffset: 2047, lineLimit: 10 },
  { lineOffset: 3073, lineLimit: 2 }, { lineOffset: 4000, lineLimit: 100 }, { lineOffset: 99_999 },
  { byteOffset: 0, byteLimit: 100 }, { byteOffset: 2040, byteLimit: 30 }, { byteOffset: 5000, byteLimit: 10 }, { byteOffset: 6143, byteLimit: 5 }, { byteOffset: 7000 },
];

function samePages(original: OutputStream, restored: OutputStream, extra: PageRequest[] = []): void {
  for (const request of [...PAGES, ...extra]) assert.equal(restored.page(request), original.page(request), JSON.stringify(request));
}

function fill(cap: number, text: string, chunk = 997): OutputStream {
  const stream = new OutputStream(cap);
  const bytes = Buffer.from(text);
  for (let at = 0; at < bytes.length; at += chunk) stream.append(bytes.subarray(at, at + chunk));
  stream.end();
  return stream;
}

// ---------------------------------------------------------------------------------------------

records('records :: a restored stream pages as the original: complete, cut, and cut where a line-index checkpoint starts the tail', () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `${i + 1} ${'é😀'.repeat(i % 5)}`).join('\n');
  const complete = fill(1024 ** 2, lines);
  samePages(complete, OutputStream.restore(complete.snapshot()));

  const cut = fill(4096, lines);
  assert.not.ok(cut.complete);
  const restored = OutputStream.restore(cut.snapshot());
  samePages(cut, restored, Array.from({ length: 60 }, (_, i) => ({ lineOffset: 4800 + i * 3, lineLimit: 4 })));
  assert.is(restored.totalBytes, cut.totalBytes);
  const as = (stdout: OutputStream) => executionView({ id: 'x', state: 'ended', createdAt: new Date(0), stdout, stderr: fill(10, '') } as never);
  assert.equal(as(restored), as(cut));

  // 3,072 two-byte lines under a 4,096-byte cap: the tail starts at line 2,049, a checkpoint's line (within the cap).
  const aligned = fill(4096, 'x\n'.repeat(3072), 333);
  const snapshot = aligned.snapshot();
  assert.ok(snapshot.checkpointAtTail, 'the case this test is about');
  samePages(aligned, OutputStream.restore(snapshot), [{ lineOffset: 2048 }, { lineOffset: 2049, lineLimit: 1 }, { lineOffset: 2050, lineLimit: 1 }]);
  // 4,096 such lines: the tail starts past the cap, where no checkpoint is kept.
  const past = fill(4096, 'x\n'.repeat(4096), 333);
  assert.not.ok(past.snapshot().checkpointAtTail);
  samePages(past, OutputStream.restore(past.snapshot()), [{ lineOffset: 3072 }, { lineOffset: 3073, lineLimit: 1 }, { lineOffset: 3074, lineLimit: 1 }]);
});

records('records :: restored streams page as their originals, over many shapes of output and caps', () => {
  let seed = 7;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const pieces = ['', 'a', 'é', '😀', 'line', 'x'.repeat(40)];
  for (let trial = 0; trial < 12; trial += 1) {
    const lines = 1000 + random(3000);
    const text = Array.from({ length: lines }, () => pieces[random(pieces.length)]!.repeat(1 + random(3))).join('\n') + (random(2) ? '\n' : '');
    const cap = [512, 1000, 4096, 20_000, 1024 ** 2][random(5)]!;
    const original = fill(cap, text, 1 + random(5000));
    const restored = OutputStream.restore(original.snapshot());
    const requests: PageRequest[] = [];
    for (let line = 1; line <= lines + 2; line += 1 + random(97)) requests.push({ lineOffset: line, lineLimit: 1 + random(40) });
    for (let byte = 0; byte <= original.totalBytes + 2; byte += 1 + random(777)) requests.push({ byteOffset: byte, byteLimit: 1 + random(300) });
    samePages(original, restored, requests);
  }
});

records('records :: ids say where the records are and stay unguessable; records open only with their id and key', async () => {
  const id = newExecutionId('StoreA1');
  assert.match(id, /^exe_StoreA1_[A-Za-z0-9_-]{24}$/);
  assert.equal(parseExecutionId(id)?.home, 'StoreA1');
  assert.is(parseExecutionId(newExecutionId()), undefined, 'an id made without a store names none');
  assert.is(parseExecutionId('exe_a/b_' + 'x'.repeat(24)), undefined, 'a home is letters and digits only (it goes into an API path)');
  const { secret } = parseExecutionId(id)!;
  const key = recordKey(secret);
  assert.match(key, /^exe-[A-Za-z0-9_-]{32}$/);
  assert.not.ok(key.includes(secret));

  const stdout = fill(1024, 'hello\n');
  const stderr = fill(1024, '');
  const result = { status: 'SUCCEEDED', stdout: 'hello\n', files: [{ name: 'a.bin', bytes: new Uint8Array([0, 1, 255]) }], value: { $part: 0, bytes: [1] } } as unknown as RunResult;
  const { body, parts } = finalBody({ holder: 'runA', createdAt: new Date(0), endedAt: new Date(1000), result, streams: { stdout: stdout.snapshot(), stderr: stderr.snapshot() }, maxPartBytes: 1024 });
  const sealed = await encodeRecord(body, parts, secret, key);
  assert.not.ok(sealed.includes(Buffer.from('hello')), 'sealed: nothing readable without the id');
  const opened = await decodeRecord(sealed, secret, key, 1024 ** 2);
  assert.is(opened.kind, 'final');
  if (opened.kind !== 'final') return;
  assert.equal(opened.result, result);
  assert.ok((opened.result as unknown as { files: Array<{ bytes: unknown }> }).files[0]!.bytes instanceof Uint8Array);
  assert.is(OutputStream.restore(opened.streams!.stdout).page({}).text, 'hello\n');

  const other = parseExecutionId(newExecutionId('StoreA1'))!.secret;
  await rejects(decodeRecord(sealed, other, key, 1024 ** 2), Error, /./);
  await rejects(decodeRecord(sealed, secret, recordKey(other), 1024 ** 2), Error, /./);
  // A record that would inflate past the bound is refused, not inflated.
  const big = finalBody({ holder: 'runA', createdAt: new Date(0), endedAt: new Date(0), streams: { stdout: fill(4 * 1024 ** 2, 'z'.repeat(3 * 1024 ** 2)).snapshot(), stderr: stderr.snapshot() }, maxPartBytes: 0 });
  const bomb = await encodeRecord(big.body, big.parts, secret, key);
  assert.ok(bomb.length < 64 * 1024, `${bomb.length} bytes sealed`);
  await rejects(decodeRecord(bomb, secret, key, 1024 ** 2), Error, /./);
});

records('records :: an execution ended on A answers on B as on A: answer, view, every page; B keeps it from then on', async () => {
  const shared = platform();
  const a = service(memoryStore(shared, 'StoreA', 'runA'));
  const b = service(memoryStore(shared, 'StoreB', 'runB'));
  const execution = await ran(a, { stdout: Array.from({ length: 3000 }, (_, i) => `line ${i + 1} ü`).join('\n') + '\n', stderr: 'a warning\n', bytes: 'binary\u0000' });
  assert.match(execution.id, /^exe_StoreA_/);
  assert.ok(await a.records!.flush(5000));
  // Its final record, in its own run's store (its start record was skipped: it had ended before its turn).
  assert.equal(shared.puts.map((put) => put.home), ['StoreA']);
  assert.is(a.records!.stats.skipped, 1);

  const found = await b.find(execution.id);
  assert.is(found.heldBy, undefined);
  assert.is(answerText(found), answerText(execution));
  assert.is(answerText(found, {}, 2000), answerText(execution, {}, 2000));
  assert.equal(executionView(found), executionView(execution));
  for (const request of PAGES) assert.equal(b.page(found, 'stdout', request), a.page(execution, 'stdout', request));
  assert.equal(found.result, execution.result);
  // Kept: the next lookup is B's own, and B writes nothing for it.
  assert.is(b.get(execution.id), found);
  assert.is(shared.puts.length, 1);
});

records('records :: one still running on A is answered on B with where it runs, then with its result once it ends', async () => {
  const shared = platform();
  const a = service(memoryStore(shared, 'StoreA', 'runA'));
  const b = service(memoryStore(shared, 'StoreB', 'runB'));
  const execution = a.start('test', { code: script({ stdout: 'working\n', waitMs: 1500 }) });
  // Its start record written (not a guess at how long a write takes on a busy machine).
  assert.ok(await a.records!.flush(5000), 'the start record is written');
  assert.is(execution.state, 'running', 'still running once its start record is written');
  const elsewhere = await b.find(execution.id);
  assert.equal([elsewhere.state, elsewhere.heldBy], ['running', 'runA']);
  assert.match(answerText(elsewhere), /is still running on another run of this Actor \(run runA\).*get_execution/);
  assert.is(executionView(elsewhere).heldBy, 'runA');
  assert.throws(() => b.get(execution.id), (error: Error) => error instanceof UnknownExecutionError, 'a running one is not kept: it changes');
  assert.is(shared.puts.length, 1, 'its start record');
  // Waiting polls its record until the final one lands.
  const ended = await b.find(execution.id, { waitSecs: 10 });
  assert.equal([ended.state, ended.result?.status, ended.heldBy], ['ended', 'SUCCEEDED', undefined]);
  assert.is(answerText(ended), answerText(execution));
});

records('records :: a run that stopped without a final record leaves its execution lost, not running forever', async () => {
  const shared = platform();
  const a = service(memoryStore(shared, 'StoreA', 'runA'));
  const b = service(memoryStore(shared, 'StoreB', 'runB'));
  const execution = a.start('test', { code: script({ waitMs: 60_000 }) });
  await a.records!.flush(1000);
  shared.stopped.add('runA');
  const lost = await b.find(execution.id);
  assert.is(lost.state, 'ended');
  assert.match(lost.error ?? '', /run runA, which ran it, stopped before it could save how it ended/);
  assert.match(answerText(lost), /Run it again/);
  a.cancel(execution);
  await execution.done;
});

records('records :: no answer waits for the store; a store that refuses writes costs only cross-run answers', async () => {
  const shared = platform();
  let release!: () => void;
  const faults: Faults = { hold: new Promise<void>((resolve) => { release = resolve; }) };
  const a = service(memoryStore(shared, 'StoreA', 'runA', faults));
  const b = service(memoryStore(shared, 'StoreB', 'runB'));
  // Every write is held: the run still ends and answers.
  const held = await ran(a, { stdout: 'fast\n' });
  assert.equal([held.result?.status, answerText(held).endsWith('fast')], ['SUCCEEDED', true]);
  assert.is(a.records!.stats.pending, 1);
  assert.not.ok(await a.records!.flush(50), 'the write is still held');
  faults.failPut = true;
  release();
  assert.ok(await a.records!.flush(5000));
  assert.is(a.records!.stats.failed, 1);
  assert.match(shared.logged.join('\n'), /could not save execution record exe-\S+ \(\d+ bytes\): Refused by the test store \(403\) \(1 failed so far\); this run still answers for its own executions/);
  // A answers for its own; B has no record to answer from, and says what that may mean.
  assert.is(a.get(held.id), held);
  await rejects(b.find(held.id), UnknownExecutionError, /no run of this Actor has a record of it \(the id is unknown, or the run that made it could not save its record\)/);
  // A store B cannot read: an error that says so (not "unknown").
  const reading = service(memoryStore(shared, 'StoreC', 'runC', { failGet: true }));
  await rejects(reading.find(held.id), RecordsUnavailableError, /not held by this run, and the key-value store holding its record \(StoreA\) could not be read: connect ECONNREFUSED\. Executions started on this run still answer/);
});

records('records :: output waiting to be written is capped: beyond it the final record keeps the result, not the output, and says so', async () => {
  const shared = platform();
  let release!: () => void;
  const a = service(memoryStore(shared, 'StoreA', 'runA', { hold: new Promise<void>((resolve) => { release = resolve; }) }), { memoryBudgetBytes: 1024 ** 2 });
  const b = service(memoryStore(shared, 'StoreB', 'runB'));
  const first = await ran(a, { stdout: 'x'.repeat(400 * 1024) });
  const second = await ran(a, { stdout: 'y'.repeat(400 * 1024) });
  release();
  await a.records!.flush(5000);
  assert.is(a.records!.stats.withoutOutput, 1);
  assert.is((await b.find(first.id)).stdout.totalBytes, 400 * 1024);
  const lean = await b.find(second.id);
  assert.equal([lean.result?.status, lean.stdout.totalBytes], ['SUCCEEDED', 0]);
  assert.match(lean.result?.statusMessage ?? '', /its record lacks its output: more output than this run may hold for writing was waiting/);
});

records('records :: TTL and "expired" are judged from the record\'s own times', async () => {
  const shared = platform();
  const a = service(memoryStore(shared, 'StoreA', 'runA'), { ttlSecs: 60 });
  let offset = 0;
  const b = service(memoryStore(shared, 'StoreB', 'runB'), { ttlSecs: 60, now: () => Date.now() + offset });
  const execution = await ran(a, { stdout: 'old\n' });
  await a.records!.flush(5000);
  offset = 59_000;
  assert.is((await b.find(execution.id)).state, 'ended');
  offset = 61_000;
  await rejects(b.find(execution.id), UnknownExecutionError, /has expired: finished executions are kept for 60 s/);
  await rejects(b.find(`exe_StoreA_${'A'.repeat(24)}`), UnknownExecutionError, /no run of this Actor has a record of it/);
});

records('records :: a run that let an execution go before its final record could be written says it expired, not that it runs', async () => {
  const shared = platform();
  const faults: Faults = {};
  let offset = 0;
  const a = service(memoryStore(shared, 'StoreA', 'runA', faults), { ttlSecs: 60, now: () => Date.now() + offset });
  const execution = a.start('test', { code: script({ stdout: 'x\n', waitMs: 100 }) });
  await a.records!.flush(5000);
  assert.is(shared.puts.length, 1, 'its start record');
  faults.failPut = true;
  await execution.done;
  await a.records!.flush(5000);
  offset = 61_000;
  await rejects(a.find(execution.id), UnknownExecutionError, /has expired/);
});

records.run();
