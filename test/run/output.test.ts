// The capped head-and-tail buffer, as a unit.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { OutputBuffer } from '../../orchestrator/run/output.js';

const output = suite('output');

function fill(buffer: OutputBuffer, text: string, chunk = 7): void {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunk) buffer.push(bytes.subarray(i, i + chunk));
}

output('output :: under the cap, everything is kept in order', () => {
  const b = new OutputBuffer(100);
  fill(b, 'abcdefghijklmnopqrstuvwxyz');
  assert.equal(b.finish(), { text: 'abcdefghijklmnopqrstuvwxyz', bytes: 26, truncated: false });
});

output('output :: over the cap, head and tail stay with the count of what was dropped', () => {
  const b = new OutputBuffer(10);
  fill(b, '0123456789ABCDEFGHIJ', 3);
  const r = b.finish();
  assert.is(r.text, '01234\n[… 10 bytes truncated …]\nFGHIJ');
  assert.is(r.bytes, 20);
  assert.ok(r.truncated);
});

output('output :: one huge chunk is cut down to the cap', () => {
  const b = new OutputBuffer(8);
  b.push(Buffer.alloc(1_000_000, 'z'));
  b.push(Buffer.from('END'));
  const r = b.finish();
  assert.is(r.text, 'zzzz\n[… 999995 bytes truncated …]\nzEND');
});

output('output :: cuts land on character boundaries', () => {
  const b = new OutputBuffer(11);
  fill(b, '€'.repeat(20), 5);
  const r = b.finish();
  assert.not.match(r.text, /\uFFFD/);
  assert.match(r.text, /^€+\n\[… \d+ bytes truncated …\]\n€+$/);
});

output('output :: chunks of any size across block boundaries keep exact head and tail', () => {
  const cap = 300_000;
  const text = Array.from({ length: 500_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
  for (const size of [1, 3, 65_537, 200_000]) {
    const b = new OutputBuffer(cap);
    fill(b, text, size);
    const r = b.finish();
    assert.is(r.text, `${text.slice(0, cap / 2)}\n[… ${text.length - cap} bytes truncated …]\n${text.slice(-cap / 2)}`, `chunks of ${size}`);
    assert.is(r.bytes, text.length);
  }
});

output.run();
