/**
 * What `runCode` keeps of one output stream: the capped head-and-tail buffer (`held-bytes.ts`: the
 * cap plus at most two blocks, however the script chunks its writes), decoded at the end with the
 * one head-and-tail cut (`cut.ts`: cut at a line boundary when one is near, one marker line saying
 * what was cut and where to page from). Decoding replaces invalid UTF-8; cuts never split a character.
 */
import { headAndTail } from './cut.js';
import { HeldBytes } from './held-bytes.js';

export interface CapturedOutput {
  text: string;
  /** Bytes the script wrote, including any dropped. */
  bytes: number;
  truncated: boolean;
}

export class OutputBuffer {
  readonly #held: HeldBytes;

  constructor(cap: number) {
    this.#held = new HeldBytes(cap);
  }

  get bytes(): number {
    return this.#held.totalBytes;
  }

  push(chunk: Uint8Array): void {
    this.#held.push(chunk);
  }

  /** Decodes what was kept: whole, or head and tail around the marker. */
  finish(): CapturedOutput {
    const { text, truncated } = headAndTail(this.#held, this.#held.cap);
    return { text, bytes: this.#held.totalBytes, truncated };
  }
}

/**
 * `text` kept to `maxBytes` as a stream would be: whole if it fits, else head and tail with the
 * marker. `streamBytes`: the stream's size when `text` is already a cut of it (the marker then
 * counts the bytes the stream is missing, not just those of `text`).
 */
export function capText(text: string, maxBytes: number, streamBytes?: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= maxBytes) return { text, truncated: false };
  const held = new HeldBytes(maxBytes);
  held.push(Buffer.from(text));
  return headAndTail(held, maxBytes, { streamBytes });
}
