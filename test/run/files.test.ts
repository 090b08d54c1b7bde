// The global `files` in real Deno through runCode: inputs in (text and bytes), outputs back (every
// kind of data, types given and inferred), the errors a script can catch, the limits and hostile
// writes, and files written before a run ends however it ends.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, runCode } from '../../orchestrator/index.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import type { RunResult } from '../../types/result.js';
import { denoCheck, fixturePath, ROOT, scratchDir } from '../helpers/helpers.js';

const MiB = 1024 * 1024;
const BINARY = Uint8Array.from({ length: 256 }, (_, i) => i);

function outputs(result: RunResult): Array<[string, string, number]> {
  return result.files.map((file) => [file.name, file.contentType, file.size]);
}

function text(result: RunResult, name: string): string {
  return Buffer.from(result.files.find((file) => file.name === name)!.bytes).toString('utf8');
}

// ---
const io = suite('files');

io('files :: inputs are listed and read as text and bytes; every kind of data comes back with its type', async () => {
  const code = `
    console.log(JSON.stringify(files.list()));
    const csv = await files.readText('in.csv');
    const bytes = await files.read('all.bin');
    console.log(csv.length, bytes.length, bytes[0], bytes[255], bytes instanceof Uint8Array);
    await files.write('upper.csv', csv.toUpperCase());
    await files.write('copy.bin', bytes);
    await files.write('buffer.dat', bytes.buffer.slice(0, 4));
    await files.write('view.dat', new DataView(bytes.buffer, 250, 6));
    await files.write('blob.json', new Blob(['{"a":1}'], { type: 'application/vnd.test+json' }));
    await files.write('chart.svg', '<svg/>', { contentType: 'image/svg+xml' });
    await files.write('notes', 'plain text ✓');
    await files.write('empty.txt', '');
    const shared = new SharedArrayBuffer(3);
    new Uint8Array(shared).set([1, 2, 3]);
    await files.write('shared.bin', shared);
  `;
  const r = await runCode({ code, files: { 'in.csv': 'a,b\n1,2\nž,✓\n', 'all.bin': BINARY } });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(JSON.parse(r.stdout.split('\n')[0]!), [
    { name: 'in.csv', size: 15, contentType: 'text/csv; charset=utf-8' },
    { name: 'all.bin', size: 256, contentType: 'application/octet-stream' },
  ]);
  assert.is(r.stdout.split('\n')[1], '12 256 0 255 true');
  assert.equal(outputs(r), [
    ['upper.csv', 'text/csv; charset=utf-8', 15], ['copy.bin', 'application/octet-stream', 256], ['buffer.dat', 'application/octet-stream', 4],
    ['view.dat', 'application/octet-stream', 6], ['blob.json', 'application/vnd.test+json', 7], ['chart.svg', 'image/svg+xml', 6],
    ['notes', 'text/plain; charset=utf-8', 14], ['empty.txt', 'text/plain; charset=utf-8', 0], ['shared.bin', 'application/octet-stream', 3],
  ]);
  assert.equal([...r.files[8]!.bytes], [1, 2, 3]);
  assert.is(text(r, 'upper.csv'), 'A,B\n1,2\nŽ,✓\n');
  assert.equal([...r.files[1]!.bytes], [...BINARY]);
  assert.equal([...r.files[3]!.bytes], [250, 251, 252, 253, 254, 255]);
  assert.is(r.stdout.includes('code-runtime'), false, 'nothing of the transport in the output');
});

io('files :: what a script gets wrong is a FilesError it can catch, naming the file and what is allowed', async () => {
  const code = `
    const tries = {
      missing: () => files.read('nope.csv'),
      slash: () => files.write('dir/x.txt', 'x'),
      dotdot: () => files.write('..', 'x'),
      nul: () => files.write('a\\0b', 'x'),
      surrogate: () => files.write('\\ud800', 'x'),
      data: () => files.write('n.txt', 42),
      type: () => files.write('t.txt', 'x', { contentType: 'text/plain\\r\\nx: y' }),
      notName: () => files.read(7),
    };
    for (const [what, attempt] of Object.entries(tries)) {
      try {
        await attempt();
        console.log(what, 'passed');
      } catch (error) {
        console.log(what, error instanceof files.FilesError, error.name, error.type, error.message);
      }
    }
  `;
  const r = await runCode({ code, files: { 'in.csv': 'x', 'b.bin': new Uint8Array(3) } });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines[0], 'missing true FilesError file-not-found No input file "nope.csv": the inputs are "in.csv", "b.bin" (files.list() lists them)');
  assert.match(lines[1]!, /^slash true FilesError invalid-name Cannot write "dir\/x\.txt": a name has no `\/`/);
  assert.match(lines[2]!, /^dotdot true FilesError invalid-name Cannot write "\.\.": a name has no `\.\.`/);
  assert.match(lines[3]!, /^nul true FilesError invalid-name Cannot write "a\\u0000b": a name has no NUL/);
  assert.match(lines[4]!, /^surrogate true FilesError invalid-name .*not valid UTF-8/);
  assert.match(lines[5]!, /^data true FilesError invalid-data files\.write\("n\.txt", data\) takes a string, Uint8Array, ArrayBuffer or Blob, got number$/);
  assert.match(lines[6]!, /^type true FilesError invalid-content-type /);
  assert.match(lines[7]!, /^notName true FilesError invalid-name A file name is a string, got number$/);
  assert.equal(r.files, [], 'nothing was written');
});

io('files :: 10,000 tiny writes: the first 100 are kept, the rest refused at the limit, quickly and without hurting the run', async () => {
  const code = `
    const results = await Promise.allSettled(Array.from({ length: 10000 }, (_, i) => files.write('f' + i + '.txt', String(i))));
    const refused = results.filter((r) => r.status === 'rejected');
    console.log(results.length - refused.length, refused.length, [...new Set(refused.map((r) => r.reason.type))].join());
    console.log(refused[0].reason.message);
    console.log(refused.at(-1).reason.message);
  `;
  const r = await runCode({ code, timeoutSecs: 60 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const [counts, first, last] = r.stdout.trim().split('\n');
  assert.is(counts, '100 9900 files-out-limit');
  assert.match(first!, /^Cannot write "f\d+\.txt": the run already wrote 100 files, the limit \(maxFilesOut\)/);
  assert.match(last!, /^Cannot write "f9999\.txt": the run already wrote 100 files, the limit/);
  assert.is(r.files.length, 100);
  assert.ok(r.files.every((file) => text(r, file.name) === file.name.slice(1, -4)));
});

io('files :: 10,000 writes over 20 names keep each name once, with its last bytes', async () => {
  const code = `
    for (let round = 0; round < 500; round += 1) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => files.write('n' + i, round + ':' + i)));
    }
  `;
  const r = await runCode({ code, timeoutSecs: 120 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.equal(r.files.map((file) => file.name).sort(), Array.from({ length: 20 }, (_, i) => `n${i}`).sort());
  assert.is(text(r, 'n7'), '499:7');
});

io('files :: a 1 GiB write is refused before it is sent: a catchable error with "limit" and the size in MiB', async () => {
  const code = `
    const huge = new Uint8Array(1024 ** 3);
    try {
      await files.write('huge.bin', huge);
    } catch (error) {
      console.log(error.type, error.message);
    }
    await files.write('after.txt', 'still fine');
  `;
  const r = await runCode({ code, memoryMbytes: 256, timeoutSecs: 60 });
  assert.is(r.status, 'SUCCEEDED', `${r.statusMessage}\n${r.stderr}`);
  assert.equal(r.stdout.trim().split('\n'), [
    'file-too-large Cannot write "huge.bin": it is 1024 MiB, over the limit of 10 MiB per file (maxFileBytes)',
  ]);
  assert.equal(outputs(r), [['after.txt', 'text/plain; charset=utf-8', 10]]);
});

io('files :: the run\'s own limits: fewer files, smaller files and a smaller total, each refused naming its option', async () => {
  const code = `
    for (const [name, size] of [['a', 10], ['b', 10], ['c', 30], ['d', 1], ['a', 25]]) {
      try {
        await files.write(name, new Uint8Array(size));
        console.log(name, 'ok');
      } catch (error) {
        console.log(name, error.type);
      }
    }
  `;
  const r = await runCode({ code, maxFilesOut: 3, maxFileBytes: 25, maxFilesOutBytes: 40 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'a ok\nb ok\nc file-too-large\nd ok\na files-out-too-large\n');
  assert.equal(outputs(r).map(([name, , size]) => [name, size]), [['a', 10], ['b', 10], ['d', 1]]);
});

io('files :: a run that never touches files has none, and no value', async () => {
  const r = await runCode({ code: 'console.log(1)' });
  assert.equal(r.files, []);
  assert.not.ok(Object.hasOwn(r, 'value'));
});

io.run();

// ---
const ends = suite('files-kept');

ends('files-kept :: a file written just before a timeout is in the TIMED-OUT result', async () => {
  const r = await runCode({ code: 'await files.write("partial.csv", "row 1\\n");\nconsole.log("written");\nwhile (true) {}', timeoutSecs: 1 });
  assert.is(r.status, 'TIMED-OUT');
  assert.is(r.stdout, 'written\n');
  assert.equal(outputs(r), [['partial.csv', 'text/csv; charset=utf-8', 6]]);
});

ends('files-kept :: a file written before the script ran out of memory is in the OUT-OF-MEMORY result', async () => {
  const code = 'await files.write("before.txt", "saved");\nconst keep = [];\nwhile (true) keep.push(new Array(1e6).fill(1));';
  const r = await runCode({ code, memoryMbytes: 64, timeoutSecs: 30 });
  assert.is(r.status, 'OUT-OF-MEMORY', r.statusMessage);
  assert.equal(outputs(r), [['before.txt', 'text/plain; charset=utf-8', 5]]);
});

ends('files-kept :: a file written before an abort is in the ABORTED result; a throw keeps them too', async () => {
  const controller = new AbortController();
  const aborted = await runCode({
    code: 'await files.write("a.txt", "x");\nconsole.log("written");\nawait new Promise(() => setInterval(() => {}, 1000));',
    signal: controller.signal,
    onOutput: (_stream, chunk) => {
      if (Buffer.from(chunk).toString().includes('written')) controller.abort();
    },
  });
  assert.is(aborted.status, 'ABORTED');
  assert.equal(outputs(aborted), [['a.txt', 'text/plain; charset=utf-8', 1]]);
  const threw = await runCode({ code: 'await files.write("log.txt", "so far");\nthrow new Error("then it broke");' });
  assert.is(threw.status, 'FAILED');
  assert.is(text(threw, 'log.txt'), 'so far');
});

ends('files-kept :: a write still in flight when the script exits is either whole or absent, never cut', async () => {
  const code = 'files.write("racing.bin", new Uint8Array(8 * 1024 * 1024).fill(7));\nsetTimeout(() => Deno.exit(0), 1);';
  const runtime = createRuntime({ concurrency: 2, warmProcesses: 0 });
  try {
    const results = await runtime.runMany(Array.from({ length: 4 }, () => ({ code })));
    for (const r of results as RunResult[]) {
      assert.is(r.status, 'SUCCEEDED', r.statusMessage);
      assert.ok(r.files.length === 0 || (r.files[0]!.size === 8 * MiB && r.files[0]!.bytes.every((byte) => byte === 7)), JSON.stringify(outputs(r)));
    }
  } finally {
    await runtime.close();
  }
});

ends.run();

// ---
const options = suite('files-options');

options('files-options :: input files are checked before anything runs, each error naming the file and the limit', () => {
  const bad: Array<[unknown, RegExp]> = [
    [{ 'a/b.csv': 'x' }, /^Input file "a\/b\.csv" has a name that is not a plain name .*: a name has no `\/`/],
    [{ '..': 'x' }, /^Input file "\.\." .*no `\.\.`/],
    [{ 'a\0b': 'x' }, /no NUL/],
    [{ ok: 42 }, /^Expected input file "ok" to be a string or a Uint8Array, got number$/],
    [{ big: new Uint8Array(11 * MiB) }, /^Input file "big" is 11 MiB, over the limit of 10 MiB per file \(maxFileBytes\)$/],
    [['a'], /^Expected the `files` option to be an object/],
  ];
  for (const [files, message] of bad) {
    assert.throws(() => normalizeOptions({ code: ';', files: files as never }), (error: Error) => error instanceof TypeError && message.test(error.message), JSON.stringify(Object.keys(files as object)));
  }
  const many = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`f${i}`, new Uint8Array(10 * MiB)]));
  assert.throws(() => normalizeOptions({ code: ';', files: many }), /The input files come to more than 64 MiB \(at "f6"\), over the limit for all input files together \(maxFilesInBytes\)/);
  assert.throws(() => normalizeOptions({ code: ';', maxFileBytes: 0 }), /`maxFileBytes` option to be an integer from 1 to 1,073,741,824/);
  assert.is(normalizeOptions({ code: ';', files: many, maxFilesInBytes: 100 * MiB }).files.length, 7);
});

options.run();

// ---
const types = suite('files-types');

types('files-types :: a script using every `files` method and a typed default export type-checks', () => {
  const r = denoCheck(fixturePath('files-typed.ts'));
  assert.is(r.status, 0, r.output);
});

types('files-types :: the declarations catch data files cannot take and a value that is not JSON', () => {
  const dir = scratchDir('files-typed');
  const file = path.join(dir, 'bad.ts');
  // Relative: Deno loads a declaration file named by an absolute path twice.
  writeFileSync(file, `/// <reference path="${path.relative(dir, path.join(ROOT, 'types', 'apify.d.ts'))}" />\nawait files.write('a.txt', 42);\nconst n: number = await files.readText('a');\nexport default { when: () => 1 } satisfies CodeRuntimeJson;\n`);
  const r = denoCheck(file);
  assert.is(r.status, 1);
  assert.match(r.output, /Argument of type 'number' is not assignable to parameter of type 'FileData'/);
  assert.match(r.output, /Type 'string' is not assignable to type 'number'/);
  assert.match(r.output, /does not satisfy the expected type 'JsonValue'/);
  assert.not.match(r.output, /redeclare|Duplicate/);
});

types.run();
