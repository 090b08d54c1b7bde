/**
 * `createRuntime`: many runs with bounded concurrency (p-limit), a warm pool of sandboxes, or runs
 * on the Apify platform. Every run is validated before it queues; at most `concurrency` run at
 * once, each in its own child (warm children never count against that, and never run twice).
 * `close()` aborts what runs (and what waits), kills the pool, and resolves when no child is left.
 */
import pLimit from 'p-limit';
import { spawnChild } from '../run/child.js';
import type { NormalizedOptions } from '../run/options.js';
import { WarmPool } from './pool.js';
import { createRemoteRunner } from './remote.js';
import { runNormalized, sandboxFor, type ChildSource } from '../run/run.js';
import { fail } from '../run/options.js';
import { prepareRun, runtimeSettings, type RuntimeSettings } from './options.js';
import type { RunResult } from '../../types/result.js';
import type { Runtime, RuntimeOptions } from '../../types/runtime.js';

export { RUNTIME_LIMITS } from './options.js';

/** Local runs: each in a warm child when the pool has one that fits, else in a fresh one. */
function localRunner(settings: RuntimeSettings): { run(options: NormalizedOptions): Promise<RunResult>; close(): Promise<void> } {
  let pool: Promise<WarmPool | undefined> = Promise.resolve(undefined);
  if (settings.warmProcesses > 0) {
    // A pool that cannot be set up (Deno missing) is no pool: runs start their own and report why.
    pool = sandboxFor(settings.runShape).then((sandbox) => new WarmPool({ size: settings.warmProcesses, sandbox }), () => undefined);
  }
  return {
    async run(options) {
      const warm = await pool;
      const source: ChildSource = (command, cwd) => warm?.take(command) ?? spawnChild(command, cwd);
      return runNormalized(options, source);
    },
    async close() {
      await (await pool)?.close();
    },
  };
}

export function createRuntime(options: RuntimeOptions = {}): Runtime {
  const settings = runtimeSettings(options);
  const limit = pLimit(settings.concurrency);
  const local = settings.remote ? undefined : localRunner(settings);
  const execute = settings.remote ? createRemoteRunner(settings.remote) : local!.run;
  /** One controller per admitted run; closing aborts them all. */
  const controllers = new Set<AbortController>();
  const pending = new Set<Promise<unknown>>();
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
    const promise = limit(() => admitted(options));
    pending.add(promise);
    const forget = () => pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  function ensureOpen(): void {
    if (closing) throw new Error('This runtime is closed; create another with createRuntime()');
  }

  return {
    async run(input) {
      ensureOpen();
      return schedule(prepareRun(settings, input));
    },
    async runMany(list) {
      ensureOpen();
      if (!Array.isArray(list)) fail('optionsList', list, 'an array of run options');
      // All or nothing: a bad entry is found before any script starts.
      const all = list.map((input, index) => prepareRun(settings, input, `optionsList[${index}]: `));
      const settled = await Promise.allSettled(all.map(schedule));
      const failed = settled.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.map((outcome) => (outcome as PromiseFulfilledResult<RunResult>).value);
    },
    close() {
      closing ??= (async () => {
        for (const controller of controllers) controller.abort();
        await local?.close();
        // Runs still queued start, see the abort, and end as ABORTED without a child.
        await Promise.allSettled([...pending]);
      })();
      return closing;
    },
  };
}
