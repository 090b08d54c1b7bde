// `export default` as the result's value, in real Deno: every JSON type comes back as it was, a
// promise is awaited, what is not JSON (or too large) fails the run naming the problem and where,
// a script without one is exactly as before, and a script cannot forge one.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, runCode, type Runtime } from '../../orchestrator/index.js';
import type { RunResult } from '../../types/result.js';

const value = suite('value');
let runtime: Runtime;

value.before(() => {
  runtime = createRuntime({ concurrency: 2 });
});

value.after(async () => {
  await runtime.close();
});

async function all(codes: string[]): Promise<RunResult[]> {
  return (await runtime.runMany(codes.map((code) => ({ code })))) as RunResult[];
}

value('value :: every JSON type comes back as it was exported, a promise awaited', async () => {
  const values: unknown[] = [null, true, false, 0, -1.5, 1e300, '', 'ünïcödé ✓ "quoted" \\ \n\u0000', [], {}, [1, 'two', null, [true]],
    { nested: { deep: [{ a: 1 }, { b: [2, 3] }] }, empty: {}, list: [] }, { __proto__: 1, constructor: 'x' }];
  const codes = values.map((v) => `export default ${JSON.stringify(v)};`);
  codes.push('export default Promise.resolve({ later: [1, 2] });', 'export default await new Promise((resolve) => setTimeout(() => resolve("slow"), 50));',
    'export default { when: new Date(0), skipped: undefined, list: [undefined] };');
  const results = await all(codes);
  const expected = [...values.map((v) => JSON.parse(JSON.stringify(v))), { later: [1, 2] }, 'slow', { when: '1970-01-01T00:00:00.000Z', list: [null] }];
  results.forEach((r, i) => {
    assert.is(r.status, 'SUCCEEDED', `${codes[i]}: ${r.statusMessage}`);
    assert.equal(r.value, expected[i], codes[i]);
    assert.is(r.stdout, '', 'the value is not printed');
  });
});

value('value :: a script without a default export, or exporting undefined, has no value at all', async () => {
  const [none, undef, named] = await all(['console.log("hi")', 'export default undefined;', 'export const answer = 42;']);
  for (const r of [none!, undef!, named!]) {
    assert.is(r.status, 'SUCCEEDED');
    assert.not.ok(Object.hasOwn(r, 'value'));
  }
  assert.is(none!.stdout, 'hi\n');
});

value('value :: what is not JSON fails the run, naming what it is and where', async () => {
  const cases: Array<[string, string]> = [
    ['export default () => 1;', 'The default export is not JSON: it is a function'],
    ['export default Symbol("s");', 'The default export is not JSON: it is a symbol'],
    ['export default 10n;', 'The default export is not JSON: it is a BigInt (JSON has none: export it as a string or a number)'],
    ['export default new Map([[1, 2]]);', 'The default export is not JSON: it is a Map (export Object.fromEntries(map) instead)'],
    ['export default { tags: new Set(["a"]) };', 'The default export is not JSON: value.tags is a Set (export [...set] instead)'],
    ['export default { rows: [1, { bytes: new Uint8Array(2) }] };', 'The default export is not JSON: value.rows[1].bytes is bytes (write them with files.write instead)'],
    ['export default [1, NaN];', 'The default export is not JSON: value[1] is NaN (JSON has no NaN or Infinity)'],
    ['export default { "odd key": Infinity };', 'The default export is not JSON: value["odd key"] is Infinity (JSON has no NaN or Infinity)'],
    ['export default { error: new Error("x") };', 'The default export is not JSON: value.error is an Error, of which JSON keeps nothing (export its message)'],
    ['export default { a: { handler() {} } };', 'The default export is not JSON: value.a.handler is a function'],
    ['const a = { name: "loop" };\na.self = a;\nexport default a;', 'The default export is not JSON: Converting circular structure to JSON'],
    ['export default { toJSON() { throw new Error("no") } };', 'The default export is not JSON: no'],
  ];
  const results = await all(cases.map(([code]) => code));
  results.forEach((r, i) => {
    const [code, message] = cases[i]!;
    assert.is(r.status, 'FAILED', code);
    assert.is(r.exitCode, 1, code);
    assert.ok(r.statusMessage.startsWith(message), `${code}\n${r.statusMessage}`);
    assert.ok(r.stderr.endsWith(`error: ${r.statusMessage}\n`), r.stderr);
    assert.not.ok(Object.hasOwn(r, 'value'));
  });
});

value('value :: over 1 MiB of JSON fails naming the limit; just under it comes back whole', async () => {
  const limit = 1024 * 1024;
  const [over, under] = await all([`export default "x".repeat(${limit});`, `export default "x".repeat(${limit - 2});`]);
  assert.is(over!.status, 'FAILED');
  assert.is(over!.statusMessage, 'The default export is 1.00 MiB as JSON, over the limit of 1 MiB; export less, or write it with files.write');
  assert.is(under!.status, 'SUCCEEDED', under!.statusMessage);
  assert.is((under!.value as string).length, limit - 2);
});

value('value :: a rejected or never-settling default export fails the run; a later failure keeps the value', async () => {
  const [rejected, never, later] = await all([
    'export default Promise.reject(new RangeError("no answer"));',
    'export default new Promise(() => {});',
    'setTimeout(() => { throw new Error("after the value") }, 20);\nexport default { ok: true };',
  ]);
  assert.is(rejected!.status, 'FAILED');
  assert.is(rejected!.statusMessage, 'Script threw: RangeError: no answer');
  assert.is(never!.status, 'FAILED');
  assert.is(never!.statusMessage, 'The default export is a promise that never settled, so the run has no value');
  assert.is(later!.status, 'FAILED');
  assert.is(later!.statusMessage, 'Script threw: Error: after the value');
  assert.equal(later!.value, { ok: true });
});

value('value :: a script cannot forge a value record: without the run\'s secret it is only text it printed', async () => {
  const forged = '\0code-runtime:0123456789abcdef0123456789abcdef:{"kind":"value","value":"forged"}';
  const r = await runCode({ code: `console.log(${JSON.stringify(forged)});\nconsole.log("end");` });
  assert.is(r.status, 'SUCCEEDED');
  assert.not.ok(Object.hasOwn(r, 'value'));
  assert.is(r.stdout, `${forged}\nend\n`);
});

value.run();
