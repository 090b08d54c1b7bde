/**
 * The script's `fetch`. The sandbox may reach nothing but the orchestrator's relay, so a fetch to an
 * origin the operator allowed is sent there (`…/egress/to/<origin>/<path>`), with the script's
 * method, headers and body (streamed), and the relay sends it on, adding the operator's headers,
 * which never enter this process; the answer comes back as the origin gave it, minus secrets, with
 * `Response.url` and `redirected` as a direct fetch would set them. Redirects are followed here,
 * hop by hop through the relay, so every hop is judged and gets only its own origin's headers. Any
 * other origin or port fails at once with an error naming what was tried and the allowed origins,
 * worded as the relay words its own refusals (orchestrator/relay/egress-rules.ts); network.ts
 * installs this `fetch` and refuses the other ways out. The relay's own address stays as reachable
 * as it always was: it is the gate, and answers nothing without a run's secret.
 * Compiled on the script's first fetch (lazy.ts), so its builtins are those captured before the
 * user's code ran (builtins.ts). Nothing here guards a secret (there is none in this process): a
 * script that patches what this code uses at a call only misleads itself. Deno loads Request,
 * Response and Headers lazily, so they are captured at the first fetch, not at start.
 */
import { builtins } from './builtins.ts';
import { backoff, inFlightLimit } from './relay-call.ts';
import { allowedWords, hostPort } from './origins.ts';

const {
  fetch: relayFetch, jsonParse, defineProperty, Error: ErrorCtor, Uint8Array: Bytes,
  URL: URLCtor, getOwnPropertySymbols: ownSymbols, symbolDescription, apply, arrayMap, encodeURIComponent: encode, NotCapable,
} = builtins;

export interface EgressConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
}

/** The header the relay marks an origin's answer with (a relay refusal has none). */
const ANSWER_MARK = 'code-runtime-egress';
/** Headers of the relay's own connection to this process, not the origin's: left out of what the script sees. */
const RELAY_HOP = [ANSWER_MARK, 'connection', 'keep-alive', 'transfer-encoding'];
/** The header this run's requests are numbered with, to ask the relay why one broke off. */
const REQUEST_ID = 'code-runtime-egress-id';
const REDIRECTS = [301, 302, 303, 307, 308];
/** As browsers and Deno's own fetch. */
const MAX_REDIRECTS = 20;
/** Requests waiting for their answer's head at once; more wait here (the relay takes 16 calls per run, of every kind). */
const IN_FLIGHT = 8;
const MAX_ATTEMPTS = 4;
/** Relay refusals that prove the request was not sent, so one whose body is kept may be sent again. */
const RETRYABLE = ['relay-too-many-requests', 'relay-too-many-connections', 'relay-busy'];
/** Refusals of the network itself: the class Deno gives a denied permission. */
const DENIALS = ['egress-not-allowed', 'egress-private-address'];
/** Statuses whose Response has no body. */
const NULL_BODY = [101, 103, 204, 205, 304];

interface Rule {
  origin: string;
  prefix: string;
}

interface Lazy {
  Request: typeof Request;
  Response: typeof Response;
  Headers: typeof Headers;
  ReadableStream: typeof ReadableStream;
  setTimeout: typeof setTimeout;
}
let lazyBuiltins: Lazy | undefined;

function lazy(): Lazy {
  lazyBuiltins ??= { Request, Response, Headers, ReadableStream, setTimeout: globalThis.setTimeout };
  return lazyBuiltins;
}

/** What of a path could mean another path to the origin than to the prefix check (orchestrator/relay/egress-rules.ts's `pathTrick`, word for word). */
function pathTrick(pathname: string): string | undefined {
  if (/%(2e|2f|5c)/i.test(pathname)) return 'an encoded \'.\', \'/\' or \'\\\'';
  if (/%25/.test(pathname)) return 'an encoded \'%\'';
  if (/(^|\/)\.{1,2};/.test(pathname)) return 'a dot segment with parameters (`..;`, `.;`)';
  return undefined;
}

function underPrefix(pathname: string, prefix: string): boolean {
  if (prefix === '' || pathname === prefix) return true;
  return pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

export function createEgress(config: EgressConfig, allowedOrigins: readonly string[]) {
  const rules = apply(arrayMap, allowedOrigins, [(name: string): Rule => {
    const url = new URLCtor(name);
    return { origin: url.origin, prefix: url.pathname === '/' ? '' : url.pathname };
  }]) as Rule[];
  const allowed = allowedWords(allowedOrigins);
  /** `127.0.0.1:PORT` of the relay. */
  const gate = config.url === '' ? '' : new URLCtor(config.url).host;
  let ids = 0;
  const inFlight = inFlightLimit(IN_FLIGHT);

  /** Why `url` may not be fetched, or undefined when it may (orchestrator/relay/egress-rules.ts's `judge`, word for word). */
  function refusal(url: URL): string | undefined {
    const same = rules.filter((rule) => rule.origin === url.origin);
    if (same.length === 0) return `network access to ${hostPort(url)} is not allowed in this sandbox; ${allowed}`;
    const why = same.every((rule) => rule.prefix !== '') ? pathTrick(url.pathname) : undefined;
    if (why) return `network access to ${url.origin}${url.pathname} is not allowed in this sandbox: ${why} in the path is refused under a path prefix; ${allowed}`;
    if (!same.some((rule) => underPrefix(url.pathname, rule.prefix))) return `network access to ${url.origin}${url.pathname} is not allowed in this sandbox; ${allowed}`;
    return undefined;
  }

  /** What the relay kept on why request `id` broke off, if anything. */
  async function why(id: string): Promise<string | undefined> {
    try {
      const answer = await relayFetch(`${config.url}/egress/why/${id}`);
      const text = await answer.text();
      if (answer.status !== 200) return undefined;
      const message = (jsonParse(text) as { message?: unknown }).message;
      return typeof message === 'string' ? message : undefined;
    } catch {
      return undefined;
    }
  }

  /** The relay's `{ error: { type, message } }`. */
  async function refusalOf(answer: Response): Promise<{ type: string; message: string }> {
    const text = await answer.text();
    try {
      const error = (jsonParse(text) as { error?: { type?: unknown; message?: unknown } }).error;
      if (typeof error?.message === 'string') return { type: typeof error.type === 'string' ? error.type : '', message: error.message };
    } catch {
      // Not the relay's JSON: said as the status below.
    }
    return { type: '', message: `the sandbox's gate answered ${answer.status}` };
  }

  /**
   * The answer's body, read through so that when its connection breaks the error says why (a cap,
   * a timeout, the origin hanging up), as the relay kept it.
   */
  function explained(b: Lazy, body: ReadableStream<Uint8Array>, id: string, what: string): ReadableStream<Uint8Array> {
    const reader = body.getReader();
    return new b.ReadableStream({
      type: 'bytes',
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (error) {
          controller.error(new TypeError(await why(id) ?? `the answer to ${what} broke off: ${error instanceof ErrorCtor ? error.message : String(error)}`));
          return;
        }
        if (chunk.done) {
          controller.close();
          controller.byobRequest?.respond(0);
        } else {
          controller.enqueue(chunk.value);
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }

  /** A Response the script gets: the origin's status, text, headers and body, with the URL chain a direct fetch would have. */
  function dressed(b: Lazy, answer: Response, urls: string[], id: string, method: string): Response {
    const headers = new b.Headers();
    for (const [name, value] of answer.headers) if (!RELAY_HOP.includes(name)) headers.append(name, value);
    const status = answer.status;
    let body: ReadableStream<Uint8Array> | null = null;
    if (answer.body && !NULL_BODY.includes(status)) body = explained(b, answer.body, id, `${method} ${urls[urls.length - 1]}`);
    else answer.body?.cancel();
    const response = new b.Response(body, { status, statusText: answer.statusText, headers });
    // Deno keeps a response's URL list, type and header guard in its inner record; a fetched one has
    // its URLs, type "basic" and read-only headers, so this one gets the same.
    let done = false;
    for (const symbol of ownSymbols(response)) {
      const name = apply(symbolDescription, symbol, []);
      const inner = (response as unknown as Record<symbol, unknown>)[symbol];
      if (name === 'response' && inner !== null && typeof inner === 'object' && 'urlList' in inner) {
        const record = inner as unknown as { urlList: string[]; type: string };
        record.urlList = urls;
        record.type = 'basic';
        done = true;
      } else if (name === 'headers guard') {
        (response as unknown as Record<symbol, unknown>)[symbol] = 'immutable';
      }
    }
    if (!done) {
      defineProperty(response, 'url', { value: urls[urls.length - 1], enumerable: false });
      defineProperty(response, 'redirected', { value: urls.length > 1, enumerable: false });
    }
    return response;
  }

  /** One hop through the relay: the origin's answer (marked), or an error for the relay's refusal. */
  async function hop(b: Lazy, url: URL, method: string, headers: Headers, body: Uint8Array | ReadableStream | null, replayable: boolean, signal: AbortSignal): Promise<{ answer: Response; id: string }> {
    await inFlight.take();
    try {
      for (let attempt = 1; ; attempt += 1) {
        ids += 1;
        const id = `${ids}`;
        const sent = new b.Headers(headers);
        sent.set(REQUEST_ID, id);
        let answer: Response;
        try {
          answer = await relayFetch(`${config.url}/egress/to/${encode(url.origin)}${url.pathname}${url.search}`, {
            method, headers: sent, body, signal, redirect: 'manual', duplex: 'half',
          } as RequestInit);
        } catch (error) {
          if (signal.aborted) throw signal.reason ?? error;
          throw new TypeError(await why(id) ?? `${method} ${url.href} failed: the connection to the sandbox's gate broke (${error instanceof ErrorCtor ? error.name : 'error'})`);
        }
        if (answer.headers.get(ANSWER_MARK) !== null) return { answer, id };
        const { type, message } = await refusalOf(answer);
        if (answer.status === 429 && replayable && RETRYABLE.includes(type) && attempt < MAX_ATTEMPTS) {
          await backoff(attempt, 1000, b.setTimeout);
          continue;
        }
        const words = answer.status === 429 ? `${message}; a run holds at most 16 requests open at once: read or cancel the bodies of the answers it already has` : message;
        throw DENIALS.includes(type) ? new NotCapable(words) : new TypeError(words);
      }
    } finally {
      inFlight.give();
    }
  }

  /** Whether the script gave its body as a stream (sent as it comes, never kept, so never sent twice). */
  function streamed(b: Lazy, input: unknown, init: RequestInit | undefined): boolean {
    if (init !== undefined && init !== null && init.body !== undefined && init.body !== null) {
      const body = init.body as unknown;
      return body instanceof b.ReadableStream || (typeof body === 'object' && Symbol.asyncIterator in (body as object));
    }
    // A Request's body cannot be told apart from outside: sent as a stream.
    return input instanceof b.Request;
  }

  async function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const b = lazy();
    const request = new b.Request(input, init);
    let url = new URLCtor(request.url);
    // data:, blob: and file: are Deno's own (file: is denied there); the relay is the sandbox's own.
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || (url.protocol === 'http:' && url.host === gate)) return relayFetch(request);
    const signal = request.signal;
    if (signal.aborted) throw signal.reason;
    let method = request.method;
    const headers = new b.Headers(request.headers);
    let body: Uint8Array | ReadableStream | null = null;
    let replayable = true;
    if (request.body !== null) {
      if (streamed(b, input, init)) {
        body = request.body;
        replayable = false;
      } else {
        body = new Bytes(await request.arrayBuffer());
      }
    }
    const urls: string[] = [];
    for (let redirects = 0; ; redirects += 1) {
      const refused = refusal(url);
      if (refused) throw new NotCapable(urls.length === 0 ? refused : `${refused} (redirected to it from ${urls[urls.length - 1]})`);
      urls[urls.length] = url.href;
      const { answer, id } = await hop(b, url, method, headers, body, replayable, signal);
      const location = answer.headers.get('location');
      if (!REDIRECTS.includes(answer.status) || request.redirect === 'manual' || location === null) return dressed(b, answer, urls, id, method);
      await answer.body?.cancel();
      if (request.redirect === 'error') throw new TypeError(`${method} ${url.href} was redirected (${answer.status}) and its redirect mode is "error"`);
      if (redirects >= MAX_REDIRECTS) throw new TypeError(`${urls[0]} redirected more than ${MAX_REDIRECTS} times`);
      let next: URL;
      try {
        next = new URLCtor(location, url);
      } catch {
        throw new TypeError(`${method} ${url.href} redirected to ${location.slice(0, 200)}, which is not a URL`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new TypeError(`${method} ${url.href} redirected to a ${next.protocol} URL, which fetch does not follow`);
      if ((answer.status === 303 && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
        method = 'GET';
        body = null;
        for (const name of ['content-type', 'content-length', 'content-encoding', 'content-language', 'content-location']) headers.delete(name);
      } else if (body !== null && !replayable) {
        throw new TypeError(`${method} ${url.href} was redirected (${answer.status}) to ${next.href}, which would need its body again; a body given as a stream is sent once and not kept`);
      }
      // As fetch does: credentials the script set for one origin do not follow it to another.
      if (next.origin !== url.origin) headers.delete('authorization');
      url = next;
    }
  }
  defineProperty(fetch, 'name', { value: 'fetch' });

  return fetch;
}
