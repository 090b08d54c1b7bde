/**
 * Where egress connects: the name is resolved here, every address it resolves to must be public
 * (not private, loopback, link-local, shared, reserved or a metadata address: `private-net.ts`), and
 * the connection goes to the address that was checked, so nothing can rebind the name between the
 * check and the connect. An IP literal is not looked up: it is the operator's explicit choice.
 * Connections are kept alive in two process-wide agents (http, https) with a cap on sockets and
 * idle time; a kept connection was made to a checked address, so reusing it checks nothing anew.
 */
import { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import { RELAY_LIMITS } from './limits.js';
import { isPrivateAddress } from './private-net.js';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** How names are resolved and which addresses are refused: the system's, or a test's stand-in. */
export interface EgressNetwork {
  resolve(hostname: string): Promise<ResolvedAddress[]>;
  refused(address: string): boolean;
}

/**
 * Look-ups under way, by name: connections that start while one is under way share its answer, so
 * a flood of requests to one origin costs one look-up (they run on libuv's small thread pool, which
 * the orchestrator's file reads share). Nothing is kept once it answers: the next connection asks again.
 */
const resolving = new Map<string, Promise<ResolvedAddress[]>>();

const SYSTEM: EgressNetwork = {
  resolve(hostname) {
    let answer = resolving.get(hostname);
    if (!answer) {
      answer = new Promise<ResolvedAddress[]>((resolve, reject) => {
        dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => (error ? reject(error) : resolve(addresses)));
      }).finally(() => resolving.delete(hostname));
      resolving.set(hostname, answer);
    }
    return answer;
  },
  refused: isPrivateAddress,
};

let network = SYSTEM;

/**
 * For tests only: resolve names and judge addresses with `stand` instead of the system's resolver
 * and the private ranges (so a test can make a name resolve to loopback and change its answer).
 * Returns the function that puts the system's back.
 */
export function useEgressNetwork(stand: EgressNetwork): () => void {
  network = stand;
  return () => {
    network = SYSTEM;
  };
}

/** The error of a name that resolves to an address egress may not reach. */
export const PRIVATE_ADDRESS = 'EGRESS_PRIVATE_ADDRESS';

/** Resolves like the system's lookup, refuses any non-public answer, and hands the socket only what was checked. */
export const checkedLookup: LookupFunction = (hostname, options, callback) => {
  network.resolve(hostname).then((found) => {
    const wanted = (options as { family?: number }).family;
    const list = wanted === 4 || wanted === 6 ? found.filter((a) => a.family === wanted) : found;
    const bad = found.find((a) => network.refused(a.address));
    if (bad || list.length === 0) {
      const why = bad ? `resolves to ${bad.address}, which is not a public address` : 'resolves to no address';
      callback(Object.assign(new Error(`${hostname} ${why}`), { code: bad ? PRIVATE_ADDRESS : 'ENOTFOUND', hostname }), '', 0);
      return;
    }
    if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: ResolvedAddress[]) => void)(null, list);
    else callback(null, list[0]!.address, list[0]!.family);
  }, (error: Error) => callback(error, '', 0));
};

const AGENT_OPTIONS = {
  keepAlive: true,
  maxTotalSockets: RELAY_LIMITS.egressSockets,
  maxFreeSockets: RELAY_LIMITS.egressFreeSocketsPerOrigin,
  // An idle kept connection is closed after this (a socket in use has the request's own idle timeout).
  timeout: RELAY_LIMITS.egressFreeSocketMs,
  scheduling: 'lifo' as const,
  lookup: checkedLookup,
};

const agents = { 'http:': new http.Agent(AGENT_OPTIONS), 'https:': new https.Agent(AGENT_OPTIONS) };

/** The agent and module for a URL's scheme (http or https). */
export function transportFor(url: URL): { agent: http.Agent; request: typeof http.request } {
  return url.protocol === 'https:' ? { agent: agents['https:'], request: https.request } : { agent: agents['http:'], request: http.request };
}
