/**
 * Who may talk to the HTTP server, checked before any route: the Host header must name an allowed
 * host and an Origin, when a browser sends one, must be this very server's origin (scheme, host and
 * port; another local port is another site) or one the operator listed (DNS rebinding and CSRF);
 * the bearer token, when the server has one, is compared in constant time; and a REST body must say
 * it is JSON, so that no cross-site "simple" request (text/plain, forms) can start a script without
 * a CORS preflight. Each check is also a predicate, for `/healthz` to tell an insider from a stranger.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context, Next } from 'hono';
import { errorBody } from './rest.js';

export const LOOPBACK_HOSTS = ['localhost', '127.0.0.1', '[::1]'];

export interface GuardSettings {
  /** Host names the Host and Origin headers may carry; `'any'` turns the Host and Origin checks off. */
  hosts: string[] | 'any';
  /** Origins (`scheme://host[:port]`) besides the server's own that may send requests. */
  allowedOrigins: string[];
  authToken?: string;
}

/** `example.com:3000` → `example.com`; `[::1]:3000` → `[::1]`. */
function hostnameOf(hostHeader: string): string {
  const bracket = hostHeader.match(/^(\[[^\]]*\])(:\d+)?$/);
  if (bracket) return bracket[1]!.toLowerCase();
  return hostHeader.replace(/:\d+$/, '').toLowerCase();
}

/** The port a Host header names, with http's default. */
function portOf(hostHeader: string): string {
  return hostHeader.match(/:(\d+)$/)?.[1] ?? '80';
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** `http://LOCALHOST:80/` → `http://localhost`; undefined when it is not an origin. */
export function normalizeOrigin(origin: string): string | undefined {
  try {
    const url = new URL(origin);
    return url.origin === 'null' ? undefined : url.origin;
  } catch {
    return undefined;
  }
}

export function createGuards(settings: GuardSettings) {
  const names = settings.hosts === 'any' ? undefined : new Set(settings.hosts.map((host) => host.toLowerCase()));
  const listed = new Set(settings.allowedOrigins.map((origin) => normalizeOrigin(origin)));
  const expected = settings.authToken === undefined ? undefined : digest(settings.authToken);
  const allowed = () => [...names!].join(', ');

  /** Why the Host or Origin is refused, or undefined. */
  function hostProblem(c: Context): string | undefined {
    if (!names) return undefined;
    const host = c.req.header('host') ?? '';
    if (!names.has(hostnameOf(host))) {
      return `Host ${JSON.stringify(host)} is not allowed (allowed: ${allowed()}); set allowedHosts / --allowed-hosts to serve under another name`;
    }
    const origin = c.req.header('origin');
    if (origin === undefined) return undefined;
    const normalized = normalizeOrigin(origin);
    if (normalized && listed.has(normalized)) return undefined;
    const url = normalized ? new URL(normalized) : undefined;
    const same = url && url.protocol === 'http:' && names.has(hostnameOf(url.host)) && portOf(url.host) === portOf(host);
    if (!same) {
      return `Origin ${JSON.stringify(origin)} is not allowed: only this server's own origin (http://${host}) may send requests from a browser (listed origins: ${[...listed].join(', ') || 'none'}; set allowedOrigins / --allowed-origins)`;
    }
    return undefined;
  }

  /** Why the token is refused (401 or 403), or undefined. */
  function authProblem(c: Context): { status: 401 | 403; message: string } | undefined {
    if (!expected) return undefined;
    const match = (c.req.header('authorization') ?? '').match(/^Bearer\s+(.+)$/i);
    if (!match) return { status: 401, message: 'Send the server\'s token as `Authorization: Bearer <token>`' };
    // Hashes have one length, so the comparison takes the same time whatever was sent.
    if (!timingSafeEqual(digest(match[1]!.trim()), expected)) return { status: 403, message: 'The bearer token is not this server\'s' };
    return undefined;
  }

  return {
    /** Host and Origin, then the token. */
    async check(c: Context, next: Next) {
      const host = hostProblem(c);
      if (host) return c.json(errorBody('forbidden', host), 403);
      const auth = authProblem(c);
      if (auth) {
        if (auth.status === 401) c.header('WWW-Authenticate', 'Bearer');
        return c.json(errorBody(auth.status === 401 ? 'unauthorized' : 'forbidden', auth.message), auth.status);
      }
      return next();
    },
    /** Whether the caller passes every check (what `/healthz` shows depends on it). */
    trusted(c: Context): boolean {
      return hostProblem(c) === undefined && authProblem(c) === undefined;
    },
  };
}

/** A request body (REST) must be JSON: `application/json` or `application/*+json`; a POST without a body needs no type. */
export async function jsonBodies(c: Context, next: Next) {
  const hasBody = c.req.header('transfer-encoding') !== undefined || Number(c.req.header('content-length') ?? 0) > 0;
  if (!hasBody || c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json' || /^application\/[\w.+-]+\+json$/.test(type)) return next();
  return c.json(errorBody('unsupported-media-type', `Expected the body with \`Content-Type: application/json\`, got ${type ? JSON.stringify(type) : 'no Content-Type'}`), 415);
}
