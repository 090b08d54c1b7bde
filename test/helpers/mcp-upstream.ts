/**
 * A Streamable HTTP MCP server on 127.0.0.1, built with the SDK in the test process, standing in
 * for a remote upstream: it echoes the headers it received (plainly and encoded, so the scrubber
 * is tested on every form), answers with a large result, never answers (telling the test when a
 * call started and when it was cancelled), and echoes a message. One session per client.
 */
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import * as z from 'zod';
import { fixturePath, ROOT } from './helpers.js';
import { descendants } from './processes.js';

/** The reference upstream, run over stdio with `node`. */
export const EVERYTHING = path.join(ROOT, 'node_modules', '@modelcontextprotocol', 'server-everything', 'dist', 'index.js');
/** A small stdio upstream (test/fixtures/mcp-server.mjs): pid, crash, hang, list_changed, env. */
export const FIXTURE_SERVER = fixturePath('mcp-server.mjs');

/** The pids of live processes this process started whose command line mentions `mark` (never another test run's). */
export function childPids(mark: string): number[] {
  return descendants().filter(({ cmdline }) => cmdline.includes(mark)).map(({ pid }) => pid);
}

export interface HttpUpstream {
  url: string;
  port: number;
  /** Resolves when the next `hang` call arrives; each call renews it. */
  hangStarted(): Promise<void>;
  /** How many `hang` calls were cancelled (notifications/cancelled reached the server). */
  readonly cancelled: number;
  /** Resolves when the count of cancellations reaches `n`. */
  cancelledAtLeast(n: number): Promise<void>;
  /** Every request's headers, newest last. */
  readonly headers: http.IncomingHttpHeaders[];
  close(): Promise<void>;
}

function deferred(): { promise: Promise<void>; resolve(): void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

export async function startHttpUpstream(): Promise<HttpUpstream> {
  const transports = new Map<string, StreamableHTTPServerTransport>();
  const headers: http.IncomingHttpHeaders[] = [];
  let started = deferred();
  let cancelled = 0;
  const waiters: Array<{ n: number; resolve(): void }> = [];
  const text = (value: string) => ({ content: [{ type: 'text' as const, text: value }] });

  function build(): McpServer {
    const server = new McpServer({ name: 'http-upstream', version: '1' });
    server.registerTool('echo', { description: 'Echoes a message', inputSchema: { message: z.string() } }, async ({ message }) => text(message));
    server.registerTool('echo-url', { description: 'The URL it was reached at, query included' }, async (extra) => text(`url=${extra.requestInfo?.url?.href ?? ''} query=${extra.requestInfo?.url?.search ?? ''}`));
    server.registerTool('echo-headers', { description: 'The Authorization header it received, in several encodings' }, async (extra) => {
      const auth = String(extra.requestInfo?.headers.authorization ?? '');
      const token = auth.replace(/^Bearer /, '');
      return {
        content: [
          { type: 'text' as const, text: `auth=${auth}` },
          { type: 'text' as const, text: `upper=${token.toUpperCase()} b64=${Buffer.from(token).toString('base64')} b64url=${Buffer.from(`x${token}`).toString('base64url')} hex=${Buffer.from(token).toString('hex')} pct=${[...token].map((c) => `%${c.charCodeAt(0).toString(16)}`).join('')}` },
        ],
        structuredContent: { auth, json: `{"k":"${token}"}` },
      };
    });
    server.registerTool('big', { description: 'A text result of `bytes` bytes', inputSchema: { bytes: z.number() } }, async ({ bytes }) => text('x'.repeat(bytes)));
    server.registerTool('hang', { description: 'Never answers' }, async (extra) => new Promise(() => {
      extra.signal.addEventListener('abort', () => {
        cancelled += 1;
        for (const waiter of waiters.filter((w) => cancelled >= w.n)) waiter.resolve();
      });
      started.resolve();
    }));
    return server;
  }

  const httpServer = http.createServer(async (req, res) => {
    headers.push(req.headers);
    const id = req.headers['mcp-session-id'];
    let transport = typeof id === 'string' ? transports.get(id) : undefined;
    if (!transport) {
      if (typeof id === 'string') {
        res.writeHead(404).end();
        return;
      }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (sessionId) => void transports.set(sessionId, transport!),
      });
      await build().connect(transport);
    }
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  const { port } = httpServer.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    port,
    headers,
    hangStarted: () => {
      started = deferred();
      return started.promise;
    },
    get cancelled() {
      return cancelled;
    },
    cancelledAtLeast: (n) => (cancelled >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve }))),
    close: async () => {
      for (const transport of transports.values()) await transport.close().catch(() => undefined);
      httpServer.closeAllConnections();
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}
