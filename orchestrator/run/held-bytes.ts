/**
 * The capped head-and-tail buffer of one output stream, shared by the run core (`output.ts`) and the
 * server's paged streams (`../server/stream.ts`). Everything is kept up to `cap`; beyond it, the first
 * half of the cap (the head, kept for good) and the last half (the tail, its oldest bytes dropped as
 * new ones come), at absolute offsets into everything written, so offsets stay valid as it grows.
 *
 * Invariants: bytes are copied into blocks (growing from 256 B to 64 KiB, smaller for small caps),
 * never held as the caller's chunks, so a million 1-byte writes cost the bytes kept, not a million
 * Buffers, and at most cap + two blocks are held however the writes are chunked (the tail's first
 * block may be partly dropped, its last partly filled; a chunk is cut to what can be kept before it
 * is copied). Once over the cap, the head ends on a whole UTF-8 character. Lookups find their block
 * by binary search and scan blocks in place (never concatenating all), so a read costs what it returns.
 */

const NEWLINE = 0x0a;
const BLOCK_BYTES = 64 * 1024;
const MIN_BLOCK_BYTES = 256;

/** One block's used part: `buf[from, from + length)` holds the absolute bytes `[start, start + length)`. */
interface Part {
  readonly buf: Buffer;
  from: number;
  length: number;
  start: number;
  /** Newlines in the part, so counting and finding lines skips whole parts; -1 until counted (counted when asked, not per write). */
  newlines: number;
}

export function isContinuation(byte: number | undefined): boolean {
  return byte !== undefined && (byte & 0xc0) === 0x80;
}

/** Bytes in the UTF-8 sequence a lead byte starts (1 for anything else). */
function sequenceLength(lead: number): number {
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 1;
}

function newlinesIn(data: Uint8Array, from = 0, to = data.length): number {
  let count = 0;
  for (let at = data.indexOf(NEWLINE, from); at >= 0 && at < to; at = data.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}

export class HeldBytes {
  readonly cap: number;
  readonly #headCap: number;
  readonly #tailCap: number;
  readonly #maxBlock: number;
  /** The head's parts, then the tail's; a gap between them once over the cap. */
  readonly #parts: Part[] = [];
  #headParts = 0;
  #headBytes = 0;
  #tailBytes = 0;
  #total = 0;
  /** The middle was cut (the head is closed and trimmed to whole characters). */
  #cut = false;

  constructor(cap: number) {
    this.cap = cap;
    this.#headCap = Math.floor(cap / 2);
    this.#tailCap = cap - this.#headCap;
    this.#maxBlock = Math.max(1, Math.min(BLOCK_BYTES, Math.ceil(cap / 4)));
  }

  /** Bytes written in all, kept or not. */
  get totalBytes(): number {
    return this.#total;
  }

  /** Bytes held in memory (blocks' unused room aside). */
  get heldBytes(): number {
    return this.#headBytes + this.#tailBytes;
  }

  /** Nothing was dropped: every byte written is held. */
  get complete(): boolean {
    return this.#total <= this.cap;
  }

  /** Where the held head ends: `totalBytes` while complete, else the start of the cut middle. */
  get headEnd(): number {
    if (this.complete) return this.#total;
    const last = this.#parts[this.#headParts - 1];
    return last ? last.start + last.length : 0;
  }

  /** Where held bytes resume after the cut middle: `totalBytes` while complete. */
  get tailStart(): number {
    return this.complete ? this.#total : this.#parts[this.#headParts]!.start;
  }

  /** `offset` is held (or is the end): neither in the cut middle nor past what was written. */
  held(offset: number): boolean {
    return offset < this.headEnd || (offset >= this.tailStart && offset <= this.#total);
  }

  /** The first held offset at or after `offset` (past the cut middle when it falls there). */
  heldFrom(offset: number): number {
    return this.held(offset) ? offset : Math.max(offset, this.tailStart);
  }

  /** The end of the held run `offset` is in: the head's end (when the middle was cut) or the total. */
  runEnd(offset: number): number {
    return offset < this.headEnd ? this.headEnd : this.#total;
  }

  /** `offset` comes after the cut middle (false while complete). */
  afterCut(offset: number): boolean {
    return !this.complete && offset >= this.tailStart;
  }

  /**
   * A buffer holding what another one held: its head, its tail (empty while complete) and how many
   * bytes were written in all. Offsets, bytes and the cut are the same as the original's, so a
   * stream kept elsewhere (the server's execution records) pages as it did where it was printed.
   */
  static restore(cap: number, head: Uint8Array, tail: Uint8Array, totalBytes: number): HeldBytes {
    const held = new HeldBytes(cap);
    if (totalBytes <= cap) {
      if (head.length !== totalBytes || tail.length > 0) throw new RangeError(`A complete stream holds all its ${totalBytes} bytes, not ${head.length} + ${tail.length}`);
      held.push(head);
      return held;
    }
    if (head.length > held.#headCap || tail.length !== held.#tailCap) {
      throw new RangeError(`A stream cut at ${cap} bytes holds at most ${held.#headCap} bytes of head and ${held.#tailCap} of tail, not ${head.length} and ${tail.length}`);
    }
    held.#write(head, 0, head.length, 0, true);
    held.#write(tail, 0, tail.length, totalBytes - tail.length, false);
    held.#total = totalBytes;
    held.#cut = true;
    return held;
  }

  push(chunk: Uint8Array): void {
    const length = chunk.length;
    let at = this.#total;
    let from = 0;
    this.#total += length;
    // The head holds absolute bytes [0, headCap) and nothing else.
    if (at < this.#headCap) {
      from = Math.min(length, this.#headCap - at);
      this.#write(chunk, 0, from, at, true);
      at += from;
    }
    if (from === length) return;
    // Only the last tailCap bytes of a chunk can ever be kept: the rest is never copied, and what the
    // kept part replaces is dropped first, so the tail never holds more than its cap.
    const skip = Math.max(0, length - from - this.#tailCap);
    from += skip;
    at += skip;
    const over = this.#tailBytes + length - from - this.#tailCap;
    if (over > 0) this.#dropTail(over);
    this.#write(chunk, from, length, at, false);
    if (!this.#cut && this.#total > this.cap) {
      this.#cut = true;
      this.#trimHead();
    }
  }

  /** Copies `data[from, to)` (whose first byte is at absolute `at`) into the head's or the tail's blocks. */
  #write(data: Uint8Array, from: number, to: number, at: number, head: boolean): void {
    const parts = this.#parts;
    while (from < to) {
      const last = parts[parts.length - 1];
      let part: Part;
      if (last !== undefined && (head ? parts.length === this.#headParts : parts.length > this.#headParts)
        && last.start + last.length === at && last.from + last.length < last.buf.length) {
        part = last;
      } else {
        // Blocks grow with the region, so a short stream stays small; the head's last one fits it exactly.
        const regionBytes = head ? this.#headBytes : this.#tailBytes;
        let size = Math.min(this.#maxBlock, Math.max(MIN_BLOCK_BYTES, 2 ** Math.ceil(Math.log2(regionBytes + to - from + 1))));
        if (head) size = Math.min(size, this.#headCap - this.#headBytes);
        part = { buf: Buffer.allocUnsafeSlow(size), from: 0, length: 0, start: at, newlines: 0 };
        parts.push(part);
        if (head) this.#headParts += 1;
      }
      const offset = part.from + part.length;
      const take = Math.min(to - from, part.buf.length - offset);
      // Small writes (a script printing byte by byte) are copied by hand: no view object per write.
      if (take < 32) for (let index = 0; index < take; index += 1) part.buf[offset + index] = data[from + index]!;
      else part.buf.set(data.subarray(from, from + take), offset);
      part.newlines = -1;
      part.length += take;
      from += take;
      at += take;
      if (head) this.#headBytes += take;
      else this.#tailBytes += take;
    }
  }

  /** Forgets the tail's oldest `count` bytes: whole parts, then the front of the next. */
  #dropTail(count: number): void {
    let left = count;
    while (left > 0) {
      const first = this.#parts[this.#headParts]!;
      const take = Math.min(left, first.length);
      if (take === first.length) this.#parts.splice(this.#headParts, 1);
      else {
        first.newlines = -1;
        first.from += take;
        first.start += take;
        first.length -= take;
      }
      this.#tailBytes -= take;
      left -= take;
    }
  }

  /** Once the middle is cut, the head ends on a whole character: a character the cut split is dropped. */
  #trimHead(): void {
    const last = this.#parts[this.#headParts - 1];
    if (!last) return;
    const end = last.start + last.length;
    const whole = this.wholeCharsEnd(end);
    if (whole === end) return;
    // Never more than 3 bytes, all in the last part (the head's parts are at least 1 byte each).
    const cut = Math.min(end - whole, last.length);
    last.length -= cut;
    this.#headBytes -= cut;
    if (last.length === 0) {
      this.#parts.splice(this.#headParts - 1, 1);
      this.#headParts -= 1;
    }
  }

  /** The index of the last part starting at or before `offset` (0 when none does). */
  #locate(offset: number): number {
    let low = 0;
    let high = this.#parts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#parts[mid]!.start <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  /**
   * Calls `visit` with each held piece of [start, end) in order, as a part and the indexes into its
   * buffer; stops when `visit` returns true.
   */
  #each(start: number, end: number, visit: (part: Part, lo: number, hi: number) => boolean | void): void {
    if (start >= end) return;
    for (let index = this.#locate(start); index < this.#parts.length; index += 1) {
      const part = this.#parts[index]!;
      if (part.start >= end) return;
      const lo = Math.max(start, part.start) - part.start;
      const hi = Math.min(end, part.start + part.length) - part.start;
      if (lo < hi && visit(part, part.from + lo, part.from + hi)) return;
    }
  }

  /** A part's newlines, counted once and kept until it changes. */
  #newlines(part: Part): number {
    if (part.newlines < 0) part.newlines = newlinesIn(part.buf, part.from, part.from + part.length);
    return part.newlines;
  }

  byteAt(offset: number): number | undefined {
    if (offset < 0 || offset >= this.#total || !this.held(offset)) return undefined;
    const part = this.#parts[this.#locate(offset)]!;
    const index = offset - part.start;
    return index < part.length ? part.buf[part.from + index] : undefined;
  }

  /** The held bytes of [start, end), in order (a view when they sit in one block). */
  slice(start: number, end: number): Buffer {
    const pieces: Buffer[] = [];
    this.#each(start, end, (part, lo, hi) => void pieces.push(part.buf.subarray(lo, hi)));
    return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
  }

  /** The absolute offset of the first newline held in [offset, limit), or -1. */
  indexOfNewline(offset: number, limit = this.#total): number {
    let found = -1;
    this.#each(offset, limit, (part, lo, hi) => {
      const at = part.buf.indexOf(NEWLINE, lo);
      if (at >= 0 && at < hi) found = part.start + at - part.from;
      return found >= 0;
    });
    return found;
  }

  /** The absolute offset of the last newline held in [floor, offset), or -1. */
  lastIndexOfNewline(offset: number, floor = 0): number {
    if (offset <= floor) return -1;
    for (let index = this.#locate(offset - 1); index >= 0; index -= 1) {
      const part = this.#parts[index]!;
      const lo = Math.max(floor, part.start) - part.start;
      const hi = Math.min(offset, part.start + part.length) - part.start;
      if (lo < hi) {
        const at = part.buf.lastIndexOf(NEWLINE, part.from + hi - 1);
        if (at >= part.from + lo) return part.start + at - part.from;
      }
      if (part.start <= floor) return -1;
    }
    return -1;
  }

  /** Newlines held in [start, end): whole parts by their counts, only the ends scanned. */
  countNewlines(start: number, end: number): number {
    let count = 0;
    this.#each(start, end, (part, lo, hi) => {
      count += lo === part.from && hi === part.from + part.length ? this.#newlines(part) : newlinesIn(part.buf, lo, hi);
    });
    return count;
  }

  /** The absolute offset of the `nth` newline (from 1) held in [offset, limit), or -1 when there are fewer. */
  indexOfNthNewline(offset: number, nth: number, limit = this.#total): number {
    let left = nth;
    let found = -1;
    if (left < 1) return -1;
    this.#each(offset, limit, (part, lo, hi) => {
      if (lo === part.from && hi === part.from + part.length && this.#newlines(part) < left) {
        left -= part.newlines;
        return false;
      }
      for (let at = part.buf.indexOf(NEWLINE, lo); at >= 0 && at < hi; at = part.buf.indexOf(NEWLINE, at + 1)) {
        left -= 1;
        if (left === 0) {
          found = part.start + at - part.from;
          return true;
        }
      }
      return false;
    });
    return found;
  }

  /** Moves `offset` forward to the start of a character (past at most 3 continuation bytes). */
  charStart(offset: number): number {
    let at = offset;
    while (at < this.#total && at - offset < 3 && isContinuation(this.byteAt(at))) at += 1;
    return at;
  }

  /** `end`, or the start of a character that begins before `end` but is not all there. */
  wholeCharsEnd(end: number): number {
    for (let at = end - 1; at >= Math.max(0, end - 4); at -= 1) {
      const byte = this.#rawByteAt(at);
      if (byte === undefined) return end;
      if (isContinuation(byte)) continue;
      return at + sequenceLength(byte) > end ? at : end;
    }
    return end;
  }

  /** A byte the blocks hold, even one `held` no longer counts (a character the head is trimming). */
  #rawByteAt(offset: number): number | undefined {
    const part = this.#parts[this.#locate(offset)];
    if (!part || offset < part.start || offset >= part.start + part.length) return undefined;
    return part.buf[part.from + offset - part.start];
  }
}
