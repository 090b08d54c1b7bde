/**
 * Keeps the guest's failure report (a secret-tagged line on stderr, meant for `result.ts` only) out
 * of the live stream: bytes that could begin the report are held back until they can be told
 * apart, a whole report is dropped through its newline, and whatever is held is let out at the end.
 */

import type { OutputListener } from '../../types/options.js';

export class RecordFilter {
  readonly #prefix: Buffer;
  #held = Buffer.alloc(0);
  /** Inside a report: dropping until its newline. */
  #dropping = false;

  constructor(prefix: Buffer) {
    this.#prefix = prefix;
  }

  /** The part of `chunk` (with what was held before) that is safe to pass on now. */
  push(chunk: Buffer): Buffer {
    let data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = Buffer.alloc(0);
    const out: Buffer[] = [];
    while (data.length > 0) {
      if (this.#dropping) {
        const newline = data.indexOf(0x0a);
        if (newline < 0) return Buffer.concat(out);
        this.#dropping = false;
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
    const rest = this.#dropping ? Buffer.alloc(0) : this.#held;
    this.#held = Buffer.alloc(0);
    return rest;
  }

  /** Length of the longest tail of `data` that is a beginning of the prefix. */
  #partialPrefixAtEnd(data: Buffer): number {
    for (let length = Math.min(this.#prefix.length - 1, data.length); length > 0; length -= 1) {
      if (data.subarray(data.length - length).equals(this.#prefix.subarray(0, length))) return length;
    }
    return 0;
  }
}

/** `listener` with the report filtered out of its stderr; call `flush()` once the child has exited. */
export function filteredListener(listener: OutputListener, prefix: Buffer): { listener: OutputListener; flush(): void } {
  const filter = new RecordFilter(prefix);
  return {
    listener: (stream, chunk) => {
      const pass = stream === 'stderr' ? filter.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) : chunk;
      if (pass.length > 0) listener(stream, pass);
    },
    flush: () => {
      const rest = filter.end();
      if (rest.length > 0) listener('stderr', rest);
    },
  };
}
