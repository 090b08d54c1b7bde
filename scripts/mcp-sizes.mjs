// What a model pays, in characters of JSON as they cross the wire: the MCP server's `instructions`,
// `tools/list`, and run_code answers for a hello world and for 50 KB of output (the default
// client, which reads text). Runs `code-runtime mcp` from a built tree over stdio, on this machine.
// Usage: node scripts/mcp-sizes.mjs [ROOT]   (ROOT: a checkout with dist/ built; default this one)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const size = (value) => JSON.stringify(value).length;
const client = new Client({ name: 'mcp-sizes', version: '1' });
await client.connect(new StdioClientTransport({ command: process.execPath, args: [path.join(root, 'dist/orchestrator/bin/code-runtime.js'), 'mcp'], stderr: 'ignore' }));
try {
  const { tools } = await client.listTools();
  console.log(`instructions          ${(client.getInstructions() ?? '').length}`);
  console.log(`tools/list            ${size({ tools })}`);
  for (const tool of tools) console.log(`  ${tool.name.padEnd(20)}${size(tool)}`);
  const hello = await client.callTool({ name: 'run_code', arguments: { code: 'console.log("hello world")' } });
  console.log(`hello world answer    ${size(hello)}`);
  const big = await client.callTool({ name: 'run_code', arguments: { code: 'for (let i = 0; i < 5000; i++) console.log(`line ${String(i).padStart(4, "0")}`)' } });
  console.log(`50 KB output answer   ${size(big)}`);
  const docs = await client.callTool({ name: 'get_code_docs', arguments: {} });
  console.log(`first get_code_docs   ${size(docs)}`);
} finally {
  await client.close();
}
