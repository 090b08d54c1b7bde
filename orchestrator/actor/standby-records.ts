/**
 * The record store of a Standby run on the Apify platform: the run's default key-value store,
 * through the API with the run's token (the user's, so any run of the user's Actor can read any
 * other's store). `home` is that store's id and `holder` the run's id. Only on the platform: run
 * locally, a Standby server keeps its executions in memory only, as before. Reads are few and bounded
 * (a caller waits for them), writes retry longer (nothing waits for them).
 */
import type { ApifyClient } from 'apify-client';
import type { ApifySdk } from './sdk.js';
import { HOME } from '../server/records/ids.js';
import type { RecordStore } from '../server/records/store.js';

/** Statuses of a run that still runs (it may still write records). */
const LIVE_STATUSES = new Set(['READY', 'RUNNING', 'TIMING-OUT', 'ABORTING']);

/**
 * The bytes as an ArrayBuffer of their own: the client then neither compresses them (a sealed record
 * does not compress) nor, as it would for a view, sends the whole buffer the view sits in.
 */
function ownBuffer(value: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = value;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  // A copy (Buffer#slice would be a view into the same pool).
  return new Uint8Array(value).buffer;
}

/** The run's default key-value store as a record store, or undefined off the platform (or without the ids it needs). */
export function platformRecordStore({ Actor, log }: Pick<ApifySdk, 'Actor' | 'log'>): RecordStore | undefined {
  if (!Actor.isAtHome()) return undefined;
  const home = Actor.config.get('defaultKeyValueStoreId');
  const holder = Actor.config.get('actorRunId');
  if (!home || !HOME.test(home) || !holder) return undefined;
  const writes: ApifyClient = Actor.newClient({ maxRetries: 4, minDelayBetweenRetriesMillis: 500, timeoutSecs: 60 });
  const reads: ApifyClient = Actor.newClient({ maxRetries: 2, minDelayBetweenRetriesMillis: 250, timeoutSecs: 15 });
  return {
    home,
    holder,
    async put(key, value) {
      // The client's type names JSON values only; its code sends binary values as they are.
      await writes.keyValueStore(home).setRecord({ key, value: ownBuffer(value) as unknown as string, contentType: 'application/octet-stream' });
    },
    async get(store, key) {
      const record = await reads.keyValueStore(store).getRecord(key, { buffer: true });
      return record ? (record.value as Buffer) : undefined;
    },
    log: (line) => log.warning(line),
    async isRunning(runId) {
      const run = await reads.run(runId).get();
      return run ? LIVE_STATUSES.has(run.status) : false;
    },
  };
}
