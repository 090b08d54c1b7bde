/**
 * The relay's route families, in one place: the part of the path after `/r/<secret>` says which
 * way out of the sandbox a request takes. Every family runs behind the same session check,
 * connection cap, requests-in-flight cap and body budgets (relay.ts), so a new way out is one
 * entry here and a handler, never a new set of bounds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayRefusal } from './checks.js';
import { handleEgressRequest } from './egress-route.js';
import { handleRequest, type SessionState } from './request.js';
import { handleToolRequest } from './tools-route.js';
import { handleFileRequest } from './files-route.js';

export interface RouteFamily {
  /** The path prefix after the session, e.g. `/v2/`. */
  prefix: string;
  /** Who calls it, for refusals. */
  caller: string;
  handle(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void>;
}

export const FAMILIES: readonly RouteFamily[] = [
  { prefix: '/v2/', caller: 'the apify binding (the Apify API)', handle: handleRequest },
  { prefix: '/tools/', caller: 'the tools binding (upstream MCP servers and host tools)', handle: handleToolRequest },
  { prefix: '/egress/', caller: 'the script\'s fetch (the origins the operator allowed)', handle: handleEgressRequest },
  { prefix: '/files/', caller: 'the files binding (the run\'s input and output files)', handle: handleFileRequest },
];

/** Hands the request to its family's handler; a path of no family is refused naming the families. */
export function dispatch(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const family = FAMILIES.find((candidate) => pathname.startsWith(candidate.prefix));
  if (!family) {
    const known = FAMILIES.map((f) => `${f.prefix}… (${f.caller})`).join(', ');
    return Promise.reject(new RelayRefusal(403, 'relay-endpoint-not-allowed', `The relay's routes are ${known}; ${pathname.slice(0, 100)} is none of them`));
  }
  return family.handle(session, req, res, pathname, search);
}
