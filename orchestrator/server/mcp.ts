/**
 * The MCP face of the server: one `McpServer` per session (stdio has one, Streamable HTTP one per
 * `Mcp-Session-Id`), its tools and doc resources, all over the shared `ExecutionService`. Schemas
 * are declared with the SDK's zod support; the SDK turns a bad argument into a tool error. A script
 * that fails is a normal result with `isError: true`, never a protocol error.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import * as z from 'zod';
import { describe } from '../run/options.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import { codeDocs, DOC_TOPICS, TOPIC_TITLES } from './docs.js';
import { cancelSchema, getExecutionSchema, getOutputSchema, runToolSchema, WAIT_LIMITS } from './schemas.js';
import type { ExecutionService } from './service.js';
import { DEFAULT_OUTPUT_CHARS, executionText, executionView, executionViewShape, pageViewShape } from './view.js';
import type { Execution } from './executions.js';

const SERVER_INFO = { name: 'code-runtime', version: '0.1.0' } as const;

/** Progress notifications carry new output at most this often, and at most this much of it. */
const PROGRESS_INTERVAL_MS = 250;
const PROGRESS_CHARS = 2000;
/** How long cancel_execution waits for the script to be gone before answering. */
const CANCEL_WAIT_SECS = 10;

const RUN_CODE_DESCRIPTION = `Run a TypeScript or JavaScript script in a locked-down Deno sandbox and get back exactly what it printed (stdout and stderr), its status and exit code.

Inside the script a global \`apify\` object drives the Apify platform, already authenticated: search the Store (apify.actor.search), run Actors and get their results (apify.actor.runAndGetItems), read and write datasets and key-value stores. Call get_code_docs once before writing code: it lists every method and the sandbox's rules.

The sandbox allows fetch to the Apify API only; no files, environment, subprocesses, npm:/jsr: or remote imports. Top-level await works. Print compact results (console.log), not raw datasets: what you print is what you get back.

Limits: timeoutSecs default ${RUN_OPTIONS.timeoutSecs.default} (max ${RUN_OPTIONS.timeoutSecs.max}), memoryMbytes default ${RUN_OPTIONS.memoryMbytes.default}. The answer waits waitSecs (default ${WAIT_LIMITS.toolDefault}, max ${WAIT_LIMITS.max}); if the script is still running then, you get its executionId and it keeps running: call get_execution to wait for the result. Output in the answer is cut to about ${DEFAULT_OUTPUT_CHARS.toLocaleString('en-US')} characters (head and tail, with a marker); call get_output to page through all of it.`;

function textResult(text: string, structured?: Record<string, unknown>, isError = false): CallToolResult {
  return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured } : {}), ...(isError ? { isError } : {}) };
}

function viewResult(execution: Execution, waitedSecs?: number): CallToolResult {
  const view = executionView(execution);
  const failed = view.state === 'ended' && (view.status !== 'SUCCEEDED' || view.error !== undefined);
  return textResult(executionText(view, waitedSecs), view, failed);
}

type Extra = {
  signal: AbortSignal;
  _meta?: { progressToken?: string | number };
  sendNotification: (notification: { method: 'notifications/progress'; params: { progressToken: string | number; progress: number; message?: string } }) => Promise<void>;
};

/** While waiting, forwards new output as progress notifications (rate-limited) when the client asked for progress. */
function streamProgress(service: ExecutionService, execution: Execution, extra: Extra): () => void {
  const token = extra._meta?.progressToken;
  if (token === undefined) return () => undefined;
  // One decoder per stream: a character split across one stream's chunks never meets the other's bytes.
  const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  let pending = '';
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (!pending) return;
    const message = pending.length > PROGRESS_CHARS ? `…${pending.slice(-PROGRESS_CHARS)}` : pending;
    pending = '';
    // A client that went away just misses progress; the execution goes on.
    extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: bytes, message } }).catch(() => undefined);
  };
  // First the id, so a client that loses the connection can still fetch the execution.
  extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: 0, message: `Execution ${execution.id} ${execution.state}` } }).catch(() => undefined);
  const stop = service.watch(execution, (stream, chunk) => {
    bytes += chunk.byteLength;
    pending += decoders[stream].decode(chunk, { stream: true });
    if (pending.length > PROGRESS_CHARS * 4) pending = pending.slice(-PROGRESS_CHARS * 2);
    timer ??= setTimeout(flush, PROGRESS_INTERVAL_MS);
  });
  return () => {
    stop();
    if (timer) clearTimeout(timer);
    flush();
  };
}

/** Waits up to `waitSecs` for the execution to end, with progress while it runs, then shows it. */
async function waitAndView(service: ExecutionService, execution: Execution, waitSecs: number, extra: Extra): Promise<CallToolResult> {
  const stopProgress = streamProgress(service, execution, extra);
  try {
    await service.wait(execution, waitSecs, extra.signal);
  } finally {
    stopProgress();
  }
  return viewResult(execution, waitSecs);
}

export function createMcpServer(service: ExecutionService, client: string): McpServer {
  const server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {} },
    instructions: 'code-runtime runs TypeScript/JavaScript in a sandbox with an authenticated `apify` client. Read get_code_docs, then call run_code with a script that prints a compact answer.',
  });

  server.registerTool('run_code', {
    title: 'Run a script',
    description: RUN_CODE_DESCRIPTION,
    inputSchema: runToolSchema,
    outputSchema: executionViewShape,
    annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: true },
  }, async (args, extra) => {
    const { waitSecs = WAIT_LIMITS.toolDefault, ...options } = args;
    return waitAndView(service, service.start(client, options), waitSecs, extra as unknown as Extra);
  });

  server.registerTool('get_execution', {
    title: 'Get an execution',
    description: `The status of a script started by run_code and, once it ended, its result (the same shape as run_code). waitSecs (default 0, at most ${WAIT_LIMITS.max}) waits for it to end first. Executions are kept for an hour after they end.`,
    inputSchema: getExecutionSchema,
    outputSchema: executionViewShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async ({ executionId, waitSecs = 0 }, extra) => {
    return waitAndView(service, service.get(executionId), waitSecs, extra as unknown as Extra);
  });

  server.registerTool('get_output', {
    title: 'Read output',
    description: 'Page through everything a script printed to one stream, also while it still runs. By lines (default: 100 lines from line 1; lineOffset counts from 1) or by bytes (byteOffset from 0 and byteLimit; byte offsets win when given). The answer is the page text; structuredContent has nextLineOffset/nextByteOffset to ask for next and hasMore. Pages never split a character.',
    inputSchema: getOutputSchema,
    outputSchema: pageViewShape,
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async ({ executionId, stream, ...request }) => {
    const execution = service.get(executionId);
    const page = service.page(execution, stream, request);
    const next = page.hasMore ? `more: byteOffset ${page.nextByteOffset}${page.nextLineOffset ? ` or lineOffset ${page.nextLineOffset}` : ''}`
      : execution.state === 'ended' ? 'end of the stream' : 'nothing more yet; the script is still running';
    const skipped = page.skippedBytes > 0 ? `; ${page.skippedBytes} bytes before it were over the per-stream cap and not kept` : '';
    const header = `[${stream} bytes ${page.byteOffset}–${page.nextByteOffset} of ${page.totalBytes}${page.lineOffset ? `, from line ${page.lineOffset}` : ''}${skipped}; ${next}]`;
    return textResult(`${header}\n${page.text}`, { executionId, stream, state: execution.state, ...page });
  });

  server.registerTool('cancel_execution', {
    title: 'Cancel an execution',
    description: 'Stops a running or queued script. Its result then says ABORTED (exit code 130) and keeps what it printed.',
    inputSchema: cancelSchema,
    outputSchema: executionViewShape,
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  }, async ({ executionId }, extra) => {
    const execution = service.get(executionId);
    service.cancel(execution);
    await service.wait(execution, CANCEL_WAIT_SECS, extra.signal);
    return viewResult(execution);
  });

  server.registerTool('get_code_docs', {
    title: 'Read the docs',
    description: 'What to read before writing a script. Call it with no topic first: a short overview (the sandbox\'s rules, the limits, every `apify` method) that names the topics to ask for next.',
    inputSchema: z.strictObject({
      topic: z.enum(DOC_TOPICS, { error: (issue) => `Expected \`topic\` to be one of ${DOC_TOPICS.join(', ')}, got ${describe(issue.input)}` })
        .optional().describe('Default: overview.'),
    }, { error: (issue) => (issue.code === 'unrecognized_keys' ? `Unknown argument \`${String(issue.keys[0])}\`; allowed: topic` : undefined) }),
    annotations: { readOnlyHint: true, openWorldHint: false },
  }, async ({ topic }) => textResult(codeDocs(topic)));

  for (const topic of DOC_TOPICS) {
    server.registerResource(`docs-${topic}`, `code-runtime://docs/${topic}`, { title: TOPIC_TITLES[topic], mimeType: 'text/markdown' },
      async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: codeDocs(topic) }] }));
  }
  return server;
}
