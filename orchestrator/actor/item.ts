/**
 * The Actor's one dataset item: a `RunResult` (its files listed as records) plus where whole
 * streams were saved. It always fits
 * the platform's item limit (9 MiB of JSON): each stream is capped at `ITEM_STREAM_BYTES`, and in
 * the rare case escaping still makes it too large, the streams are cut again, head and tail kept.
 */
import { capText } from '../run/output.js';
import type { RunResult } from '../../types/result.js';
import type { ItemFile } from './files.js';

/** Bytes kept per stream in the item (head and tail): two of them leave room under 9 MiB. */
export const ITEM_STREAM_BYTES = 4 * 1024 * 1024;
/** The SDK refuses dataset items whose JSON is over 9 MiB (`MAX_PAYLOAD_SIZE_BYTES`); keep clear of it. */
export const ITEM_LIMIT_BYTES = 9 * 1024 * 1024 - 64 * 1024;

/** Where a stream's whole text is: a record of the run's default key-value store. */
export interface StreamRecord {
  key: string;
  storeId: string;
  /** The record's API URL, on the platform. */
  url?: string;
  /** Bytes saved in the record. */
  bytes: number;
  /** False when the stream was longer than the Actor keeps; the record then has its beginning. */
  complete: boolean;
}

/** The run's result, every field of it (its files as records, not bytes), plus where whole streams were saved. */
export interface ActorItem extends Omit<RunResult, 'files'> {
  /** The files the script wrote, each a record of the run's default key-value store. */
  files: ItemFile[];
  /** Set when `stdoutTruncated`, else null. */
  stdoutRecord: StreamRecord | null;
  stderrRecord: StreamRecord | null;
}

export function toItem(result: RunResult, records: { stdout: StreamRecord | null; stderr: StreamRecord | null }, files: ItemFile[] = []): ActorItem {
  return { ...result, files, stdoutRecord: records.stdout, stderrRecord: records.stderr };
}

/** Bytes of the item as the SDK will send it. */
export function itemBytes(item: ActorItem): number {
  return Buffer.byteLength(JSON.stringify(item));
}

/**
 * Returns the item as is when it fits, else with its streams cut (largest first) until it does;
 * a stream cut here is marked truncated, so the caller must save it whole.
 */
export function fitItem(item: ActorItem, limit = ITEM_LIMIT_BYTES): ActorItem {
  let fitted = item;
  while (itemBytes(fitted) > limit) {
    const name = Buffer.byteLength(fitted.stdout) >= Buffer.byteLength(fitted.stderr) ? 'stdout' : 'stderr';
    const size = Buffer.byteLength(fitted[name]);
    if (size <= 1024) throw new Error(`The result item does not fit the ${limit} byte limit even without its output`);
    fitted = { ...fitted, [name]: capText(fitted[name], Math.floor(size / 2), fitted[`${name}Bytes`]).text, [`${name}Truncated`]: true };
  }
  return fitted;
}
