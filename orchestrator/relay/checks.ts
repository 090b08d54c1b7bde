/**
 * Checks of what the sandbox sends the relay, beyond the route itself: the query, rebuilt from the
 * route's own parameters only, and the body, read up to a cap. A failed check is a RelayRefusal,
 * answered in the API's error shape so the binding reports it like any API error.
 */
import type { IncomingMessage } from 'node:http';
import type { ByteBudget } from './byte-budget.js';
import { RELAY_LIMITS } from './limits.js';
import type { Match } from './routes.js';

const MAX_BODY_BYTES = RELAY_LIMITS.bodyBytes;

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

/** A query parameter that must be a plain decimal number at least `min` when present: no sign, hex, exponent or `Infinity`. */
export function numberParam(query: URLSearchParams, name: string, min = 0): number | undefined {
  const raw = query.get(name);
  if (raw === null) return undefined;
  const value = /^\d{1,12}(\.\d{1,12})?$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isFinite(value) || value < min) {
    throw new RelayRefusal(400, 'relay-invalid-parameter',
      `Query parameter \`${name}\` must be a decimal number of at least ${min}, got ${JSON.stringify(raw.slice(0, 40))}`);
  }
  return value;
}

/** A request body held in one buffer, and its bytes given back to the budget by `release`. */
export interface HeldBody {
  body: Buffer;
  release(): void;
}

/**
 * Reads a body into one growing buffer (so a flood of tiny chunks costs its bytes, not a chunk
 * object each), charging every byte of room it takes to the run's and the process's budgets.
 * `max` is the route's own cap (default: `bodyBytes`), `tooLarge` its refusal.
 */
export async function readBody(req: IncomingMessage, held: ByteBudget, max: number = MAX_BODY_BYTES, tooLarge: (bytes: number) => RelayRefusal = bodyTooLarge): Promise<HeldBody> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > max) throw tooLarge(declared);
  let buffer = Buffer.alloc(0);
  let size = 0;
  let taken = 0;
  const release = () => {
    held.give(taken);
    taken = 0;
  };
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      // Past the cap the rest is drained, not kept, so the refusal can still be read by the sandbox.
      if (size > max) continue;
      if (size > buffer.length) {
        const room = Math.min(max, Math.max(size, 2 * buffer.length, 64 * 1024));
        const full = held.take(room - buffer.length);
        if (full) throw busy(full);
        taken += room - buffer.length;
        const grown = Buffer.allocUnsafe(room);
        buffer.copy(grown, 0, 0, size - chunk.length);
        buffer = grown;
      }
      chunk.copy(buffer, size - chunk.length);
    }
    if (size > max) throw tooLarge(size);
  } catch (error) {
    release();
    throw error;
  }
  return { body: buffer.subarray(0, size), release };
}

function busy(full: ByteBudget): RelayRefusal {
  return new RelayRefusal(429, 'relay-busy',
    `The relay already holds ${full.used} bytes of ${full.whose} request bodies (limit ${full.limit}); send fewer or smaller bodies at once`);
}

function bodyTooLarge(bytes: number): RelayRefusal {
  return new RelayRefusal(413, 'request-too-large',
    `The request body of ${bytes} bytes is over the relay's limit of ${MAX_BODY_BYTES} bytes; send less per call`);
}
