/**
 * The relay's egress route family, which the guest's `fetch` calls: `/egress/to/<origin>/<path>?<query>`
 * with the script's own method, headers and body is one request to `<origin><path>?<query>`, judged
 * against the run's rules (`egress-rules.ts`) and sent by `egress-forward.ts`; `GET /egress/why/<id>`
 * says why the request the guest numbered `id` was cut off. Every bound of the relay applies to it
 * as to every family (connections, requests in flight, time), plus the run's egress caps.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayRefusal } from './checks.js';
import { forwardEgress, REQUEST_ID } from './egress-forward.js';
import { judge } from './egress-rules.js';
import type { SessionState } from './request.js';

const TO = '/egress/to/';
const WHY = '/egress/why/';
/** Methods fetch refuses to send; a raw request naming one is refused too. */
const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);

/** The URL a request names: `<origin>` percent-encoded as one segment, then the path and query as sent. */
function targetOf(rest: string, search: string): URL {
  const slash = rest.indexOf('/');
  let origin: string;
  try {
    origin = decodeURIComponent(slash < 0 ? rest : rest.slice(0, slash));
  } catch {
    origin = '';
  }
  let url: URL | undefined;
  try {
    // Joined as text, never resolved: a path cannot change the origin (`//other.host/` stays a path).
    url = new URL(`${origin}${slash < 0 ? '/' : rest.slice(slash)}${search ? `?${search}` : ''}`);
  } catch {
    url = undefined;
  }
  if (!url || url.origin !== origin || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.username || url.password) {
    throw new RelayRefusal(400, 'egress-bad-request', `The egress route takes ${TO}<http(s) origin, encoded>/<path>; ${rest.slice(0, 120)} names none`);
  }
  return url;
}

export async function handleEgressRequest(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const egress = session.egress;
  if (req.method === 'GET' && pathname.startsWith(WHY)) {
    const message = egress.why(pathname.slice(WHY.length));
    if (message === undefined) throw new RelayRefusal(404, 'egress-no-reason', 'The relay kept no reason for that request');
    const body = JSON.stringify({ message });
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
    return;
  }
  if (!pathname.startsWith(TO)) {
    throw new RelayRefusal(404, 'relay-endpoint-not-allowed', `The egress route answers ${TO}<origin>/<path> and GET ${WHY}<id>; ${pathname.slice(0, 100)} is neither`);
  }
  const url = targetOf(pathname.slice(TO.length), search);
  const method = req.method ?? '';
  if (FORBIDDEN_METHODS.has(method.toUpperCase())) throw new RelayRefusal(405, 'egress-bad-request', `fetch does not send ${method} requests`);
  const rawId = req.headers[REQUEST_ID];
  const id = typeof rawId === 'string' && /^\d{1,12}$/.test(rawId) ? rawId : undefined;
  const verdict = judge(egress.rules, url);
  if (!verdict.ok) throw new RelayRefusal(403, 'egress-not-allowed', verdict.message);
  // Checked last: a session closed meanwhile must not send anything new.
  if (session.closed.signal.aborted) throw new RelayRefusal(403, 'relay-forbidden', 'This relay session has ended');
  const call = egress.begin(url.origin, method);
  const done = forwardEgress({ session, egress, call, rule: verdict.rule, url, req, res, id });
  // Closing the session waits for it (briefly), so its record says how it ended.
  const settled = done.then(() => undefined, () => undefined);
  session.pendingCalls.add(settled);
  try {
    await done;
  } finally {
    session.pendingCalls.delete(settled);
  }
}
