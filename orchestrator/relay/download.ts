/**
 * The one call the relay makes off the API's origin: a record download the API redirected to its
 * storage (`GET …/records/:key` may answer 302). Only https, only a DNS name, never with the token
 * or anything from the sandbox, and the name is resolved here and the connection pinned to that
 * address, which must be public: a redirect can never turn the relay against the host's network.
 */
import https from 'node:https';
import { lookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { isPrivateAddress } from './private-net.js';
import { USER_AGENT } from './user-agent.js';

/** Why the relay will not fetch this URL off the API's origin, or undefined when it may. */
export function refuseDownload(url: URL): string | undefined {
  if (url.protocol !== 'https:') return `it is not https (${url.protocol})`;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 || host === 'localhost' || host.endsWith('.localhost')) return `${url.hostname} is not a public DNS name`;
  return undefined;
}

/** Resolves like the default lookup, then refuses any private address: the socket connects only to what was checked. */
const publicLookup: LookupFunction = (hostname, options, callback) => {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '', 0);
    const list = addresses as { address: string; family: number }[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad || list.length === 0) {
      return callback(Object.assign(new Error(`${hostname} resolves to ${bad?.address ?? 'nothing'}, not a public address`), { code: 'EPRIVATE' }), '', 0);
    }
    const first = list[0] as { address: string; family: number };
    if ((options as { all?: boolean }).all) return (callback as unknown as (e: null, a: typeof list) => void)(null, list);
    callback(null, first.address, first.family);
  });
};

/** GETs a public https URL with no credentials, as a fetch Response. */
export function downloadPublic(url: URL, signal: AbortSignal): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { lookup: publicLookup, signal, headers: { 'user-agent': USER_AGENT } }, (res) => {
      const headers = new Headers();
      for (const [name, value] of Object.entries(res.headers)) {
        if (typeof value === 'string') headers.set(name, value);
      }
      const status = res.statusCode ?? 502;
      const body = status === 204 || status === 304 ? null : Readable.toWeb(res) as ReadableStream;
      resolve(new Response(body, { status, headers }));
    });
    req.on('error', reject);
  });
}
