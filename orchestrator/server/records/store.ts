/**
 * The record store the server is given when executions must outlive the process that made them
 * (the Standby Actor injects the run's default key-value store; see `../../actor/standby-records.ts`).
 * The server knows nothing of where records live beyond this interface: it never imports a
 * platform SDK. Records are opaque bytes (encrypted by `codec.ts`); keys are `ids.ts`'s.
 */

export interface RecordStore {
  /**
   * Where this process's records go (the run's default key-value store id): letters and digits,
   * 1–64 of them. It is written into every execution id, so that any process can find the records.
   */
  readonly home: string;
  /** Who runs the executions made here (the Actor run's id), told to a caller asking elsewhere. */
  readonly holder: string;
  /** Writes `value` under `key` in `home`, replacing what was there. */
  put(key: string, value: Uint8Array): Promise<void>;
  /** The record `key` of the store `home`; undefined when there is none. Throws when the store cannot be reached. */
  get(home: string, key: string): Promise<Uint8Array | undefined>;
  /** Whether `holder` still runs: false once it has stopped, undefined when that cannot be told. */
  isRunning?(holder: string): Promise<boolean | undefined>;
  /** Where failed writes are reported (default: stderr). */
  log?(line: string): void;
}

/** The store holding an execution's records could not be read: only answers from other processes are lost. */
export class RecordsUnavailableError extends Error {
  override name = 'RecordsUnavailableError';
}
