/**
 * The options of one run, as callers pass them. Types, bounds, defaults and descriptions are defined
 * once in `orchestrator/run/option-table.ts` (which must name exactly these keys) and checked by
 * `orchestrator/run/options.ts`; the doc comments here state them for users.
 */

import type { HostTools, McpServers } from './mcp.js';
import type { EgressOrigins } from './egress.js';

/** Input files by name: the script reads them with `files.read(name)` / `files.readText(name)`. A string is its UTF-8 text. */
export type InputFiles = Record<string, string | Uint8Array>;

/** A chunk of what the script printed, delivered live while it runs. */
export type OutputListener = (stream: 'stdout' | 'stderr', chunk: Uint8Array) => void;

export interface RunOptions {
  /** The TypeScript or JavaScript source to run (1 to 1,000,000 characters). */
  code: string;
  /** Wall-clock limit in seconds, 1–3600. Default 300. */
  timeoutSecs?: number;
  /** Memory limit in megabytes (the V8 heap, and the process as a whole), 16–32768. Default 256. */
  memoryMbytes?: number;
  /** Bytes kept per stream (head and tail), 4096–1073741824. Default 8 MiB. */
  maxOutputBytes?: number;
  /** The file name stack traces show for the script, e.g. `report.ts`. Default `script.ts`. */
  scriptName?: string;
  /** Receives every chunk the script prints, as it prints it, uncapped. */
  onOutput?: OutputListener;
  /** Aborting kills the script; the result's status is then `ABORTED`. */
  signal?: AbortSignal;
  /** Apify API token for the `apify` binding. Default: `APIFY_TOKEN` of the orchestrator's environment. */
  token?: string;
  /** Apify API base URL. Default: `APIFY_API_BASE_URL` of the environment, else `https://api.apify.com`. */
  apiBaseUrl?: string;
  /** How many Actor runs the script may start. Default: no limit. */
  maxActorRuns?: number;
  /** Budget in USD across all Actor runs the script starts. Default: no limit. */
  maxTotalChargeUsd?: number;
  /** Timeout in seconds for Actor runs the script starts without one. Default: the Actor's own. */
  defaultTimeoutSecs?: number;
  /**
   * Upstream MCP servers whose tools the script calls as `tools.NAME.TOOL(args)`, in the
   * `mcpServers` format of MCP clients; `${VAR}` expands from the environment. Started for this run
   * and closed after it: give them to `createRuntime` to share connections across runs.
   */
  mcpServers?: McpServers;
  /** The embedder's own functions, called by the script as `tools.NAMESPACE.TOOL(args)`. */
  tools?: HostTools;
  /** How many tool calls the script may make, 0–1,000,000. Default 1,000. */
  maxToolCalls?: number;
  /** How long one tool call may take, in seconds, 1–3600 (never past the run's own timeout). Default 60. */
  toolTimeoutSecs?: number;
  /**
   * Origins the script's own `fetch` may reach besides the Apify API's (which it reaches without the
   * token), e.g. `{ "https://api.github.com": { headers: { Authorization: "Bearer ${GITHUB_TOKEN}" } } }`:
   * every request goes through the orchestrator's relay, which adds the headers (never visible to
   * the script) and scrubs their values from what comes back. `${VAR}` expands from the environment.
   * Added to the runtime's own `egress`; an origin in both takes this run's entry. See docs/egress.md.
   */
  egress?: EgressOrigins;
  /**
   * Files the script reads with the global `files` (names: plain, not `.`, no `/`, `\`, `..`, NUL or control
   * characters, 1–255 bytes of UTF-8); the content type is inferred from the name. They never touch
   * a disk the sandbox can name: the script fetches them from the orchestrator. Bytes are read as
   * given, not copied: leave them unchanged until the run ends.
   */
  files?: InputFiles;
  /** How many files the script may write, 0–10,000. Default 100. */
  maxFilesOut?: number;
  /** Bytes of one file, in or out, 1 to 1 GiB. Default 10 MiB. */
  maxFileBytes?: number;
  /** Bytes of all input files together, 0 to 1 GiB. Default 64 MiB. */
  maxFilesInBytes?: number;
  /** Bytes of all files the script writes together, 0 to 1 GiB. Default 64 MiB. */
  maxFilesOutBytes?: number;
}
