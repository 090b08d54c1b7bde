/**
 * The script's `export default`, as the guest reports it: one secret-tagged record on stdout (cut
 * out by `record-filter.ts`), `{"kind":"value","value":<JSON>}` or, when the guest found it is not
 * JSON, `{"kind":"value","error":"…"}`. Here it is read back into the result's `value` or a failure
 * message. The size limit is enforced from the record's length as the orchestrator counted it, so a
 * script that bypasses the guest's checks still gets no more than `VALUE_MAX_BYTES` kept.
 */
import type { JsonValue } from '../../types/result.js';

/** The most JSON a value may be. */
export const VALUE_MAX_BYTES = 1024 * 1024;

const HEAD = '{"kind":"value",';
const VALUE_HEAD = '{"kind":"value","value":';

/** The value record as the record filter took it: its text (cut at the filter's cap) and its whole length. */
export interface ValueRecord {
  text: string;
  bytes: number;
}

export type ValueOutcome = { ok: true; value: JsonValue } | { ok: false; message: string };

export function isValueRecord(text: string): boolean {
  return text.startsWith(HEAD);
}

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** What the record says; undefined when there was none (no default export). */
export function readValue(record: ValueRecord | undefined): ValueOutcome | undefined {
  if (!record) return undefined;
  const jsonBytes = record.bytes - VALUE_HEAD.length - 1;
  if (record.text.startsWith(VALUE_HEAD) && jsonBytes > VALUE_MAX_BYTES) {
    return { ok: false, message: `The default export is ${mib(jsonBytes)} as JSON, over the limit of ${VALUE_MAX_BYTES / 1024 / 1024} MiB; export less, or write it with files.write` };
  }
  let parsed: { value?: JsonValue; error?: unknown };
  try {
    parsed = JSON.parse(record.text) as typeof parsed;
  } catch {
    return { ok: false, message: 'The default export could not be read back: its record was damaged (something else wrote to stdout at the same moment)' };
  }
  if (typeof parsed.error === 'string') return { ok: false, message: parsed.error };
  return Object.hasOwn(parsed, 'value') ? { ok: true, value: parsed.value as JsonValue } : { ok: false, message: 'The default export could not be read back' };
}
