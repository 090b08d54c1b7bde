/**
 * `serveStdio`: MCP over stdin/stdout for clients that start a command (Claude Desktop, Cursor,
 * VS Code). stdout carries only the protocol; anything to say goes to stderr. When the client
 * closes stdin the server drains (grace period, then aborts) and resolves.
 */
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from './mcp.js';
import { serverSettings, type ServerOptions } from './options.js';
import { ExecutionService } from './service.js';

export interface StdioServer {
  readonly service: ExecutionService;
  /** Resolves once the client has gone and every execution ended. */
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

export async function serveStdio(options: Omit<ServerOptions, 'authToken' | 'allowedHosts'> = {}): Promise<StdioServer> {
  const settings = serverSettings(options);
  const service = new ExecutionService(settings);
  const server = createMcpServer(service, 'stdio');
  const transport = new StdioServerTransport();
  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      // Tool calls that were waiting on those executions have answered (ABORTED) before the transport closes.
      await service.drain(settings.graceSecs * 1000);
      await server.close().catch(() => undefined);
      if (settings.ownsRuntime) await settings.runtime.close();
    })();
    return closing;
  };
  let gone!: () => void;
  const clientGone = new Promise<void>((resolve) => {
    gone = resolve;
  });
  transport.onclose = () => gone();
  // The SDK transport does not notice stdin ending by itself.
  process.stdin.once('end', () => gone());
  // A client that died without closing stdin: the next write meets a broken pipe (EPIPE), which is
  // its goodbye, not a crash (the SDK does not listen for stdout's errors).
  process.stdout.on('error', () => gone());
  await server.connect(transport);
  const closed = clientGone.then(close);
  return { service, closed, close };
}
