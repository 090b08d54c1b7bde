// Deno's own report of a top-level await that never settles names the script's module by its
// blob: URL; the result and the live stream (so the server's stored streams) name the script the
// same way, however the stream is chunked, and leave everything else as it came.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { nameStall, StallNaming, TLA_STALL } from '../../orchestrator/run/tla-stall.js';

const stall = suite('tla-stall');
const URL_ = 'blob:null/0f0e8a52-95b6-4bb6-a0a1-7c6d2a9b1c3d';
const REPORT = `${TLA_STALL}\nawait new Promise(() => {});\n^\n    at <anonymous> (${URL_}:2:1)\n`;
const NAMED = `${TLA_STALL}\nawait new Promise(() => {});\n^\n    at <anonymous> (script.ts:2:1)\n`;

/** Feeds `text` in chunks of `size` bytes; returns what came out, end included, and how many chunks held back everything. */
function through(text: string, size: number): { out: string; held: number } {
  const naming = new StallNaming('script.ts');
  const bytes = Buffer.from(text);
  const out: Buffer[] = [];
  let held = 0;
  for (let i = 0; i < bytes.length; i += size) {
    const shown = naming.push(bytes.subarray(i, i + size));
    if (shown.length === 0) held += 1;
    out.push(shown);
  }
  out.push(naming.end());
  return { out: Buffer.concat(out).toString(), held };
}

stall('tla-stall :: the report names the script however the stream is chunked, output before it untouched', () => {
  const before = `printed ${URL_} by the script\nerror: and ünïcødé\n`;
  for (let size = 1; size <= before.length + REPORT.length; size += 1) {
    assert.is(through(before + REPORT, size).out, before + NAMED, `chunk size ${size}`);
  }
  assert.is(nameStall(before + REPORT, 'script.ts'), before + NAMED);
});

stall('tla-stall :: only Deno\'s line at a line start begins the report; a look-alike inside a line changes nothing', () => {
  for (const text of [`say ${TLA_STALL}\n${URL_}\n`, `${TLA_STALL} and more\n${URL_}\n`, `${URL_}\n`]) {
    assert.is(through(text, 7).out, text);
    assert.is(nameStall(text, 'script.ts'), text);
  }
});

stall('tla-stall :: ordinary output is never held: only the start of a line that may become the report waits', () => {
  // Line by line, and mid-line pieces that cannot be the report, pass at once.
  assert.is(through('one\ntwo\nthree\n', 4).held, 0);
  assert.is(through('partial line without end', 3).held, 0);
  const naming = new StallNaming('script.ts');
  assert.is(naming.push(Buffer.from('x\nerror: Top')).toString(), 'x\n');
  assert.is(naming.push(Buffer.from('ical\n')).toString(), 'error: Topical\n');
  // What the end of the stream finds held is let out as it was.
  assert.is(naming.push(Buffer.from('err')).toString(), '');
  assert.is(naming.end().toString(), 'err');
});

stall('tla-stall :: after the report begins, bytes pass as they came: invalid UTF-8, and a character split by a long line\'s chunks', () => {
  // A script may print the report's first line itself; what follows is still its own output.
  const after = Buffer.concat([Buffer.from(`${TLA_STALL}\n`), Buffer.from([0xff, 0xfe, 0x0a]), Buffer.from(`${'é'.repeat(40_000)} ${URL_}\n`)]);
  for (const size of [7, 65_537, 70_001, after.length]) {
    const naming = new StallNaming('script.ts');
    const out: Buffer[] = [];
    for (let i = 0; i < after.length; i += size) out.push(naming.push(after.subarray(i, i + size)));
    out.push(naming.end());
    const expected = Buffer.from(after.toString('latin1').replace(URL_, 'script.ts'), 'latin1');
    assert.ok(Buffer.concat(out).equals(expected), `chunk size ${size}: the bytes changed`);
  }
});

stall.run();
