// MCP Tasks through the SDK's own Client and its experimental tasks API, over stdio (the
// `code-runtime mcp` command) and Streamable HTTP (a server in this process): run_code as a task,
// tasks/get, tasks/result, tasks/cancel and tasks/list on the same executions get_execution and
// REST see, a session's tasks its own, the execution TTL as the task TTL, and a call without
// `task` answered as before. Each suite starts its server once.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CallToolResultSchema, CreateTaskResultSchema, ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, createServer, type CodeRuntimeServer, type Runtime } from '../../orchestrator/index.js';
import { CLI } from './processes.js';

type Result = { content: Array<{ text: string }>; isError?: boolean };

const text = (result: unknown) => (result as Result).content[0]!.text;
const FOREVER = 'console.log("up"); await new Promise(() => setInterval(() => {}, 1000));';

/** Starts run_code as a task; the CreateTaskResult's task. */
async function startTask(client: Client, code: string) {
  const created = await client.request({ method: 'tools/call', params: { name: 'run_code', arguments: { code }, task: { ttl: 1000 } } }, CreateTaskResultSchema);
  return created.task;
}

/** Rejects with the McpError `call` throws. */
async function mcpError(call: Promise<unknown>): Promise<McpError> {
  try {
    await call;
  } catch (error) {
    assert.instance(error, McpError);
    return error as McpError;
  }
  throw assert.unreachable('expected an MCP error');
}

/** Until the script printed `word` (its task is then surely running). */
async function untilPrinted(client: Client, executionId: string, word: string): Promise<void> {
  for (let tries = 0; tries < 400; tries += 1) {
    const page = await client.callTool({ name: 'get_output', arguments: { executionId, stream: 'stdout' } });
    if (text(page).includes(word)) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  assert.unreachable(`${executionId} never printed ${word}`);
}

/** The checks both transports get. */
function shared(test: Test, client: () => Client, ttlMs: () => number) {
  test('tasks :: run_code as a task: created at once, polled to the answer a plain call gives; the task is the execution', async () => {
    const messages = [];
    for await (const message of client().experimental.tasks.callToolStream({ name: 'run_code', arguments: { code: 'console.log("as a task")' } }, CallToolResultSchema, { task: { ttl: 1000 } })) {
      messages.push(message);
    }
    const created = messages[0]!;
    if (created.type !== 'taskCreated') throw new Error(`the first message is ${created.type}, not taskCreated`);
    const { task } = created;
    assert.match(task.taskId, /^exe_/);
    assert.equal([task.status, task.ttl], ['working', ttlMs()], 'the TTL is the execution TTL, not the one asked for');
    const last = messages.at(-1)!;
    assert.is(last.type, 'result');
    assert.match(text(last.type === 'result' ? last.result : undefined), new RegExp(`^SUCCEEDED \\(exit code 0\\) · \\d+ ms · executionId ${task.taskId}\\n--- stdout ---\\nas a task$`));
    assert.equal(await client().experimental.tasks.getTask(task.taskId).then((got) => [got.status, got.statusMessage]), ['completed', 'SUCCEEDED (exit code 0)']);
    // One store: the same execution through the tools.
    assert.match(text(await client().callTool({ name: 'get_execution', arguments: { executionId: task.taskId } })), /--- stdout ---\nas a task$/);
  });

  test('tasks :: a failing script\'s task is failed; tasks/result gives its answer, with isError and what it printed', async () => {
    const task = await startTask(client(), 'console.log("partial"); throw new Error("boom")');
    const answer = await client().experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    assert.is(answer.isError, true);
    assert.match(text(answer), /^FAILED \(exit code 1\): Script threw: Error: boom[^\n]*\n--- stdout ---\npartial\n--- stderr ---\n/);
    assert.equal((answer._meta as Record<string, { taskId: string }>)['io.modelcontextprotocol/related-task']?.taskId, task.taskId);
    const got = await client().experimental.tasks.getTask(task.taskId);
    assert.equal([got.status, got.statusMessage, got.pollInterval], ['failed', 'FAILED (exit code 1): Script threw: Error: boom', undefined]);
  });

  test('tasks :: tasks/cancel stops the script: the task is cancelled, its answer ABORTED; a second cancel is -32602', async () => {
    const task = await startTask(client(), FOREVER);
    await untilPrinted(client(), task.taskId, 'up');
    const running = await client().experimental.tasks.getTask(task.taskId);
    assert.equal([running.status, running.statusMessage], ['working', 'Running']);
    assert.ok(running.pollInterval! >= 250 && running.pollInterval! <= 5000, `pollInterval ${running.pollInterval}`);
    const cancelled = await client().experimental.tasks.cancelTask(task.taskId);
    assert.is(cancelled.status, 'cancelled');
    const answer = await client().experimental.tasks.getTaskResult(task.taskId, CallToolResultSchema);
    assert.match(text(answer), /^ABORTED \(exit code 130\): Aborted by the caller[^\n]*\n--- stdout ---\nup$/);
    const again = await mcpError(client().experimental.tasks.cancelTask(task.taskId));
    assert.is(again.code, ErrorCode.InvalidParams);
    assert.match(again.message, /terminal status: cancelled/);
  });

  test('tasks :: a task-augmented call that makes no task is a JSON-RPC error saying why: bad arguments -32602, a tool that is not a task -32601', async () => {
    const bad = await mcpError(startTask(client(), 5 as unknown as string));
    assert.is(bad.code, ErrorCode.InvalidParams);
    assert.match(bad.message, /Invalid arguments for tool run_code.*code/);
    const unknown = await mcpError(client().request({ method: 'tools/call', params: { name: 'no_such_tool', arguments: {}, task: {} } }, CreateTaskResultSchema));
    assert.is(unknown.code, ErrorCode.InvalidParams);
    assert.match(unknown.message, /Tool no_such_tool not found/);
    const notTask = await mcpError(client().request({ method: 'tools/call', params: { name: 'get_code_docs', arguments: {}, task: {} } }, CreateTaskResultSchema));
    assert.is(notTask.code, ErrorCode.MethodNotFound);
    assert.match(notTask.message, /get_code_docs cannot be called as a task; only run_code can/);
  });

  test('tasks :: an unknown task and a bad cursor are -32602', async () => {
    assert.is((await mcpError(client().experimental.tasks.getTask('exe_nothing'))).code, ErrorCode.InvalidParams);
    assert.is((await mcpError(client().experimental.tasks.getTaskResult('exe_nothing', CallToolResultSchema))).code, ErrorCode.InvalidParams);
    const cursor = await mcpError(client().experimental.tasks.listTasks('not-a-cursor'));
    assert.equal([cursor.code, /Invalid cursor/.test(cursor.message)], [ErrorCode.InvalidParams, true]);
  });
}

// ---

const stdio = suite('server tasks stdio');
let stdioClient: Client;

stdio.before(async () => {
  stdioClient = new Client({ name: 'tasks', version: '1' });
  await stdioClient.connect(new StdioClientTransport({ command: process.execPath, args: [CLI, 'mcp', '--concurrency', '2'], stderr: 'pipe' }));
});

stdio.after(async () => {
  await stdioClient.close();
});

shared(stdio, () => stdioClient, () => 3600 * 1000);

stdio('tasks :: a call without `task` is answered as before: it waits waitSecs, with progress, then says it goes on', async () => {
  const progress: string[] = [];
  const answer = await stdioClient.callTool({ name: 'run_code', arguments: { code: 'console.log("tick"); await new Promise((r) => setTimeout(r, 1500));', waitSecs: 0.5 } }, undefined, {
    onprogress: (event) => void progress.push(event.message ?? ''),
  });
  assert.not.ok(answer.isError);
  assert.match(text(answer), /^Execution exe_[\w-]+ is still running after 0\.5 s\. Call get_execution/);
  assert.match(progress[0]!, /^Execution exe_[\w-]+ (queued|running)$/);
  // Not a task: no task of this session was made for it.
  const listed = await stdioClient.experimental.tasks.listTasks();
  const id = /Execution (exe_[\w-]+)/.exec(text(answer))![1]!;
  assert.not.ok(listed.tasks.some((task) => task.taskId === id));
});

// ---

const overHttp = suite('server tasks http');
const TTL_SECS = 120;
let runtime: Runtime;
let server: CodeRuntimeServer;
let base: string;
const clients: Client[] = [];

async function httpClient(): Promise<Client> {
  const client = new Client({ name: 'tasks-http', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp`)));
  clients.push(client);
  return client;
}

overHttp.before(async () => {
  runtime = createRuntime({ concurrency: 3, defaults: { apiBaseUrl: 'http://127.0.0.1:9' } });
  server = createServer({ runtime, concurrency: 3, ttlSecs: TTL_SECS });
  base = `http://127.0.0.1:${(await server.listen({ port: 0 })).port}`;
  await httpClient();
});

overHttp.after(async () => {
  await Promise.allSettled(clients.map((client) => client.close()));
  await server.close();
  await runtime.close();
});

shared(overHttp, () => clients[0]!, () => TTL_SECS * 1000);

overHttp('tasks :: tasks/list is a session\'s own tasks; another session cannot reach them as tasks, only by executionId', async () => {
  const [mine, theirs] = [await httpClient(), await httpClient()];
  const a = await startTask(mine, 'console.log("a")');
  const b = await startTask(mine, 'console.log("b")');
  const c = await startTask(theirs, 'console.log("c")');
  assert.equal((await mine.experimental.tasks.listTasks()).tasks.map((task) => task.taskId), [a.taskId, b.taskId]);
  assert.equal((await theirs.experimental.tasks.listTasks()).tasks.map((task) => task.taskId), [c.taskId]);
  assert.is((await mcpError(theirs.experimental.tasks.getTask(a.taskId))).code, ErrorCode.InvalidParams);
  assert.is((await mcpError(theirs.experimental.tasks.cancelTask(a.taskId))).code, ErrorCode.InvalidParams);
  // The execution itself is one store's, reachable by its id as ever (tools, REST).
  assert.match(text(await theirs.callTool({ name: 'get_execution', arguments: { executionId: a.taskId, waitSecs: 20 } })), /--- stdout ---\na$/);
  const rest = await (await fetch(`${base}/v1/runs/${b.taskId}?wait=20`)).json() as { status: string; stdout: string };
  assert.equal([rest.status, rest.stdout], ['SUCCEEDED', 'b\n']);
});

overHttp('tasks :: a task cancelled by tasks/cancel is ABORTED for REST too; one cancelled by cancel_execution is a cancelled task', async () => {
  const client = clients[0]!;
  const first = await startTask(client, FOREVER);
  await untilPrinted(client, first.taskId, 'up');
  await client.experimental.tasks.cancelTask(first.taskId);
  const rest = await (await fetch(`${base}/v1/runs/${first.taskId}?wait=20`)).json() as { status: string };
  assert.is(rest.status, 'ABORTED');
  const second = await startTask(client, FOREVER);
  await untilPrinted(client, second.taskId, 'up');
  assert.not.ok((await client.callTool({ name: 'cancel_execution', arguments: { executionId: second.taskId } })).isError);
  assert.is((await client.experimental.tasks.getTask(second.taskId)).status, 'cancelled');
});

overHttp('tasks :: a task the server has no room for is a JSON-RPC error that says the queue is full, also through callToolStream', async () => {
  const full = createServer({ runtime, concurrency: 1, maxQueue: 0 });
  const client = new Client({ name: 'tasks-full', version: '1' });
  try {
    await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(await full.listen({ port: 0 })).port}/mcp`)));
    const running = await startTask(client, FOREVER);
    const refused = await mcpError(startTask(client, FOREVER));
    assert.match(refused.message, /queue is full: 1 scripts running and 0 waiting.*retry later/);
    const messages = [];
    for await (const message of client.experimental.tasks.callToolStream({ name: 'run_code', arguments: { code: FOREVER } }, CallToolResultSchema, { task: {} })) messages.push(message);
    assert.is(messages.length, 1);
    const only = messages[0]!;
    assert.is(only.type, 'error');
    assert.match(only.type === 'error' ? only.error.message : '', /queue is full/);
    await client.experimental.tasks.cancelTask(running.taskId);
  } finally {
    await client.close();
    await full.close();
  }
});

stdio.run();
overHttp.run();
