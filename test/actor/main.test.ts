// The Actor entry run offline, as `apify run` and the platform start it: one item per run, script
// failures as data, deadlines before the run's own, whole streams saved when the item truncates.
import { rmSync } from 'node:fs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deadlineIn, runActor } from './harness.js';

const actor = suite('actor');

actor('actor :: a script that prints yields one item and a succeeded run', async () => {
  const run = await runActor({ code: 'console.log("hello");\nconsole.error("careful");\nconsole.log(1 + 1);' });
  assert.is(run.exitCode, 0, run.log);
  assert.is(run.items.length, 1);
  const item = run.items[0]!;
  assert.equal(
    { ...item, durationMillis: 0 },
    {
      stdout: 'hello\n2\n', stderr: 'careful\n', exitCode: 0, status: 'SUCCEEDED', statusMessage: 'Script completed',
      durationMillis: 0, stdoutBytes: 8, stderrBytes: 8, stdoutTruncated: false, stderrTruncated: false, stdoutRecord: null,
      stderrRecord: null, actorRuns: [], toolCalls: [], requests: [], files: [],
    },
  );
  assert.ok(item.durationMillis > 0 && item.durationMillis < 60_000);
  assert.equal(run.keys, [], 'nothing saved besides the input');
  // Live: every line reached the Actor's log, marked by stream.
  assert.match(run.log, /^\[stdout\] hello$/m);
  assert.match(run.log, /^\[stdout\] 2$/m);
  assert.match(run.log, /^\[stderr\] careful$/m);
  assert.match(run.log, /Script completed \(SUCCEEDED, exit code 0, \d+ ms\)/);
});

actor('actor :: a script that throws is data: the run succeeds and the item says FAILED', async () => {
  const run = await runActor({ code: 'console.log("before");\nthrow new Error("boom");' });
  assert.is(run.exitCode, 0, run.log);
  assert.is(run.items.length, 1);
  const item = run.items[0]!;
  assert.is(item.status, 'FAILED');
  assert.is(item.exitCode, 1);
  assert.is(item.statusMessage, 'Script threw: Error: boom');
  assert.is(item.stdout, 'before\n');
  assert.match(item.stderr, /Error: boom/);
  assert.match(run.log, /Script threw: Error: boom \(FAILED, exit code 1, \d+ ms\)/);
});

actor('actor :: a syntax error and a non-zero exit are data too', async () => {
  const syntax = await runActor({ code: 'const = 1;' });
  assert.is(syntax.exitCode, 0, syntax.log);
  assert.is(syntax.items[0]?.status, 'FAILED');
  assert.match(syntax.items[0]!.statusMessage, /^Syntax error/);
  const exit = await runActor({ code: 'console.log("bye"); Deno.exit(3);' });
  assert.is(exit.exitCode, 0, exit.log);
  assert.is(exit.items[0]?.exitCode, 3);
  assert.is(exit.items[0]?.status, 'FAILED');
});

actor('actor :: timeout still yields its item', async () => {
  const run = await runActor({ code: 'console.log("started");\nwhile (true) {}', timeoutSecs: 1 });
  assert.is(run.exitCode, 0, run.log);
  assert.is(run.items.length, 1);
  const item = run.items[0]!;
  assert.is(item.status, 'TIMED-OUT');
  assert.is(item.exitCode, 124);
  assert.is(item.statusMessage, 'Timed out after 1 s');
  assert.is(item.stdout, 'started\n');
  assert.ok(item.durationMillis >= 1000 && item.durationMillis < 10_000, String(item.durationMillis));
});

actor('actor :: without timeoutSecs the script ends before the run\'s own deadline', async () => {
  const timeoutAt = deadlineIn(8);
  const run = await runActor({ code: 'while (true) {}' }, { env: { ACTOR_TIMEOUT_AT: timeoutAt } });
  assert.ok(Date.now() < Date.parse(timeoutAt), 'the Actor finished before its deadline');
  assert.is(run.exitCode, 0, run.log);
  assert.is(run.items[0]?.status, 'TIMED-OUT');
  // Half of the ~7 s left is kept for saving: the script gets 3 s.
  const secs = Number(run.log.match(/Running the script \(.*timeout (\d+) s/)?.[1]);
  assert.ok(secs >= 1 && secs <= 4, `script timeout ${secs} s`);
  assert.is(run.items[0]?.statusMessage, `Timed out after ${secs} s`);
});

actor('actor :: a timeoutSecs beyond the run\'s deadline is cut, with a warning', async () => {
  const timeoutAt = deadlineIn(8);
  const run = await runActor({ code: 'while (true) {}', timeoutSecs: 3600 }, { env: { APIFY_TIMEOUT_AT: timeoutAt } });
  assert.ok(Date.now() < Date.parse(timeoutAt), 'the Actor finished before its deadline');
  assert.is(run.exitCode, 0, run.log);
  assert.match(run.log, /timeoutSecs 3600 is more than this run has left; the script gets \d s/);
  assert.is(run.items[0]?.status, 'TIMED-OUT');
});

actor('actor :: the script\'s memory limit is derived from the run\'s memory', async () => {
  // 320 MB for the run leaves 32 MB of heap once Deno and the Actor have theirs.
  const run = await runActor(
    { code: 'const keep = [];\nwhile (true) keep.push(new Array(100_000).fill(Math.random()));' },
    { env: { ACTOR_MEMORY_MBYTES: '320' } },
  );
  assert.is(run.exitCode, 0, run.log);
  assert.is(run.items[0]?.status, 'OUT-OF-MEMORY');
  assert.is(run.items[0]?.exitCode, 137);
  assert.is(run.items[0]?.statusMessage, 'Out of memory: the JavaScript heap reached its limit of 32 MB (memoryMbytes)');
});

actor('actor :: a memoryMbytes the run cannot give is cut, with a warning', async () => {
  const run = await runActor({ code: 'console.log("fits")', memoryMbytes: 4096 }, { env: { APIFY_MEMORY_MBYTES: '1024' } });
  assert.is(run.exitCode, 0, run.log);
  assert.match(run.log, /memoryMbytes 4096 is more than this run's 1024 MB can give the script; it gets 736 MB/);
  assert.is(run.items[0]?.stdout, 'fits\n');
});

actor('actor :: truncated streams are saved whole in the key-value store and named in the item', async () => {
  // 6 MiB on each stream, line-numbered so any loss or reordering shows.
  const code = `
    const pad = 'x'.repeat(1000);
    for (let i = 0; i < 6144; i++) console.log(String(i).padStart(8, '0') + pad);
    for (let i = 0; i < 6144; i++) console.error('E' + String(i).padStart(7, '0') + pad);
  `;
  const run = await runActor({ code });
  assert.is(run.exitCode, 0, run.log);
  const item = run.items[0]!;
  assert.is(item.status, 'SUCCEEDED');
  const expected = (prefix: string) => Array.from({ length: 6144 }, (_, i) => `${prefix}${String(i).padStart(prefix ? 7 : 8, '0')}${'x'.repeat(1000)}\n`).join('');
  const stdout = expected('');
  const stderr = expected('E');
  assert.ok(item.stdoutTruncated && item.stderrTruncated);
  assert.match(item.stdout, /\[… \d+ bytes cut; lineOffset \d+, byteOffset \d+ …\]/);
  assert.ok(item.stdout.startsWith(stdout.slice(0, 1000)) && item.stdout.endsWith(stdout.slice(-1000)), 'head and tail kept');
  assert.ok(item.stdout.length < 4.5 * 1024 * 1024, 'the item keeps at most ~4 MiB per stream');
  assert.equal(item.stdoutRecord, { key: 'stdout.txt', storeId: 'default', bytes: stdout.length, complete: true });
  assert.equal(item.stderrRecord, { key: 'stderr.txt', storeId: 'default', bytes: stderr.length, complete: true });
  assert.ok(run.record('stdout.txt') === stdout, 'stdout.txt holds the whole stream, byte for byte');
  assert.ok(run.record('stderr.txt') === stderr, 'stderr.txt holds the whole stream, byte for byte');
  assert.match(run.log, /whole output in key-value store record stdout\.txt and stderr\.txt/);
  // The live log stops after a cap and says so, rather than copying megabytes into the run's log.
  assert.match(run.log, /\[stdout\] … the log shows only the first 4 MiB of stdout/);
  assert.ok(run.log.length < 12 * 1024 * 1024);
});

actor('actor :: only the truncated stream is saved', async () => {
  const run = await runActor({ code: 'console.log("y".repeat(5 * 1024 * 1024));\nconsole.error("short");' });
  assert.is(run.exitCode, 0, run.log);
  const item = run.items[0]!;
  assert.ok(item.stdoutTruncated);
  assert.not.ok(item.stderrTruncated);
  assert.is(item.stderr, 'short\n');
  assert.is(item.stderrRecord, null);
  assert.equal(run.keys, ['stdout.txt']);
  assert.is(run.record('stdout.txt')?.length, 5 * 1024 * 1024 + 1);
});

actor('actor :: a stream past the 100 MiB capture cap is saved up to it, and the item says so', async () => {
  const run = await runActor({ code: 'const mib = new Uint8Array(1024 * 1024).fill(97);\nfor (let i = 0; i < 101; i++) Deno.stdout.writeSync(mib);' });
  try {
    assert.is(run.exitCode, 0, run.log);
    const item = run.items[0]!;
    assert.is(item.status, 'SUCCEEDED');
    assert.equal(item.stdoutRecord, { key: 'stdout.txt', storeId: 'default', bytes: 100 * 1024 * 1024, complete: false });
    assert.is(run.record('stdout.txt')?.length, 100 * 1024 * 1024);
    assert.ok(item.stdout.endsWith('a'.repeat(1000)), 'the item still has the tail');
  } finally {
    // 100 MiB on disk: not left for the end of the test process.
    rmSync(run.storage, { recursive: true, force: true });
  }
});

actor('actor :: output that escapes past the item limit is cut further and saved whole', async () => {
  // 4 MiB of control characters: each becomes six bytes of JSON, far over the 9 MiB item limit.
  const run = await runActor({ code: 'Deno.stdout.writeSync(new Uint8Array(4 * 1024 * 1024 - 8192).fill(1));' });
  assert.is(run.exitCode, 0, run.log);
  const item = run.items[0]!;
  assert.is(item.status, 'SUCCEEDED');
  assert.ok(item.stdoutTruncated, 'cut to fit, so marked truncated');
  assert.ok(Buffer.byteLength(JSON.stringify(item)) < 9 * 1024 * 1024);
  assert.is(item.stdoutRecord?.bytes, 4 * 1024 * 1024 - 8192);
  assert.is(run.record('stdout.txt'), '\u0001'.repeat(4 * 1024 * 1024 - 8192));
});

actor('actor :: unknown input fields are ignored with a warning', async () => {
  const run = await runActor({ code: 'console.log("ran")', codee: 'typo', timeout: 5 });
  assert.is(run.exitCode, 0, run.log);
  assert.match(run.log, /Ignoring unknown input field `codee`; the fields are code, timeoutSecs, memoryMbytes, maxActorRuns, maxTotalChargeUsd, defaultTimeoutSecs/);
  assert.match(run.log, /Ignoring unknown input field `timeout`/);
  assert.is(run.items[0]?.stdout, 'ran\n');
});

actor('actor :: a restarted run keeps its one item and does not run the script again', async () => {
  const first = await runActor({ code: 'console.log("once")' });
  assert.is(first.items.length, 1);
  // A migration or resurrection restarts the run on the same storages, without purging them.
  const again = await runActor({ code: 'console.log("once")' }, { storage: first.storage, env: { CRAWLEE_PURGE_ON_START: '0' } });
  assert.is(again.exitCode, 0, again.log);
  assert.is(again.items.length, 1);
  assert.match(again.log, /already has its result item .*not run again/);
  assert.not.match(again.log, /\[stdout\] once/);
});

actor.run();
