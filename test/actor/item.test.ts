// The dataset item always fits the platform's 9 MiB limit, whatever the script printed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fitItem, itemBytes, ITEM_LIMIT_BYTES, toItem } from '../../orchestrator/actor/item.js';
import type { RunResult } from '../../types/result.js';

const item = suite('actor-item');

function result(stdout: string, stderr: string): RunResult {
  return {
    status: 'SUCCEEDED', exitCode: 0, stdout, stderr, statusMessage: 'Script completed', durationMillis: 5,
    stdoutBytes: Buffer.byteLength(stdout), stderrBytes: Buffer.byteLength(stderr), stdoutTruncated: false, stderrTruncated: false,
    actorRuns: [{ id: 'run1', actorId: 'apify/hello-world', status: 'SUCCEEDED' }], toolCalls: [], requests: [], files: [],
  };
}

item('actor-item :: an item that fits is left exactly as it is', () => {
  const plain = toItem(result('a'.repeat(4 * 1024 * 1024), 'b'.repeat(4 * 1024 * 1024)), { stdout: null, stderr: null });
  assert.ok(itemBytes(plain) < ITEM_LIMIT_BYTES);
  assert.is(fitItem(plain), plain);
});

item('actor-item :: escaping past the limit cuts the larger stream first, keeping head and tail', () => {
  const stdout = `HEAD${'"'.repeat(5 * 1024 * 1024)}TAIL`; // 10 MiB of JSON
  const fitted = fitItem(toItem(result(stdout, 'short'), { stdout: null, stderr: null }));
  assert.ok(itemBytes(fitted) <= ITEM_LIMIT_BYTES);
  assert.ok(fitted.stdoutTruncated);
  assert.ok(fitted.stdout.startsWith('HEAD') && fitted.stdout.endsWith('TAIL'));
  assert.match(fitted.stdout, /\[… \d+ bytes cut; lineOffset \d+, byteOffset \d+ …\]/);
  assert.is(fitted.stderr, 'short');
  assert.not.ok(fitted.stderrTruncated);
  assert.equal(fitted.actorRuns, [{ id: 'run1', actorId: 'apify/hello-world', status: 'SUCCEEDED' }]);
});

item('actor-item :: both streams are cut when both are needed', () => {
  const control = '\u0001'.repeat(4 * 1024 * 1024);
  const fitted = fitItem(toItem(result(control, control), { stdout: null, stderr: null }));
  assert.ok(itemBytes(fitted) <= ITEM_LIMIT_BYTES);
  assert.ok(fitted.stdoutTruncated && fitted.stderrTruncated);
});

item.run();
