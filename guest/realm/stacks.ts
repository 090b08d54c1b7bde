/**
 * Every stack in this realm is written by one `Error.prepareStackTrace` hook: frames of the guest and
 * of Deno's internals are dropped, the script's module URL is shown as its name (facts.ts), and a
 * denial is worded (denials.ts) before the stack's header is. A script's own hook is kept and called
 * with the frames that remain. The hook cannot be removed, and follows the global `Error` if the
 * script replaces it (Deno looks the hook up on whatever `globalThis.Error` is).
 */
import {
  captureStackTrace,
  defineProperty,
  ErrorClass,
  errorToString,
  getOwnPropertyDescriptor,
  includes,
  own,
  toText,
} from './captured.ts';
import { named } from './facts.ts';
import { GUEST_SOURCE } from './names.ts';

/** V8's call-site object, as Deno hands it to `Error.prepareStackTrace`. */
export interface CallSite {
  getFileName(): string | null | undefined;
  /** The `//# sourceURL` of code built with `new Function` (the guest's), where getFileName() has none. */
  getScriptNameOrSourceURL(): string | null | undefined;
  getFunctionName(): string | null | undefined;
  toString(): string;
}

const hidden: string[] = [];

/** Whether a frame (its file, or a stack line naming it) is the guest's or Deno's own. */
export function isGuestFrame(text: string): boolean {
  if (includes(text, 'ext:') || includes(text, GUEST_SOURCE)) return true;
  for (let i = 0; i < hidden.length; i += 1) {
    if (includes(text, hidden[i]!)) return true;
  }
  return false;
}

function fileOf(frame: CallSite): string {
  return frame.getScriptNameOrSourceURL() ?? frame.getFileName() ?? '';
}

/** A stack as the author should see it: `name: message`, then the script's frames. */
function formatStack(error: unknown, frames: CallSite[]): string {
  let text: string;
  try {
    text = error !== null && (typeof error === 'object' || typeof error === 'function') ? errorToString(error) : toText(error);
  } catch {
    text = 'Error';
  }
  for (let i = 0; i < frames.length; i += 1) text += `\n    at ${named(frames[i]!.toString())}`;
  return text;
}

let probing = false;

/**
 * The call sites of the code running now, unfiltered, whatever the script set (for denials.ts): at
 * most `depth`, starting below the frame of `above` (default: this function's caller and up).
 */
export function callSites(depth = 32, above: (...args: never[]) => unknown = callSites): CallSite[] {
  const holder: { stack?: unknown } = { __proto__: null } as never;
  const limit = getOwnPropertyDescriptor(ErrorClass, 'stackTraceLimit');
  probing = true;
  try {
    // Deep enough to see which API a denial came from, however low the script set the limit.
    if (limit?.writable) ErrorClass.stackTraceLimit = depth;
    captureStackTrace(holder, above);
    const frames = holder.stack;
    return typeof frames === 'object' && frames !== null ? frames as CallSite[] : [];
  } catch {
    return [];
  } finally {
    probing = false;
    if (limit?.writable) ErrorClass.stackTraceLimit = limit.value;
  }
}

/**
 * The file of the code that called `callee` (a function of the realm's running now), or undefined
 * when no frame shows it (a stack limit the script fixed at 0).
 */
export function callerFile(callee: (...args: never[]) => unknown): string | undefined {
  const frames = callSites(1, callee);
  return frames.length === 0 ? undefined : frames[0]!.getFileName() ?? '';
}

/**
 * Installs the hook; `reword` is given each error before its stack is written (an error built
 * where no wording could run, e.g. in a V8 fast call, is worded then).
 */
export function installStackHook(reword: (error: unknown) => void, hiddenUrls: readonly string[]): void {
  for (let i = 0; i < hiddenUrls.length; i += 1) hidden[hidden.length] = hiddenUrls[i]!;
  let custom: unknown;
  const stackHook = (error: unknown, frames: CallSite[]): unknown => {
    if (probing) return frames;
    reword(error);
    const kept: CallSite[] = [];
    for (let i = 0; i < frames.length; i += 1) {
      const frame = frames[i]!;
      if (!isGuestFrame(fileOf(frame))) kept[kept.length] = frame;
    }
    return typeof custom === 'function' ? custom(error, kept) : formatStack(error, kept);
  };
  const hook = own({
    get: () => stackHook,
    // Restoring the value read before (`Error.prepareStackTrace = saved`) means "no custom hook".
    set: (value: unknown) => {
      custom = value === stackHook ? undefined : value;
    },
    enumerable: false,
    configurable: false,
  });
  defineProperty(ErrorClass, 'prepareStackTrace', hook);
  // A script's replacement of the global Error gets the same hook, unless it brings its own.
  let current: unknown = ErrorClass;
  defineProperty(globalThis, 'Error', own({
    // While probing, Deno finds this realm's hook whatever Error the script put in its place.
    get: () => (probing ? ErrorClass : current),
    set: (value: unknown) => {
      current = value;
      if (value === null || (typeof value !== 'function' && typeof value !== 'object')) return;
      try {
        if (getOwnPropertyDescriptor(value, 'prepareStackTrace') === undefined) {
          defineProperty(value, 'prepareStackTrace', own({ get: hook.get, set: hook.set, enumerable: false, configurable: true }));
        }
      } catch {
        // Frozen or a Proxy that refuses: its stacks are Deno's own, as the script chose.
      }
    },
    enumerable: false,
    configurable: false,
  }));
}

