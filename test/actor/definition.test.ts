// The Actor's definition files, checked statically: valid JSON, valid against Apify's own
// meta-schemas (and the CLI's input-schema validator), every referenced file present, and the
// schemas in step with the code: fields and bounds equal the run option table's, fields equal the item's keys.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { recordKey } from '../../orchestrator/server/records/ids.js';
import { apifyCli } from './harness.js';
import { ROOT } from '../helpers/helpers.js';
import { LIMITS } from '../../orchestrator/run/options.js';
import { ACTOR_INPUT_FIELDS, NUMBER_OPTIONS, RUN_OPTIONS, type NumberOption } from '../../orchestrator/run/option-table.js';
import { ORCHESTRATOR_MBYTES, RESULT_MARGIN_SECS } from '../../orchestrator/runtime/actor-sizing.js';
import { RUNTIME_OVERHEAD_MBYTES } from '../../orchestrator/run/run.js';
import { toItem } from '../../orchestrator/actor/item.js';
import { ACTOR_ONLY_FIELDS, INPUT_FIELDS } from '../../orchestrator/actor/input.js';

const definition = suite('actor-definition');
const ACTOR_DIR = path.join(ROOT, '.actor');
const FILES = ['actor.json', 'input_schema.json', 'output_schema.json', 'dataset_schema.json', 'key_value_store_schema.json'];

type Json = Record<string, any>;
const read = (file: string): Json => JSON.parse(readFileSync(path.join(ACTOR_DIR, file), 'utf8')) as Json;

type Validator = ((data: unknown) => boolean) & { errors?: unknown };
// Apify's meta-schemas, installed with apify-cli (dev dependency).
const schemas = createRequire(import.meta.url)('@apify/json_schemas') as Record<string, () => Validator>;

definition('actor-definition :: every .actor file is valid JSON', () => {
  for (const file of FILES) assert.not.throws(() => read(file), file);
});

definition('actor-definition :: actor.json and the storage and output schemas pass Apify\'s meta-schemas', () => {
  const checks: Array<[string, string]> = [
    ['getActorSchemaValidator', 'actor.json'],
    ['getDatasetSchemaValidator', 'dataset_schema.json'],
    ['getOutputSchemaValidator', 'output_schema.json'],
    ['getKeyValueStoreSchemaValidator', 'key_value_store_schema.json'],
  ];
  for (const [validator, file] of checks) {
    const validate = schemas[validator]!();
    assert.ok(validate(read(file)), `${file}: ${JSON.stringify(validate.errors)}`);
  }
});

definition('actor-definition :: the input schema passes the Apify CLI\'s validator', async () => {
  const r = await apifyCli(['validate-schema', '.actor/input_schema.json'], ROOT);
  assert.is(r.exitCode, 0, r.all);
  assert.match(r.all ?? '', /Input schema is valid/);
});

definition('actor-definition :: every file actor.json names exists', () => {
  const actor = read('actor.json');
  const named = [actor.dockerfile, actor.readme, actor.input, actor.output, ...Object.values(actor.storages ?? {})];
  assert.is(named.length, 6);
  for (const file of named) {
    assert.type(file, 'string');
    assert.ok(existsSync(path.resolve(ACTOR_DIR, file as string)), `${file} exists`);
  }
});

definition('actor-definition :: name, version and run defaults', () => {
  const actor = read('actor.json');
  const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as Json;
  assert.is(actor.name, 'code-runtime');
  assert.is(actor.version, (pkg.version as string).split('.').slice(0, 2).join('.'), 'version in step with package.json');
  assert.ok(actor.description.length >= 100 && actor.description.includes('exitCode'), 'a description an agent can decide on');
  assert.is(actor.defaultMemoryMbytes, actor.defaultRunOptions.memoryMbytes);
  assert.ok(actor.minMemoryMbytes <= actor.defaultMemoryMbytes);
  // The default run leaves the library's default script time plus the margin to save the item.
  assert.is(actor.defaultRunOptions.timeoutSecs, LIMITS.timeoutSecs.default + RESULT_MARGIN_SECS);
});

definition('actor-definition :: the input schema\'s fields, types and bounds are the run option table\'s', () => {
  const { properties, required } = read('input_schema.json');
  assert.equal(required, ['code']);
  assert.equal(Object.keys(properties).sort(), [...INPUT_FIELDS].sort(), 'every field the Actor takes, and no other');
  assert.equal(Object.keys(properties).filter((field) => !(ACTOR_ONLY_FIELDS as readonly string[]).includes(field)), ACTOR_INPUT_FIELDS, 'the fields, in the table\'s order');
  assert.equal(ACTOR_INPUT_FIELDS, ['code', 'timeoutSecs', 'memoryMbytes', 'maxActorRuns', 'maxTotalChargeUsd', 'defaultTimeoutSecs', 'mcpServers', 'maxToolCalls', 'toolTimeoutSecs', 'files']);
  // The header values of mcpServers and of egress: Actor-only fields, stored encrypted; the origins are plain.
  assert.equal(ACTOR_ONLY_FIELDS, ['mcpServerHeaders', 'egressOrigins', 'egressHeaders']);
  assert.is(properties.mcpServerHeaders.isSecret, true);
  assert.is(properties.mcpServers.type, 'object');
  assert.equal([properties.egressOrigins.type, properties.egressOrigins.editor, properties.egressOrigins.isSecret], ['array', 'stringList', undefined]);
  assert.equal([properties.egressHeaders.type, properties.egressHeaders.editor, properties.egressHeaders.isSecret], ['object', 'json', true]);
  assert.is(properties.code.type, RUN_OPTIONS.code.type);
  assert.is(properties.code.editor, 'javascript');
  assert.is(properties.code.minLength, RUN_OPTIONS.code.minLength);
  assert.is(properties.code.maxLength, RUN_OPTIONS.code.maxLength);
  let numbers = 0;
  for (const field of NUMBER_OPTIONS.filter((name) => RUN_OPTIONS[name].actorInput)) {
    const spec: NumberOption = RUN_OPTIONS[field];
    numbers += 1;
    assert.is(properties[field].type, spec.actorType ?? spec.type, `${field}.type`);
    assert.is(properties[field].minimum, spec.min, `${field}.minimum`);
    assert.is(properties[field].maximum, spec.max, `${field}.maximum`);
    const range = new RegExp(`${spec.min.toLocaleString('en-US')} to (${spec.max}|${spec.max.toLocaleString('en-US')})\\b`);
    assert.match(properties[field].description, range, `${field} states its range`);
    assert.match(properties[field].description, /Default: /, `${field} documents its default`);
  }
  assert.is(numbers, 7);
});

definition('actor-definition :: input defaults and prefills satisfy their own bounds', () => {
  const { properties } = read('input_schema.json');
  let checked = 0;
  for (const [field, spec] of Object.entries(properties as Record<string, Json>)) {
    for (const key of ['default', 'prefill', 'example'] as const) {
      if (!(key in spec)) continue;
      const value = spec[key];
      checked += 1;
      if (spec.type === 'string') {
        assert.type(value, 'string', `${field}.${key}`);
        assert.ok(value.length >= (spec.minLength ?? 0) && value.length <= (spec.maxLength ?? Infinity), `${field}.${key} length`);
      } else {
        assert.type(value, 'number', `${field}.${key}`);
        if (spec.type === 'integer') assert.ok(Number.isInteger(value), `${field}.${key} is an integer`);
        assert.ok(value >= spec.minimum && value <= spec.maximum, `${field}.${key} = ${value} within ${spec.minimum}–${spec.maximum}`);
      }
    }
  }
  assert.ok(checked >= 1, 'at least the code prefill was checked');
  assert.match(properties.code.prefill, /await apify\./, 'the prefill shows the apify binding');
  // The derived defaults are described with the numbers the code uses.
  assert.match(properties.timeoutSecs.description, new RegExp(`less a margin \\(${RESULT_MARGIN_SECS} s`));
  assert.match(properties.memoryMbytes.description, new RegExp(`less ${RUNTIME_OVERHEAD_MBYTES + ORCHESTRATOR_MBYTES} MB`));
  // A literal default would be filled in by the platform and defeat the derived ones.
  assert.not.ok('default' in properties.timeoutSecs);
  assert.not.ok('default' in properties.memoryMbytes);
});

definition('actor-definition :: the dataset schema describes exactly the item\'s fields', () => {
  const { fields, views } = read('dataset_schema.json');
  // With a value (absent from items of scripts without a default export) and a file.
  const item = toItem({
    status: 'SUCCEEDED', exitCode: 0, stdout: '', stderr: '', statusMessage: '', durationMillis: 0,
    stdoutBytes: 0, stderrBytes: 0, stdoutTruncated: false, stderrTruncated: false, actorRuns: [], toolCalls: [], requests: [], value: 1, files: [],
  }, { stdout: null, stderr: null }, [{ name: 'a.txt', contentType: 'text/plain', size: 1, key: 'a.txt', url: 'https://example.com' }]);
  const described = Object.keys(fields.properties).sort();
  assert.equal(described, Object.keys(item).sort());
  for (const [name, spec] of Object.entries(fields.properties as Record<string, Json>)) {
    assert.ok(spec.description, `${name} has a description`);
  }
  assert.equal(fields.properties.status.enum, ['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'OUT-OF-MEMORY', 'ABORTED']);
  for (const name of fields.required as string[]) assert.ok(described.includes(name), `required ${name} is described`);
  const overview = views.overview;
  assert.is(overview.display.component, 'table');
  for (const name of overview.transformation.fields as string[]) {
    assert.ok(described.includes(name), `view field ${name} is described`);
    assert.ok(overview.display.properties[name]?.label, `view field ${name} has a label`);
  }
});

definition('actor-definition :: the key-value store schema names the records the Actor saves', () => {
  const { collections } = read('key_value_store_schema.json');
  assert.equal(Object.values(collections as Record<string, Json>).map((c) => c.key ?? c.keyPrefix).sort(), ['exe-', 'stderr.txt', 'stdout.txt']);
  // Standby execution records are under the prefix the schema names.
  assert.ok(recordKey('x'.repeat(24)).startsWith((collections as Record<string, Json>).executions!.keyPrefix));
  const output = read('output_schema.json');
  assert.match(output.properties.result.template, /^\{\{links\.apiDefaultDatasetUrl\}\}\/items/);
  assert.match(output.properties.fullOutput.template, /^\{\{links\.apiDefaultKeyValueStoreUrl\}\}/);
});

definition.run();
