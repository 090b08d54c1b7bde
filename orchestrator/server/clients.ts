/**
 * Who a caller is, for everything scarce the server shares out (connections, MCP sessions, places
 * in the queue): something a caller cannot mint for free. That is a bearer token only where
 * something in front verified it per caller (the Apify platform, for a Standby Actor); the server's
 * own `authToken` is one secret shared by all its clients, so it tells them apart no better than
 * nothing. Otherwise the address: IPv4 as is, IPv6 by its /64 prefix (one host is given a whole
 * /64, so its addresses are free to mint). Session ids and client names are never used: they cost
 * one request each.
 */
import { createHash } from 'node:crypto';

/** `2001:db8::1` → `2001:db8:0:0/64`; `::ffff:10.0.0.1` → `10.0.0.1`; IPv4 unchanged. */
export function addressKey(address: string | undefined): string {
  if (!address) return 'address:unknown';
  const mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i);
  if (mapped) return `address:${mapped[1]}`;
  if (!address.includes(':')) return `address:${address}`;
  const [head = '', tail = ''] = address.toLowerCase().split('%')[0]!.split('::');
  const front = head ? head.split(':') : [];
  const back = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...front, ...Array<string>(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back] : front;
  return `address:${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}/64`;
}

/** The key of a request's caller: a verified per-caller token when there is one, else its address. */
export function clientKey(remoteAddress: string | undefined, authorization: string | undefined, tokensVerifiedUpstream: boolean): string {
  const bearer = authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (tokensVerifiedUpstream && bearer) return `token:${createHash('sha256').update(bearer).digest('base64url').slice(0, 22)}`;
  return addressKey(remoteAddress);
}
