/**
 * How an execution is shown to a caller. Two forms, each holding the output once:
 * - the view: one JSON shape (the `RunResult` fields plus the execution's id and state), REST's body
 *   and, for MCP clients that ask for it, structuredContent;
 * - the answer text an agent reads: a headline it can act on, then what the script printed.
 * Output in both is bounded (head and tail around a marker that says what was cut and where to page
 * from); the whole streams stay in the store.
 */
import * as z from 'zod';
import { CUT_MARKER, headAndTail } from '../run/cut.js';
import { ANSWER_LIMITS } from './schemas.js';
import { runsElsewhere, type Execution } from './executions.js';
import type { OutputStream } from './stream.js';

/** Characters of output a REST view holds. */
export const VIEW_OUTPUT_CHARS = 20_000;
/** Characters an MCP answer holds unless the call asks for another size (`maxAnswerChars`). */
export const DEFAULT_OUTPUT_CHARS = ANSWER_LIMITS.default;

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
  requests: z.array(z.object({ origin: z.string(), method: z.string(), status: z.number(), bytes: z.number() })).optional()
    .describe('What the script\'s fetch sent out to the allowed origins (status 0: no answer).'),
  error: z.string().optional().describe('Set when the server could not run the script at all.'),
  heldBy: z.string().optional().describe('Set while it runs on another run of the Standby Actor (that run\'s id): ask again until it ends.'),
  value: z.unknown().optional().describe('The script\'s `export default`, as JSON (once ended; absent without one).'),
  files: z.array(z.object({ name: z.string(), contentType: z.string(), size: z.number() })).optional()
    .describe('The files the script wrote (once ended): GET /v1/runs/{id}/files/{name}, or the MCP resource code-runtime://executions/{id}/files/{name}.'),
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
  hasMore: z.boolean().describe('More text is there now, from nextByteOffset: a page from there is never empty (more may come while it runs).'),
  pendingBytes: z.number().optional().describe('Set when nothing more can be read yet though bytes were printed: the start of a character still being printed. Ask again from nextByteOffset later.'),
  totalBytes: z.number(),
  complete: z.boolean().describe('False when the stream went over the cap and its middle was not kept.'),
  skippedBytes: z.number().describe('Bytes before the page that were over the cap and not kept.'),
  heldBy: z.string().optional().describe('Set while it runs on another run of the Standby Actor: its output can be read once it ends.'),
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

export function executionView(execution: Execution, outputChars = VIEW_OUTPUT_CHARS): ExecutionView {
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
    requests: result?.requests,
    error: execution.error,
    heldBy: execution.heldBy,
    value: result?.value,
    files: result?.files.map(({ name, contentType, size }) => ({ name, contentType, size })),
  };
}

/** What an MCP answer says before the output: set by the tool that answers. */
export interface AnswerContext {
  /** Seconds the call waited, for an execution still going. */
  waitedSecs?: number;
  /** An answer to cancel_execution: whether it stopped the script or found it ended already. */
  cancel?: 'stopped' | 'already-ended';
}

/** One line an agent can act on: how it ended (or that it goes on, and what to call next). */
export function answerHeadline(execution: Execution, context: AnswerContext = {}): string {
  const id = execution.id;
  if (runsElsewhere(execution)) return elsewhereHeadline(execution, context);
  if (execution.state !== 'ended') {
    const waited = context.waitedSecs ? ` after ${context.waitedSecs} s` : '';
    const where = context.cancel ? `was told to stop but has not ended yet${waited}`
      : execution.state === 'queued' ? `is waiting for a free slot${waited}; it starts by itself`
      : `is still running${waited}`;
    return `Execution ${id} ${where}. Call get_execution {"executionId":"${id}","waitSecs":30} for its result, get_output for what it printed so far${context.cancel ? '' : ', or cancel_execution to stop it'}.`;
  }
  const before = context.cancel === 'already-ended' ? `Execution ${id} had already ended; nothing was cancelled. ` : context.cancel === 'stopped' ? 'Cancelled: ' : '';
  if (execution.error) return `${before}Execution ${id} could not run: ${execution.error}`;
  const result = execution.result!;
  const why = result.status === 'SUCCEEDED' ? '' : `: ${result.statusMessage}`;
  return `${before}${result.status} (exit code ${result.exitCode})${why} · ${result.durationMillis} ms · executionId ${id}`;
}

/** An execution that runs on another run of the Standby Actor: where, and to ask again (any run answers once it ends). */
export function elsewhereHeadline(execution: Execution, context: AnswerContext = {}): string {
  const id = execution.id;
  const waited = context.waitedSecs ? ` (after waiting ${context.waitedSecs} s)` : '';
  const what = execution.state === 'queued' ? 'is waiting for a free slot' : 'is still running';
  return `Execution ${id} ${what} on another run of this Actor (run ${execution.heldBy})${waited}; its output can be read once it ends. `
    + `Call get_execution {"executionId":"${id}","waitSecs":30} again: once it ends, any run answers with its result.`;
}

/** The Actor runs in at most `room` characters: those that fit, then how many more there are (a script may start thousands). */
function actorRunLines(execution: Execution, room: number): string[] {
  const all = (execution.result?.actorRuns ?? []).map((run) => `Actor run ${run.id} (${run.actorId}): ${run.status}`
    + `${run.defaultDatasetId ? `, dataset ${run.defaultDatasetId}` : ''}${run.defaultKeyValueStoreId ? `, key-value store ${run.defaultKeyValueStoreId}` : ''}`);
  const more = (left: number) => `… and ${left} more Actor runs (get_execution with a larger maxAnswerChars lists more)`;
  let used = 0;
  let kept = 0;
  for (; kept < all.length; kept += 1) {
    const left = all.length - kept - 1;
    const next = used + all[kept]!.length + 1 + (left > 0 ? more(left).length + 1 : 0);
    if (next > room) break;
    used += all[kept]!.length + 1;
  }
  return kept === all.length ? all : [...all.slice(0, kept), more(all.length - kept)];
}

/** The answer text with `budget` bytes of output shared between the streams, and at most a quarter of `maxChars` for Actor runs. */
function render(execution: Execution, context: AnswerContext, budget: number, maxChars: number): string {
  const { stdout, stderr } = execution;
  const [outShare, errShare] = shares(stdout.totalBytes, stderr.totalBytes, Math.max(0, budget));
  const lines = [answerHeadline(execution, context), ...actorRunLines(execution, Math.floor(maxChars / 4))];
  // The first stream cut, and the line its cut starts on (from the marker): the get_output call to suggest.
  let cut: { name: string; lineOffset?: string } | undefined;
  for (const [name, stream, share] of [['stdout', stdout, outShare], ['stderr', stderr, errShare]] as const) {
    if (stream.totalBytes === 0) continue;
    const shown = headTail(stream, share);
    if ((shown.truncated || !stream.complete) && !cut) cut = { name, lineOffset: CUT_MARKER.exec(shown.text)?.[2] };
    lines.push(`--- ${name} ---`, shown.text.endsWith('\n') ? shown.text.slice(0, -1) : shown.text);
    if (!stream.complete) lines.push(`[${name} went over the per-stream cap; its middle was not kept]`);
  }
  if (stdout.totalBytes === 0 && stderr.totalBytes === 0 && execution.state === 'ended' && !execution.error) lines.push('(it printed nothing)');
  if (cut) {
    const from = cut.lineOffset ? `,"lineOffset":${cut.lineOffset}` : '';
    lines.push(`(Cut to fit the answer: get_output {"executionId":"${execution.id}","stream":"${cut.name}"${from}} reads on from the cut, or ask again with a larger maxAnswerChars.)`);
  }
  return lines.join('\n');
}

/**
 * The answer an agent reads: the headline, then each stream that printed anything, all in at most
 * `maxChars` characters (the output is cut to its head and tail to fit).
 */
export function answerText(execution: Execution, context: AnswerContext = {}, maxChars: number = DEFAULT_OUTPUT_CHARS): string {
  const printed = execution.stdout.totalBytes + execution.stderr.totalBytes;
  let budget = Math.min(printed, maxChars);
  let text = render(execution, context, budget, maxChars);
  let best = text.length <= maxChars ? text : undefined;
  // Budgets are bytes and the limit is characters, and what the headline and the markers take is
  // known only once rendered: a few passes move the budget by the gap, scaled by bytes per character.
  for (let tries = 0; tries < 6; tries += 1) {
    const gap = maxChars - text.length;
    if (gap >= 0 && (budget >= printed || gap < maxChars / 50)) break;
    const next = Math.max(0, Math.min(printed, budget + Math.floor(gap * (Buffer.byteLength(text) / text.length))));
    if (next === budget) break;
    budget = next;
    text = render(execution, context, budget, maxChars);
    if (text.length <= maxChars && text.length > (best?.length ?? -1)) best = text;
  }
  return best ?? text;
}
