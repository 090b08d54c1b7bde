// Tools of other MCP servers: the servers of examples/mcp.json, called from one script.
// Run: npx code-runtime --config examples/mcp.json examples/tools.ts
/// <reference path="../types/tools.d.ts" />
const names = (await tools.$list()).map((tool) => `tools.${tool.server}.${tool.name}`);
console.log(`Tools: ${names.join(', ')}`);
for (const km of [5, 10, 42.195]) {
  const { value } = await tools.units.convert({ value: km, from: 'km', to: 'mi' }) as { value: number };
  console.log(`${km} km = ${value.toFixed(2)} mi`);
}
