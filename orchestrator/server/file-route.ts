/**
 * `GET /v1/runs/{id}/files/{name}`: a file the script wrote, its bytes as they are, with its content
 * type. What a script names and types is the script's: the answer is an attachment, never sniffed,
 * and sandboxed by CSP, so a script's `page.html` cannot run in the server's origin in a browser.
 */
import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import { UnknownExecutionError } from './executions.js';
import { fileOf } from './files.js';
import type { ExecutionService } from './service.js';

type Env = { Bindings: HttpBindings };

function notFound(c: Context<Env>, message: string): Response {
  return c.json({ error: { type: 'not-found', message } }, 404);
}

export function fileRoute(service: ExecutionService) {
  return (c: Context<Env>): Response => {
    let found;
    try {
      found = fileOf(service.get(c.req.param('id') ?? ''), c.req.param('name') ?? '');
    } catch (error) {
      if (error instanceof UnknownExecutionError) return notFound(c, error.message);
      throw error;
    }
    if (typeof found === 'string') return notFound(c, found);
    const body = new Uint8Array(found.bytes.buffer as ArrayBuffer, found.bytes.byteOffset, found.bytes.byteLength);
    return c.body(body, 200, {
      'content-type': found.contentType,
      'content-length': String(found.size),
      'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(found.name)}`,
      'x-content-type-options': 'nosniff',
      'content-security-policy': 'sandbox',
    });
  };
}

/** The route in the OpenAPI document. */
export const FILE_PATH = {
  '/v1/runs/{id}/files/{name}': {
    get: {
      operationId: 'getRunFile',
      summary: 'A file the script wrote (files.write), as its bytes',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The executionId a run returned.' },
        { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'The file\'s name, as the execution\'s `files` list it (percent-encoded).' },
      ],
      responses: {
        200: { description: 'The file, with its content type', content: { '*/*': { schema: { type: 'string', format: 'binary' } } } },
        404: { description: 'No such execution (or it expired), not ended yet, or no such file', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } },
      },
    },
  },
};
