/**
 * How the guest names a network target and the origins a script may reach, in the words of every
 * network denial (the relay's, orchestrator/relay/egress-rules.ts, and the realm's,
 * guest/realm/denials.ts): `network access to host:port is not allowed in this sandbox; allowed: …`.
 */

/** `host:port` of a URL with the scheme's default port spelled out, as Deno names a network target. */
export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' || url.protocol === 'wss:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

/** What a denial says is allowed (no array method: it may be said after the script patched them). */
export function allowedWords(allowedOrigins: readonly string[]): string {
  if (allowedOrigins.length === 0) return 'no origin is allowed';
  let words = 'allowed: ';
  for (let i = 0; i < allowedOrigins.length; i += 1) words += i === 0 ? allowedOrigins[i] : `, ${allowedOrigins[i]}`;
  return words;
}
