/**
 * The one place that decides how a run ended: exit facts and captured streams in, `RunResult` out.
 * The script cannot influence the status except by how its process ends: a resource status comes
 * only from what the orchestrator observed (its own kill and why, the resident memory it measured,
 * V8's fatal out-of-memory, which ends the process by SIGTRAP — a signal the script cannot send).
 * The guest's report (cut out of stderr by `record-filter.ts`, found only with the run's secret)
 * only words the message; no text the script prints or throws decides a status. The one record
 * that can fail a run that exited 0 is the guest's account of the default export (`value.ts`):
 * not JSON, or over its limit, as the orchestrator counted it.
 */
import type { ChildFacts } from './child.js';
import { nameStall, TLA_STALL } from './tla-stall.js';
import { HEAP_FATAL, V8_TRACE_STARTS } from './v8-trace.js';
import { readValue } from './value.js';
import type { ActorRunRef, OutputFile, RunResult, RunStatus, ToolCallRef } from '../../types/result.js';
import type { EgressRequestRef } from '../../types/egress.js';

export const EXIT_CODES = { 'TIMED-OUT': 124, 'OUT-OF-MEMORY': 137, ABORTED: 130 } as const;

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGILL: 4, SIGTRAP: 5, SIGABRT: 6, SIGBUS: 7, SIGFPE: 8, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

/** The guest's report of a failure (see guest/bootstrap.ts). */
interface GuestRecord {
  kind: 'threw' | 'rejection' | 'syntax';
  error: string;
  where?: string;
}

/** How the guest's failure report begins (see guest/bootstrap.ts): NUL, a tag, the run's secret. */
export function reportPrefix(secret: string): Buffer {
  return Buffer.from(`\0code-runtime:${secret}:`);
}

export interface ResultInput {
  facts: ChildFacts;
  timeoutSecs: number;
  memoryMbytes: number;
  /** The resident-memory limit the child was watched against. */
  rssLimitBytes: number;
  scriptName: string;
  actorRuns: ActorRunRef[];
  toolCalls: ToolCallRef[];
  requests: EgressRequestRef[];
  /** The files the script wrote (the relay session's record). */
  files: OutputFile[];
}

/** What a refused allocation throws; only worded, never a status (the script can throw the same). */
const ALLOCATION_REFUSED = /^RangeError: (Array buffer allocation failed|WebAssembly\.Memory\(\): could not allocate memory)/;
const MB = 1024 * 1024;

function parseRecord(raw: string | undefined): GuestRecord | undefined {
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as GuestRecord;
    return typeof parsed?.error === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function oneLine(text: string, max = 300): string {
  const line = text.split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

function failureMessage(record: GuestRecord): string {
  if (record.kind === 'syntax') {
    const message = record.error.replace(/^SyntaxError: /, '');
    return `Syntax error${record.where ? ` at ${record.where}` : ''}: ${message}`;
  }
  const suffix = record.kind === 'rejection' ? ' (unhandled promise rejection)' : '';
  return `Script threw: ${oneLine(record.error)}${suffix}`;
}

/** stderr without V8's fatal out-of-memory trace (GC log, native stack, host paths), which it ends with. */
function withoutV8Trace(stderr: string): string {
  const fatal = stderr.search(HEAP_FATAL);
  if (fatal < 0) return stderr;
  const starts = V8_TRACE_STARTS.map((marker) => stderr.lastIndexOf(marker, fatal)).filter((at) => at >= 0);
  let cut = starts.length > 0 ? Math.min(...starts) : stderr.lastIndexOf('\n', fatal);
  // V8's banner for memory it could not reserve opens with an empty line of its own.
  if (stderr.startsWith('\n\n#\n# Fatal process', cut - 1)) cut -= 1;
  return stderr.slice(0, Math.max(0, cut));
}

/** How the run ran out of memory: V8's heap limit, memory V8 could not reserve for the process, or the resident memory watched. */
type Exhausted = 'heap' | 'reserve' | 'resident';

/**
 * Which limit V8's report names, from its last fatal line (the report is the last thing printed):
 * `Fatal JavaScript out of memory` is the heap; `Fatal process out of memory` is memory it could not
 * reserve, on Linux under the data-segment cap, which each Worker (an isolate with its own code
 * space) takes a large share of.
 */
function v8Exhausted(stderr: string): Exhausted {
  let kind: string | undefined;
  for (const found of stderr.matchAll(/Fatal (JavaScript|process) out of memory/g)) kind = found[1];
  return kind === 'process' ? 'reserve' : 'heap';
}

/** The one line an out-of-memory run ends with: which limit, and what was measured. */
function outOfMemoryLine(input: ResultInput, exhausted: Exhausted): string {
  if (exhausted === 'heap') return `Out of memory: the JavaScript heap reached its limit of ${input.memoryMbytes} MB (memoryMbytes)`;
  if (exhausted === 'reserve') {
    return `Out of memory: the process could not reserve the memory V8 asked for, within its data limit for memoryMbytes ${input.memoryMbytes}: `
      + 'each Worker reserves a large share of it; start fewer Workers, or raise memoryMbytes';
  }
  const limit = Math.round(input.rssLimitBytes / MB);
  const used = Math.round(input.facts.peakRssBytes / MB);
  const measured = used > limit ? `the process used ${used} MB` : 'the process went';
  return `Out of memory: ${measured} over its limit of ${limit} MB (memoryMbytes ${input.memoryMbytes} + ${limit - input.memoryMbytes} MB for Deno itself)`;
}

export function toResult(input: ResultInput): RunResult {
  const { facts } = input;
  const stdout = facts.stdout.finish();
  const stderr = facts.stderr.finish();
  const record = parseRecord(facts.report);
  // As the live listener saw it (run.ts): Deno's own report of a stalled top-level await names the script.
  let stderrText = nameStall(stderr.text, input.scriptName);

  let status: RunStatus;
  let exitCode: number;
  let statusMessage: string;
  if (facts.killedFor === 'abort') {
    status = 'ABORTED';
    exitCode = EXIT_CODES.ABORTED;
    statusMessage = 'Aborted by the caller';
  } else if (facts.killedFor === 'timeout') {
    status = 'TIMED-OUT';
    exitCode = EXIT_CODES['TIMED-OUT'];
    statusMessage = `Timed out after ${input.timeoutSecs} s`;
  } else if (facts.killedFor === 'memory' || (facts.signal === 'SIGTRAP' && HEAP_FATAL.test(stderrText))) {
    const fromV8 = facts.killedFor !== 'memory';
    status = 'OUT-OF-MEMORY';
    exitCode = EXIT_CODES['OUT-OF-MEMORY'];
    statusMessage = outOfMemoryLine(input, fromV8 ? v8Exhausted(stderrText) : 'resident');
    if (fromV8) stderrText = withoutV8Trace(stderrText);
    stderrText += `${stderrText === '' || stderrText.endsWith('\n') ? '' : '\n'}${statusMessage}\n`;
  } else if (facts.exitCode === 0) {
    status = 'SUCCEEDED';
    exitCode = 0;
    statusMessage = 'Script completed';
  } else {
    status = 'FAILED';
    exitCode = facts.exitCode ?? 128 + (SIGNALS[facts.signal ?? ''] ?? 0);
    if (record) {
      statusMessage = failureMessage(record);
      if (ALLOCATION_REFUSED.test(record.error)) {
        statusMessage += ' (allocations past the memory limit are refused)';
      }
    } else if (facts.exitCode === 1 && stderrText.includes(TLA_STALL)) {
      statusMessage = 'Script never finished: its top-level await waits on a promise that nothing will settle';
    } else if (facts.signal) {
      statusMessage = `Script was killed by ${facts.signal}`;
    } else {
      statusMessage = `Script exited with code ${exitCode}`;
    }
  }

  // A default export that is not JSON, or too large, fails a run that would have succeeded.
  const value = readValue(facts.value);
  if (value && !value.ok && status === 'SUCCEEDED') {
    status = 'FAILED';
    exitCode = 1;
    statusMessage = value.message;
    stderrText += `${stderrText === '' || stderrText.endsWith('\n') ? '' : '\n'}error: ${value.message}\n`;
  }

  return {
    status,
    exitCode,
    stdout: stdout.text,
    stderr: stderrText,
    statusMessage,
    durationMillis: facts.durationMillis,
    stdoutBytes: stdout.bytes,
    stderrBytes: stderr.bytes,
    stdoutTruncated: stdout.truncated,
    stderrTruncated: stderr.truncated,
    actorRuns: input.actorRuns,
    toolCalls: input.toolCalls,
    requests: input.requests,
    ...(value?.ok ? { value: value.value } : {}),
    files: input.files,
  };
}
