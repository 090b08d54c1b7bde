/**
 * The builtins the globals built on first use rely on (`apify`, `tools`, `files`, and the `fetch`
 * through the relay), captured when the guest starts, before the user's code can patch them. Their
 * modules are compiled only when a script first touches them (in the bundle each is a separate
 * string, see lazy.ts), so they take their builtins from here, never from the globals as they are
 * by then.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export const builtins = Object.freeze({
  // Compiles the lazy modules (lazy.ts in the bundle): a script's own `Function` would get their source, paths included.
  Function,
  Error,
  fetch: globalThis.fetch,
  apply: Reflect.apply,
  reflectGet: Reflect.get,
  jsonParse: JSON.parse,
  jsonStringify: JSON.stringify,
  encodeURIComponent,
  getOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  getOwnPropertySymbols: Object.getOwnPropertySymbols,
  getPrototypeOf: Object.getPrototypeOf,
  hasOwn: Object.hasOwn,
  create: Object.create,
  keys: Object.keys,
  freeze: Object.freeze,
  defineProperty: Object.defineProperty,
  ObjectPrototype: Object.prototype,
  isArray: Array.isArray,
  arrayMap: Array.prototype.map,
  regExpTest: RegExp.prototype.test,
  symbolDescription: Object.getOwnPropertyDescriptor(Symbol.prototype, 'description')!.get!,
  Promise,
  Proxy,
  Set,
  URL,
  Blob,
  blobSize: Object.getOwnPropertyDescriptor(Blob.prototype, 'size')!.get!,
  random: Math.random,
  min: Math.min,
  Uint8Array,
  ArrayBuffer,
  SharedArrayBuffer: globalThis.SharedArrayBuffer as SharedArrayBufferConstructor | undefined,
  isView: ArrayBuffer.isView,
  encodeText: encoder.encode.bind(encoder),
  decodeText: decoder.decode.bind(decoder),
  NotCapable: Deno.errors.NotCapable,
});
