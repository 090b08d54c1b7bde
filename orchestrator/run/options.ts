/**
 * Validation and defaults for every run option, in one place. Input is copied into a fresh object
 * (nothing the caller mutates later can change a run; input files' bytes excepted, which are served
 * as given rather than copied); every error is a TypeError that names the option, the value given
 * and what is allowed.
 */
import type { OutputListener, RunOptions } from '../../types/options.js';
import { normalizeEgress } from '../config/egress.js';
import { normalizeMcpServers } from '../config/mcp-servers.js';
import type { EgressConfig } from '../config/shape.js';
import type { EgressLimits } from '../relay/egress-calls.js';
import { normalizeHostTools } from '../tools/host.js';
import type { ToolHub, ToolSettings } from '../tools/hub.js';
import type { InputFile } from '../relay/file-store.js';
import { normalizeInputFiles } from './files.js';
import {
  allowedNumber, CODE_ALLOWED, inRange, OPTION_NAMES, RUN_OPTIONS, type NumberOption,
} from './option-table.js';

const { code: CODE, timeoutSecs: TIMEOUT, memoryMbytes: MEMORY, maxOutputBytes: OUTPUT } = RUN_OPTIONS;

/** The numeric bounds and defaults, from the option table (public API). */
export const LIMITS = {
  codeChars: { min: CODE.minLength, max: CODE.maxLength },
  timeoutSecs: { min: TIMEOUT.min, max: TIMEOUT.max, default: TIMEOUT.default },
  memoryMbytes: { min: MEMORY.min, max: MEMORY.max, default: MEMORY.default },
  maxOutputBytes: { min: OUTPUT.min, max: OUTPUT.max, default: OUTPUT.default },
  maxActorRuns: { min: RUN_OPTIONS.maxActorRuns.min, max: RUN_OPTIONS.maxActorRuns.max },
  maxTotalChargeUsd: { min: RUN_OPTIONS.maxTotalChargeUsd.min, max: RUN_OPTIONS.maxTotalChargeUsd.max },
  defaultTimeoutSecs: { min: RUN_OPTIONS.defaultTimeoutSecs.min, max: RUN_OPTIONS.defaultTimeoutSecs.max },
  maxToolCalls: { min: RUN_OPTIONS.maxToolCalls.min, max: RUN_OPTIONS.maxToolCalls.max, default: RUN_OPTIONS.maxToolCalls.default },
  toolTimeoutSecs: { min: RUN_OPTIONS.toolTimeoutSecs.min, max: RUN_OPTIONS.toolTimeoutSecs.max, default: RUN_OPTIONS.toolTimeoutSecs.default },
  maxFilesOut: { min: RUN_OPTIONS.maxFilesOut.min, max: RUN_OPTIONS.maxFilesOut.max, default: RUN_OPTIONS.maxFilesOut.default },
  maxFileBytes: { min: RUN_OPTIONS.maxFileBytes.min, max: RUN_OPTIONS.maxFileBytes.max, default: RUN_OPTIONS.maxFileBytes.default },
  maxFilesInBytes: { min: RUN_OPTIONS.maxFilesInBytes.min, max: RUN_OPTIONS.maxFilesInBytes.max, default: RUN_OPTIONS.maxFilesInBytes.default },
  maxFilesOutBytes: { min: RUN_OPTIONS.maxFilesOutBytes.min, max: RUN_OPTIONS.maxFilesOutBytes.max, default: RUN_OPTIONS.maxFilesOutBytes.default },
} as const;

export const DEFAULT_API_BASE_URL = 'https://api.apify.com';

/** Options after validation: every default filled in. */
export interface NormalizedOptions {
  code: string;
  timeoutSecs: number;
  memoryMbytes: number;
  maxOutputBytes: number;
  scriptName: string;
  onOutput?: OutputListener;
  signal?: AbortSignal;
  token?: string;
  apiBaseUrl: URL;
  maxActorRuns?: number;
  maxTotalChargeUsd?: number;
  defaultTimeoutSecs?: number;
  maxToolCalls: number;
  toolTimeoutSecs: number;
  /** The run's own tool namespaces (`mcpServers`, `tools`), checked; started for the run and closed after it. */
  tools?: ToolSettings;
  /** The runtime's tools, shared across its runs (set by the runtime, never by a caller). */
  toolHub?: ToolHub;
  /** The origins the script's fetch may reach (the runtime's and the run's own), checked; the Apify API's is added per run. */
  egress: EgressConfig;
  /** Egress caps other than the relay's (set by tests, never by a caller). */
  egressLimits?: Partial<EgressLimits>;
  /** The input files, checked (bytes as the caller gave them); `[]` when none. */
  files: InputFile[];
  maxFilesOut: number;
  maxFileBytes: number;
  maxFilesInBytes: number;
  maxFilesOutBytes: number;
}

/** `5` (number), `"5"` (string): how a rejected value is shown in a message. */
export function describe(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 60 ? `${value.slice(0, 60)}…` : value;
    return `${JSON.stringify(shown)} (string${value.length > 60 ? ` of ${value.length} characters` : ''})`;
  }
  if (value === null) return 'null';
  if (typeof value === 'object') return Array.isArray(value) ? 'an array' : 'an object';
  return `${String(value)} (${typeof value})`;
}

/** Throws the TypeError every option check uses: the option, what is allowed, the value given. */
export function fail(name: string, value: unknown, allowed: string): never {
  throw new TypeError(`Expected the \`${name}\` option to be ${allowed}, got ${describe(value)}`);
}

type Range = Pick<NumberOption, 'min' | 'max'>;

/** A number (or integer) within `range`; anything else fails naming the option. */
export function number(name: string, value: unknown, range: Range, integer: boolean): number {
  if (!inRange(value, range, integer)) fail(name, value, allowedNumber(range, integer));
  return value;
}

/** A numeric run option from the table: its default when unset (`undefined` or `null`), else checked against its range. */
function option(name: keyof typeof LIMITS & keyof RunOptions, value: unknown): number | undefined {
  const spec: NumberOption = RUN_OPTIONS[name];
  const given = value ?? spec.default;
  return given === undefined ? undefined : number(name, given, spec, spec.type === 'integer');
}

const SCRIPT_NAME = new RegExp(RUN_OPTIONS.scriptName.pattern);

/** Shown in stack traces, so a script name stays a plain file name: no path, no URL, no control characters. */
export function isScriptName(value: unknown): value is string {
  return typeof value === 'string' && SCRIPT_NAME.test(value);
}

function scriptName(value: unknown): string {
  if (value === undefined) return RUN_OPTIONS.scriptName.default;
  if (!isScriptName(value)) {
    fail('scriptName', value, 'a file name of 1–200 letters, digits, spaces or `._@+-` (no path)');
  }
  return value;
}

function apiBaseUrl(value: unknown): URL {
  const raw = value ?? (process.env.APIFY_API_BASE_URL || DEFAULT_API_BASE_URL);
  const allowed = 'an http(s) URL with no path, query or credentials, such as https://api.apify.com';
  if (typeof raw !== 'string') fail('apiBaseUrl', raw, allowed);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    fail('apiBaseUrl', raw, allowed);
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username || url.password || url.search
    || (url.pathname !== '/' && url.pathname !== '')) {
    fail('apiBaseUrl', raw, allowed);
  }
  return url;
}

/** A script the run accepts: non-blank, within the length limit. */
export function isCode(value: unknown): value is string {
  return typeof value === 'string' && value.trim().length > 0 && value.length <= CODE.maxLength;
}

/** Validates a caller's options; throws a TypeError naming the first problem. */
export function normalizeOptions(input: RunOptions): NormalizedOptions {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`Expected the options to be an object with at least \`code\`, got ${describe(input)}`);
  }
  const unknown = Object.keys(input).find((key) => !(key in RUN_OPTIONS));
  if (unknown !== undefined) {
    throw new TypeError(`Unknown option \`${unknown}\`; the options are: ${OPTION_NAMES.join(', ')}`);
  }
  const { code, onOutput, signal, token } = input;
  if (!isCode(code)) fail('code', code, CODE_ALLOWED);
  if (onOutput !== undefined && typeof onOutput !== 'function') fail('onOutput', onOutput, 'a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) fail('signal', signal, 'an AbortSignal');
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) fail('token', token, 'a non-empty string');
  const maxFileBytes = option('maxFileBytes', input.maxFileBytes)!;
  const maxFilesInBytes = option('maxFilesInBytes', input.maxFilesInBytes)!;
  return {
    code,
    timeoutSecs: option('timeoutSecs', input.timeoutSecs)!,
    memoryMbytes: option('memoryMbytes', input.memoryMbytes)!,
    maxOutputBytes: option('maxOutputBytes', input.maxOutputBytes)!,
    scriptName: scriptName(input.scriptName),
    onOutput,
    signal,
    token: token ?? (process.env.APIFY_TOKEN || undefined),
    apiBaseUrl: apiBaseUrl(input.apiBaseUrl),
    maxActorRuns: option('maxActorRuns', input.maxActorRuns),
    maxTotalChargeUsd: option('maxTotalChargeUsd', input.maxTotalChargeUsd),
    defaultTimeoutSecs: option('defaultTimeoutSecs', input.defaultTimeoutSecs),
    maxToolCalls: option('maxToolCalls', input.maxToolCalls)!,
    toolTimeoutSecs: option('toolTimeoutSecs', input.toolTimeoutSecs)!,
    tools: toolSettings(input),
    egress: normalizeEgress(input.egress, process.env),
    files: normalizeInputFiles(input.files, { maxFileBytes, maxFilesInBytes }),
    maxFilesOut: option('maxFilesOut', input.maxFilesOut)!,
    maxFileBytes,
    maxFilesInBytes,
    maxFilesOutBytes: option('maxFilesOutBytes', input.maxFilesOutBytes)!,
  };
}

/** The run's own `mcpServers` and `tools`, checked (`${VAR}` expanded); undefined when it has none. */
function toolSettings(input: RunOptions): ToolSettings | undefined {
  if (input.mcpServers === undefined && input.tools === undefined) return undefined;
  return checkedTools(input.mcpServers, input.tools);
}

/** `mcpServers` and `tools` checked together (a run's or a runtime's): a name may be a server or a namespace, not both. */
export function checkedTools(mcpServers: unknown, tools: unknown): ToolSettings {
  const settings = { mcpServers: normalizeMcpServers(mcpServers, process.env), hostTools: normalizeHostTools(tools) };
  const clash = settings.mcpServers.servers.find((server) => Object.hasOwn(settings.hostTools, server.name));
  if (clash) throw new TypeError(`\`${clash.name}\` is both a server of \`mcpServers\` and a namespace of \`tools\`; give one another name`);
  return settings;
}
