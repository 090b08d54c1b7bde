/**
 * V8's fatal out-of-memory report (its GC trace, the `#` banner and a native stack naming the
 * host's install path) and the live filter that keeps it from whoever watches stderr as it is
 * printed. V8 prints it as the process dies, so the filter holds stderr back from where such a
 * report could begin until the run ends: dropped when the run died of it (SIGTRAP with the fatal
 * line), let out otherwise. A script that prints the marker only delays its own stderr, and never
 * by more than `HOLD_MAX_BYTES` at a time (a later marker in what it held is held again, so padding
 * cannot push V8's report out), or `FATAL_HOLD_MAX_BYTES` after a fatal banner (so output racing
 * the dying process cannot either). `result.ts` cuts the same report out of the captured stderr.
 */

/** Where V8's own report of a fatal out-of-memory begins: its GC trace, or the `#` banner. */
export const V8_TRACE_STARTS = ['\n<--- Last few GCs --->', '\n#\n# Fatal '];
/** The line that proves it was V8's report (with the SIGTRAP it dies by, a signal the script cannot send). */
export const HEAP_FATAL = /Fatal (JavaScript|process) out of memory/;

/** V8's report is a few KiB; past this, what is held is the script's own and flows again. */
const HOLD_MAX_BYTES = 64 * 1024;
/** Held after V8's fatal banner, which the process's death follows within moments. */
const FATAL_HOLD_MAX_BYTES = 1024 * 1024;
const MARKERS = V8_TRACE_STARTS.map((marker) => Buffer.from(marker.slice(1)));
/** Each marker with the newline before it: a marker only counts at a line's start. */
const NEEDLES = V8_TRACE_STARTS.map((marker) => Buffer.from(marker));
const LONGEST = Math.max(...MARKERS.map((marker) => marker.length));

export class V8TraceHold {
  /** The start of a line that may yet become a marker: held until it can be told apart. */
  #pending = Buffer.alloc(0);
  /** Bytes held from a marker on, until the run ends. */
  #held: Buffer[] = [];
  #heldBytes = 0;
  #holding = false;
  /** Whether the last byte passed on ended a line (a marker starts a line). */
  #lineStart = true;
  /** What is held begins with V8's fatal banner: held up to the larger cap. */
  #fatal = false;

  /** The part of `chunk` that may be shown now. */
  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    if (this.#holding) {
      this.#held.push(chunk);
      this.#heldBytes += chunk.length;
      if (this.#heldBytes <= (this.#fatal ? FATAL_HOLD_MAX_BYTES : HOLD_MAX_BYTES)) return Buffer.alloc(0);
      return this.#overflow();
    }
    const data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    this.#pending = Buffer.alloc(0);
    const found = this.#find(data);
    if (found.full) {
      this.#holding = true;
      this.#held = [data.subarray(found.at)];
      this.#heldBytes = data.length - found.at;
    } else if (found.at >= 0) {
      this.#pending = Buffer.from(data.subarray(found.at));
    }
    const out = found.at >= 0 ? data.subarray(0, found.at) : data;
    if (out.length > 0) this.#lineStart = out[out.length - 1] === 0x0a;
    // One chunk can carry a look-alike, the script's padding and more at once.
    if (this.#holding && this.#heldBytes > HOLD_MAX_BYTES) return Buffer.concat([out, this.#overflow()]);
    return out;
  }

  /** At the run's end: what is still held, unless it was V8's report of the death just seen. */
  end(diedOfHeap: (held: string) => boolean): Buffer {
    const pending = this.#pending;
    this.#pending = Buffer.alloc(0);
    if (!this.#holding) return pending;
    const held = this.#release();
    return diedOfHeap(held.toString('latin1')) ? Buffer.alloc(0) : held;
  }

  /**
   * Past the cap, what is held was the script's own look-alike and flows again, up to the last
   * marker in it: V8's real report may follow a look-alike (and the script's padding) at once.
   */
  #overflow(): Buffer {
    const all = this.#release();
    // After V8's fatal banner the process dies at once: what follows it (a Worker's flood) is held longer.
    if (all.length <= FATAL_HOLD_MAX_BYTES && HEAP_FATAL.test(all.subarray(0, 512).toString('latin1'))) {
      this.#holding = true;
      this.#fatal = true;
      this.#held = [all];
      this.#heldBytes = all.length;
      return Buffer.alloc(0);
    }
    const last = Math.max(...NEEDLES.map((needle) => all.lastIndexOf(needle)));
    if (last > 0) {
      this.#holding = true;
      this.#held = [all.subarray(last + 1)];
      this.#heldBytes = all.length - last - 1;
      this.#lineStart = true;
      return all.subarray(0, last + 1);
    }
    this.#lineStart = all[all.length - 1] === 0x0a;
    return all;
  }

  #release(): Buffer {
    this.#fatal = false;
    const held = Buffer.concat(this.#held);
    this.#held = [];
    this.#heldBytes = 0;
    this.#holding = false;
    return held;
  }

  /**
   * Where to hold from: the first line start where a whole marker stands, else a line start in the
   * last bytes where a marker's beginning ends the data; -1 for none. Native searches only, so
   * any chunking of any text costs about a memchr per chunk.
   */
  #find(data: Buffer): { at: number; full: boolean } {
    let marker = -1;
    if (this.#lineStart && MARKERS.some((m) => data.length >= m.length && data.compare(m, 0, m.length, 0, m.length) === 0)) marker = 0;
    for (const needle of NEEDLES) {
      if (marker === 0) break;
      const i = data.indexOf(needle);
      if (i >= 0 && (marker < 0 || i + 1 < marker)) marker = i + 1;
    }
    if (marker >= 0) return { at: this.#withBlank(data, marker), full: true };
    for (let from = Math.max(0, data.length - LONGEST + 1); from < data.length; from += 1) {
      if (!(from === 0 ? this.#lineStart : data[from - 1] === 0x0a)) continue;
      const n = data.length - from;
      if (MARKERS.some((m) => n < m.length && data.compare(m, 0, n, from, data.length) === 0)) return { at: this.#withBlank(data, from), full: false };
    }
    return { at: -1, full: false };
  }

  /** V8's report opens with an empty line: held with the marker when it came in the same data. */
  #withBlank(data: Buffer, marker: number): number {
    const blank = marker >= 1 && data[marker - 1] === 0x0a && (marker === 1 ? this.#lineStart : data[marker - 2] === 0x0a);
    return blank ? marker - 1 : marker;
  }
}
