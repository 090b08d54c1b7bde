/**
 * The types of tools a script calls through its global `tools`: upstream MCP servers as an operator
 * configures them (the `mcpServers` format of Claude Desktop, Cursor and `.mcp.json`), an
 * embedder's own host tools, and what describes and records them. Validated in
 * `orchestrator/config/` and `orchestrator/tools/`; the doc comments here state the rules for users.
 */

/** An MCP server started as a child process and spoken to over its stdin/stdout. */
export interface McpStdioServer {
  /** `"stdio"`, or left out: a server with `command` is a stdio server. */
  type?: 'stdio';
  /** The program to start, e.g. `"npx"`. `${VAR}` expands from the orchestrator's environment. */
  command: string;
  /** Its arguments; `${VAR}` expands in each. */
  args?: string[];
  /** Environment variables added to the few it inherits (HOME, PATH, …); `${VAR}` expands in each value. Every value is a secret. */
  env?: Record<string, string>;
  /** Its working directory. Default: the orchestrator's. */
  cwd?: string;
  /** The only tools scripts may call on it (an allowlist). Default: all of its tools. */
  tools?: string[];
  /** `true` leaves the server out, as MCP clients do. */
  disabled?: boolean;
}

/** An MCP server reached over Streamable HTTP. */
export interface McpHttpServer {
  /** `"http"` (or `"streamable-http"`), or left out: a server with `url` is an HTTP server. */
  type?: 'http' | 'streamable-http';
  /** Its MCP endpoint, an http(s) URL; `${VAR}` expands. */
  url: string;
  /** Headers sent with every request, e.g. `{ "Authorization": "Bearer ${TOKEN}" }`. Every value is a secret. */
  headers?: Record<string, string>;
  /** The only tools scripts may call on it (an allowlist). Default: all of its tools. */
  tools?: string[];
  /** `true` leaves the server out, as MCP clients do. */
  disabled?: boolean;
}

export type McpServerConfig = McpStdioServer | McpHttpServer;

/** Server name → server, as under `mcpServers` in an MCP client's configuration. A name becomes `tools.NAME` in scripts. */
export type McpServers = Record<string, McpServerConfig>;

/** A JSON Schema of an object, as MCP describes a tool's input and output. */
export interface ObjectJsonSchema {
  type: 'object';
  properties?: Record<string, unknown>;
  required?: string[];
  [keyword: string]: unknown;
}

/** What a host tool's handler gets besides the script's arguments. */
export interface HostToolContext {
  /** Aborted when the call times out or the run ends (it ended, timed out or was aborted). */
  signal: AbortSignal;
}

/** One of an embedder's own functions, called by scripts as `tools.NAMESPACE.TOOL(args)`. */
export interface HostTool {
  /** What it does; shown to the model in `get_code_docs { topic: "tools" }`. */
  description?: string;
  /** The JSON Schema of its arguments; calls whose arguments do not match fail before the handler runs. Default: any object. */
  inputSchema?: ObjectJsonSchema;
  /** The JSON Schema of what it returns, for the generated TypeScript declarations. */
  outputSchema?: ObjectJsonSchema;
  /**
   * Runs the tool. Whatever it returns (any JSON value, or a string) reaches the script as is.
   * To return images, resource links or several content blocks, return `toolResult({ content: [...] })`.
   * A throw reaches the script as an Error with its message.
   */
  handler(args: Record<string, unknown>, context: HostToolContext): unknown;
}

/** Namespace → tool name → tool. A namespace becomes `tools.NAMESPACE` in scripts. */
export type HostTools = Record<string, Record<string, HostTool>>;

/** One content block of a tool's result (MCP `ContentBlock`): text, image, audio, a resource link or an embedded resource. */
export interface ToolContent {
  type: 'text' | 'image' | 'audio' | 'resource_link' | 'resource';
  [field: string]: unknown;
}

/** A tool's whole answer, as MCP's `CallToolResult` has it. */
export interface ToolResult {
  content: ToolContent[];
  structuredContent?: Record<string, unknown>;
  isError?: boolean;
  [field: string]: unknown;
}

/** A tool as scripts can call it: `tools.$list()` and `runtime.listTools()` give these. */
export interface ToolDescriptor {
  /** The namespace: `tools.<server>`. */
  server: string;
  name: string;
  /** Where it runs: a tool of an upstream MCP server, or one of the embedder's host functions. */
  kind: 'mcp' | 'host';
  description?: string;
  inputSchema: ObjectJsonSchema;
  outputSchema?: ObjectJsonSchema;
}

/** The tools that could be listed, and the servers that could not, each with why. */
export interface ToolListing {
  tools: ToolDescriptor[];
  unavailable: { server: string; message: string }[];
}
