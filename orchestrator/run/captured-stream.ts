/**
 * One output stream of a run's sandbox process, as the run takes it (child.ts makes one for stdout
 * and one for stderr): the guest's records cut out and read (record-filter.ts: its failure report,
 * its default export's value, its `done` record), the rest kept in a capped buffer (output.ts) and shown to the caller's live
 * listener, with V8's out-of-memory report held back from that listener (v8-trace.ts).
 * Invariant: once settled it takes nothing more, so a late chunk (a Worker racing the kill that
 * follows the guest's done record) reaches neither the result nor a listener that saw the run end.
 */
import { OutputBuffer } from './output.js';
import { doneExitCode, RecordFilter } from './record-filter.js';
import { V8TraceHold } from './v8-trace.js';
import { isValueRecord, type ValueRecord } from './value.js';
import type { OutputListener } from '../../types/options.js';

export interface CaptureOptions {
  maxOutputBytes: number;
  /** The live listener (see `liveListener`). */
  show: OutputListener;
  /** How the guest's records begin; none: nothing is cut out. */
  reportPrefix?: Buffer;
  /** Hold V8's out-of-memory report back from `show` (stderr, when someone listens). */
  holdV8Trace: boolean;
  /** The guest's `done` record came on this stream (`done` holds its exit code). */
  onDone: () => void;
}

export class CapturedStream {
  /** What the script wrote, without the guest's records, capped. */
  readonly buffer: OutputBuffer;
  /** The guest's last failure report on this stream (the line after the prefix), if any. */
  report: string | undefined;
  /** The guest's record of the script's default export (value.ts), with its whole length, if any. */
  value: ValueRecord | undefined;
  /** The exit code the guest's `done` record gave, once it came. */
  done: number | undefined;
  readonly #name: 'stdout' | 'stderr';
  readonly #show: OutputListener;
  readonly #records: RecordFilter | undefined;
  readonly #trace: V8TraceHold | undefined;
  #settled = false;

  constructor(name: 'stdout' | 'stderr', options: CaptureOptions) {
    this.#name = name;
    this.buffer = new OutputBuffer(options.maxOutputBytes);
    this.#show = options.show;
    this.#trace = options.holdV8Trace ? new V8TraceHold() : undefined;
    this.#records = options.reportPrefix && new RecordFilter(options.reportPrefix, (text, bytes) => {
      const code = doneExitCode(text);
      if (code === undefined) {
        if (isValueRecord(text)) this.value = { text, bytes };
        else this.report = text;
        return;
      }
      this.done = code;
      options.onDone();
    });
  }

  /** A chunk as the process wrote it (a 'data' listener). */
  readonly push = (chunk: Buffer): void => {
    this.#keep(this.#records ? this.#records.push(chunk) : chunk);
  };

  /**
   * The run is over: bytes held back as a possible record start that never completed are the
   * script's own, and a held V8 report is shown unless `diedOfHeap` says V8 died of it (result.ts
   * then cuts it from the buffer). Nothing is taken after this.
   */
  settle(diedOfHeap: (held: string) => boolean): void {
    if (this.#records) this.#keep(this.#records.end());
    const held = this.#trace?.end(diedOfHeap);
    if (held && held.length > 0) this.#show(this.#name, held);
    this.#settled = true;
  }

  #keep(chunk: Buffer): void {
    if (chunk.length === 0 || this.#settled) return;
    this.buffer.push(chunk);
    const shown = this.#trace ? this.#trace.push(chunk) : chunk;
    if (shown.length > 0) this.#show(this.#name, shown);
  }
}

/**
 * The caller's live listener, called from a stream's 'data' event where a throw would be uncaught
 * and end the whole process: a listener that throws is dropped for the rest of the run (the result
 * still has every byte) and its error becomes one process warning.
 */
export function liveListener(listener: OutputListener | undefined): OutputListener {
  let active = listener;
  return (stream, chunk) => {
    if (!active) return;
    try {
      active(stream, chunk);
    } catch (error) {
      active = undefined;
      process.emitWarning(`code-runtime: onOutput threw, so the run's live output stopped (the result keeps it all): ${error instanceof Error ? error.message : String(error)}`);
    }
  };
}
