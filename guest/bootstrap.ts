/**
 * The guest's entry point, run by `deno run` inside the sandbox. It reads the envelope from stdin
 * (so the script then reads end-of-file), removes storage that would outlive the run, installs
 * `apify`, and imports the user's code as its own module so stack traces carry its own line numbers.
 * Invariant: everything it relies on after the user's code starts is captured here first, and its
 * report of a failure carries the run's secret, so a script cannot forge one.
 */
import { installApify } from './install.ts';
import { exitWhenDone } from './exit.ts';
import { hideHost } from './host.ts';

interface Envelope {
  code: string;
  secret: string;
  scriptName: string;
  apify: { url: string };
}

type Kind = 'threw' | 'rejection' | 'syntax';

/** Stdin the bundle's loader read past the guest's own code: the envelope's first bytes (undeclared when run from the sources). */
declare const guestStdinHead: Uint8Array | undefined;

// Captured before any user code runs; the script may replace the globals afterwards.
const exit = Deno.exit;
const inspect = Deno.inspect;
const stringify = JSON.stringify;
const writeStderr = Deno.stderr.writeSync.bind(Deno.stderr);
const writeStdout = Deno.stdout.writeSync.bind(Deno.stdout);
const encoder = new TextEncoder();
const encode = encoder.encode.bind(encoder);
// The report path touches bytes holding the run's secret: no method it calls may be the script's.
const subarray: (bytes: Uint8Array, start: number) => Uint8Array = Function.prototype.call.bind(Uint8Array.prototype.subarray);
const Bytes = Uint8Array;
const setBytes: (target: Uint8Array, source: Uint8Array, offset: number) => void = Function.prototype.call.bind(Uint8Array.prototype.set);
const byteLength: (bytes: Uint8Array) => number = Function.prototype.call.bind(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'length')!.get!,
);
const addListener = globalThis.addEventListener.bind(globalThis);
const defineProperty = Object.defineProperty;
// V8's own stack header for an object: `name: message`, as for `console.trace`'s plain object.
const errorToString: (error: object) => string = Function.prototype.call.bind(Error.prototype.toString);
const queue = queueMicrotask;
const replaceAll: (text: string, search: string, replacement: string) => string = Function.prototype.call.bind(
  String.prototype.replaceAll,
);
// Frames name guest files as URLs or as plain paths, depending on how Deno formats them.
// The bundle runs from a data: URL (so no install path is anywhere in the heap) and names its code
// `code-runtime-guest:…`; from the sources, the guest's modules are files in one folder.
const guestUrl: string = import.meta.url;
const guestDir = guestUrl.startsWith('file:') ? new URL('.', guestUrl) : undefined;
const GUEST_SOURCE = 'code-runtime-guest:';
const includes: (text: string, search: string) => boolean = Function.prototype.call.bind(String.prototype.includes);
const isGuestFrame = (text: string) =>
  includes(text, 'ext:') || includes(text, GUEST_SOURCE) || includes(text, guestUrl)
  || (guestDir !== undefined && (includes(text, guestDir.href) || includes(text, guestDir.pathname)));

async function readEnvelope(): Promise<Envelope> {
  // Plain reads, not `Deno.stdin.readable`, which would leave the stream locked for the script.
  const chunks: Uint8Array[] = typeof guestStdinHead === 'undefined' ? [] : [guestStdinHead];
  const buffer = new Uint8Array(1 << 16);
  let size = chunks[0]?.length ?? 0;
  for (;;) {
    const n = await Deno.stdin.read(buffer);
    if (n === null) break;
    chunks.push(buffer.slice(0, n));
    size += n;
  }
  const all = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    all.set(chunk, offset);
    offset += chunk.length;
  }
  return JSON.parse(new TextDecoder().decode(all));
}

// Set up while the envelope is on its way (a warm child waits here): whatever needs none of it.
const arriving = readEnvelope();
addListener('error', (event) => onUncaught('threw', event, (event as ErrorEvent).error));
addListener('unhandledrejection', (event) => onUncaught('rejection', event, (event as PromiseRejectionEvent).reason));
exitWhenDone(() => envelope.code, (exitCode) => {
  for (const id in awaitingReport) {
    const pending = awaitingReport[id]!;
    if (!pending.handled()) report(pending.kind, pending.error);
  }
  // After everything the script wrote, on both streams: the orchestrator needs not wait for the exit.
  // The code the process ends with: Deno.exitCode takes any integer (256 exits 0, -1 exits 255).
  const record = tagged(`{"kind":"done","exitCode":${exitCode & 255}}\n`);
  for (const sink of [writeStdout, writeStderr]) {
    try {
      writeBytes(sink, record);
    } catch {
      // A stream the script closed: the orchestrator waits for the process's end instead.
    }
  }
});
// No install path, orchestrator PID, DENO_DIR storage or WebGPU, here and in every Worker.
hideHost(() => scriptName, `${GUEST_SOURCE}host.js`);
// Deno compiles its Blob code on first use: pay that now rather than once the script has arrived.
URL.revokeObjectURL(URL.createObjectURL(new Blob([])));

const envelope = await arriving;
const { scriptName } = envelope;
// Kept only as bytes, never as a string: a heap snapshot (node:v8's getHeapSnapshot) lists every
// live string, but not the contents of an ArrayBuffer.
const recordPrefix = encode(`\0code-runtime:${envelope.secret}:`);
envelope.secret = '';

installApify(globalThis, envelope.apify);

const moduleUrl = URL.createObjectURL(new Blob([envelope.code], { type: 'application/typescript' }));

/** V8's call-site object, as handed to `Error.prepareStackTrace`. */
interface CallSite {
  getFileName(): string | null | undefined;
  /** The `//# sourceURL` of code built with `new Function` (the bundled guest), where getFileName() has none. */
  getScriptNameOrSourceURL(): string | null | undefined;
}

/** A stack as the author should see it: the script's name, no runtime or guest frames. */
function formatStack(error: unknown, frames: CallSite[]): string {
  let text: string;
  try {
    text = error !== null && (typeof error === 'object' || typeof error === 'function') ? errorToString(error) : String(error);
  } catch {
    text = 'Error';
  }
  for (let i = 0; i < frames.length; i += 1) {
    text += `\n    at ${replaceAll(String(frames[i]), moduleUrl, scriptName)}`;
  }
  return text;
}

/**
 * Every stack goes through this hook. A script's own `Error.prepareStackTrace` is kept and called
 * from it, with the guest's frames (which name install paths) already taken out.
 */
let custom: unknown;
const stackHook = (error: unknown, frames: CallSite[]) => {
  const own: CallSite[] = [];
  for (let i = 0; i < frames.length; i += 1) {
    const frame = frames[i]!;
    if (!isGuestFrame(frame.getScriptNameOrSourceURL() ?? frame.getFileName() ?? '')) own[own.length] = frame;
  }
  return typeof custom === 'function' ? custom(error, own) : formatStack(error, own);
};
defineProperty(Error, 'prepareStackTrace', {
  get: () => stackHook,
  // Restoring the value read before (`Error.prepareStackTrace = saved`) means "no custom hook".
  set: (value: unknown) => {
    custom = value === stackHook ? undefined : value;
  },
  enumerable: false,
  configurable: false,
});

/** A record: the secret-tagged prefix, then `text`, as one buffer (one write, nothing between them). */
function tagged(text: string): Uint8Array {
  const body = encode(text);
  const bytes = new Bytes(byteLength(recordPrefix) + byteLength(body));
  setBytes(bytes, recordPrefix, 0);
  setBytes(bytes, body, byteLength(recordPrefix));
  return bytes;
}

function writeBytes(sink: (bytes: Uint8Array) => number, bytes: Uint8Array): void {
  const length = byteLength(bytes);
  let offset = sink(bytes);
  while (offset < length) offset += sink(subarray(bytes, offset));
}

function write(text: string): void {
  writeBytes(writeStderr, encode(text));
}

/** The error as the script's author should see it: their file name, no runtime or guest frames. */
function describe(error: unknown): { kind: 'syntax' | 'other'; text: string; line: string } {
  let text: string;
  try {
    const stack = error instanceof Error ? error.stack : undefined;
    text = typeof stack === 'string' && stack.length > 0 ? stack : inspect(error);
  } catch {
    text = '(a thrown value that could not be described)';
  }
  text = replaceAll(text, moduleUrl, scriptName);
  // Deno reports a module that does not parse as a TypeError whose message is the SyntaxError.
  const syntax = /^TypeError: SyntaxError: /.test(text);
  if (syntax) text = text.slice('TypeError: '.length);
  const lines = text.split('\n').filter((line) => !/^\s+at /.test(line) || !isGuestFrame(line));
  text = lines.join('\n');
  const first = lines[0] ?? '';
  const line = first.length > 300 ? `${first.slice(0, 300)}…` : first;
  return { kind: syntax ? 'syntax' : 'other', text, line };
}

function report(kind: Kind, error: unknown): never {
  let record = `{"kind":"${kind}","error":"(a thrown value that could not be described)"}`;
  try {
    const { kind: found, text, line } = describe(error);
    const final: Kind = found === 'syntax' ? 'syntax' : kind;
    const where = text.match(/\n\s+at (?:.* \()?([^\s()]+:\d+:\d+)\)?/)?.[1];
    const heading = final === 'syntax' ? '' : final === 'rejection' ? 'Uncaught (in promise) ' : 'Uncaught ';
    // Null-prototype, so no `toJSON` the script put on Object.prototype is consulted.
    record = stringify({ __proto__: null, kind: final, error: line, where });
    write(`error: ${heading}${text}\n`);
  } catch {
    // The script patched builtins that describing needs; the record below still says it failed.
  }
  try {
    // Last thing written; the orchestrator cuts it out of stderr, and out of the live stream (NUL-led, so rarely held back).
    writeBytes(writeStderr, tagged(`${record}\n`));
  } catch {
    // Nothing more can be said; the exit code still marks the failure.
  }
  return exit(1);
}

/**
 * Uncaught errors whose report waits for a microtask (onUncaught): once the loop is over (an error
 * thrown in an `unload` or `beforeunload` listener) none runs, so the early end reports them instead.
 */
// Null-prototype and keyed by number: no method or setter of the script's is ever called on it.
const awaitingReport: Record<number, { kind: Kind; error: unknown; handled: () => boolean }> = Object.create(null);
let uncaughtCount = 0;

/**
 * Reports an uncaught error or rejection after the script's own listeners ran, unless one of them
 * called `preventDefault()` (the script handled it, as `process.on('uncaughtException')` would).
 */
function onUncaught(kind: Kind, event: Event, error: unknown): void {
  let handled = false;
  const prevent = event.preventDefault.bind(event);
  defineProperty(event, 'preventDefault', { value: () => { handled = true; }, configurable: true });
  prevent();
  const id = (uncaughtCount += 1);
  awaitingReport[id] = { __proto__: null, kind, error, handled: () => handled } as never;
  queue(() => {
    delete awaitingReport[id];
    if (!handled) report(kind, error);
  });
}

import(moduleUrl).then(undefined, (error) => report('threw', error));
