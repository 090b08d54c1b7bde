// The execution store's streams, directly: paging by lines and bytes over multi-byte text while it
// grows and after it ended, the per-stream cap (head and tail kept, offsets still absolute), and
// eviction by TTL and by memory budget with the "expired" answer.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { EXECUTION_OVERHEAD_BYTES, ExecutionStore, UnknownExecutionError } from '../../orchestrator/server/executions.js';
import { CUT_MARKER } from '../../orchestrator/run/cut.js';
import { OutputBuffer } from '../../orchestrator/run/output.js';
import { OutputStream, PAGE_BYTES, PAGE_DEFAULTS } from '../../orchestrator/server/stream.js';
import { executionView } from '../../orchestrator/server/view.js';

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

stream('stream :: a line past the head, in the cut middle, is never numbered by the tail\'s lines', () => {
  // The cap's head ends exactly at a line end (200 lines of 10 bytes): the walk must not go on in the tail.
  const lines = Array.from({ length: 3000 }, (_, i) => `row ${String(i + 1).padStart(5, '0')}`);
  const out = filled(lines.join('\n') + '\n', 4000, 100);
  out.end();
  for (const asked of [201, 300, 1000]) {
    const page = out.page({ lineOffset: asked, lineLimit: 2 });
    assert.ok(page.lineOffset! > asked, `asked ${asked}, got line ${page.lineOffset}`);
    assert.is(page.text, `${lines[page.lineOffset! - 1]}\n${lines[page.lineOffset!]}\n`, `asked ${asked}`);
  }
  // A newline flood over the cap: line numbers in the tail still right (counted by part, not by walking).
  const flood = new OutputStream(64 * 1024);
  for (let i = 0; i < 40; i += 1) flood.append(Buffer.alloc(10_000, 0x0a));
  flood.end();
  const last = flood.page({ lineOffset: 400_000, lineLimit: 1 });
  assert.equal([last.lineOffset, last.byteOffset, last.text], [400_000, 399_999, '\n']);
});

stream('stream :: a flood of lines does not grow the stream past its cap: the line index counts in heldBytes and stops at the cap', () => {
  const cap = 64 * 1024;
  const flood = new OutputStream(cap);
  const chunk = Buffer.alloc(cap, 0x0a);
  flood.append(chunk);
  // 65,536 lines indexed every 1,024: what the store's memory budget is told includes the index.
  assert.ok(flood.heldBytes > cap, `heldBytes ${flood.heldBytes} leaves the line index out`);
  const atCap = flood.heldBytes;
  // 64 MiB of empty lines more (a script may print for an hour): nothing more is indexed.
  for (let i = 0; i < 1024; i += 1) flood.append(chunk);
  flood.end();
  assert.is(flood.heldBytes, atCap);
  // Kept elsewhere and restored (another Standby run), it holds no more either, and pages alike.
  const restored = OutputStream.restore(flood.snapshot());
  assert.ok(restored.heldBytes <= atCap, `restored: ${restored.heldBytes}`);
  const lines = 1025 * cap;
  for (const line of [1, 2000, cap, lines - 2000, lines]) {
    const page = flood.page({ lineOffset: line, lineLimit: 1 });
    assert.equal(restored.page({ lineOffset: line, lineLimit: 1 }), page, `restored, line ${line}`);
    if (line <= cap / 2 || line > lines - cap / 2) assert.equal([page.lineOffset, page.byteOffset, page.text], [line, line - 1, '\n'], `line ${line}`);
    else assert.ok(page.lineOffset! > line, `line ${line}, in the cut middle, gave ${page.lineOffset}`);
  }
});

stream('stream :: a character the cap cuts is never shown in halves', () => {
  // The cap's halves fall at odd byte offsets inside 2-, 3- and 4-byte characters.
  for (const [text, cap] of [['é', 4097], ['中', 4097], ['😀', 4099], ['😀', 4098]] as const) {
    const out = filled(text.repeat(6000), cap, 5);
    out.end();
    for (let at = 0, guard = 0; guard < 200; guard += 1) {
      const page = out.page({ byteOffset: at, byteLimit: 1000 });
      assert.not.ok(page.text.includes('\uFFFD'), `${text} cap ${cap}: page at ${page.byteOffset} split a character`);
      at = page.nextByteOffset;
      if (!page.hasMore) break;
    }
    const head = out.page({ lineOffset: 1 });
    assert.not.ok(head.text.includes('\uFFFD'), `${text} cap ${cap}: the head's line page split a character`);
  }
});

stream('stream :: while it runs, a character not all printed yet is not "more": the page says it waits (pendingBytes)', () => {
  const out = new OutputStream(1024 ** 2);
  const bytes = Buffer.from('ab😀');
  out.append(bytes.subarray(0, 4));
  const page = out.page({ byteOffset: 0 });
  assert.equal([page.text, page.nextByteOffset, page.hasMore, page.pendingBytes], ['ab', 2, false, 2]);
  // Asked from there, as a client paging on does: no empty page that claims more at the same offset.
  const there = out.page({ byteOffset: 2, byteLimit: 1 });
  assert.equal([there.text, there.nextByteOffset, there.hasMore, there.pendingBytes], ['', 2, false, 2]);
  const line = out.page({ lineOffset: 1 });
  assert.equal([line.text, line.hasMore, line.pendingBytes, line.partialLine], ['ab', false, 2, true]);
  out.append(bytes.subarray(4));
  const rest = out.page({ byteOffset: page.nextByteOffset });
  assert.equal([rest.text, rest.hasMore, rest.pendingBytes], ['😀', false, undefined]);
});

stream('stream :: a client paging while hasMore always moves on, however the writes split characters', () => {
  // Every byte written alone: after each, a client reads on from where it stopped, by bytes and by lines.
  const text = 'aé😀€\n'.repeat(40) + 'ü😀';
  const bytes = Buffer.from(text);
  const out = new OutputStream(1024 ** 2);
  let byBytes = '';
  let byteAt = 0;
  let byLines = '';
  let lineAt: { lineOffset?: number; byteOffset?: number } = { lineOffset: 1 };
  for (let at = 0; at <= bytes.length; at += 1) {
    if (at < bytes.length) out.append(bytes.subarray(at, at + 1));
    else out.end();
    for (let guard = 0; ; guard += 1) {
      assert.ok(guard < 100, `paging by bytes spun at byte ${byteAt}`);
      const page = out.page({ byteOffset: byteAt, byteLimit: 3 });
      byBytes += page.text;
      assert.ok(!page.hasMore || page.nextByteOffset > byteAt, `an empty page at ${byteAt} claimed more`);
      assert.is(page.pendingBytes, out.ended || page.hasMore ? undefined : out.totalBytes - page.nextByteOffset || undefined);
      byteAt = page.nextByteOffset;
      if (!page.hasMore) break;
    }
    for (let guard = 0; ; guard += 1) {
      assert.ok(guard < 100, `paging by lines spun at ${JSON.stringify(lineAt)}`);
      const page = out.page({ ...lineAt, lineLimit: 2 });
      byLines += page.text;
      const next = page.nextLineOffset !== undefined ? { lineOffset: page.nextLineOffset } : { byteOffset: page.nextByteOffset };
      assert.ok(!page.hasMore || page.text.length > 0, `an empty page at ${JSON.stringify(lineAt)} claimed more`);
      lineAt = next;
      if (!page.hasMore) break;
    }
  }
  assert.is(byBytes, text);
  assert.is(byLines, text);
});

stream('stream :: a page holds at most 64 KiB: a line page ends after its last whole line that fits, or says it cut a line', () => {
  const out = new OutputStream(64 * 1024 ** 2);
  // Three lines of 600 KB: none fits a page.
  for (let i = 0; i < 3; i += 1) out.append(Buffer.from(`${'x'.repeat(600_000)}\n`));
  // Then 100 lines of 1,000 bytes: 65 fit a page (a newline costs two bytes as JSON).
  for (let i = 0; i < 100; i += 1) out.append(Buffer.from(`${String(i).padStart(3, '0')}${'y'.repeat(996)}\n`));
  out.end();
  const first = out.page({ lineOffset: 1, lineLimit: 10 });
  assert.equal([first.text.length, first.nextLineOffset, first.partialLine, first.nextByteOffset, first.hasMore], [PAGE_BYTES, undefined, true, PAGE_BYTES, true]);
  // The rest of the line, page by page from nextByteOffset.
  let line = first.text;
  for (let at = first.nextByteOffset; !line.endsWith('\n');) {
    const page = out.page({ byteOffset: at, byteLimit: PAGE_DEFAULTS.maxByteLimit });
    assert.ok(page.text.length <= PAGE_BYTES);
    line += page.text.slice(0, page.text.indexOf('\n') + 1 || undefined);
    at = page.nextByteOffset;
  }
  assert.is(line.length, 600_001);
  const short = out.page({ lineOffset: 4, lineLimit: 1000 });
  assert.equal([short.text.split('\n').length - 1, short.nextLineOffset, short.partialLine, short.nextByteOffset], [65, 69, undefined, 1_800_003 + 65_000]);
  assert.ok(Buffer.byteLength(JSON.stringify(short.text)) <= PAGE_BYTES + 2);
  const last = out.page({ lineOffset: 69, lineLimit: 1000 });
  assert.equal([last.text.split('\n').length - 1, last.hasMore, last.partialLine], [35, false, undefined]);
});

stream('stream :: a page of control bytes is bounded by its JSON, not its raw bytes', () => {
  const out = new OutputStream(64 * 1024 ** 2);
  const bytes = Buffer.alloc(2 * 1024 ** 2, 1);
  bytes[1_000_000] = 0x0a;
  for (let at = 0; at < bytes.length; at += 65_521) out.append(bytes.subarray(at, at + 65_521));
  out.end();
  const pages = [out.page({ byteOffset: 0, byteLimit: PAGE_DEFAULTS.maxByteLimit }), out.page({ byteOffset: 3 }), out.page({ lineOffset: 1 }), out.page({ lineOffset: 2, lineLimit: 10_000 })];
  for (const page of pages) {
    const sent = Buffer.byteLength(JSON.stringify(page.text)) - 2;
    assert.ok(sent <= PAGE_BYTES && sent > PAGE_BYTES - 6, `a page of ${page.nextByteOffset - page.byteOffset} control bytes is ${sent} bytes of JSON`);
    assert.is(page.text.length, page.nextByteOffset - page.byteOffset);
  }
  assert.equal([pages[2]!.partialLine, pages[2]!.nextLineOffset], [true, undefined]);
  // Walking by nextByteOffset still reads every byte once.
  let read = 0;
  for (let at = 0, page = out.page({ byteOffset: 0 }); ; page = out.page({ byteOffset: at })) {
    read += Buffer.byteLength(page.text);
    at = page.nextByteOffset;
    if (!page.hasMore) break;
  }
  assert.is(read, bytes.length);
});

stream('stream :: an answer cuts output as runCode does: whole lines, one marker line pointing at the page', () => {
  const lines = Array.from({ length: 5000 }, (_, i) => `line ${i + 1} é`);
  const executions = new ExecutionStore({});
  const execution = executions.create('a');
  const bytes = Buffer.from(`${lines.join('\n')}\n`);
  for (let at = 0; at < bytes.length; at += 7) execution.stdout.append(bytes.subarray(at, at + 7));
  const answer = executionView(execution, 2000).stdout;
  const shown = answer.split('\n');
  const at = shown.findIndex((line) => CUT_MARKER.test(line));
  assert.ok(at > 0, shown.join('\n'));
  assert.equal(shown.slice(0, at), lines.slice(0, at));
  assert.equal(shown.slice(at + 1, -1), lines.slice(-(shown.length - at - 2)));
  const [, cut, lineOffset, byteOffset] = CUT_MARKER.exec(shown[at]!)!.map(Number);
  // Paging from either offset the marker names gives the first line that was cut.
  assert.is(execution.stdout.page({ lineOffset, lineLimit: 1 }).text, `${lines[at]}\n`);
  assert.is(execution.stdout.page({ byteOffset, byteLimit: 100 }).text.split('\n')[0], lines[at]);
  assert.is(execution.stdout.page({ byteOffset: byteOffset! + cut! }).text.split('\n')[0], shown[at + 1]);
  // runCode's result kept to the same 2000 bytes is the same text: one cut, one marker.
  const run = new OutputBuffer(2000);
  for (let at = 0; at < bytes.length; at += 1000) run.push(bytes.subarray(at, at + 1000));
  assert.is(run.finish().text, answer);
  // A character still being printed is not shown in halves.
  const running = executions.create('a');
  running.stdout.append(Buffer.from('ab😀').subarray(0, 4));
  const view = executionView(running, 2000);
  assert.equal([view.stdout, view.stdoutTruncated], ['ab', false]);
});

stream('stream :: a flood of one-byte writes costs its bytes, not an object each; big writes hold the cap plus two blocks', () => {
  // Measured in a separate process with a real GC, so the test runner's heap cannot mask it.
  const module = fileURLToPath(new URL('../../orchestrator/server/stream.js', import.meta.url));
  const runModule = fileURLToPath(new URL('../../orchestrator/run/output.js', import.meta.url));
  const script = `const { OutputStream } = await import(${JSON.stringify(module)});
    const { OutputBuffer } = await import(${JSON.stringify(runModule)});
    gc(); const before = process.memoryUsage();
    const out = new OutputStream(64 * 1024 ** 2);
    const one = new Uint8Array([10]);
    for (let i = 0; i < 300000; i++) out.append(one);
    gc(); const after = process.memoryUsage();
    const page = out.page({ lineOffset: 299990, lineLimit: 5 });
    const many = Array.from({ length: 2000 }, () => new OutputStream(64 * 1024 ** 2));
    for (const each of many) each.append(new Uint8Array([111, 107, 10]));
    gc(); const small = process.memoryUsage();
    // Writes far bigger than the cap, and writes that are not a multiple of a block.
    const big = Buffer.alloc(3 * 1024 ** 2 + 7, 120);
    const mid = Buffer.alloc(40000, 120);
    function heldBy(make, push, chunk, times) {
      gc(); gc(); const start = process.memoryUsage().arrayBuffers;
      const kept = make();
      for (let i = 0; i < times; i++) push(kept, chunk);
      gc(); gc(); const bytes = process.memoryUsage().arrayBuffers - start;
      return kept ? bytes : 0;
    }
    const stream = [() => new OutputStream(1024 ** 2), (o, c) => o.append(c)];
    const buffer = [() => new OutputBuffer(1024 ** 2), (o, c) => o.push(c)];
    const held = { 'stream big': heldBy(...stream, big, 20), 'stream mid': heldBy(...stream, mid, 100), 'buffer big': heldBy(...buffer, big, 20), 'buffer mid': heldBy(...buffer, mid, 100) };
    console.log(JSON.stringify({ total: out.totalBytes, text: page.text, many: many.length, held,
      growth: after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers,
      smallGrowth: small.heapUsed + small.arrayBuffers - after.heapUsed - after.arrayBuffers }));`;
  const child = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  assert.is(child.status, 0, child.stderr);
  const measured = JSON.parse(child.stdout) as { total: number; text: string; growth: number; smallGrowth: number; held: Record<string, number> };
  assert.equal([measured.total, measured.text], [300_000, '\n'.repeat(5)]);
  // It was ~34 MB (a Buffer per write) for these 300 KB.
  assert.ok(measured.growth < 8 * 1024 ** 2, `300,000 one-byte writes grew the heap by ${(measured.growth / 1024 ** 2).toFixed(1)} MB`);
  // And a stream that printed 3 bytes holds no big block.
  assert.ok(measured.smallGrowth < 8 * 1024 ** 2, `2,000 streams of 3 bytes grew the heap by ${(measured.smallGrowth / 1024 ** 2).toFixed(1)} MB`);
  // A 1 MiB cap holds at most 1 MiB and two 64 KiB blocks (the server's stream held 3.3 MB: a view kept a whole write).
  assert.equal(Object.keys(measured.held).length, 4);
  for (const [name, bytes] of Object.entries(measured.held)) {
    assert.ok(bytes <= 1024 ** 2 + 2 * 64 * 1024, `${name} writes into a 1 MiB cap hold ${(bytes / 1024 ** 2).toFixed(2)} MB`);
    assert.ok(bytes >= 1024 ** 2 - 4, `${name}: ${bytes} bytes held, less than the cap: the measure is off`);
  }
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
  const executions = new ExecutionStore({ memoryBudgetBytes: 2 * (1200 + EXECUTION_OVERHEAD_BYTES) + 500, streamCapBytes: 4096 });
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

store('executions :: runs that print nothing still count: they cannot pile up for the whole TTL', () => {
  const executions = new ExecutionStore({ memoryBudgetBytes: 20 * EXECUTION_OVERHEAD_BYTES });
  const ids = Array.from({ length: 100 }, () => {
    const execution = executions.create('a');
    executions.end(execution, { error: 'done' });
    return execution.id;
  });
  assert.throws(() => executions.get(ids[0]!), /expired/);
  assert.is(executions.get(ids[99]!).id, ids[99]);
  assert.ok(executions.heldBytes() <= 20 * EXECUTION_OVERHEAD_BYTES);
  // A kept RunResult's own copy of the output counts too.
  const copies = new ExecutionStore({ memoryBudgetBytes: 3 * EXECUTION_OVERHEAD_BYTES });
  const big = copies.create('a');
  const result = { status: 'SUCCEEDED', exitCode: 0, stdout: 'x'.repeat(4 * EXECUTION_OVERHEAD_BYTES), stderr: '', statusMessage: 'ok', durationMillis: 1, stdoutBytes: 0, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false, actorRuns: [], toolCalls: [], requests: [] } as const;
  copies.end(big, { result: { ...result, actorRuns: [], toolCalls: [], requests: [], files: [] } });
  assert.throws(() => copies.get(big.id), /expired/);
});

stream.run();
store.run();
