/**
 * After a start whose answer was lost, one look at the Actor's newest runs: a run that began since
 * the start was sent is probably the one it created, and the script is told its id so it can wait
 * for it instead of starting another. Only told, never recorded: on a shared account the run could
 * be someone else's, and the relay must never abort a run this script did not provably start.
 */
import { callUpstream } from './forward.js';
import { timeoutSignal } from './limits.js';
import { parseJson, readScrubbed } from './respond.js';
import type { SessionState } from './request.js';

/** Runs are listed by the API's clock; allow this much skew against ours. */
const CLOCK_SKEW_MS = 5_000;
const LOOKUP_TIMEOUT_MS = 10_000;
const NEWEST = 10;

interface ListedRun {
  id?: unknown;
  status?: unknown;
  startedAt?: unknown;
}

/** A sentence on the runs of `actorId` that started since `sentAtMs`, or '' when the API could not say. */
export async function describeLostStart(session: SessionState, actorId: string, sentAtMs: number): Promise<string> {
  try {
    const response = await callUpstream({
      origin: session.origin,
      token: session.token,
      method: 'GET',
      path: `/v2/acts/${actorId}/runs`,
      query: `desc=true&limit=${NEWEST}`,
      signal: timeoutSignal(LOOKUP_TIMEOUT_MS),
    });
    if (!response.ok) {
      await response.body?.cancel();
      return '';
    }
    const body = parseJson(await readScrubbed(session.secrets, response)) as { data?: { items?: unknown } } | undefined;
    const items = Array.isArray(body?.data?.items) ? body.data.items as ListedRun[] : [];
    const since = items.filter((run) => typeof run.id === 'string' && !session.runs.has(run.id)
      && typeof run.startedAt === 'string' && Date.parse(run.startedAt) >= sentAtMs - CLOCK_SKEW_MS);
    if (since.length === 0) return ' No new run of it is listed yet.';
    const named = since.map((run) => `${String(run.id)} (${String(run.status)})`).join(', ');
    return ` Runs of it started since: ${named}; wait for it with apify.run.wait({ runId }) rather than starting another.`;
  } catch {
    return '';
  }
}
