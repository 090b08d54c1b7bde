/**
 * `egress`, validated and normalized: the origins a script's plain `fetch` may reach, each
 * `scheme://host[:port]` with an optional path prefix, and the headers the relay adds on the way
 * out. `${VAR}` expands in the origins (not secrets: denials list them) and in header values (every
 * one a secret, with its credential after a scheme word, and a Basic credential decoded). Every
 * error names the key (`egress["https://api.github.com"].headers.Authorization`) and what is
 * allowed, never a header's value. `--allow-host ORIGIN` goes through `parseEgressOrigin` too.
 */
import { createExpander } from './expand.js';
import { ConfigError, isPlainObject, reject } from './error.js';
import { SecretList } from './secrets.js';
import { EGRESS_ENTRY_KEYS, RESERVED_EGRESS_HEADERS, type EgressConfig, type EgressRule } from './shape.js';

/** RFC 9110's token: the characters a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ORIGIN_RULE = 'an http(s) origin such as https://api.github.com or http://127.0.0.1:8080, optionally with a path prefix (https://api.github.com/repos/acme), with no credentials, query or fragment';

/** `egress["https://x"]`: an origin is no identifier, so keys are quoted. */
function at(key: string, origin: string): string {
  return `${key}[${JSON.stringify(origin)}]`;
}

/** An allowed origin and its path prefix ('' for the whole origin), as the relay matches them. */
export function parseEgressOrigin(text: string, key: string): { origin: string; prefix: string } {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError(`\`${key}\` must be ${ORIGIN_RULE}; it is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`\`${key}\` must be ${ORIGIN_RULE}; it is a ${url.protocol} URL`);
  if (url.username || url.password) throw new ConfigError(`\`${key}\` must not carry credentials (user:password@); add them as a header in \`headers\``);
  if (url.search || url.hash || text.includes('?') || text.includes('#')) throw new ConfigError(`\`${key}\` must be ${ORIGIN_RULE}; it has a query or a fragment`);
  // Encoded separators could mean another path to the origin than to the prefix check.
  if (/%(2e|2f|5c)/i.test(url.pathname)) throw new ConfigError(`\`${key}\`: a path prefix may not hold encoded '.', '/' or '\\'`);
  return { origin: url.origin, prefix: url.pathname === '/' ? '' : url.pathname };
}

/** An `Authorization: Basic …` value's `user:password` and password, as an echo could show them decoded. */
function basicCredentials(value: string): string[] {
  const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(value);
  if (!match) return [];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? [decoded] : [decoded, decoded.slice(colon + 1)];
}

function headersOf(raw: unknown, key: string, expand: (text: string, key: string) => string, secrets: SecretList): Record<string, string> {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) reject(key, 'an object of header names to strings', raw);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(raw)) {
    const where = `${key}.${name}`;
    if (!HEADER_NAME.test(name)) throw new ConfigError(`\`${where}\` is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`);
    const lower = name.toLowerCase();
    if (RESERVED_EGRESS_HEADERS.includes(lower) || lower.startsWith('code-runtime-')) {
      throw new ConfigError(`\`${where}\` is set by the relay itself (the headers it manages are ${RESERVED_EGRESS_HEADERS.join(', ')} and code-runtime-*)`);
    }
    if (seen.has(lower)) throw new ConfigError(`\`${where}\` is given twice (header names are case-insensitive)`);
    seen.add(lower);
    if (typeof value !== 'string') reject(where, 'a string', value);
    const expanded = expand(value, where);
    if (/[\r\n\0]/.test(expanded)) throw new ConfigError(`\`${where}\` must be one line (no CR, LF or NUL)`);
    headers[name] = expanded;
    secrets.addHeader(expanded, name);
    secrets.addAll(basicCredentials(expanded));
  }
  return headers;
}

/** The name a rule goes by in lists and denials: its origin and prefix. */
export function ruleName(rule: Pick<EgressRule, 'origin' | 'prefix'>): string {
  return `${rule.origin}${rule.prefix}`;
}

/**
 * Validates `egress` (as the file, the library and the Actor give it) and expands `${VAR}` from
 * `env`. `key` is how errors name it. Throws ConfigError.
 */
export function normalizeEgress(raw: unknown, env: NodeJS.ProcessEnv, key = 'egress'): EgressConfig {
  if (raw === undefined || raw === null) return { rules: [], secrets: [] };
  if (!isPlainObject(raw)) reject(key, 'an object of origins to { headers }, such as {"https://api.github.com": {"headers": {"Authorization": "Bearer ${GITHUB_TOKEN}"}}}', raw);
  // Origins are shown to the script in its denials, so what they expand to is no secret; header values are.
  const origins = createExpander(env);
  const values = createExpander(env);
  const secrets = new SecretList();
  const rules: EgressRule[] = [];
  const byName = new Map<string, string>();
  for (const [written, entry] of Object.entries(raw)) {
    const where = at(key, written);
    const { origin, prefix } = parseEgressOrigin(origins.expand(written, where), where);
    const name = ruleName({ origin, prefix });
    const clash = byName.get(name);
    if (clash !== undefined) throw new ConfigError(`\`${where}\` and \`${at(key, clash)}\` are the same origin (${name})`);
    byName.set(name, written);
    if (!isPlainObject(entry)) reject(where, 'an object: {} or { "headers": { … } }', entry);
    for (const entryKey of Object.keys(entry)) {
      if (!(EGRESS_ENTRY_KEYS as readonly string[]).includes(entryKey)) throw new ConfigError(`\`${where}.${entryKey}\` is not a key of an egress origin; its keys are ${EGRESS_ENTRY_KEYS.join(', ')}`);
    }
    rules.push({ origin, prefix, headers: headersOf(entry.headers, `${where}.headers`, values.expand, secrets) });
  }
  secrets.addAll(values.expanded);
  return { rules, secrets: secrets.list() };
}

/** `base` with `own`'s rules added; a rule of `own` for the same origin and prefix replaces `base`'s. */
export function mergeEgress(base: EgressConfig, own: EgressConfig | undefined): EgressConfig {
  if (!own || own.rules.length === 0) return base;
  const names = new Set(own.rules.map(ruleName));
  return {
    rules: [...base.rules.filter((rule) => !names.has(ruleName(rule))), ...own.rules],
    secrets: [...new Set([...base.secrets, ...own.secrets])].sort((a, b) => b.length - a.length),
  };
}
