/**
 * The builtins the `apify` binding relies on, captured when the guest starts, before the user's
 * code can patch them. The binding's own modules are compiled only when a script first touches
 * `apify` (in the bundle they are a separate string, see lazy-binding.ts), so they take their
 * builtins from here, never from the globals as they are by then.
 */
export const builtins = Object.freeze({
  // Compiles the binding (lazy-binding.ts in the bundle): a script's own `Function` would get its source, paths included.
  Function,
  Error,
  fetch: globalThis.fetch,
  apply: Reflect.apply,
  jsonParse: JSON.parse,
  jsonStringify: JSON.stringify,
  encodeURIComponent,
  getOwnPropertyDescriptor: Object.getOwnPropertyDescriptor,
  keys: Object.keys,
  freeze: Object.freeze,
  defineProperty: Object.defineProperty,
  isArray: Array.isArray,
  Promise,
  random: Math.random,
  min: Math.min,
  Uint8Array,
  ArrayBuffer,
  isView: ArrayBuffer.isView,
});
