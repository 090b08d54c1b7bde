/**
 * The global `tools` of a code-runtime script: the tools of the upstream MCP servers and host
 * functions the operator configured, called through the orchestrator (their credentials never
 * enter the sandbox). Reference it for completion: `/// <reference types="code-runtime/types/tools" />`.
 * The exact tools of a server, with their argument and result types, are in
 * `get_code_docs { topic: "tools" }` (generated from each tool's JSON Schemas).
 * The reference is docs/tools.md.
 */

/** One tool as `tools.$list()` describes it. */
export interface ToolInfo {
  /** The namespace: `tools.<server>`. */
  server: string;
  name: string;
  /** A tool of an upstream MCP server, or one of the embedder's own functions. */
  kind: 'mcp' | 'host';
  description?: string;
  /** The JSON Schema of its arguments. */
  inputSchema: { type: 'object'; properties?: Record<string, unknown>; required?: string[]; [keyword: string]: unknown };
  /** The JSON Schema of its structured result, when it declares one. */
  outputSchema?: { type: 'object'; [keyword: string]: unknown };
}

/** A tool's whole answer (MCP `CallToolResult`), as `tools.$callTool()` gives it. */
export interface ToolCallResult {
  /** Text, image (`data` base64, `mimeType`), audio, `resource_link` (`uri`, `name`) or embedded `resource` blocks. */
  content: Array<{ type: 'text' | 'image' | 'audio' | 'resource_link' | 'resource'; [field: string]: unknown }>;
  structuredContent?: Record<string, unknown>;
  /** The tool reports a failure (`tools.$callTool` does not throw for it). */
  isError?: boolean;
  [field: string]: unknown;
}

/**
 * What a failed call throws: `error.name === 'ToolError'`. `type` says why: `tool-error` (the tool
 * answered with an error; the message is its own text), `unknown-tool`, `invalid-arguments`,
 * `unavailable` (its server cannot be started or reached, or died), `protocol-error`, `timed-out`
 * (over `toolTimeoutSecs`), `tool-call-limit` (`maxToolCalls`), `tool-arguments-too-large` (1 MiB),
 * `tool-result-too-large` (10 MiB).
 */
export interface ToolError extends Error {
  name: 'ToolError';
  type: string;
  server: string;
  tool: string;
}

/** A namespace: every property is a tool; names that are not identifiers go in brackets. */
export type ToolNamespace = Record<string, (args?: Record<string, unknown>) => Promise<any>>;

/** The helpers every `tools` object has besides its namespaces. */
export interface ToolsHelpers {
  /** Every tool of every server (or of one), for discovery in code. Servers that cannot be reached now are left out; naming one throws why. */
  $list(server?: string): Promise<ToolInfo[]>;
  /** `tools.$call('everything', 'get-sum', { a: 2, b: 3 })` is `tools.everything['get-sum']({ a: 2, b: 3 })`, for names held in variables. */
  $call(server: string, tool: string, args?: Record<string, unknown>): Promise<any>;
  /**
   * The tool's whole answer (images, audio, resource links, several blocks), as MCP's
   * `CallToolResult`; a result with `isError` is returned, not thrown.
   * @example const { content } = await tools.$callTool('everything', 'get-tiny-image', {});
   */
  $callTool(server: string, tool: string, args?: Record<string, unknown>): Promise<ToolCallResult>;
}

declare global {
  /**
   * The operator's tools: `await tools.NAME.TOOL(args)` resolves to the tool's structured result
   * when it has one, else to its text (text blocks joined by newlines); a failure throws a ToolError.
   * @example const sum = await tools.everything['get-sum']({ a: 2, b: 3 });
   */
  const tools: { readonly [server: string]: ToolNamespace } & ToolsHelpers;
}
