/**
 * The builtins the realm code uses once a script runs, captured when the realm is prepared, before
 * any code of the script's runs in it: a script may replace or patch every global and prototype
 * afterwards (String.prototype.replace, Error, a `message` getter, …), and none of that may reach
 * the code that words its errors and names its stacks.
 * Invariant: realm code calls only these (or syntax that calls nothing of the script's: no spread,
 * no for-of over arrays, no array destructuring, no method of a value it did not make itself).
 */
const { call } = Function.prototype;

export const defineProperty = Object.defineProperty;
export const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
export const getPrototypeOf = Object.getPrototypeOf;
export const setPrototypeOf = Object.setPrototypeOf;
export const hasOwn = Object.hasOwn;
export const construct = Reflect.construct;
export const apply = Reflect.apply;
export const reflectGet = Reflect.get;
export const toText = String;
export const stringify = JSON.stringify;
export const createObjectUrl = URL.createObjectURL;
export const captureStackTrace = Error.captureStackTrace;
export const ErrorClass = Error;
export const TypeErrorClass = TypeError;
export const URIErrorClass = URIError;
export const NotCapableClass = Deno.errors.NotCapable;
export const UrlClass = URL;
export const BlobClass = Blob;
export const ErrorEventClass = ErrorEvent;
export const addListener = globalThis.addEventListener.bind(globalThis);
/** In a Worker: its `postMessage` and `close`, to the realm that created it. */
const workerScope = globalThis as unknown as { postMessage?: (message: unknown) => void; close?: () => void };
export const postToParent = typeof workerScope.postMessage === 'function' ? workerScope.postMessage.bind(globalThis) : undefined;
export const closeRealm = typeof workerScope.close === 'function' ? workerScope.close.bind(globalThis) : undefined;
export const queue = queueMicrotask;
/** Deno's internals (`Deno[Deno.internal]`), taken before host.ts hides them from the script. */
export const denoInternals = (Deno as unknown as Record<symbol, unknown> & { internal: symbol })[(Deno as unknown as { internal: symbol }).internal];
export const inspect = Deno.inspect;

export const slice: (text: string, start: number, end?: number) => string = call.bind(String.prototype.slice);
export const indexOf: (text: string, search: string, from?: number) => number = call.bind(String.prototype.indexOf);
export const startsWith: (text: string, search: string) => boolean = call.bind(String.prototype.startsWith);
export const includes: (text: string, search: string) => boolean = call.bind(String.prototype.includes);
export const isPrototypeOf: (prototype: object, value: unknown) => boolean = call.bind(Object.prototype.isPrototypeOf);
export const exec: (pattern: RegExp, text: string) => RegExpExecArray | null = call.bind(RegExp.prototype.exec);
/** V8's own stack header for an object: `name: message`. */
export const errorToString: (error: object) => string = call.bind(Error.prototype.toString);
export const preventDefault: (event: Event) => void = call.bind(Event.prototype.preventDefault);
export const stopImmediatePropagation: (event: Event) => void = call.bind(Event.prototype.stopImmediatePropagation);
export const addListenerTo: (target: EventTarget, type: string, listener: (event: Event) => void) => void = call.bind(
  EventTarget.prototype.addEventListener,
);
export const dispatchTo: (target: EventTarget, event: Event) => boolean = call.bind(EventTarget.prototype.dispatchEvent);
export const errorOf: (event: Event) => unknown = call.bind(Object.getOwnPropertyDescriptor(ErrorEvent.prototype, 'error')!.get!);
export const reasonOf: (event: Event) => unknown = call.bind(
  Object.getOwnPropertyDescriptor(PromiseRejectionEvent.prototype, 'reason')!.get!,
);
export const weakSet: <K extends WeakKey, V>(map: WeakMap<K, V>, key: K, value: V) => void = call.bind(WeakMap.prototype.set);
export const weakGet: <K extends WeakKey, V>(map: WeakMap<K, V>, key: K) => V | undefined = call.bind(WeakMap.prototype.get);

/** `text` with every `search` replaced by `replacement`, literally (no `$` patterns, no method of the script's). */
export function replaced(text: string, search: string, replacement: string): string {
  if (search === '') return text;
  let out = '';
  let from = 0;
  for (let at = indexOf(text, search); at >= 0; at = indexOf(text, search, from)) {
    out += slice(text, from, at) + replacement;
    from = at + search.length;
  }
  return from === 0 ? text : out + slice(text, from);
}

/**
 * `object`, made null-prototype: a property descriptor or options object no `Object.prototype`
 * property of the script's (`get`, `value`, …) can add to.
 */
export function own<T extends object>(object: T): T {
  setPrototypeOf(object, null);
  return object;
}

/** The own data value of `object[key]`: never a getter's, never an inherited one. */
export function ownValue(object: object, key: PropertyKey): unknown {
  try {
    const descriptor = getOwnPropertyDescriptor(object, key);
    return descriptor !== undefined && hasOwn(descriptor, 'value') ? descriptor.value : undefined;
  } catch {
    // A Proxy's trap threw: nothing to read.
    return undefined;
  }
}
