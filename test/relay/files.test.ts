// The relay's files family, spoken to as a hostile script would (raw HTTP on its own connections):
// plain names only, lengths declared and held to, every limit refused before a byte is kept, what
// a run can make the relay hold bounded, and nothing written once the run ended.
import http from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openRelaySession, type RelaySession } from '../../orchestrator/relay/relay.js';
import type { RunFiles } from '../../orchestrator/relay/file-store.js';
import { fileNameProblem } from '../../orchestrator/relay/file-names.js';
import { inferContentType } from '../../orchestrator/relay/content-type.js';
import { send } from '../helpers/raw-http.js';

const MiB = 1024 * 1024;
const LIMITS = { maxFilesOut: 100, maxFileBytes: 10 * MiB, maxFilesOutBytes: 64 * MiB };

async function open(files: Partial<RunFiles> = {}): Promise<RelaySession> {
  return openRelaySession({ apiBaseUrl: 'http://127.0.0.1:9', files: { inputs: [], ...LIMITS, ...files } });
}

function put(session: RelaySession, name: string, body: Buffer | string, headers: Record<string, string> = {}) {
  return send(session.url, `/files/out?name=${name}`, { method: 'PUT', body, headers: { 'content-length': String(Buffer.byteLength(body)), ...headers } });
}

// ---
const names = suite('relay-file-names');

names('relay-file-names :: plain names pass; a folder, `..`, NUL, control characters, lone surrogates and 256 bytes do not', () => {
  for (const good of ['a.csv', 'Report 2024 (final).pdf', 'zpráva.txt', '.hidden', '日本語.json', 'a'.repeat(255), 'é'.repeat(127)]) {
    assert.is(fileNameProblem(good), undefined, good);
  }
  const bad: Array<[unknown, RegExp]> = [
    ['', /empty/], ['a/b', /`\/`/], ['/etc/passwd', /`\/`/], ['a\\b', /`\\`/], ['..', /`\.\.`/], ['x..y', /`\.\.`/], ['.', /not `\.`/],
    ['a\0b', /NUL/], ['a\nb', /control/], ['a\u0085b', /control/], ['\ud800x', /UTF-8/], ['a'.repeat(256), /256 bytes.*255/],
    ['é'.repeat(128), /256 bytes/], [42, /string/], [undefined, /string/],
  ];
  for (const [name, why] of bad) assert.match(fileNameProblem(name) ?? 'passed', why, JSON.stringify(name));
});

names('relay-file-names :: content types come from the name, else text for UTF-8 and bytes for the rest', () => {
  assert.is(inferContentType('a.CSV', Buffer.from('x')), 'text/csv; charset=utf-8');
  assert.is(inferContentType('chart.png', Buffer.from('x')), 'image/png');
  assert.is(inferContentType('notes', Buffer.from('héllo')), 'text/plain; charset=utf-8');
  assert.is(inferContentType('blob', Buffer.from([0xff, 0xfe, 0x00])), 'application/octet-stream');
  assert.is(inferContentType('nul', Buffer.from([0x61, 0x00])), 'application/octet-stream');
  assert.is(inferContentType('controls', Buffer.from([1, 2, 3])), 'application/octet-stream');
  assert.is(inferContentType('log', Buffer.from('\u001b[31mred\u001b[0m\r\n\tok\f')), 'text/plain; charset=utf-8');
  assert.is(inferContentType('.png', Buffer.from('x')), 'text/plain; charset=utf-8', 'a dot file has no extension');
});

names.run();

// ---
const route = suite('relay-files');

route('relay-files :: an input is read back byte for byte; a missing one names the inputs there are', async () => {
  const bytes = Buffer.from([0, 1, 2, 255, 254]);
  const session = await open({ inputs: [{ name: 'in.bin', contentType: 'application/octet-stream', bytes }, { name: 'ü.txt', contentType: 'text/plain', bytes: Buffer.from('ü') }] });
  try {
    const read = await send(session.url, '/files/in?name=in.bin');
    assert.is(read.status, 200);
    assert.is(read.headers['content-type'], 'application/octet-stream');
    assert.is(read.headers['content-length'], '5');
    const utf8 = await send(session.url, `/files/in?name=${encodeURIComponent('ü.txt')}`);
    assert.is(utf8.text, 'ü');
    const missing = await send(session.url, '/files/in?name=nope.csv');
    assert.is(missing.status, 404);
    assert.is(missing.json?.error?.type, 'file-not-found');
    assert.is(missing.json?.error?.message, 'No input file "nope.csv": the inputs are "in.bin", "ü.txt" (files.list() lists them)');
  } finally {
    await session.close({ abortRunning: false });
  }
});

route('relay-files :: hostile names are refused before anything is kept: folders, `..`, NUL, bad encodings', async () => {
  const session = await open();
  try {
    const paths = ['../x', '..', '%2E%2E', 'a%2Fb', 'a/b', '%2Fetc%2Fpasswd', 'a%00b', 'a%5Cb', '%E0%A4%A', '%ED%A0%80', 'x%0Ay'];
    for (const name of paths) {
      const r = await put(session, name, 'x');
      assert.is(r.status, 400, name);
      assert.is(r.json?.error?.type, 'invalid-name', `${name}: ${r.text}`);
    }
    assert.match((await put(session, '..', 'x')).json?.error?.message ?? '', /^Cannot write "\.\.": a name has no `\.\.`; a file name is a plain name/);
    assert.equal((await session.close({ abortRunning: false })).files, []);
  } finally {
    await session.close({ abortRunning: false });
  }
});

route('relay-files :: a write keeps its bytes and type (given, or inferred); writing a name again replaces it in place', async () => {
  const session = await open();
  const r1 = await put(session, 'a.csv', 'x,y\n');
  assert.is(r1.status, 201);
  assert.equal(JSON.parse(r1.text), { name: 'a.csv', size: 4, contentType: 'text/csv; charset=utf-8' });
  assert.is((await put(session, 'b', Buffer.from([0, 159]), {})).status, 201);
  assert.is((await put(session, 'c.dat', 'z', { 'content-type': 'image/svg+xml' })).status, 201);
  assert.is((await put(session, 'a.csv', 'x,y\n1,2\n')).status, 201);
  const bad = await put(session, 'd', 'z', { 'content-type': 'not a type' });
  assert.is(bad.json?.error?.type, 'invalid-content-type');
  const { files } = await session.close({ abortRunning: false });
  assert.equal(files.map(({ name, contentType, size }) => ({ name, contentType, size })), [
    { name: 'a.csv', contentType: 'text/csv; charset=utf-8', size: 8 },
    { name: 'b', contentType: 'application/octet-stream', size: 2 },
    { name: 'c.dat', contentType: 'image/svg+xml', size: 1 },
  ]);
  assert.is(Buffer.from(files[0]!.bytes).toString(), 'x,y\n1,2\n');
});

route('relay-files :: a body without its length, or shorter than it said, is refused and kept nowhere', async () => {
  const session = await open();
  const chunked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(session.url);
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}/files/out?name=x.txt`, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end('hello');
  });
  assert.is(chunked.status, 411, chunked.body);
  assert.match(chunked.body, /Content-Length/);
  // Says 100 bytes, sends 3, hangs up: the place is given back, nothing is kept.
  const url = new URL(session.url);
  await new Promise<void>((resolve) => {
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}/files/out?name=short.txt`, headers: { 'content-length': '100' } });
    req.on('error', () => resolve());
    req.write('abc', () => setTimeout(() => req.destroy(), 50));
    req.on('close', () => resolve());
  });
  assert.is((await put(session, 'ok.txt', 'fine')).status, 201, 'the run can still write');
  const { files } = await session.close({ abortRunning: false });
  assert.equal(files.map((file) => file.name), ['ok.txt']);
});

route('relay-files :: a 1 GiB write is refused at its headers: "limit" and MiB in the message, nothing read or held', async () => {
  const session = await open();
  const url = new URL(session.url);
  const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}/files/out?name=huge.bin`, headers: { 'content-length': String(1024 * MiB) } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body });
        req.destroy();
      });
    });
    req.on('error', reject);
    // Only the headers and a little: the answer must not wait for the gigabyte.
    req.write(Buffer.alloc(1024));
  });
  assert.is(answer.status, 413);
  assert.match(answer.body, /Cannot write \\"huge\.bin\\": it is 1024 MiB, over the limit of 10 MiB per file \(maxFileBytes\)/);
  assert.equal((await session.close({ abortRunning: false })).files, []);
});

route('relay-files :: the count and the total are limits, checked before the body; replacing counts once', async () => {
  const session = await open({ maxFilesOut: 3, maxFilesOutBytes: 10 });
  for (const name of ['a', 'b', 'c']) assert.is((await put(session, name, 'xx')).status, 201);
  const fourth = await put(session, 'd', 'x');
  assert.is(fourth.status, 403);
  assert.is(fourth.json?.error?.type, 'files-out-limit');
  assert.match(fourth.json?.error?.message ?? '', /already wrote 3 files, the limit \(maxFilesOut\)/);
  assert.is((await put(session, 'a', 'xxxx')).status, 201, 'a name already written may be written again');
  const over = await put(session, 'b', 'xxxxxx');
  assert.is(over.status, 413);
  assert.match(over.json?.error?.message ?? '', /the run's files already take .* MiB, and the limit is .* MiB in all \(maxFilesOutBytes\)/);
  const { files } = await session.close({ abortRunning: false });
  assert.equal(files.map((file) => [file.name, file.size]), [['a', 4], ['b', 2], ['c', 2]]);
});

route('relay-files :: concurrent writes of new names cannot pass the count between them', async () => {
  const session = await open({ maxFilesOut: 5 });
  const answers = await Promise.all(Array.from({ length: 12 }, (_, i) => put(session, `f${i}`, 'x')));
  assert.is(answers.filter((answer) => answer.status === 201).length, 5);
  assert.ok(answers.every((answer) => answer.status === 201 || answer.json?.error?.type === 'files-out-limit' || answer.status === 429), answers.map((a) => a.status).join());
  assert.is((await session.close({ abortRunning: false })).files.length, 5);
});

route('relay-files :: sixteen 10 MiB writes at once: what is held never passes the run\'s 64 MiB, the rest refused at their headers', async () => {
  const session = await open();
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => put(session, `big${i}.bin`, Buffer.alloc(10 * MiB, i))));
  const kept = answers.filter((answer) => answer.status === 201).length;
  assert.is(kept, 6, answers.map((answer) => answer.status).join());
  for (const answer of answers.filter((a) => a.status !== 201)) {
    assert.is(answer.status, 413);
    assert.match(answer.json?.error?.message ?? '', /and the limit is 64 MiB in all \(maxFilesOutBytes\)/);
  }
  const { files } = await session.close({ abortRunning: false });
  assert.is(files.reduce((sum, file) => sum + file.size, 0), 60 * MiB);
});

route('relay-files :: after the run ended nothing is written, and the files it returned do not change', async () => {
  const session = await open();
  assert.is((await put(session, 'kept.txt', 'before')).status, 201);
  const { files } = await session.close({ abortRunning: false });
  const late = await put(session, 'late.txt', 'after');
  assert.is(late.status, 403);
  const again = await put(session, 'kept.txt', 'changed');
  assert.is(again.status, 403);
  assert.equal(files.map((file) => Buffer.from(file.bytes).toString()), ['before']);
  assert.equal((await session.close({ abortRunning: false })).files.map((file) => file.name), ['kept.txt']);
});

route('relay-files :: a write in flight when the run ends lands nowhere and gives its bytes back', async () => {
  const session = await open();
  const url = new URL(session.url);
  const req = http.request({ agent: false, host: url.hostname, port: url.port, method: 'PUT', path: `${url.pathname}/files/out?name=slow.bin`, headers: { 'content-length': String(4 * MiB) } });
  req.on('error', () => undefined);
  req.write(Buffer.alloc(MiB));
  await new Promise((resolve) => setTimeout(resolve, 100));
  const { files } = await session.close({ abortRunning: false });
  assert.equal(files, []);
  req.destroy();
  // Its 4 MiB were given back: another run can hold the whole of its own budget at once.
  const other = await open({ maxFileBytes: 64 * MiB, maxFilesOutBytes: 64 * MiB });
  assert.is((await put(other, 'big.bin', Buffer.alloc(64 * MiB))).status, 201);
  await other.close({ abortRunning: false });
});

route('relay-files :: other methods and paths of the family are refused, naming the two it answers', async () => {
  const session = await open();
  try {
    for (const [method, path] of [['GET', '/files/out?name=a'], ['PUT', '/files/in?name=a'], ['DELETE', '/files/out?name=a'], ['GET', '/files/list'], ['POST', '/files/out?name=a'], ['PUT', '/files/out/a']]) {
      const r = await send(session.url, path!, { method, headers: method === 'GET' ? {} : { 'content-length': '0' } });
      assert.is(r.status, 404, `${method} ${path}`);
      assert.match(r.json?.error?.message ?? '', /GET \/files\/in\?name=NAME and PUT \/files\/out\?name=NAME/);
    }
    for (const query of ['name=a&x=1', 'name=a&name=b', 'x=a', '']) {
      const r = await send(session.url, `/files/in${query ? `?${query}` : ''}`);
      assert.is(r.status, 400, query);
      assert.match(r.json?.error?.message ?? '', /exactly one query parameter, `name`/);
    }
  } finally {
    await session.close({ abortRunning: false });
  }
});

route.run();
