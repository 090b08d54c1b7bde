/**
 * `mcpServers`, validated and normalized: each entry is a stdio server (`command`) or a Streamable
 * HTTP server (`url`), told apart by `type` when given and by which key it has otherwise; `${VAR}`
 * expands in `command`, `args`, `env`, `cwd`, `url` and `headers`; `disabled: true` leaves an entry
 * out. Secrets: header and env values, a URL's query values, and what `${VAR}` took. Every error
 * names the key (`mcpServers.github.url`) and what is allowed, never a value.
 */
import { createExpander, type Expander } from './expand.js';
import { ConfigError, isPlainObject, kindOf, reject } from './error.js';
import { SecretList } from './secrets.js';
import {
  CLIENT_ONLY_KEYS, HTTP_KEYS, HTTP_TYPES, SERVER_NAME, SERVER_NAME_RULE, STDIO_KEYS, STDIO_TYPES,
  type HttpUpstream, type McpServersConfig, type StdioUpstream, type UpstreamConfig,
} from './shape.js';

/** RFC 9110's token: the characters a header name may have. */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the transport sets itself; a configured one would break the protocol. */
const RESERVED_HEADERS = new Set(['content-type', 'content-length', 'accept', 'host', 'connection', 'mcp-session-id', 'mcp-protocol-version', 'transfer-encoding']);

function stringField(value: unknown, key: string, expander: Expander, allowEmpty = false): string {
  if (typeof value !== 'string' || (!allowEmpty && value.length === 0)) reject(key, allowEmpty ? 'a string' : 'a non-empty string', value);
  return expander.expand(value, key);
}

function stringMap(value: unknown, key: string, expander: Expander, checkName: (name: string, at: string) => void): Record<string, string> {
  if (value === undefined) return {};
  if (!isPlainObject(value)) reject(key, 'an object of names to strings', value);
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, raw] of Object.entries(value)) {
    checkName(name, `${key}.${name}`);
    out[name] = stringField(raw, `${key}.${name}`, expander, true);
  }
  return out;
}

function allowlist(value: unknown, key: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((name) => typeof name !== 'string' || name.length === 0)) {
    reject(key, 'an array of tool names (non-empty strings)', value);
  }
  return [...new Set(value as string[])];
}

function checkKeys(entry: Record<string, unknown>, key: string, allowed: readonly string[], kind: string): void {
  for (const name of Object.keys(entry)) {
    if (!allowed.includes(name) && !(CLIENT_ONLY_KEYS as readonly string[]).includes(name)) {
      throw new ConfigError(`\`${key}.${name}\` is not a key of a ${kind} server; its keys are ${allowed.join(', ')}`);
    }
  }
}

function stdioServer(name: string, entry: Record<string, unknown>, key: string, expander: Expander, secrets: SecretList): StdioUpstream {
  checkKeys(entry, key, STDIO_KEYS, 'stdio');
  const command = stringField(entry.command, `${key}.command`, expander);
  if (entry.args !== undefined && !Array.isArray(entry.args)) reject(`${key}.args`, 'an array of strings', entry.args);
  const args = ((entry.args ?? []) as unknown[]).map((arg, index) => stringField(arg, `${key}.args[${index}]`, expander, true));
  const env = stringMap(entry.env, `${key}.env`, expander, (variable, at) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) throw new ConfigError(`\`${at}\` is not an environment variable name (letters, digits and \`_\`, not starting with a digit)`);
  });
  // A literal env value is as likely a key as an expanded one.
  secrets.addAll(Object.values(env));
  const cwd = entry.cwd === undefined ? undefined : stringField(entry.cwd, `${key}.cwd`, expander);
  return { transport: 'stdio', name, command, args, env, cwd, allow: allowlist(entry.tools, `${key}.tools`) };
}

function httpServer(name: string, entry: Record<string, unknown>, key: string, expander: Expander, secrets: SecretList): HttpUpstream {
  checkKeys(entry, key, HTTP_KEYS, 'Streamable HTTP');
  const raw = stringField(entry.url, `${key}.url`, expander);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`\`${key}.url\` must be an http(s) URL such as https://example.com/mcp, got ${kindOf(raw)} that is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`\`${key}.url\` must be an http(s) URL, got a ${url.protocol} URL`);
  }
  if (url.username || url.password) {
    throw new ConfigError(`\`${key}.url\` must not carry credentials (user:password@); send them in \`${key}.headers\``);
  }
  // A server that takes its key in the query (`?token=…`) may echo it, or its URL, back.
  secrets.addAll(url.searchParams.values());
  const headers = stringMap(entry.headers, `${key}.headers`, expander, (header, at) => {
    if (!HEADER_NAME.test(header)) throw new ConfigError(`\`${at}\` is not a header name (letters, digits and !#$%&'*+.^_\`|~-)`);
    if (RESERVED_HEADERS.has(header.toLowerCase())) throw new ConfigError(`\`${at}\` is set by the MCP transport itself and cannot be configured`);
  });
  for (const [header, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(value)) throw new ConfigError(`\`${key}.headers.${header}\` must be one line (no CR, LF or NUL)`);
    secrets.addHeader(value, header);
  }
  return { transport: 'http', name, url, headers, allow: allowlist(entry.tools, `${key}.tools`) };
}

function server(name: string, entry: unknown, key: string, expander: Expander, secrets: SecretList): UpstreamConfig {
  if (!isPlainObject(entry)) reject(key, 'an object with `command` (stdio) or `url` (Streamable HTTP)', entry);
  const type = entry.type;
  if (type !== undefined && typeof type !== 'string') reject(`${key}.type`, 'a string', type);
  if (type === 'sse') {
    throw new ConfigError(`\`${key}.type\` is "sse", the deprecated HTTP+SSE transport; code-runtime speaks stdio and Streamable HTTP (servers that offer SSE usually serve Streamable HTTP too, often at /mcp)`);
  }
  const types = [...STDIO_TYPES, ...HTTP_TYPES] as readonly string[];
  if (type !== undefined && !types.includes(type)) {
    throw new ConfigError(`\`${key}.type\` must be one of ${types.map((t) => `"${t}"`).join(', ')}, got a string of ${type.length} characters`);
  }
  if (type === undefined && entry.url !== undefined && entry.command !== undefined) {
    throw new ConfigError(`\`${key}\` has both \`command\` and \`url\`; a server is started (\`command\`, stdio) or reached (\`url\`, Streamable HTTP), not both`);
  }
  const http = type !== undefined ? (HTTP_TYPES as readonly string[]).includes(type) : entry.url !== undefined;
  if (!http && entry.command === undefined) {
    throw new ConfigError(`\`${key}\` needs \`command\` (a stdio server) or \`url\` (a Streamable HTTP server)`);
  }
  return http ? httpServer(name, entry, key, expander, secrets) : stdioServer(name, entry, key, expander, secrets);
}

/**
 * Validates `mcpServers` (as the file, the library and the Actor give it) and expands `${VAR}`
 * from `env`. `key` is how errors name it. Throws ConfigError.
 */
export function normalizeMcpServers(raw: unknown, env: NodeJS.ProcessEnv, key = 'mcpServers'): McpServersConfig {
  if (raw === undefined) return { servers: [], secrets: [] };
  if (!isPlainObject(raw)) reject(key, 'an object of server names to servers', raw);
  const expander = createExpander(env);
  const secrets = new SecretList();
  const servers: UpstreamConfig[] = [];
  for (const [name, entry] of Object.entries(raw)) {
    const at = `${key}.${name}`;
    if (!SERVER_NAME.test(name)) throw new ConfigError(`\`${at}\`: a server's name must be ${SERVER_NAME_RULE} (it becomes tools.NAME)`);
    if (isPlainObject(entry) && entry.disabled !== undefined && typeof entry.disabled !== 'boolean') reject(`${at}.disabled`, 'true or false', entry.disabled);
    if (isPlainObject(entry) && entry.disabled === true) continue;
    servers.push(server(name, entry, at, expander, secrets));
  }
  secrets.addAll(expander.expanded);
  return { servers, secrets: secrets.list() };
}
