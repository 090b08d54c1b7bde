/**
 * An execution's record as bytes, and back. Two kinds, written under one key (`ids.ts`): the start
 * record (state, the run that holds it, times; ~100 bytes of JSON) and the final one that replaces
 * it (the result, and each stream as its held head and tail with what `OutputStream.restore` needs
 * to page it exactly as where it ran).
 *
 * Layout: `CRR1`, a 4-byte length, the JSON body, then its binary parts (stream heads and tails, any
 * bytes inside the result, such as output files) in the order the body lists them; gzipped, then
 * sealed with AES-256-GCM under a key derived from the id's secret, the record key as associated
 * data: a store readable by others shows nothing, and a record cannot be moved to another key.
 * Compression and encryption run as streams in slices, so a large record never blocks the event loop
 * for long; decompression is bounded (a record cannot inflate past `maxBytes`).
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGzip, gunzip } from 'node:zlib';
import type { StreamSnapshot } from '../stream.js';
import type { RunResult } from '../../../types/result.js';

const MAGIC = Buffer.from('CRR1');
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** Plain bytes fed to the compressor at a time. */
const SLICE_BYTES = 1024 * 1024;
const gunzipAsync = promisify(gunzip);

export type RecordState = 'queued' | 'running' | 'ended';

export interface StreamMeta {
  cap: number;
  totalBytes: number;
  lines: number;
  checkpointAtTail: boolean;
  /** Indexes into the parts. */
  head: number;
  tail: number;
}

interface BodyBase {
  v: typeof VERSION;
  /** The run that holds (or held) it. */
  holder: string;
  createdAt: string;
  startedAt?: string;
}

export interface StartBody extends BodyBase {
  kind: 'start';
  state: 'queued' | 'running';
  /** The script's own limit: with the TTL, how long a record that never ended can matter. */
  timeoutSecs?: number;
}

export interface FinalBody extends BodyBase {
  kind: 'final';
  endedAt: string;
  /** The result without its binary values, which are parts (`binary`). */
  result?: Record<string, unknown>;
  error?: string;
  /** Where binary values of the result go back: a path into it and a part index. */
  binary: Array<{ path: Array<string | number>; part: number }>;
  /** Absent when the output was not kept (too much was waiting to be written). */
  streams?: { stdout: StreamMeta; stderr: StreamMeta };
  /** What was left out to keep the record within its cap, one sentence each. */
  dropped: string[];
  /** Each part's length, in order. */
  parts: number[];
}

export type RecordBody = StartBody | FinalBody;

/** A decoded record: its body, and for a final one the parts put back (result, stream snapshots). */
export type DecodedRecord =
  | { kind: 'start'; body: StartBody }
  | { kind: 'final'; body: FinalBody; result?: RunResult; streams?: { stdout: StreamSnapshot; stderr: StreamSnapshot } };

function keyOf(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'code-runtime execution record v1', 32));
}

/** Replaces each Uint8Array in `value` by null, collecting it with its path (walked without recursion). */
function extractBinary(value: Record<string, unknown>, parts: Buffer[], first: number): { json: Record<string, unknown>; binary: FinalBody['binary'] } {
  const binary: FinalBody['binary'] = [];
  const root = { ...value };
  const stack: Array<{ node: Record<string, unknown> | unknown[]; path: Array<string | number> }> = [{ node: root, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    for (const key of Object.keys(node)) {
      // A script's own value is JSON: it never holds bytes, and it may be deep.
      if (path.length === 0 && key === 'value') continue;
      const index = Array.isArray(node) ? Number(key) : key;
      const child = (node as Record<string, unknown>)[key];
      if (child instanceof Uint8Array) {
        binary.push({ path: [...path, index], part: first + parts.length });
        parts.push(Buffer.from(child.buffer, child.byteOffset, child.byteLength));
        (node as Record<string, unknown>)[key] = null;
      } else if (child !== null && typeof child === 'object') {
        const copy = Array.isArray(child) ? [...child] : { ...(child as Record<string, unknown>) };
        (node as Record<string, unknown>)[key] = copy;
        stack.push({ node: copy, path: [...path, index] });
      }
    }
  }
  return { json: root, binary };
}

function putBinary(result: Record<string, unknown>, binary: FinalBody['binary'], parts: Buffer[]): void {
  for (const { path, part } of binary) {
    let node: unknown = result;
    for (const step of path.slice(0, -1)) node = (node as Record<string | number, unknown>)?.[step];
    const bytes = parts[part];
    if (node !== null && typeof node === 'object' && bytes) (node as Record<string | number, unknown>)[path[path.length - 1]!] = new Uint8Array(bytes);
  }
}

export interface FinalInput {
  holder: string;
  createdAt: Date;
  startedAt?: Date;
  endedAt: Date;
  result?: RunResult;
  error?: string;
  /** Absent: the output is not kept. */
  streams?: { stdout: StreamSnapshot; stderr: StreamSnapshot };
  /** The most bytes of parts one record may hold; binary values of the result beyond it are left out. */
  maxPartBytes: number;
}

/** The final record's body and parts. */
export function finalBody(input: FinalInput): { body: FinalBody; parts: Buffer[] } {
  const parts: Buffer[] = [];
  let streams: FinalBody['streams'];
  if (input.streams) {
    const meta = (snapshot: StreamSnapshot): StreamMeta => {
      parts.push(snapshot.head, snapshot.tail);
      return { cap: snapshot.cap, totalBytes: snapshot.totalBytes, lines: snapshot.lines, checkpointAtTail: snapshot.checkpointAtTail, head: parts.length - 2, tail: parts.length - 1 };
    };
    streams = { stdout: meta(input.streams.stdout), stderr: meta(input.streams.stderr) };
  }
  const dropped: string[] = [];
  let json: Record<string, unknown> | undefined;
  let binary: FinalBody['binary'] = [];
  if (input.result) {
    const extra: Buffer[] = [];
    ({ json, binary } = extractBinary(input.result as unknown as Record<string, unknown>, extra, parts.length));
    let room = input.maxPartBytes - parts.reduce((sum, part) => sum + part.length, 0);
    for (const [index, bytes] of extra.entries()) {
      if (bytes.length <= room) {
        room -= bytes.length;
        parts.push(bytes);
      } else {
        // Kept in place, empty, so the result keeps its shape; the record says what it lacks.
        dropped.push(`${binary[index]!.path.join('.')} (${bytes.length} bytes) was over what one record may hold`);
        parts.push(Buffer.alloc(0));
      }
    }
  }
  const body: FinalBody = {
    v: VERSION,
    kind: 'final',
    holder: input.holder,
    createdAt: input.createdAt.toISOString(),
    startedAt: input.startedAt?.toISOString(),
    endedAt: input.endedAt.toISOString(),
    result: json,
    error: input.error,
    binary,
    streams,
    dropped,
    parts: parts.map((part) => part.length),
  };
  return { body, parts };
}

/** Seals a body and its parts for `key`: compressed, then encrypted with the secret's key. */
export async function encodeRecord(body: RecordBody, parts: Buffer[], secret: string, key: string): Promise<Buffer> {
  const json = Buffer.from(JSON.stringify(body));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keyOf(secret), iv);
  cipher.setAAD(Buffer.from(key));
  function* slices(): Generator<Buffer> {
    yield MAGIC;
    yield length;
    yield json;
    for (const part of parts) for (let at = 0; at < part.length; at += SLICE_BYTES) yield part.subarray(at, at + SLICE_BYTES);
  }
  const sealed: Buffer[] = [Buffer.from([VERSION]), iv];
  await pipeline(Readable.from(slices()), createGzip(), cipher, async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) sealed.push(chunk);
  });
  sealed.push(cipher.getAuthTag());
  return Buffer.concat(sealed);
}

/** Opens a record sealed for `key`; throws on anything that is not one (wrong secret or key, damaged, too large). */
export async function decodeRecord(sealed: Uint8Array, secret: string, key: string, maxBytes: number): Promise<DecodedRecord> {
  const data = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  if (data.length < 1 + IV_BYTES + TAG_BYTES || data[0] !== VERSION) throw new Error('not an execution record of this version');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(secret), data.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(Buffer.from(key));
  decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
  const compressed = Buffer.concat([decipher.update(data.subarray(1 + IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
  const plain = await gunzipAsync(compressed, { maxOutputLength: maxBytes });
  if (!plain.subarray(0, 4).equals(MAGIC)) throw new Error('not an execution record');
  const jsonEnd = 8 + plain.readUInt32BE(4);
  const body = JSON.parse(plain.subarray(8, jsonEnd).toString('utf8')) as RecordBody;
  if (body.v !== VERSION) throw new Error(`an execution record of version ${String(body.v)}`);
  if (body.kind === 'start') return { kind: 'start', body };
  const parts: Buffer[] = [];
  let at = jsonEnd;
  for (const length of body.parts) {
    parts.push(plain.subarray(at, at + length));
    at += length;
  }
  if (at !== plain.length) throw new Error('an execution record whose parts do not add up');
  let result: RunResult | undefined;
  if (body.result) {
    const copy = structuredClone(body.result);
    putBinary(copy, body.binary, parts);
    result = copy as unknown as RunResult;
  }
  const snapshot = (meta: StreamMeta): StreamSnapshot => ({
    cap: meta.cap, totalBytes: meta.totalBytes, lines: meta.lines, checkpointAtTail: meta.checkpointAtTail, head: parts[meta.head]!, tail: parts[meta.tail]!,
  });
  const streams = body.streams ? { stdout: snapshot(body.streams.stdout), stderr: snapshot(body.streams.stderr) } : undefined;
  return { kind: 'final', body, result, streams };
}
