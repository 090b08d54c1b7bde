// The CLI's files and value, as a user runs it: `--file NAME=PATH` in (text and bytes),
// `--files-out DIR` out (made when missing, never following a symlink out of it), `--json` listing
// names and sizes (never bytes), the value after the output, and usage errors naming the file and limit.
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT, scratchDir } from '../helpers/helpers.js';

const cli = suite('cli-files');
const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');
const scratch = scratchDir('cli-files');
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));

function run(args: string[]) {
  return execa(process.execPath, [CLI, ...args], { reject: false, input: '', cwd: scratch, stripFinalNewline: false });
}

function file(name: string, content: string | Buffer): string {
  const where = path.join(scratch, name);
  writeFileSync(where, content);
  return where;
}

const SCRIPT = file('script.ts', `
const csv = await files.readText('data.csv');
const bytes = await files.read('blob.bin');
await files.write('report.csv', csv + 'total,' + bytes.length + '\\n');
await files.write('reversed.bin', bytes.reverse());
console.log('rows', csv.trim().split('\\n').length);
export default { rows: 2, first: bytes[0] };
`);

cli('cli-files :: --file in, --files-out DIR out (made when missing): text and bytes, the value after the output', async () => {
  const out = path.join(scratch, 'out', 'nested');
  const r = await run(['--file', `data.csv=${file('input.csv', 'a,b\n1,2\n')}`, '--file', file('blob.bin', BYTES), '--files-out', out, SCRIPT]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout, 'rows 2\n', 'stdout is exactly what the script printed');
  assert.is(r.stderr, '[code-runtime] value: {"rows":2,"first":0}\n');
  assert.equal(readdirSync(out).sort(), ['report.csv', 'reversed.bin']);
  assert.is(readFileSync(path.join(out, 'report.csv'), 'utf8'), 'a,b\n1,2\ntotal,256\n');
  assert.equal(readFileSync(path.join(out, 'reversed.bin')), Buffer.from(BYTES).reverse());
});

cli('cli-files :: --json has the value and lists files by name, type, size and where they were saved, never their bytes', async () => {
  const out = path.join(scratch, 'json-out');
  const r = await run(['--json', '--file', `data.csv=${file('input.csv', 'a,b\n1,2\n')}`, '--file', `blob.bin=${file('b.bin', BYTES)}`, '--files-out', out, SCRIPT]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout.split('\n').length, 2, 'one line');
  const result = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(result.value, { rows: 2, first: 0 });
  assert.equal(result.files, [
    { name: 'report.csv', contentType: 'text/csv; charset=utf-8', size: 18, path: path.join(out, 'report.csv') },
    { name: 'reversed.bin', contentType: 'application/octet-stream', size: 256, path: path.join(out, 'reversed.bin') },
  ]);
  assert.not.match(r.stdout, /bytes/);
  const plain = JSON.parse((await run(['--json', '--file', `data.csv=${file('input.csv', 'x\n')}`, '--file', `blob.bin=${file('b.bin', BYTES)}`, SCRIPT])).stdout);
  assert.equal(plain.files.map((listed: Record<string, unknown>) => Object.keys(listed)), [['name', 'contentType', 'size'], ['name', 'contentType', 'size']]);
});

cli('cli-files :: files a script wrote without --files-out are named on stderr, never dropped without a word', async () => {
  const r = await run([file('writes.ts', 'await files.write("a.txt", "1");\nawait files.write("b.png", new Uint8Array(2048));')]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stderr, '[code-runtime] the script wrote 2 files: a.txt (0.000 MiB), b.png (0.002 MiB); pass --files-out DIR to save them\n');
});

cli('cli-files :: usage mistakes exit 2 naming the file and what is allowed, before anything runs', async () => {
  const ran = file('ran.ts', 'console.log("ran")');
  const big = file('big.bin', Buffer.alloc(2048));
  const cases: Array<[string[], RegExp]> = [
    [['--file', path.join(scratch, 'missing.csv'), ran], /--file .*missing\.csv: cannot read .*missing\.csv: no such file/],
    [['--file', `x=${scratch}`, ran], /is not a file/],
    [['--file', `a.csv=${big}`, '--file', `a.csv=${big}`, ran], /there is already an input file named a\.csv/],
    [['--max-file-bytes', '1024', '--file', big, ran], /--file .*big\.bin: .*big\.bin is 0\.002 MiB, over the limit of 0\.001 MiB per file \(--max-file-bytes\)/],
    [['--max-files-in-bytes', '3000', '--file', `a=${big}`, '--file', `b=${big}`, ran], /the input files come to 0\.004 MiB, over the limit of 0\.003 MiB in all \(--max-files-in-bytes\)/],
    [['--file', `bad\u0001name=${big}`, ran], /--file .*: .*no such file|control characters/],
    [['--files-out', '', ran], /--files-out needs a folder/],
  ];
  for (const [args, message] of cases) {
    const r = await run(args);
    assert.is(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.not.match(r.stdout, /ran/);
  }
});

cli('cli-files :: --files-out never follows a symlink already in DIR out of it', async () => {
  const out = path.join(scratch, 'linked');
  mkdirSync(out, { recursive: true });
  const outside = path.join(scratch, 'outside.txt');
  writeFileSync(outside, 'untouched');
  symlinkSync(outside, path.join(out, 'a.txt'));
  const r = await run(['--files-out', out, file('link.ts', 'await files.write("a.txt", "overwritten?")')]);
  assert.is(r.exitCode, 1, r.stderr);
  assert.match(r.stderr, /\[code-runtime\] cannot save the script's files in .*linked: .*ELOOP/);
  assert.is(readFileSync(outside, 'utf8'), 'untouched');
  assert.ok(lstatSync(path.join(out, 'a.txt')).isSymbolicLink());
  assert.ok(existsSync(outside));
});

cli('cli-files :: a file named `.` is refused when written, so it cannot stand for DIR and cost the files after it', async () => {
  const out = path.join(scratch, 'dot');
  const r = await run(['--files-out', out, file('dot.ts', `
await files.write('a.txt', 'A');
try { await files.write('.', 'dot'); } catch (e) { console.log(e.name, e.type, e.message); }
await files.write('z.txt', 'Z');`)]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.match(r.stdout, /^FilesError invalid-name Cannot write "\.": a name is not `\.` .*a file name is a plain name/);
  assert.equal(readdirSync(out).sort(), ['a.txt', 'z.txt']);
});

cli('cli-files :: an input file may be named `__proto__` (any plain name is kept, none silently dropped)', async () => {
  const r = await run(['--file', `__proto__=${file('proto.txt', 'kept')}`, '--file', `b.txt=${file('b.txt', 'b')}`, file('proto.ts', `
console.log(JSON.stringify(files.list().map((f) => f.name)), await files.readText('__proto__'));`)]);
  assert.is(r.exitCode, 0, r.stderr);
  assert.is(r.stdout, '["__proto__","b.txt"] kept\n');
});

cli.run();
