/**
 * A runtime that runs no Deno: each "script" is JSON saying what to print and how long to take,
 * so server tests can drive executions (output, timing, aborts, a result's binary values) in-process
 * and in milliseconds. `{"stdout": "...", "stderr": "...", "waitMs": 200, "value": ..., "bytes": "..."}`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunResult } from '../../types/result.js';
import type { Runtime } from '../../types/runtime.js';

export interface Scripted {
  stdout?: string;
  stderr?: string;
  /** Printed to stdout this many times (a large output cheaply). */
  repeat?: number;
  waitMs?: number;
  /** Bytes to put in the result (`result.files`), as a string: binary values in a record. */
  bytes?: string;
  value?: unknown;
}

export function script(spec: Scripted): string {
  return JSON.stringify(spec);
}

function result(status: RunResult['status'], stdout: string, stderr: string, durationMillis: number, spec: Scripted): RunResult {
  const base = {
    status,
    exitCode: status === 'SUCCEEDED' ? 0 : 130,
    stdout: stdout.slice(0, 65536),
    stderr: stderr.slice(0, 65536),
    statusMessage: status === 'SUCCEEDED' ? 'Script completed' : 'Aborted by the caller',
    durationMillis,
    stdoutBytes: Buffer.byteLength(stdout),
    stderrBytes: Buffer.byteLength(stderr),
    stdoutTruncated: false,
    stderrTruncated: false,
    actorRuns: [],
    toolCalls: [],
    requests: [],
    files: [],
  };
  const extra: Record<string, unknown> = {};
  if (spec.bytes !== undefined) extra.files = [{ name: 'out.bin', contentType: 'application/octet-stream', size: spec.bytes.length, bytes: new Uint8Array(Buffer.from(spec.bytes)) }];
  if (spec.value !== undefined) extra.value = spec.value;
  return { ...base, ...extra } as RunResult;
}

/** Runs scripted "scripts": prints what they say (in a few chunks), waits, and ends SUCCEEDED, or ABORTED when aborted. */
export function scriptedRuntime(): Runtime {
  return {
    async run(options) {
      const spec = JSON.parse(options.code) as Scripted;
      const started = Date.now();
      const stdout = (spec.stdout ?? '').repeat(spec.repeat ?? 1);
      const stderr = spec.stderr ?? '';
      const out = Buffer.from(stdout);
      // Odd-sized chunks, as pipes deliver them.
      for (let at = 0; at < out.length; at += 4093) options.onOutput?.('stdout', out.subarray(at, at + 4093));
      if (stderr) options.onOutput?.('stderr', Buffer.from(stderr));
      if (spec.waitMs) await sleep(spec.waitMs, undefined, { signal: options.signal }).catch(() => undefined);
      const aborted = options.signal?.aborted ?? false;
      return result(aborted ? 'ABORTED' : 'SUCCEEDED', stdout, stderr, Date.now() - started, spec);
    },
    async runMany() {
      return [];
    },
    toolServers: [],
    async listTools() {
      return { tools: [], unavailable: [] };
    },
    async close() {},
  };
}
