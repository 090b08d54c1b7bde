/**
 * Validation and defaults for every run option, in one place. Input is copied into a fresh object
 * (nothing the caller mutates later can change a run); every error is a TypeError that names the
 * option, the value given and what is allowed.
 */
import type { OutputListener, RunOptions } from '../../types/options.js';

export const LIMITS = {
  codeChars: { min: 1, max: 1_000_000 },
  timeoutSecs: { min: 1, max: 3600, default: 300 },
  memoryMbytes: { min: 16, max: 32_768, default: 256 },
  maxOutputBytes: { min: 4096, max: 1024 ** 3, default: 8 * 1024 ** 2 },
  maxActorRuns: { min: 0, max: 1_000_000 },
  maxTotalChargeUsd: { min: 0, max: 1_000_000 },
  defaultTimeoutSecs: { min: 1, max: 7 * 24 * 3600 },
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
}

const KNOWN = new Set([
  'code', 'timeoutSecs', 'memoryMbytes', 'maxOutputBytes', 'scriptName', 'onOutput', 'signal', 'token',
  'apiBaseUrl', 'maxActorRuns', 'maxTotalChargeUsd', 'defaultTimeoutSecs',
]);

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

type Range = { readonly min: number; readonly max: number };

/** A number (or integer) within `range`; anything else fails naming the option. */
export function number(name: string, value: unknown, range: Range, integer: boolean): number {
  const kind = integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))
    || value < range.min || value > range.max) {
    fail(name, value, `${kind} from ${range.min} to ${range.max}`);
  }
  return value;
}

function optionalNumber(name: string, value: unknown, range: Range, integer: boolean): number | undefined {
  return value === undefined ? undefined : number(name, value, range, integer);
}

/** Shown in stack traces, so a script name stays a plain file name: no path, no URL, no control characters. */
export function isScriptName(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.@+-][\w .@+-]{0,199}$/.test(value) && !value.includes('..');
}

function scriptName(value: unknown): string {
  if (value === undefined) return 'script.ts';
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

/** Validates a caller's options; throws a TypeError naming the first problem. */
export function normalizeOptions(input: RunOptions): NormalizedOptions {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`Expected the options to be an object with at least \`code\`, got ${describe(input)}`);
  }
  const unknown = Object.keys(input).filter((key) => !KNOWN.has(key));
  if (unknown.length > 0) {
    throw new TypeError(`Unknown option \`${unknown[0]}\`; the options are: ${[...KNOWN].join(', ')}`);
  }
  const { code, onOutput, signal, token } = input;
  if (typeof code !== 'string' || code.trim().length === 0 || code.length > LIMITS.codeChars.max) {
    fail('code', code, `a non-empty string of at most ${LIMITS.codeChars.max.toLocaleString('en-US')} characters`);
  }
  if (onOutput !== undefined && typeof onOutput !== 'function') fail('onOutput', onOutput, 'a function');
  if (signal !== undefined && !(signal instanceof AbortSignal)) fail('signal', signal, 'an AbortSignal');
  if (token !== undefined && (typeof token !== 'string' || token.length === 0)) fail('token', token, 'a non-empty string');
  const { timeoutSecs: t, memoryMbytes: m, maxOutputBytes: o } = LIMITS;
  return {
    code,
    timeoutSecs: number('timeoutSecs', input.timeoutSecs ?? t.default, t, false),
    memoryMbytes: number('memoryMbytes', input.memoryMbytes ?? m.default, m, true),
    maxOutputBytes: number('maxOutputBytes', input.maxOutputBytes ?? o.default, o, true),
    scriptName: scriptName(input.scriptName),
    onOutput,
    signal,
    token: token ?? (process.env.APIFY_TOKEN || undefined),
    apiBaseUrl: apiBaseUrl(input.apiBaseUrl),
    maxActorRuns: optionalNumber('maxActorRuns', input.maxActorRuns, LIMITS.maxActorRuns, true),
    maxTotalChargeUsd: optionalNumber('maxTotalChargeUsd', input.maxTotalChargeUsd, LIMITS.maxTotalChargeUsd, false),
    defaultTimeoutSecs: optionalNumber('defaultTimeoutSecs', input.defaultTimeoutSecs, LIMITS.defaultTimeoutSecs, true),
  };
}
