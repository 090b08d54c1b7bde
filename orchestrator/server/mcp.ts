/**
 * The MCP face of the server: one `McpServer` per session (stdio has one, Streamable HTTP one per
 * `Mcp-Session-Id`), its tools and doc resources, all over the shared `ExecutionService`. Schemas
 * are declared with the SDK's zod support; the SDK turns a bad argument into a tool error. A script
 * that fails is a normal result with `isError: true`, never a protocol error. An answer holds the
 * output once: as text by default (what every host shows a model), or as structuredContent with a
 * one-line text for a client that declares the `code-runtime/structuredContent` capability.
 * `run_code` may also be called as an MCP task (`tasks.ts`).
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { answerContent } from './files.js';
import { registerFileResources } from './file-resources.js';
import * as z from 'zod';
import { describe } from '../run/options.js';
import { DOC_TOPICS, TOPIC_TITLES } from './docs.js';
import { docsFor, withToolNamespaces } from './tool-docs.js';
import { ANSWER_LIMITS, cancelSchema, getExecutionSchema, getOutputSchema, runToolSchema, WAIT_LIMITS } from './schemas.js';
import type { ExecutionService } from './service.js';
import { registerTaskTool, SessionTasks, TASKS_CAPABILITY } from './tasks.js';
import { answerHeadline, answerText, elsewhereHeadline, executionView, type AnswerContext } from './view.js';
import { runsElsewhere, type Execution } from './executions.js';

const SERVER_INFO = { name: 'code-runtime', version: '0.1.0' } as const;

/** The experimental client capability that asks for answers as structuredContent. */
export const STRUCTURED_CAPABILITY = 'code-runtime/structuredContent';

/** Progress notifications carry new output at most this often, and at most this much of it. */
const PROGRESS_INTERVAL_MS = 250;
const PROGRESS_CHARS = 2000;
/** How long cancel_execution waits for the script to be gone before answering. */
const CANCEL_WAIT_SECS = 10;

const INSTRUCTIONS = 'run_code runs a TypeScript/JavaScript script in a sandbox with an authenticated `apify` client and returns what it printed: '
  + 'console.log what you want back. Before a script uses `apify`, call get_code_docs once: a short overview of the rules and every method.';

const RUN_CODE_DESCRIPTION = 'Run a TypeScript/JavaScript script in a sandbox; get back what it printed, its status and exit code. '
  + 'A global `apify` (authenticated Apify client) searches the Store, runs Actors and reads datasets; get_code_docs has its reference and the sandbox rules. '
  + 'fetch reaches the Apify API only; no disk, env, subprocesses or remote imports. Top-level await works. Print compact results.\n'
  + '`export default` returns a value as JSON; `files` reads the files you pass and writes files back (topic files).\n'
  + 'If the script outlives waitSecs, the answer gives its executionId: call get_execution. Long output is cut to head and tail; get_output pages all of it.';

/** Hints for hosts, on every tool: what it changes and whether calling it twice is the same as once. */
const ANNOTATIONS = {
  // A script can do anything the operator's token allows on the Apify platform, deleting included.
  run_code: { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true },
  get_execution: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  get_output: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  cancel_execution: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
  get_code_docs: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
} satisfies Record<string, ToolAnnotations>;

function textResult(text: string, isError = false): CallToolResult {
  return { content: [{ type: 'text', text }], ...(isError ? { isError } : {}) };
}

/** Whether this session's client asked for answers as structuredContent. */
function wantsStructured(server: McpServer): boolean {
  return server.server.getClientCapabilities()?.experimental?.[STRUCTURED_CAPABILITY] !== undefined;
}

/** An execution as a tool answers it: the output once, as text or as structuredContent. */
function answer(server: McpServer, execution: Execution, context: AnswerContext = {}, maxAnswerChars: number = ANSWER_LIMITS.default): CallToolResult {
  // A cancel that did what was asked is a success, whatever the script's own status.
  const failed = context.cancel === undefined && execution.state === 'ended' && (execution.error !== undefined || execution.result?.status !== 'SUCCEEDED');
  // Then the value and the files the script wrote, in either form (files.ts).
  const result: CallToolResult = wantsStructured(server)
    ? { ...textResult(answerHeadline(execution, context), failed), structuredContent: executionView(execution, maxAnswerChars) }
    : textResult(answerText(execution, context, maxAnswerChars), failed);
  result.content.push(...answerContent(execution));
  return result;
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

/** Waits up to `waitSecs` for the execution to end, with progress while it runs. */
async function waitWithProgress(service: ExecutionService, execution: Execution, waitSecs: number, extra: Extra): Promise<void> {
  const stopProgress = streamProgress(service, execution, extra);
  try {
    await service.wait(execution, waitSecs, extra.signal);
  } finally {
    stopProgress();
  }
}

export function createMcpServer(service: ExecutionService, client: string): McpServer {
  let server!: McpServer;
  const tasks = new SessionTasks(service, (execution, maxAnswerChars) => answer(server, execution, {}, maxAnswerChars));
  server = new McpServer(SERVER_INFO, {
    capabilities: { logging: {}, tasks: TASKS_CAPABILITY },
    taskStore: tasks,
    instructions: INSTRUCTIONS,
  });

  registerTaskTool(server, tasks, 'run_code', {
    title: 'Run a script',
    description: withToolNamespaces(RUN_CODE_DESCRIPTION, service.runtime.toolServers),
    inputSchema: runToolSchema,
    annotations: ANNOTATIONS.run_code,
  }, {
    start: ({ waitSecs: _, maxAnswerChars, ...options }) => ({ execution: service.start(client, options), maxAnswerChars }),
    direct: async ({ waitSecs = WAIT_LIMITS.toolDefault, maxAnswerChars, ...options }, extra) => {
      const execution = service.start(client, options);
      await waitWithProgress(service, execution, waitSecs, extra as unknown as Extra);
      return answer(server, execution, { waitedSecs: waitSecs }, maxAnswerChars);
    },
  });

  server.registerTool('get_execution', {
    title: 'Get an execution',
    description: `A script run_code started: still running, or its answer as run_code gives it. Kept ${Math.round(service.store.ttlSecs / 60)} min after it ends.`,
    inputSchema: getExecutionSchema,
    annotations: ANNOTATIONS.get_execution,
  }, async ({ executionId, waitSecs = WAIT_LIMITS.default, maxAnswerChars }, extra) => {
    const execution = await service.find(executionId, { waitSecs, signal: extra.signal });
    await waitWithProgress(service, execution, waitSecs, extra as unknown as Extra);
    return answer(server, execution, { waitedSecs: waitSecs }, maxAnswerChars);
  });

  server.registerTool('get_output', {
    title: 'Read output',
    description: 'Page through all a script printed to one stream, also while it runs, by lines or by bytes. The answer starts with where to go on from.',
    inputSchema: getOutputSchema,
    annotations: ANNOTATIONS.get_output,
  }, async ({ executionId, stream, ...request }) => {
    const execution = await service.find(executionId);
    if (runsElsewhere(execution)) return textResult(elsewhereHeadline(execution));
    const page = service.page(execution, stream, request);
    const next = page.hasMore ? `more: byteOffset ${page.nextByteOffset}${page.nextLineOffset ? ` or lineOffset ${page.nextLineOffset}` : ''}`
      : execution.state === 'ended' ? 'end of the stream'
        : `nothing more yet; the script is still running${page.pendingBytes ? ` (the ${page.pendingBytes} bytes after it begin a character not all printed yet)` : ''}: ask again from byteOffset ${page.nextByteOffset}`;
    const skipped = page.skippedBytes > 0 ? `; ${page.skippedBytes} bytes before it were over the per-stream cap and not kept` : '';
    const header = `[${stream} bytes ${page.byteOffset}–${page.nextByteOffset} of ${page.totalBytes}${page.lineOffset ? `, from line ${page.lineOffset}` : ''}${skipped}; ${next}]`;
    if (wantsStructured(server)) return { ...textResult(header), structuredContent: { executionId, stream, state: execution.state, ...page } };
    return textResult(`${header}\n${page.text}`);
  });

  server.registerTool('cancel_execution', {
    title: 'Cancel an execution',
    description: 'Stop a running or queued script; its answer then says ABORTED and keeps what it printed.',
    inputSchema: cancelSchema,
    annotations: ANNOTATIONS.cancel_execution,
  }, async ({ executionId }, extra) => {
    const execution = await service.find(executionId);
    if (runsElsewhere(execution)) {
      return textResult(`Execution ${executionId} runs on another run of this Actor (run ${execution.heldBy}); only that run can stop it, and this request reached another. It goes on until it ends or times out.`, true);
    }
    const ended = execution.state === 'ended';
    if (!ended) {
      service.cancel(execution);
      await service.wait(execution, CANCEL_WAIT_SECS, extra.signal);
    }
    return answer(server, execution, { cancel: ended ? 'already-ended' : 'stopped' });
  });

  server.registerTool('get_code_docs', {
    title: 'Read the docs',
    description: 'What to read before writing a script. Call it with no topic first: a short overview (the sandbox\'s rules, the limits, every `apify` method) that names the topics to ask for next.',
    inputSchema: z.strictObject({
      topic: z.enum(DOC_TOPICS, { error: (issue) => `Expected \`topic\` to be one of ${DOC_TOPICS.join(', ')}, got ${describe(issue.input)}` })
        .optional().describe('Default: overview.'),
    }, { error: (issue) => (issue.code === 'unrecognized_keys' ? `Unknown argument \`${String(issue.keys[0])}\`; allowed: topic` : undefined) }),
    annotations: ANNOTATIONS.get_code_docs,
  }, async ({ topic }) => textResult(await docsFor(topic, service.runtime)));

  registerFileResources(server, service);
  for (const topic of DOC_TOPICS) {
    server.registerResource(`docs-${topic}`, `code-runtime://docs/${topic}`, { title: TOPIC_TITLES[topic], mimeType: 'text/markdown' },
      async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/markdown', text: await docsFor(topic, service.runtime) }] }));
  }
  return server;
}
