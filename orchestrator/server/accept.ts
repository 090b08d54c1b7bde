/**
 * What a client's `Accept` header lets `/mcp` answer with. The MCP SDK's transport refuses (406) any
 * POST whose Accept does not name both `application/json` and `text/event-stream`, yet real clients
 * send `Accept: application/json` alone, or no Accept. So a session is begun in one of two modes,
 * from the Accept of the request that begins it: `sse` (the SDK's streams, with their keep-alive
 * comments) when the client names `text/event-stream`, else `json` (the SDK's JSON answers; the
 * request handed on with an Accept the SDK takes). A JSON answer that takes long is begun early
 * with whitespace, which JSON allows before a value, and more follows every heartbeat: bytes keep
 * flowing during a long wait in both modes, so a gateway that cuts idle connections does not cut
 * a call. Nothing here reads or writes JSON-RPC: the SDK does.
 */

export type SessionMode = 'json' | 'sse';

/** The most time between bytes of an answer still being prepared, by default. */
export const HEARTBEAT_SECS = 10;

const HANDED_ON_ACCEPT = 'application/json, text/event-stream';

function accepts(request: Request): string {
  return (request.headers.get('accept') ?? '').toLowerCase();
}

/** The client names SSE (as the spec asks every client to). */
export function takesSse(request: Request): boolean {
  return accepts(request).includes('text/event-stream');
}

/** The client can read a JSON body: it names JSON or a wildcard over it, or sends no Accept at all. */
export function takesJson(request: Request): boolean {
  const accept = accepts(request).trim();
  return accept === '' || /(^|[\s,])(application\/json|application\/\*|\*\/\*)(\s*[;,]|\s*$)/.test(accept);
}

/** A session begun by `request`: SSE when it names SSE, else JSON. */
export function sessionMode(request: Request): SessionMode {
  return takesSse(request) ? 'sse' : 'json';
}

/** The SDK transport's options for a session of `mode`. */
export function transportOptions(mode: SessionMode, heartbeatSecs: number): { enableJsonResponse: boolean; keepAliveMs: number } {
  return { enableJsonResponse: mode === 'json', keepAliveMs: heartbeatSecs * 1000 };
}

/** A JSON-RPC error answered before any session handles the request, so for no request id (-32000 unless said). */
export function rpcErrorBody(message: string, code = -32000): { jsonrpc: '2.0'; error: { code: number; message: string }; id: null } {
  return { jsonrpc: '2.0', error: { code, message }, id: null };
}

function notAcceptable(message: string): Response {
  return new Response(JSON.stringify(rpcErrorBody(message)), { status: 406, headers: { 'content-type': 'application/json' } });
}

interface Transport {
  handleRequest(request: Request): Promise<Response>;
  readonly sessionId?: string;
}

/** Hands `request` to a session's transport, answering it as the session's mode and the client's Accept allow. */
export async function handleMcpRequest(transport: Transport, mode: SessionMode, request: Request, heartbeatSecs: number): Promise<Response> {
  if (request.method !== 'POST') return transport.handleRequest(request);
  if (mode === 'sse') {
    if (takesSse(request)) return transport.handleRequest(handedOn(request));
    return notAcceptable('This MCP session answers as Server-Sent Events (it was begun with `Accept: text/event-stream`); send `Accept: application/json, text/event-stream` on every request, or begin a new session with `Accept: application/json` for JSON answers');
  }
  if (!takesJson(request)) return notAcceptable(`Not Acceptable: this session answers with JSON; send \`Accept: application/json\` (got ${JSON.stringify(request.headers.get('accept'))})`);
  return withHeartbeat(transport.handleRequest(handedOn(request)), heartbeatSecs * 1000, () => transport.sessionId);
}

/** `request` with the Accept the SDK takes (what the session will answer with is its mode's). */
function handedOn(request: Request): Request {
  const headers = new Headers(request.headers);
  headers.set('accept', HANDED_ON_ACCEPT);
  return new Request(request, { headers });
}

/**
 * The answer `pending` will be, or, when it is not ready within `intervalMs`, a 200 JSON answer
 * begun at once with a newline, another every `intervalMs`, and then the answer's own body. (The
 * SDK's slow JSON answers are always 200 JSON; its refusals come at once.)
 */
export function withHeartbeat(pending: Promise<Response>, intervalMs: number, sessionId: () => string | undefined): Promise<Response> {
  return new Promise((resolve, reject) => {
    let begun = false;
    const timer = setTimeout(() => {
      begun = true;
      const newline = new TextEncoder().encode('\n');
      let beat: NodeJS.Timeout | undefined;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          const send = (chunk: Uint8Array) => {
            try {
              controller.enqueue(chunk);
            } catch {
              // The client went away; the answer has nowhere to go.
            }
          };
          send(newline);
          beat = setInterval(() => send(newline), intervalMs);
          pending.then(async (response) => {
            clearInterval(beat);
            if (response.body) for await (const chunk of response.body) send(chunk);
            controller.close();
          }).catch((error: unknown) => {
            clearInterval(beat);
            try {
              controller.error(error);
            } catch {
              // Already closed by the client.
            }
          });
        },
        cancel() {
          clearInterval(beat);
        },
      });
      const headers: Record<string, string> = { 'content-type': 'application/json', 'cache-control': 'no-cache, no-transform' };
      const id = sessionId();
      if (id !== undefined) headers['mcp-session-id'] = id;
      resolve(new Response(body, { status: 200, headers }));
    }, intervalMs);
    pending.then((response) => {
      if (begun) return;
      clearTimeout(timer);
      resolve(response);
    }, (error: unknown) => {
      if (begun) return;
      clearTimeout(timer);
      reject(error);
    });
  });
}
