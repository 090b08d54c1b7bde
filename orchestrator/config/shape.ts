/**
 * The operator configuration's shape, defined once: the file's top-level keys, the keys of one MCP
 * server entry, and the normalized form the rest of the orchestrator reads. The file is the
 * `mcpServers` format MCP clients use (Claude Desktop, Cursor, Claude Code's `.mcp.json`); more
 * operator settings join it as further top-level keys, each with its own normalizer.
 */

/** Top-level keys of the file, each with the line `--help` and errors use. */
export const CONFIG_KEYS = {
  mcpServers: 'upstream MCP servers whose tools scripts call as tools.NAME.TOOL(args)',
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

/** The whole file, normalized. */
export interface OperatorConfig {
  mcpServers: McpServersConfig;
}
