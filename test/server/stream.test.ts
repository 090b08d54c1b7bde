// The execution store's streams, directly: paging by lines and bytes over multi-byte text while it
// grows and after it ended, the per-stream cap (head and tail kept, offsets still absolute), and
// eviction by TTL and by memory budget with the "expired" answer.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ExecutionStore, UnknownExecutionError } from '../../orchestrator/server/executions.js';
import { OutputStream } from '../../orchestrator/server/stream.js';

const stream = suite('server stream');

function filled(text: string, cap = 1024 ** 2, chunk = 7): OutputStream {
  const out = new OutputStream(cap);
  const bytes = Buffer.from(text);
  // Odd chunk sizes split characters between chunks, as pipes do.
  for (let at = 0; at < bytes.length; at += chunk) out.append(bytes.subarray(at, at + chunk));
  return out;
}

stream('stream :: line pages count from 1 and give the next offsets', () => {
  const out = filled(Array.from({ length: 10 }, (_, i) => `line ${i + 1} é`).join('\n') + '\n');
  out.end();
  const page = out.page({ lineOffset: 3, lineLimit: 2 });
  assert.is(page.text, 'line 3 é\nline 4 é\n');
  assert.is(page.lineOffset, 3);
  assert.is(page.nextLineOffset, 5);
  assert.ok(page.hasMore);
  const rest = out.page({ lineOffset: 9, lineLimit: 100 });
  assert.is(rest.text, 'line 9 é\nline 10 é\n');
  assert.not.ok(rest.hasMore);
  assert.is(out.page({}).text.split('\n').length, 11);
});

stream('stream :: byte pages never split a UTF-8 character', () => {
  // "é" is 2 bytes, "😀" 4: every offset and limit lands somewhere inside one.
  const text = 'aé😀b'.repeat(50);
  const out = filled(text, 1024 ** 2, 3);
  out.end();
  const bytes = Buffer.from(text);
  for (let offset = 0; offset < 20; offset += 1) {
    for (const limit of [1, 2, 3, 5]) {
      const page = out.page({ byteOffset: offset, byteLimit: limit });
      assert.not.ok(page.text.includes('\uFFFD'), `offset ${offset} limit ${limit} split a character: ${JSON.stringify(page.text)}`);
      assert.ok(page.text.length > 0);
      assert.is(Buffer.from(page.text).toString(), bytes.subarray(page.byteOffset, page.nextByteOffset).toString());
    }
  }
  // Walking by nextByteOffset reads everything exactly once.
  let all = '';
  for (let at = 0, guard = 0; guard < 1000; guard += 1) {
    const page = out.page({ byteOffset: at, byteLimit: 5 });
    all += page.text;
    at = page.nextByteOffset;
    if (!page.hasMore) break;
  }
  assert.is(all, text);
});

stream('stream :: while it runs a line page stops at the last whole line', () => {
  const out = new OutputStream(1024);
  out.append(Buffer.from('one\ntwo\nthr'));
  const page = out.page({ lineOffset: 1, lineLimit: 10 });
  assert.is(page.text, 'one\ntwo\n');
  assert.is(page.nextLineOffset, 3);
  out.append(Buffer.from('ee\n'));
  assert.is(out.page({ lineOffset: 3 }).text, 'three\n');
  assert.is(out.page({ lineOffset: 4 }).text, '');
});

stream('stream :: over the cap the head and tail are kept with absolute offsets', () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `row ${String(i + 1).padStart(5, '0')}`);
  const out = filled(lines.join('\n') + '\n', 4096, 100);
  out.end();
  assert.is(out.totalBytes, 3000 * 10);
  assert.not.ok(out.complete);
  assert.ok(out.heldBytes <= 4096);
  assert.is(out.page({ lineOffset: 1, lineLimit: 1 }).text, 'row 00001\n');
  // The last lines keep their numbers, though the middle is gone.
  const last = out.page({ lineOffset: 2999, lineLimit: 5 });
  assert.is(last.text, 'row 02999\nrow 03000\n');
  assert.is(last.lineOffset, 2999);
  // A line in the cut middle: the page starts at the first kept whole line and says where.
  const middle = out.page({ lineOffset: 1500, lineLimit: 1 });
  assert.ok(middle.lineOffset! > 1500);
  assert.is(middle.text, `${lines[middle.lineOffset! - 1]}\n`);
  const skipped = out.page({ byteOffset: 10_000, byteLimit: 10 });
  assert.ok(skipped.skippedBytes > 0);
  assert.is(skipped.byteOffset, 10_000 + skipped.skippedBytes);
});

// ---

const store = suite('server executions');

store('executions :: finished ones expire after the TTL and answer "expired"', () => {
  let now = 1_000_000;
  const executions = new ExecutionStore({ ttlSecs: 60, now: () => now });
  const old = executions.create('a');
  executions.end(old, { error: 'x' });
  const running = executions.create('a');
  now += 61_000;
  try {
    executions.get(old.id);
    assert.unreachable('an expired execution was still there');
  } catch (error) {
    assert.instance(error, UnknownExecutionError);
    assert.match((error as Error).message, /expired/);
  }
  // Running ones are never evicted.
  assert.is(executions.get(running.id), running);
  assert.match(String((() => { try { executions.get('exe_never'); } catch (e) { return (e as Error).message; } })()), /unknown/);
});

store('executions :: over the memory budget the oldest finished go first', () => {
  const executions = new ExecutionStore({ memoryBudgetBytes: 3000, streamCapBytes: 4096 });
  const ids = [0, 1, 2].map(() => {
    const execution = executions.create('a');
    execution.stdout.append(Buffer.alloc(1200, 'x'));
    executions.end(execution, { error: 'done' });
    return execution.id;
  });
  assert.throws(() => executions.get(ids[0]!), /expired/);
  assert.is(executions.get(ids[1]!).id, ids[1]);
  assert.is(executions.get(ids[2]!).id, ids[2]);
  // Ids are unguessable: long and random.
  assert.match(ids[0]!, /^exe_[\w-]{24}$/);
  assert.is.not(ids[0], ids[1]);
});

stream.run();
store.run();
