/**
 * Removes secrets from what comes back to the sandbox, before it sees them: the Apify token from
 * the API's answers (an Actor the script runs could echo it into its dataset, log, error messages
 * or headers), and the operator's tool secrets from what tools return. Catches each secret in any
 * case and in its common encodings, each character as itself, `%XX` or a JSON `\uXXXX` (mixed
 * freely), as hex, and as base64 or base64url at any alignment. Works on a stream split at any
 * byte, holding back only the bytes that could still be the start of a match.
 */
import { Transform } from 'node:stream';

export const REDACTED = '[token redacted]';

/** Secrets shorter than this are not scrubbed: replacing them would mangle ordinary text. */
const MIN_TOKEN_LENGTH = 8;

/** One secret, several, or none: the relay scrubs every secret of the run from every answer. */
export type Secrets = string | undefined | readonly string[];

export interface Scrubber {
  /** Bytes safe to pass on now; the possible start of a token is kept for the next chunk. */
  push(chunk: Buffer): Buffer;
  /** What was held back, at the end of the stream. */
  end(): Buffer;
}

interface Patterns {
  regexes: RegExp[];
  /** The longest text any of them matches. */
  maxLength: number;
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const hex2 = (code: number) => code.toString(16).padStart(2, '0');

/** The part of base64(prefix + token) that depends on the token's bits only, for each alignment. */
function base64Forms(token: Buffer): string[] {
  const forms: string[] = [];
  for (let shift = 0; shift < 3; shift += 1) {
    const encoded = Buffer.concat([Buffer.alloc(shift), token]).toString('base64');
    const from = Math.ceil((8 * shift) / 6);
    const to = Math.floor((8 * (shift + token.length)) / 6);
    forms.push(encoded.slice(from, to));
  }
  return forms;
}

/** The secrets worth scrubbing, longest first (a secret that contains another is replaced whole). */
function secretList(secrets: Secrets): string[] {
  const list = typeof secrets === 'string' ? [secrets] : [...(secrets ?? [])];
  return [...new Set(list.filter((secret) => secret.length >= MIN_TOKEN_LENGTH))].sort((a, b) => b.length - a.length);
}

let cached: { key: string; patterns: Patterns } | undefined;

function patternsOf(list: string[]): Patterns {
  const key = list.join('\0');
  if (cached?.key === key) return cached.patterns;
  const plain: string[] = [];
  const b64: string[] = [];
  let maxLength = 0;
  for (const secret of list) {
    const bytes = Buffer.from(secret);
    // Case-insensitive: each byte as itself (any case), %XX or \u00XX, or the whole secret as hex.
    plain.push([...bytes].map((b) => `(?:${escapeRegex(String.fromCharCode(b))}|%${hex2(b)}|\\\\u00${hex2(b)})`).join(''));
    const hex = bytes.toString('hex');
    plain.push(hex);
    // Case-sensitive: base64, with base64url's two letters allowed in place of + and /.
    b64.push(...base64Forms(bytes).map((form) => [...form].map((c) => (c === '+' ? '[+-]' : c === '/' ? '[/_]' : c)).join('')));
    maxLength = Math.max(maxLength, 6 * bytes.length, hex.length);
  }
  const patterns = { regexes: [new RegExp(plain.join('|'), 'gi'), new RegExp(b64.join('|'), 'g')], maxLength };
  cached = { key, patterns };
  return patterns;
}

function replaceAll(patterns: Patterns, text: string): string {
  let out = text;
  for (const regex of patterns.regexes) out = out.replace(regex, REDACTED);
  return out;
}

export function createScrubber(secrets: Secrets): Scrubber {
  const list = secretList(secrets);
  if (list.length === 0) return { push: (chunk) => chunk, end: () => Buffer.alloc(0) };
  const patterns = patternsOf(list);
  // Latin-1 maps each byte to one character and back, so any bytes survive the regexes unchanged.
  let held = '';
  return {
    push(chunk) {
      const out = replaceAll(patterns, held + chunk.toString('latin1'));
      const keepFrom = Math.max(0, out.length - (patterns.maxLength - 1));
      held = out.slice(keepFrom);
      return Buffer.from(out.slice(0, keepFrom), 'latin1');
    },
    end() {
      const rest = Buffer.from(held, 'latin1');
      held = '';
      return rest;
    },
  };
}

/** A header value or other short text, scrubbed whole. */
export function scrubText(secrets: Secrets, text: string): string {
  const list = secretList(secrets);
  if (list.length === 0) return text;
  return replaceAll(patternsOf(list), text);
}

/** The scrubber as a stream stage. */
export function scrubStream(secrets: Secrets): Transform {
  const scrubber = createScrubber(secrets);
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
export function scrubBuffer(secrets: Secrets, body: Buffer): Buffer {
  const scrubber = createScrubber(secrets);
  return Buffer.concat([scrubber.push(body), scrubber.end()]);
}
