// The Actor's files and value, run offline as the platform would (the harness), and once through the
// real `apify run`: input files as text, base64 and a record of the user's key-value store (read
// from a fake API on loopback with the run's token), each written file a record of the default store
// whose URL the item gives, the value in the item, and input that cannot give a file refused.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { apifyCli, readStorage, runActor, scratchDir } from './harness.js';
import { parseFileSources, resolveFileSources } from '../../orchestrator/actor/files.js';
import { decodeInputFiles } from '../../orchestrator/server/files.js';
import { startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { ROOT } from '../helpers/helpers.js';

const TOKEN = 'apify_api_ACTORfilesToken0123456789';
const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001', 'hex');

const SCRIPT = `
const names = files.list().map((f) => f.name + ':' + f.size);
const csv = await files.readText('data.csv');
const remote = await files.readText('remote.txt');
await files.write('report.csv', csv + 'from store,' + remote + '\\n');
await files.write('chart.png', await files.read('logo.png'));
await files.write('zpráva č. 1.txt', 'ahoj');
await files.write('stdout.txt', 'not the stream');
console.log(names.join(' '));
export default { names: names.length, remote };
`;

const actorFiles = suite('actor-files');
let api: FakeApi;

actorFiles.before(async () => {
  api = await startFakeApi({ token: TOKEN });
  api.stores.set('UserStore001', { records: new Map([['notes', { body: Buffer.from('kept in my store'), contentType: 'text/plain' }]]) });
});

actorFiles.after(async () => {
  await api.close();
});

function env(): Record<string, string> {
  return { APIFY_TOKEN: TOKEN, APIFY_API_BASE_URL: api.url };
}

actorFiles('actor-files :: an input file named `__proto__` is kept, as any plain name (JSON input holds it as an own key)', async () => {
  const raw = JSON.parse('{"__proto__": "kept", "b.txt": {"base64": "Yg=="}}') as unknown;
  const parsed = parseFileSources(raw);
  assert.ok('sources' in parsed, JSON.stringify(parsed));
  const reader = { origins: [], open: () => Promise.reject(new Error('no records here')) };
  const files = await resolveFileSources((parsed as { sources: Parameters<typeof resolveFileSources>[0] }).sources, reader, { maxFileBytes: 1024, maxFilesInBytes: 1024 });
  assert.equal(Object.keys(files), ['__proto__', 'b.txt']);
  assert.is(Buffer.from(files.__proto__ as Uint8Array).toString(), 'kept');
  // The server's JSON files too (MCP and REST decode them with this).
  assert.equal(Object.keys(decodeInputFiles(JSON.parse('{"__proto__": {"text": "kept"}}') as Record<string, { text: string }>) ?? {}), ['__proto__']);
});

actorFiles('actor-files :: input files as text, base64 and a record URL; each written file a record whose file: URL the item gives', async () => {
  const input = {
    code: SCRIPT,
    files: {
      'data.csv': 'a,b\n1,2\n',
      'logo.png': { base64: PNG.toString('base64') },
      'remote.txt': `${api.url}/v2/key-value-stores/UserStore001/records/notes`,
    },
  };
  const run = await runActor(input, { env: env() });
  assert.is(run.exitCode, 0, run.log);
  const item = run.items[0]!;
  assert.is(item.status, 'SUCCEEDED', item.stderr);
  assert.is(item.stdout, 'data.csv:8 logo.png:20 remote.txt:16\n');
  assert.equal(item.value, { names: 3, remote: 'kept in my store' });
  assert.equal(item.files.map(({ name, contentType, size, key }) => ({ name, contentType, size, key })), [
    { name: 'report.csv', contentType: 'text/csv; charset=utf-8', size: 36, key: 'report.csv' },
    { name: 'chart.png', contentType: 'image/png', size: 20, key: 'chart.png' },
    { name: 'zpráva č. 1.txt', contentType: 'text/plain; charset=utf-8', size: 4, key: 'zpr_va__._1.txt' },
    { name: 'stdout.txt', contentType: 'text/plain; charset=utf-8', size: 14, key: 'file-stdout.txt' },
  ]);
  for (const file of item.files) {
    assert.match(file.url, /^file:\/\//);
    const onDisk = readFileSync(fileURLToPath(file.url));
    assert.is(onDisk.length, file.size, file.name);
    assert.ok(fileURLToPath(file.url).startsWith(path.join(run.storage, 'key_value_stores', 'default')), file.url);
  }
  assert.is(readFileSync(fileURLToPath(item.files[0]!.url), 'utf8'), 'a,b\n1,2\nfrom store,kept in my store\n');
  assert.equal(readFileSync(fileURLToPath(item.files[1]!.url)), PNG);
  assert.ok(api.calls(/records\/notes/).length >= 1, 'the record was read through the API');
  assert.ok(api.requests.every((request) => request.headers.authorization === `Bearer ${TOKEN}`), 'with the run\'s token');
});

actorFiles('actor-files :: input that cannot give a file fails the run before the script runs, naming the file', async () => {
  const cases: Array<[unknown, RegExp]> = [
    [{ '../x': 'a' }, /`files` has a file named "\.\.\/x": a name has no `\/`/],
    [{ 'a.txt': 42 }, /`files\["a\.txt"\]` must be the file's text, \{ "text": … \}, \{ "base64": … \} or \{ "url": … \}/],
    [{ 'a.txt': `${'https://api.apify.com'}/v2/key-value-stores/S/records/missing` }, /Input file "a\.txt": https:\/\/api\.apify\.com is not the Apify API|no record missing/],
    [{ 'a.txt': { url: 'https://evil.example/v2/key-value-stores/S/records/k' } }, /Input file "a\.txt": https:\/\/evil\.example is not the Apify API/],
    [{ 'a.txt': `${'API'}/v2/key-value-stores/UserStore001/records/nope` }, /Input file "a\.txt": there is no record nope in key-value store UserStore001/],
  ];
  for (const [files, message] of cases) {
    const given = JSON.parse(JSON.stringify(files).replaceAll('API/', `${api.url}/`));
    const run = await runActor({ code: 'console.log("ran")', files: given }, { env: env() });
    assert.is.not(run.exitCode, 0, JSON.stringify(given));
    assert.match(run.log, message);
    assert.not.match(run.log, /\[stdout\] ran/);
    assert.equal(run.items, []);
  }
});

actorFiles.run();

// ---
const apifyRun = suite('actor-files apify run');

apifyRun('actor-files apify run :: `apify run` saves the files as records and the item\'s URLs point at them', async () => {
  const absolute = scratchDir('apify-run-files');
  const relative = path.relative(ROOT, absolute);
  const code = 'await files.write("hello.txt", await files.readText("in.txt") + "!");\nexport default 42;';
  const r = await apifyCli(['run', '--input', JSON.stringify({ code, files: { 'in.txt': 'hello' } })], ROOT, { APIFY_LOCAL_STORAGE_DIR: relative, CRAWLEE_STORAGE_DIR: relative });
  assert.is(r.exitCode, 0, r.all);
  const { items, keys } = readStorage(absolute);
  assert.is(items.length, 1);
  const item = items[0]!;
  assert.is(item.value, 42);
  assert.is(item.files.length, 1);
  assert.equal(keys, ['hello.txt']);
  assert.is(readFileSync(fileURLToPath(item.files[0]!.url), 'utf8'), 'hello!');
});

apifyRun.run();
