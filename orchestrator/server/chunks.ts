/**
 * A run of held bytes at absolute offsets (the head or the tail of an output stream), as a list of
 * parts. Small appends are copied into shared blocks, so a script that prints one byte per write
 * costs its bytes, not a Buffer object each (blocks grow with the region: a short one stays small).
 * Every lookup finds its part by binary search and scans parts in place (never concatenating the
 * region), so a page costs what it returns.
 */

const NEWLINE = 0x0a;
/** Appends smaller than half a block are copied into the current block. */
const BLOCK_BYTES = 64 * 1024;
const MIN_BLOCK_BYTES = 256;

export class Chunks {
  /** The parts, and the absolute offset of each. */
  readonly #parts: Buffer[] = [];
  readonly #starts: number[] = [];
  /** Newlines in each part, so counting and finding lines skips whole parts. */
  readonly #newlines: number[] = [];
  #end: number;
  #blockBytes: number;
  /** The block the last part is a view of, while it has room; `#blockFrom` is where that view begins. */
  #block: Buffer | undefined;
  #blockFrom = 0;
  #blockUsed = 0;

  /** `start`: the absolute offset of the first byte; `maxBlock` keeps blocks small for small caps. */
  constructor(start: number, maxBlock = BLOCK_BYTES) {
    this.#end = start;
    this.#blockBytes = Math.max(16, Math.min(BLOCK_BYTES, maxBlock));
  }

  get start(): number {
    return this.#starts[0] ?? this.#end;
  }

  get end(): number {
    return this.#end;
  }

  get length(): number {
    return this.#end - this.start;
  }

  push(data: Uint8Array): void {
    if (data.length === 0) return;
    const source = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (source.length >= this.#blockBytes / 2) {
      // Copied: the caller may reuse its buffer.
      this.#add(Buffer.from(source));
      this.#block = undefined;
      return;
    }
    if (!this.#block || this.#blockUsed + source.length > this.#block.length) {
      // Blocks grow with the region (256 B up to the most), so a short stream stays small.
      const size = Math.min(this.#blockBytes, Math.max(MIN_BLOCK_BYTES, 2 ** Math.ceil(Math.log2(this.length + source.length + 1))));
      this.#block = Buffer.allocUnsafeSlow(Math.max(size, source.length));
      this.#blockFrom = 0;
      this.#blockUsed = 0;
      this.#add(this.#block.subarray(0, 0));
    }
    source.copy(this.#block, this.#blockUsed);
    this.#blockUsed += source.length;
    this.#parts[this.#parts.length - 1] = this.#block.subarray(this.#blockFrom, this.#blockUsed);
    this.#newlines[this.#newlines.length - 1]! += newlinesIn(source);
    this.#end += source.length;
  }

  #add(part: Buffer): void {
    this.#parts.push(part);
    this.#newlines.push(newlinesIn(part));
    this.#starts.push(this.#end);
    this.#end += part.length;
  }

  /** Forgets the first `count` bytes. */
  dropFront(count: number): void {
    let left = count;
    while (left > 0 && this.#parts.length > 0) {
      const first = this.#parts[0]!;
      const isBlock = this.#parts.length === 1 && this.#block !== undefined;
      if (first.length <= left) {
        this.#parts.shift();
        this.#starts.shift();
        this.#newlines.shift();
        left -= first.length;
        if (isBlock) this.#block = undefined;
      } else {
        this.#parts[0] = first.subarray(left);
        this.#starts[0]! += left;
        this.#newlines[0]! -= newlinesIn(first.subarray(0, left));
        if (isBlock) this.#blockFrom += left;
        left = 0;
      }
    }
  }

  /** The index of the part holding `offset` (which must be held). */
  #locate(offset: number): number {
    let low = 0;
    let high = this.#starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#starts[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return low;
  }

  byteAt(offset: number): number | undefined {
    if (offset < this.start || offset >= this.#end) return undefined;
    const index = this.#locate(offset);
    return this.#parts[index]![offset - this.#starts[index]!];
  }

  /** Bytes [start, end), clamped to what is held. */
  slice(start: number, end: number): Buffer {
    const from = Math.max(start, this.start);
    const to = Math.min(end, this.#end);
    if (from >= to) return Buffer.alloc(0);
    const out: Buffer[] = [];
    for (let index = this.#locate(from); index < this.#parts.length && this.#starts[index]! < to; index += 1) {
      const base = this.#starts[index]!;
      out.push(this.#parts[index]!.subarray(Math.max(from, base) - base, Math.min(to, base + this.#parts[index]!.length) - base));
    }
    return out.length === 1 ? out[0]! : Buffer.concat(out);
  }

  /** The absolute offset of the first newline in [offset, limit), or -1. */
  indexOfNewline(offset: number, limit = this.#end): number {
    const from = Math.max(offset, this.start);
    const to = Math.min(limit, this.#end);
    if (from >= to) return -1;
    for (let index = this.#locate(from); index < this.#parts.length && this.#starts[index]! < to; index += 1) {
      const base = this.#starts[index]!;
      const at = this.#parts[index]!.indexOf(NEWLINE, Math.max(from, base) - base);
      if (at >= 0) return base + at < to ? base + at : -1;
    }
    return -1;
  }

  /** Newlines in [start, end): whole parts by their counts, only the ends scanned. */
  countNewlines(start: number, end: number): number {
    const from = Math.max(start, this.start);
    const to = Math.min(end, this.#end);
    let count = 0;
    if (from >= to) return 0;
    for (let index = this.#locate(from); index < this.#parts.length && this.#starts[index]! < to; index += 1) {
      const base = this.#starts[index]!;
      const part = this.#parts[index]!;
      if (from <= base && base + part.length <= to) count += this.#newlines[index]!;
      else count += newlinesIn(part.subarray(Math.max(from, base) - base, Math.min(to, base + part.length) - base));
    }
    return count;
  }

  /** The absolute offset of the `nth` newline (from 1) at or after `offset`, or -1 when there are fewer. */
  indexOfNthNewline(offset: number, nth: number): number {
    const from = Math.max(offset, this.start);
    let left = nth;
    if (from >= this.#end || left < 1) return -1;
    for (let index = this.#locate(from); index < this.#parts.length; index += 1) {
      const base = this.#starts[index]!;
      const part = this.#parts[index]!;
      const skip = Math.max(from, base) - base;
      if (skip === 0 && this.#newlines[index]! < left) {
        left -= this.#newlines[index]!;
        continue;
      }
      for (let at = part.indexOf(NEWLINE, skip); at >= 0; at = part.indexOf(NEWLINE, at + 1)) {
        left -= 1;
        if (left === 0) return base + at;
      }
    }
    return -1;
  }
}

/** Newlines in a buffer. */
function newlinesIn(data: Buffer): number {
  let count = 0;
  for (let at = data.indexOf(NEWLINE); at >= 0; at = data.indexOf(NEWLINE, at + 1)) count += 1;
  return count;
}
