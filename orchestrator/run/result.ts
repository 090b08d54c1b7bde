/**
 * The one place that decides how a run ended: exit facts and captured streams in, `RunResult` out.
 * The script cannot influence the status except by how its process ends; the guest's report (cut
 * out of stderr by `record-filter.ts`, found only with the run's secret) words the message.
 */
import type { ChildFacts } from './child.js';
import type { ActorRunRef, RunResult, RunStatus } from '../../types/result.js';

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
  scriptName: string;
  actorRuns: ActorRunRef[];
}

const HEAP_FATAL = /Fatal (JavaScript|process) out of memory/;
const TLA_STALL = 'error: Top-level await promise never resolved';
/** An allocation the process's data limit refused, reported by the guest as an uncaught error. */
const ALLOCATION_REFUSED = /^RangeError: (Array buffer allocation failed|WebAssembly\.Memory\(\): could not allocate memory)/;
const BLOB_URL = /blob:null\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

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

export function toResult(input: ResultInput): RunResult {
  const { facts } = input;
  const stdout = facts.stdout.finish();
  const stderr = facts.stderr.finish();
  const record = parseRecord(facts.report);
  let stderrText = stderr.text;

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
  } else if (facts.killedFor === 'memory' || (facts.signal === 'SIGTRAP' && HEAP_FATAL.test(stderrText))
    || ALLOCATION_REFUSED.test(record?.error ?? '')) {
    status = 'OUT-OF-MEMORY';
    exitCode = EXIT_CODES['OUT-OF-MEMORY'];
    statusMessage = `Out of memory (limit ${input.memoryMbytes} MB)`;
  } else if (facts.exitCode === 0) {
    status = 'SUCCEEDED';
    exitCode = 0;
    statusMessage = 'Script completed';
  } else {
    status = 'FAILED';
    exitCode = facts.exitCode ?? 128 + (SIGNALS[facts.signal ?? ''] ?? 0);
    if (record) {
      statusMessage = failureMessage(record);
    } else if (facts.exitCode === 1 && stderrText.includes(TLA_STALL)) {
      // Deno's own report; name the script instead of the module's internal URL.
      const at = stderrText.lastIndexOf(TLA_STALL);
      stderrText = stderrText.slice(0, at) + stderrText.slice(at).replace(BLOB_URL, input.scriptName);
      statusMessage = 'Script never finished: its top-level await waits on a promise that nothing will settle';
    } else if (facts.signal) {
      statusMessage = `Script was killed by ${facts.signal}`;
    } else {
      statusMessage = `Script exited with code ${exitCode}`;
    }
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
  };
}
