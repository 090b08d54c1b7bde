/**
 * What a file name may be, in one place: the relay checks every name the sandbox sends, and the
 * front doors check the names of input files with the same function. A name is plain — it can be
 * written as a file in any folder without leaving it or hiding (`--files-out DIR`, a key-value store
 * record) and shown on one line: 1–255 bytes of UTF-8, no `/` or `\`, no `..`, not `.` (the folder
 * itself), no NUL or other control characters. Pure functions.
 */

export const FILE_NAME_MAX_BYTES = 255;

/** The rule, as messages say it. */
export const FILE_NAME_RULE = `a plain name of 1–${FILE_NAME_MAX_BYTES} bytes of UTF-8 with no \`/\`, \`\\\`, \`..\`, NUL or control characters, and not \`.\``;

// Control characters (C0, DEL, C1), and a surrogate without its pair (no UTF-8 for it).
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Why `name` is not a plain file name, or undefined when it is. */
export function fileNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return `a name must be a string, got ${name === null ? 'null' : typeof name}`;
  if (name.length === 0) return 'the name is empty';
  if (name.includes('/') || name.includes('\\')) return 'a name has no `/` or `\\` (files have no folders)';
  if (name.includes('..')) return 'a name has no `..`';
  // The folder itself: `--files-out DIR` would open DIR, a key-value store's local folder likewise.
  if (name === '.') return 'a name is not `.` (that is the folder itself)';
  if (name.includes('\0')) return 'a name has no NUL';
  if (CONTROL.test(name)) return 'a name has no control characters (line breaks, tabs…)';
  if (LONE_SURROGATE.test(name)) return 'the name is not valid UTF-8 (a lone surrogate)';
  const bytes = Buffer.byteLength(name);
  if (bytes > FILE_NAME_MAX_BYTES) return `the name is ${bytes} bytes of UTF-8, over the limit of ${FILE_NAME_MAX_BYTES}`;
  return undefined;
}

/** A name shown in a message: quoted, control characters escaped, at most ~80 characters. */
export function showName(name: unknown): string {
  const text = typeof name === 'string' ? name : String(name);
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}
