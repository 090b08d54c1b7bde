/**
 * One namespace of `tools.<name>`: an upstream MCP server or an embedder's host functions. The hub
 * asks a source to list its tools and to make one call; a source that cannot answer rejects its
 * listing with an Error whose message says why (never its configuration), and answers a call with
 * an outcome, never a rejection.
 */
import type { ToolDescriptor } from '../../types/mcp.js';
import type { ToolOutcome } from '../relay/tool-dispatcher.js';

export interface ToolSource {
  /** The namespace: `tools.<name>`. */
  readonly name: string;
  /** Its tools (after any allowlist). Rejects with why, when it cannot be reached. */
  list(signal: AbortSignal): Promise<ToolDescriptor[]>;
  /** One call; the outcome says how it ended. `signal` cancels it (upstream too). */
  call(tool: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome>;
  /** Stops it for good: closes its connection, kills its process. */
  close(): Promise<void>;
}

/** Rejects when `signal` fires first; the work itself is not stopped (a shared connection attempt goes on for others). */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new CancelledError());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new CancelledError());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The call's signal fired: the relay words it (a timeout, or the run's end). */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor() {
    super('cancelled');
  }
}

/** "a, b and 3 more" for messages that name what exists, within a length a model can read. */
export function nameList(names: readonly string[], max = 60): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more (tools.$list() lists them all)` : shown;
}
