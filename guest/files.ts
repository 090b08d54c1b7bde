/**
 * The global `files` of types/files.d.ts: the run's input files (`list`, `read`, `readText`) and
 * the files it hands back (`write`), over the relay's files route (`GET …/files/in?name=NAME`,
 * `PUT …/files/out?name=NAME`). There is no filesystem behind it: the orchestrator holds the bytes and
 * applies every rule and limit (names, sizes, counts); this side only refuses early what it can
 * see is over the per-file limit, so an oversized write is never sent. At most 4 calls are in
 * flight; more wait here. Compiled on a script's first use of `files` (lazy.ts), so its builtins
 * are those captured before the user's code ran (builtins.ts); Response's methods and timers are
 * taken at the first call, as api.ts does (touching them at start costs every run CPU).
 */
import { builtins } from './builtins.ts';
import { backoff, inFlightLimit, responseBuiltins as lazy } from './relay-call.ts';

const {
  fetch: fetchFn, apply, jsonParse, freeze, defineProperty, isArray, Error: ErrorCtor,
  Uint8Array: Uint8ArrayCtor, ArrayBuffer: ArrayBufferCtor, isView, encodeURIComponent: encodeName,
  Blob: BlobCtor, Set: SetCtor, SharedArrayBuffer: SharedArrayBufferCtor, regExpTest, blobSize: blobSizeGetter, arrayMap,
  encodeText: encode, decodeText: decode,
} = builtins;
const printable = /^[\x20-\x7e]{1,255}$/;
const test = (pattern: RegExp, text: string): boolean => apply(regExpTest, pattern, [text]);
const blobSize = (blob: Blob): number => apply(blobSizeGetter, blob, []);
const mapArray = <T, U>(list: readonly T[], fn: (item: T) => U): U[] => apply(arrayMap, list, [fn]) as U[];

export interface FileInfo {
  name: string;
  size: number;
  contentType: string;
}

export interface FilesConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
  /** The input files: names, sizes and types (the bytes stay with the orchestrator until read). */
  inputs: FileInfo[];
  /** The run's per-file limit (maxFileBytes), checked here before a write is sent. */
  maxFileBytes: number;
}

const IN_FLIGHT = 4;
const MAX_ATTEMPTS = 5;
/** Refusals that prove nothing was done, so the call may be sent again. */
const RETRYABLE = ['relay-too-many-requests', 'relay-too-many-connections', 'relay-busy'];

/** A failed `files` call: a missing input, a name that is not plain, a limit, the run's end. */
export class FilesError extends ErrorCtor {
  declare readonly name: 'FilesError';
  /** `file-not-found`, `invalid-name`, `invalid-data`, `file-too-large`, `files-out-limit`, `files-out-too-large`, `run-ended`, `relay`… */
  readonly type: string;
  /** The file it was about. */
  readonly file: string;

  constructor(type: string, file: string, message: string) {
    super(message);
    this.type = type;
    this.file = file;
  }
}
defineProperty(FilesError.prototype, 'name', { value: 'FilesError', writable: true, configurable: true });

/** `12.3 MiB`, as the orchestrator's messages say sizes. */
function mib(bytes: number): string {
  const value = bytes / (1024 * 1024);
  return `${value === (value | 0) ? value : value < 0.1 ? value.toFixed(3) : value.toFixed(1)} MiB`;
}

function show(name: string): string {
  return builtins.jsonStringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : typeof value;
}

/** What `write` sends: the bytes (or a Blob, sent as it is) and their size. */
function bodyOf(name: string, data: unknown): { body: Uint8Array | Blob; size: number } {
  if (typeof data === 'string') {
    const bytes = encode(data);
    return { body: bytes, size: bytes.length };
  }
  if (data instanceof Uint8ArrayCtor) return { body: data, size: data.length };
  if (data instanceof ArrayBufferCtor) return { body: new Uint8ArrayCtor(data), size: data.byteLength };
  // Shared memory may change while it is sent: a copy is what gets written.
  if (SharedArrayBufferCtor !== undefined && data instanceof SharedArrayBufferCtor) return { body: new Uint8ArrayCtor(data).slice(), size: data.byteLength };
  if (isView(data)) return { body: new Uint8ArrayCtor(data.buffer, data.byteOffset, data.byteLength), size: data.byteLength };
  if (data instanceof BlobCtor) return { body: data, size: blobSize(data) };
  throw new FilesError('invalid-data', name, `files.write(${show(name)}, data) takes a string, Uint8Array, ArrayBuffer or Blob, got ${kindOf(data)}`);
}

export function createFiles(config: FilesConfig): object {
  const inputs = freeze(mapArray(config.inputs, (input) => freeze({ name: input.name, size: input.size, contentType: input.contentType })));
  const inFlight = inFlightLimit(IN_FLIGHT);
  /** Names written so far; once the count limit refused one, new names are refused here without a call. */
  const written = new SetCtor<string>();
  let countLimit: string | undefined;

  function path(route: 'in' | 'out', name: unknown): string {
    if (typeof name !== 'string') throw new FilesError('invalid-name', String(name), `A file name is a string, got ${kindOf(name)}`);
    try {
      // In the query: in the path, a URL parser resolves `..` (even as `%2E%2E`) before the relay could refuse it.
      return `${config.url}/files/${route}?name=${encodeName(name)}`;
    } catch {
      throw new FilesError('invalid-name', name, `The file name ${show(name)} is not valid UTF-8 (a lone surrogate)`);
    }
  }

  /**
   * One call to the relay's files route, after retrying refusals that did nothing; the answer when
   * it is 2xx. `ready` runs once the call has its place, and may still refuse it.
   */
  async function request(url: string, init: RequestInit, name: string, ready?: () => void): Promise<Response> {
    await inFlight.take();
    try {
      ready?.();
      for (let attempt = 1; ; attempt += 1) {
        const b = lazy();
        let response: Response;
        try {
          response = await fetchFn(url, init);
        } catch (error) {
          const why = error instanceof ErrorCtor ? error.message : String(error);
          throw new FilesError('relay', name, `Could not reach the files relay for ${show(name)} (the run may have ended): ${why}`);
        }
        const status = apply(b.status, response, []) as number;
        if (status < 300) return response;
        const text = await (apply(b.text, response, []) as Promise<string>);
        let error: { type?: unknown; message?: unknown } | undefined;
        try {
          error = (jsonParse(text) as { error?: typeof error })?.error;
        } catch {
          error = undefined;
        }
        const type = typeof error?.type === 'string' ? error.type : `http-${status}`;
        const message = typeof error?.message === 'string' ? error.message : `The files relay answered ${status} for ${show(name)}`;
        if (RETRYABLE.includes(type) && attempt < MAX_ATTEMPTS) {
          await backoff(attempt, 2000, b.setTimeout);
          continue;
        }
        throw new FilesError(type, name, message);
      }
    } finally {
      inFlight.give();
    }
  }

  async function read(name: string): Promise<Uint8Array> {
    const response = await request(path('in', name), { method: 'GET' }, name);
    return new Uint8ArrayCtor(await (apply(lazy().arrayBuffer, response, []) as Promise<ArrayBuffer>));
  }

  async function write(name: string, data: unknown, options?: { contentType?: unknown }): Promise<void> {
    const url = path('out', name);
    const { body, size } = bodyOf(name, data);
    if (size > config.maxFileBytes) {
      throw new FilesError('file-too-large', name, `Cannot write ${show(name)}: it is ${mib(size)}, over the limit of ${mib(config.maxFileBytes)} per file (maxFileBytes)`);
    }
    // Checked again once the call has its place: writes queued behind the first refusal fail here, not at the relay.
    const full = () => {
      if (countLimit !== undefined && !written.has(name)) {
        // The relay's words, about this file.
        throw new FilesError('files-out-limit', name, countLimit.replace(/^Cannot write "(?:[^"\\]|\\.)*"/, `Cannot write ${show(name)}`));
      }
    };
    full();
    const headers: Record<string, string> = {};
    const contentType = options?.contentType;
    if (contentType !== undefined) {
      if (typeof contentType !== 'string' || !test(printable, contentType)) {
        throw new FilesError('invalid-content-type', name, `files.write(${show(name)}, data, { contentType }) takes a content type such as 'text/csv', got ${typeof contentType === 'string' ? show(contentType) : kindOf(contentType)}`);
      }
      headers['content-type'] = contentType;
    }
    let response: Response;
    try {
      response = await request(url, { method: 'PUT', headers, body: body as BodyInit }, name, full);
    } catch (error) {
      if (error instanceof FilesError && error.type === 'files-out-limit') countLimit = error.message;
      throw error;
    }
    // The answer is small; reading it frees the connection for the next call.
    await (apply(lazy().text, response, []) as Promise<string>);
    written.add(name);
  }

  return freeze({
    list: () => mapArray(inputs, (input) => ({ name: input.name, size: input.size, contentType: input.contentType })),
    read,
    readText: async (name: string) => decode(await read(name)),
    write,
    FilesError,
  });
}
