/**
 * Removes the token from what the API sends back, before the sandbox sees it: an Actor the script
 * runs could echo the token into its dataset, log or error messages. Works on a stream split at
 * any byte, holding back only the bytes that could still be the start of the token.
 */
import { Transform } from 'node:stream';

export const REDACTED = '[token redacted]';

/** Tokens shorter than this are not scrubbed: replacing them would mangle ordinary text. */
const MIN_TOKEN_LENGTH = 8;

export interface Scrubber {
  /** Bytes safe to pass on now; the possible start of a token is kept for the next chunk. */
  push(chunk: Buffer): Buffer;
  /** What was held back, at the end of the stream. */
  end(): Buffer;
}

export function createScrubber(token: string | undefined): Scrubber {
  if (!token || token.length < MIN_TOKEN_LENGTH) return { push: (chunk) => chunk, end: () => Buffer.alloc(0) };
  const needle = Buffer.from(token);
  const replacement = Buffer.from(REDACTED);
  let held = Buffer.alloc(0);
  return {
    push(chunk) {
      const buf = held.length > 0 ? Buffer.concat([held, chunk]) : chunk;
      const out: Buffer[] = [];
      let from = 0;
      for (let at = buf.indexOf(needle, from); at !== -1; at = buf.indexOf(needle, from)) {
        out.push(buf.subarray(from, at), replacement);
        from = at + needle.length;
      }
      const keepFrom = Math.max(from, buf.length - (needle.length - 1));
      out.push(buf.subarray(from, keepFrom));
      held = Buffer.from(buf.subarray(keepFrom));
      return Buffer.concat(out);
    },
    end() {
      const rest = held;
      held = Buffer.alloc(0);
      return rest;
    },
  };
}

/** The scrubber as a stream stage. */
export function scrubStream(token: string | undefined): Transform {
  const scrubber = createScrubber(token);
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      done(null, scrubber.push(chunk));
    },
    flush(done) {
      done(null, scrubber.end());
    },
  });
}

/** A whole buffer, scrubbed. */
export function scrubBuffer(token: string | undefined, body: Buffer): Buffer {
  const scrubber = createScrubber(token);
  return Buffer.concat([scrubber.push(body), scrubber.end()]);
}
