/**
 * Deno's report of a top-level await that never settles, the one stack about the script that Deno
 * prints itself rather than through the guest (which names the script in every other): the line
 * `error: Top-level await promise never resolved`, the awaiting source line, a caret, and
 * `    at <anonymous> (blob:null/<uuid>:L:C)`, the module's internal URL. It is the last thing the
 * process prints. `nameStall` names the script there in a whole text (the result); `StallNaming`
 * does the same to stderr as it streams (the live listener, and so the server's stored streams),
 * so both read alike. Output before the report passes untouched and unheld, except the start of a
 * line that may yet become the report's first (held until it can be told apart, at most a line).
 */

/** Deno's first line when a top-level await never settles (result.ts: "Script never finished"). */
export const TLA_STALL = 'error: Top-level await promise never resolved';

const BLOB_URL = /blob:null\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;
const MARKER = Buffer.from(TLA_STALL);
/** Past this, a held partial line is let out (Deno's report lines are short; a script's may not be). */
const HOLD_MAX_BYTES = 64 * 1024;
const EMPTY = Buffer.alloc(0);

/** Where the report's first line starts in `text` (at a line start), or -1. */
function reportStart(text: string, atLineStart: boolean): number {
  for (let at = text.indexOf(TLA_STALL); at >= 0; at = text.indexOf(TLA_STALL, at + 1)) {
    const lineStart = at === 0 ? atLineStart : text[at - 1] === '\n';
    const end = at + TLA_STALL.length;
    if (lineStart && (end === text.length || text[end] === '\n')) return at;
  }
  return -1;
}

/** `text` with the script named in Deno's report of a stalled top-level await, if it holds one. */
export function nameStall(text: string, scriptName: string): string {
  const at = reportStart(text, true);
  return at < 0 ? text : text.slice(0, at) + text.slice(at).replace(BLOB_URL, () => scriptName);
}

/** The same for stderr as it streams: `push` each chunk, show what it returns, and `end()` last. */
export class StallNaming {
  readonly #scriptName: string;
  #held = EMPTY;
  /** The report has begun: everything from there on is named. */
  #inReport = false;
  /** The last byte let out ended a line. */
  #atLineStart = true;

  constructor(scriptName: string) {
    this.#scriptName = scriptName;
  }

  push(chunk: Buffer): Buffer {
    const data = this.#held.length > 0 ? Buffer.concat([this.#held, chunk]) : chunk;
    this.#held = EMPTY;
    // Whole lines are named; a line's end is never inside a character, so decoding them is safe.
    const lastLineEnd = data.lastIndexOf(0x0a);
    const lines = this.#name(data.subarray(0, lastLineEnd + 1));
    const tail = data.subarray(lastLineEnd + 1);
    if (tail.length === 0) return lines;
    if (tail.length <= HOLD_MAX_BYTES && (this.#inReport || (this.#atLineStart && this.#mayBeMarker(tail)))) {
      this.#held = Buffer.from(tail);
      return lines;
    }
    const rest = this.#inReport ? this.#name(tail) : tail;
    this.#atLineStart = false;
    return lines.length === 0 ? rest : Buffer.concat([lines, rest]);
  }

  /** `tail`, the start of a line, may yet turn out to be the report's first line. */
  #mayBeMarker(tail: Buffer): boolean {
    return tail.length <= MARKER.length && MARKER.subarray(0, tail.length).equals(tail);
  }

  /** What is still held: the end of the stream decides nothing more. */
  end(): Buffer {
    const held = this.#held;
    this.#held = EMPTY;
    return this.#name(held);
  }

  #name(bytes: Buffer): Buffer {
    if (bytes.length === 0) return bytes;
    const atLineStart = this.#atLineStart;
    this.#atLineStart = bytes[bytes.length - 1] === 0x0a;
    // In the report, lines are held until whole, so these bytes start at a line's start.
    if (this.#inReport) return this.#named(bytes);
    // Found in bytes, not text: what came before may have been let out in the middle of a character.
    for (let at = bytes.indexOf(MARKER); at >= 0; at = bytes.indexOf(MARKER, at + 1)) {
      const end = at + MARKER.length;
      if ((at === 0 ? atLineStart : bytes[at - 1] === 0x0a) && (end === bytes.length || bytes[end] === 0x0a)) {
        this.#inReport = true;
        return Buffer.concat([bytes.subarray(0, at), this.#named(bytes.subarray(at))]);
      }
    }
    return bytes;
  }

  /** `bytes` with the script named, every other byte as it was (never decoded: a held line may end mid-character, or be no UTF-8). */
  #named(bytes: Buffer): Buffer {
    // The URL is ASCII: found in the bytes read one to one as Latin-1, at the same offsets.
    const text = bytes.toString('latin1');
    const pieces: Buffer[] = [];
    let from = 0;
    for (const found of text.matchAll(BLOB_URL)) {
      pieces.push(bytes.subarray(from, found.index), Buffer.from(this.#scriptName));
      from = found.index + found[0].length;
    }
    if (from === 0) return bytes;
    pieces.push(bytes.subarray(from));
    return Buffer.concat(pieces);
  }
}
