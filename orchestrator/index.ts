/**
 * code-runtime's public API: run one untrusted script in a locked-down Deno sandbox and get back
 * what it printed. Re-exports only; each piece lives in its own module.
 */
export { runCode } from './run.js';
export { createRuntime, RUNTIME_LIMITS } from './runtime.js';
export { LIMITS, normalizeOptions } from './options.js';
export { EXIT_CODES } from './result.js';
export type { OutputListener, RunOptions } from '../types/options.js';
export type { ActorRunRef, RunResult, RunStatus } from '../types/result.js';
export type { RemoteOptions, RunDefaults, Runtime, RuntimeOptions } from '../types/runtime.js';
