// The capped head-and-tail buffer as runCode keeps it, and the one head-and-tail cut with its marker.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { CUT_MARKER, cutMarker } from '../../orchestrator/run/cut.js';
import { HeldBytes } from '../../orchestrator/run/held-bytes.js';
import { jsonFitHead, jsonFitTail, jsonSize } from '../../orchestrator/run/json-size.js';
import { OutputBuffer, capText } from '../../orchestrator/run/output.js';

const output = suite('output');

function fill(buffer: OutputBuffer, text: string | Buffer, chunk = 7): void {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) buffer.push(bytes.subarray(i, i + chunk));
}

output('output :: under the cap, everything is kept in order', () => {
  const b = new OutputBuffer(100);
  fill(b, 'abcdefghijklmnopqrstuvwxyz');
  assert.equal(b.finish(), { text: 'abcdefghijklmnopqrstuvwxyz', bytes: 26, truncated: false });
});

output('output :: over the cap, head and tail stay around one marker line naming what was cut and where', () => {
  const b = new OutputBuffer(10);
  fill(b, '0123456789ABCDEFGHIJ', 3);
  const r = b.finish();
  assert.is(r.text, `01234\n${cutMarker(10, 1, 5)}\nFGHIJ`);
  assert.is(cutMarker(10, 1, 5), '[… 10 bytes cut; lineOffset 1, byteOffset 5 …]');
  assert.is(r.bytes, 20);
  assert.ok(r.truncated);
});

output('output :: one huge chunk is cut down to the cap', () => {
  const b = new OutputBuffer(8);
  b.push(Buffer.alloc(1_000_000, 'z'));
  b.push(Buffer.from('END'));
  const r = b.finish();
  assert.is(r.text, `zzzz\n${cutMarker(999_995, 1, 4)}\nzEND`);
});

output('output :: cuts land on character boundaries', () => {
  const b = new OutputBuffer(11);
  fill(b, '€'.repeat(20), 5);
  const r = b.finish();
  assert.not.match(r.text, /\uFFFD/);
  // The head keeps one whole "€" of its 5 bytes, the tail two of its 6.
  assert.is(r.text, `€\n${cutMarker(51, 1, 3)}\n€€`);
});

output('output :: chunks of any size across block boundaries keep exact head and tail', () => {
  const cap = 300_000;
  const text = Array.from({ length: 500_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  for (const size of [1, 3, 65_537, 200_000]) {
    const b = new OutputBuffer(cap);
    fill(b, text, size);
    const r = b.finish();
    assert.is(r.text, `${text.slice(0, cap / 2)}\n${cutMarker(text.length - cap, 1, cap / 2)}\n${text.slice(-cap / 2)}`, `chunks of ${size}`);
    assert.is(r.bytes, text.length);
  }
});

output('output :: the cut moves to a line boundary when one is near: whole lines, one marker line, no blank line', () => {
  // Lines of 10 bytes; the cap's halves (500 each) fall inside lines 46 and 955.
  const lines = Array.from({ length: 1000 }, (_, i) => `line ${String(i + 1).padStart(4, '0')}`);
  const text = `${lines.join('\n')}\n`;
  for (const chunk of [1, 7, 4096]) {
    const b = new OutputBuffer(1003);
    fill(b, text, chunk);
    const r = b.finish();
    const shown = r.text.split('\n');
    const at = shown.findIndex((line) => CUT_MARKER.test(line));
    assert.ok(at > 0, r.text);
    // Every other line is a whole line of the output, in order, and none is blank.
    assert.equal(shown.slice(0, at), lines.slice(0, at));
    assert.equal(shown.slice(at + 1, -1), lines.slice(-(shown.length - at - 2)));
    assert.is(shown.at(-1), '');
    const [, cut, lineOffset, byteOffset] = CUT_MARKER.exec(shown[at]!)!.map(Number);
    // The marker names the first line cut, its byte offset, and how many bytes are missing.
    assert.is(lineOffset, at + 1);
    assert.is(byteOffset, Buffer.byteLength(shown.slice(0, at).join('\n')) + 1);
    assert.is(text.slice(byteOffset!, byteOffset! + 9), lines[lineOffset! - 1]);
    assert.is(Buffer.byteLength(r.text) - Buffer.byteLength(shown[at]!) - 1 + cut!, text.length, `chunks of ${chunk}`);
  }
  // No newline near the cut (one long line): it stays at the cap's halves, the marker on its own line.
  const long = capText(`${'a'.repeat(5000)}\n${'b'.repeat(5000)}`, 1000);
  assert.is(long.text, `${'a'.repeat(500)}\n${cutMarker(9001, 1, 500)}\n${'b'.repeat(500)}`);
});

output('output :: capText cuts text as a stream would', () => {
  assert.equal(capText('short', 100), { text: 'short', truncated: false });
  const cut = capText('x\n'.repeat(5000), 4096);
  assert.ok(cut.truncated);
  assert.match(cut.text, /^(x\n)+\[… \d+ bytes cut; lineOffset \d+, byteOffset \d+ …\]\n(x\n)+$/);
});

output('output :: text cut again (an Actor item fitted to its limit) keeps counting the stream\'s own bytes', () => {
  const lines = Array.from({ length: 10_000 }, (_, i) => `row ${String(i + 1).padStart(5, '0')}`);
  const stream = Buffer.from(`${lines.join('\n')}\n`);
  const once = new OutputBuffer(8192);
  once.push(stream);
  const twice = capText(once.finish().text, 2048, stream.length);
  const shown = twice.text.split('\n');
  const at = shown.findIndex((line) => CUT_MARKER.test(line));
  const [, cut, lineOffset, byteOffset] = CUT_MARKER.exec(shown[at]!)!.map(Number);
  assert.equal(shown.filter((line) => line.startsWith('[…')).length, 1, 'the first marker was cut out');
  assert.is(lines[lineOffset! - 1], lines[at]);
  assert.is(byteOffset, at * 10);
  assert.is(cut, stream.length - Buffer.byteLength(twice.text) + Buffer.byteLength(shown[at]!) + 1);
});

output('output :: the held bytes answer every lookup as the whole stream would, around the cut middle', () => {
  let seed = 11;
  const random = (n: number) => Math.floor(((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * n);
  const pieces = ['a', 'bc', '\n', 'é', '😀', '中\n'];
  for (let round = 0; round < 60; round += 1) {
    const cap = 16 + random(3000);
    const stream = Buffer.from(Array.from({ length: random(6000) }, () => pieces[random(pieces.length)]).join(''));
    const held = new HeldBytes(cap);
    for (let at = 0; at < stream.length;) {
      const size = 1 + random(random(4) === 0 ? 5000 : 40);
      held.push(stream.subarray(at, at + size));
      at += size;
    }
    const total = stream.length;
    const complete = total <= cap;
    let headEnd = complete ? total : Math.floor(cap / 2);
    // Once cut, the head ends on a whole character.
    while (!complete && headEnd > 0 && (stream[headEnd]! & 0xc0) === 0x80) headEnd -= 1;
    const tailStart = complete ? total : total - (cap - Math.floor(cap / 2));
    const isHeld = (offset: number) => offset < headEnd || (offset >= tailStart && offset < total);
    const label = `round ${round}: cap ${cap}, ${total} bytes`;
    assert.equal([held.totalBytes, held.complete, held.headEnd, held.tailStart, held.heldBytes], [total, complete, headEnd, tailStart, complete ? total : headEnd + total - tailStart], label);
    const heldOnly = (from: number, to: number) => Buffer.concat([stream.subarray(Math.min(from, headEnd), Math.min(to, headEnd)), stream.subarray(Math.max(from, tailStart), Math.max(to, tailStart))]);
    for (let probe = 0; probe < 20; probe += 1) {
      const from = random(total + 1);
      const to = from + random(total + 1 - from);
      assert.ok(held.slice(from, to).equals(heldOnly(from, to)), `${label}: slice ${from}–${to}`);
      const newlines = [...heldOnly(from, to)].filter((byte) => byte === 10).length;
      assert.is(held.countNewlines(from, to), newlines, `${label}: newlines ${from}–${to}`);
      const positions = Array.from({ length: to - from }, (_, i) => from + i).filter((at) => isHeld(at) && stream[at] === 10);
      assert.is(held.indexOfNewline(from, to), positions[0] ?? -1, `${label}: first newline ${from}–${to}`);
      assert.is(held.lastIndexOfNewline(to, from), positions.at(-1) ?? -1, `${label}: last newline ${from}–${to}`);
      const nth = 1 + random(4);
      assert.is(held.indexOfNthNewline(from, nth, to), positions[nth - 1] ?? -1, `${label}: newline ${nth} ${from}–${to}`);
      assert.is(held.byteAt(from), isHeld(from) ? stream[from] : undefined, `${label}: byte ${from}`);
    }
  }
});

output('output :: JSON size is what JSON.stringify sends, never less, and fits cut on characters', () => {
  const samples = ['plain text\n', '\u0001\u0002\u001f', '"quoted" \\ back\tslash\r\n', 'é中😀\u2028', '\u007f'];
  for (const sample of samples) assert.is(jsonSize(Buffer.from(sample)), Buffer.byteLength(JSON.stringify(sample)) - 2, JSON.stringify(sample));
  // Invalid bytes decode to U+FFFD: counted at least as sent.
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 200; round += 1) {
    const bytes = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 40) }, () => Math.floor(random() * 256)));
    const sent = Buffer.byteLength(JSON.stringify(bytes.toString('utf8'))) - 2;
    assert.ok(jsonSize(bytes) >= sent, `${bytes.toString('hex')}: counted ${jsonSize(bytes)}, sent ${sent}`);
    const budget = Math.floor(random() * 60);
    const head = jsonFitHead(bytes, budget);
    assert.ok(Buffer.byteLength(JSON.stringify(bytes.subarray(0, head).toString('utf8'))) - 2 <= budget);
    const tail = jsonFitTail(bytes, budget);
    assert.ok(Buffer.byteLength(JSON.stringify(bytes.subarray(tail).toString('utf8'))) - 2 <= budget);
  }
  const text = Buffer.from('ab€\u0001cd');
  assert.is(jsonFitHead(text, 5), 5, 'the whole "€" and nothing of the control byte');
  assert.is(jsonFitHead(text, 4), 2, 'never part of a character');
  assert.is(jsonFitTail(text, 8), 5, 'the control byte costs six');
});

output.run();
