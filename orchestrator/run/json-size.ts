/**
 * What printed bytes cost once decoded as UTF-8 and written as a JSON string, which is how every
 * answer of the server carries them: a control byte becomes six (`\u0001`), a quote, backslash or
 * newline two, an invalid byte U+FFFD (three bytes; charged three per byte, never less than sent).
 * Used to bound a page or an answer by what it costs on the wire, not by its raw bytes.
 */

/** JSON bytes of each ASCII byte. */
const ASCII_COST = (() => {
  const cost = new Uint8Array(128).fill(1);
  for (let byte = 0; byte < 0x20; byte += 1) cost[byte] = 6;
  for (const byte of [0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x22, 0x5c]) cost[byte] = 2;
  return cost;
})();

/**
 * The UTF-8 sequence at `at`: its length when valid (1–4), minus the length of the invalid bytes
 * there (decoded as U+FFFD), or 0 when `bytes` ends inside a sequence that may yet be valid.
 * The byte ranges are the decoder's (WHATWG Encoding), so what is valid here decodes as it is.
 */
function sequenceAt(bytes: Uint8Array, at: number): number {
  const lead = bytes[at]!;
  if (lead < 0x80) return 1;
  let need: number;
  let low = 0x80;
  let high = 0xbf;
  if (lead >= 0xc2 && lead <= 0xdf) need = 2;
  else if (lead >= 0xe0 && lead <= 0xef) {
    need = 3;
    if (lead === 0xe0) low = 0xa0;
    if (lead === 0xed) high = 0x9f;
  } else if (lead >= 0xf0 && lead <= 0xf4) {
    need = 4;
    if (lead === 0xf0) low = 0x90;
    if (lead === 0xf4) high = 0x8f;
  } else return -1;
  for (let index = 1; index < need; index += 1) {
    if (at + index >= bytes.length) return 0;
    const byte = bytes[at + index]!;
    if (byte < (index === 1 ? low : 0x80) || byte > (index === 1 ? high : 0xbf)) return -index;
  }
  return need;
}

/**
 * Walks `bytes` sequence by sequence from `from`: calls `step(length, cost)` for each, stopping
 * when it returns false. At the end of `bytes`, a sequence that is not all there counts as invalid.
 */
function walk(bytes: Uint8Array, from: number, step: (length: number, cost: number) => boolean): void {
  for (let at = from; at < bytes.length;) {
    let found = sequenceAt(bytes, at);
    if (found === 0) found = -(bytes.length - at);
    const length = Math.abs(found);
    const cost = found === 1 ? ASCII_COST[bytes[at]!]! : found > 0 ? found : 3 * length;
    if (!step(length, cost)) return;
    at += length;
  }
}

/** JSON bytes of `bytes` decoded (the quotes aside). */
export function jsonSize(bytes: Uint8Array): number {
  let total = 0;
  walk(bytes, 0, (_, cost) => {
    total += cost;
    return true;
  });
  return total;
}

/** The longest prefix of `bytes`, ending between characters, whose JSON costs at most `budget`. */
export function jsonFitHead(bytes: Uint8Array, budget: number): number {
  let end = 0;
  let spent = 0;
  walk(bytes, 0, (length, cost) => {
    if (spent + cost > budget) return false;
    spent += cost;
    end += length;
    return true;
  });
  return end;
}

/**
 * Where the shortest suffix of `bytes` starts, beginning on a character, whose JSON costs at most
 * `budget` (bytes continuing a character cut off before them are never a start).
 */
export function jsonFitTail(bytes: Uint8Array, budget: number): number {
  let first = 0;
  while (first < Math.min(3, bytes.length) && (bytes[first]! & 0xc0) === 0x80) first += 1;
  let over = -budget;
  walk(bytes, first, (_, cost) => {
    over += cost;
    return true;
  });
  let start = first;
  walk(bytes, first, (length, cost) => {
    if (over <= 0) return false;
    over -= cost;
    start += length;
    return true;
  });
  return start;
}
