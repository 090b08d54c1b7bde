/**
 * The relay's allowlist: exactly the Apify API calls the guest's `apify` binding makes, as method,
 * path pattern and the query parameters each may carry. Anything else is refused before it reaches
 * the API. Ids must be single plain path segments, so no request can walk to another endpoint.
 */

/**
 * `start` counts against the budget and records the run; `run` refreshes a recorded run's status;
 * `abort` is a `run` allowed only for runs this script started (never the run hosting it, nor the user's others);
 * `record` is a download the API may redirect to its storage.
 */
export type RouteKind = 'start' | 'run' | 'abort' | 'record' | 'plain';

export interface Route {
  method: 'GET' | 'POST' | 'PUT';
  /** `/v2/...` with `:name` for one path segment. */
  pattern: string;
  /** Query parameters it may carry, each at most once. */
  query: readonly string[];
  /** Whether the request's body is forwarded (with its content type). */
  body: boolean;
  kind: RouteKind;
}

function route(method: Route['method'], pattern: string, query: readonly string[] = [], extra: Partial<Route> = {}): Route {
  return { method, pattern, query, body: false, kind: 'plain', ...extra };
}

export const ROUTES: readonly Route[] = [
  route('GET', '/v2/store', ['search', 'limit', 'offset', 'category']),
  route('GET', '/v2/acts/:actorId'),
  route('POST', '/v2/acts/:actorId/runs', ['timeout', 'memory', 'maxItems', 'maxTotalChargeUsd'], { body: true, kind: 'start' }),
  route('GET', '/v2/actor-runs/:runId', ['waitForFinish'], { kind: 'run' }),
  route('POST', '/v2/actor-runs/:runId/abort', [], { kind: 'abort' }),
  route('GET', '/v2/logs/:runId'),
  route('POST', '/v2/datasets', ['name']),
  route('GET', '/v2/datasets/:datasetId'),
  route('GET', '/v2/datasets/:datasetId/items', ['fields', 'omit', 'limit', 'offset', 'clean', 'desc']),
  route('POST', '/v2/datasets/:datasetId/items', [], { body: true }),
  route('POST', '/v2/key-value-stores', ['name']),
  route('GET', '/v2/key-value-stores/:storeId/keys', ['limit', 'exclusiveStartKey']),
  route('GET', '/v2/key-value-stores/:storeId/records/:key', [], { kind: 'record' }),
  route('PUT', '/v2/key-value-stores/:storeId/records/:key', [], { body: true }),
];

/**
 * One id segment: what `encodeURIComponent` leaves of an Apify id, `username~name` or record key.
 * No `%`, so an encoded `/` or `..` can never reach the API's router.
 */
const SEGMENT = /^[A-Za-z0-9!'()*._~-]{1,256}$/;

export interface Match {
  route: Route;
  /** The `:name` segments, in order, as sent (ids need no decoding: they contain no `%`). */
  params: Record<string, string>;
}

/** The route a request's method and path (without query) is, or undefined when it is none. */
export function matchRoute(method: string, pathname: string): Match | undefined {
  const parts = pathname.split('/');
  for (const candidate of ROUTES) {
    if (candidate.method !== method) continue;
    const pattern = candidate.pattern.split('/');
    if (pattern.length !== parts.length) continue;
    const params: Record<string, string> = {};
    let ok = true;
    for (let i = 0; i < pattern.length && ok; i += 1) {
      const want = pattern[i] as string;
      const got = parts[i] as string;
      if (want.startsWith(':')) {
        ok = SEGMENT.test(got) && got !== '.' && got !== '..';
        params[want.slice(1)] = got;
      } else {
        ok = want === got;
      }
    }
    if (ok) return { route: candidate, params };
  }
  return undefined;
}
