/**
 * Checks of the options a script passes to `apify` methods, before anything is sent. Each message
 * names the method, the option, the value given and what is allowed, because the reader is often
 * an agent that has to fix its code from that one line.
 */
import { pathId } from './api.ts';

export type Options = Record<string, unknown>;

/** `5` (number), `"abc"` (string), an array, …: how a rejected value is shown. */
export function show(value: unknown): string {
  if (typeof value === 'string') return `${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)} (string)`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  return `${String(value)} (${typeof value})`;
}

/** The options object of a call to `method`; `undefined` is an empty one. Unknown names are refused. */
export function options(method: string, value: unknown, allowed: readonly string[]): Options {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`${method}: expected one options object, such as ${method}({ ${allowed[0]}: … }), got ${show(value)}`);
  }
  for (const name of Object.keys(value)) {
    if (!allowed.includes(name)) {
      throw new TypeError(`${method}: unknown option \`${name}\`; the options are ${allowed.join(', ')}`);
    }
  }
  return value as Options;
}

function fail(method: string, name: string, value: unknown, allowed: string): never {
  throw new TypeError(`${method}: \`${name}\` must be ${allowed}, got ${show(value)}`);
}

export function requiredString(method: string, o: Options, name: string, example: string): string {
  const value = o[name];
  if (typeof value !== 'string' || value.length === 0) fail(method, name, value, `a non-empty string such as '${example}'`);
  return value;
}

/** A required id, ready for a URL path (`username/name` becomes `username~name`). */
export function requiredId(method: string, o: Options, name: string, example: string): string {
  return pathId(requiredString(method, o, name, example));
}

export function optionalString(method: string, o: Options, name: string): string | undefined {
  const value = o[name];
  if (value !== undefined && typeof value !== 'string') fail(method, name, value, 'a string');
  return value;
}

export function optionalNumber(method: string, o: Options, name: string, range: { min: number; integer?: boolean }): number | undefined {
  const value = o[name];
  if (value === undefined) return undefined;
  const kind = range.integer ? 'an integer' : 'a number';
  if (typeof value !== 'number' || !Number.isFinite(value) || (range.integer && !Number.isInteger(value)) || value < range.min) {
    fail(method, name, value, `${kind} of at least ${range.min}`);
  }
  return value;
}

export function optionalBoolean(method: string, o: Options, name: string): boolean | undefined {
  const value = o[name];
  if (value !== undefined && typeof value !== 'boolean') fail(method, name, value, 'true or false');
  return value;
}

/** Field names as an array of strings, or as one comma-separated string (agents write both). */
export function optionalFields(method: string, o: Options, name: string): string[] | undefined {
  const value = o[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value.split(',').map((field) => field.trim()).filter(Boolean);
  if (!Array.isArray(value) || !value.every((field) => typeof field === 'string')) {
    fail(method, name, value, "an array of field names such as ['title', 'url']");
  }
  return value as string[];
}

/** `offset` (default 0) and `limit` (default: none) of a list call. */
export function pageRange(method: string, o: Options): [offset: number, limit: number | undefined] {
  const offset = optionalNumber(method, o, 'offset', { min: 0, integer: true }) ?? 0;
  return [offset, optionalNumber(method, o, 'limit', { min: 0, integer: true })];
}
