/**
 * The options and the handle of a runtime: many runs, bounded concurrency, warm sandboxes, or runs
 * of the code-runtime Actor on the Apify platform. Validated in `orchestrator/runtime/options.ts`; the doc
 * comments here state defaults and bounds for users.
 */
import type { RunOptions } from './options.js';
import type { RunResult } from './result.js';
import type { HostTools, McpServers, ToolListing } from './mcp.js';
import type { EgressOrigins } from './egress.js';

/** Options every run of a runtime starts from; a run's own options win. Tools and egress belong to the runtime itself; input files to each run. */
export type RunDefaults = Omit<RunOptions, 'code' | 'signal' | 'onOutput' | 'mcpServers' | 'tools' | 'egress' | 'files'>;

export interface RemoteOptions {
  /** Apify API token the Actor runs are started with (and that scripts' `apify` acts as). Default: `APIFY_TOKEN`. */
  token?: string;
  /** The code-runtime Actor, as `username/name` or an ID. Default `apify/code-runtime`. */
  actorId?: string;
  /** The Actor build (tag or number) to run. Default: the Actor's default build. */
  build?: string;
  /** Memory of each Actor run in MB, a power of 2 from 128 to 32768. Default: the smallest that fits the script's `memoryMbytes`. */
  memoryMbytes?: number;
  /** Apify API base URL. Default: `APIFY_API_BASE_URL`, else `https://api.apify.com`. */
  baseUrl?: string;
}

export interface RuntimeOptions {
  /** Scripts running at once, 1–1024; more wait their turn. Default: CPU cores (`os.availableParallelism()`), 25 with `remote`. */
  concurrency?: number;
  /**
   * Sandboxes kept started and waiting for a script, 0–64, so a run skips Deno's start-up. Each is
   * used for one run only. Runs whose `memoryMbytes` differs from `defaults` start
   * their own. Default: `concurrency` + 1 (one spare, so back-to-back runs find a ready child);
   * 0 with `remote`, where it must stay 0.
   */
  warmProcesses?: number;
  /** Options for every run (a run's own options win): limits, token, API base URL, budgets. */
  defaults?: RunDefaults;
  /**
   * Run each script as a run of the code-runtime Actor on the Apify platform instead of on this
   * machine; results have the same shape. Output is delivered to `onOutput` once, at the end.
   */
  remote?: RemoteOptions;
  /**
   * Upstream MCP servers whose tools every script calls as `tools.NAME.TOOL(args)` (the
   * `mcpServers` format of MCP clients; `${VAR}` expands from the environment). Each is connected
   * on first use, shared by every run, started again with back-off if it dies, and closed (its
   * process killed) by `close()`. A run's own `mcpServers` and `tools` add namespaces for that run.
   */
  mcpServers?: McpServers;
  /** The embedder's own functions, called by every script as `tools.NAMESPACE.TOOL(args)`. */
  tools?: HostTools;
  /**
   * Origins every script's `fetch` may reach, with headers the relay adds on the way out (never
   * visible to the script; `${VAR}` expands from the environment), e.g.
   * `{ "https://api.github.com": { headers: { Authorization: "Bearer ${GITHUB_TOKEN}" } } }`.
   * A run's own `egress` adds origins for that run. See docs/egress.md.
   */
  egress?: EgressOrigins;
}

/**
 * A `runMany` entry whose run never produced a result: the error `run()` would have rejected with.
 * It has none of a result's other fields (they read as `undefined`).
 */
export interface RunInfrastructureError extends Partial<Record<Exclude<keyof RunResult, 'status' | 'statusMessage'>, undefined>> {
  status: 'INFRASTRUCTURE-ERROR';
  /** The error's message, e.g. `Could not start the Deno sandbox (…): spawn … EMFILE: …`. */
  statusMessage: string;
  error: Error;
}

/** One entry of `runMany`'s answer: the run's result, or why it could not be carried out. */
export type RunManyEntry = RunResult | RunInfrastructureError;

export interface Runtime {
  /**
   * Runs one script when a slot is free. Rejects for invalid options, infrastructure failures, or
   * when the runtime is closed; everything the script does is in the result.
   */
  run(options: RunOptions): Promise<RunResult>;
  /**
   * Runs every script (at most `concurrency` at once) and resolves with one entry per script, in
   * input order. Options are all validated before any run starts (a bad one rejects the whole call,
   * naming its index). One script's failure is only its result; a run that could not be carried out
   * at all (what `run()` would reject with, e.g. the sandbox could not start) is an
   * `INFRASTRUCTURE-ERROR` entry, and every other entry is its run's `RunResult` as usual.
   * Narrow with `entry.status !== 'INFRASTRUCTURE-ERROR'` (or `'error' in entry`).
   */
  runMany(optionsList: readonly RunOptions[]): Promise<RunManyEntry[]>;
  /** The runtime's tool namespaces (`tools.<name>` in scripts). */
  readonly toolServers: readonly string[];
  /**
   * Every tool of the runtime's namespaces, as scripts see them (connecting servers not yet
   * connected); servers that cannot answer are listed in `unavailable` with why.
   */
  listTools(): Promise<ToolListing>;
  /** Aborts running scripts (their status is `ABORTED`), kills warm sandboxes, closes tool servers (killing their processes); resolves when none is left. */
  close(): Promise<void>;
}
