/**
 * How an execution is shown to a caller: one JSON shape (the `RunResult` fields plus the execution's
 * id and state; MCP's structuredContent and REST's body) and one text block an agent reads at a
 * glance. Output in both is bounded (head and tail, with a marker that says how many bytes were left
 * out and where to page from); the whole streams stay in the store.
 */
import * as z from 'zod';
import { headAndTail } from '../run/cut.js';
import type { Execution } from './executions.js';
import type { OutputStream } from './stream.js';

export const DEFAULT_OUTPUT_CHARS = 20_000;

const status = z.enum(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'OUT-OF-MEMORY', 'ABORTED']);

/** The declared shape of a view (MCP outputSchema, OpenAPI). */
export const executionViewShape = {
  executionId: z.string().describe('Pass it to get_execution, get_output and cancel_execution.'),
  state: z.enum(['queued', 'running', 'ended']).describe('`ended` once the result fields are set.'),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  endedAt: z.string().optional(),
  status: status.optional().describe('How the script ended (once ended).'),
  exitCode: z.number().optional(),
  statusMessage: z.string().optional(),
  durationMillis: z.number().optional(),
  stdout: z.string().describe('What it printed to stdout (so far), head and tail when long.'),
  stderr: z.string().describe('What it printed to stderr (so far), head and tail when long.'),
  stdoutBytes: z.number().describe('Bytes printed to stdout in all.'),
  stderrBytes: z.number(),
  stdoutTruncated: z.boolean().describe('`stdout` here left bytes out; page them with get_output.'),
  stderrTruncated: z.boolean(),
  stdoutComplete: z.boolean().describe('False when the stream went over the per-stream cap and only its head and tail are kept.'),
  stderrComplete: z.boolean(),
  actorRuns: z.array(z.object({ id: z.string(), actorId: z.string(), status: z.string(), defaultDatasetId: z.string().optional(), defaultKeyValueStoreId: z.string().optional() })).optional(),
  error: z.string().optional().describe('Set when the server could not run the script at all.'),
};
export const executionViewSchema = z.object(executionViewShape);

/** The declared shape of one page of output (get_output, GET /v1/runs/{id}/output/{stream}). */
export const pageViewShape = {
  executionId: z.string(),
  stream: z.enum(['stdout', 'stderr']),
  state: z.enum(['queued', 'running', 'ended']),
  text: z.string().describe('The page; never splits a character.'),
  byteOffset: z.number().describe('Where the page starts.'),
  nextByteOffset: z.number().describe('byteOffset to ask for next.'),
  lineOffset: z.number().optional().describe('The line the page starts on, from 1.'),
  nextLineOffset: z.number().optional().describe('lineOffset to ask for next.'),
  hasMore: z.boolean().describe('More bytes are there now (more may come while it runs).'),
  totalBytes: z.number(),
  complete: z.boolean().describe('False when the stream went over the cap and its middle was not kept.'),
  skippedBytes: z.number().describe('Bytes before the page that were over the cap and not kept.'),
};
export const pageViewSchema = z.object(pageViewShape);
export type ExecutionView = z.infer<typeof executionViewSchema>;

interface Bounded {
  text: string;
  truncated: boolean;
}

/** At most `budget` bytes of the stream: all of it, or its head and tail around the marker (`../run/cut.ts`, the cut `runCode` makes). */
function headTail(stream: OutputStream, budget: number): Bounded {
  return headAndTail(stream.held, budget, { end: stream.readableEnd });
}

/** Splits the budget: each stream gets what it needs, up to half, and the other the rest. */
function shares(outBytes: number, errBytes: number, budget: number): [number, number] {
  let err = Math.min(errBytes, Math.floor(budget / 2));
  const out = Math.min(outBytes, budget - err);
  err = Math.min(errBytes, budget - out);
  return [out, err];
}

export function executionView(execution: Execution, outputChars = DEFAULT_OUTPUT_CHARS): ExecutionView {
  const [outShare, errShare] = shares(execution.stdout.totalBytes, execution.stderr.totalBytes, outputChars);
  const stdout = headTail(execution.stdout, outShare);
  const stderr = headTail(execution.stderr, errShare);
  const result = execution.result;
  return {
    executionId: execution.id,
    state: execution.state,
    createdAt: execution.createdAt.toISOString(),
    startedAt: execution.startedAt?.toISOString(),
    endedAt: execution.endedAt?.toISOString(),
    status: result?.status,
    exitCode: result?.exitCode,
    statusMessage: result?.statusMessage,
    durationMillis: result?.durationMillis,
    stdout: stdout.text,
    stderr: stderr.text,
    stdoutBytes: execution.stdout.totalBytes,
    stderrBytes: execution.stderr.totalBytes,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    stdoutComplete: execution.stdout.complete,
    stderrComplete: execution.stderr.complete,
    actorRuns: result?.actorRuns,
    error: execution.error,
  };
}

function section(name: string, text: string, bytes: number): string {
  return bytes === 0 ? `--- ${name}: (empty) ---` : `--- ${name} (${bytes} bytes) ---\n${text}`;
}

/** The text block: a headline an agent can act on, then both streams. */
export function executionText(view: ExecutionView, waitedSecs?: number): string {
  const id = view.executionId;
  if (view.state !== 'ended') {
    const waited = waitedSecs ? ` after ${waitedSecs} s` : '';
    const headline = `Execution ${id} is still ${view.state}${waited}; it keeps running. `
      + `Call get_execution { executionId: "${id}", waitSecs: 30 } for its result, get_output to read what it printed so far, or cancel_execution to stop it.`;
    return [headline, section('stdout so far', view.stdout, view.stdoutBytes), section('stderr so far', view.stderr, view.stderrBytes)].join('\n');
  }
  if (view.error) return `Execution ${id} could not run: ${view.error}`;
  const headline = `${view.status} (exit code ${view.exitCode}): ${view.statusMessage} · ${view.durationMillis} ms · execution ${id}`;
  const paging = view.stdoutTruncated || view.stderrTruncated
    ? `\n(Output above was cut; call get_output { executionId: "${id}", stream, byteOffset } or lineOffset to read all of it.)` : '';
  return [headline, section('stdout', view.stdout, view.stdoutBytes), section('stderr', view.stderr, view.stderrBytes)].join('\n') + paging;
}
