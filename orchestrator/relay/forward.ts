/**
 * The relay's one outgoing call: a request to the Apify API with the token added as a Bearer
 * header, and nothing from the sandbox but the method, an allowlisted path and query, the body and
 * its content type. Redirects are followed by hand so the token only ever goes to the API's origin.
 */

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
}

export const USER_AGENT = 'code-runtime-relay';

const MAX_REDIRECTS = 3;

export async function callUpstream(request: UpstreamRequest): Promise<Response> {
  let url = new URL(`${request.origin}${request.path}${request.query ? `?${request.query}` : ''}`);
  for (let hop = 0; ; hop += 1) {
    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    // The token goes to the API's own origin only, never to wherever a redirect points.
    if (request.token && url.origin === request.origin) headers.authorization = `Bearer ${request.token}`;
    const first = hop === 0;
    if (first && request.contentType) headers['content-type'] = request.contentType;
    const response = await fetch(url, {
      method: request.method,
      headers,
      body: first && request.body ? request.body : undefined,
      redirect: 'manual',
      signal: request.signal,
    });
    const location = response.headers.get('location');
    const redirected = response.status >= 300 && response.status < 400 && location;
    // Only reads are followed: replaying a write elsewhere is never what the script asked for.
    if (!redirected || request.method !== 'GET' || hop >= MAX_REDIRECTS) return response;
    await response.body?.cancel();
    url = new URL(location, url);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return response;
  }
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
