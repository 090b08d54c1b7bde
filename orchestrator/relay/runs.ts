/**
 * The Actor runs one script started, as the relay saw them: recorded from each start's response,
 * refreshed by every run object that passes through afterwards. The relay aborts from this list
 * when the script ended badly, so it must know every run even if the script was killed mid-call.
 */
import type { ActorRunRef } from '../../types/result.js';

/** Statuses after which aborting is pointless: finished, or already being stopped. */
const SETTLED = new Set(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'TIMING-OUT', 'ABORTED', 'ABORTING']);

/** The fields of a run object the registry reads; the API's answers are not trusted to have them. */
function runFields(body: unknown): { id: string; status: string; defaultDatasetId?: string; defaultKeyValueStoreId?: string } | undefined {
  const data = (body as { data?: unknown } | null)?.data as Record<string, unknown> | null | undefined;
  if (!data || typeof data.id !== 'string' || typeof data.status !== 'string') return undefined;
  const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
  return {
    id: data.id,
    status: data.status,
    defaultDatasetId: text(data.defaultDatasetId),
    defaultKeyValueStoreId: text(data.defaultKeyValueStoreId),
  };
}

export class RunRegistry {
  readonly #runs = new Map<string, ActorRunRef>();

  /** Records a run from a start's parsed response body; `actorId` as the script named it. */
  recordStart(actorId: string, body: unknown): void {
    const fields = runFields(body);
    if (!fields || this.#runs.has(fields.id)) return;
    const { id, ...rest } = withoutUndefined(fields);
    this.#runs.set(id, { id, actorId, ...rest });
  }

  /** Refreshes a recorded run from any parsed run object; runs the script did not start are ignored. */
  update(body: unknown): void {
    const fields = runFields(body);
    const known = fields && this.#runs.get(fields.id);
    if (!known || !fields) return;
    Object.assign(known, withoutUndefined(fields));
  }

  /** Whether this script started the run. */
  has(id: string): boolean {
    return this.#runs.has(id);
  }

  /** Ids of the recorded runs that may still be going. */
  unsettled(): string[] {
    return [...this.#runs.values()].filter((run) => !SETTLED.has(run.status)).map((run) => run.id);
  }

  /** Copies of every recorded run, in the order they were started. */
  list(): ActorRunRef[] {
    return [...this.#runs.values()].map((run) => ({ ...run }));
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
