/**
 * `runCode`: one script, one fresh sandbox. Validates the options, opens the run's relay session,
 * runs the child, closes the session (aborting the script's Actor runs unless it succeeded) and
 * builds the result. Rejects only for invalid options and infrastructure failures.
 */
import { randomBytes } from 'node:crypto';
import { BOOTSTRAP_PATH, pruneScriptEmits, resolveDeno, resolvePrlimit, sharedDenoDir } from './deno.js';
import { runChild } from './child.js';
import { normalizeOptions, type NormalizedOptions } from './options.js';
import { openRelaySession, relayHostPort } from './relay.js';
import { toResult } from './result.js';
import { sandboxCommand } from './sandbox.js';
import type { RunOptions } from '../types/options.js';
import type { RunResult } from '../types/result.js';

/** Memory Deno itself needs besides the script's own, counted into the resident-memory limit. */
export const RUNTIME_OVERHEAD_MBYTES = 128;

/** The stdin envelope the guest bootstrap reads. */
export function envelope(options: NormalizedOptions, secret: string, relayUrl: string): string {
  return JSON.stringify({ code: options.code, secret, scriptName: options.scriptName, apify: { url: relayUrl } });
}

export async function runCode(input: RunOptions): Promise<RunResult> {
  const options = normalizeOptions(input);
  const denoDir = sharedDenoDir();
  const command = sandboxCommand({
    denoPath: resolveDeno(),
    bootstrapPath: BOOTSTRAP_PATH,
    denoDir,
    memoryMbytes: options.memoryMbytes,
    apiBaseUrl: options.apiBaseUrl,
    relayHostPort: await relayHostPort(),
    prlimitPath: resolvePrlimit(),
  });
  const session = await openRelaySession({
    token: options.token,
    apiBaseUrl: options.apiBaseUrl.origin,
    maxActorRuns: options.maxActorRuns,
    maxTotalChargeUsd: options.maxTotalChargeUsd,
    defaultTimeoutSecs: options.defaultTimeoutSecs,
  });
  const secret = randomBytes(16).toString('hex');
  let facts;
  try {
    facts = await runChild({
      command,
      // Deno.cwd() needs no permission: show the script nothing about this machine.
      cwd: '/',
      input: envelope(options, secret, session.url),
      timeoutMs: options.timeoutSecs * 1000,
      rssLimitBytes: (options.memoryMbytes + RUNTIME_OVERHEAD_MBYTES) * 1024 * 1024,
      maxOutputBytes: options.maxOutputBytes,
      onOutput: options.onOutput,
      signal: options.signal,
    });
  } catch (error) {
    await session.close({ abortRunning: true });
    throw error;
  } finally {
    pruneScriptEmits(denoDir);
  }
  const succeeded = facts.exitCode === 0 && !facts.killedFor;
  const actorRuns = await session.close({ abortRunning: !succeeded });
  return toResult({ facts, secret, timeoutSecs: options.timeoutSecs, memoryMbytes: options.memoryMbytes, scriptName: options.scriptName, actorRuns });
}
