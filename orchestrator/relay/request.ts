/**
 * One request of the Apify API family (`/v2/…`) from the sandbox through the relay: match it
 * against the allowlist, check its query and body, charge a start to the budget before forwarding
 * it, forward it with the token, and pass the answer back scrubbed. Starts are answered and
 * recorded even if the sandbox has gone. Also the state of a run's session, which every family reads.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Budget, Reservation } from './budget.js';
import type { ByteBudget } from './byte-budget.js';
import { numberParam, readBody, rebuildQuery, RelayRefusal, type HeldBody } from './checks.js';
import { callUpstream, describeUpstreamError, neverSent } from './forward.js';
import { describeLostStart } from './lost-start.js';
import { MIN_CHARGE_USD, RELAY_LIMITS, timeoutSignal } from './limits.js';
import { parseJson, readScrubbed, sendBuffer, sendStream } from './respond.js';
import { matchRoute, type Match } from './routes.js';
import type { RunRegistry } from './runs.js';
import type { ToolCalls } from './tool-calls.js';
import type { EgressCalls } from './egress-calls.js';
import type { FileStore } from './file-store.js';

/** The state of one run's session that a request reads and updates. */
export interface SessionState {
  origin: string;
  token?: string;
  /** Every secret scrubbed from every answer of every family: the token, the tools' and egress's secrets. */
  secrets: readonly string[];
  /** The same, plus each one as it appears inside a JSON string, for answers sent as JSON. */
  jsonSecrets: readonly string[];
  budget: Budget;
  runs: RunRegistry;
  /** Starts forwarded and not yet answered; closing waits for them so every run gets recorded. */
  pendingStarts: Set<Promise<void>>;
  /** Aborted when the session closes: the calls nobody will read any more. */
  closed: AbortController;
  /** Request bodies this run's calls hold now. */
  held: ByteBudget;
  /** The run's connections to the relay, destroyed when it ends. */
  sockets: Set<Socket>;
  /** Requests of this run being handled now. */
  inFlight: number;
  /** The run's tools, when it has any. */
  tools?: ToolCalls;
  /** Tool calls and egress requests not yet settled; closing waits for them (cancelled) so every one is recorded. */
  pendingCalls: Set<Promise<void>>;
  /** The run's egress: the origins its fetch may reach, its byte counts and records. */
  egress: EgressCalls;
  /** Tool answers sent and not yet read by the sandbox. */
  answers: ByteBudget;
  /** The run's input files and the files its script wrote. */
  files: FileStore;
}

interface Outgoing {
  method: string;
  pathname: string;
  query: URLSearchParams;
  body?: Buffer;
  contentType?: string;
  /** A record download, which the API may redirect to its storage. */
  storageRedirect?: boolean;
}

export async function handleRequest(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const method = req.method ?? '';
  const match = matchRoute(method, pathname);
  if (!match) {
    throw new RelayRefusal(403, 'relay-endpoint-not-allowed',
      `The relay forwards only the Apify API calls the apify binding makes; ${method} ${pathname} is not one of them`);
  }
  const out: Outgoing = { method, pathname, query: rebuildQuery(match, search), storageRedirect: match.route.kind === 'record' };
  let held: HeldBody | undefined;
  if (match.route.body) {
    held = await readBody(req, session.held);
    out.body = held.body;
    out.contentType = req.headers['content-type'];
  }
  try {
    await forward(session, match, out, res);
  } finally {
    held?.release();
  }
}

async function forward(session: SessionState, match: Match, out: Outgoing, res: ServerResponse): Promise<void> {
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
  const waitSecs = clampWait(out.query);
  const signal = AbortSignal.any([session.closed.signal, hangUp.signal, timeoutSignal(RELAY_LIMITS.upstreamTimeoutMs + waitSecs * 1000)]);
  const response = await upstream(session, out, signal);
  if ((match.route.kind === 'run' || match.route.kind === 'abort') && response.ok) {
    const buffer = await readScrubbed(session.secrets, response);
    session.runs.update(parseJson(buffer));
    sendBuffer(session.secrets, res, response, buffer);
    return;
  }
  await sendStream(session.secrets, res, response);
}

async function forwardStart(session: SessionState, match: Match, out: Outgoing, reservation: Reservation, res: ServerResponse): Promise<void> {
  let response: Response;
  const sentAt = Date.now();
  try {
    // Not tied to the sandbox's connection: a start already sent must be answered and recorded.
    response = await upstream(session, out, timeoutSignal(RELAY_LIMITS.upstreamTimeoutMs));
  } catch (error) {
    // A start that never left, or that the relay refused, created nothing: its place is given back.
    if (!(error instanceof RelayRefusal) || error.type !== 'relay-upstream-error') {
      reservation.release();
      throw error;
    }
    // Unanswered, the run may exist all the same: the place is kept, and the script is told so.
    throw new RelayRefusal(502, 'relay-start-outcome-unknown',
      `The start of Actor ${actorName(match)} was sent to the Apify API but no answer came back (${error.message}); the Actor may`
      + ' have started. It was not sent again, so it cannot start twice: look for the run before starting the Actor again.'
      + await describeLostStart(session, match.params.actorId ?? '', sentAt));
  }
  let buffer: Buffer;
  try {
    buffer = await readScrubbed(session.secrets, response);
  } catch (error) {
    throw new RelayRefusal(502, 'relay-start-outcome-unknown',
      `The Apify API's answer to the start of Actor ${actorName(match)} broke off (${describeUpstreamError(session.origin, error)});`
      + ' the Actor may have started. It was not sent again, so it cannot start twice: look for the run before starting the Actor again.'
      + await describeLostStart(session, match.params.actorId ?? '', sentAt));
  }
  if (response.ok) {
    session.runs.recordStart(actorName(match), parseJson(buffer));
  } else if (response.status < 500) {
    // A 4xx refusal (including 429) started nothing; after a 5xx the run may exist, so its place is kept.
    reservation.release();
  }
  sendBuffer(session.secrets, res, response, buffer);
}

function actorName(match: Match): string {
  return (match.params.actorId ?? '').replace('~', '/');
}

/** A `waitForFinish` clamped to what the API answers at most, written back into the query; 0 when none. */
function clampWait(query: URLSearchParams): number {
  const asked = numberParam(query, 'waitForFinish');
  if (asked === undefined) return 0;
  const secs = Math.min(Math.ceil(asked), RELAY_LIMITS.waitForFinishSecs);
  query.set('waitForFinish', String(secs));
  return secs;
}

/**
 * Reserves the start in the budget and writes the budget's timeout and cap into its query. Every
 * number is forwarded as the relay read it, whole where the API wants whole numbers (rounded up),
 * and none may be 0, which the API reads as "no limit".
 */
function reserve(budget: Budget, query: URLSearchParams): Reservation {
  for (const name of ['timeout', 'memory', 'maxItems']) {
    const value = numberParam(query, name, 1);
    if (value !== undefined) query.set(name, String(Math.ceil(value)));
  }
  const timeoutSecs = numberParam(query, 'timeout', 1);
  const result = budget.reserve({ timeoutSecs, maxTotalChargeUsd: numberParam(query, 'maxTotalChargeUsd', MIN_CHARGE_USD) });
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
      storageRedirect: out.storageRedirect,
    });
  } catch (error) {
    if (error instanceof RelayRefusal) throw error;
    // Only a call that provably never left may be repeated; the guest reads this type to decide.
    const type = neverSent(error) ? 'relay-upstream-unreachable' : 'relay-upstream-error';
    throw new RelayRefusal(502, type, describeUpstreamError(session.origin, error));
  }
  if (response.status === 401 && !session.token) {
    await response.body?.cancel();
    throw new RelayRefusal(401, 'token-not-provided',
      'The Apify API needs a token for this call and the run has none: pass `token` to runCode or set APIFY_TOKEN for the orchestrator');
  }
  return response;
}
