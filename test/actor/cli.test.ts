// The way Actor developers run it: the real Apify CLI's `apify run` (which starts `npm start` with
// no arguments) and `npm run actor`, offline and without a token, storage in a temporary folder.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { actorEnv, apifyCli, readStorage, scratchDir } from './harness.js';
import { ROOT } from '../helpers/helpers.js';

const cli = suite('actor-cli');

/**
 * A fresh storage folder, named relative to the repository: the CLI joins its storage path onto
 * the project folder even when it is absolute, while the SDK takes it as given; relative, both agree.
 */
function storageFolder(): { absolute: string; relative: string } {
  const absolute = scratchDir('apify-run');
  return { absolute, relative: path.relative(ROOT, absolute) };
}

function storageEnv(relative: string): Record<string, string> {
  return { APIFY_LOCAL_STORAGE_DIR: relative, CRAWLEE_STORAGE_DIR: relative };
}

const repoStorageBefore = existsSync(path.join(ROOT, 'storage'));

cli('actor-cli :: apify run --input runs the Actor through npm start and leaves the item in storage', async () => {
  const storage = storageFolder();
  const r = await apifyCli(['run', '--input', JSON.stringify({ code: 'console.log("hello from apify run")' })], ROOT, storageEnv(storage.relative));
  assert.is(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /Run: npm run start/);
  assert.match(r.all ?? '', /^\[stdout\] hello from apify run$/m);
  const { items } = readStorage(storage.absolute);
  assert.is(items.length, 1);
  assert.is(items[0]?.status, 'SUCCEEDED');
  assert.is(items[0]?.stdout, 'hello from apify run\n');
  assert.is(existsSync(path.join(ROOT, 'storage')), repoStorageBefore, 'nothing written to the repository\'s storage/');
});

cli('actor-cli :: apify run reads INPUT.json from the local key-value store', async () => {
  const storage = storageFolder();
  const store = path.join(storage.absolute, 'key_value_stores', 'default');
  mkdirSync(store, { recursive: true });
  writeFileSync(path.join(store, 'INPUT.json'), JSON.stringify({ code: 'throw new Error("from INPUT.json")' }));
  const r = await apifyCli(['run'], ROOT, storageEnv(storage.relative));
  assert.is(r.exitCode, 0, r.all);
  const { items } = readStorage(storage.absolute);
  assert.is(items.length, 1);
  assert.is(items[0]?.status, 'FAILED', 'a failing script is data; the run itself succeeds');
  assert.is(items[0]?.statusMessage, 'Script threw: Error: from INPUT.json');
});

cli('actor-cli :: apify run refuses input outside the schema\'s bounds before anything runs', async () => {
  const storage = storageFolder();
  const r = await apifyCli(['run', '--input', JSON.stringify({ code: 'console.log("ran")', timeoutSecs: 0 })], ROOT, storageEnv(storage.relative));
  assert.match(r.all ?? '', /timeoutSecs/);
  assert.not.match(r.all ?? '', /\[stdout\] ran/);
  assert.equal(readStorage(storage.absolute).items, []);
});

cli('actor-cli :: npm run actor runs the Actor entry', async () => {
  const storage = scratchDir('npm-actor');
  mkdirSync(path.join(storage, 'key_value_stores', 'default'), { recursive: true });
  writeFileSync(path.join(storage, 'key_value_stores', 'default', 'INPUT.json'), JSON.stringify({ code: 'console.log(6 * 7)' }));
  const r = await execa('npm', ['run', 'actor'], {
    cwd: ROOT, env: { ...actorEnv(storage), npm_config_update_notifier: 'false' }, extendEnv: false, reject: false, all: true,
  });
  assert.is(r.exitCode, 0, r.all);
  assert.is(readStorage(storage).items[0]?.stdout, '42\n');
});

cli.run();
