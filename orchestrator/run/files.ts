/**
 * A run's input files as a caller gives them (`runCode({ files: { NAME: string | Uint8Array } })`),
 * checked once: plain names (the relay's rule, `../relay/file-names.ts`), each file and all of them
 * within their limits, a content type inferred from the name. Every error is a TypeError naming the
 * file and the limit, with sizes in MiB. Bytes are served as the caller gave them (text is encoded
 * once), not copied: a caller that changes its buffer during the run changes what the script reads.
 */
import { inferContentType } from '../relay/content-type.js';
import { FILE_NAME_RULE, fileNameProblem, showName } from '../relay/file-names.js';
import { mib, type InputFile } from '../relay/file-store.js';

// For the front doors, which reach the relay's rules through the run core.
export { FILE_NAME_RULE, fileNameProblem, showName } from '../relay/file-names.js';
export { inferContentType, isContentType, mediaType } from '../relay/content-type.js';
export { mib } from '../relay/file-store.js';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Whether JSON's `{ "base64": … }` of an input file is base64 (padding optional; a length of 4n + 1 never is). */
export function isBase64(text: string): boolean {
  return text.length % 4 !== 1 && BASE64.test(text);
}

/** Input files one run may have (each is a line of the sandbox's envelope). */
export const MAX_INPUT_FILES = 1000;

export interface InputLimits {
  maxFileBytes: number;
  maxFilesInBytes: number;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${Object.getPrototypeOf(value)?.constructor?.name ?? 'no prototype'})` : typeof value;
}

/** The checked inputs, in the caller's order; `[]` when there are none. Throws TypeError. */
export function normalizeInputFiles(value: unknown, limits: InputLimits): InputFile[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError(`Expected the \`files\` option to be an object of file name → text or bytes, got ${describeValue(value)}`);
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_INPUT_FILES) {
    throw new TypeError(`The \`files\` option has ${entries.length} files, over the limit of ${MAX_INPUT_FILES} input files; pack them into fewer (e.g. one archive or JSON)`);
  }
  const files: InputFile[] = [];
  let total = 0;
  for (const [name, data] of entries) {
    const problem = fileNameProblem(name);
    if (problem) throw new TypeError(`Input file ${showName(name)} has a name that is not ${FILE_NAME_RULE}: ${problem}`);
    let bytes: Uint8Array;
    if (typeof data === 'string') bytes = Buffer.from(data, 'utf8');
    // Served as given, not copied: a run costs its caller no second copy of its inputs.
    else if (data instanceof Uint8Array) bytes = data;
    else throw new TypeError(`Expected input file ${showName(name)} to be a string or a Uint8Array, got ${describeValue(data)}`);
    if (bytes.length > limits.maxFileBytes) {
      throw new TypeError(`Input file ${showName(name)} is ${mib(bytes.length)}, over the limit of ${mib(limits.maxFileBytes)} per file (maxFileBytes)`);
    }
    total += bytes.length;
    if (total > limits.maxFilesInBytes) {
      throw new TypeError(`The input files come to more than ${mib(limits.maxFilesInBytes)} (at ${showName(name)}), over the limit for all input files together (maxFilesInBytes)`);
    }
    files.push({ name, contentType: inferContentType(name, bytes), bytes });
  }
  return files;
}
