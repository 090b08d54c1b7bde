/**
 * `createRuntime`: many runs with bounded concurrency (p-limit), a warm pool of sandboxes, or runs
 * on the Apify platform. Every run is validated before it queues; at most `concurrency` run at
 * once, each in its own child (warm children never count against that, and never run twice).
 * `close()` aborts what runs (and what waits), kills the pool, and resolves when no child is left.
 * A run aborted while it waits for a slot resolves ABORTED at once and never takes one. `runMany`
 * gives every entry its own outcome: one run's infrastructure failure is that entry, not the batch.
 */
import { setMaxListeners } from 'node:events';
import { availableParallelism } from 'node:os';
import pLimit from 'p-limit';
import { spawnChild } from '../run/child.js';
import type { NormalizedOptions } from '../run/options.js';
import { WarmPool } from './pool.js';
import { createRemoteRunner } from './remote.js';
import { abortedResult, runNormalized, sandboxFor, type ChildSource } from '../run/run.js';
import { fail } from '../run/options.js';
import { prepareRun, runtimeSettings, type RuntimeSettings } from './options.js';
import { ToolHub } from '../tools/hub.js';
import type { RunResult } from '../../types/result.js';
import type { RunManyEntry, Runtime, RuntimeOptions } from '../../types/runtime.js';

export { RUNTIME_LIMITS } from './options.js';

/**
 * Local runs: each in a warm child when the pool has one that fits, else in a fresh one. `busy`
 * counts runs holding a slot: while they alone fill the CPU's cores, the pool does not refill (pool.ts).
 */
function localRunner(settings: RuntimeSettings, busy: () => number): { run(options: NormalizedOptions): Promise<RunResult>; close(): Promise<void> } {
  let pool: Promise<WarmPool | undefined> = Promise.resolve(undefined);
  if (settings.warmProcesses > 0) {
    // A pool that cannot be set up (Deno missing) is no pool: runs start their own and report why.
    // A refill next to runs that already fill the cores only oversubscribes them (measured ~1.5 ms
    // more CPU per run at concurrency 2 on 2 cores); below that it puts an idle core to work.
    const cores = availableParallelism();
    const worthFilling = () => busy() < cores;
    pool = sandboxFor(settings.runShape).then((sandbox) => new WarmPool({ size: settings.warmProcesses, sandbox, worthFilling }), () => undefined);
  }
  return {
    async run(options) {
      const warm = await pool;
      const source: ChildSource = (command, cwd) => warm?.take(command) ?? spawnChild(command, cwd);
      try {
        return await runNormalized(options, source);
      } finally {
        // The queue may have drained while refills were held back.
        warm?.refill();
      }
    },
    async close() {
      await (await pool)?.close();
    },
  };
}

/** A `runMany` entry for a run that rejected (the sandbox did not start, the Actor API failed…). */
function infrastructureFailure(reason: unknown): RunManyEntry {
  const error = reason instanceof Error ? reason : new Error(String(reason));
  return { status: 'INFRASTRUCTURE-ERROR', statusMessage: error.message, error };
}

/** How long listTools() waits for servers that are slow to answer. */
const LIST_TIMEOUT_MS = 60_000;

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const settings = runtimeSettings(options);
  // Nothing connects yet: each server starts on the first call (or listing) that needs it.
  const hub = new ToolHub(settings.tools);
  const limit = pLimit(settings.concurrency);
  const local = settings.remote ? undefined : localRunner(settings, () => limit.activeCount);
  const execute = settings.remote ? createRemoteRunner(settings.remote) : local!.run;
  /** One controller per admitted run; closing aborts them all. */
  const controllers = new Set<AbortController>();
  const pending = new Set<Promise<unknown>>();
  /** Aborted by close(): runs still waiting for a slot resolve ABORTED at once. */
  const closeController = new AbortController();
  // Every queued run listens on it (one listener each, removed when it ends): no leak warning at 11.
  setMaxListeners(0, closeController.signal);
  let closing: Promise<void> | undefined;

  async function admitted(options: NormalizedOptions): Promise<RunResult> {
    // The run's own signal and the runtime's close both abort it.
    const controller = new AbortController();
    const forward = () => controller.abort();
    options.signal?.addEventListener('abort', forward, { once: true });
    if (options.signal?.aborted || closing) controller.abort();
    controllers.add(controller);
    try {
      return await execute({ ...options, signal: controller.signal });
    } finally {
      controllers.delete(controller);
      options.signal?.removeEventListener('abort', forward);
    }
  }

  function schedule(options: NormalizedOptions): Promise<RunResult> {
    let admittedRun = false;
    let abortedWaiting = false;
    const queued = limit(() => {
      // Aborted while it waited: it already resolved, so it takes the slot for no time at all.
      if (abortedWaiting) return undefined;
      admittedRun = true;
      return admitted(options);
    });
    const promise = new Promise<RunResult>((resolve, reject) => {
      const signals = [options.signal, closeController.signal];
      const onAbort = () => {
        if (admittedRun || abortedWaiting) return;
        abortedWaiting = true;
        resolve(abortedResult(options));
      };
      for (const signal of signals) signal?.addEventListener('abort', onAbort, { once: true });
      if (signals.some((signal) => signal?.aborted)) onAbort();
      queued.then((result) => {
        if (result) resolve(result);
      }, reject).finally(() => {
        for (const signal of signals) signal?.removeEventListener('abort', onAbort);
      });
    });
    pending.add(queued);
    const forget = () => pending.delete(queued);
    queued.then(forget, forget);
    return promise;
  }

  function ensureOpen(): void {
    if (closing) throw new Error('This runtime is closed; create another with createRuntime()');
  }

  return {
    async run(input) {
      ensureOpen();
      return schedule({ ...prepareRun(settings, input), toolHub: hub });
    },
    async runMany(list) {
      ensureOpen();
      if (!Array.isArray(list)) fail('optionsList', list, 'an array of run options');
      // All or nothing: a bad entry is found before any script starts.
      const all = list.map((input, index) => ({ ...prepareRun(settings, input, `optionsList[${index}]: `), toolHub: hub }));
      const settled = await Promise.allSettled(all.map(schedule));
      // One run that could not be carried out is its own entry; every other result still arrives.
      return settled.map((outcome): RunManyEntry => (outcome.status === 'fulfilled' ? outcome.value : infrastructureFailure(outcome.reason)));
    },
    toolServers: hub.servers,
    async listTools() {
      ensureOpen();
      return hub.list(undefined, AbortSignal.timeout(LIST_TIMEOUT_MS));
    },
    close() {
      closing ??= (async () => {
        closeController.abort();
        for (const controller of controllers) controller.abort();
        await local?.close();
        // Runs still queued resolved ABORTED above; their slots pass without a child.
        await Promise.allSettled([...pending]);
        // After the runs: their sessions are closed, so no call is left on these connections.
        await hub.close();
      })();
      return closing;
    },
  };
}
