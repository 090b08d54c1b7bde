/**
 * One request from the sandbox through the relay: match it against the allowlist, check its query
 * and body, charge a start to the budget before forwarding it, forward it with the token, and pass
 * the answer back scrubbed. Starts are answered and recorded even if the sandbox has gone.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Budget, Reservation } from './budget.js';
import { numberParam, readBody, rebuildQuery, RelayRefusal } from './checks.js';
import { callUpstream, describeUpstreamError } from './forward.js';
import { parseJson, readScrubbed, sendBuffer, sendStream } from './respond.js';
import { matchRoute, type Match } from './routes.js';
import type { RunRegistry } from './runs.js';

/** The state of one run's session that a request reads and updates. */
export interface SessionState {
  origin: string;
  token?: string;
  budget: Budget;
  runs: RunRegistry;
  /** Starts forwarded and not yet answered; closing waits for them so every run gets recorded. */
  pendingStarts: Set<Promise<void>>;
  /** Aborted when the session closes: the calls nobody will read any more. */
  closed: AbortController;
}

/** Upstream time limits: any call, plus a margin beyond what a `waitForFinish` asks. */
const UPSTREAM_TIMEOUT_MS = 120_000;
const WAIT_MARGIN_MS = 30_000;

interface Outgoing {
  method: string;
  pathname: string;
  query: URLSearchParams;
  body?: Buffer;
  contentType?: string;
}

export async function handleRequest(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const method = req.method ?? '';
  const match = matchRoute(method, pathname);
  if (!match) {
    throw new RelayRefusal(403, 'relay-endpoint-not-allowed',
      `The relay forwards only the Apify API calls the apify binding makes; ${method} ${pathname} is not one of them`);
  }
  const out: Outgoing = { method, pathname, query: rebuildQuery(match, search) };
  if (match.route.body) {
    out.body = await readBody(req);
    out.contentType = req.headers['content-type'];
  }
  // Checked after the body was read: a session closed meanwhile must not start anything new.
  if (session.closed.signal.aborted) throw new RelayRefusal(403, 'relay-forbidden', 'This relay session has ended');
  if (match.route.kind === 'abort' && !session.runs.has(match.params.runId ?? '')) {
    throw new RelayRefusal(403, 'relay-run-not-started-here',
      `apify.run.abort stops only the Actor runs this script started; run ${match.params.runId} is not one of them`);
  }
  if (match.route.kind === 'start') {
    const started = forwardStart(session, match, out, reserve(session.budget, out.query), res);
    session.pendingStarts.add(started);
    try {
      await started;
    } finally {
      session.pendingStarts.delete(started);
    }
    return;
  }
  // Calls nobody reads any more are cut off: the session ended or the sandbox hung up.
  const hangUp = new AbortController();
  res.on('close', () => hangUp.abort());
  const waitSecs = Number(out.query.get('waitForFinish') ?? 0);
  const signal = AbortSignal.any([session.closed.signal, hangUp.signal,
    AbortSignal.timeout(UPSTREAM_TIMEOUT_MS + (waitSecs > 0 ? waitSecs * 1000 + WAIT_MARGIN_MS : 0))]);
  const response = await upstream(session, out, signal);
  if ((match.route.kind === 'run' || match.route.kind === 'abort') && response.ok) {
    const buffer = await readScrubbed(session.token, response);
    session.runs.update(parseJson(buffer));
    sendBuffer(res, response, buffer);
    return;
  }
  await sendStream(session.token, res, response);
}

async function forwardStart(session: SessionState, match: Match, out: Outgoing, reservation: Reservation, res: ServerResponse): Promise<void> {
  let response: Response;
  try {
    // Not tied to the sandbox's connection: a start already sent must be answered and recorded.
    response = await upstream(session, out, AbortSignal.timeout(UPSTREAM_TIMEOUT_MS));
  } catch (error) {
    // Unanswered, the run may exist all the same, so the reservation is kept; a refusal frees it.
    if (error instanceof RelayRefusal && error.statusCode !== 502) reservation.release();
    throw error;
  }
  const buffer = await readScrubbed(session.token, response);
  if (response.ok) {
    session.runs.recordStart((match.params.actorId ?? '').replace('~', '/'), parseJson(buffer));
  } else {
    reservation.release();
  }
  sendBuffer(res, response, buffer);
}

/** Reserves the start in the budget and writes the budget's timeout and cap into its query. */
function reserve(budget: Budget, query: URLSearchParams): Reservation {
  const result = budget.reserve({ timeoutSecs: numberParam(query, 'timeout'), maxTotalChargeUsd: numberParam(query, 'maxTotalChargeUsd') });
  if (!result.ok) throw new RelayRefusal(403, 'budget-exceeded', result.message);
  const { reservation } = result;
  if (reservation.timeoutSecs !== undefined) query.set('timeout', String(reservation.timeoutSecs));
  if (reservation.maxTotalChargeUsd !== undefined) query.set('maxTotalChargeUsd', String(reservation.maxTotalChargeUsd));
  return reservation;
}

async function upstream(session: SessionState, out: Outgoing, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await callUpstream({
      origin: session.origin,
      token: session.token,
      method: out.method,
      path: out.pathname,
      query: out.query.toString(),
      body: out.body,
      contentType: out.contentType,
      signal,
    });
  } catch (error) {
    throw new RelayRefusal(502, 'relay-upstream-error', describeUpstreamError(session.origin, error));
  }
  if (response.status === 401 && !session.token) {
    await response.body?.cancel();
    throw new RelayRefusal(401, 'token-not-provided',
      'The Apify API needs a token for this call and the run has none: pass `token` to runCode or set APIFY_TOKEN for the orchestrator');
  }
  return response;
}
