/**
 * One output stream of an execution: the run core's capped head-and-tail buffer
 * (`../run/held-bytes.ts`: whole up to a cap, beyond it the first and the last half of the cap,
 * `complete: false`), numbered by lines and paged by lines or by bytes. Offsets are positions in
 * everything the script printed, so they stay valid as the stream grows.
 *
 * Invariants: pages never split a UTF-8 character (not at the cap's cut, nor one still being
 * printed) and stay in one held run; `hasMore` promises that a page from `nextByteOffset` holds
 * text now, so a client paging while it is true always moves on (a character still being printed
 * is not "more" yet: the page says `pendingBytes` instead, and the client asks again later); every page holds at most `PAGE_BYTES` of text as it costs once
 * written as a JSON string (a line page stops at the last whole line that fits, or inside a line too
 * long for a page, and says so); line starts are indexed every `CHECKPOINT_LINES` lines, only up to
 * the cap, so the index stays small however many lines a script prints; a page costs what it
 * returns, whatever the stream's size or how many writes made it.
 */
import { HeldBytes, isContinuation } from '../run/held-bytes.js';
import { jsonFitHead } from '../run/json-size.js';

const CHECKPOINT_LINES = 1024;
/** What one line-index entry costs (a number in an array). */
const CHECKPOINT_BYTES = 8;
const NEWLINE = 0x0a;

export interface PageRequest {
  /** First line, counting from 1. */
  lineOffset?: number;
  lineLimit?: number;
  /** First byte, counting from 0; wins over lines when given. */
  byteOffset?: number;
  byteLimit?: number;
}

export interface Page {
  text: string;
  /** Where the page starts (moved forward past a cut part or to a character start). */
  byteOffset: number;
  /** Byte offset to ask for next. */
  nextByteOffset: number;
  /** The line the page starts on (1-based), when known. */
  lineOffset?: number;
  /** The line to ask for next, when the page ended at a line start. */
  nextLineOffset?: number;
  /** A line page ends inside a line (one longer than a page, one still being printed, or the head's last, cut by the cap): read on from nextByteOffset. */
  partialLine?: true;
  /** Text the stream holds beyond this page right now, readable from nextByteOffset (more may come while it runs). */
  hasMore: boolean;
  /**
   * Bytes printed after this page that cannot be read yet: the start of a character the script is
   * still printing. Set only when there is no more text now; ask again from nextByteOffset later.
   */
  pendingBytes?: number;
  /** Bytes printed so far. */
  totalBytes: number;
  /** False when the stream went over its cap and its middle was not kept. */
  complete: boolean;
  /** Bytes between the asked offset and the page that were not kept (over the cap). */
  skippedBytes: number;
}

/** The most text one page holds, counted as the bytes of its JSON string. */
export const PAGE_BYTES = 64 * 1024;
/** `maxByteLimit` bounds what a caller may ask; a page still holds at most `PAGE_BYTES`. */
export const PAGE_DEFAULTS = { lineLimit: 100, byteLimit: PAGE_BYTES, maxByteLimit: 1024 * 1024 } as const;

/**
 * What an ended stream holds, to be kept elsewhere and restored (`OutputStream.restore`) with the
 * same pages: its held bytes (all of them, or head and tail around the cut middle), how many bytes
 * and lines were printed, and the one line-index fact the held bytes cannot tell.
 */
export interface StreamSnapshot {
  cap: number;
  totalBytes: number;
  /** Newlines printed in all (the cut middle's too). */
  lines: number;
  /** Bytes [0, headEnd): the whole stream while complete. */
  head: Buffer;
  /** Bytes [tailStart, totalBytes): empty while complete. */
  tail: Buffer;
  /** A line-index checkpoint falls exactly where the tail starts (a line starts there). */
  checkpointAtTail: boolean;
}

function newlineOffsets(bytes: Buffer): number[] {
  const offsets: number[] = [];
  for (let at = bytes.indexOf(NEWLINE); at >= 0; at = bytes.indexOf(NEWLINE, at + 1)) offsets.push(at);
  return offsets;
}

export class OutputStream {
  #held: HeldBytes;
  #lines = 0;
  /** Byte offset where line `k * CHECKPOINT_LINES + 1` starts. */
  #checkpoints: number[] = [0];
  #ended = false;

  constructor(cap: number) {
    this.#held = new HeldBytes(cap);
  }

  /** The held bytes, for the head-and-tail cut of an answer (`../run/cut.ts`). */
  get held(): HeldBytes {
    return this.#held;
  }

  get totalBytes(): number {
    return this.#held.totalBytes;
  }

  /** Bytes held in memory: the text and its line index. */
  get heldBytes(): number {
    return this.#held.heldBytes + (this.#checkpoints.length - 1) * CHECKPOINT_BYTES;
  }

  get complete(): boolean {
    return this.#held.complete;
  }

  get ended(): boolean {
    return this.#ended;
  }

  /** Where readable text ends now: all of it once ended, else before a character not all printed yet. */
  get readableEnd(): number {
    const total = this.#held.totalBytes;
    return this.#ended ? total : this.#held.wholeCharsEnd(total);
  }

  end(): void {
    this.#ended = true;
  }

  /** What this stream holds, once ended, for `OutputStream.restore`. */
  snapshot(): StreamSnapshot {
    if (!this.#ended) throw new Error('Only an ended stream can be kept elsewhere');
    const held = this.#held;
    const tailStart = held.tailStart;
    const middleLines = this.#lines - (held.complete ? 0 : held.countNewlines(tailStart, held.totalBytes));
    return {
      cap: held.cap,
      totalBytes: held.totalBytes,
      lines: this.#lines,
      head: held.slice(0, held.headEnd),
      tail: held.complete ? Buffer.alloc(0) : held.slice(tailStart, held.totalBytes),
      checkpointAtTail: !held.complete && middleLines % CHECKPOINT_LINES === 0 && this.#checkpoints[middleLines / CHECKPOINT_LINES] === tailStart,
    };
  }

  /**
   * The ended stream a snapshot was taken of: the same bytes, offsets, line numbers and pages. Line
   * checkpoints inside the cut middle (whose offsets were never held) are set just past the head's
   * end: like the originals, after every head offset, before the tail, and not held. Past the cap
   * there are none, as in the original (a middle checkpoint it may have kept below the cap changes
   * no page: lookups from it and from the head's last one end alike).
   */
  static restore(snapshot: StreamSnapshot): OutputStream {
    const { cap, totalBytes, lines, head, tail } = snapshot;
    const stream = new OutputStream(cap);
    stream.#held = HeldBytes.restore(cap, head, tail, totalBytes);
    stream.#lines = lines;
    stream.#ended = true;
    const checkpoints = [0];
    const headNewlines = newlineOffsets(head);
    for (let n = CHECKPOINT_LINES; n <= headNewlines.length; n += CHECKPOINT_LINES) checkpoints.push(headNewlines[n - 1]! + 1);
    if (totalBytes > cap) {
      const tailStart = totalBytes - tail.length;
      const tailNewlines = newlineOffsets(tail);
      const beforeTail = lines - tailNewlines.length;
      if (beforeTail < headNewlines.length) throw new RangeError(`A stream of ${lines} lines cannot hold ${headNewlines.length + tailNewlines.length} newlines`);
      // As `append` made them: none past the cap. The middle's lie before the tail, so all of them
      // are within the cap when the tail starts within it, and none can be known to be otherwise.
      if (tailStart <= cap) {
        const pastHead = stream.#held.headEnd + 1;
        for (let n = checkpoints.length * CHECKPOINT_LINES; n <= beforeTail; n += CHECKPOINT_LINES) {
          checkpoints.push(n === beforeTail && snapshot.checkpointAtTail ? tailStart : pastHead);
        }
        for (let n = checkpoints.length * CHECKPOINT_LINES; n <= lines; n += CHECKPOINT_LINES) {
          const offset = tailStart + tailNewlines[n - beforeTail - 1]! + 1;
          if (offset > cap) break;
          checkpoints.push(offset);
        }
      }
    } else if (headNewlines.length !== lines) {
      throw new RangeError(`A complete stream of ${lines} lines holds ${headNewlines.length} newlines`);
    }
    stream.#checkpoints = checkpoints;
    return stream;
  }

  append(chunk: Uint8Array): void {
    const total = this.#held.totalBytes;
    for (let at = chunk.indexOf(NEWLINE); at >= 0; at = chunk.indexOf(NEWLINE, at + 1)) {
      this.#lines += 1;
      // Only where a line can be looked up by it: past the cap only the tail is kept, and its lines are counted from the end.
      if (this.#lines % CHECKPOINT_LINES === 0 && total + at + 1 <= this.#held.cap) this.#checkpoints.push(total + at + 1);
    }
    this.#held.push(chunk);
  }

  /** Moves `end` back to a character boundary; never below `start` + one whole character. */
  #charEnd(start: number, end: number): number {
    const held = this.#held;
    if (end >= held.totalBytes) return Math.max(start, this.readableEnd);
    let at = end;
    while (at > start && isContinuation(held.byteAt(at))) at -= 1;
    if (at > start) return at;
    // The limit is smaller than one character: give the whole character, once it is all printed.
    at = end;
    while (at < held.totalBytes && isContinuation(held.byteAt(at))) at += 1;
    return Math.min(at, Math.max(start, this.readableEnd));
  }

  /** Byte offset of line `line` (1-based), or undefined when it starts in the cut middle or later than printed. */
  #lineStart(line: number): number | undefined {
    const held = this.#held;
    if (line === 1) return 0;
    if (line - 1 > this.#lines) return undefined;
    const index = Math.min(Math.floor((line - 1) / CHECKPOINT_LINES), this.#checkpoints.length - 1);
    let offset = this.#checkpoints[index]!;
    let current = index * CHECKPOINT_LINES + 1;
    if (!held.complete) {
      const tail = this.#firstTailLine();
      if (line >= tail.line && offset < tail.offset) {
        offset = tail.offset;
        current = tail.line;
      } else if (!held.held(offset)) return undefined;
    }
    if (current < line) {
      // Whole parts are skipped by their newline counts: no walk line by line.
      const next = held.indexOfNthNewline(offset, line - current, held.runEnd(offset));
      if (next < 0) return undefined;
      offset = next + 1;
    }
    return held.held(offset) ? offset : undefined;
  }

  /** The first whole line kept after the cut middle: its offset and number (counted back from the end). */
  #firstTailLine(): { offset: number; line: number } {
    const held = this.#held;
    const newline = held.indexOfNewline(held.tailStart);
    const offset = newline < 0 ? held.totalBytes : newline + 1;
    return { offset, line: this.#lines + 1 - held.countNewlines(offset, held.totalBytes) };
  }

  /** The line number that starts at `offset` (which must be a held line start). */
  #lineNumberAt(offset: number): number {
    const held = this.#held;
    // After the cut, counted backwards from the end: every newline after `offset` is held.
    if (held.afterCut(offset)) return this.#lines + 1 - held.countNewlines(offset, held.totalBytes);
    let index = 0;
    for (let low = 0, high = this.#checkpoints.length - 1; low <= high;) {
      const mid = (low + high) >> 1;
      if (this.#checkpoints[mid]! <= offset) {
        index = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return index * CHECKPOINT_LINES + 1 + held.countNewlines(this.#checkpoints[index]!, offset);
  }

  #atLineStart(offset: number): boolean {
    return offset === 0 || this.#held.byteAt(offset - 1) === NEWLINE;
  }

  page(request: PageRequest): Page {
    return request.byteOffset !== undefined ? this.#bytePage(request.byteOffset, request.byteLimit ?? PAGE_DEFAULTS.byteLimit)
      : this.#linePage(request.lineOffset ?? 1, request.lineLimit ?? PAGE_DEFAULTS.lineLimit);
  }

  /** The page [start, end), cut further to what fits `PAGE_BYTES` as JSON. */
  #result(asked: number, start: number, end: number, lines?: { first: number; wholeLines: boolean }): Page {
    const held = this.#held;
    const bytes = held.slice(start, end);
    let fit = jsonFitHead(bytes, PAGE_BYTES);
    // A line page that does not fit ends after its last whole line that does, when it has one.
    if (lines?.wholeLines && fit > 0 && fit < bytes.length) fit = bytes.lastIndexOf(NEWLINE, fit - 1) + 1 || fit;
    const stop = start + fit;
    const atLine = this.#atLineStart(stop);
    const readable = this.readableEnd;
    const page: Page = {
      text: bytes.subarray(0, fit).toString('utf8'),
      byteOffset: start,
      nextByteOffset: stop,
      lineOffset: lines ? lines.first : this.#atLineStart(start) ? this.#lineNumberAt(start) : undefined,
      nextLineOffset: undefined,
      hasMore: stop < readable,
      totalBytes: held.totalBytes,
      complete: held.complete,
      skippedBytes: Math.max(0, start - asked),
    };
    // Nothing readable beyond it, yet bytes printed: a character not all printed yet.
    if (!page.hasMore && held.totalBytes > stop) page.pendingBytes = held.totalBytes - stop;
    if (lines) {
      if (atLine) page.nextLineOffset = lines.first + held.countNewlines(start, stop);
      else if (!(this.#ended && stop === held.totalBytes)) page.partialLine = true;
    } else if (atLine) page.nextLineOffset = this.#lineNumberAt(stop);
    return page;
  }

  #bytePage(offset: number, limit: number): Page {
    const held = this.#held;
    const start = held.charStart(held.heldFrom(Math.min(offset, held.totalBytes)));
    // A page stays in one held run.
    const end = this.#charEnd(start, Math.min(start + Math.min(limit, PAGE_BYTES), held.runEnd(start)));
    return this.#result(offset, start, end);
  }

  #linePage(line: number, limit: number): Page {
    const held = this.#held;
    let start = this.#lineStart(line);
    let first = line;
    if (start === undefined) {
      const total = held.totalBytes;
      if (line - 1 > this.#lines) return { ...this.#result(total, total, total), lineOffset: line, nextLineOffset: line };
      // The line was in the cut middle: begin at the first whole line that was kept.
      ({ offset: start, line: first } = this.#firstTailLine());
    }
    let end = start;
    let lines = 0;
    const runEnd = held.runEnd(start);
    const maxEnd = Math.min(runEnd, start + PAGE_BYTES);
    while (lines < limit && end < maxEnd) {
      const newline = held.indexOfNewline(end, maxEnd);
      if (newline < 0) {
        // A line with no newline: whole when it is the last of its run for good (the stream ended,
        // or the head the cap cut); otherwise only when nothing else fits.
        const final = maxEnd === runEnd && (this.#ended || runEnd < held.totalBytes);
        if (final || lines === 0) end = this.#charEnd(end, maxEnd);
        break;
      }
      end = newline + 1;
      lines += 1;
    }
    return this.#result(start, start, end, { first, wholeLines: lines > 0 });
  }
}
