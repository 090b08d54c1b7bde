/**
 * The script's `export default`, for the result's `value`: awaited, checked to be JSON and
 * serialized, then handed to the bootstrap as the text of one record (`{"kind":"value","value":…}`,
 * or `{"kind":"value","error":"…"}` naming what is not JSON and where). JSON.stringify alone would
 * turn a Map into `{}`, NaN into `null` and drop a function without a word; here each of those is
 * an error the author can act on. The size limit is the orchestrator's to enforce (it counts the
 * record). Builtins are captured before the user's code runs.
 */

const stringify = JSON.stringify;
const isArray = Array.isArray;
const keysOf = Object.keys;
const isView = ArrayBuffer.isView;
const isFinite = Number.isFinite;
const MapCtor = Map;
const SetCtor = Set;
const WeakMapCtor = WeakMap;
const WeakSetCtor = WeakSet;
const ArrayBufferCtor = ArrayBuffer;
const ErrorCtor = Error;
const identifier = /^[A-Za-z_$][\w$]*$/;
const test: (pattern: RegExp, text: string) => boolean = Function.prototype.call.bind(RegExp.prototype.test);

/** A value JSON cannot hold, found by the replacer: where it was and what it is. */
class NotJson {
  constructor(readonly holder: unknown, readonly key: string, readonly what: string) {}
}

/** What `value` is, when JSON cannot hold it (undefined when it can, or when JSON.stringify itself decides). */
function notJson(value: unknown): string | undefined {
  switch (typeof value) {
    case 'function': return 'a function';
    case 'symbol': return 'a symbol';
    case 'bigint': return 'a BigInt (JSON has none: export it as a string or a number)';
    case 'number': return isFinite(value) ? undefined : `${value} (JSON has no NaN or Infinity)`;
    case 'object':
      if (value === null) return undefined;
      if (value instanceof MapCtor) return 'a Map (export Object.fromEntries(map) instead)';
      if (value instanceof SetCtor) return 'a Set (export [...set] instead)';
      if (value instanceof WeakMapCtor || value instanceof WeakSetCtor) return 'a WeakMap or WeakSet';
      if (value instanceof ArrayBufferCtor || isView(value)) return 'bytes (write them with files.write instead)';
      if (value instanceof ErrorCtor) return 'an Error, of which JSON keeps nothing (export its message)';
      return undefined;
    default:
      return undefined;
  }
}

function step(path: string, holder: unknown, key: string): string {
  if (isArray(holder)) return `${path}[${key}]`;
  return test(identifier, key) ? `${path}.${key}` : `${path}[${stringify(key)}]`;
}

/** Where `holder[key]` is inside the exported value, as `value.a[2].b`; undefined when it is not found (made by a toJSON). */
function pathOf(root: unknown, found: NotJson): string | undefined {
  const seen = new SetCtor<unknown>();
  const walk = (value: unknown, path: string): string | undefined => {
    if (value === found.holder) return step(path, value, found.key);
    if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
    seen.add(value);
    const keys = keysOf(value);
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i]!;
      const at = walk((value as Record<string, unknown>)[key], step(path, value, key));
      if (at !== undefined) return at;
    }
    return undefined;
  };
  try {
    return walk(root, 'value');
  } catch {
    // Too deep, or a getter threw: said without the path.
    return undefined;
  }
}

/** The record for a default export: its JSON, or why it has none. */
export function valueRecord(value: unknown): string {
  let first = true;
  let json: string | undefined;
  try {
    json = stringify(value, function (this: unknown, key: string, item: unknown) {
      const what = notJson(item);
      if (what !== undefined) throw new NotJson(first ? undefined : this, key, what);
      first = false;
      return item;
    });
  } catch (error) {
    let message: string;
    if (error instanceof NotJson) {
      const where = error.holder === undefined ? undefined : pathOf(value, error);
      message = where === undefined && error.holder === undefined
        ? `The default export is not JSON: it is ${error.what}`
        : `The default export is not JSON: ${where ?? 'a value inside it'} is ${error.what}`;
    } else {
      // JSON.stringify's own refusal: a circular structure, or a toJSON that threw.
      const reason = error instanceof ErrorCtor ? error.message : String(error);
      message = `The default export is not JSON: ${reason.split('\n')[0]}`;
    }
    return errorRecord(message);
  }
  if (json === undefined) return errorRecord('The default export is not JSON');
  return `{"kind":"value","value":${json}}`;
}

export function errorRecord(message: string): string {
  // Null-prototype: no toJSON the script put on Object.prototype is consulted.
  return stringify({ __proto__: null, kind: 'value', error: message });
}

let pending = false;

/** Whether the default export is a promise not yet settled (at the end: one that never will). */
export function valuePending(): boolean {
  return pending;
}

/**
 * Reports the module's default export through `send` once it settles. Without one (or with
 * `undefined`), nothing is sent: the run is as it would be without `export default`. Rejects when
 * the exported promise does (the script's own error).
 */
export async function sendValue(namespace: Record<string, unknown>, send: (record: string) => void): Promise<void> {
  if (!('default' in namespace)) return;
  pending = true;
  let value: unknown;
  try {
    value = await namespace.default;
  } finally {
    pending = false;
  }
  if (value !== undefined) send(valueRecord(value));
}
