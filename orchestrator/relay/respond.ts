/**
 * What the relay sends back to the sandbox: the API's status, the few headers the binding reads,
 * and the body, all with the token scrubbed, the body streamed or (for run objects the relay
 * records) buffered.
 * Relay refusals go back in the API's own error shape.
 */
import type { ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { scrubBuffer, scrubStream, textScrubber, type Secrets } from './scrub.js';

/** Headers of the API's answer the binding reads; every other header stays in the relay. */
const PASSED_HEADERS = ['content-type', 'retry-after', 'x-apify-pagination-total', 'x-apify-pagination-offset',
  'x-apify-pagination-limit', 'x-apify-pagination-count', 'x-apify-pagination-desc'];

/** Answers with the API's error shape, so the binding reports relay refusals like API errors. */
export function sendError(res: ServerResponse, statusCode: number, type: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(statusCode, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { type, message } }));
}

/** The passed headers, scrubbed like the body: an Actor's answer can put the token in any of them. */
function passedHeaders(secrets: Secrets, response: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  // The secrets' patterns are looked up once for all the headers.
  const scrub = textScrubber(secrets);
  for (const name of PASSED_HEADERS) {
    const value = response.headers.get(name);
    if (value !== null) headers[name] = scrub(value);
  }
  return headers;
}

/** The whole answer, scrubbed, for the relay to read before passing it on. */
export async function readScrubbed(secrets: Secrets, response: Response): Promise<Buffer> {
  return scrubBuffer(secrets, Buffer.from(await response.arrayBuffer()));
}

export function sendBuffer(secrets: Secrets, res: ServerResponse, response: Response, buffer: Buffer): void {
  res.writeHead(response.status, { ...passedHeaders(secrets, response), 'content-length': String(buffer.length) });
  res.end(buffer);
}

export async function sendStream(secrets: Secrets, res: ServerResponse, response: Response): Promise<void> {
  res.writeHead(response.status, passedHeaders(secrets, response));
  if (!response.body) {
    res.end();
    return;
  }
  await pipeline(Readable.fromWeb(response.body as ReadableStream), scrubStream(secrets), res);
}

/** The parsed JSON of an answer, or undefined when it is not JSON. */
export function parseJson(body: Buffer | string): unknown {
  try {
    return JSON.parse(body.toString());
  } catch {
    return undefined;
  }
}
