/**
 * The REST API under `/v1`, on Hono: the same executions as MCP, the same schemas (which also make
 * the OpenAPI document, so it cannot drift from what is validated). Errors are JSON,
 * `{ error: { type, message } }`, with the status that fits.
 */
import { Hono, type Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import * as z from 'zod';
import { runsElsewhere, UnknownExecutionError } from './executions.js';
import { RecordsUnavailableError } from './records/store.js';
import { QueueFullError } from './scheduler.js';
import { firstIssue, pageQuerySchema, queryValues, runOptionsSchema, waitQuerySchema, pageShape, WAIT_LIMITS } from './schemas.js';
import { ShuttingDownError, type ExecutionService } from './service.js';
import { executionViewSchema, executionView, pageViewSchema } from './view.js';
import { fileRoute, FILE_PATH } from './file-route.js';
import type { Execution } from './executions.js';

const ABORT_WAIT_SECS = 10;
/** What a 429 tells the client to wait before retrying. */
const RETRY_AFTER_SECS = 5;

type ErrorType = 'invalid-request' | 'unauthorized' | 'forbidden' | 'not-found' | 'conflict' | 'request-timeout' | 'payload-too-large' | 'unsupported-media-type' | 'queue-full' | 'too-many-sessions' | 'busy' | 'shutting-down' | 'records-unavailable' | 'internal';

export function errorBody(type: ErrorType, message: string) {
  return { error: { type, message } };
}

type Env = { Bindings: HttpBindings };

/** A caller's error as the status and body that fit it; anything else is rethrown. */
function failure(c: Context<Env>, error: unknown): Response {
  if (error instanceof UnknownExecutionError) return c.json(errorBody('not-found', error.message), 404);
  if (error instanceof QueueFullError) {
    c.header('Retry-After', String(RETRY_AFTER_SECS));
    return c.json(errorBody('queue-full', error.message), 429);
  }
  if (error instanceof ShuttingDownError) return c.json(errorBody('shutting-down', error.message), 503);
  if (error instanceof RecordsUnavailableError) {
    c.header('Retry-After', String(RETRY_AFTER_SECS));
    return c.json(errorBody('records-unavailable', error.message), 503);
  }
  if (error instanceof TypeError) return c.json(errorBody('invalid-request', error.message), 400);
  throw error;
}

/** One running on another run of the Standby Actor: when to ask again. */
function elsewhere(c: Context<Env>, execution: Execution): void {
  if (runsElsewhere(execution)) c.header('Retry-After', String(RETRY_AFTER_SECS));
}

function invalid(c: Context<Env>, message: string): Response {
  return c.json(errorBody('invalid-request', message), 400);
}

/** The fairness key of a REST caller when the server gives none: its address. */
function addressOf(c: Context<Env>): string {
  return `rest:${c.env?.incoming?.socket?.remoteAddress ?? 'unknown'}`;
}

/** `?wait=SECS`, as the tools' `waitSecs`; anything else is a 400 naming it and its bounds. */
function waitOf(c: Context<Env>): number | Response {
  const parsed = waitQuerySchema.safeParse(queryValues(c.req.query()));
  return parsed.success ? parsed.data.wait ?? WAIT_LIMITS.default : invalid(c, firstIssue(parsed.error));
}

/** `clientOf` names the caller for fair queueing (http.ts: the same key as its MCP sessions). */
export function restRoutes(service: ExecutionService, clientOf: (c: Context<Env>) => string = addressOf): Hono<Env> {
  const app = new Hono<Env>();
  const viewOf = (execution: Execution) => executionView(execution);

  app.post('/runs', async (c) => {
    const wait = waitOf(c);
    if (wait instanceof Response) return wait;
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      return invalid(c, 'Expected the body to be JSON run options, such as {"code":"console.log(1)"}');
    }
    const parsed = runOptionsSchema.safeParse(body);
    if (!parsed.success) return invalid(c, firstIssue(parsed.error));
    let execution: Execution;
    try {
      execution = service.start(clientOf(c), parsed.data);
    } catch (error) {
      return failure(c, error);
    }
    await service.wait(execution, wait, c.req.raw.signal);
    c.header('Location', `/v1/runs/${execution.id}`);
    return c.json(viewOf(execution), execution.state === 'ended' ? 200 : 202);
  });

  app.get('/runs/:id', async (c) => {
    const wait = waitOf(c);
    if (wait instanceof Response) return wait;
    try {
      const execution = await service.find(c.req.param('id'), { waitSecs: wait, signal: c.req.raw.signal });
      await service.wait(execution, wait, c.req.raw.signal);
      elsewhere(c, execution);
      return c.json(viewOf(execution));
    } catch (error) {
      return failure(c, error);
    }
  });

  app.get('/runs/:id/output/:stream', async (c) => {
    const stream = c.req.param('stream');
    if (stream !== 'stdout' && stream !== 'stderr') return c.json(errorBody('not-found', `No output stream ${JSON.stringify(stream)}: use stdout or stderr`), 404);
    const parsed = pageQuerySchema.safeParse(queryValues(c.req.query()));
    if (!parsed.success) return invalid(c, firstIssue(parsed.error));
    try {
      const execution = await service.find(c.req.param('id'));
      elsewhere(c, execution);
      return c.json({ executionId: execution.id, stream, state: execution.state, ...service.page(execution, stream, parsed.data), heldBy: execution.heldBy });
    } catch (error) {
      return failure(c, error);
    }
  });

  app.post('/runs/:id/abort', async (c) => {
    try {
      const execution = await service.find(c.req.param('id'));
      if (runsElsewhere(execution)) {
        return c.json(errorBody('conflict', `Execution ${execution.id} runs on another run of this Actor (run ${execution.heldBy}); only that run can abort it, and this request reached another`), 409);
      }
      service.cancel(execution);
      await service.wait(execution, ABORT_WAIT_SECS, c.req.raw.signal);
      return c.json(viewOf(execution));
    } catch (error) {
      return failure(c, error);
    }
  });

  app.get('/runs/:id/files/:name', fileRoute(service));

  app.get('/openapi.json', (c) => c.json(openApiDocument()));
  return app;
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document, from the schemas above.

function schemaOf(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

function queryParameters(shape: Record<string, z.ZodType>) {
  return Object.entries(shape).map(([name, schema]) => ({ name, in: 'query', required: false, description: schema.description, schema: schemaOf(schema) }));
}

const ERROR_RESPONSE = { description: 'An error', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
const VIEW_RESPONSE = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Execution' } } } });
const ID_PARAMETER = { name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'The executionId a run returned.' };
const WAIT_PARAMETER = queryParameters({ wait: waitQuerySchema.shape.wait });

let document: Record<string, unknown> | undefined;

function openApiDocument(): Record<string, unknown> {
  document ??= {
    openapi: '3.1.0',
    info: { title: 'code-runtime', version: '1', description: `Run TypeScript/JavaScript in a sandbox. Waits are at most ${WAIT_LIMITS.max} s.` },
    paths: {
      '/v1/runs': {
        post: {
          operationId: 'startRun',
          summary: 'Start a script; with ?wait=SECS answer with its result if it ends in time',
          parameters: WAIT_PARAMETER,
          requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/RunOptions' } } } },
          responses: {
            200: VIEW_RESPONSE('It ended within `wait`'), 202: VIEW_RESPONSE('Started (or queued); still running'),
            400: ERROR_RESPONSE, 401: ERROR_RESPONSE, 403: ERROR_RESPONSE, 408: ERROR_RESPONSE, 413: ERROR_RESPONSE, 415: ERROR_RESPONSE, 429: ERROR_RESPONSE, 503: ERROR_RESPONSE,
          },
        },
      },
      '/v1/runs/{id}': {
        get: {
          operationId: 'getRun',
          summary: 'An execution; with ?wait=SECS wait for it to end first',
          parameters: [ID_PARAMETER, ...WAIT_PARAMETER],
          responses: { 200: VIEW_RESPONSE('The execution (ended, or still running when `wait` ran out; `heldBy` when another run of the Standby Actor runs it)'), 400: ERROR_RESPONSE, 404: ERROR_RESPONSE, 503: ERROR_RESPONSE },
        },
      },
      '/v1/runs/{id}/output/{stream}': {
        get: {
          operationId: 'getRunOutput',
          summary: 'A page of one stream, by lines (lineOffset from 1) or bytes (byteOffset from 0; wins when given)',
          parameters: [ID_PARAMETER, { name: 'stream', in: 'path', required: true, schema: { enum: ['stdout', 'stderr'] } }, ...queryParameters(pageShape)],
          responses: { 200: { description: 'The page', content: { 'application/json': { schema: { $ref: '#/components/schemas/Page' } } } }, 400: ERROR_RESPONSE, 404: ERROR_RESPONSE, 503: ERROR_RESPONSE },
        },
      },
      ...FILE_PATH,
      '/v1/runs/{id}/abort': {
        post: {
          operationId: 'abortRun',
          summary: 'Abort it; its result says ABORTED (an execution that had already ended is answered as it is)',
          parameters: [ID_PARAMETER],
          responses: { 200: VIEW_RESPONSE('The aborted (or already ended) execution'), 404: ERROR_RESPONSE, 409: ERROR_RESPONSE, 503: ERROR_RESPONSE },
        },
      },
      '/v1/openapi.json': { get: { operationId: 'getOpenApi', summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    },
    components: {
      schemas: {
        RunOptions: schemaOf(runOptionsSchema),
        Execution: schemaOf(executionViewSchema),
        Page: schemaOf(pageViewSchema),
        Error: { type: 'object', properties: { error: { type: 'object', properties: { type: { type: 'string' }, message: { type: 'string' } }, required: ['type', 'message'] } } },
      },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    },
  };
  return document;
}
