/**
 * One egress request on its way out and its answer on the way back. Out: the script's method,
 * path, query, headers (minus hop-by-hop ones and any the operator configured for this origin,
 * which are added instead) and body, streamed, counted against the run's request cap; to the
 * address `egress-net.ts` checked. Back: the origin's status, status text and headers (hop-by-hop
 * ones and any whose name holds a secret dropped, every value scrubbed) and its body, streamed:
 * decoded (gzip, deflate, br), counted against the run's response cap and scrubbed of every secret
 * of the run in every encoding.
 * Nothing is followed here: a redirect goes back to the guest, which sends the next hop through
 * the gate again, so every hop is judged and gets only its own origin's headers.
 * Before the answer starts, a failure is a RelayRefusal (the guest reads it as an error); after,
 * the connection is cut and the reason kept for the guest to ask (`EgressCalls.explain`).
 */
import type { ClientRequest, IncomingMessage, ServerResponse } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import { RelayRefusal } from './checks.js';
import type { EgressCall, EgressCalls } from './egress-calls.js';
import { PRIVATE_ADDRESS, transportFor, checkedLookup } from './egress-net.js';
import type { EgressRule } from './egress-rules.js';
import type { SessionState } from './request.js';
import { createScrubber, scrubText, textScrubber } from './scrub.js';

/** The header the relay marks an origin's answer with, so the guest tells it from the relay's own refusals. */
export const ANSWER_MARK = 'code-runtime-egress';
/** The header the guest numbers its requests with, to ask why one was cut off. */
export const REQUEST_ID = 'code-runtime-egress-id';

/** Headers of one hop only, or the relay's to set: never passed on in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'host', 'http2-settings',
  'proxy-authorization', 'proxy-authenticate']);
/** Codings the relay can decode, and so scrub. */
const DECODERS: Record<string, () => Transform> = {
  gzip: () => zlib.createGunzip(SYNC_FLUSH),
  'x-gzip': () => zlib.createGunzip(SYNC_FLUSH),
  deflate: () => zlib.createInflate(SYNC_FLUSH),
  br: () => zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH, finishFlush: zlib.constants.BROTLI_OPERATION_FLUSH }),
};
// Decoded output is passed on as it comes (an event stream stays live), and a body cut at a block's end still decodes.
const SYNC_FLUSH = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH };
const MiB = 1024 * 1024;

/** Why the relay itself cut a request off (a cap, a timeout), so the error says that rather than what the cut looked like. */
interface Cut {
  error?: Error;
}

export interface EgressForward {
  session: SessionState;
  egress: EgressCalls;
  call: EgressCall;
  rule: EgressRule;
  url: URL;
  req: IncomingMessage;
  res: ServerResponse;
  /** The guest's number for this request, for `explain`. */
  id?: string;
}

/** Names listed in a `Connection` header: hop-by-hop for this message too. */
function connectionListed(value: string | string[] | undefined): Set<string> {
  return new Set((Array.isArray(value) ? value.join(',') : value ?? '').split(',').map((name) => name.trim().toLowerCase()).filter(Boolean));
}

/** What the origin may send back that the relay can decode, from what the script accepts; none left means `identity`. */
function acceptEncoding(value: string): string {
  const kept = value.split(',').map((part) => part.trim()).filter((part) => {
    const coding = part.split(';')[0]!.trim().toLowerCase();
    return coding === 'identity' || Object.hasOwn(DECODERS, coding);
  });
  return kept.length > 0 ? kept.join(', ') : 'identity';
}

/** The request's headers for the origin: the script's, minus hop-by-hop and configured ones, plus the configured ones. */
function outgoingHeaders(req: IncomingMessage, rule: EgressRule): Record<string, string | string[]> {
  const listed = connectionListed(req.headers.connection);
  const configured = new Set(Object.keys(rule.headers).map((name) => name.toLowerCase()));
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  const names = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || configured.has(lower) || lower.startsWith('code-runtime-')) continue;
    const value = lower === 'accept-encoding' ? acceptEncoding(raw[i + 1]!) : raw[i + 1]!;
    const first = names.get(lower);
    if (first === undefined) {
      names.set(lower, name);
      out[name] = value;
    } else {
      const had = out[first]!;
      out[first] = Array.isArray(had) ? [...had, value] : [had, value];
    }
  }
  // A body of unknown length is sent chunked whatever the method: unframed, it would be read as the next request.
  if (req.headers['transfer-encoding'] !== undefined && req.headers['content-length'] === undefined) out['Transfer-Encoding'] = 'chunked';
  for (const [name, value] of Object.entries(rule.headers)) out[name] = value;
  return out;
}

/** The origin's headers as the script gets them (flat, in order): hop-by-hop ones dropped, every value scrubbed. */
function answerHeaders(response: IncomingMessage, scrub: (text: string) => string, keepLength: boolean): string[] {
  const listed = connectionListed(response.headers.connection);
  const out: string[] = [];
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower.startsWith('code-runtime-')) continue;
    // A name that holds a secret (an echo that makes headers of what it got) cannot be redacted and stay a name: dropped.
    if (scrub(raw[i]!) !== raw[i]) continue;
    // Decoded and scrubbed bodies change length: only a body passed unchanged keeps its length.
    if ((lower === 'content-length' && !keepLength) || (lower === 'content-encoding' && !keepLength)) continue;
    out.push(raw[i]!, scrub(raw[i + 1]!));
  }
  out.push(ANSWER_MARK, '1');
  return out;
}

/** The decoders for a `Content-Encoding` (applied last to first), or the coding the relay cannot decode. */
function decodersFor(value: string | undefined): { decoders: Transform[] } | { unknown: string } {
  const codings = (value ?? '').split(',').map((part) => part.trim().toLowerCase()).filter((part) => part !== '' && part !== 'identity');
  const decoders: Transform[] = [];
  for (const coding of codings.reverse()) {
    const make = DECODERS[coding];
    if (!make) return { unknown: coding };
    decoders.push(make());
  }
  return { decoders };
}

/** Statuses whose answer has no body. */
function bodiless(method: string, status: number): boolean {
  return method === 'HEAD' || status === 204 || status === 304 || (status >= 100 && status < 200);
}

/** A failure of the way out, as the sandbox reads it: status, type and message. */
function refusal(error: unknown, f: EgressForward, what: string): RelayRefusal {
  if (error instanceof RelayRefusal) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === PRIVATE_ADDRESS) {
    return new RelayRefusal(403, 'egress-private-address',
      `network access to ${f.url.host} is not allowed in this sandbox: ${message}; a name must resolve to public addresses only (an operator who means a private host allows it by its IP address)`);
  }
  if (error instanceof Error && error.name === 'TimeoutError') return new RelayRefusal(504, 'egress-timeout', message);
  return new RelayRefusal(502, 'egress-unreachable', `Could not reach ${f.url.origin} (${what}): ${typeof code === 'string' ? code : message}`);
}

function timeoutError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TimeoutError' });
}

/** Sends the request's body (if any) to the origin as it arrives, counting it; stops at the run's cap. */
function sendBody(f: EgressForward, upstream: ClientRequest, cutOff: (error: Error) => void): void {
  const { req, call, egress } = f;
  req.on('data', (chunk: Buffer) => {
    if (upstream.destroyed) return;
    if (!call.sent(chunk.length)) {
      cutOff(new RelayRefusal(413, 'egress-request-too-large',
        `The request bodies of this run's fetches came to more than ${egress.limits.requestBytes / MiB} MiB, the limit per run; ${f.req.method} ${f.url.origin}${f.url.pathname} was not sent whole`));
      return;
    }
    if (!upstream.write(chunk)) req.pause();
  });
  upstream.on('drain', () => req.resume());
  req.once('end', () => {
    if (!upstream.destroyed) upstream.end();
  });
  // A body broken off must not leave its first half on a connection kept for the next request.
  req.once('close', () => {
    if (!req.complete && !upstream.destroyed) upstream.destroy(new Error('the script stopped sending the request body'));
  });
}

/** Forwards the request and streams the answer back; the call's record gets the origin's status. */
export async function forwardEgress(f: EgressForward): Promise<void> {
  const { session, egress, call, url, req, res } = f;
  const method = req.method ?? 'GET';
  const what = `${method} ${url.origin}${url.pathname}`;
  const { agent, request } = transportFor(url);
  const abort = new AbortController();
  const onClosed = () => abort.abort(timeoutError('the run ended'));
  // The sandbox hung up (or the run ended): nobody reads this answer any more.
  const onHangUp = () => {
    if (!res.writableFinished) abort.abort(new Error('the script stopped reading'));
  };
  session.closed.signal.addEventListener('abort', onClosed, { once: true });
  res.once('close', onHangUp);
  let status = 0;
  let upstream: ClientRequest;
  try {
    upstream = request({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${url.pathname}${url.search}`,
      method,
      headers: outgoingHeaders(req, f.rule),
      agent,
      lookup: checkedLookup,
      signal: abort.signal,
    });
  } catch (error) {
    session.closed.signal.removeEventListener('abort', onClosed);
    res.off('close', onHangUp);
    call.end(0);
    throw new RelayRefusal(400, 'egress-bad-request', `${what} cannot be sent: ${(error as Error).message}`);
  }
  const cut: Cut = {};
  const cutOff = (error: Error) => {
    cut.error ??= error;
    upstream.destroy(error);
  };
  const limits = egress.limits;
  upstream.setTimeout(limits.idleTimeoutMs, () => cutOff(timeoutError(`${url.origin} sent nothing for ${limits.idleTimeoutMs / 1000} s (${what}); the request was cut off`)));
  const headersTimer = setTimeout(() => cutOff(timeoutError(`${url.origin} did not answer ${what} within ${limits.headersTimeoutMs / 1000} s`)), limits.headersTimeoutMs);
  headersTimer.unref();
  try {
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      upstream.once('response', resolve);
      upstream.once('error', reject);
      // The upgrade header never goes out; an origin that switches protocols anyway is not answering fetch.
      upstream.once('upgrade', (_res, socket) => {
        socket.destroy();
        reject(new RelayRefusal(502, 'egress-bad-answer', `${url.origin} answered ${what} by switching protocols, which fetch cannot follow`));
      });
      sendBody(f, upstream, cutOff);
    });
    clearTimeout(headersTimer);
    status = response.statusCode ?? 0;
    await answer(f, method, response, cut);
  } catch (error) {
    if (abort.signal.aborted && res.destroyed) return;
    const failure = refusal(cut.error ?? error, f, what);
    const message = scrubText(session.jsonSecrets, failure.message);
    egress.explain(f.id, message);
    if (!res.headersSent) throw new RelayRefusal(failure.statusCode, failure.type, message);
    // Mid-answer: the only way left to say it is to cut the connection; the guest asks why.
    res.destroy();
  } finally {
    clearTimeout(headersTimer);
    session.closed.signal.removeEventListener('abort', onClosed);
    res.off('close', onHangUp);
    if (!upstream.destroyed && status === 0) upstream.destroy();
    call.end(status);
  }
}

/** The origin's answer to the sandbox: status, headers, then the body decoded, counted and scrubbed. */
async function answer(f: EgressForward, method: string, response: IncomingMessage, cut: Cut): Promise<void> {
  const { session, egress, call, res, url } = f;
  const status = response.statusCode ?? 502;
  if (status < 200 || status > 599) {
    response.resume();
    throw new RelayRefusal(502, 'egress-bad-answer', `${url.origin} answered ${method} ${url.pathname} with status ${status}, which fetch cannot represent`);
  }
  const noBody = bodiless(method, status);
  const decoding = noBody ? { decoders: [] } : decodersFor(response.headers['content-encoding']);
  if ('unknown' in decoding) {
    response.resume();
    throw new RelayRefusal(502, 'egress-bad-answer',
      `${url.origin} answered ${method} ${url.pathname} in the ${decoding.unknown} coding, which the relay cannot decode to scrub it; ask for gzip, deflate, br or identity (Accept-Encoding)`);
  }
  const unchanged = noBody || (decoding.decoders.length === 0 && session.jsonSecrets.length === 0);
  const scrub = textScrubber(session.jsonSecrets);
  let statusText = scrub(response.statusMessage ?? '');
  if (/[^\t\x20-\x7e\x80-\xff]/.test(statusText)) statusText = '';
  // The origin's Date, not the relay's.
  res.sendDate = false;
  res.writeHead(status, statusText, answerHeaders(response, scrub, unchanged));
  if (noBody) {
    response.resume();
    res.end();
    return;
  }
  let bytes = 0;
  // One stage counts and scrubs (each stage of a pipeline costs every request CPU).
  const scrubber = createScrubber(session.jsonSecrets);
  const stage = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      if (!call.received(chunk.length)) {
        done(new Error(`The answers of this run's fetches came to more than ${egress.limits.responseBytes / MiB} MiB, the limit per run; `
          + `${method} ${url.origin}${url.pathname} was cut off after ${bytes - chunk.length} bytes: ask for less at a time`));
        return;
      }
      done(null, scrubber.push(chunk));
    },
    flush(done) {
      done(null, scrubber.end());
    },
  });
  try {
    await pipeline([response, ...decoding.decoders, stage, res] as unknown as [Readable, ...Transform[], ServerResponse]);
  } catch (error) {
    // Ours (a cap, a timeout) say what happened; an origin's broken answer gets its code.
    if (cut.error) throw cut.error;
    const own = error instanceof Error && !(error as { code?: unknown }).code;
    const why = own ? error.message : `the answer of ${url.origin} to ${method} ${url.pathname} broke off after ${bytes} bytes: ${(error as { code?: string }).code ?? String(error)}`;
    throw new RelayRefusal(502, 'egress-answer-broken', why);
  }
}
