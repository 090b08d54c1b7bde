/**
 * What the relay's tools route needs from whoever owns the tool connections (`../tools/`, which
 * implements it; the relay never imports it): the run's namespaces, a listing, and one call. The
 * relay applies the bounds, the timeout, the scrubbing and the records around it; the dispatcher
 * never sees the sandbox, and the sandbox never sees anything but what the relay passes back.
 */
import type { ToolListing } from '../../types/mcp.js';

/** How a failed call is classified: whether it reached a tool, and so what the record says. */
export type ToolFailureType =
  /** No such namespace, or no such tool on it (the message names what exists). */
  | 'unknown-tool'
  /** The arguments do not match the tool's input schema (host tools). */
  | 'invalid-arguments'
  /** The server cannot be started or reached, or it died during the call. */
  | 'unavailable'
  /** The server answered with a protocol error, or an answer that is not a tool result. */
  | 'protocol-error'
  /** The server's answer was over the size one message may have (cut off as it came). */
  | 'tool-result-too-large'
  /** The call was cancelled: the signal fired (the relay knows whether for a timeout or the run's end). */
  | 'cancelled';

export type ToolOutcome =
  /** The tool answered; `value` is what `tools.NS.TOOL()` resolves to, `result` the whole CallToolResult. */
  | { kind: 'result'; result: Record<string, unknown>; value: unknown }
  /** The tool answered with `isError`; `message` is its own text. */
  | { kind: 'tool-error'; result: Record<string, unknown>; message: string }
  | { kind: 'failed'; type: ToolFailureType; message: string };

export interface ToolCall {
  server: string;
  tool: string;
  args: Record<string, unknown>;
}

export interface ToolDispatcher {
  /** The run's namespaces (`tools.<name>`), in the order they are listed. */
  readonly servers: readonly string[];
  /** Every tool of the named servers (default: all); servers that cannot answer are listed as unavailable. */
  list(servers: readonly string[] | undefined, signal: AbortSignal): Promise<ToolListing>;
  /** One call; never rejects (every failure is an outcome). Cancels upstream when `signal` fires. */
  call(call: ToolCall, signal: AbortSignal): Promise<ToolOutcome>;
}
