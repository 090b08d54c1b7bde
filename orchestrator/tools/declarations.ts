/**
 * TypeScript declarations of a runtime's tools, for the model to read before it writes code
 * (`get_code_docs { topic: "tools" }`): each tool's arguments and result, generated from its JSON
 * Schemas by json-schema-to-typescript (loaded only when asked; it never runs in the sandbox), then
 * one declaration of the global `tools` that uses them. A `$ref` outside the schema is never
 * fetched: it reads as `unknown`. A schema the generator cannot read falls back to a plain record,
 * with a comment saying so, rather than failing the whole document.
 */
import type { ToolDescriptor, ToolListing } from '../../types/mcp.js';

type Compile = (schema: object, name: string, options: object) => Promise<string>;
let compiler: Promise<Compile> | undefined;

async function compile(): Promise<Compile> {
  compiler ??= import('json-schema-to-typescript').then((module) => module.compile as unknown as Compile);
  return compiler;
}

const OPTIONS = {
  bannerComment: '',
  format: false,
  additionalProperties: false,
  strictIndexSignatures: true,
  unknownAny: true,
  // Nothing is resolved off the schema: a remote $ref is replaced below, never fetched.
  $refOptions: { resolve: { external: false, file: false, http: false } },
};

/** `get-structured-content` → `GetStructuredContent`. */
export function pascal(name: string): string {
  const words = name.split(/[^A-Za-z0-9]+/).filter(Boolean);
  const joined = words.map((word) => word[0]!.toUpperCase() + word.slice(1)).join('');
  return /^[A-Za-z_]/.test(joined) ? joined : `T${joined}`;
}

/** A property key as TypeScript writes it: bare when it is an identifier, quoted otherwise. */
function key(name: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(name) ? name : JSON.stringify(name);
}

/** A copy without `title`s (they would rename the types) and with every `$ref` that leaves the schema replaced. */
function sanitize(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(sanitize);
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(schema)) {
    if (name === 'title' || name === '$id' || name === '$schema') continue;
    if (name === '$ref' && (typeof value !== 'string' || !value.startsWith('#'))) {
      return { description: 'defined by a schema outside this one' };
    }
    out[name] = sanitize(value);
  }
  return out;
}

function comment(text: string, indent: string): string {
  const lines = text.replace(/\*\//g, '*\\/').split('\n');
  return `${indent}/**\n${lines.map((line) => `${indent} * ${line}`.trimEnd()).join('\n')}\n${indent} */\n`;
}

/** Indents generated code by its braces, so it reads as code inside a namespace. */
function indentCode(code: string, base: string): string {
  let depth = 0;
  return code.trim().split('\n').map((raw) => {
    const trimmed = raw.trim();
    // The generator's doc comments: their ` * ` lines keep their one-space lead.
    const line = trimmed.startsWith('*') ? ` ${trimmed}` : trimmed;
    if (/^[}\]]/.test(line)) depth = Math.max(0, depth - 1);
    const out = `${base}${'  '.repeat(depth)}${line}`;
    depth += (line.match(/[{[]/g) ?? []).length - (line.match(/[}\]]/g) ?? []).length + (/^[}\]]/.test(line) ? 1 : 0);
    depth = Math.max(0, depth);
    return line ? out : '';
  }).join('\n').replace(/\n{3,}/g, '\n\n');
}

async function typeOf(schema: object | undefined, name: string, fallback: string): Promise<{ code: string; ref: string }> {
  if (!schema) return { code: '', ref: fallback };
  try {
    const code = await (await compile())(sanitize(schema) as object, name, OPTIONS);
    return { code, ref: name };
  } catch (error) {
    return { code: `// ${name}: the schema could not be read (${(error as Error).message.split('\n')[0]}); any object is accepted\nexport type ${name} = Record<string, unknown>;\n`, ref: name };
  }
}

/** Unique namespace names for a server's tools: `GetSum`, `GetSum2`… */
function uniqueNames(tools: ToolDescriptor[]): Map<ToolDescriptor, string> {
  const used = new Set<string>();
  const names = new Map<ToolDescriptor, string>();
  for (const tool of tools) {
    let name = pascal(tool.name);
    for (let n = 2; used.has(name); n += 1) name = `${pascal(tool.name)}${n}`;
    used.add(name);
    names.set(tool, name);
  }
  return names;
}

/** The declarations document: per server, a namespace of argument and result types, then `tools`. */
export async function toolDeclarations(listing: ToolListing): Promise<string> {
  const byServer = new Map<string, ToolDescriptor[]>();
  for (const tool of listing.tools) byServer.set(tool.server, [...(byServer.get(tool.server) ?? []), tool]);
  const blocks: string[] = [];
  const members: string[] = [];
  const serverNames = uniqueNames([...byServer.keys()].map((server) => ({ server, name: server, kind: 'mcp', inputSchema: { type: 'object' } })));
  for (const [descriptor, space] of serverNames) {
    const server = descriptor.server;
    const tools = byServer.get(server)!;
    const names = uniqueNames(tools);
    const body: string[] = [];
    const calls: string[] = [];
    for (const tool of tools) {
      const base = names.get(tool)!;
      const args = await typeOf(tool.inputSchema, `${base}Args`, 'Record<string, unknown>');
      // Without an output schema an MCP tool resolves to its text; a host tool to whatever it returns.
      const result = await typeOf(tool.outputSchema, `${base}Result`, tool.kind === 'host' ? 'unknown' : 'string');
      body.push(indentCode(`${args.code}\n${result.code}`, '  '));
      const ref = (type: { ref: string; code: string }) => (type.code ? `${space}.${type.ref}` : type.ref);
      const doc = tool.description ? comment(tool.description, '    ') : '';
      calls.push(`${doc}    ${key(tool.name)}(args${hasRequired(tool.inputSchema) ? '' : '?'}: ${ref(args)}): Promise<${ref(result)}>;`);
    }
    blocks.push(`/** Types of \`tools.${server}\`. */\ndeclare namespace ${space} {\n${body.filter(Boolean).join('\n')}\n}`);
    members.push(`  ${key(server)}: {\n${calls.join('\n')}\n  };`);
  }
  const unavailable = listing.unavailable.map((entry) => `// tools.${entry.server} is unavailable now: ${entry.message.split('\n')[0]}`);
  return [
    ...blocks,
    ...unavailable,
    `/** The global \`tools\` of this server's scripts: \`await tools.NAME.TOOL(args)\`. See ToolsHelpers for $list, $call and $callTool. */`,
    `declare const tools: {\n${members.join('\n')}\n} & ToolsHelpers;`,
  ].join('\n\n');
}

function hasRequired(schema: { required?: unknown }): boolean {
  return Array.isArray(schema.required) && schema.required.length > 0;
}
