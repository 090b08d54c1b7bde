/**
 * One output stream of an execution, kept whole up to a cap (beyond it: the first half and the
 * last half of the cap, `complete: false`), and paged by lines or by bytes. Offsets are positions
 * in everything the script printed, so they stay valid as the stream grows; pages never split a
 * UTF-8 character (not at the cap's cut, nor one still being printed). Line starts are indexed
 * every `CHECKPOINT_LINES` lines to keep the index small; a page costs what it returns, whatever the
 * stream's size or how many writes made it (`chunks.ts`).
 */

import { Chunks } from './chunks.js';

const CHECKPOINT_LINES = 1024;
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
  /** Bytes the stream holds beyond this page right now (more may come while it runs). */
  hasMore: boolean;
  /** Bytes printed so far. */
  totalBytes: number;
  /** False when the stream went over its cap and its middle was not kept. */
  complete: boolean;
  /** Bytes between the asked offset and the page that were not kept (over the cap). */
  skippedBytes: number;
}

export const PAGE_DEFAULTS = { lineLimit: 100, byteLimit: 64 * 1024, maxPageBytes: 1024 * 1024 } as const;

function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/** Bytes in the UTF-8 sequence a lead byte starts (1 for anything else). */
function sequenceLength(lead: number): number {
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1;
}

export class OutputStream {
  readonly #cap: number;
  /** Bytes from 0, kept for good. */
  #head: Chunks;
  /** The last bytes, once the stream went over its cap. */
  #tail: Chunks | undefined;
  /** Where the head's readable part ends: its end, moved back off a character the cap cut. */
  #headEnd = 0;
  #total = 0;
  #lines = 0;
  /** Byte offset where line `k * CHECKPOINT_LINES + 1` starts. */
  #checkpoints: number[] = [0];
  #ended = false;

  constructor(cap: number) {
    this.#cap = cap;
    this.#head = new Chunks(0, Math.floor(cap / 4));
  }

  get totalBytes(): number {
    return this.#total;
  }

  /** Bytes held in memory. */
  get heldBytes(): number {
    return this.#head.length + (this.#tail?.length ?? 0);
  }

  get complete(): boolean {
    return this.#total === this.heldBytes;
  }

  get ended(): boolean {
    return this.#ended;
  }

  end(): void {
    this.#ended = true;
  }

  append(chunk: Uint8Array): void {
    const data = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, at + 1)) {
      this.#lines += 1;
      if (this.#lines % CHECKPOINT_LINES === 0) this.#checkpoints.push(this.#total + at + 1);
    }
    this.#total += data.length;
    if (!this.#tail && this.#head.length + data.length <= this.#cap) {
      this.#head.push(data);
      this.#headEnd = this.#head.end;
      return;
    }
    if (!this.#tail) this.#startTail(data);
    else this.#tail.push(data);
    const keep = Math.floor(this.#cap / 2);
    if (this.#tail!.length > keep) this.#tail!.dropFront(this.#tail!.length - keep);
  }

  /** First time over the cap: the head keeps half the cap, the rest starts the tail. */
  #startTail(data: Buffer): void {
    const half = Math.ceil(this.#cap / 2);
    const blocks = Math.floor(this.#cap / 4);
    if (this.#head.length > half) {
      const held = this.#head.slice(0, this.#head.end);
      this.#head = new Chunks(0, blocks);
      this.#head.push(held.subarray(0, half));
      this.#tail = new Chunks(half, blocks);
      this.#tail.push(held.subarray(half));
      this.#tail.push(data);
    } else {
      const take = half - this.#head.length;
      this.#head.push(data.subarray(0, take));
      this.#tail = new Chunks(this.#head.end, blocks);
      this.#tail.push(data.subarray(take));
    }
    this.#headEnd = this.#wholeCharsEnd(this.#head, this.#head.end);
  }

  /** `end`, or the start of a character that begins before `end` but is not all there. */
  #wholeCharsEnd(region: Chunks, end: number): number {
    for (let at = end - 1; at >= Math.max(region.start, end - 4); at -= 1) {
      const byte = region.byteAt(at)!;
      if (isContinuation(byte)) continue;
      return at + sequenceLength(byte) > end ? at : end;
    }
    return end;
  }

  get #tailStart(): number {
    return this.#tail ? this.#tail.start : this.#total;
  }

  /** Bytes [start, end) of what is held; the range must be held. */
  #slice(start: number, end: number): Buffer {
    const head = start < this.#headEnd ? this.#head.slice(start, Math.min(end, this.#headEnd)) : undefined;
    const tail = this.#tail && end > this.#tail.start ? this.#tail.slice(start, end) : undefined;
    if (head && tail) return Buffer.concat([head, tail]);
    return head ?? tail ?? Buffer.alloc(0);
  }

  #byteAt(offset: number): number | undefined {
    if (offset >= this.#total) return undefined;
    if (offset < this.#headEnd) return this.#head.byteAt(offset);
    return this.#tail?.byteAt(offset);
  }

  #held(offset: number): boolean {
    return offset < this.#headEnd || offset >= this.#tailStart;
  }

  /** The first held offset at or after `offset` (past the cut middle when it falls there). */
  #heldFrom(offset: number): number {
    return this.#held(offset) ? offset : this.#tailStart;
  }

  /** Moves `offset` forward to the start of a character. */
  #charStart(offset: number): number {
    let at = offset;
    while (at < this.#total && at - offset < 3 && isContinuation(this.#byteAt(at))) at += 1;
    return at;
  }

  /** Moves `end` back to a character boundary; never below `start` + one whole character. */
  #charEnd(start: number, end: number): number {
    if (end >= this.#total) {
      // While it runs, the last character may have only part of its bytes yet: it goes in a later page.
      return this.#ended ? this.#total : Math.max(start, this.#wholeCharsEnd(this.#tail ?? this.#head, this.#total));
    }
    let at = end;
    while (at > start && isContinuation(this.#byteAt(at))) at -= 1;
    if (at > start) return at;
    // The limit is smaller than one character: give the whole character.
    at = end;
    while (at < this.#total && isContinuation(this.#byteAt(at))) at += 1;
    return at;
  }

  /** Byte offset of line `line` (1-based), or undefined when it starts in the cut middle or later than printed. */
  #lineStart(line: number): number | undefined {
    if (line === 1) return 0;
    if (line - 1 > this.#lines) return undefined;
    const index = Math.floor((line - 1) / CHECKPOINT_LINES);
    let offset = this.#checkpoints[index]!;
    let current = index * CHECKPOINT_LINES + 1;
    if (this.#tail) {
      const tail = this.#firstTailLine();
      if (line >= tail.line && offset < tail.offset) {
        offset = tail.offset;
        current = tail.line;
      } else if (!this.#held(offset)) return undefined;
    }
    if (current < line) {
      // Whole parts are skipped by their newline counts: no walk line by line.
      const next = offset < this.#headEnd ? this.#head.indexOfNthNewline(offset, line - current) : this.#tail?.indexOfNthNewline(offset, line - current) ?? -1;
      if (next < 0) return undefined;
      offset = next + 1;
    }
    return this.#held(offset) || offset === this.#total ? offset : undefined;
  }

  /** The first whole line kept in the tail: its offset and number (counted back from the end). */
  #firstTailLine(): { offset: number; line: number } {
    const newline = this.#indexOfNewline(this.#tailStart);
    const offset = newline < 0 ? this.#total : newline + 1;
    return { offset, line: this.#lines + 1 - this.#countNewlines(offset, this.#total) };
  }

  /** The line number that starts at `offset` (which must be a held line start). */
  #lineNumberAt(offset: number): number {
    if (this.#tail && offset >= this.#tailStart) {
      // Counted backwards from the end: every newline after `offset` is held.
      return this.#lines + 1 - this.#countNewlines(offset, this.#total);
    }
    let index = 0;
    for (let low = 0, high = this.#checkpoints.length - 1; low <= high;) {
      const mid = (low + high) >> 1;
      if (this.#checkpoints[mid]! <= offset) {
        index = mid;
        low = mid + 1;
      } else high = mid - 1;
    }
    return index * CHECKPOINT_LINES + 1 + this.#countNewlines(this.#checkpoints[index]!, offset);
  }

  /** Newlines in the held bytes of [start, end), counted in place. */
  #countNewlines(start: number, end: number): number {
    if (start >= end) return 0;
    const head = start < this.#headEnd ? this.#head.countNewlines(start, Math.min(end, this.#headEnd)) : 0;
    return head + (this.#tail ? this.#tail.countNewlines(Math.max(start, this.#tail.start), end) : 0);
  }

  /** Offset of the next newline at or after `offset` within the same held region, or -1. */
  #indexOfNewline(offset: number, limit = this.#total): number {
    if (offset < this.#headEnd) return this.#head.indexOfNewline(offset, Math.min(limit, this.#headEnd));
    return this.#tail ? this.#tail.indexOfNewline(offset, limit) : -1;
  }

  page(request: PageRequest): Page {
    return request.byteOffset !== undefined ? this.#bytePage(request.byteOffset, request.byteLimit ?? PAGE_DEFAULTS.byteLimit)
      : this.#linePage(request.lineOffset ?? 1, request.lineLimit ?? PAGE_DEFAULTS.lineLimit);
  }

  #result(asked: number, start: number, end: number, lineOffset?: number, nextLineOffset?: number): Page {
    return {
      text: this.#slice(start, end).toString('utf8'),
      byteOffset: start,
      nextByteOffset: end,
      lineOffset,
      nextLineOffset,
      hasMore: end < this.#total,
      totalBytes: this.#total,
      complete: this.complete,
      skippedBytes: Math.max(0, start - asked),
    };
  }

  #bytePage(offset: number, limit: number): Page {
    const start = this.#charStart(this.#heldFrom(Math.min(offset, this.#total)));
    let end = Math.min(start + Math.min(limit, PAGE_DEFAULTS.maxPageBytes), this.#total);
    // A page stays in one held region.
    if (this.#tail && start < this.#headEnd && end > this.#headEnd) end = this.#headEnd;
    end = this.#charEnd(start, end);
    const lineOffset = this.#atLineStart(start) ? this.#lineNumberAt(start) : undefined;
    const nextLineOffset = this.#atLineStart(end) ? this.#lineNumberAt(end) : undefined;
    return this.#result(offset, start, end, lineOffset, nextLineOffset);
  }

  #atLineStart(offset: number): boolean {
    return offset === 0 || (this.#held(offset - 1) && this.#byteAt(offset - 1) === NEWLINE);
  }

  #linePage(line: number, limit: number): Page {
    let start = this.#lineStart(line);
    let first = line;
    if (start === undefined) {
      if (line - 1 > this.#lines) return this.#result(this.#total, this.#total, this.#total, line, line);
      // The line was in the cut middle: begin at the first whole line that was kept.
      ({ offset: start, line: first } = this.#firstTailLine());
    }
    const asked = start;
    let end = start;
    let lines = 0;
    const regionEnd = this.#tail && start < this.#headEnd ? this.#headEnd : this.#total;
    const maxEnd = Math.min(regionEnd, start + PAGE_DEFAULTS.maxPageBytes);
    while (lines < limit && end < maxEnd) {
      const newline = this.#indexOfNewline(end, maxEnd);
      if (newline < 0) {
        // A line with no newline: whole when it is the last of its region for good (the stream
        // ended, or the head the cap cut); otherwise only when nothing else fits.
        const final = maxEnd === regionEnd && (this.#ended || regionEnd < this.#total);
        if (final || lines === 0) end = this.#charEnd(end, maxEnd);
        break;
      }
      end = newline + 1;
      lines += 1;
    }
    const atLine = this.#atLineStart(end);
    return this.#result(asked, start, end, first, atLine ? first + lines : undefined);
  }
}
