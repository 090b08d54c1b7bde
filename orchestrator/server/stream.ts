/**
 * One output stream of an execution, kept whole up to a cap (beyond it: the first half and the
 * last half of the cap, `complete: false`), and paged by lines or by bytes. Offsets are positions
 * in everything the script printed, so they stay valid as the stream grows; pages never split a
 * UTF-8 character. Line starts are indexed every `CHECKPOINT_LINES` lines to keep the index small.
 */

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

export class OutputStream {
  readonly #cap: number;
  /** Bytes 0..head.length, kept for good. */
  #head: Buffer[] = [];
  #headBytes = 0;
  /** The last bytes, when the stream went over its cap; `#tailStart` is the offset of the first. */
  #tail: Buffer[] = [];
  #tailBytes = 0;
  #total = 0;
  #lines = 0;
  /** Byte offset where line `k * CHECKPOINT_LINES + 1` starts. */
  #checkpoints: number[] = [0];
  #ended = false;

  constructor(cap: number) {
    this.#cap = cap;
  }

  get totalBytes(): number {
    return this.#total;
  }

  /** Bytes held in memory. */
  get heldBytes(): number {
    return this.#headBytes + this.#tailBytes;
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
    const headRoom = Math.ceil(this.#cap / 2) - this.#headBytes;
    let rest = data;
    if (this.#tailBytes === 0 && this.#headBytes + data.length <= this.#cap) {
      // Under the cap everything belongs to the head (copied: the caller may reuse its buffer).
      this.#head.push(Buffer.from(data));
      this.#headBytes += data.length;
      return;
    }
    if (this.#tailBytes === 0 && this.#headBytes > Math.ceil(this.#cap / 2)) this.#spillHead();
    if (headRoom > 0 && this.#tailBytes === 0 && this.#headBytes < Math.ceil(this.#cap / 2)) {
      const take = Math.min(headRoom, rest.length);
      this.#head.push(Buffer.from(rest.subarray(0, take)));
      this.#headBytes += take;
      rest = rest.subarray(take);
    }
    this.#tail.push(Buffer.from(rest));
    this.#tailBytes += rest.length;
    this.#trimTail();
  }

  /** First time over the cap: the head keeps half the cap, the rest of it starts the tail. */
  #spillHead(): void {
    const keep = Math.ceil(this.#cap / 2);
    const all = Buffer.concat(this.#head);
    this.#head = [Buffer.from(all.subarray(0, keep))];
    this.#headBytes = keep;
    this.#tail = [Buffer.from(all.subarray(keep))];
    this.#tailBytes = all.length - keep;
  }

  #trimTail(): void {
    const keep = Math.floor(this.#cap / 2);
    while (this.#tailBytes > keep) {
      const first = this.#tail[0]!;
      const excess = this.#tailBytes - keep;
      if (first.length <= excess) {
        this.#tail.shift();
        this.#tailBytes -= first.length;
      } else {
        this.#tail[0] = Buffer.from(first.subarray(excess));
        this.#tailBytes -= excess;
      }
    }
  }

  get #tailStart(): number {
    return this.#total - this.#tailBytes;
  }

  /** Bytes [start, end) of what is held; the range must be held. */
  #slice(start: number, end: number): Buffer {
    const parts: Buffer[] = [];
    let offset = 0;
    const collect = (chunks: Buffer[], base: number) => {
      offset = base;
      for (const chunk of chunks) {
        const from = Math.max(start, offset);
        const to = Math.min(end, offset + chunk.length);
        if (from < to) parts.push(chunk.subarray(from - offset, to - offset));
        offset += chunk.length;
        if (offset >= end) break;
      }
    };
    collect(this.#head, 0);
    if (this.#tailBytes > 0 && end > this.#tailStart) collect(this.#tail, this.#tailStart);
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  #byteAt(offset: number): number | undefined {
    if (offset >= this.#total || !this.#held(offset)) return undefined;
    return this.#slice(offset, offset + 1)[0];
  }

  #held(offset: number): boolean {
    return offset < this.#headBytes || offset >= this.#tailStart;
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
    if (end >= this.#total) return this.#total;
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
    if (this.#tailBytes > 0) {
      const tail = this.#firstTailLine();
      if (line >= tail.line && offset < tail.offset) {
        offset = tail.offset;
        current = tail.line;
      } else if (!this.#held(offset)) return undefined;
    }
    while (current < line) {
      const next = this.#indexOfNewline(offset);
      if (next < 0) return undefined;
      offset = next + 1;
      current += 1;
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
    if (this.#tailBytes > 0 && offset >= this.#tailStart) {
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

  #countNewlines(start: number, end: number): number {
    if (start >= end) return 0;
    const data = this.#slice(start, end);
    let count = 0;
    for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, at + 1)) count += 1;
    return count;
  }

  /** Offset of the next newline at or after `offset` within the same held region, or -1. */
  #indexOfNewline(offset: number, limit = this.#total): number {
    const regionEnd = Math.min(limit, offset < this.#headBytes ? this.#headBytes : this.#total);
    const data = this.#slice(offset, regionEnd);
    const at = data.indexOf(NEWLINE);
    return at < 0 ? -1 : offset + at;
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
    if (start < this.#headBytes && end > this.#headBytes && this.#tailBytes > 0) end = this.#headBytes;
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
    const regionEnd = this.#tailBytes > 0 && start < this.#headBytes ? this.#headBytes : this.#total;
    const maxEnd = Math.min(regionEnd, start + PAGE_DEFAULTS.maxPageBytes);
    while (lines < limit && end < maxEnd) {
      const newline = this.#indexOfNewline(end, maxEnd);
      if (newline < 0) {
        // The last line: whole once the stream ended; while it runs, only when nothing else fits.
        if (this.#ended || lines === 0) end = this.#charEnd(end, maxEnd);
        break;
      }
      end = newline + 1;
      lines += 1;
    }
    const atLine = this.#atLineStart(end);
    return this.#result(asked, start, end, first, atLine ? first + lines : undefined);
  }
}
