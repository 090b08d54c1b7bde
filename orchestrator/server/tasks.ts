/**
 * MCP Tasks (spec 2025-11-25; the SDK's experimental API) over the execution store. A task is an
 * execution that a task-augmented `tools/call` started: its taskId is the executionId, and its
 * status, timestamps, TTL and result are read from the execution each time, so nothing is copied.
 * A task belongs to the MCP session (one `McpServer`) that made it: tasks/get, tasks/result,
 * tasks/cancel and tasks/list see that session's tasks only, while the execution stays reachable by
 * id through get_execution and REST. A call without `task` runs the tool's direct handler, exactly
 * as a tool without task support would; a call with `task` that makes none (bad arguments, a full
 * queue, a tool that is not a task) is a JSON-RPC error saying why. All task plumbing is here, so
 * the 2026 Tasks extension (SDK v2) can replace this one module.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CreateTaskOptions, TaskStore, ToolTaskHandler } from '@modelcontextprotocol/sdk/experimental/tasks/interfaces.js';
import type { AnySchema } from '@modelcontextprotocol/sdk/server/zod-compat.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult, type Request, type RequestId, type ServerNotification, type ServerRequest, type Task, type ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type * as z from 'zod';
import { UnknownExecutionError, type Execution } from './executions.js';
import type { ExecutionService } from './service.js';

/** The `tasks` server capability: task-augmented tools/call, tasks/list and tasks/cancel. */
export const TASKS_CAPABILITY = { list: {}, cancel: {}, requests: { tools: { call: {} } } };

/** Tasks on one tasks/list page. */
const LIST_PAGE = 100;
/** How long tasks/result waits for a cancelled script to be gone before answering. */
const CANCEL_WAIT_SECS = 10;
/** The CreateTaskResult key whose text a host may hand the model at once (spec 2025-11-25). */
const IMMEDIATE_RESPONSE = 'io.modelcontextprotocol/model-immediate-response';

type Extra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a task remembers beyond its execution: how its answer is to be cut, and a cancel by tasks/cancel. */
interface Owned {
  seq: number;
  maxAnswerChars?: number;
  cancelledAt?: Date;
}

/** The answer tasks/result gives: what the tool would have answered once the execution ended. */
export type TaskAnswer = (execution: Execution, maxAnswerChars: number | undefined) => CallToolResult;

/** Polls soon for a short script and seldom for a long one: a quarter of its age, within 0.25–5 s. */
function pollInterval(execution: Execution): number {
  return Math.min(5000, Math.max(250, Math.round((Date.now() - execution.createdAt.getTime()) / 4)));
}

function statusOf(execution: Execution, owned: Owned): Pick<Task, 'status' | 'statusMessage'> {
  if (owned.cancelledAt) return { status: 'cancelled', statusMessage: 'Cancelled by tasks/cancel' };
  if (execution.state === 'queued') return { status: 'working', statusMessage: 'Queued: waiting for a free slot' };
  if (execution.state === 'running') return { status: 'working', statusMessage: 'Running' };
  if (execution.error !== undefined) return { status: 'failed', statusMessage: execution.error };
  const result = execution.result!;
  const said = `${result.status} (exit code ${result.exitCode})${result.status === 'SUCCEEDED' ? '' : `: ${result.statusMessage}`}`;
  // A script that failed is a tool result with isError, which the spec maps to `failed`.
  const status = result.status === 'SUCCEEDED' ? 'completed' : result.status === 'ABORTED' ? 'cancelled' : 'failed';
  return { status, statusMessage: said };
}

/**
 * One session's tasks, as the SDK's `TaskStore`. Executions are the store; this keeps only which
 * ids are this session's tasks (ids of evicted executions are dropped as they are met).
 */
export class SessionTasks implements TaskStore {
  readonly #service: ExecutionService;
  readonly #answer: TaskAnswer;
  /** This session's tasks by id, in the order they were made. */
  readonly #owned = new Map<string, Owned>();
  #seq = 0;
  /** Tasks kept at the last sweep: the next one runs when the map has doubled since. */
  #sweptAt = 0;

  constructor(service: ExecutionService, answer: TaskAnswer) {
    this.#service = service;
    this.#answer = answer;
  }

  /** Makes `execution` a task of this session; returns the task as created. */
  adopt(execution: Execution, maxAnswerChars?: number): Task {
    if (this.#owned.size >= 2 * this.#sweptAt + 64) this.#sweep();
    const owned = { seq: (this.#seq += 1), maxAnswerChars };
    this.#owned.set(execution.id, owned);
    return this.#task(execution, owned);
  }

  async createTask(_params: CreateTaskOptions, _requestId: RequestId, request: Request): Promise<Task> {
    throw new Error(`Tasks here are made by the tools that support them, not by ${request.method} itself`);
  }

  async getTask(taskId: string): Promise<Task | null> {
    const found = this.#find(taskId);
    return found ? this.#task(found.execution, found.owned) : null;
  }

  async storeTaskResult(taskId: string): Promise<void> {
    throw new Error(`Task ${taskId}'s result is its execution's; it is not stored separately`);
  }

  async getTaskResult(taskId: string): Promise<CallToolResult> {
    const found = this.#find(taskId);
    if (!found) throw new Error(`Task ${taskId} not found`);
    // Cancelled: the answer shows the script once it is gone, with what it printed.
    await this.#service.wait(found.execution, CANCEL_WAIT_SECS);
    return this.#answer(found.execution, found.owned.maxAnswerChars);
  }

  async updateTaskStatus(taskId: string, status: Task['status']): Promise<void> {
    const found = this.#find(taskId);
    if (!found) throw new Error(`Task ${taskId} not found`);
    // The only move a caller makes here is tasks/cancel; a script never asks its caller for input.
    if (status !== 'cancelled') throw new Error(`A task here moves to ${status} by itself, not on request`);
    found.owned.cancelledAt = new Date();
    this.#service.cancel(found.execution);
  }

  async listTasks(cursor?: string): Promise<{ tasks: Task[]; nextCursor?: string }> {
    const after = cursor === undefined ? 0 : Number(cursor);
    if (!Number.isSafeInteger(after) || after < 0 || after > this.#seq) throw new Error(`Invalid cursor ${JSON.stringify(String(cursor).slice(0, 40))}: pass the nextCursor of the page before`);
    const tasks: Task[] = [];
    let last = after;
    for (const [id, owned] of this.#owned) {
      if (owned.seq <= after) continue;
      if (tasks.length === LIST_PAGE) return { tasks, nextCursor: String(last) };
      const execution = this.#execution(id);
      if (!execution) continue;
      tasks.push(this.#task(execution, owned));
      last = owned.seq;
    }
    return { tasks };
  }

  #find(taskId: string): { execution: Execution; owned: Owned } | undefined {
    const owned = this.#owned.get(taskId);
    const execution = owned && this.#execution(taskId);
    return owned && execution ? { execution, owned } : undefined;
  }

  /** The execution behind a task, or undefined once the store evicted it (the task then goes too). */
  #execution(id: string): Execution | undefined {
    try {
      return this.#service.get(id);
    } catch (error) {
      if (!(error instanceof UnknownExecutionError)) throw error;
      this.#owned.delete(id);
      return undefined;
    }
  }

  #sweep(): void {
    for (const id of this.#owned.keys()) this.#execution(id);
    this.#sweptAt = this.#owned.size;
  }

  #task(execution: Execution, owned: Owned): Task {
    const updated = owned.cancelledAt ?? execution.endedAt ?? execution.startedAt ?? execution.createdAt;
    const { status, statusMessage } = statusOf(execution, owned);
    return {
      taskId: execution.id,
      status,
      statusMessage,
      createdAt: execution.createdAt.toISOString(),
      lastUpdatedAt: updated.toISOString(),
      // Kept for the store's TTL after it ends, so at least that long from its creation.
      ttl: this.#service.store.ttlSecs * 1000,
      ...(status === 'working' ? { pollInterval: pollInterval(execution) } : {}),
    };
  }
}

/** What a task-capable tool provides: how a task starts its execution, and the answer of a call without `task`. */
export interface TaskToolHandlers<S extends z.ZodType> {
  start(args: z.infer<S>, extra: Extra): { execution: Execution; maxAnswerChars?: number };
  direct(args: z.infer<S>, extra: Extra): Promise<CallToolResult>;
}

type Direct = (args: unknown, extra: Extra) => Promise<CallToolResult>;

/** The SDK's own steps for a call without `task` to a task-capable tool; see `directCalls`. */
interface SdkInternals {
  handleAutomaticTaskPolling(tool: unknown, request: { params: { name: string; arguments?: unknown } }, extra: Extra): Promise<CallToolResult>;
  validateToolInput(tool: unknown, args: unknown, name: string): Promise<unknown>;
}

const DIRECT = new WeakMap<McpServer, Map<string, Direct>>();

/**
 * SDK 1.32 answers a call without `task` to an `optional` tool by making a task and polling it
 * until it ends, which would drop waitSecs, progress and the "still running" answer. Here such a
 * call runs the tool's direct handler instead, after the SDK's own input check. This reaches two
 * private SDK methods, so it fails loudly at start if a new SDK renamed them.
 */
function directCalls(server: McpServer): Map<string, Direct> {
  const known = DIRECT.get(server);
  if (known) return known;
  const calls = new Map<string, Direct>();
  const internals = server as unknown as SdkInternals;
  if (typeof internals.handleAutomaticTaskPolling !== 'function' || typeof internals.validateToolInput !== 'function') {
    throw new Error('This MCP SDK lacks McpServer.handleAutomaticTaskPolling/validateToolInput: orchestrator/server/tasks.ts needs updating for it');
  }
  const polling = internals.handleAutomaticTaskPolling.bind(server);
  const validate = internals.validateToolInput.bind(server);
  internals.handleAutomaticTaskPolling = async (tool, request, extra) => {
    const direct = calls.get(request.params.name);
    if (!direct) return polling(tool, request, extra);
    return direct(await validate(tool, request.params.arguments, request.params.name), extra);
  };
  DIRECT.set(server, calls);
  return calls;
}

type ToolsCall = (request: { params?: { name?: unknown; task?: unknown } }, extra: Extra) => Promise<unknown>;

/** Each server's task tools, by name. */
const TASK_TOOLS = new WeakMap<McpServer, Set<string>>();

/** The JSON-RPC error for a task-augmented call to `name` that made no task but answered `result`. */
function refusal(taskTools: Set<string>, name: string, result: unknown): McpError {
  const answer = result as Partial<CallToolResult>;
  if (!answer.isError) return new McpError(ErrorCode.MethodNotFound, `${name} cannot be called as a task; only ${[...taskTools].join(', ')} can. Call it without \`task\``);
  const text = (answer.content?.[0]?.type === 'text' ? answer.content[0].text : 'the call made no task').replace(/^MCP error -?\d+: /, '');
  return new McpError(/^(Input validation error|Tool \S+ (not found|disabled))/.test(text) ? ErrorCode.InvalidParams : ErrorCode.InternalError, text);
}

/**
 * Runs `register` (the SDK's registration of task tool `name`) so that a task-augmented tools/call
 * that makes no task gets a JSON-RPC error saying why. SDK 1.32's McpServer answers such a call
 * with a tool result (a tool error for bad arguments or a refused start, the tool's own answer for
 * a tool that is not a task), which its Server then refuses as "Invalid task creation result"
 * (-32602): the reason was lost. Here a tool that cannot be a task is -32601, as the spec asks; bad
 * arguments are -32602; a start the server refused (queue full, shutting down) is -32603, each with
 * the server's words. The McpServer's tools/call handler is wrapped as it registers it, with its
 * first tool: so task tools come before any other (this fails loudly otherwise, or if a new SDK
 * registers it some other way).
 */
function withTaskRefusals(server: McpServer, name: string, register: () => void): void {
  const known = TASK_TOOLS.get(server);
  if (known) {
    known.add(name);
    return register();
  }
  const taskTools = new Set([name]);
  TASK_TOOLS.set(server, taskTools);
  const inner = server.server;
  const setRequestHandler = inner.setRequestHandler;
  let wrapped = false;
  inner.setRequestHandler = ((schema: Parameters<typeof setRequestHandler>[0], handler: ToolsCall) => {
    if (schema !== CallToolRequestSchema) return setRequestHandler.call(inner, schema, handler as never);
    wrapped = true;
    return setRequestHandler.call(inner, schema, (async (request: Parameters<ToolsCall>[0], extra: Extra) => {
      const result = await handler(request, extra);
      const made = typeof result === 'object' && result !== null && 'task' in result;
      if (request.params?.task === undefined || made) return result;
      throw refusal(taskTools, String(request.params.name), result);
    }) as never);
  }) as typeof setRequestHandler;
  try {
    register();
  } finally {
    inner.setRequestHandler = setRequestHandler;
  }
  if (!wrapped) throw new Error('The MCP SDK registered no tools/call handler with the first task tool: register task tools first, or update orchestrator/server/tasks.ts for this SDK');
}

/**
 * Registers a tool a client may call as a task (`execution.taskSupport: 'optional'`): with `task`
 * it answers at once with the task of the execution `start` made; without, `direct` answers.
 */
export function registerTaskTool<S extends z.ZodType>(
  server: McpServer,
  tasks: SessionTasks,
  name: string,
  config: { title: string; description: string; inputSchema: S; annotations: ToolAnnotations },
  handlers: TaskToolHandlers<S>,
): void {
  directCalls(server).set(name, handlers.direct as Direct);
  // The SDK validated `args` against inputSchema before either handler runs.
  const handler: ToolTaskHandler<AnySchema> = {
    createTask: async (args, extra) => {
      const { execution, maxAnswerChars } = handlers.start(args as z.infer<S>, extra);
      const task = tasks.adopt(execution, maxAnswerChars);
      return { task, _meta: { [IMMEDIATE_RESPONSE]: `Started execution ${execution.id} as a task; its result comes when it ends.` } };
    },
    getTask: async (_args, extra) => {
      const task = await tasks.getTask(extra.taskId);
      if (!task) throw new Error(`Task ${extra.taskId} not found`);
      return task;
    },
    getTaskResult: async (_args, extra) => tasks.getTaskResult(extra.taskId),
  };
  withTaskRefusals(server, name, () => {
    server.experimental.tasks.registerToolTask(name, { ...config, inputSchema: config.inputSchema as AnySchema, execution: { taskSupport: 'optional' } }, handler);
  });
}
