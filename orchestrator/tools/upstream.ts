/**
 * One upstream MCP server, through the SDK's `Client` (stdio or Streamable HTTP). It connects on
 * first use and the connection serves every run that follows; `tools/list` is cached until the
 * server says `notifications/tools/list_changed` (or the connection is remade). A stdio server
 * that dies is started again on the next call, after a back-off that doubles with each failure in
 * a row (calls meanwhile wait for it, up to their own deadline); a server that cannot be started
 * or reached fails its own calls at once with why, until the back-off allows another attempt.
 * One message from a server is bounded as it arrives (`message-cap.ts`): an answer over the bound
 * fails its own call, never the shared connection.
 * Messages a script can read say what happened, never the command, env, URL or headers. `close`
 * closes the connection and ends the process (stdin closed, then SIGTERM, then SIGKILL).
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError, type Tool } from '@modelcontextprotocol/sdk/types.js';
import type { UpstreamConfig } from '../config/shape.js';
import type { ToolDescriptor } from '../../types/mcp.js';
import type { ToolOutcome } from '../relay/tool-dispatcher.js';
import { CappedLineBuffer, cappedFetch, MESSAGE_TOO_LARGE } from './message-cap.js';
import { CancelledError, nameList, untilAborted, type ToolSource } from './source.js';
import { outcomeOf } from './tool-result.js';
import { RELAY_LIMITS } from '../relay/limits.js';
import { scrubText } from '../relay/scrub.js';

const CLIENT_INFO = { name: 'code-runtime', version: '0.1.0' } as const;

export const UPSTREAM_LIMITS = {
  /** Starting (or reaching) a server and its `initialize` must finish within this. */
  connectTimeoutMs: 30_000,
  /** First wait before starting a failed server again; doubles per failure in a row, up to `maxBackoffMs`. */
  backoffMs: 250,
  maxBackoffMs: 30_000,
  /** `tools/list` pages read at most (a server that pages forever is cut off). */
  listPages: 100,
  /** Bytes of a stdio server's stderr kept for the operator's warning when it fails. */
  stderrTailBytes: 2048,
  /**
   * One message from a server, as it arrives (`message-cap.ts`): past it the message is dropped and
   * its call fails alone. Room for a 10 MiB answer (the relay's toolResultBytes) given twice, as
   * structuredContent and as its JSON text. A tool list's pages, all together, get the same bound.
   */
  messageBytes: 32 * 1024 * 1024,
} as const;

const MiB = 1024 * 1024;

/** The SDK's own request timeout is set past any call's: the relay's signal decides when a call ends. */
const NO_SDK_TIMEOUT_MS = 2 ** 31 - 1;

interface Connection {
  client: Client;
  /** Cached until list_changed or a new connection. */
  tools?: Promise<Tool[]>;
}

export class McpUpstream implements ToolSource {
  readonly name: string;
  readonly #config: UpstreamConfig;
  /** The configuration's secrets, scrubbed from the operator's warnings too (a CLI's caller reads its stderr). */
  readonly #secrets: readonly string[];
  #connection: Connection | undefined;
  #connecting: Promise<Connection> | undefined;
  /** Failures in a row; reset by a successful call. */
  #failures = 0;
  /** No new attempt before this (ms, performance.now()). */
  #retryAt = 0;
  /** Why the last attempt failed, and whether it was the start itself (then calls fail at once during the back-off). */
  #lastError: { message: string; startFailed: boolean } | undefined;
  #stderrTail = '';
  /** Why the transport itself closed the connection (a message over the limit that answered nothing it could tell), if it did. */
  #cutFor: string | undefined;
  #closed = false;

  constructor(config: UpstreamConfig, secrets: readonly string[] = []) {
    this.name = config.name;
    this.#config = config;
    this.#secrets = secrets;
  }

  async list(signal: AbortSignal): Promise<ToolDescriptor[]> {
    const tools = await this.#tools(signal);
    return tools.map((tool) => ({
      server: this.name,
      name: tool.name,
      kind: 'mcp' as const,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      inputSchema: tool.inputSchema as ToolDescriptor['inputSchema'],
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema as ToolDescriptor['outputSchema'] } : {}),
    }));
  }

  async call(toolName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome> {
    const name = `${this.name}.${toolName}`;
    let connection: Connection;
    let tools: Tool[];
    try {
      connection = await this.#connect(signal);
      tools = await this.#listOn(connection, signal);
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) return { kind: 'failed', type: 'cancelled', message: 'cancelled' };
      return { kind: 'failed', type: 'unavailable', message: (error as Error).message };
    }
    if (!tools.some((tool) => tool.name === toolName)) {
      return { kind: 'failed', type: 'unknown-tool', message: `${this.name} has no tool \`${toolName}\`; its tools are: ${nameList(tools.map((tool) => tool.name))}` };
    }
    // A call of its own: the SDK's listener on it goes away with it (a run's long-lived signal would collect one per call).
    const controller = new AbortController();
    const cancel = () => controller.abort('the call was cancelled');
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const result = await connection.client.callTool({ name: toolName, arguments: args }, undefined, { signal: controller.signal, timeout: NO_SDK_TIMEOUT_MS });
      this.#failures = 0;
      return outcomeOf(result as Record<string, unknown>, name);
    } catch (error) {
      if (signal.aborted) return { kind: 'failed', type: 'cancelled', message: 'cancelled' };
      if (error instanceof McpError && error.code === MESSAGE_TOO_LARGE) {
        return { kind: 'failed', type: 'tool-result-too-large',
          message: `${name} answered with more than ${UPSTREAM_LIMITS.messageBytes / MiB} MiB, over the limit of ${RELAY_LIMITS.toolResultBytes / MiB} MiB per tool answer; ask the tool for less` };
      }
      if (error instanceof McpError && error.code !== ErrorCode.ConnectionClosed && error.code !== ErrorCode.RequestTimeout) {
        return { kind: 'failed', type: 'protocol-error', message: `${name} failed: ${error.message}` };
      }
      // The connection itself broke (the process died, the HTTP server went away): the next call makes a new one.
      const why = this.#connection === connection ? this.#brokenWhile(connection, error) : this.#lastError?.message ?? describe(error);
      return { kind: 'failed', type: 'unavailable', message: `${name} failed: ${why}` };
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const connection = this.#connection ?? await this.#connecting?.catch(() => undefined);
    this.#connection = undefined;
    await connection?.client.close().catch(() => undefined);
  }

  /** The cached tool list of the current connection (listing it first when needed). */
  async #tools(signal: AbortSignal): Promise<Tool[]> {
    return this.#listOn(await this.#connect(signal), signal);
  }

  #listOn(connection: Connection, signal: AbortSignal): Promise<Tool[]> {
    if (!connection.tools) {
      const listing = this.#listAll(connection.client);
      connection.tools = listing;
      // A failed listing is not cached: the next call asks again.
      listing.catch(() => {
        if (connection.tools === listing) connection.tools = undefined;
      });
    }
    return untilAborted(connection.tools, signal);
  }

  async #listAll(client: Client): Promise<Tool[]> {
    const all: Tool[] = [];
    let cursor: string | undefined;
    let bytes = 0;
    for (let page = 0; page < UPSTREAM_LIMITS.listPages; page += 1) {
      let result;
      try {
        result = await client.listTools(cursor ? { cursor } : undefined, { timeout: UPSTREAM_LIMITS.connectTimeoutMs });
      } catch (error) {
        throw new Error(`the tool server \`${this.name}\` could not list its tools: ${describe(error)}`);
      }
      // The list is kept for every later call: all its pages together get one message's bound.
      bytes += Buffer.byteLength(JSON.stringify(result.tools));
      if (bytes > UPSTREAM_LIMITS.messageBytes) {
        throw new Error(`the tool server \`${this.name}\` could not list its tools: they come to more than ${UPSTREAM_LIMITS.messageBytes / MiB} MiB`);
      }
      all.push(...result.tools);
      cursor = result.nextCursor;
      if (!cursor) break;
    }
    const allow = this.#config.allow;
    return allow ? all.filter((tool) => allow.includes(tool.name)) : all;
  }

  /** The live connection, made (or waited for) as needed; rejects with why it cannot be had. */
  async #connect(signal: AbortSignal): Promise<Connection> {
    if (this.#closed) throw new Error(`the tool server \`${this.name}\` is closed (its runtime was closed)`);
    if (this.#connection) return this.#connection;
    if (!this.#connecting) {
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        // A server that could not even start fails at once; one that died is started again after the wait.
        if (this.#lastError?.startFailed) {
          throw new Error(`${this.#lastError.message}; it will be tried again in ${Math.ceil(wait / 1000)} s`);
        }
        await untilAborted(new Promise((resolve) => setTimeout(resolve, wait).unref()), signal);
        if (this.#connection) return this.#connection;
      }
      this.#connecting ??= this.#open().finally(() => {
        this.#connecting = undefined;
      });
    }
    return untilAborted(this.#connecting, signal);
  }

  async #open(): Promise<Connection> {
    const client = new Client(CLIENT_INFO, {
      capabilities: {},
      // The list is fetched again on the next call, not on the notification (a storm of them costs nothing).
      listChanged: { tools: { autoRefresh: false, debounceMs: 0, onChanged: () => this.#listChanged(client) } },
    });
    const transport = this.#transport();
    client.onclose = () => this.#closedUnderneath(client);
    // Errors also reach the pending calls; this keeps the SDK from logging them, and keeps the one that closes a connection.
    client.onerror = (error) => {
      if (error.message.startsWith('the tool server sent a message of more than')) this.#cutFor = error.message.replace('the tool server ', '');
    };
    try {
      await client.connect(transport, { timeout: UPSTREAM_LIMITS.connectTimeoutMs });
    } catch (error) {
      await client.close().catch(() => undefined);
      this.#fail(`the tool server \`${this.name}\` could not be ${this.#config.transport === 'stdio' ? 'started' : 'reached'}: ${describe(error)}`, true);
      throw new Error(this.#lastError!.message);
    }
    if (this.#closed) {
      await client.close().catch(() => undefined);
      throw new Error(`the tool server \`${this.name}\` is closed (its runtime was closed)`);
    }
    const connection: Connection = { client };
    this.#connection = connection;
    return connection;
  }

  #transport(): Transport {
    const config = this.#config;
    if (config.transport === 'http') {
      return new StreamableHTTPClientTransport(config.url, { requestInit: { headers: config.headers }, fetch: cappedFetch(UPSTREAM_LIMITS.messageBytes) });
    }
    const transport = new StdioClientTransport({ command: config.command, args: config.args, env: config.env, cwd: config.cwd, stderr: 'pipe' });
    // The SDK's buffer holds a message whole (and closes the connection, failing every run's calls, past 10 MiB): ours bounds one message alone.
    const internals = transport as unknown as { _readBuffer?: unknown };
    if (!('_readBuffer' in internals)) throw new Error('the MCP SDK\'s stdio transport changed: its read buffer cannot be bounded');
    internals._readBuffer = new CappedLineBuffer(UPSTREAM_LIMITS.messageBytes);
    this.#stderrTail = '';
    // Read, so a chatty server never blocks on a full pipe; the tail goes to the operator's warning.
    transport.stderr?.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString('utf8')).slice(-UPSTREAM_LIMITS.stderrTailBytes);
    });
    return transport;
  }

  #listChanged(client: Client): void {
    if (this.#connection?.client === client) this.#connection.tools = undefined;
  }

  /** The connection ended without our close(): the process died or the transport gave up. */
  #closedUnderneath(client: Client): void {
    if (this.#connection?.client !== client || this.#closed) return;
    this.#connection = undefined;
    this.#fail(`the tool server \`${this.name}\` ${this.#cutFor ?? (this.#config.transport === 'stdio' ? 'exited' : 'closed the connection')}`, false);
    this.#cutFor = undefined;
  }

  /** A call broke its connection: dropped, so the next call makes a new one (after the back-off). */
  #brokenWhile(connection: Connection, error: unknown): string {
    if (this.#connection === connection) {
      this.#connection = undefined;
      void connection.client.close().catch(() => undefined);
      const closed = this.#cutFor ?? (this.#config.transport === 'stdio' ? 'exited during the call' : 'closed the connection during the call');
      this.#fail(`the tool server \`${this.name}\` ${error instanceof McpError && error.code === ErrorCode.ConnectionClosed ? closed : `failed: ${describe(error)}`}`, false);
      this.#cutFor = undefined;
    }
    return this.#lastError!.message;
  }

  #fail(message: string, startFailed: boolean): void {
    this.#failures += 1;
    const delay = Math.min(UPSTREAM_LIMITS.backoffMs * 2 ** (this.#failures - 1), UPSTREAM_LIMITS.maxBackoffMs);
    this.#retryAt = performance.now() + delay;
    this.#lastError = { message, startFailed };
    const tail = this.#stderrTail.trim();
    // The operator's record: it may name the command or URL, so it goes to the process's warnings, never to a script;
    // a server's stderr may log its environment, so the configuration's secrets are scrubbed from it.
    process.emitWarning(scrubText(this.#secrets, `code-runtime: ${message}${tail ? `; its stderr ended with: ${tail.slice(-500)}` : ''}`), { code: 'CODE_RUNTIME_TOOL_SERVER' });
  }
}

/** One line on why, without the command, URL or headers the error may carry. */
function describe(error: unknown): string {
  const code = (error as { code?: unknown; cause?: { code?: unknown } } | null)?.code ?? (error as { cause?: { code?: unknown } } | null)?.cause?.code;
  if (code === 'ENOENT') return 'its command was not found (ENOENT)';
  if (code === 'EACCES') return 'its command cannot be run (EACCES)';
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  if (error instanceof McpError) {
    if (error.code === ErrorCode.ConnectionClosed) return 'the connection closed (the server exited or hung up)';
    if (error.code === ErrorCode.RequestTimeout) return `no answer within ${UPSTREAM_LIMITS.connectTimeoutMs / 1000} s`;
    return error.message;
  }
  const message = error instanceof Error ? error.message : String(error);
  // URLs and paths belong to the configuration.
  const clean = message.replace(/\b(?:https?|file):\/\/\S+/g, '<url>').replace(/(?:\/[\w.@+-]+){2,}/g, '<path>').slice(0, 300);
  const status = (error as { code?: unknown } | null)?.code;
  return typeof status === 'number' && status > 0 ? `HTTP ${status} (${clean})` : clean;
}
