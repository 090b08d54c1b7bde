/**
 * The files scripts wrote, as MCP resources: `code-runtime://executions/{executionId}/files/{name}`
 * (the links `run_code` answers with), readable with resources/read for as long as the execution is
 * kept; text comes back as `text`, anything else as base64 `blob`. An unknown, expired or unfinished
 * execution, or a name it has no file of, is the spec's resource-not-found error, saying which.
 */
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { FILE_URI_TEMPLATE, fileOf, isText } from './files.js';
import type { ExecutionService } from './service.js';

/** The MCP spec's code for a resource that does not exist. */
const RESOURCE_NOT_FOUND = -32002;

function one(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value[0] ?? '' : value ?? '';
}

export function registerFileResources(server: McpServer, service: ExecutionService): void {
  server.registerResource('execution-file', new ResourceTemplate(FILE_URI_TEMPLATE, { list: undefined }), {
    title: 'A file a script wrote',
    description: 'A file written with files.write, kept while its execution is kept; run_code links each one.',
  }, async (uri, variables) => {
    let name: string;
    try {
      name = decodeURIComponent(one(variables.name));
    } catch {
      throw new McpError(RESOURCE_NOT_FOUND, `${uri.href} names no file: its name is not valid percent-encoding`);
    }
    let file;
    try {
      const found = fileOf(service.get(one(variables.executionId)), name);
      if (typeof found === 'string') throw new Error(found);
      file = found;
    } catch (error) {
      throw new McpError(RESOURCE_NOT_FOUND, (error as Error).message);
    }
    const bytes = Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength);
    const content = isText(file.contentType)
      ? { uri: uri.href, mimeType: file.contentType, text: bytes.toString('utf8') }
      : { uri: uri.href, mimeType: file.contentType, blob: bytes.toString('base64') };
    return { contents: [content] };
  });
}
