/**
 * A capped buffer for one output stream: keeps the first half of the cap and the last half, counts
 * everything, and holds at most the cap plus two blocks however much the script writes and however
 * it chunks it: chunks are copied into blocks of up to 64 KiB, so a million 1-byte writes cost the
 * orchestrator the bytes kept, not a million Buffers. Decoding replaces invalid UTF-8; cuts are
 * moved to character boundaries.
 */

export interface CapturedOutput {
  text: string;
  /** Bytes the script wrote, including any dropped. */
  bytes: number;
  truncated: boolean;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/** Size of the blocks the tail is copied into (smaller when the tail's cap is). */
const BLOCK_BYTES = 64 * 1024;

export class OutputBuffer {
  private readonly headCap: number;
  private readonly tailCap: number;
  private readonly blockBytes: number;
  /** The head, grown by doubling up to its cap; `headBytes` of it are used. */
  private head = Buffer.alloc(0);
  private headBytes = 0;
  /** The tail as full blocks and a last one being filled (`lastBytes` of it used). */
  private tail: Buffer[] = [];
  private lastBytes = 0;
  private tailBytes = 0;
  private total = 0;

  constructor(cap: number) {
    this.headCap = Math.floor(cap / 2);
    this.tailCap = cap - this.headCap;
    this.blockBytes = Math.max(1, Math.min(BLOCK_BYTES, this.tailCap));
  }

  get bytes(): number {
    return this.total;
  }

  push(chunk: Uint8Array): void {
    this.total += chunk.length;
    if (this.headBytes < this.headCap) {
      const take = Math.min(chunk.length, this.headCap - this.headBytes);
      if (this.headBytes + take > this.head.length) {
        const grown = Buffer.allocUnsafe(Math.min(this.headCap, Math.max(this.headBytes + take, this.head.length * 2, 256)));
        this.head.copy(grown, 0, 0, this.headBytes);
        this.head = grown;
      }
      this.head.set(chunk.subarray(0, take), this.headBytes);
      this.headBytes += take;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    // Only the last tailCap bytes of a chunk can ever be kept.
    if (chunk.length > this.tailCap) chunk = chunk.subarray(chunk.length - this.tailCap);
    while (chunk.length > 0) {
      let last = this.tail[this.tail.length - 1];
      if (!last || this.lastBytes === last.length) {
        last = Buffer.allocUnsafe(this.blockBytes);
        this.tail.push(last);
        this.lastBytes = 0;
      }
      const take = Math.min(chunk.length, last.length - this.lastBytes);
      last.set(chunk.subarray(0, take), this.lastBytes);
      this.lastBytes += take;
      this.tailBytes += take;
      chunk = chunk.subarray(take);
    }
    // Drop whole blocks that the rest already covers.
    while (this.tail.length > 1 && this.tailBytes - this.tail[0]!.length >= this.tailCap) {
      this.tailBytes -= this.tail.shift()!.length;
    }
  }

  /** Decodes what was kept: whole, or head and tail with a marker naming the bytes dropped between. */
  finish(): CapturedOutput {
    const head = this.head.subarray(0, this.headBytes);
    const blocks = this.tail.map((block, i) => (i === this.tail.length - 1 ? block.subarray(0, this.lastBytes) : block));
    let tail = Buffer.concat(blocks);
    if (tail.length > this.tailCap) tail = tail.subarray(tail.length - this.tailCap);
    const total = this.total;
    const truncated = total > head.length + tail.length;
    if (!truncated) return { text: decoder.decode(Buffer.concat([head, tail])), bytes: total, truncated };
    const keptHead = head.subarray(0, utf8End(head));
    const keptTail = tail.subarray(utf8Start(tail));
    const dropped = total - keptHead.length - keptTail.length;
    const marker = `\n[… ${dropped} bytes truncated …]\n`;
    return { text: decoder.decode(keptHead) + marker + decoder.decode(keptTail), bytes: total, truncated };
  }
}

/** `text` kept to `maxBytes` as a stream would be: whole if it fits, else head and tail with the marker. */
export function capText(text: string, maxBytes: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  const buffer = new OutputBuffer(maxBytes);
  buffer.push(Buffer.from(text));
  const { text: kept, truncated } = buffer.finish();
  return { text: kept, truncated };
}

/** Length of `buf` without a trailing, incomplete UTF-8 sequence. */
function utf8End(buf: Buffer): number {
  for (let back = 1; back <= Math.min(4, buf.length); back += 1) {
    const byte = buf[buf.length - back]!;
    if ((byte & 0xc0) === 0x80) continue;
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? buf.length - back : buf.length;
  }
  return buf.length;
}

/** Offset of the first byte in `buf` that does not continue a sequence cut off before it. */
function utf8Start(buf: Buffer): number {
  let i = 0;
  while (i < Math.min(3, buf.length) && (buf[i]! & 0xc0) === 0x80) i += 1;
  return i;
}
