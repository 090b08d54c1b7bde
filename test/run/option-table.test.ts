// The run option table is the one definition of the options: it covers exactly RunOptions, its
// defaults satisfy its own ranges, the library validates by it, and its JSON Schemas say the same.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { LIMITS } from '../../orchestrator/index.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import {
  NUMBER_OPTIONS, OPTION_NAMES, optionJsonSchema, RUN_OPTIONS, type NumberOption,
} from '../../orchestrator/run/option-table.js';

const table = suite('option-table');

table('option-table :: names every option normalizeOptions accepts, and no other', () => {
  assert.equal(OPTION_NAMES, ['code', 'timeoutSecs', 'memoryMbytes', 'maxOutputBytes', 'scriptName', 'onOutput', 'signal',
    'token', 'apiBaseUrl', 'maxActorRuns', 'maxTotalChargeUsd', 'defaultTimeoutSecs', 'mcpServers', 'tools', 'maxToolCalls', 'toolTimeoutSecs', 'egress',
    'files', 'maxFilesOut', 'maxFileBytes', 'maxFilesInBytes', 'maxFilesOutBytes']);
  assert.throws(() => normalizeOptions({ code: '1', timeout: 5 } as never), new RegExp(`the options are: ${OPTION_NAMES.join(', ')}$`));
});

table('option-table :: every default lies in its own range and is what normalizeOptions fills in', () => {
  const normalized = normalizeOptions({ code: '1', apiBaseUrl: 'http://127.0.0.1:9' }) as unknown as Record<string, unknown>;
  for (const name of NUMBER_OPTIONS) {
    const spec: NumberOption = RUN_OPTIONS[name];
    assert.ok(spec.min <= spec.max, `${name} range`);
    if (spec.default !== undefined) {
      assert.ok(spec.default >= spec.min && spec.default <= spec.max, `${name} default in range`);
      if (spec.type === 'integer') assert.ok(Number.isInteger(spec.default));
    }
    assert.is(normalized[name], spec.default, `${name} default`);
    assert.is((LIMITS as Record<string, { min: number; max: number }>)[name]!.max, spec.max, `LIMITS.${name}`);
  }
  assert.is(normalized.scriptName, RUN_OPTIONS.scriptName.default);
});

table('option-table :: the library rejects just outside each range and accepts its ends', () => {
  for (const name of NUMBER_OPTIONS) {
    const spec: NumberOption = RUN_OPTIONS[name];
    for (const ok of [spec.min, spec.max]) assert.not.throws(() => normalizeOptions({ code: '1', [name]: ok }), `${name} = ${ok}`);
    for (const bad of [spec.min - 1, spec.max + 1]) {
      assert.throws(() => normalizeOptions({ code: '1', [name]: bad }), new RegExp(`\`${name}\` option to be (an integer|a number) from`));
    }
    const fraction = spec.min + 0.5;
    if (spec.type === 'integer') assert.throws(() => normalizeOptions({ code: '1', [name]: fraction }), /an integer/);
    else assert.not.throws(() => normalizeOptions({ code: '1', [name]: fraction }));
  }
});

table('option-table :: JSON Schemas carry type, range, default and description', () => {
  assert.equal(optionJsonSchema('memoryMbytes'), {
    type: 'integer', description: RUN_OPTIONS.memoryMbytes.description, minimum: 16, maximum: 32_768, default: 256,
  });
  assert.equal(optionJsonSchema('maxTotalChargeUsd'), {
    type: 'number', description: RUN_OPTIONS.maxTotalChargeUsd.description, minimum: 0, maximum: 1_000_000,
  });
  assert.equal(optionJsonSchema('code'), { type: 'string', description: RUN_OPTIONS.code.description, minLength: 1, maxLength: 1_000_000 });
  assert.is(optionJsonSchema('onOutput'), undefined);
  assert.is(optionJsonSchema('signal'), undefined);
});

table('option-table :: the scriptName pattern is the rule the library applies', () => {
  const pattern = new RegExp(optionJsonSchema('scriptName')!.pattern!);
  for (const name of ['report.ts', 'a b.js', 'x@1+2-3.mjs']) {
    assert.ok(pattern.test(name), name);
    assert.not.throws(() => normalizeOptions({ code: '1', scriptName: name }));
  }
  for (const name of ['../etc/passwd', 'a/b.ts', 'a..ts', ' lead.ts', 'line\nbreak.ts', 'x'.repeat(201)]) {
    assert.not.ok(pattern.test(name), name);
    assert.throws(() => normalizeOptions({ code: '1', scriptName: name }), /`scriptName`/);
  }
});

table.run();
