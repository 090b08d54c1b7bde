/**
 * An embedder's own functions as a namespace of `tools`: `{ NAMESPACE: { TOOL: { description?,
 * inputSchema?, outputSchema?, handler(args, { signal }) } } }`, validated once (every error names
 * the key and what is allowed) and copied, so later changes to the caller's object change nothing.
 * Arguments are checked against `inputSchema` (the SDK's JSON Schema validator) before the handler
 * runs; the handler's answer is raced against the call's signal, so one that ignores the signal
 * still cannot hold a call past its timeout or the run's end.
 */
import { AjvJsonSchemaValidator } from '@modelcontextprotocol/sdk/validation/ajv';
import type { JsonSchemaType, JsonSchemaValidator } from '@modelcontextprotocol/sdk/validation';
import { SERVER_NAME, SERVER_NAME_RULE } from '../config/shape.js';
import { isPlainObject, kindOf } from '../config/error.js';
import type { HostTool, HostTools, ObjectJsonSchema, ToolDescriptor } from '../../types/mcp.js';
import type { ToolOutcome } from '../relay/tool-dispatcher.js';
import { CancelledError, nameList, untilAborted, type ToolSource } from './source.js';
import { hostOutcome } from './tool-result.js';

const TOOL_KEYS = ['description', 'inputSchema', 'outputSchema', 'handler'];
const TOOL_NAME = /^[\w.-]{1,128}$/;
const ANY_OBJECT: ObjectJsonSchema = { type: 'object' };

function bad(key: string, allowed: string, value: unknown): never {
  throw new TypeError(`Expected \`${key}\` to be ${allowed}, got ${kindOf(value)}`);
}

function objectSchema(value: unknown, key: string): ObjectJsonSchema | undefined {
  if (value === undefined) return undefined;
  if (!isPlainObject(value) || value.type !== 'object') bad(key, 'a JSON Schema object with `type: "object"`', value);
  // A copy through JSON: what is not JSON (functions, cycles) cannot be a schema.
  try {
    return JSON.parse(JSON.stringify(value)) as ObjectJsonSchema;
  } catch {
    return bad(key, 'a JSON Schema (plain JSON)', value);
  }
}

/** Validates `tools` as createRuntime and runCode take it; returns a checked copy. */
export function normalizeHostTools(raw: unknown, key = 'tools'): HostTools {
  if (raw === undefined) return {};
  if (!isPlainObject(raw)) bad(key, 'an object of namespaces, each an object of tools', raw);
  const out: HostTools = {};
  for (const [namespace, tools] of Object.entries(raw)) {
    const at = `${key}.${namespace}`;
    if (!SERVER_NAME.test(namespace)) throw new TypeError(`\`${at}\`: a namespace must be ${SERVER_NAME_RULE} (it becomes tools.NAME)`);
    if (!isPlainObject(tools)) bad(at, 'an object of tool names to { description?, inputSchema?, handler }', tools);
    const copies: Record<string, HostTool> = {};
    for (const [name, tool] of Object.entries(tools)) {
      const where = `${at}.${name}`;
      if (!TOOL_NAME.test(name)) throw new TypeError(`\`${where}\`: a tool name must be 1–128 letters, digits, \`_\`, \`-\` or \`.\``);
      if (!isPlainObject(tool)) bad(where, 'an object { description?, inputSchema?, outputSchema?, handler }', tool);
      const unknown = Object.keys(tool).find((k) => !TOOL_KEYS.includes(k));
      if (unknown) throw new TypeError(`\`${where}.${unknown}\` is not a key of a host tool; its keys are ${TOOL_KEYS.join(', ')}`);
      if (typeof tool.handler !== 'function') bad(`${where}.handler`, 'a function (args, { signal }) => result', tool.handler);
      if (tool.description !== undefined && typeof tool.description !== 'string') bad(`${where}.description`, 'a string', tool.description);
      copies[name] = {
        description: tool.description as string | undefined,
        inputSchema: objectSchema(tool.inputSchema, `${where}.inputSchema`),
        outputSchema: objectSchema(tool.outputSchema, `${where}.outputSchema`),
        handler: tool.handler as HostTool['handler'],
      };
    }
    out[namespace] = copies;
  }
  return out;
}

let validators: AjvJsonSchemaValidator | undefined;

export class HostSource implements ToolSource {
  readonly name: string;
  readonly #tools: Record<string, HostTool>;
  readonly #checks = new Map<string, JsonSchemaValidator<unknown>>();

  constructor(name: string, tools: Record<string, HostTool>) {
    this.name = name;
    this.#tools = tools;
  }

  async list(): Promise<ToolDescriptor[]> {
    return Object.entries(this.#tools).map(([name, tool]) => ({
      server: this.name,
      name,
      kind: 'host' as const,
      ...(tool.description !== undefined ? { description: tool.description } : {}),
      inputSchema: tool.inputSchema ?? ANY_OBJECT,
      ...(tool.outputSchema ? { outputSchema: tool.outputSchema } : {}),
    }));
  }

  async call(toolName: string, args: Record<string, unknown>, signal: AbortSignal): Promise<ToolOutcome> {
    const name = `${this.name}.${toolName}`;
    const tool = Object.hasOwn(this.#tools, toolName) ? this.#tools[toolName] : undefined;
    if (!tool) {
      return { kind: 'failed', type: 'unknown-tool', message: `${this.name} has no tool \`${toolName}\`; its tools are: ${nameList(Object.keys(this.#tools))}` };
    }
    const problem = this.#check(toolName, tool, args);
    if (problem) return { kind: 'failed', type: 'invalid-arguments', message: `Invalid arguments for ${name}: ${problem}` };
    let returned: unknown;
    try {
      returned = await untilAborted(Promise.resolve().then(() => tool.handler(args, { signal })), signal);
    } catch (error) {
      if (error instanceof CancelledError || signal.aborted) return { kind: 'failed', type: 'cancelled', message: 'cancelled' };
      const message = error instanceof Error ? error.message : String(error);
      return { kind: 'tool-error', result: { content: [{ type: 'text', text: message }], isError: true }, message: message || `${name} failed` };
    }
    try {
      return hostOutcome(returned, name);
    } catch (error) {
      return { kind: 'failed', type: 'protocol-error', message: `${name} returned a value that is not JSON: ${(error as Error).message}` };
    }
  }

  /** Why `args` do not match the tool's input schema, or undefined when they do. */
  #check(toolName: string, tool: HostTool, args: Record<string, unknown>): string | undefined {
    if (!tool.inputSchema) return undefined;
    let check = this.#checks.get(toolName);
    if (!check) {
      validators ??= new AjvJsonSchemaValidator();
      check = validators.getValidator(tool.inputSchema as JsonSchemaType);
      this.#checks.set(toolName, check);
    }
    const verdict = check(args);
    return verdict.valid ? undefined : verdict.errorMessage;
  }

  async close(): Promise<void> {
    // Nothing to stop: the embedder owns its functions.
  }
}
