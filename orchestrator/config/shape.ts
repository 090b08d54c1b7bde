/**
 * The operator configuration's shape, defined once: the file's top-level keys, the keys of one MCP
 * server entry, and the normalized form the rest of the orchestrator reads. The file is the
 * `mcpServers` format MCP clients use (Claude Desktop, Cursor, Claude Code's `.mcp.json`); more
 * operator settings join it as further top-level keys, each with its own normalizer.
 */

/** Top-level keys of the file, each with the line `--help` and errors use. */
export const CONFIG_KEYS = {
  mcpServers: 'upstream MCP servers whose tools scripts call as tools.NAME.TOOL(args)',
  egress: 'origins a script\'s fetch may reach, with headers the relay adds on the way out',
} as const;

export type ConfigKey = keyof typeof CONFIG_KEYS;

/** A server's name becomes `tools.NAME` in scripts: letters, digits, `_`, `-`, `.`; it never starts with `$` (the binding's own helpers). */
export const SERVER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
export const SERVER_NAME_RULE = '1–64 letters, digits, `_`, `-` or `.`, starting with a letter, digit or `_`';

/** Keys of a stdio server entry. */
export const STDIO_KEYS = ['type', 'command', 'args', 'env', 'cwd', 'tools', 'disabled'] as const;
/** Keys of a Streamable HTTP server entry. */
export const HTTP_KEYS = ['type', 'url', 'headers', 'tools', 'disabled'] as const;
/** Keys other MCP clients write for their own user interface; accepted and ignored, so their files work unchanged. */
export const CLIENT_ONLY_KEYS = ['autoApprove', 'alwaysAllow', 'timeout'] as const;
/** `type` values, as the clients spell them. */
export const STDIO_TYPES = ['stdio'] as const;
export const HTTP_TYPES = ['http', 'streamable-http', 'streamableHttp'] as const;

/** One upstream MCP server after validation and `${VAR}` expansion. */
export type UpstreamConfig = StdioUpstream | HttpUpstream;

interface UpstreamCommon {
  /** The namespace: `tools.<name>`. */
  name: string;
  /** The only tools scripts may call; undefined for all. */
  allow?: readonly string[];
}

export interface StdioUpstream extends UpstreamCommon {
  transport: 'stdio';
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export interface HttpUpstream extends UpstreamCommon {
  transport: 'http';
  url: URL;
  headers: Record<string, string>;
}

/** `mcpServers` normalized: the servers (disabled ones left out) and every secret value in them. */
export interface McpServersConfig {
  servers: UpstreamConfig[];
  /** For the relay's scrubber: values from the environment, header values, env values. */
  secrets: string[];
}

/** Keys of one `egress` entry. */
export const EGRESS_ENTRY_KEYS = ['headers'] as const;
/** Headers the relay sets or strips itself on egress (lower case); an operator cannot configure them. */
export const RESERVED_EGRESS_HEADERS = ['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer',
  'proxy-connection', 'expect', 'accept-encoding'];

/** One allowed origin after validation and `${VAR}` expansion. */
export interface EgressRule {
  /** `scheme://host[:port]`, as URL.origin writes it (lower case, default port left out). */
  origin: string;
  /** A path prefix the request's path must be or be under (`/repos/acme`), or '' for the whole origin. */
  prefix: string;
  /** Added to every request to this origin (names as written), replacing the script's own of those names. */
  headers: Record<string, string>;
}

/** `egress` normalized: the allowed origins and every secret value in their headers. */
export interface EgressConfig {
  rules: EgressRule[];
  /** For the relay's scrubber: header values (and their credentials), and what `${VAR}` put in them. */
  secrets: string[];
}

/** The whole file, normalized. */
export interface OperatorConfig {
  mcpServers: McpServersConfig;
  egress: EgressConfig;
}
