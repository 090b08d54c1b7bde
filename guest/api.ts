/**
 * The guest's one HTTP layer: every `apify` call becomes a request to the orchestrator's relay,
 * which adds the token (it is never in this process). Builds URLs, encodes ids, retries with bounded
 * exponential backoff only what is safe to send again (a 429, a call that provably never reached the
 * API, or a 5xx of an idempotent call: never a start), and turns other non-2xx answers into an ApifyApiError.
 * Builtins are captured before the user's code can patch them (relay-call.ts says which are taken at the first call).
 */

import { builtins } from './builtins.ts';
import { type ResponseBuiltins as Lazy, responseBuiltins as lazy } from './relay-call.ts';

// As they were before the user's code ran (builtins.ts).
const {
  fetch: fetchFn, apply, jsonParse, encodeURIComponent: encode, keys: objectKeys, isArray,
  Promise: PromiseCtor, random, min, Uint8Array: Uint8ArrayCtor, Error: ErrorCtor, defineProperty,
} = builtins;

/** An error answer of the Apify API (or of the relay in front of it), as one readable line. */
export class ApifyApiError extends ErrorCtor {
  declare readonly name: 'ApifyApiError';
  /** The HTTP status, e.g. 404; 0 when the relay could not be reached at all. */
  readonly statusCode: number;
  /** The API's error type, e.g. `record-not-found`, when it gave one. */
  readonly type: string | undefined;
  readonly method: string;
  /** The API path, e.g. `/v2/acts/apify~hello-world/runs`. */
  readonly path: string;
  /** How many times the call was tried. */
  readonly attempts: number;

  constructor(init: { statusCode: number; type?: string; message: string; method: string; path: string; attempts: number }) {
    const what = init.statusCode === 0 ? 'failed' : `failed with ${init.statusCode}${init.type ? ` ${init.type}` : ''}`;
    const tries = init.attempts > 1 ? ` (gave up after ${init.attempts} attempts)` : '';
    super(`${init.method} ${init.path} ${what}: ${init.message}${tries}`);
    this.statusCode = init.statusCode;
    this.type = init.type;
    this.method = init.method;
    this.path = init.path;
    this.attempts = init.attempts;
  }
}
defineProperty(ApifyApiError.prototype, 'name', { value: 'ApifyApiError', writable: true, configurable: true });

export type QueryValue = string | number | boolean | readonly string[] | undefined;

export interface ApiRequest {
  method: 'GET' | 'POST' | 'PUT';
  /** `/v2/...` with ids already encoded by `pathId`. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: string | Uint8Array;
  contentType?: string;
  /** Sending it twice does what sending it once does; default: every method but POST. */
  idempotent?: boolean;
}

export interface ApiResponse {
  status: number;
  header(name: string): string | null;
  text(): Promise<string>;
  bytes(): Promise<Uint8Array>;
}

export interface Api {
  /** The answer to a request; null for a 404 when `nullIfMissing`. Throws ApifyApiError otherwise. */
  request(request: ApiRequest, nullIfMissing?: boolean): Promise<ApiResponse | null>;
  /** The parsed JSON of the answer, with the API's `{ data }` envelope removed. */
  json(request: ApiRequest): Promise<unknown>;
  /** A call whose answer is not needed; its body is read so the connection can be reused. */
  send(request: ApiRequest): Promise<void>;
}

/** An answer that must be a record with an `id` (a run, a dataset…), typed as the caller expects. */
export function expectRecord<T>(value: unknown, what: string): T {
  if (value === null || typeof value !== 'object' || typeof (value as { id?: unknown }).id !== 'string') {
    throw new Error(`The Apify API answered without ${what}`);
  }
  return value as T;
}

/** `username/name` or an id as one path segment: `/` becomes `~`, the rest is percent-encoded. */
export function pathId(id: string): string {
  return encode(id.replace('/', '~'));
}

/** Tries in all, the first included; waits double from BASE_DELAY_MS, capped, with jitter. */
export const MAX_ATTEMPTS = 5;
const BASE_DELAY_MS = 250;
const MAX_DELAY_MS = 8000;
const MAX_RETRY_AFTER_SECS = 30;

/** Relay answers that prove the call never reached the API (every relay 429 is refused before forwarding). */
const NEVER_SENT_TYPES = ['relay-upstream-unreachable'];

/**
 * Whether a failed call may be sent again. A 429 (the API's or the relay's) was refused unprocessed;
 * after any other 5xx the call may have taken effect, so only an idempotent one is repeated.
 */
function retryable(req: ApiRequest, status: number, type: string | undefined): boolean {
  if (status === 429 || (type !== undefined && NEVER_SENT_TYPES.includes(type))) return true;
  return status >= 500 && (req.idempotent ?? req.method !== 'POST');
}

function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  let out = '';
  const names = objectKeys(query);
  for (let i = 0; i < names.length; i += 1) {
    const name = names[i] as string;
    const value = query[name];
    if (value === undefined) continue;
    const text = isArray(value) ? (value as readonly string[]).join(',') : String(value);
    out += `${out ? '&' : '?'}${encode(name)}=${encode(text)}`;
  }
  return out;
}

function wrap(raw: Response, b: Lazy): ApiResponse {
  const headers = apply(b.headers, raw, []) as Headers;
  return {
    status: apply(b.status, raw, []) as number,
    header: (name) => apply(b.get, headers, [name]) as string | null,
    text: () => apply(b.text, raw, []) as Promise<string>,
    bytes: async () => new Uint8ArrayCtor(await (apply(b.arrayBuffer, raw, []) as Promise<ArrayBuffer>)),
  };
}

/** The API's `{ error: { type, message } }`, or the start of whatever else it sent. */
async function errorOf(response: ApiResponse): Promise<{ type?: string; message: string }> {
  let text = '';
  try {
    text = await response.text();
    const body = jsonParse(text) as { error?: { type?: unknown; message?: unknown } } | null;
    const error = body?.error;
    if (error && typeof error.message === 'string') {
      return { type: typeof error.type === 'string' ? error.type : undefined, message: oneLine(error.message) };
    }
  } catch {
    // Not JSON: shown as text below.
  }
  return { message: oneLine(text) || `HTTP ${response.status} with no explanation` };
}

function oneLine(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 500 ? `${line.slice(0, 500)}…` : line;
}

function delayMs(attempt: number, retryAfter: string | null): number {
  const secs = retryAfter === null ? NaN : Number(retryAfter);
  if (secs >= 0) return min(secs, MAX_RETRY_AFTER_SECS) * 1000;
  const base = min(BASE_DELAY_MS * 2 ** (attempt - 1), MAX_DELAY_MS);
  return base * (0.75 + random() / 2);
}

export function createApi(baseUrl: string): Api {
  async function request(req: ApiRequest, nullIfMissing = false): Promise<ApiResponse | null> {
    const url = `${baseUrl}${req.path}${buildQuery(req.query)}`;
    const headers: Record<string, string> = {};
    if (req.contentType) headers['content-type'] = req.contentType;
    for (let attempt = 1; ; attempt += 1) {
      const b = lazy();
      let response: ApiResponse;
      try {
        response = wrap(await fetchFn(url, { method: req.method, headers, body: req.body as BodyInit | undefined }), b);
      } catch (error) {
        // Only reads and puts are repeated after a failure that may have reached the API.
        if (req.method !== 'POST' && attempt < MAX_ATTEMPTS) {
          await sleep(b, delayMs(attempt, null));
          continue;
        }
        const message = `could not reach the Apify API relay: ${error instanceof Error ? error.message : String(error)}`;
        throw new ApifyApiError({ statusCode: 0, message, method: req.method, path: req.path, attempts: attempt });
      }
      if (response.status < 300) return response;
      if (response.status === 404 && nullIfMissing) {
        await response.text();
        return null;
      }
      const retryAfter = response.header('retry-after');
      const { type, message } = await errorOf(response);
      const again = retryable(req, response.status, type);
      if (again && attempt < MAX_ATTEMPTS) {
        await sleep(b, delayMs(attempt, retryAfter));
        continue;
      }
      // Said in the error, so the author knows why a 5xx was not retried.
      const note = !again && response.status >= 500 && !type?.endsWith('outcome-unknown')
        ? ' (not sent again: it may have taken effect, and repeating it could do it twice)' : '';
      throw new ApifyApiError({ statusCode: response.status, type, message: `${message}${note}`, method: req.method, path: req.path, attempts: attempt });
    }
  }

  async function json(req: ApiRequest): Promise<unknown> {
    const response = await request(req) as ApiResponse;
    const text = await response.text();
    if (text === '') return undefined;
    const body = jsonParse(text) as unknown;
    const isEnvelope = body !== null && typeof body === 'object' && !isArray(body) && 'data' in body;
    return isEnvelope ? (body as { data: unknown }).data : body;
  }

  async function send(req: ApiRequest): Promise<void> {
    await (await request(req) as ApiResponse).text();
  }

  return { request, json, send };
}

function sleep(b: Lazy, ms: number): Promise<void> {
  return new PromiseCtor((resolve) => b.setTimeout(resolve, ms));
}
