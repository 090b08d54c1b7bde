/**
 * The one place that cuts the guest's records (secret-tagged lines meant for the orchestrator only:
 * a failure report on stderr, the `done` record on both streams) out of a stream, before anything
 * sees it (the captured buffer, a live listener): bytes that could begin a record are held back
 * until they can be told apart, a whole record is taken out through its newline, and whatever is
 * held is let out at the end. Each record's text (up to `REPORT_MAX_BYTES`) and its whole length
 * go to `onRecord`.
 */
import { VALUE_MAX_BYTES } from './value.js';

/**
 * A record longer than this is cut (and no longer parses): what one run can make the orchestrator
 * hold. Room for the largest value record (`value.ts`) and its head.
 */
export const REPORT_MAX_BYTES = VALUE_MAX_BYTES + 1024;

/**
 * The exit code in the guest's `done` record (guest/exit.ts: written on both streams right before it
 * exits with that code), or undefined for any other record.
 */
export function doneExitCode(text: string): number | undefined {
  const match = /^\{"kind":"done","exitCode":(\d{1,3})\}$/.exec(text);
  const code = match ? Number(match[1]) : undefined;
  // A process's exit status is 0–255: anything else is no exit code the process can end with.
  return code !== undefined && code <= 255 ? code : undefined;
}

export class RecordFilter {
  readonly #prefix: Buffer;
  #held = Buffer.alloc(0);
  /** Inside a report: taking bytes out until its newline. */
  #dropping = false;
  #current: Buffer[] = [];
  #currentBytes = 0;
  /** Bytes of the current record, those past the cap included. */
  #recordBytes = 0;
  readonly #onRecord: (text: string, bytes: number) => void;

  constructor(prefix: Buffer, onRecord: (text: string, bytes: number) => void) {
    this.#prefix = prefix;
    this.#onRecord = onRecord;
  }

  /** The part of `chunk` (with what was held before) that is safe to pass on now. */
  push(chunk: Buffer): Buffer {
    let data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const out: Buffer[] = [];
    while (data.length > 0) {
      if (this.#dropping) {
        const newline = data.indexOf(0x0a);
        this.#keep(newline < 0 ? data : data.subarray(0, newline));
        if (newline < 0) return Buffer.concat(out);
        this.#closeReport();
        data = data.subarray(newline + 1);
        continue;
      }
      const at = data.indexOf(this.#prefix);
      if (at >= 0) {
        out.push(data.subarray(0, at));
        this.#dropping = true;
        data = data.subarray(at + this.#prefix.length);
        continue;
      }
      const keep = this.#partialPrefixAtEnd(data);
      out.push(data.subarray(0, data.length - keep));
      this.#held = Buffer.from(data.subarray(data.length - keep));
      break;
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** What is still held back once the stream has ended (a prefix that never completed). */
  end(): Buffer {
    // A report cut short by the process's end still counts, as far as it got.
    if (this.#dropping) this.#closeReport();
    const rest = this.#held;
    this.#held = Buffer.alloc(0);
    return rest;
  }

  #keep(part: Buffer): void {
    this.#recordBytes += part.length;
    const room = REPORT_MAX_BYTES - this.#currentBytes;
    if (room <= 0 || part.length === 0) return;
    const kept = Buffer.from(part.subarray(0, room));
    this.#current.push(kept);
    this.#currentBytes += kept.length;
  }

  #closeReport(): void {
    const text = Buffer.concat(this.#current).toString('utf8');
    const bytes = this.#recordBytes;
    this.#current = [];
    this.#currentBytes = 0;
    this.#recordBytes = 0;
    this.#dropping = false;
    this.#onRecord(text, bytes);
  }

  /** Length of the longest tail of `data` that is a beginning of the prefix. */
  #partialPrefixAtEnd(data: Buffer): number {
    for (let length = Math.min(this.#prefix.length - 1, data.length); length > 0; length -= 1) {
      if (data.subarray(data.length - length).equals(this.#prefix.subarray(0, length))) return length;
    }
    return 0;
  }
}
