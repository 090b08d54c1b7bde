/**
 * The tool the official MCP conformance suite calls to test resumable streams (`server-sse-polling`):
 * `test_reconnection` closes its own SSE stream mid-call, then answers, so the client must reconnect
 * with `Last-Event-ID` to get the answer from the event store. Added only when the server is made
 * with `conformanceTools` (`CODE_RUNTIME_CONFORMANCE_TOOLS=1` for `serve`): clients never see it
 * otherwise.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { RETRY_MS } from './mcp-http.js';

export function addConformanceTools(server: McpServer): void {
  server.registerTool('test_reconnection', {
    description: 'For the MCP conformance suite: closes this call\'s SSE stream, then answers after the client reconnected.',
  }, async (extra) => {
    extra.closeSSEStream?.();
    // Long enough for the client to come back (it waits the priming event's retry interval).
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS + 500));
    return { content: [{ type: 'text', text: 'Reconnection test completed successfully' }] };
  });
}
