/**
 * Which requests the egress family lets out: a URL matches a rule when its origin is the rule's
 * and its path is the rule's prefix or under it. A refusal is worded as the guest words its own
 * (`guest/egress.ts`), so a script reads one sentence whichever side refused: what was tried and
 * every origin that is allowed. Pure functions.
 */

/** An allowed origin as the relay holds it (the configuration's `EgressRule`). */
export interface EgressRule {
  /** `scheme://host[:port]`, as URL.origin writes it. */
  origin: string;
  /** '' for the whole origin, else a path the request's path must be or be under. */
  prefix: string;
  /** Added on the way out, replacing the script's own of those names (case-insensitive). */
  headers: Record<string, string>;
}

/** How a rule is listed to the script. */
export function ruleName(rule: Pick<EgressRule, 'origin' | 'prefix'>): string {
  return `${rule.origin}${rule.prefix}`;
}

/** `host:port` of a URL, with the scheme's default port spelled out, as Deno names a network target. */
export function hostPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

/** The sentence every refusal of the network ends with: the origins a script's fetch may reach. */
export function allowedWords(names: readonly string[]): string {
  return names.length === 0 ? 'no origin is allowed' : `allowed: ${names.join(', ')}`;
}

/** A prefix matches itself and what is under it: `/repos/acme` takes `/repos/acme/x`, never `/repos/acme-evil`. */
function underPrefix(pathname: string, prefix: string): boolean {
  if (prefix === '' || pathname === prefix) return true;
  return pathname.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

/** What of a path could mean another path to the origin than it does to the prefix check, or undefined (guest/egress.ts words it alike). */
export function pathTrick(pathname: string): string | undefined {
  if (/%(2e|2f|5c)/i.test(pathname)) return 'an encoded \'.\', \'/\' or \'\\\'';
  if (/%25/.test(pathname)) return 'an encoded \'%\'';
  if (/(^|\/)\.{1,2};/.test(pathname)) return 'a dot segment with parameters (`..;`, `.;`)';
  return undefined;
}

export type Verdict = { ok: true; rule: EgressRule } | { ok: false; message: string };

/** The rule `url` goes out under, or the refusal naming what was tried and what is allowed. */
export function judge(rules: readonly EgressRule[], url: URL): Verdict {
  const sameOrigin = rules.filter((rule) => rule.origin === url.origin);
  const allowed = allowedWords(rules.map(ruleName));
  if (sameOrigin.length === 0) return { ok: false, message: `network access to ${hostPort(url)} is not allowed in this sandbox; ${allowed}` };
  // What an origin may read as another path than the one the prefix was checked against: encoded
  // separators, a dot segment with parameters (Tomcat and Spring read `..;` as `..`), an encoded `%`
  // (an origin that decodes twice reads `%252e` as `.`).
  const why = pathTrick(url.pathname);
  const narrowed = sameOrigin.every((rule) => rule.prefix !== '');
  if (why && narrowed) return { ok: false, message: `network access to ${url.origin}${url.pathname} is not allowed in this sandbox: ${why} in the path is refused under a path prefix; ${allowed}` };
  // The longest prefix wins, so a narrower rule's headers apply under it; such a path goes out
  // under the whole origin's rule only (the prefix's headers stay home).
  const rule = sameOrigin.filter((candidate) => underPrefix(url.pathname, candidate.prefix) && (!why || candidate.prefix === ''))
    .sort((a, b) => b.prefix.length - a.prefix.length)[0];
  if (!rule) return { ok: false, message: `network access to ${url.origin}${url.pathname} is not allowed in this sandbox; ${allowed}` };
  return { ok: true, rule };
}
