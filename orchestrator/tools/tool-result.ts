/**
 * What a tool's answer becomes for the script, in one place: a CallToolResult resolves to its
 * `structuredContent` when it has one, else to its text blocks joined; `isError` becomes an error
 * with the tool's own text. A host tool's return value reaches the script as is, unless it is a
 * `toolResult(...)`, the one explicit way to return rich content — recognised by a private brand,
 * never guessed from the value's shape.
 */
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import type { ToolResult } from '../../types/mcp.js';
import type { ToolOutcome } from '../relay/tool-dispatcher.js';

const RICH = new WeakSet<object>();

/**
 * Marks a host tool's return value as a whole MCP `CallToolResult` (images, audio, resource links,
 * several blocks, `isError`), to be passed on as one rather than as a plain value. The script's
 * `tools.NS.TOOL()` then resolves to its `structuredContent`, else its text; `tools.$callTool()`
 * gets it whole.
 * @example return toolResult({ content: [{ type: 'image', data: png.toString('base64'), mimeType: 'image/png' }] });
 */
export function toolResult<T extends ToolResult>(result: T): T {
  const parsed = CallToolResultSchema.safeParse(result);
  if (!parsed.success) {
    throw new TypeError(`toolResult() takes an MCP CallToolResult such as { content: [{ type: 'text', text: '…' }] }: ${parsed.error.issues[0]?.message ?? 'invalid'} at ${parsed.error.issues[0]?.path.join('.') || 'the top'}`);
  }
  const copy = { ...result };
  RICH.add(copy);
  return copy;
}

/** The text of a result's text blocks, joined by newlines. */
export function textOf(result: { content?: unknown }): string {
  const blocks = Array.isArray(result.content) ? result.content as Array<{ type?: unknown; text?: unknown }> : [];
  return blocks.filter((block) => block?.type === 'text' && typeof block.text === 'string').map((block) => block.text as string).join('\n');
}

/** An MCP tool's answer as the outcome the relay passes on. */
export function outcomeOf(result: Record<string, unknown>, name: string): ToolOutcome {
  if (result.isError === true) {
    return { kind: 'tool-error', result, message: textOf(result) || `${name} failed and said nothing more` };
  }
  const structured = result.structuredContent;
  const value = structured !== undefined && structured !== null ? structured : textOf(result);
  return { kind: 'result', result, value };
}

/** A host handler's return value as an outcome: a `toolResult` as a CallToolResult, anything else as itself. */
export function hostOutcome(returned: unknown, name: string): ToolOutcome {
  if (returned !== null && typeof returned === 'object' && RICH.has(returned)) return outcomeOf(returned as Record<string, unknown>, name);
  const text = typeof returned === 'string' ? returned : returned === undefined ? undefined : JSON.stringify(returned);
  const structured = returned !== null && typeof returned === 'object' && !Array.isArray(returned) ? returned as Record<string, unknown> : undefined;
  const result: Record<string, unknown> = { content: text === undefined ? [] : [{ type: 'text', text }] };
  if (structured) result.structuredContent = structured;
  return { kind: 'result', result, value: returned };
}
