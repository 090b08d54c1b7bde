/**
 * The Actor's files. In: the `files` input field, name → the file's text, `{ text }`, `{ base64 }`,
 * or the URL of a record in the user's key-value store (a string that is such a URL, or `{ url }`),
 * read with the run's token through the Apify API and never past the limits (the record is
 * streamed and cut off at the limit, not buffered first). Out: each file the script wrote becomes a
 * record of the run's default key-value store, under its name when that is a valid key (else a
 * close one), and the item lists `{ name, contentType, size, key, url }`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Readable } from 'node:stream';
import { fileNameProblem, isBase64, mib, showName } from '../run/files.js';
import type { OutputFile } from '../../types/result.js';

/** An input file as the Actor's input gives it, checked but not fetched yet. */
export type FileSource = { text: string } | { base64: string } | { url: string };

/** A file the script wrote, as the item lists it. */
export interface ItemFile {
  name: string;
  contentType: string;
  size: number;
  /** Its record in the run's default key-value store. */
  key: string;
  /** The record's URL: the API's (public) on the platform, a `file:` URL of the local storage otherwise. */
  url: string;
}

/** `…/v2/key-value-stores/STORE/records/KEY`, the shape of a record's API URL. */
const RECORD_URL = /^https?:\/\/[^/?#]+\/v2\/key-value-stores\/([^/?#]+)\/records\/([^/?#]+)(\?[^#]*)?$/;

/** The `files` input field checked: a problem sentence, or the sources by name. */
export function parseFileSources(raw: unknown): { problem: string } | { sources: Record<string, FileSource> } {
  if (raw === undefined || raw === null) return { sources: {} };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { problem: '`files` must be an object of file name → text, { "base64": … } or a key-value store record URL' };
  // Null-prototype: a file named `__proto__` (an own key of the JSON input) is a key like any other.
  const sources = Object.create(null) as Record<string, FileSource>;
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const problem = fileNameProblem(name);
    if (problem) return { problem: `\`files\` has a file named ${showName(name)}: ${problem}` };
    const where = `\`files[${showName(name)}]\``;
    if (typeof value === 'string') {
      sources[name] = RECORD_URL.test(value) ? { url: value } : { text: value };
      continue;
    }
    const object = value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : undefined;
    const keys = object ? Object.keys(object) : [];
    if (!object || keys.length !== 1 || !['text', 'base64', 'url'].includes(keys[0]!) || typeof object[keys[0]!] !== 'string') {
      return { problem: `${where} must be the file's text, { "text": … }, { "base64": … } or { "url": … } (a key-value store record URL)` };
    }
    const given = object[keys[0]!] as string;
    if (keys[0] === 'base64' && !isBase64(given)) return { problem: `${where}.base64 is not base64` };
    if (keys[0] === 'url' && !RECORD_URL.test(given)) {
      return { problem: `${where}.url must be the URL of a key-value store record, https://api.apify.com/v2/key-value-stores/STORE/records/KEY` };
    }
    sources[name] = { [keys[0]!]: given } as FileSource;
  }
  return { sources };
}

/** What reading a record needs: the API's client (loaded by the caller) and the origins its records may be at. */
export interface RecordReader {
  /** The API origins a record URL may name (the run's API, public and internal). */
  origins: readonly string[];
  open(storeId: string, key: string, signature: string | undefined): Promise<{ stream: Readable; contentType?: string } | undefined>;
}

/** A file the input cannot give: the run fails with this message, naming the file. */
export class FileInputError extends Error {
  override name = 'FileInputError';
}

/** Reads at most `max` bytes of a stream; undefined (and the stream destroyed) when it has more. */
async function readCapped(stream: Readable, max: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > max) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** The input files' bytes, fetching record URLs; a missing record or a file over a limit is a FileInputError. */
export async function resolveFileSources(sources: Record<string, FileSource>, reader: RecordReader, limits: { maxFileBytes: number; maxFilesInBytes: number }): Promise<Record<string, Uint8Array>> {
  const files = Object.create(null) as Record<string, Uint8Array>;
  let total = 0;
  for (const [name, source] of Object.entries(sources)) {
    let bytes: Uint8Array;
    if ('text' in source) bytes = Buffer.from(source.text, 'utf8');
    else if ('base64' in source) bytes = Buffer.from(source.base64, 'base64');
    else {
      const url = new URL(source.url);
      const [, storeId = '', key = ''] = RECORD_URL.exec(source.url) ?? [];
      if (!reader.origins.includes(url.origin)) {
        throw new FileInputError(`Input file ${showName(name)}: ${url.origin} is not the Apify API (${reader.origins.join(' or ')}); give the URL of a record in your key-value store`);
      }
      const record = await reader.open(decodeURIComponent(storeId), decodeURIComponent(key), url.searchParams.get('signature') ?? undefined);
      if (!record) throw new FileInputError(`Input file ${showName(name)}: there is no record ${decodeURIComponent(key)} in key-value store ${decodeURIComponent(storeId)} (or this run's token may not read it)`);
      const read = await readCapped(record.stream, Math.min(limits.maxFileBytes, limits.maxFilesInBytes - total));
      if (!read) {
        throw new FileInputError(`Input file ${showName(name)}: the record is over the limit of ${mib(limits.maxFileBytes)} per file, or ${mib(limits.maxFilesInBytes)} for all input files`);
      }
      bytes = read;
    }
    if (bytes.length > limits.maxFileBytes) {
      throw new FileInputError(`Input file ${showName(name)} is ${mib(bytes.length)}, over the limit of ${mib(limits.maxFileBytes)} per file`);
    }
    total += bytes.length;
    if (total > limits.maxFilesInBytes) throw new FileInputError(`The input files come to more than ${mib(limits.maxFilesInBytes)}, over the limit for all input files together (at ${showName(name)})`);
    files[name] = bytes;
  }
  return files;
}

/** Keys of the default store the Actor uses itself. */
const RESERVED_KEYS = new Set(['INPUT', 'OUTPUT', 'stdout.txt', 'stderr.txt']);
const VALID_KEY = /^[a-zA-Z0-9!\-_.'()]{1,256}$/;

/** A record key per file: its name when that is a valid key not taken, else the name made valid (`-2`, `-3`… when taken). */
export function recordKeys(names: readonly string[]): string[] {
  const taken = new Set(RESERVED_KEYS);
  return names.map((name) => {
    let base = VALID_KEY.test(name) ? name : name.replace(/[^a-zA-Z0-9!\-_.'()]/g, '_').slice(0, 240) || 'file';
    if (RESERVED_KEYS.has(base)) base = `file-${base}`;
    let key = base;
    for (let n = 2; taken.has(key); n += 1) key = `${base}-${n}`;
    taken.add(key);
    return key;
  });
}

/** Where the SDK's local storage (off the platform) keeps a record, as a `file:` URL. */
export function localRecordUrl(storageDir: string, storeName: string, key: string): string {
  const dir = path.resolve(storageDir, 'key_value_stores', storeName);
  const exact = path.join(dir, key);
  if (existsSync(exact)) return pathToFileURL(exact).href;
  // It adds an extension for the content type unless the key already ends with it.
  let files: string[] = [];
  try {
    files = readdirSync(dir);
  } catch {
    // No folder yet: the exact path is the best answer there is.
  }
  const file = files.find((candidate) => candidate.startsWith(`${key}.`) && !candidate.endsWith('.__metadata__.json'));
  return pathToFileURL(file ? path.join(dir, file) : exact).href;
}

/** What the item lists of the saved files. */
export function itemFiles(files: readonly OutputFile[], keys: readonly string[], urls: readonly string[]): ItemFile[] {
  return files.map(({ name, contentType, size }, index) => ({ name, contentType, size, key: keys[index]!, url: urls[index]! }));
}
