// The live-stream filter that keeps the guest's failure report out of what listeners see.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { RecordFilter } from '../../orchestrator/run/record-filter.js';

const filter = suite('record-filter');
const PREFIX = Buffer.from('\0tag:s3cret:');
const REPORT = '\0tag:s3cret:{"kind":"threw"}\n';

/** Feeds `text` in chunks of `size` bytes and returns what came out, end included. */
function through(text: string, size: number): string {
  const f = new RecordFilter(PREFIX);
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(f.push(bytes.subarray(i, i + size)));
  out.push(f.end());
  return Buffer.concat(out).toString();
}

filter('record-filter :: a report is dropped however the stream is chunked', () => {
  const text = `error: Uncaught Error: boom\n    at script.ts:1:7\n${REPORT}`;
  for (let size = 1; size <= text.length; size += 1) {
    assert.is(through(text, size), 'error: Uncaught Error: boom\n    at script.ts:1:7\n', `chunk size ${size}`);
  }
});

filter('record-filter :: output after a report still flows', () => {
  assert.is(through(`a\n${REPORT}b\n`, 3), 'a\nb\n');
});

filter('record-filter :: ordinary output passes unchanged, NULs and look-alikes too', () => {
  const text = 'plain\n\0tag:other:{}\n\0ta\nend';
  for (const size of [1, 2, 5, 100]) assert.is(through(text, size), text);
});

filter('record-filter :: a trailing newline is never held back', () => {
  const f = new RecordFilter(PREFIX);
  assert.is(f.push(Buffer.from('line\n')).toString(), 'line\n');
});

filter('record-filter :: a partial prefix is held only until it can be told apart', () => {
  const f = new RecordFilter(PREFIX);
  assert.is(f.push(Buffer.from('x\0ta')).toString(), 'x');
  assert.is(f.push(Buffer.from('ble\n')).toString(), '\0table\n');
  assert.is(f.push(Buffer.from('y\0')).toString(), 'y');
  assert.is(f.end().toString(), '\0');
});

filter.run();
