/**
 * The relay's tools route family (`/r/<secret>/tools/…`), which the guest's `tools` binding calls:
 * `POST /tools/call` with `{ server, tool, args, raw }` and `GET /tools/list[?server=NAME]`. Every
 * bound is applied here before the dispatcher (`tool-dispatcher.ts`) is asked: the run's call count
 * and calls in flight (`tool-calls.ts`), the argument size (a body read like every other, against
 * the same held-bytes budgets), the per-call timeout and the run's end (both cancel upstream), the
 * answer's size and the bytes of answers not yet read. Every answer is scrubbed of every secret of
 * the run, in every encoding, before it is sent.
 *
 * Answers: a call that was made is 200 with `{ value }` (what `tools.NS.TOOL()` resolves to),
 * `{ result }` (the whole CallToolResult, when `raw`) or `{ error: { type, message } }`; a request
 * refused at the door is a 4xx in the relay's error shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { readBody, RelayRefusal } from './checks.js';
import { RELAY_LIMITS } from './limits.js';
import { scrubBuffer } from './scrub.js';
import type { SessionState } from './request.js';
import type { ToolCallRef } from '../../types/result.js';
import type { ToolOutcome } from './tool-dispatcher.js';

const MiB = 1024 * 1024;
/** Room for `{ server, tool, raw }` around the arguments. */
const ENVELOPE_BYTES = 4096;

export async function handleToolRequest(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const tools = session.tools;
  if (!tools) {
    throw new RelayRefusal(404, 'no-tools', 'This run has no tools: an operator adds tool servers with --config (mcpServers) or createRuntime({ mcpServers, tools })');
  }
  if (req.method === 'POST' && pathname === '/tools/call') return call(session, req, res);
  if (req.method === 'GET' && pathname === '/tools/list') return list(session, res, search);
  throw new RelayRefusal(404, 'relay-endpoint-not-allowed', `The tools route answers POST /tools/call and GET /tools/list; ${req.method} ${pathname} is neither`);
}

interface CallRequest {
  server: string;
  tool: string;
  args: Record<string, unknown>;
  raw: boolean;
}

function parseCall(body: Buffer): CallRequest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new RelayRefusal(400, 'tool-invalid-request', 'A tool call must be JSON: { server, tool, args }');
  }
  const { server, tool, args, raw } = (parsed ?? {}) as Record<string, unknown>;
  if (typeof server !== 'string' || typeof tool !== 'string' || server === '' || tool === '') {
    throw new RelayRefusal(400, 'tool-invalid-request', 'A tool call names its server and tool as non-empty strings');
  }
  // A call's names are kept in the run's records: a script must not make them megabytes.
  if (server.length > RELAY_LIMITS.toolServerChars) {
    throw new RelayRefusal(400, 'tool-invalid-request', `A tool server's name has at most ${RELAY_LIMITS.toolServerChars} characters; this call's has ${server.length}`);
  }
  if (tool.length > RELAY_LIMITS.toolNameChars) {
    throw new RelayRefusal(400, 'tool-invalid-request', `A tool's name has at most ${RELAY_LIMITS.toolNameChars} characters; this call's has ${tool.length}`);
  }
  if (args !== undefined && (args === null || typeof args !== 'object' || Array.isArray(args))) {
    throw new RelayRefusal(400, 'tool-invalid-request', `The arguments of ${server}.${tool} must be an object (MCP passes named arguments), got ${args === null ? 'null' : Array.isArray(args) ? 'an array' : typeof args}`);
  }
  return { server, tool, args: (args ?? {}) as Record<string, unknown>, raw: raw === true };
}

function argsTooLarge(bytes: number): RelayRefusal {
  return new RelayRefusal(413, 'tool-arguments-too-large',
    `The tool call's arguments are ${(bytes / MiB).toFixed(1)} MiB, over the limit of ${RELAY_LIMITS.toolArgsBytes / MiB} MiB per call; pass less per call`);
}

/** The signal of one call: the run's end, the sandbox hanging up, or the timeout; `timedOut` says which. */
function callSignal(session: SessionState, res: ServerResponse, timeoutMs: number): { signal: AbortSignal; timedOut(): boolean; done(): void } {
  const controller = new AbortController();
  let timedOut = false;
  const stop = () => controller.abort();
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, Math.min(timeoutMs, 2 ** 31 - 1));
  timer.unref();
  session.closed.signal.addEventListener('abort', stop, { once: true });
  res.once('close', stop);
  if (session.closed.signal.aborted) stop();
  return {
    signal: controller.signal,
    timedOut: () => timedOut,
    done: () => {
      clearTimeout(timer);
      session.closed.signal.removeEventListener('abort', stop);
      res.off('close', stop);
    },
  };
}

function statusOf(outcome: ToolOutcome, timedOut: boolean): ToolCallRef['status'] {
  if (outcome.kind === 'result') return 'SUCCEEDED';
  if (outcome.kind === 'failed' && outcome.type === 'cancelled') return timedOut ? 'TIMED-OUT' : 'ABORTED';
  return 'FAILED';
}

async function call(session: SessionState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const tools = session.tools!;
  const held = await readBody(req, session.held, RELAY_LIMITS.toolArgsBytes + ENVELOPE_BYTES, argsTooLarge);
  let request: CallRequest;
  try {
    request = parseCall(held.body);
  } finally {
    held.release();
  }
  // The arguments alone, as the upstream will get them (the body also holds the names).
  const argsBytes = Buffer.byteLength(JSON.stringify(request.args));
  if (argsBytes > RELAY_LIMITS.toolArgsBytes) throw argsTooLarge(argsBytes);
  // Checked after the body was read: a session closed meanwhile must not call anything new.
  if (session.closed.signal.aborted) throw new RelayRefusal(403, 'relay-forbidden', 'This relay session has ended');
  const place = tools.begin(request.server, request.tool);
  if (!place.ok) throw new RelayRefusal(place.type === 'tool-calls-busy' ? 429 : 403, place.type, place.message);
  const name = `${request.server}.${request.tool}`;
  const timeoutSecs = tools.timeoutMs / 1000;
  const watch = callSignal(session, res, tools.timeoutMs);
  let status: ToolCallRef['status'] = 'ABORTED';
  const settled = (async () => {
    try {
      const outcome = await tools.dispatcher.call({ server: request.server, tool: request.tool, args: request.args }, watch.signal);
      status = statusOf(outcome, watch.timedOut());
      let payload: unknown;
      if (outcome.kind === 'failed') {
        const message = outcome.type === 'cancelled'
          ? (watch.timedOut() ? `${name} did not answer within ${timeoutSecs} s (toolTimeoutSecs); the call was cancelled` : `${name} was cancelled: the run ended`)
          : outcome.message;
        payload = { error: { type: outcome.type === 'cancelled' && watch.timedOut() ? 'timed-out' : outcome.type, message } };
      } else if (request.raw) {
        payload = { result: outcome.result };
      } else if (outcome.kind === 'tool-error') {
        payload = { error: { type: 'tool-error', message: outcome.message } };
      } else {
        payload = { value: outcome.value };
      }
      if (res.destroyed) return;
      const sent = answer(session, res, payload, name);
      if (!sent && status === 'SUCCEEDED') status = 'FAILED';
    } finally {
      watch.done();
      place.end(status);
    }
  })();
  session.pendingCalls.add(settled);
  try {
    await settled;
  } finally {
    session.pendingCalls.delete(settled);
  }
}

async function list(session: SessionState, res: ServerResponse, search: string): Promise<void> {
  const tools = session.tools!;
  const query = new URLSearchParams(search);
  const named = query.getAll('server');
  for (const key of query.keys()) {
    if (key !== 'server') throw new RelayRefusal(400, 'tool-invalid-request', `GET /tools/list takes only \`server\`, not \`${key}\``);
  }
  const watch = callSignal(session, res, tools.timeoutMs);
  try {
    const listing = await tools.dispatcher.list(named.length > 0 ? named : undefined, watch.signal);
    if (!res.destroyed) answer(session, res, listing, 'tools.$list()');
  } finally {
    watch.done();
  }
}

/**
 * Sends a 200 JSON answer, scrubbed, if it fits the answer bounds; otherwise an error answer
 * naming the bound. The bytes count against the run's and the process's budget of unread answers
 * until the sandbox has read them (or gone). Returns whether the payload itself was sent.
 */
function answer(session: SessionState, res: ServerResponse, payload: unknown, name: string): boolean {
  let json: Buffer;
  try {
    json = Buffer.from(JSON.stringify(payload) ?? '{}');
  } catch (error) {
    sendAnswer(session, res, errorBody('invalid-result', `${name} answered with something that is not JSON: ${(error as Error).message}`));
    return false;
  }
  if (json.length > RELAY_LIMITS.toolResultBytes) {
    sendAnswer(session, res, errorBody('tool-result-too-large',
      `${name} answered with ${(json.length / MiB).toFixed(1)} MiB, over the limit of ${RELAY_LIMITS.toolResultBytes / MiB} MiB per tool answer; ask the tool for less`));
    return false;
  }
  const body = scrubBuffer(session.jsonSecrets, json);
  const full = session.answers.take(body.length);
  if (full) {
    sendAnswer(session, res, errorBody('relay-busy',
      `The relay already holds ${full.used} bytes of ${full.whose} tool answers not yet read (limit ${full.limit}); read answers before making more calls`));
    return false;
  }
  res.once('close', () => session.answers.give(body.length));
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(body.length) });
  res.end(body);
  return true;
}

function errorBody(type: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { type, message } }));
}

/** A small error answer (never counted: its size is bounded). */
function sendAnswer(session: SessionState, res: ServerResponse, body: Buffer): void {
  if (res.headersSent) return;
  const scrubbed = scrubBuffer(session.jsonSecrets, body);
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(scrubbed.length) });
  res.end(scrubbed);
}
