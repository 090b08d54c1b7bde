/**
 * The one result shape of a run, for every outcome. Shared by the orchestrator, the CLI's `--json`,
 * the Actor's dataset item and embedders. Only `orchestrator/result.ts` decides `status`.
 */
import type { EgressRequestRef } from './egress.js';

/**
 * How a run ended.
 * - `SUCCEEDED`: the script ran to its end, or called `Deno.exit(0)`.
 * - `FAILED`: it threw, left a promise rejection unhandled, had a syntax error, exited non-zero,
 *   or its top-level `await` waited on a promise that can never settle.
 * - `TIMED-OUT`: still running at `timeoutSecs`; it was killed.
 * - `OUT-OF-MEMORY`: it went over `memoryMbytes` (heap or process); it was killed.
 * - `ABORTED`: the caller aborted it (an `AbortSignal`, or the runtime was closed).
 */
export type RunStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED-OUT' | 'OUT-OF-MEMORY' | 'ABORTED';

/** An Actor run that the script started through `apify`, so a caller can reuse its storages. */
export interface ActorRunRef {
  /** The run's ID. */
  id: string;
  /** The Actor it is a run of, as the script named it (`username/name` or an ID). */
  actorId: string;
  /** The last status the relay saw for it (after an abort on failure, `ABORTING`/`ABORTED`). */
  status: string;
  /** The run's default dataset, when the API reported it. */
  defaultDatasetId?: string;
  /** The run's default key-value store, when the API reported it. */
  defaultKeyValueStoreId?: string;
}

/**
 * One call the script made through `tools`. How it ended: `SUCCEEDED`; `FAILED` (the tool answered
 * with an error, its server failed or is unavailable, the tool does not exist, or a limit refused it);
 * `TIMED-OUT` (over `toolTimeoutSecs`); `ABORTED` (the run ended first; the call was cancelled upstream).
 */
export interface ToolCallRef {
  /** The namespace, `tools.<server>`. */
  server: string;
  tool: string;
  status: 'SUCCEEDED' | 'FAILED' | 'TIMED-OUT' | 'ABORTED';
  /** From when the relay received the call to its answer. */
  durationMillis: number;
}

/** A JSON value: what `export default` in a script becomes in `RunResult.value`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A file the script wrote with `files.write` (see docs/files.md). */
export interface OutputFile {
  /** The name the script gave it: plain (not `.`; no `/`, `\`, `..`, NUL or control characters), 1–255 bytes of UTF-8. */
  name: string;
  /** As the script gave it, else inferred from the name (e.g. `image/png`), else `text/plain; charset=utf-8` for UTF-8 text and `application/octet-stream` for other bytes. */
  contentType: string;
  /** Bytes. */
  size: number;
  /** Its bytes. Front doors that speak JSON list the file without them and give a way to fetch them. */
  bytes: Uint8Array;
}

export interface RunResult {
  /** How the run ended; see {@link RunStatus}. */
  status: RunStatus;
  /**
   * 0 for `SUCCEEDED`. `FAILED`: the script's exit code (a throw gives 1, `Deno.exit(3)` gives 3,
   * death by a signal 128 + its number). `TIMED-OUT` 124, `OUT-OF-MEMORY` 137, `ABORTED` 130.
   */
  exitCode: number;
  /** What the script wrote to stdout (`console.log`, `info`, `debug`), decoded as UTF-8. */
  stdout: string;
  /** What it wrote to stderr (`console.warn`, `error`), plus the error report when it failed. */
  stderr: string;
  /** One line a person or an agent can act on, e.g. `Script threw: Error: boom`. */
  statusMessage: string;
  /**
   * Wall-clock milliseconds the run took: from when it got its sandbox process (just before a fresh
   * one is spawned; a warm one: when it is handed the script) to the guest's `done` record on both
   * output streams (written once the script's event loop is empty, just before the process exits),
   * or, when none came (a kill, or an end the guest does not see), to the process's exit and the
   * end of its output. Not the process's lifetime: a warm child's idle wait and Deno's teardown
   * after `done` are left out.
   */
  durationMillis: number;
  /** How many bytes the script wrote to stdout in all, including any truncated. */
  stdoutBytes: number;
  /** How many bytes it wrote to stderr in all, including any truncated. */
  stderrBytes: number;
  /**
   * `stdout` kept only its head and tail (cut at line ends when a newline is near); between them one
   * line, `[… N bytes cut; lineOffset L, byteOffset B …]`, says how many bytes were cut and where they
   * start in the whole stream (line from 1, byte from 0).
   */
  stdoutTruncated: boolean;
  /** `stderr` kept only its head and tail, with the same marker line as `stdoutTruncated`. */
  stderrTruncated: boolean;
  /** The Actor runs the script started through `apify`, in the order it started them. */
  actorRuns: ActorRunRef[];
  /** The tool calls the script made through `tools`, in the order it made them (the first 1,000). */
  toolCalls: ToolCallRef[];
  /**
   * The requests the script's `fetch` sent out through the egress gate (to the origins the operator
   * allowed, redirects as their own entries), in the order it sent them (the first 1,000).
   */
  requests: EgressRequestRef[];
  /**
   * The script's `export default` (awaited when it is a promise), as JSON. Absent when the script
   * has no default export (or exports `undefined`). A value that is not JSON, or over 1 MiB as
   * JSON, makes the run FAILED instead, naming the problem.
   */
  value?: JsonValue;
  /**
   * The files the script wrote with `files.write`, in the order first written (a name written again
   * keeps its place and its last bytes). Always an array. A write that completed before the run
   * ended (however it ended: timeout, out of memory, abort) is here.
   */
  files: OutputFile[];
}
