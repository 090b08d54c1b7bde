/**
 * The run this process serves, and what the guest tells the orchestrator about it: how it failed
 * (a report), its value (the default export) and that it ended (`done`), each a record tagged with
 * the run's secret, written after everything the script wrote. A run is empty until its envelope arrives: a warm child sets up
 * before, and whatever it sets up holds the run from the start.
 * Invariant: the secret is kept only as bytes, never as a string (a heap snapshot, node:v8's
 * getHeapSnapshot, lists every live string but not an ArrayBuffer's contents); the report path calls
 * only builtins captured here, before any code of the script's ran, so a script that patched
 * Error, String.prototype or Array.prototype can neither forge a report nor break one.
 */
import type { Envelope } from './envelope.ts';
import type { Kind as Uncaught, Realm } from './realm.ts';
import { sendValue } from './value.ts';

export type Kind = Uncaught | 'syntax';

const { call } = Function.prototype;
const exit = Deno.exit;
const inspect = Deno.inspect;
const stringify = JSON.stringify;
const writeStderr = Deno.stderr.writeSync.bind(Deno.stderr);
const writeStdout = Deno.stdout.writeSync.bind(Deno.stdout);
const encoder = new TextEncoder();
const encode = encoder.encode.bind(encoder);
const subarray: (bytes: Uint8Array, start: number) => Uint8Array = call.bind(Uint8Array.prototype.subarray);
const Bytes = Uint8Array;
const setBytes: (target: Uint8Array, source: Uint8Array, offset: number) => void = call.bind(Uint8Array.prototype.set);
const byteLength: (bytes: Uint8Array) => number = call.bind(
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), 'length')!.get!,
);
const createObjectUrl = URL.createObjectURL;
const BlobClass = Blob;
const isPrototypeOf: (prototype: object, value: unknown) => boolean = call.bind(Object.prototype.isPrototypeOf);
const ErrorPrototype = Error.prototype;
const reflectGet = Reflect.get;
const slice: (text: string, start: number, end?: number) => string = call.bind(String.prototype.slice);
const indexOf: (text: string, search: string, from?: number) => number = call.bind(String.prototype.indexOf);
const startsWith: (text: string, search: string) => boolean = call.bind(String.prototype.startsWith);
const exec: (pattern: RegExp, text: string) => RegExpExecArray | null = call.bind(RegExp.prototype.exec);
const eventField = (name: string): (event: Event) => unknown =>
  call.bind(Object.getOwnPropertyDescriptor(ErrorEvent.prototype, name)!.get!);
const eventMessage = eventField('message');
const eventFile = eventField('filename');
const eventLine = eventField('lineno');
const eventColumn = eventField('colno');
const ErrorEventPrototype = ErrorEvent.prototype;

/** Deno reports a module that does not parse as a TypeError whose message is the SyntaxError. */
const SYNTAX = 'TypeError: SyntaxError: ';
/** The first frame's `file:line:column`. */
const WHERE = /\n\s+at (?:[^\n]* \()?([^\s()]+:\d+:\d+)\)?/;
const FRAME = /^\s+at /;
const UNDESCRIBED = '(a thrown value that could not be described)';

export class Run {
  /** The script's text ('' until the envelope arrives). */
  code = '';
  #scriptName = 'script.ts';
  #moduleUrl = '';
  /** `\0code-runtime:<secret>:`, as bytes: how every record begins. */
  #recordPrefix = new Bytes(0);
  readonly #realm: Realm;

  constructor(realm: Realm) {
    this.#realm = realm;
  }

  /** The envelope arrived: the run takes its script and its secret (erasing the string), and tells the realm. */
  begin(envelope: Envelope): void {
    this.code = envelope.code;
    this.#scriptName = envelope.scriptName;
    this.#recordPrefix = encode(`\0code-runtime:${envelope.secret}:`);
    envelope.secret = '';
    this.#moduleUrl = createObjectUrl(new BlobClass([envelope.code], { type: 'application/typescript' }));
    this.#realm.settle({ scriptName: envelope.scriptName, moduleUrl: this.#moduleUrl, allowedOrigins: envelope.allowedOrigins ?? [] });
  }

  /** Runs the script as its own module, so its stack frames carry its own line numbers; its default export, once settled, is the run's value. */
  start(): void {
    import(this.#moduleUrl).then(
      (namespace) => sendValue(namespace, (record) => this.record(record)).then(undefined, (error) => this.fail('threw', error)),
      (error) => this.fail('threw', error),
    );
  }

  /** A record on stdout only (the default export's value, value.ts); `done` is written on both streams. */
  record(text: string): void {
    this.#writeIfOpen(writeStdout, this.#tagged(`${text}\n`));
  }

  /** Reports the script's failure (on stderr, then as a record) and ends the process with exit code 1. */
  fail(kind: Kind, error: unknown, event?: Event): never {
    let record = `{"kind":"${kind}","error":"${UNDESCRIBED}"}`;
    try {
      const described = this.#describe(error, event);
      const final: Kind = described.syntax ? 'syntax' : kind;
      const heading = final === 'syntax' ? '' : `Uncaught ${described.heading}${final === 'rejection' ? '(in promise) ' : ''}`;
      const lineEnd = indexOf(described.text, '\n');
      const first = lineEnd < 0 ? described.text : slice(described.text, 0, lineEnd);
      const line = first.length > 300 ? `${slice(first, 0, 300)}…` : first;
      // Null-prototype, so no `toJSON` the script put on Object.prototype is consulted.
      record = stringify({ __proto__: null, kind: final, error: line, where: exec(WHERE, described.text)?.[1] });
      this.#write(writeStderr, encode(`error: ${heading}${described.text}\n`));
    } catch {
      // The script broke what describing needs; the record below still says it failed.
    }
    try {
      // Last thing written; the orchestrator cuts it out of stderr, and out of the live stream (NUL-led, so rarely held back).
      this.#write(writeStderr, this.#tagged(`${record}\n`));
    } catch {
      // Nothing more can be said; the exit code still marks the failure.
    }
    return exit(1);
  }

  /**
   * Tells the orchestrator the run ended with `exitCode`, after everything the script wrote, on both
   * streams: it need not wait for the process's end. Any integer, as Deno.exitCode takes (256 exits 0).
   */
  end(exitCode: number): void {
    const record = this.#tagged(`{"kind":"done","exitCode":${exitCode & 255}}\n`);
    this.#writeIfOpen(writeStdout, record);
    this.#writeIfOpen(writeStderr, record);
  }

  #writeIfOpen(sink: (bytes: Uint8Array) => number, bytes: Uint8Array): void {
    try {
      this.#write(sink, bytes);
    } catch {
      // A stream the script closed: the orchestrator waits for the process's end instead.
    }
  }

  /** The error as the script's author should see it: their file name, no runtime or guest frames. */
  #describe(error: unknown, event: Event | undefined): { text: string; heading: string; syntax: boolean } {
    let text = UNDESCRIBED;
    let heading = '';
    try {
      const failure = (error === null || error === undefined) && event !== undefined ? this.#fromEvent(event) : undefined;
      if (failure !== undefined) {
        text = failure.text;
        heading = failure.heading;
      } else {
        const stack = isPrototypeOf(ErrorPrototype, error) ? reflectGet(error as object, 'stack') : undefined;
        text = typeof stack === 'string' && stack.length > 0 ? stack : inspect(error);
      }
    } catch {
      // A getter of the script's threw: say so, as above.
    }
    text = this.#realm.named(text);
    const syntax = startsWith(text, SYNTAX);
    if (syntax) text = slice(text, 'TypeError: '.length);
    return { text: this.#withoutGuestFrames(text), heading, syntax };
  }

  /** An ErrorEvent with no error: a Worker's failure, as its realm or Deno described it. */
  #fromEvent(event: Event): { text: string; heading: string } | undefined {
    const failure = this.#realm.workerFailure(event);
    if (failure !== undefined) return failure;
    if (!isPrototypeOf(ErrorEventPrototype, event)) return undefined;
    const message = `${eventMessage(event)}`;
    const file = `${eventFile(event)}`;
    const where = file === '' ? '' : `\n    at ${file}:${eventLine(event)}:${eventColumn(event)}`;
    return { text: `${startsWith(message, 'Uncaught ') ? slice(message, 'Uncaught '.length) : message}${where}`, heading: '' };
  }

  /** `text` without the lines that are guest or runtime frames (a stack hook of the script's may print them). */
  #withoutGuestFrames(text: string): string {
    let kept: string | undefined;
    for (let from = 0; ;) {
      const lineEnd = indexOf(text, '\n', from);
      const line = slice(text, from, lineEnd < 0 ? text.length : lineEnd);
      if (exec(FRAME, line) === null || !this.#realm.isGuestFrame(line)) kept = kept === undefined ? line : `${kept}\n${line}`;
      if (lineEnd < 0) return kept ?? '';
      from = lineEnd + 1;
    }
  }

  /** A record: the secret-tagged prefix, then `text`, as one buffer (one write, nothing between them). */
  #tagged(text: string): Uint8Array {
    const body = encode(text);
    const prefix = this.#recordPrefix;
    const bytes = new Bytes(byteLength(prefix) + byteLength(body));
    setBytes(bytes, prefix, 0);
    setBytes(bytes, body, byteLength(prefix));
    return bytes;
  }

  #write(sink: (bytes: Uint8Array) => number, bytes: Uint8Array): void {
    const length = byteLength(bytes);
    let offset = sink(bytes);
    while (offset < length) offset += sink(subarray(bytes, offset));
  }
}
