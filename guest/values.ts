/**
 * How script values become request bodies and back. A key-value record keeps its kind: objects go
 * as JSON, strings as UTF-8 text, bytes as binary, and `get` returns the same kind by content type.
 * Dataset items are sent in batches small enough for the API's per-request limit.
 */
import type { ApiResponse } from './api.ts';
import { show } from './args.ts';
import { builtins } from './builtins.ts';

const { jsonStringify, jsonParse, Uint8Array: Uint8ArrayCtor, ArrayBuffer: ArrayBufferCtor, isView } = builtins;

export const JSON_TYPE = 'application/json; charset=utf-8';
export const TEXT_TYPE = 'text/plain; charset=utf-8';
export const BINARY_TYPE = 'application/octet-stream';

export interface Body {
  body: string | Uint8Array;
  contentType: string;
}

/** A record's body: bytes as binary, strings as text, anything else as JSON; `contentType` overrides. */
export function encodeRecord(method: string, value: unknown, contentType: string | undefined): Body {
  if (value instanceof Uint8ArrayCtor) return { body: value, contentType: contentType ?? BINARY_TYPE };
  if (value instanceof ArrayBufferCtor) return { body: new Uint8ArrayCtor(value), contentType: contentType ?? BINARY_TYPE };
  if (isView(value)) {
    return { body: new Uint8ArrayCtor(value.buffer, value.byteOffset, value.byteLength), contentType: contentType ?? BINARY_TYPE };
  }
  if (typeof value === 'string') return { body: value, contentType: contentType ?? TEXT_TYPE };
  const body = value === undefined ? undefined : jsonStringify(value);
  if (body === undefined) {
    throw new TypeError(`${method}: \`value\` must be a JSON value, a string, a Uint8Array or an ArrayBuffer, got ${show(value)}`);
  }
  return { body, contentType: contentType ?? JSON_TYPE };
}

/** A record's value by its content type: JSON parsed, text as a string, anything else as bytes. */
export async function decodeRecord(response: ApiResponse): Promise<unknown> {
  const type = (response.header('content-type') ?? '').toLowerCase().split(';')[0]?.trim() ?? '';
  if (type === 'application/json' || type.endsWith('+json')) return jsonParse(await response.text());
  if (type.startsWith('text/')) return await response.text();
  return await response.bytes();
}

/** Roughly 3 MB of JSON per request: under the API's 9 MB limit even if every character takes 3 bytes. */
const BATCH_CHARS = 3_000_000;

/** Items as JSON arrays of at most BATCH_CHARS characters each (one item over that goes alone). */
export function itemBatches(method: string, items: readonly unknown[]): string[] {
  const batches: string[] = [];
  let current: string[] = [];
  let size = 0;
  for (let i = 0; i < items.length; i += 1) {
    const item = items[i];
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new TypeError(`${method}: every item must be an object, but items[${i}] is ${show(item)}`);
    }
    const json = jsonStringify(item);
    if (size > 0 && size + json.length + 1 > BATCH_CHARS) {
      batches.push(`[${current.join(',')}]`);
      current = [];
      size = 0;
    }
    current.push(json);
    size += json.length + 1;
  }
  if (current.length > 0) batches.push(`[${current.join(',')}]`);
  return batches;
}
