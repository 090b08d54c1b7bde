// Invalid Actor input fails the run at once, naming the field and what is allowed, and runs nothing;
// and the limits a run derives from its own memory and deadline (a pure function, as a table).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runActor } from './harness.js';
import { ActorInputError, parseActorInput, type RunLimits } from '../../orchestrator/actor/input.js';

const invalid = suite('actor-input');

/** A script that would leave a mark in the log if it ran. */
const MARK = 'console.log("the script ran")';

async function rejected(input: unknown, message: RegExp, rawInput?: string): Promise<void> {
  const run = await runActor(input, { rawInput });
  assert.is(run.exitCode, 1, `the run fails; log:\n${run.log}`);
  assert.match(run.log, message);
  assert.equal(run.items, [], 'no item is pushed');
  assert.not.match(run.log, /\[stdout\] the script ran|Running the script/, 'nothing ran');
}

invalid('actor-input :: no input at all', async () => {
  await rejected(undefined, /Missing input: expected a JSON object such as \{"code": "console\.log\('hello'\)"\}/);
});

invalid('actor-input :: input that is not an object', async () => {
  await rejected(undefined, /Invalid input: expected a JSON object with a `code` string, got an array/, '["console.log(1)"]');
  await rejected(undefined, /Invalid input: expected a JSON object with a `code` string, got "console\.log\(1\)" \(string\)/, '"console.log(1)"');
});

invalid('actor-input :: an INPUT.json that is not JSON counts as no input', async () => {
  // The SDK's local storage skips the file, with a warning of its own that names it.
  await rejected(undefined, /INPUT\.json" for store default has invalid JSON content[\s\S]*Missing input/, '{ "code": console.log("the script ran") }');
});

invalid('actor-input :: missing, empty, blank, non-string and oversized code', async () => {
  const rule = 'must be a non-empty string of at most 1,000,000 characters \\(the TypeScript/JavaScript script to run\\)';
  await rejected({}, new RegExp(`Invalid input: \`code\` ${rule}, got nothing`));
  await rejected({ timeoutSecs: 5 }, new RegExp(`\`code\` ${rule}, got nothing`));
  await rejected({ code: '' }, new RegExp(`\`code\` ${rule}, got "" \\(string\\)`));
  await rejected({ code: ' \n\t ' }, new RegExp(`\`code\` ${rule}, got " \\\\n\\\\t " \\(string\\)`));
  await rejected({ code: 42 }, new RegExp(`\`code\` ${rule}, got 42 \\(number\\)`));
  await rejected({ code: null }, new RegExp(`\`code\` ${rule}, got null`));
  await rejected({ code: ['console.log(1)'] }, new RegExp(`\`code\` ${rule}, got an array`));
  const huge = `${MARK};${' '.repeat(1_000_000)}`;
  await rejected({ code: huge }, new RegExp(`\`code\` ${rule}, got ".*" \\(string of ${huge.length} characters\\)`));
});

invalid('actor-input :: out-of-range, fractional and non-number limits', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ timeoutSecs: 0 }, /`timeoutSecs` must be an integer from 1 to 3,600, got 0 \(number\)/],
    [{ timeoutSecs: 3601 }, /`timeoutSecs` must be an integer from 1 to 3,600, got 3601 \(number\)/],
    [{ timeoutSecs: 1.5 }, /`timeoutSecs` must be an integer from 1 to 3,600, got 1\.5 \(number\)/],
    [{ timeoutSecs: '60' }, /`timeoutSecs` must be an integer from 1 to 3,600, got "60" \(string\)/],
    [{ memoryMbytes: 8 }, /`memoryMbytes` must be an integer from 16 to 32,768, got 8 \(number\)/],
    [{ memoryMbytes: 40_000 }, /`memoryMbytes` must be an integer from 16 to 32,768, got 40000 \(number\)/],
    [{ maxActorRuns: -1 }, /`maxActorRuns` must be an integer from 0 to 1,000,000, got -1 \(number\)/],
    [{ maxTotalChargeUsd: -0.5 }, /`maxTotalChargeUsd` must be a number from 0 to 1,000,000, got -0\.5 \(number\)/],
    [{ maxTotalChargeUsd: true }, /`maxTotalChargeUsd` must be a number from 0 to 1,000,000, got true \(boolean\)/],
    [{ defaultTimeoutSecs: 0 }, /`defaultTimeoutSecs` must be an integer from 1 to 604,800, got 0 \(number\)/],
  ];
  for (const [fields, message] of cases) await rejected({ code: MARK, ...fields }, message);
});

invalid.run();

// ---

const limits = suite('actor-limits');
const NOW = Date.parse('2026-01-01T00:00:00Z');
const at = (secs: number): RunLimits => ({ now: NOW, timeoutAt: new Date(NOW + secs * 1000) });
const settle = (input: Record<string, unknown>, run: RunLimits) => parseActorInput({ code: MARK, ...input }, run);

limits('actor-limits :: outside a run (no memory, no deadline) the library defaults apply', () => {
  const { settings, warnings } = settle({}, { now: NOW });
  assert.equal(settings, { code: MARK, timeoutSecs: 300, memoryMbytes: 256, maxActorRuns: undefined, maxTotalChargeUsd: undefined, defaultTimeoutSecs: undefined, maxToolCalls: 1000, toolTimeoutSecs: 60 });
  assert.equal(warnings, []);
});

limits('actor-limits :: the script timeout defaults to the run\'s remaining time less the margin', () => {
  const table: Array<[number, number]> = [[330, 300], [3600, 3570], [7200, 3600], [40, 20], [10, 5], [1, 1]];
  for (const [left, expected] of table) {
    assert.is(settle({}, at(left)).settings.timeoutSecs, expected, `${left} s left`);
  }
});

limits('actor-limits :: the script memory defaults to the run\'s memory less Deno\'s and the Actor\'s share', () => {
  const table: Array<[number, number]> = [[1024, 736], [4096, 3808], [512, 224], [256, 16], [128, 16], [65_536, 32_768]];
  for (const [run, expected] of table) {
    assert.is(settle({}, { now: NOW, memoryMbytes: run }).settings.memoryMbytes, expected, `${run} MB run`);
  }
});

limits('actor-limits :: explicit limits within what the run allows are kept as given, without warnings', () => {
  const { settings, warnings } = settle(
    { timeoutSecs: 60, memoryMbytes: 512, maxActorRuns: 0, maxTotalChargeUsd: 0.25, defaultTimeoutSecs: 120, maxToolCalls: 5, toolTimeoutSecs: 30 },
    { ...at(330), memoryMbytes: 1024 },
  );
  assert.equal(settings, { code: MARK, timeoutSecs: 60, memoryMbytes: 512, maxActorRuns: 0, maxTotalChargeUsd: 0.25, defaultTimeoutSecs: 120, maxToolCalls: 5, toolTimeoutSecs: 30 });
  assert.equal(warnings, []);
});

limits('actor-limits :: null counts as unset', () => {
  const { settings } = settle({ timeoutSecs: null, memoryMbytes: null, maxActorRuns: null }, { now: NOW });
  assert.is(settings.timeoutSecs, 300);
  assert.is(settings.memoryMbytes, 256);
  assert.is(settings.maxActorRuns, undefined);
});

limits('actor-limits :: errors are ActorInputErrors', () => {
  assert.throws(() => settle({ timeoutSecs: -1 }, { now: NOW }), (error: Error) => error instanceof ActorInputError);
});

limits.run();
