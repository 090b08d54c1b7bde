/**
 * The Actor's input, checked before anything runs: a pure function from the raw input and the run's
 * own limits (memory, deadline) to the script's settings. Fields and bounds come from the run option
 * table, so the Actor and the library agree; unset limits are derived from the run, and limits the run cannot honour
 * are cut to what it can, each with a warning, so the run always has time and memory left for the item.
 */
import { describe, isCode, type NormalizedOptions } from '../run/options.js';
import { ACTOR_INPUT_FIELDS, allowedNumber, CODE_ALLOWED, inRange, RUN_OPTIONS, type NumberOption } from '../run/option-table.js';
import { RUNTIME_OVERHEAD_MBYTES } from '../run/run.js';
import { ORCHESTRATOR_MBYTES, RESULT_MARGIN_SECS } from '../runtime/actor-sizing.js';
import { normalizeEgress, parseEgressOrigin, ruleName } from '../config/egress.js';
import { ConfigError, isPlainObject } from '../config/error.js';
import { normalizeMcpServers } from '../config/mcp-servers.js';
import type { EgressOrigins } from '../../types/egress.js';
import type { McpServers } from '../../types/mcp.js';
import { parseFileSources, type FileSource } from './files.js';


/** What the run itself allows, from `ACTOR_MEMORY_MBYTES` and `ACTOR_TIMEOUT_AT` when set. */
export interface RunLimits {
  memoryMbytes?: number;
  timeoutAt?: Date;
  /** Milliseconds since the epoch, now. */
  now: number;
}

/** The run options the Actor takes as input (the option table's Actor fields, tools and egress), checked and settled. */
export type ScriptSettings = Pick<NormalizedOptions, 'code' | 'timeoutSecs' | 'memoryMbytes' | 'maxActorRuns' | 'maxTotalChargeUsd' | 'defaultTimeoutSecs' | 'maxToolCalls' | 'toolTimeoutSecs'>
  & { mcpServers?: McpServers; egress?: EgressOrigins };

/**
 * Input fields of the Actor that are not run options: the secret header values of `mcpServers`, and
 * the egress fields — the origins (visible in the input) and the headers added per origin, a secret
 * field (encrypted by the platform, never logged).
 */
export const ACTOR_ONLY_FIELDS = ['mcpServerHeaders', 'egressOrigins', 'egressHeaders'] as const;
/** Every field the Actor's input takes, in the input schema's order. */
export const INPUT_FIELDS: readonly string[] = [...ACTOR_INPUT_FIELDS, ...ACTOR_ONLY_FIELDS];

export interface ParsedInput {
  settings: ScriptSettings;
  /** The input files, checked; record URLs are read before the run (`file-records.ts`). */
  files: Record<string, FileSource>;
  /** Unknown fields and limits that were cut, one sentence each, for the log. */
  warnings: string[];
}

/** Input a person or an agent got wrong; the run fails with this message and nothing runs. */
export class ActorInputError extends Error {
  override name = 'ActorInputError';
}

type Range = Pick<NumberOption, 'min' | 'max'>;
type NumberField = 'timeoutSecs' | 'memoryMbytes' | 'maxActorRuns' | 'maxTotalChargeUsd' | 'defaultTimeoutSecs' | 'maxToolCalls' | 'toolTimeoutSecs';

const CODE_RULE = `${CODE_ALLOWED} (the TypeScript/JavaScript script to run)`;

function reject(field: string, value: unknown, allowed: string): never {
  const got = value === undefined ? 'nothing' : describe(value);
  throw new ActorInputError(`Invalid input: \`${field}\` must be ${allowed}, got ${got}`);
}

/** An optional number field; `null` counts as unset, as API clients send it for "no value". */
function optionalNumber(input: Record<string, unknown>, field: NumberField): number | undefined {
  const value = input[field];
  if (value === undefined || value === null) return undefined;
  const spec: NumberOption = RUN_OPTIONS[field];
  const integer = (spec.actorType ?? spec.type) === 'integer';
  if (!inRange(value, spec, integer)) reject(field, value, allowedNumber(spec, integer));
  return value;
}

function clamp(value: number, range: Range): number {
  return Math.min(range.max, Math.max(range.min, value));
}

/** The run's limits from its environment; the platform sets `ACTOR_*`, older runtimes `APIFY_*`. */
export function runLimitsFromEnv(env: NodeJS.ProcessEnv, now = Date.now()): RunLimits {
  const memory = Number(env.ACTOR_MEMORY_MBYTES || env.APIFY_MEMORY_MBYTES);
  const timeoutAt = Date.parse(env.ACTOR_TIMEOUT_AT || env.APIFY_TIMEOUT_AT || '');
  return {
    memoryMbytes: Number.isFinite(memory) && memory > 0 ? memory : undefined,
    timeoutAt: Number.isFinite(timeoutAt) ? new Date(timeoutAt) : undefined,
    now,
  };
}

/**
 * A limit the run itself bounds: unset, it is the run's whole budget (the library's default outside
 * a run); over the budget, it is cut to it, with a warning.
 */
function withinBudget(
  given: number | undefined,
  budget: number | undefined,
  range: Range & { readonly default: number },
  warnings: string[],
  warning: (given: number, cut: number) => string,
): number {
  if (budget === undefined) return given ?? range.default;
  const cut = clamp(budget, range);
  if (given === undefined) return cut;
  if (given <= cut) return given;
  warnings.push(warning(given, cut));
  return cut;
}

/** Seconds the script may take so that the item can still be saved before the run times out. */
export function timeBudgetSecs(limits: RunLimits): number | undefined {
  if (!limits.timeoutAt) return undefined;
  const left = (limits.timeoutAt.getTime() - limits.now) / 1000;
  // Short runs keep half their time for saving rather than all of it.
  return Math.floor(left - Math.min(RESULT_MARGIN_SECS, left / 2));
}

/** Heap the script may use so that the sandbox and the Actor together stay within the run's memory. */
export function memoryBudgetMbytes(limits: RunLimits): number | undefined {
  if (!limits.memoryMbytes) return undefined;
  return limits.memoryMbytes - RUNTIME_OVERHEAD_MBYTES - ORCHESTRATOR_MBYTES;
}

/** Validates the raw input; throws `ActorInputError` naming the first problem and what is allowed. */
export function parseActorInput(raw: unknown, limits: RunLimits): ParsedInput {
  if (raw === null || raw === undefined) {
    throw new ActorInputError('Missing input: expected a JSON object such as {"code": "console.log(\'hello\')"}');
  }
  if (typeof raw !== 'object' || Array.isArray(raw) || Buffer.isBuffer(raw)) {
    throw new ActorInputError(`Invalid input: expected a JSON object with a \`code\` string, got ${describe(raw)}`);
  }
  const input = raw as Record<string, unknown>;
  const { code } = input;
  if (!isCode(code)) reject('code', code, CODE_RULE);

  const warnings = Object.keys(input)
    .filter((field) => !INPUT_FIELDS.includes(field))
    .map((field) => `Ignoring unknown input field \`${field}\`; the fields are ${INPUT_FIELDS.join(', ')}`);

  const { timeoutSecs: timeout, memoryMbytes: memory } = RUN_OPTIONS;
  const timeoutSecs = withinBudget(
    optionalNumber(input, 'timeoutSecs'), timeBudgetSecs(limits), timeout, warnings,
    (given, cut) => `timeoutSecs ${given} is more than this run has left; `
      + `the script gets ${cut} s so its result is saved before the run times out`,
  );
  const memoryMbytes = withinBudget(
    optionalNumber(input, 'memoryMbytes'), memoryBudgetMbytes(limits), memory, warnings,
    (given, cut) => `memoryMbytes ${given} is more than this run's ${limits.memoryMbytes} MB can give the script; `
      + `it gets ${cut} MB (give the run more memory for more)`,
  );
  const files = parseFileSources(input.files);
  if ('problem' in files) throw new ActorInputError(`Invalid input: ${files.problem}`);
  const settings = {
    maxActorRuns: optionalNumber(input, 'maxActorRuns'),
    maxTotalChargeUsd: optionalNumber(input, 'maxTotalChargeUsd'),
    defaultTimeoutSecs: optionalNumber(input, 'defaultTimeoutSecs'),
    maxToolCalls: optionalNumber(input, 'maxToolCalls') ?? RUN_OPTIONS.maxToolCalls.default,
    toolTimeoutSecs: optionalNumber(input, 'toolTimeoutSecs') ?? RUN_OPTIONS.toolTimeoutSecs.default,
  };
  const mcpServers = actorMcpServers(input);
  const egress = egressFromInput(input);
  return { settings: { code, timeoutSecs, memoryMbytes, ...settings, ...(mcpServers ? { mcpServers } : {}), ...(egress ? { egress } : {}) }, files: files.sources, warnings };
}

/**
 * `mcpServers` of the input, with the secret `mcpServerHeaders` (`{ SERVER: { HEADER: value } }`)
 * merged into their servers' headers, checked as the library checks them (`${VAR}` expands from
 * the Actor's environment variables). Undefined when there are none. Throws ActorInputError.
 */
export function actorMcpServers(input: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): McpServers | undefined {
  const { mcpServers, mcpServerHeaders } = input;
  if ((mcpServers === undefined || mcpServers === null) && (mcpServerHeaders === undefined || mcpServerHeaders === null)) return undefined;
  if (mcpServers !== undefined && mcpServers !== null && !isPlainObject(mcpServers)) {
    reject('mcpServers', mcpServers, 'an object of server names to servers, as `mcpServers` in .mcp.json');
  }
  // Never quoted: they are secrets.
  if (mcpServerHeaders !== undefined && mcpServerHeaders !== null && !isPlainObject(mcpServerHeaders)) {
    throw new ActorInputError('Invalid input: `mcpServerHeaders` must be an object of server names to header objects, e.g. {"github": {"Authorization": "Bearer …"}}');
  }
  const servers: Record<string, Record<string, unknown>> = {};
  for (const [name, server] of Object.entries((mcpServers ?? {}) as Record<string, unknown>)) servers[name] = isPlainObject(server) ? { ...server } : server as never;
  for (const [name, headers] of Object.entries((mcpServerHeaders ?? {}) as Record<string, unknown>)) {
    const server = servers[name];
    if (!server) throw new ActorInputError(`Invalid input: \`mcpServerHeaders.${name}\` names no server of \`mcpServers\` (the servers are ${Object.keys(servers).join(', ') || 'none'})`);
    if (!isPlainObject(headers)) throw new ActorInputError(`Invalid input: \`mcpServerHeaders.${name}\` must be an object of header names to values`);
    server.headers = { ...(isPlainObject(server.headers) ? server.headers : {}), ...headers };
  }
  try {
    normalizeMcpServers(servers, env);
  } catch (error) {
    if (error instanceof ConfigError) throw new ActorInputError(`Invalid input: ${error.message}`);
    throw error;
  }
  return servers as unknown as McpServers;
}

/** An origin as the relay names it, so the two fields' entries for one origin meet. */
function originName(origin: string, field: string): string {
  return ruleName(parseEgressOrigin(origin, `${field}[${JSON.stringify(origin)}]`));
}

/**
 * `egressOrigins` (origins with no headers) and `egressHeaders` (`{ origin: { header: value } }`,
 * whose origins are allowed too), as the library's `egress`; undefined when both are unset. Checked
 * as the library checks it (`${VAR}` expands from the Actor's environment); an error names the
 * field, never a header's value. Read by the batch run and by Standby.
 */
export function egressFromInput(input: Record<string, unknown>): EgressOrigins | undefined {
  const { egressOrigins: origins, egressHeaders: headers } = input;
  if ((origins === undefined || origins === null) && (headers === undefined || headers === null)) return undefined;
  try {
    if (origins !== undefined && origins !== null && (!Array.isArray(origins) || origins.some((origin) => typeof origin !== 'string'))) {
      reject('egressOrigins', origins, 'an array of origins such as ["https://api.github.com"]');
    }
    if (headers !== undefined && headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) {
      throw new ActorInputError('Invalid input: `egressHeaders` must be an object of origins to headers, such as {"https://api.github.com": {"Authorization": "Bearer …"}}');
    }
    const egress: Record<string, { headers?: Record<string, string> }> = {};
    const keyOf = new Map<string, string>();
    for (const origin of (origins ?? []) as string[]) {
      const name = originName(origin, 'egressOrigins');
      if (!keyOf.has(name)) egress[origin] = {};
      keyOf.set(name, keyOf.get(name) ?? origin);
    }
    for (const [origin, given] of Object.entries((headers ?? {}) as Record<string, unknown>)) {
      const name = originName(origin, 'egressHeaders');
      const key = keyOf.get(name) ?? origin;
      keyOf.set(name, key);
      egress[key] = { headers: given as Record<string, string> };
    }
    // Checked now, so a bad value fails the run before anything starts, naming the field.
    normalizeEgress(egress, process.env, 'egress');
    return egress;
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const message = error.message.replace(/`egress\[("[^`]*")\]\.headers/g, '`egressHeaders[$1]').replace(/`egress\[/g, '`egressOrigins[');
    throw new ActorInputError(`Invalid input: ${message}`);
  }
}
