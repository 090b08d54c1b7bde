/**
 * The one error of the configuration: a TypeError, like every option error of the library, whose
 * message names where (`in config.json:`), the key (`mcpServers.github.url`) and what is allowed.
 */

export class ConfigError extends TypeError {
  override name = 'ConfigError';
}

/** How a rejected value is described: its kind, never its contents (it may be a secret). */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value === '' ? 'an empty string' : `a string of ${value.length} characters`;
  if (typeof value === 'boolean') return String(value);
  return `a ${typeof value}`;
}

/** Throws the message every check uses: the key, what it must be, and the kind of value it got. */
export function reject(key: string, allowed: string, value: unknown): never {
  throw new ConfigError(`\`${key}\` must be ${allowed}, got ${kindOf(value)}`);
}

/** A plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    && (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null);
}
