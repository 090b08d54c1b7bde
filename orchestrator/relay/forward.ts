/**
 * The relay's one outgoing call: a request to the Apify API with the token added as a Bearer
 * header, and nothing from the sandbox but the method, an allowlisted path and query, the body and
 * its content type. Redirects are followed by hand and only where the allowlist would go itself:
 * a GET to an allowlisted path of the API's own origin (with the token), or a record download
 * to public storage (without it). Any other redirect is refused, never followed.
 */
import { downloadPublic, refuseDownload } from './download.js';
import { RelayRefusal } from './checks.js';
import { matchRoute } from './routes.js';
import { USER_AGENT } from './user-agent.js';

export interface UpstreamRequest {
  /** The API's origin, e.g. `https://api.apify.com`. */
  origin: string;
  token?: string;
  method: string;
  /** `/v2/...`, already validated. */
  path: string;
  /** Already validated and rebuilt; empty for none. */
  query: string;
  body?: Buffer;
  contentType?: string;
  signal: AbortSignal;
  /** The API may send this call's answer from its storage (a record download): such a redirect is followed. */
  storageRedirect?: boolean;
}

const MAX_REDIRECTS = 3;

export async function callUpstream(request: UpstreamRequest): Promise<Response> {
  let url = new URL(`${request.origin}${request.path}${request.query ? `?${request.query}` : ''}`);
  for (let hop = 0; ; hop += 1) {
    const first = hop === 0;
    if (!first && url.origin !== request.origin) return await downloadPublic(url, request.signal);
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    // Only the API's own origin ever gets here (checked below), so the token goes nowhere else.
    if (request.token) headers.authorization = `Bearer ${request.token}`;
    if (first && request.contentType) headers['content-type'] = request.contentType;
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: first && request.body ? request.body : undefined,
      redirect: 'manual',
      signal: request.signal,
    });
    if (response.status < 300 || response.status >= 400 || response.status === 304) return response;
    await response.body?.cancel();
    url = redirectTarget(request, url, response.headers.get('location'), hop);
  }
}

/** Where a redirect may be followed to; a RelayRefusal naming it when it may not. */
function redirectTarget(request: UpstreamRequest, from: URL, location: string | null, hop: number): URL {
  const refuse = (why: string) => new RelayRefusal(502, 'relay-redirect-refused',
    `The Apify API answered ${request.method} ${request.path} with a redirect${location ? ` to ${location.slice(0, 200)}` : ''}, which the relay does not follow: ${why}`);
  if (!location) throw refuse('it names no location');
  // Replaying a write elsewhere is never what the script asked for.
  if (request.method !== 'GET') throw refuse('only reads are followed');
  if (hop >= MAX_REDIRECTS) throw refuse(`more than ${MAX_REDIRECTS} redirects`);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw refuse('it is not a URL');
  }
  if (to.origin === request.origin) {
    if (!matchRoute('GET', to.pathname)) throw refuse(`${to.pathname} is not an API path the relay forwards`);
    return to;
  }
  if (!request.storageRedirect) throw refuse('it leaves the API\'s origin');
  const why = refuseDownload(to);
  if (why) throw refuse(why);
  return to;
}

/** Connection errors that prove the request never reached the API: it may be sent again safely. */
const NEVER_SENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN']);

export function neverSent(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  return typeof code === 'string' && NEVER_SENT.has(code);
}

/** One line on why the API could not be reached; never includes the request's headers. */
export function describeUpstreamError(origin: string, error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const reason = typeof cause?.code === 'string' ? cause.code
    : typeof cause?.message === 'string' ? cause.message
      : error instanceof Error ? error.message : String(error);
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `The Apify API at ${origin} did not answer in time`;
  }
  return `Could not reach the Apify API at ${origin}: ${reason}`;
}
