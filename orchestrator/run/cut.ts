/**
 * The head-and-tail cut of an output stream and its marker, the one definition used by `runCode`'s
 * result (`output.ts`) and by the server's answers (`../server/view.ts`). Text longer than the budget
 * keeps its first half and its last half; each cut moves to a line boundary when a newline is near
 * (within a quarter of that half, at most 4 KiB), else to a character boundary. Between them goes
 * one line, `[… N bytes cut; lineOffset L, byteOffset B …]`: the bytes left out and where they start
 * (the line they start on, from 1, and the byte, from 0), to page from. No blank line is added: the
 * marker starts a line of its own only where the head did not end one.
 */
import type { HeldBytes } from './held-bytes.js';
import { jsonFitHead, jsonFitTail } from './json-size.js';

const NEWLINE = 0x0a;
/** How far a cut may move to reach a line boundary. */
const NEAR_MAX_BYTES = 4096;

export interface Cut {
  text: string;
  /** Bytes were left out (by this cut, or because the buffer did not keep them). */
  truncated: boolean;
}

export interface CutOptions {
  /** What the budget counts: raw bytes (default), or bytes once written as a JSON string. */
  measure?: 'bytes' | 'json';
  /** Where the text ends (default: all written); a stream still being printed ends before a partial character. */
  end?: number;
  /**
   * Bytes of the stream the text stands for, when the text was itself cut before (an Actor item cut
   * again): its head and tail are the stream's own, so the marker counts what the stream is missing.
   */
  streamBytes?: number;
}

/** The one line that stands for the bytes left out. */
export function cutMarker(cutBytes: number, lineOffset: number, byteOffset: number): string {
  return `[… ${cutBytes} bytes cut; lineOffset ${lineOffset}, byteOffset ${byteOffset} …]`;
}

/** A pattern that finds the marker in text (its numbers as groups: bytes, lineOffset, byteOffset). */
export const CUT_MARKER = /\[… (\d+) bytes cut; lineOffset (\d+), byteOffset (\d+) …\]/;

/** The text of `held` up to `end`, whole if it fits `budget`, else its head and tail around the marker. */
export function headAndTail(held: HeldBytes, budget: number, options: CutOptions = {}): Cut {
  const measure = options.measure ?? 'bytes';
  const end = options.end ?? held.totalBytes;
  if (held.complete && end <= budget) {
    const all = held.slice(0, end);
    if (measure === 'bytes' || jsonFitHead(all, budget) === all.length) return { text: all.toString('utf8'), truncated: false };
  }
  const headBudget = Math.floor(budget / 2);
  const tailBudget = budget - headBudget;
  let headEnd = fitForward(held, Math.min(held.headEnd, end), headBudget, measure);
  let tailStart = fitBackward(held, held.complete ? headEnd : held.tailStart, end, tailBudget, measure);
  const headNear = Math.min(NEAR_MAX_BYTES, Math.floor(headBudget / 4));
  if (headEnd > 0 && held.byteAt(headEnd - 1) !== NEWLINE) {
    const newline = held.lastIndexOfNewline(headEnd, headEnd - headNear);
    if (newline >= 0) headEnd = newline + 1;
  }
  const tailNear = Math.min(NEAR_MAX_BYTES, Math.floor(tailBudget / 4));
  if (tailStart < end && held.byteAt(tailStart - 1) !== NEWLINE) {
    // A newline that is the text's last byte would leave no tail: the cut stays inside the line then.
    const newline = held.indexOfNewline(tailStart, Math.min(end - 1, tailStart + tailNear));
    if (newline >= 0) tailStart = newline + 1;
  }
  const head = held.slice(0, headEnd).toString('utf8');
  const tail = held.slice(tailStart, end).toString('utf8');
  const missing = tailStart - headEnd + Math.max(0, (options.streamBytes ?? end) - end);
  const marker = cutMarker(missing, held.countNewlines(0, headEnd) + 1, headEnd);
  const before = head === '' || head.endsWith('\n') ? '' : '\n';
  return { text: `${head}${before}${marker}${tail === '' ? '' : `\n${tail}`}`, truncated: true };
}

/** The furthest character boundary in [0, limit] whose prefix fits `budget`. */
function fitForward(held: HeldBytes, limit: number, budget: number, measure: 'bytes' | 'json'): number {
  if (measure === 'json') return jsonFitHead(held.slice(0, Math.min(limit, budget)), budget);
  return budget >= limit ? limit : held.wholeCharsEnd(budget);
}

/** The nearest character start in [floor, end] from which the rest fits `budget`. */
function fitBackward(held: HeldBytes, floor: number, end: number, budget: number, measure: 'bytes' | 'json'): number {
  const from = Math.max(floor, end - budget);
  if (measure === 'json') return from + jsonFitTail(held.slice(from, end), budget);
  return Math.min(end, held.charStart(from));
}
