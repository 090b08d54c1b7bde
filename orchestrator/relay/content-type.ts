/**
 * A file's content type when nobody gave one: from its name's extension (the common types agents
 * and people exchange: data, documents, images, archives), else from its bytes (valid UTF-8 with no
 * control bytes but tab, line breaks, form feed and escape in its first 64 KiB is text, anything
 * else is bytes). Also the check of a content type someone did give: it goes
 * into HTTP headers and MCP content, so it must look like one. Pure functions.
 */
import { isUtf8 } from 'node:buffer';

const TEXT = '; charset=utf-8';

/** Extension (lower case) → content type. */
const BY_EXTENSION: Readonly<Record<string, string>> = {
  txt: `text/plain${TEXT}`, log: `text/plain${TEXT}`, csv: `text/csv${TEXT}`, tsv: `text/tab-separated-values${TEXT}`,
  md: `text/markdown${TEXT}`, markdown: `text/markdown${TEXT}`, html: `text/html${TEXT}`, htm: `text/html${TEXT}`,
  css: `text/css${TEXT}`, js: `text/javascript${TEXT}`, mjs: `text/javascript${TEXT}`, ts: `text/typescript${TEXT}`,
  json: 'application/json', jsonl: 'application/jsonl', ndjson: 'application/x-ndjson', geojson: 'application/geo+json',
  xml: 'application/xml', yaml: 'application/yaml', yml: 'application/yaml', toml: 'application/toml',
  ics: `text/calendar${TEXT}`, vcf: `text/vcard${TEXT}`, srt: `text/plain${TEXT}`, vtt: 'text/vtt',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', avif: 'image/avif',
  bmp: 'image/bmp', ico: 'image/x-icon', tif: 'image/tiff', tiff: 'image/tiff', svg: 'image/svg+xml',
  pdf: 'application/pdf', zip: 'application/zip', gz: 'application/gzip', tgz: 'application/gzip', tar: 'application/x-tar',
  xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet', xls: 'application/vnd.ms-excel',
  docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  parquet: 'application/vnd.apache.parquet', wasm: 'application/wasm',
  mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', mp4: 'video/mp4', webm: 'video/webm',
};

const UTF8_TEXT = `text/plain${TEXT}`;
const BYTES = 'application/octet-stream';

/** C0 control bytes that text has: tab, line feed, form feed, carriage return, escape (colour codes). */
const TEXT_CONTROLS = new Set([0x09, 0x0a, 0x0c, 0x0d, 0x1b]);
/** How much of a file is looked at for control bytes (as `file` and browsers sniff): a 10 MiB file costs no more than a small one. */
const SNIFF_BYTES = 64 * 1024;

function looksLikeText(bytes: Uint8Array): boolean {
  const end = Math.min(bytes.length, SNIFF_BYTES);
  for (let at = 0; at < end; at += 1) {
    const byte = bytes[at]!;
    if (byte < 0x20 && !TEXT_CONTROLS.has(byte)) return false;
  }
  // Native and fast: the whole file must be UTF-8.
  return isUtf8(bytes);
}

/** The content type of a file named `name` holding `bytes`, when none was given. */
export function inferContentType(name: string, bytes: Uint8Array): string {
  const dot = name.lastIndexOf('.');
  const known = dot > 0 ? BY_EXTENSION[name.slice(dot + 1).toLowerCase()] : undefined;
  if (known) return known;
  return looksLikeText(bytes) ? UTF8_TEXT : BYTES;
}

// `type/subtype` of RFC 9110's token characters, then parameters of printable ASCII only.
const CONTENT_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+(\s*;[\x20-\x7e]*)?$/;
export const CONTENT_TYPE_MAX_CHARS = 255;

/** Whether a given content type can be used as one (in a header, in MCP content). */
export function isContentType(value: unknown): value is string {
  return typeof value === 'string' && value.length <= CONTENT_TYPE_MAX_CHARS && CONTENT_TYPE.test(value);
}

/** The bare media type, lower case, without parameters: `Image/PNG; x=y` → `image/png`. */
export function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}
