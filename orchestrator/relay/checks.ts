/**
 * Checks of what the sandbox sends the relay, beyond the route itself: the query, rebuilt from the
 * route's own parameters only, and the body, read up to a cap. A failed check is a RelayRefusal,
 * answered in the API's error shape so the binding reports it like any API error.
 */
import type { IncomingMessage } from 'node:http';
import type { Match } from './routes.js';

/** Request bodies above this are refused (the API's own limit is about 9 MB). */
export const MAX_BODY_BYTES = 10 * 1024 * 1024;

export class RelayRefusal extends Error {
  constructor(readonly statusCode: number, readonly type: string, message: string) {
    super(message);
  }
}

/** Only the route's own parameters, each once: a repeated one could smuggle a second value past the budget. */
export function rebuildQuery(match: Match, search: string): URLSearchParams {
  const rebuilt = new URLSearchParams();
  for (const [name, value] of new URLSearchParams(search)) {
    if (!match.route.query.includes(name)) {
      const allowed = match.route.query.length > 0 ? `the allowed ones are ${match.route.query.join(', ')}` : 'it takes none';
      throw new RelayRefusal(403, 'relay-parameter-not-allowed',
        `Query parameter \`${name}\` is not allowed on ${match.route.method} ${match.route.pattern}; ${allowed}`);
    }
    if (rebuilt.has(name)) {
      throw new RelayRefusal(403, 'relay-parameter-not-allowed', `Query parameter \`${name}\` is given more than once`);
    }
    rebuilt.set(name, value);
  }
  return rebuilt;
}

/** A query parameter that must be a non-negative number when present. */
export function numberParam(query: URLSearchParams, name: string): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value) || value < 0) {
    throw new RelayRefusal(400, 'relay-invalid-parameter', `Query parameter \`${name}\` must be a non-negative number, got ${JSON.stringify(raw)}`);
  }
  return value;
}

export async function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw tooLarge(declared);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    // Past the cap the rest is drained, not kept, so the refusal can still be read by the sandbox.
    if (size <= MAX_BODY_BYTES) chunks.push(chunk);
  }
  if (size > MAX_BODY_BYTES) throw tooLarge(size);
  return Buffer.concat(chunks);
}

function tooLarge(bytes: number): RelayRefusal {
  return new RelayRefusal(413, 'request-too-large',
    `The request body of ${bytes} bytes is over the relay's limit of ${MAX_BODY_BYTES} bytes; send less per call`);
}
