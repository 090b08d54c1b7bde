/**
 * Workers get the same realm as the script: the Worker constructor is wrapped so that each Worker
 * first runs this realm code (hidden host, worded denials, named stacks), then imports its own
 * module. A Worker that fails is reported by its realm, not by Deno's printer (which names modules by
 * their blob: URLs): it tells the realm that created it, which raises the `error` event on the
 * Worker object and, unhandled there, on its own global, as Deno would.
 * node:worker_threads' Worker starts its realm without any of that (Deno's own node-type Worker, whose
 * code cannot be prefixed), so it is refused: the only thing its constructor reads before it starts
 * the Worker is `globalThis.performance` (a field initializer), which becomes an accessor that throws
 * when read from there, once node:worker_threads has loaded (Deno then sets `__initWorkerThreads` on
 * its internals).
 * Invariant: a Worker gets this realm's code as text (realm.ts's `source`), exactly what this realm
 * ran, whatever the bundler renamed; a Worker can run only data: and blob: URLs.
 */
import {
  addListenerTo,
  apply,
  BlobClass,
  closeRealm,
  construct,
  createObjectUrl,
  defineProperty,
  denoInternals,
  dispatchTo,
  ErrorClass,
  ErrorEventClass,
  exec,
  getOwnPropertyDescriptor,
  hasOwn,
  indexOf,
  inspect,
  isPrototypeOf,
  NotCapableClass,
  own,
  ownValue,
  postToParent,
  reflectGet,
  slice,
  startsWith,
  stopImmediatePropagation,
  stringify,
  toText,
  TypeErrorClass,
  UrlClass,
  URIErrorClass,
  weakGet,
  weakSet,
} from './captured.ts';
import { facts, named } from './facts.ts';
import type { Kind } from './uncaught.ts';
import { importDenial } from './denials.ts';
import { GUEST_REALM_NAME } from './names.ts';
import { callerFile } from './stacks.ts';

/** The key of the message a Worker's realm sends the realm that created it when the Worker failed. */
const FAILURE = '\0code-runtime:worker-failure';

interface Failure {
  /** As Deno's ErrorEvent says it: `Uncaught Error: boom`. */
  message: string;
  /** The error's stack as this realm writes it (the script's frames, named). */
  text: string;
  /** It was a rejection nobody handled. */
  inPromise: boolean;
  filename: string;
  lineno: number;
  colno: number;
}

/** A failed Worker's error as its realm wrote it, and the words `Uncaught ` is followed by (`(in worker "w") `). */
export interface WorkerFailure {
  text: string;
  heading: string;
}

/** What a failed Worker reported, by the ErrorEvent this realm raised for it. */
const failures = new WeakMap<Event, WorkerFailure>();

/** What a Worker's failure says, for an ErrorEvent this realm raised for it (undefined for any other event). */
export function workerFailure(event: Event): WorkerFailure | undefined {
  return weakGet(failures, event);
}

/** The module URL a Worker may run, or a thrown denial saying why not. */
function moduleUrlOf(specifier: unknown): string | undefined {
  const text = toText(specifier);
  let url: string;
  try {
    url = new UrlClass(text).href;
  } catch {
    try {
      void new UrlClass(text, 'http://relative.invalid/');
    } catch {
      // Neither absolute nor relative: Deno's own constructor says what is wrong with it.
      return undefined;
    }
    throw new URIErrorClass(
      `running a Worker from a relative path is not available in this sandbox (tried ${stringify(text)}): the script is one module, with no files beside it; a Worker can run only data: and blob: URLs`,
    );
  }
  if (startsWith(url, 'blob:') || startsWith(url, 'data:')) return url;
  throw new TypeErrorClass(`${importDenial(url)} (tried ${stringify(url)}); a Worker can run only data: and blob: URLs`);
}

/** Where node:worker_threads' Worker is; its field initializer reads `globalThis.performance` before the Worker starts. */
const NODE_WORKER_FILE = 'ext:deno_node/worker_threads.ts';
const NODE_WORKER_DENIAL = 'node:worker_threads Workers are not available in this sandbox: they would start without its protections; '
  + 'use a Web Worker, new Worker(url, { type: "module" }), with a data: or blob: URL';

/** Makes node:worker_threads' Worker constructor throw (see the header); its module works otherwise. */
function refuseNodeWorkers(): void {
  const internals = denoInternals;
  const before = getOwnPropertyDescriptor(globalThis, 'performance');
  if (internals === null || typeof internals !== 'object' || before === undefined || !before.configurable) return;
  let loaded = false;
  let initWorkerThreads: unknown;
  defineProperty(internals, '__initWorkerThreads', own({
    get: () => initWorkerThreads,
    set: (value: unknown) => {
      initWorkerThreads = value;
      loaded = true;
    },
    configurable: false,
  }));
  let value = hasOwn(before, 'value') ? before.value : apply(before.get!, globalThis, []);
  // Non-configurable: the script can assign it (a data property's behaviour) but not put another in its place.
  const get = () => {
    // Stacks are looked at only once node:worker_threads exists; none shown (a limit fixed at 0) is refused too.
    if (loaded) {
      const file = callerFile(get);
      if (file === undefined || file === NODE_WORKER_FILE) throw new NotCapableClass(NODE_WORKER_DENIAL);
    }
    return value;
  };
  defineProperty(globalThis, 'performance', own({
    get,
    set(next: unknown) {
      value = next;
    },
    enumerable: before.enumerable,
    configurable: false,
  }));
}

/** Wraps this realm's Worker constructor; `source` is the realm code each Worker runs first. */
export function wrapWorkers(source: string): void {
  refuseNodeWorkers();
  const Original = globalThis.Worker;
  if (typeof Original !== 'function') return;
  const Worker = function Worker(this: unknown, specifier: unknown, options?: WorkerOptions) {
    if (!new.target) throw new TypeErrorClass("Failed to construct 'Worker': Please use the 'new' operator");
    const url = moduleUrlOf(specifier);
    if (url === undefined) return construct(Original, [specifier, options], new.target);
    const name = options !== null && typeof options === 'object' ? reflectGet(options, 'name') : undefined;
    // Realm code first, then the Worker's own module, its errors its own.
    const prelude = `const source = ${stringify(source)};\n`
      + `new Function("guestRealmSource", "guestHiddenUrls", source + "\\n//# sourceURL=${GUEST_REALM_NAME}")(source, []).runWorker(${facts.json}, ${stringify(url)});\n`;
    const worker = construct(Original, [createObjectUrl(new BlobClass([prelude], own({ type: 'text/javascript' }))), options], new.target) as Worker;
    addListenerTo(worker, 'message', (event) => {
      // Deno's MessageEvent holds `data` as its own property.
      const data = ownValue(event, 'data');
      if (data === null || typeof data !== 'object' || !hasOwn(data, FAILURE)) return;
      stopImmediatePropagation(event);
      const failure = ownValue(data, FAILURE) as Failure;
      const errorEvent = new ErrorEventClass('error', own({
        cancelable: true,
        message: failure.message,
        filename: failure.filename,
        lineno: failure.lineno,
        colno: failure.colno,
        error: null,
      }) as ErrorEventInit);
      const inWorker = `(in worker ${stringify(name === undefined ? '' : toText(name))}) `;
      weakSet(failures, errorEvent, { text: failure.text, heading: `${inWorker}${failure.inPromise ? '(in promise) ' : ''}` });
      // Unhandled on the Worker object, it is this realm's uncaught error (Deno's rule).
      if (dispatchTo(worker, errorEvent)) dispatchTo(globalThis, errorEvent);
    });
    return worker;
  };
  // Named as the constructor it stands for (the realm code is minified without keeping names).
  defineProperty(Worker, 'name', own({ value: 'Worker', configurable: true }));
  Worker.prototype = Original.prototype;
  defineProperty(Original.prototype, 'constructor', own({ value: Worker, writable: true, configurable: true }));
  defineProperty(globalThis, 'Worker', own({ value: Worker, writable: true, configurable: true, enumerable: false }));
}

/** A frame line's `file:line:column`. */
const WHERE = /\n\s+at (?:[^\n]* \()?([^\s()]+):(\d+):(\d+)\)?/;

/** Describes a failure of this Worker for the realm that created it, and ends the Worker. */
export function reportToCreator(kind: Kind, error: unknown, event?: Event): void {
  let text: string;
  try {
    const recorded = error === null && event !== undefined ? workerFailure(event) : undefined;
    if (recorded !== undefined) {
      text = recorded.text;
    } else {
      // As the run's report describes an error (guest/run.ts): its stack, or what Deno shows of other values.
      const stack = isPrototypeOf(ErrorClass.prototype, error) ? reflectGet(error as object, 'stack') : undefined;
      text = typeof stack === 'string' && stack !== '' ? stack : inspect(error);
    }
  } catch {
    text = '(a thrown value that could not be described)';
  }
  text = named(text);
  const lineEnd = indexOf(text, '\n');
  const header = lineEnd < 0 ? text : slice(text, 0, lineEnd);
  const where = exec(WHERE, text);
  const failure: Failure = {
    message: `Uncaught ${kind === 'rejection' ? '(in promise) ' : ''}${header}`,
    text,
    inPromise: kind === 'rejection',
    filename: where === null ? '' : where[1]!,
    lineno: where === null ? 0 : +where[2]!,
    colno: where === null ? 0 : +where[3]!,
  };
  try {
    if (postToParent) apply(postToParent, undefined, [{ __proto__: null, [FAILURE]: failure }]);
  } finally {
    // A failed Worker ends, as in Deno.
    closeRealm?.();
  }
}
