// The Actor "at home", against a stand-in for the Apify platform on 127.0.0.1: input, item, records
// and status message go through the API; the script's `apify` calls carry the run's token; the
// platform's abort and migration events stop the script and still yield its item.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ACTOR_ENTRY } from './harness.js';
import { ROOT } from '../helpers/helpers.js';
import { PLATFORM, startPlatform, STORE_ACTORS, type Platform } from './platform-mock.js';

const platform = suite('actor-platform');

/** Runs the Actor entry with the platform's environment; `onLog` sees its log so far, as it grows. */
async function runAtHome(mock: Platform, onLog?: (log: string) => void) {
  const child = execa(process.execPath, [ACTOR_ENTRY], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...mock.env },
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    all: true,
    timeout: 60_000,
  });
  let log = '';
  child.all?.on('data', (chunk: Buffer) => onLog?.((log += chunk.toString())));
  const done = await child;
  return { exitCode: done.exitCode, log: done.all ?? '' };
}

platform('actor-platform :: the input schema\'s prefill runs with the run\'s token, and its item goes to the dataset', async () => {
  const { properties } = JSON.parse(readFileSync(path.join(ROOT, '.actor', 'input_schema.json'), 'utf8'));
  const mock = await startPlatform({ code: properties.code.prefill });
  try {
    const run = await runAtHome(mock);
    assert.is(run.exitCode, 0, run.log);
    assert.is(mock.items.length, 1);
    const item = mock.items[0]!;
    assert.is(item.status, 'SUCCEEDED', String(item.stderr));
    assert.is(item.stdout, STORE_ACTORS.map((a) => `${a.username}/${a.name}: ${a.title}\n`).join(''));
    const search = mock.requests.find((r) => r.path === '/v2/store');
    assert.ok(search, 'the script searched the Store through the API');
    assert.is(search!.authorization, `Bearer ${PLATFORM.TOKEN}`);
    assert.match(mock.statusMessage() ?? '', /^Script completed \(SUCCEEDED, exit code 0, \d+ ms\)$/);
  } finally {
    await mock.close();
  }
});

platform('actor-platform :: a truncated stream is saved through the API and the item links it', async () => {
  const mock = await startPlatform({ code: 'console.log("z".repeat(5 * 1024 * 1024)); throw new Error("after a flood")' });
  try {
    const run = await runAtHome(mock);
    assert.is(run.exitCode, 0, run.log);
    const item = mock.items[0]!;
    assert.is(item.status, 'FAILED');
    assert.is(item.exitCode, 1);
    assert.equal(item.stdoutRecord, {
      key: 'stdout.txt',
      storeId: PLATFORM.STORE,
      url: `${mock.env.APIFY_API_PUBLIC_BASE_URL}/v2/key-value-stores/${PLATFORM.STORE}/records/stdout.txt`,
      bytes: 5 * 1024 * 1024 + 1,
      complete: true,
    });
    const saved = mock.records.get('stdout.txt');
    assert.ok(saved?.body.equals(Buffer.from(`${'z'.repeat(5 * 1024 * 1024)}\n`)), 'the whole stream reached the store');
    assert.match(saved?.contentType ?? '', /^text\/plain/);
    assert.match(mock.statusMessage() ?? '', /Script threw: Error: after a flood \(FAILED, exit code 1, \d+ ms\); whole output in key-value store record stdout\.txt/);
  } finally {
    await mock.close();
  }
});

for (const [event, message] of [
  ['aborting', 'Aborted: the Actor run was aborted'],
  ['migrating', 'Aborted: the Actor run moved to another server; run the script again'],
] as const) {
  platform(`actor-platform :: the platform's ${event} event stops the script and still yields its item`, async () => {
    const mock = await startPlatform({ code: 'console.log("started");\nwhile (true) {}' });
    try {
      let sent = false;
      const run = await runAtHome(mock, (log) => {
        if (sent || !log.includes('[stdout] started\n')) return;
        sent = true;
        mock.emit(event);
      });
      assert.is(run.exitCode, 0, run.log);
      assert.is(mock.items.length, 1);
      assert.is(mock.items[0]!.status, 'ABORTED');
      assert.is(mock.items[0]!.exitCode, 130);
      assert.is(mock.items[0]!.statusMessage, message);
      assert.is(mock.items[0]!.stdout, 'started\n');
    } finally {
      await mock.close();
    }
  });
}

platform('actor-platform :: when the item cannot be saved, the run fails and says why', async () => {
  const mock = await startPlatform({ code: 'console.log("fine")' }, { refuse: /^POST \/v2\/datasets\// });
  try {
    const run = await runAtHome(mock);
    assert.is(run.exitCode, 1, run.log);
    assert.match(mock.statusMessage() ?? '', /^Infrastructure failure: .*Refused by the mock platform/);
    assert.is(mock.items.length, 0);
  } finally {
    await mock.close();
  }
});

platform.run();
