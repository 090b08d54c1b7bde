// Invalid options reject with a TypeError naming the option, the value and what is allowed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import type { RunOptions } from '../../types/options.js';
import { rejects } from '../helpers/helpers.js';

const options = suite('options');

const bad: Array<[string, unknown, RegExp]> = [
  ['missing code', {}, /`code` option to be a non-empty string of at most 1,000,000 characters, got undefined/],
  ['empty code', { code: '' }, /`code` option .* got "" \(string\)/],
  ['blank code', { code: '  \n ' }, /`code` option/],
  ['non-string code', { code: 42 }, /`code` option .* got 42 \(number\)/],
  ['code over 1,000,000 characters', { code: 'x'.repeat(1_000_001) }, /`code` option .* of 1000001 characters/],
  ['timeout of 0', { code: '1', timeoutSecs: 0 }, /`timeoutSecs` option to be a number from 1 to 3,600, got 0 \(number\)/],
  ['timeout over an hour', { code: '1', timeoutSecs: 3601 }, /`timeoutSecs` .* from 1 to 3,600, got 3601/],
  ['timeout as a string', { code: '1', timeoutSecs: '5' }, /`timeoutSecs` .* got "5" \(string\)/],
  ['timeout NaN', { code: '1', timeoutSecs: NaN }, /`timeoutSecs` .* got NaN/],
  ['memory below 16 MB', { code: '1', memoryMbytes: 8 }, /`memoryMbytes` option to be an integer from 16 to 32,768, got 8 \(number\)/],
  ['fractional memory', { code: '1', memoryMbytes: 64.5 }, /`memoryMbytes` .* integer/],
  ['output cap too small', { code: '1', maxOutputBytes: 100 }, /`maxOutputBytes` .* from 4,096 to 1,073,741,824, got 100/],
  ['script name with a path', { code: '1', scriptName: '../etc/passwd' }, /`scriptName` option to be a file name/],
  ['api URL with a path', { code: '1', apiBaseUrl: 'https://api.apify.com/v2' }, /`apiBaseUrl` option to be an http\(s\) URL with no path/],
  ['api URL of another scheme', { code: '1', apiBaseUrl: 'ftp://api.apify.com' }, /`apiBaseUrl`/],
  ['negative maxActorRuns', { code: '1', maxActorRuns: -1 }, /`maxActorRuns` option to be an integer from 0/],
  ['budget as a string', { code: '1', maxTotalChargeUsd: '5' }, /`maxTotalChargeUsd` option to be a number/],
  ['onOutput not a function', { code: '1', onOutput: 'log' }, /`onOutput` option to be a function/],
  ['signal not an AbortSignal', { code: '1', signal: {} }, /`signal` option to be an AbortSignal, got an object/],
  ['unknown option', { code: '1', timeout: 5 }, /Unknown option `timeout`; the options are: code, timeoutSecs/],
  ['options not an object', 'console.log(1)', /options to be an object with at least `code`/],
];

for (const [name, input, pattern] of bad) {
  options(`options :: rejects ${name}`, async () => {
    await rejects(runCode(input as RunOptions), TypeError, pattern);
  });
}

options('options :: defaults are filled in', () => {
  const o = normalizeOptions({ code: 'x', apiBaseUrl: 'http://127.0.0.1:9' });
  assert.is(o.timeoutSecs, 300);
  assert.is(o.memoryMbytes, 256);
  assert.is(o.maxOutputBytes, 8 * 1024 * 1024);
  assert.is(o.scriptName, 'script.ts');
  assert.is(o.apiBaseUrl.href, 'http://127.0.0.1:9/');
});

options('options :: the API base URL and token default to the environment', () => {
  const saved = { url: process.env.APIFY_API_BASE_URL, token: process.env.APIFY_TOKEN };
  process.env.APIFY_API_BASE_URL = 'http://127.0.0.1:4567';
  process.env.APIFY_TOKEN = 'from-env';
  try {
    const o = normalizeOptions({ code: 'x' });
    assert.is(o.apiBaseUrl.host, '127.0.0.1:4567');
    assert.is(o.token, 'from-env');
    assert.is(normalizeOptions({ code: 'x', token: 'given' }).token, 'given');
  } finally {
    for (const [key, value] of [['APIFY_API_BASE_URL', saved.url], ['APIFY_TOKEN', saved.token]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
});

options('options :: the caller\'s object is copied, not kept', async () => {
  const input: RunOptions = { code: 'console.log("original")' };
  const pending = runCode(input);
  input.code = 'console.log("changed")';
  assert.is((await pending).stdout, 'original\n');
});

options.run();
