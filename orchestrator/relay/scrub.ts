/**
 * Removes secrets from what comes back to the sandbox, before it sees them: the Apify token from
 * the API's answers (an Actor the script runs could echo it into its dataset, log, error messages
 * or headers), and the operator's tool secrets from what tools return. Catches each secret in any
 * case and in its common encodings, each character as itself, `%XX`, `%25XX` (encoded twice), a
 * JSON `\uXXXX` or `\/`, or an HTML character reference (`&#x2f;`, `&#47;`, `&amp;`) — mixed
 * freely — as hex, and as base64 or base64url at any alignment. Works on a stream split at any
 * byte, holding back only the bytes that could still be the start of a match: a stream that
 * carries no part of a secret passes on at once (an event stream's events are not held back).
 * Text that holds none of what a match must contain skips the regexes (most of what passes).
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
  /** Each secret's forms, to tell whether a tail of the text could still become a match. */
  forms: SecretForms[];
  /** Every character a match can start with. */
  firstChars: Set<string>;
  /**
   * What a match must contain, to skip the regexes on text that holds none of it (most text): each
   * secret or its hex in any letter case (a plain match in text with no `%` or `\` is the secret
   * itself), and for each base64 form its longest run without `+` or `/`. Literal alternations,
   * which the regex engine scans for fast.
   */
  needles: { plain: RegExp; base64: RegExp };
}

interface SecretForms {
  /** Per byte, what the case-insensitive regex takes for it: the character and its escapes (`byteForms`). */
  tokens: string[][];
  hex: string;
  /** base64 forms, with `+` and `/` standing for either of base64's and base64url's letters. */
  base64: string[];
}

const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
const hex2 = (code: number) => code.toString(16).padStart(2, '0');

/** HTML's named references for the characters an HTML encoder always escapes. */
const HTML_NAMED: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/**
 * Every way one byte of a secret may be written in text an echo hands back: itself, `%XX`, `%25XX`
 * (a URL encoded twice), JSON's `\u00XX`, `\"`, `\\` and `\/` (PHP's json_encode writes it for every `/`),
 * and HTML's character references (`&#x2f;`, `&#47;`, `&amp;`), which HTML encoders use.
 */
function byteForms(byte: number): string[] {
  const char = String.fromCharCode(byte);
  const forms = [char, `%${hex2(byte)}`, `%25${hex2(byte)}`, `\\u00${hex2(byte)}`, `&#x${hex2(byte)};`, `&#x${byte.toString(16)};`, `&#${byte};`];
  // JSON's two-character escapes of the characters it must or may escape.
  if (char === '/' || char === '"' || char === '\\') forms.push(`\\${char}`);
  const named = HTML_NAMED[char];
  if (named) forms.push(named);
  return [...new Set(forms)];
}

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
  const forms: SecretForms[] = [];
  const firstChars = new Set<string>(['%', '\\', '&']);
  const plainNeedles: string[] = [];
  const base64Needles: string[] = [];
  let maxLength = 0;
  for (const secret of list) {
    const bytes = Buffer.from(secret);
    const tokens = [...bytes].map(byteForms);
    // Case-insensitive: each byte as itself (any case) or any of its escapes, or the whole secret as hex.
    plain.push(tokens.map((forms) => `(?:${forms.map(escapeRegex).join('|')})`).join(''));
    const hex = bytes.toString('hex');
    plain.push(hex);
    // Case-sensitive: base64, with base64url's two letters allowed in place of + and /.
    const base64 = base64Forms(bytes);
    b64.push(...base64.map((form) => [...form].map((c) => (c === '+' ? '[+-]' : c === '/' ? '[/_]' : c)).join('')));
    const longest = tokens.reduce((sum, forms) => sum + Math.max(...forms.map((form) => form.length)), 0);
    maxLength = Math.max(maxLength, longest, hex.length);
    forms.push({ tokens, hex, base64 });
    plainNeedles.push(escapeRegex(bytes.toString('latin1')), hex);
    for (const form of base64) base64Needles.push(escapeRegex(form.split(/[+/]/).sort((a, b) => b.length - a.length)[0] ?? ''));
    for (const first of [String.fromCharCode(bytes[0] ?? 0), hex[0] ?? '']) firstChars.add(first.toLowerCase()).add(first.toUpperCase());
    for (const form of base64) firstChars.add(form[0] === '+' ? '-' : form[0] === '/' ? '_' : form[0] ?? '').add(form[0] ?? '');
  }
  const patterns = {
    regexes: [new RegExp(plain.join('|'), 'gi'), new RegExp(b64.join('|'), 'g')], maxLength, forms, firstChars,
    needles: { plain: new RegExp(plainNeedles.join('|'), 'i'), base64: new RegExp(base64Needles.join('|')) },
  };
  cached = { key, patterns };
  return patterns;
}

/** Case-insensitive, as the regex's `i` flag compares (a superset of it: holding back more never leaks). */
function sameLetter(a: string, b: string): boolean {
  return a === b || a.toLowerCase() === b.toLowerCase() || a.toUpperCase() === b.toUpperCase();
}

/**
 * Whether `text` from `from` to its end could be the start of one of the secret's plain forms (each
 * byte as itself or any of its escapes, mixed): the bytes each token might still become, followed as
 * a set of positions, so a `%`, `\` or `&` in a secret is tried both ways.
 */
function plainPrefix(tokens: string[][], text: string, from: number): boolean {
  // A state: the secret's byte, which of its tokens, how far into it.
  let states: Array<[number, number, number]> = tokens[0]!.map((_, which) => [0, which, 0]);
  for (let i = from; i < text.length; i += 1) {
    const next: Array<[number, number, number]> = [];
    for (const [byte, which, offset] of states) {
      const token = tokens[byte]![which]!;
      if (!sameLetter(text[i]!, token[offset]!)) continue;
      if (offset + 1 < token.length) {
        next.push([byte, which, offset + 1]);
      } else if (byte + 1 === tokens.length) {
        // The whole secret: held, so the next push's regexes replace it.
        return true;
      } else {
        for (let w = 0; w < tokens[byte + 1]!.length; w += 1) next.push([byte + 1, w, 0]);
      }
    }
    if (next.length === 0) return false;
    states = next;
  }
  return true;
}

/** Whether `text` from `from` to its end could be the start of `form` (`exact`: case-sensitive, base64's two letters either way). */
function formPrefix(form: string, text: string, from: number, exact: boolean): boolean {
  for (let i = from, j = 0; i < text.length && j < form.length; i += 1, j += 1) {
    const want = form[j]!;
    const got = text[i]!;
    const ok = exact ? got === want || (want === '+' && got === '-') || (want === '/' && got === '_') : sameLetter(got, want);
    if (!ok) return false;
  }
  return true;
}

/** Where the tail that could still become a match starts: everything before it is safe to pass on. */
function holdFrom(patterns: Patterns, text: string): number {
  for (let at = Math.max(0, text.length - (patterns.maxLength - 1)); at < text.length; at += 1) {
    if (!patterns.firstChars.has(text[at]!)) continue;
    for (const form of patterns.forms) {
      if (plainPrefix(form.tokens, text, at) || formPrefix(form.hex, text, at, false)
        || form.base64.some((b64) => formPrefix(b64, text, at, true))) return at;
    }
  }
  return text.length;
}

function replaceAll(patterns: Patterns, text: string): string {
  const [plain, base64] = patterns.regexes as [RegExp, RegExp];
  let out = text;
  if (text.includes('%') || text.includes('\\') || text.includes('&') || patterns.needles.plain.test(text)) out = out.replace(plain, REDACTED);
  if (patterns.needles.base64.test(out)) out = out.replace(base64, REDACTED);
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
      const text = held + chunk.toString('latin1');
      const out = replaceAll(patterns, text);
      const keepFrom = holdFrom(patterns, out);
      // Nothing replaced and nothing held before: the chunk's own bytes go on, uncopied.
      const passed = out === text && held === '' ? chunk.subarray(0, keepFrom) : Buffer.from(out.slice(0, keepFrom), 'latin1');
      held = out.slice(keepFrom);
      return passed;
    },
    end() {
      const rest = Buffer.from(held, 'latin1');
      held = '';
      return rest;
    },
  };
}

/** A scrubber of short texts (an answer's header values) for one list of secrets, made once for all of them. */
export function textScrubber(secrets: Secrets): (text: string) => string {
  const list = secretList(secrets);
  if (list.length === 0) return (text) => text;
  const patterns = patternsOf(list);
  return (text) => replaceAll(patterns, text);
}

/** A header value or other short text, scrubbed whole. */
export function scrubText(secrets: Secrets, text: string): string {
  return textScrubber(secrets)(text);
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
