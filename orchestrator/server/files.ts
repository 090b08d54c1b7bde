/**
 * A run's files and value as the server handles them, in one place for MCP and REST: input files
 * from JSON (`{ text }` or `{ base64 }`), what they and a finished run's files cost the store, the
 * extra MCP content of an answer (the value as a compact JSON text block; images up to 1 MiB inline,
 * at most `INLINE_IMAGE_BUDGET_BYTES` of them per answer; every other file a `resource_link` to
 * `code-runtime://executions/{id}/files/{name}`), and the lookup that resources/read and
 * `GET /v1/runs/{id}/files/{name}` share. A file lives exactly as long as its execution is kept.
 */
import type { ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { isBase64, mediaType, showName } from '../run/files.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import type { OutputFile, RunResult } from '../../types/result.js';
import type { Execution } from './executions.js';

/** Images at most this large come back inline as MCP `image` content. */
export const INLINE_IMAGE_MAX_BYTES = 1024 * 1024;
/** Inline images of one answer together; past it the rest are links. */
export const INLINE_IMAGE_BUDGET_BYTES = 4 * 1024 * 1024;
/** Image types MCP clients show. */
const INLINE_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

/** What the default input files' limit takes in a JSON body: base64, plus names and quotes. */
export const FILES_BODY_BYTES = Math.ceil(RUN_OPTIONS.maxFilesInBytes.default / 3) * 4 + 256 * 1024;

export const FILE_URI_TEMPLATE = 'code-runtime://executions/{executionId}/files/{name}';

export function fileUri(executionId: string, name: string): string {
  return `code-runtime://executions/${executionId}/files/${encodeURIComponent(name)}`;
}

/** An input file as JSON carries it: one of the two. */
export type JsonFile = { text?: string; base64?: string };

/** The input files as the library takes them (each decoded once, so validation never copies them again). */
export function decodeInputFiles(files: Record<string, JsonFile> | undefined): Record<string, Uint8Array> | undefined {
  if (!files) return undefined;
  // Null-prototype: a file named `__proto__` is a key like any other.
  const decoded = Object.create(null) as Record<string, Uint8Array>;
  for (const [name, file] of Object.entries(files)) {
    if (file.text !== undefined) {
      decoded[name] = Buffer.from(file.text, 'utf8');
    } else {
      const base64 = file.base64 ?? '';
      if (!isBase64(base64)) {
        throw new TypeError(`Expected \`files[${showName(name)}].base64\` to be base64 (A–Z, a–z, 0–9, +, /, = padding)`);
      }
      decoded[name] = Buffer.from(base64, 'base64');
    }
  }
  return decoded;
}

/** Bytes the input files hold. */
export function inputBytes(files: Record<string, Uint8Array> | undefined): number {
  let total = 0;
  for (const bytes of Object.values(files ?? {})) total += bytes.length;
  return total;
}

/** Bytes a finished run's files and value hold in the store. */
export function resultBytes(result: RunResult | undefined): number {
  if (!result) return 0;
  let total = result.value === undefined ? 0 : Buffer.byteLength(JSON.stringify(result.value));
  for (const file of result.files) total += file.size;
  return total;
}

/** A file of an execution, or why there is none (a message for a 404). */
export function fileOf(execution: Execution, name: string): OutputFile | string {
  const files = execution.result?.files ?? [];
  const file = files.find((candidate) => candidate.name === name);
  if (file) return file;
  if (execution.state !== 'ended') return `Execution ${execution.id} is still ${execution.state}: its files are there once it ended`;
  const names = files.map((candidate) => showName(candidate.name));
  return `Execution ${execution.id} has no file ${showName(name)}; ${names.length === 0 ? 'its script wrote none' : `its files are ${names.slice(0, 20).join(', ')}${names.length > 20 ? '…' : ''}`}`;
}

/** Whether a file is text a client can read as is (resources/read gives it as `text`, not `blob`). */
export function isText(contentType: string): boolean {
  const type = mediaType(contentType);
  return type.startsWith('text/') || type === 'application/json' || type.endsWith('+json') || type === 'application/xml'
    || type.endsWith('+xml') || type === 'application/yaml' || type === 'application/x-ndjson' || type === 'application/jsonl';
}

/** The MCP content an ended execution adds to its answer: the value, then each file (an image, or a link to read it). */
export function answerContent(execution: Execution): ContentBlock[] {
  const result = execution.result;
  if (!result) return [];
  const blocks: ContentBlock[] = [];
  if (result.value !== undefined) blocks.push({ type: 'text', text: JSON.stringify(result.value) });
  if (result.files.length === 0) return blocks;
  let inline = 0;
  const lines: string[] = [];
  const files: ContentBlock[] = [];
  for (const file of result.files) {
    const image = INLINE_IMAGE_TYPES.has(mediaType(file.contentType)) && file.size <= INLINE_IMAGE_MAX_BYTES
      && inline + file.size <= INLINE_IMAGE_BUDGET_BYTES;
    const uri = fileUri(execution.id, file.name);
    if (image) {
      inline += file.size;
      files.push({ type: 'image', data: Buffer.from(file.bytes).toString('base64'), mimeType: mediaType(file.contentType) });
    } else {
      files.push({ type: 'resource_link', uri, name: file.name, mimeType: file.contentType, size: file.size });
    }
    lines.push(`- ${file.name} (${file.contentType}, ${file.size} bytes): ${image ? 'shown below' : 'linked below'}; resources/read ${uri}`);
  }
  blocks.push({ type: 'text', text: `Files the script wrote, kept while the execution is:\n${lines.join('\n')}` }, ...files);
  return blocks;
}
