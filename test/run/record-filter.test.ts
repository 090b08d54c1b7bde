// The filter that takes the guest's records (failure report, `done`) out of what the buffer and
// listeners see, and hands their text on.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { doneExitCode, RecordFilter, REPORT_MAX_BYTES } from '../../orchestrator/run/record-filter.js';

const filter = suite('record-filter');
const PREFIX = Buffer.from('\0tag:s3cret:');
const REPORT = '\0tag:s3cret:{"kind":"threw"}\n';

/** A filter that keeps the text of the last record it cut out. */
function recording(): { filter: RecordFilter; last(): string | undefined } {
  let last: string | undefined;
  return { filter: new RecordFilter(PREFIX, (text) => { last = text; }), last: () => last };
}

/** Feeds `text` in chunks of `size` bytes and returns what came out, end included. */
function through(text: string, size: number, f = new RecordFilter(PREFIX, () => {})): string {
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

filter('record-filter :: every record goes to onRecord as it completes, in order', () => {
  const seen: string[] = [];
  const f = new RecordFilter(PREFIX, (text) => seen.push(text));
  const text = `a\n${REPORT}b\n\0tag:s3cret:{"kind":"done","exitCode":3}\n`;
  assert.is(through(text, 5, f), 'a\nb\n');
  assert.equal(seen, ['{"kind":"threw"}', '{"kind":"done","exitCode":3}']);
});

filter('record-filter :: only the exact done record gives an exit code', () => {
  assert.is(doneExitCode('{"kind":"done","exitCode":0}'), 0);
  assert.is(doneExitCode('{"kind":"done","exitCode":255}'), 255);
  for (const other of ['{"kind":"threw"}', '{"kind":"done"}', '{"kind":"done","exitCode":-1}', '{"kind":"done","exitCode":256}', '{"kind":"done","exitCode":1} ', '{"kind":"done","exitCode":"0"}']) {
    assert.is(doneExitCode(other), undefined, other);
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
  const f = recording().filter;
  assert.is(f.push(Buffer.from('line\n')).toString(), 'line\n');
});

filter('record-filter :: a partial prefix is held only until it can be told apart', () => {
  const f = recording().filter;
  assert.is(f.push(Buffer.from('x\0ta')).toString(), 'x');
  assert.is(f.push(Buffer.from('ble\n')).toString(), '\0table\n');
  assert.is(f.push(Buffer.from('y\0')).toString(), 'y');
  assert.is(f.end().toString(), '\0');
});

filter('record-filter :: the report\'s text is kept, however the stream is chunked', () => {
  const text = `boom\n${REPORT}`;
  for (let size = 1; size <= text.length; size += 1) {
    const f = recording();
    through(text, size, f.filter);
    assert.is(f.last(), '{"kind":"threw"}', `chunk size ${size}`);
  }
});

filter('record-filter :: the last of several reports is kept; none without the prefix', () => {
  const f = recording();
  assert.is(through(`${REPORT}x\n\0tag:s3cret:{"kind":"syntax"}\n`, 4, f.filter), 'x\n');
  assert.is(f.last(), '{"kind":"syntax"}');
  const none = recording();
  through('plain\n\0tag:other:{}\n', 3, none.filter);
  assert.is(none.last(), undefined);
});

filter('record-filter :: a report cut short by the end of the stream still counts', () => {
  const f = recording();
  assert.is(through('a\n\0tag:s3cret:{"kind":"threw"}', 5, f.filter), 'a\n');
  assert.is(f.last(), '{"kind":"threw"}');
});

filter('record-filter :: a huge report is held only up to its cap, and the output after it flows', () => {
  const f = recording();
  const huge = 'r'.repeat(REPORT_MAX_BYTES + 4096);
  assert.is(through(`\0tag:s3cret:${huge}\nafter\n`, 65_536, f.filter), 'after\n');
  assert.is(f.last()?.length, REPORT_MAX_BYTES);
});

filter.run();
