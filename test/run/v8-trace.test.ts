// The live filter that keeps V8's out-of-memory report (GC trace, native stack, install path) from
// whoever watches stderr as it is printed, however the stream is chunked; and, through runCode and
// a real Deno child, that a live listener of an out-of-memory run never sees it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { PACKAGE_ROOT } from '../../orchestrator/run/deno.js';
import { HEAP_FATAL, V8TraceHold } from '../../orchestrator/run/v8-trace.js';
import { fixture } from '../helpers/helpers.js';

const trace = suite('v8-trace');

const REPORT = '\n<--- Last few GCs --->\n\n[1:0x1]   238 ms: Mark-Compact 32.7 -> 32.7 MB\n\n#\n# Fatal JavaScript out of memory: Reached heap limit\n#\n'
  + '==== C stack trace ===\n    /home/me/node_modules/deno/deno(+0x28bdd0e)\n';

/** What a live listener sees of `text` sent in chunks of `size` bytes, when the run died of the heap or not. */
function live(text: string, size: number, diedOfHeap: boolean): string {
  const hold = new V8TraceHold();
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) out.push(hold.push(bytes.subarray(i, i + size)));
  out.push(hold.end((held) => diedOfHeap && HEAP_FATAL.test(held)));
  return Buffer.concat(out).toString();
}

trace('v8-trace :: the report is dropped, and only it, however the stream is chunked', () => {
  for (const size of [1, 2, 3, 7, 64, 100_000]) {
    // V8's opening empty line may already have gone out when it came in a chunk of its own.
    assert.is(live(`own words\n${REPORT}`, size, true).replace(/\n+$/, '\n'), 'own words\n', `chunks of ${size}`);
  }
});

trace('v8-trace :: look-alikes flow unchanged when the run did not die of the heap', () => {
  const text = `a <\n#\n# heading\n<--- not quite\n${REPORT}after\n`;
  for (const size of [1, 5, 100_000]) assert.is(live(text, size, false), text, `chunks of ${size}`);
});

trace('v8-trace :: lines that begin like a marker, thousands to a chunk, flow unchanged', () => {
  for (const text of ['<\n'.repeat(5000), '#\n'.repeat(5000), '\n'.repeat(20000), '<--- Last few\n#\n# Fat\n'.repeat(500)]) {
    assert.is(live(text, 4096, false), text);
    assert.is(live(text, 4096, true), text, 'no fatal line in it: never V8\'s report');
  }
});

trace('v8-trace :: a look-alike padded past the cap cannot push V8\'s report out', () => {
  const padded = `<--- Last few GCs --->\n${'x'.repeat(100 * 1024)}\n`;
  for (const size of [4096, 65536, 1 << 20]) {
    const shown = live(`own words\n${padded}${REPORT}`, size, true);
    assert.ok(shown.startsWith(`own words\n${padded}`), `chunks of ${size}: the padding flows`);
    for (const leak of ['Fatal', 'stack trace', 'node_modules']) assert.not.ok(shown.includes(leak), `chunks of ${size}: ${leak}`);
  }
});

trace('v8-trace :: output racing V8\'s report (a Worker printing as the heap dies) cannot push it out', () => {
  for (const size of [4096, 1 << 20]) {
    const shown = live(`own words\n${REPORT}${'w'.repeat(200 * 1024)}\n`, size, true);
    for (const leak of ['Fatal', 'stack trace', 'node_modules']) assert.not.ok(shown.includes(leak), `chunks of ${size}: ${leak}`);
  }
});

trace('v8-trace :: ordinary lines are not held back', () => {
  const hold = new V8TraceHold();
  assert.is(hold.push(Buffer.from('line one\n')).toString(), 'line one\n');
  assert.is(hold.push(Buffer.from('# a heading\n<b>\n')).toString(), '# a heading\n<b>\n');
});

trace('v8-trace :: a script printing the marker delays its own stderr by a bounded amount only', () => {
  const hold = new V8TraceHold();
  hold.push(Buffer.from('<--- Last few GCs --->\n'));
  let shown = 0;
  for (let i = 0; i < 100; i += 1) shown += hold.push(Buffer.alloc(1024, 0x61)).length;
  assert.ok(shown >= 100 * 1024 - 64 * 1024, `shown ${shown}`);
});

trace('v8-trace :: a live listener of an out-of-memory run sees no GC trace, native stack or install path', async () => {
  const seen = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  const r = await runCode({
    code: `console.log("printed");\nconsole.error("own words");\n${fixture('heap-bomb.ts')}`,
    memoryMbytes: 64,
    onOutput: (stream, chunk) => seen[stream].push(Buffer.from(chunk)),
  });
  assert.is(r.status, 'OUT-OF-MEMORY');
  const stderr = Buffer.concat(seen.stderr).toString();
  assert.is(Buffer.concat(seen.stdout).toString(), r.stdout);
  assert.is(stderr.replace(/\n+$/, '\n'), 'own words\n');
  assert.ok(r.stderr.startsWith('own words\n'));
  for (const leak of ['Last few GCs', 'Fatal', 'stack trace', PACKAGE_ROOT, 'node_modules']) assert.not.ok(stderr.includes(leak), leak);
});

trace.run();
