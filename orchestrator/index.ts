/**
 * code-runtime's public API: run one untrusted script in a locked-down Deno sandbox and get back
 * what it printed. Re-exports only; each piece lives in its own module.
 */
export { runCode } from './run/run.js';
export { createRuntime, RUNTIME_LIMITS } from './runtime/runtime.js';
export { LIMITS } from './run/options.js';
export { EXIT_CODES } from './run/result.js';
export type { InputFiles, OutputListener, RunOptions } from '../types/options.js';
export type { ActorRunRef, JsonValue, OutputFile, RunResult, RunStatus, ToolCallRef } from '../types/result.js';
export type { EgressOrigin, EgressOrigins, EgressRequestRef } from '../types/egress.js';
export { toolResult } from './tools/tool-result.js';
export { ConfigError } from './config/error.js';
export type {
  HostTool, HostToolContext, HostTools, McpHttpServer, McpServerConfig, McpServers, McpStdioServer, ObjectJsonSchema,
  ToolContent, ToolDescriptor, ToolListing, ToolResult,
} from '../types/mcp.js';
export type { RemoteOptions, RunDefaults, RunInfrastructureError, RunManyEntry, Runtime, RuntimeOptions } from '../types/runtime.js';
export { createServer } from './server/http.js';
export { serveStdio } from './server/stdio.js';
export type { CodeRuntimeServer } from './server/http.js';
export type { StdioServer } from './server/stdio.js';
export type { ServerOptions } from './server/options.js';
