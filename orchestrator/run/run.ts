/**
 * `runCode`: one script, one sandbox process used once. Validates the options, takes a child (a
 * fresh one, or a warm one from a pool when the caller supplies a source), opens the run's relay
 * session (with its tools: the runtime's, plus any of the run's own, started for it, and its input
 * files), supervises the child, closes the session (keeping the files the script wrote, cancelling
 * its tool calls, aborting the script's Actor runs unless it succeeded), closes the run's own tool
 * servers and builds the result. Rejects only for invalid
 * options and infrastructure failures.
 */
import { randomBytes } from 'node:crypto';
import { dataHardLimitBytes, pruneScriptEmits, resolveBootstrap, resolveDeno, resolveGuestCode, sharedDenoDir } from './deno.js';
import { spawnChild, superviseChild, type ChildFacts, type SandboxChild } from './child.js';
import { LIMITS, normalizeOptions, type NormalizedOptions } from './options.js';
import { OutputBuffer } from './output.js';
import { openRelaySession, relayHostPort } from '../relay/relay.js';
import { reportPrefix, toResult } from './result.js';
import { dataLimitBytes, sandboxCommand, type SandboxCommand } from './sandbox.js';
import { StallNaming } from './tla-stall.js';
import { ToolHub } from '../tools/hub.js';
import type { OutputListener, RunOptions } from '../../types/options.js';
import type { RunResult } from '../../types/result.js';
import type { SessionRecords } from '../relay/relay.js';
import { ruleName, type EgressRule } from '../relay/egress-rules.js';

/** Memory Deno itself needs besides the script's own, counted into the resident-memory limit. */
export const RUNTIME_OVERHEAD_MBYTES = 128;

/** The resident memory a run's process may reach: the script's heap limit plus Deno's own. */
function rssLimitBytes(options: Pick<NormalizedOptions, 'memoryMbytes'>): number {
  return (options.memoryMbytes + RUNTIME_OVERHEAD_MBYTES) * 1024 * 1024;
}

/** Where a run's process comes from: given the command it needs, a child that has not run anything. */
export type ChildSource = (command: SandboxCommand, cwd: string) => SandboxChild;

export interface Sandbox {
  command: SandboxCommand;
  cwd: string;
  /** The DENO_DIR in the command, pruned of script emits after each run. */
  denoDir: string;
}

/**
 * The origins a run's `fetch` may reach, as the relay judges them: the run's own (the runtime's and
 * its own `egress`), then the Apify API's origin, which a script reached before egress existed and
 * still does, without the token (the token goes only on the binding's allowlisted calls, `/v2/…`).
 */
export function egressRules(options: Pick<NormalizedOptions, 'egress' | 'apiBaseUrl'>): EgressRule[] {
  const own = options.egress.rules;
  const api: EgressRule = { origin: options.apiBaseUrl.origin, prefix: '', headers: {} };
  return own.some((rule) => rule.origin === api.origin && rule.prefix === '') ? own : [...own, api];
}

/**
 * The origins a script may reach over the network, as its denials name them (the guest's words for
 * a refused connection say `allowed: …`): the one place that list is made, from the rules the relay
 * judges by (the sandbox itself reaches nothing but the relay).
 */
export function allowedOrigins(options: Pick<NormalizedOptions, 'egress' | 'apiBaseUrl'>): string[] {
  return egressRules(options).map(ruleName);
}

/**
 * The stdin envelope the guest bootstrap reads (guest/envelope.ts); `servers` are the names of
 * `tools.*` (nothing else of them), `allowedOrigins` what the script's fetch may reach (no header
 * of theirs is here); of the input files only names, sizes and types (their bytes are fetched from
 * the relay).
 */
export function envelope(options: NormalizedOptions, secret: string, relayUrl: string, servers: readonly string[] = []): string {
  const inputs = options.files.map(({ name, bytes, contentType }) => ({ name, size: bytes.length, contentType }));
  return JSON.stringify({
    code: options.code, secret, scriptName: options.scriptName, allowedOrigins: allowedOrigins(options),
    apify: { url: relayUrl }, tools: { url: relayUrl, servers }, egress: { url: relayUrl },
    files: { url: relayUrl, inputs, maxFileBytes: options.maxFileBytes },
  });
}

const MB = 1024 * 1024;

/** What a refused data cap comes to, in MB: what the run needs, the hard limit, and the largest memoryMbytes that fits. */
interface DataLimitFacts {
  need: number;
  hard: number;
  fits: number;
}

/**
 * A run refused because its data-segment cap cannot be set: children inherit this process's hard
 * RLIMIT_DATA and cannot raise it. Its message names the option as the library does; `as` names it
 * as another front door does (the CLI's `--memory`).
 */
export class DataLimitError extends Error {
  readonly #memoryMbytes: number;
  readonly #facts: DataLimitFacts;

  constructor(memoryMbytes: number, facts: DataLimitFacts) {
    super(dataLimitWords('memoryMbytes', memoryMbytes, facts));
    this.name = 'DataLimitError';
    this.#memoryMbytes = memoryMbytes;
    this.#facts = facts;
  }

  /** The message with the option called `option`. */
  as(option: string): string {
    return dataLimitWords(option, this.#memoryMbytes, this.#facts);
  }
}

function dataLimitWords(option: string, memoryMbytes: number, { need, hard, fits }: DataLimitFacts): string {
  return `${option} ${memoryMbytes} needs a data-segment limit of ${need} MB, above this process's hard limit (RLIMIT_DATA, \`ulimit -d\`) of ${hard} MB, which sandboxes cannot exceed: `
    + `${fits >= LIMITS.memoryMbytes.min ? `use ${option} ≤ ${fits}, or ` : ''}start the orchestrator with a data limit of at least ${need} MB`;
}

/** Refuses, naming the fix, a run whose data-segment cap could not be set (DataLimitError). */
function checkDataLimit(memoryMbytes: number): void {
  const hard = dataHardLimitBytes();
  const need = dataLimitBytes(memoryMbytes);
  if (need <= hard) return;
  const fits = Math.floor((hard - dataLimitBytes(0)) / (dataLimitBytes(1) - dataLimitBytes(0)));
  throw new DataLimitError(memoryMbytes, { need: need / MB, hard: Math.floor(hard / MB), fits });
}

/** The process a run with these settings needs; a warm child fits a run only if started with the same. */
export async function sandboxFor(options: Pick<NormalizedOptions, 'memoryMbytes'>): Promise<Sandbox> {
  // Both ways a child starts (launch.ts) cap its data segment on Linux.
  if (process.platform === 'linux') checkDataLimit(options.memoryMbytes);
  const denoDir = sharedDenoDir();
  const command = sandboxCommand({
    denoPath: resolveDeno(),
    bootstrapPath: resolveBootstrap(),
    denoDir,
    memoryMbytes: options.memoryMbytes,
    relayHostPort: await relayHostPort(),
  });
  // The loader reads the guest's code from stdin while it waits for the envelope (scripts/bundle-guest.mjs).
  command.stdin = resolveGuestCode();
  // Deno.cwd() needs no permission: show the script nothing about this machine.
  return { command, cwd: '/', denoDir };
}

/** The result of a run aborted before its script could start (or print anything). */
export function abortedResult(options: NormalizedOptions, durationMillis = 0): RunResult {
  const empty = () => new OutputBuffer(options.maxOutputBytes);
  const facts: ChildFacts = { exitCode: null, signal: null, killedFor: 'abort', peakRssBytes: 0, durationMillis, stdout: empty(), stderr: empty() };
  return resultFor(options, facts, { actorRuns: [], toolCalls: [], requests: [], files: [] });
}

/** The run's result from its exit facts, judged against the limits it ran under. */
function resultFor(options: NormalizedOptions, facts: ChildFacts, records: SessionRecords): RunResult {
  return toResult({ facts, timeoutSecs: options.timeoutSecs, memoryMbytes: options.memoryMbytes, rssLimitBytes: rssLimitBytes(options), scriptName: options.scriptName, ...records });
}

/** The run's tools: the runtime's hub, extended by the run's own namespaces (which only this run starts and closes). */
function toolsFor(options: NormalizedOptions): { hub?: ToolHub; own?: ToolHub } {
  if (!options.tools) return { hub: options.toolHub };
  const own = new ToolHub(options.tools, options.toolHub);
  return { hub: own, own };
}

/**
 * The caller's live listener, shown stderr as the result will have it: Deno's report of a stalled
 * top-level await names the script (tla-stall.ts). `end` gives the listener what was still held.
 */
function liveNaming(listener: OutputListener, scriptName: string): { listener: OutputListener; end(): void } {
  const naming = new StallNaming(scriptName);
  // Once the listener threw, the run core stops calling it (child.ts); so does the final flush.
  let failed = false;
  const call = (stream: 'stdout' | 'stderr', chunk: Uint8Array) => {
    if (failed || chunk.length === 0) return;
    try {
      listener(stream, chunk);
    } catch (error) {
      failed = true;
      throw error;
    }
  };
  return {
    listener: (stream, chunk) => call(stream, stream === 'stderr' ? naming.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)) : chunk),
    end() {
      try {
        call('stderr', naming.end());
      } catch (error) {
        process.emitWarning(`code-runtime: onOutput threw, so the run's live output stopped (the result keeps it all): ${error instanceof Error ? error.message : String(error)}`);
      }
    },
  };
}

/** Runs validated options to a result. `source` supplies the child (default: a fresh spawn). */
export async function runNormalized(options: NormalizedOptions, source: ChildSource = spawnChild): Promise<RunResult> {
  // Aborted before it started: nothing to spawn, nothing to kill.
  if (options.signal?.aborted) return abortedResult(options);
  const { command, cwd, denoDir } = await sandboxFor(options);
  const { hub, own } = toolsFor(options);
  const session = await openRelaySession({
    token: options.token,
    apiBaseUrl: options.apiBaseUrl.origin,
    maxActorRuns: options.maxActorRuns,
    maxTotalChargeUsd: options.maxTotalChargeUsd,
    defaultTimeoutSecs: options.defaultTimeoutSecs,
    // Never past the run's own deadline: the session closes (cancelling its calls) when the run ends.
    tools: hub && !hub.empty ? { dispatcher: hub, maxCalls: options.maxToolCalls, timeoutMs: Math.min(options.toolTimeoutSecs, options.timeoutSecs) * 1000 } : undefined,
    secrets: [...(hub?.secrets ?? []), ...options.egress.secrets],
    egress: { rules: egressRules(options), limits: options.egressLimits },
    files: { inputs: options.files, maxFilesOut: options.maxFilesOut, maxFileBytes: options.maxFileBytes, maxFilesOutBytes: options.maxFilesOutBytes },
  });
  const secret = randomBytes(16).toString('hex');
  const live = options.onOutput && liveNaming(options.onOutput, options.scriptName);
  let facts;
  try {
    const startedAt = performance.now();
    facts = await superviseChild(source(command, cwd), {
      startedAt,
      input: envelope(options, secret, session.url, hub?.servers),
      timeoutMs: options.timeoutSecs * 1000,
      rssLimitBytes: rssLimitBytes(options),
      maxOutputBytes: options.maxOutputBytes,
      onOutput: live ? live.listener : undefined,
      // The guest's failure report is for result.ts, not for the output or whoever watches it live.
      reportPrefix: reportPrefix(secret),
      signal: options.signal,
    });
  } catch (error) {
    await session.close({ abortRunning: true });
    await own?.close();
    throw error;
  } finally {
    live?.end();
    pruneScriptEmits(denoDir);
  }
  const succeeded = facts.exitCode === 0 && !facts.killedFor;
  const records = await session.close({ abortRunning: !succeeded });
  await own?.close();
  return resultFor(options, facts, records);
}

export async function runCode(input: RunOptions): Promise<RunResult> {
  return runNormalized(normalizeOptions(input));
}
