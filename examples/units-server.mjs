// A small MCP server over stdio, standing in for any server a script's `tools` can reach (see
// examples/mcp.json): one tool, `convert`, that converts lengths between units.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import * as z from 'zod';

const METRES = { m: 1, km: 1000, mi: 1609.344, ft: 0.3048 };
const unit = z.enum(Object.keys(METRES));

const server = new McpServer({ name: 'units', version: '1.0.0' });
server.registerTool('convert', {
  description: 'Converts a length from one unit to another (m, km, mi, ft)',
  inputSchema: { value: z.number(), from: unit, to: unit },
  outputSchema: { value: z.number(), unit },
}, async ({ value, from, to }) => {
  const result = { value: (value * METRES[from]) / METRES[to], unit: to };
  return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
});
await server.connect(new StdioServerTransport());
