/**
 * The loopback relay between the sandbox's bindings and everything beyond it: the only holder of
 * the Apify token, of the tools' connections and of the headers egress adds: the sandbox's only
 * network. One server per process, started lazily and unref()ed, so its address is fixed before any
 * run exists; one session per run, named by a random secret in the path (`/r/<secret>/v2/…` for the
 * Apify API, `/r/<secret>/tools/…` for tools, `/r/<secret>/egress/…` for the script's own fetch,
 * `/r/<secret>/files/…` for the run's files; the families are in `families.ts`). A request for no
 * open session is refused; closing a session keeps the files written so far, destroys the run's
 * connections, cancels its tool calls and egress requests and aborts the script's unfinished runs.
 * What a run may cost the process is bounded by `limits.ts`, for every family alike.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { ActorRunRef, OutputFile, ToolCallRef } from '../../types/result.js';
import type { EgressRequestRef } from '../../types/egress.js';
import { createBudget } from './budget.js';
import { ByteBudget } from './byte-budget.js';
import { acceptConnection, claimConnection, destroyConnections } from './connections.js';
import { EgressCalls, type EgressSettings } from './egress-calls.js';
import { dispatch } from './families.js';
import { callUpstream } from './forward.js';
import { RelayRefusal } from './checks.js';
import { RELAY_LIMITS } from './limits.js';
import type { SessionState } from './request.js';
import { parseJson, sendError } from './respond.js';
import { RunRegistry } from './runs.js';
import { scrubText } from './scrub.js';
import { ToolCalls, type ToolLimits } from './tool-calls.js';
import { FileStore, type RunFiles } from './file-store.js';

export interface RelaySessionOptions {
  /** Added to every forwarded call; never sent to the sandbox. Without one, calls go out unauthenticated. */
  token?: string;
  /** Where calls are forwarded, e.g. `https://api.apify.com` (only its origin is used). */
  apiBaseUrl: string;
  /** How many Actor runs the script may start. */
  maxActorRuns?: number;
  /** Budget in USD across the Actor runs it starts; each run's own cap is clamped to what remains. */
  maxTotalChargeUsd?: number;
  /** Timeout for Actor runs it starts without one. */
  defaultTimeoutSecs?: number;
  /** The run's tools and their limits; without them the tools route answers that the run has none. */
  tools?: ToolLimits;
  /** Secrets besides the token to scrub from every answer (the tools' and egress's configured secrets). */
  secrets?: readonly string[];
  /** The origins the script's own fetch may reach; without it, none. */
  egress?: EgressSettings;
  /** The run's input files and the bounds on what it writes; without them it has no inputs and may write nothing. */
  files?: RunFiles;
}

/** What a session saw the script do, for the run's result. */
export interface SessionRecords {
  actorRuns: ActorRunRef[];
  toolCalls: ToolCallRef[];
  requests: EgressRequestRef[];
  /** The files the script wrote, in the order first written. */
  files: OutputFile[];
}

export interface RelaySession {
  /** Base URL the guest's bindings call, including this run's secret: `http://127.0.0.1:PORT/r/SECRET`. */
  url: string;
  /**
   * Ends the session: refuses further calls, cancels tool calls in flight, waits for starts still
   * in flight, aborts the runs not yet finished when asked, and returns every run the script
   * started, every tool call it made and every request its fetch sent out. Idempotent.
   */
  close(options: { abortRunning: boolean }): Promise<SessionRecords>;
}

const sessions = new Map<string, SessionState>();
const NO_FILES: RunFiles = { inputs: [], maxFilesOut: 0, maxFileBytes: 0, maxFilesOutBytes: 0 };
const PATH = /^\/r\/([0-9a-f]{48})(\/[^?#]*)(?:\?([^#]*))?$/;

/** Request bodies held by all runs together. */
const held = new ByteBudget(RELAY_LIMITS.bufferedBytes, 'all runs\'');
/** Tool answers not yet read, all runs together. */
const answers = new ByteBudget(RELAY_LIMITS.answerBytes, 'all runs\'');

/** Each secret, and each as it appears inside a JSON string when that differs (quotes, backslashes, control characters). */
function withJsonForms(secrets: readonly string[]): string[] {
  return [...new Set(secrets.flatMap((secret) => [secret, JSON.stringify(secret).slice(1, -1)]))];
}

let server: Promise<http.Server> | undefined;

/** Answers a refusal and closes the connection: whoever sent it gets nothing more from this socket. */
function refuse(req: http.IncomingMessage, res: http.ServerResponse, status: number, type: string, message: string): void {
  if (!res.headersSent) res.setHeader('connection', 'close');
  sendError(res, status, type, message);
  dropBody(req);
}

/** Reads and drops what is left of a refused request's body, up to `drainBytes`; past that the connection is cut. */
function dropBody(req: http.IncomingMessage): void {
  if (req.complete) return;
  let left = RELAY_LIMITS.drainBytes;
  req.on('data', (chunk: Buffer) => {
    left -= chunk.length;
    if (left < 0) req.socket.destroy();
  });
  req.resume();
}

function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  const match = PATH.exec(req.url ?? '');
  const session = match ? sessions.get(match[1] as string) : undefined;
  if (!match || !session) {
    refuse(req, res, 403, 'relay-forbidden', 'No open relay session has this address; the relay answers only the bindings of a running script');
    return;
  }
  if (!claimConnection(req.socket, session.sockets)) {
    refuse(req, res, 429, 'relay-too-many-connections',
      `This run already holds ${session.sockets.size} connections to the relay (the limit is ${RELAY_LIMITS.connectionsPerRun}); make fewer calls at once`);
    return;
  }
  if (session.inFlight >= RELAY_LIMITS.requestsPerRun) {
    refuse(req, res, 429, 'relay-too-many-requests',
      `This run already has ${session.inFlight} calls in flight through the relay (the limit is ${RELAY_LIMITS.requestsPerRun}); make fewer calls at once`);
    return;
  }
  session.inFlight += 1;
  res.once('close', () => {
    session.inFlight -= 1;
  });
  dispatch(session, req, res, match[2] as string, match[3] ?? '').catch((error: unknown) => {
    // A refusal can quote the API (a redirect's location, an error's cause): scrubbed like its answers.
    const [status, type, message] = error instanceof RelayRefusal ? [error.statusCode, error.type, error.message]
      : [500, 'relay-internal-error', `The relay failed: ${error instanceof Error ? error.message : String(error)}`];
    if (status === 413) {
      // Drained whole (time-bounded by requestTimeoutMs, nothing kept) so the sender can read why.
      sendError(res, status, type, scrubText(session.secrets, message));
      req.resume();
    } else {
      refuse(req, res, status, type, scrubText(session.secrets, message));
    }
  });
}

function startServer(): Promise<http.Server> {
  server ??= new Promise((resolve, reject) => {
    const s = http.createServer({
      headersTimeout: RELAY_LIMITS.headersTimeoutMs,
      requestTimeout: RELAY_LIMITS.requestTimeoutMs,
      keepAliveTimeout: RELAY_LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: RELAY_LIMITS.timeoutCheckMs,
    }, onRequest);
    s.maxConnections = RELAY_LIMITS.connections;
    s.on('connection', (socket: import('node:net').Socket) => {
      // Neither the server nor a sandbox's idle keep-alive connection may keep the process alive.
      socket.unref();
      acceptConnection(socket);
    });
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      s.unref();
      resolve(s);
    });
  });
  return server;
}

/** `127.0.0.1:PORT` of the process-wide relay, started on first use; the sandbox may reach exactly this. */
export async function relayHostPort(): Promise<string> {
  const { port } = (await startServer()).address() as AddressInfo;
  return `127.0.0.1:${port}`;
}

export async function openRelaySession(options: RelaySessionOptions): Promise<RelaySession> {
  const hostPort = await relayHostPort();
  const secret = randomBytes(24).toString('hex');
  const secrets = [...(options.token ? [options.token] : []), ...(options.secrets ?? [])];
  const state: SessionState = {
    origin: new URL(options.apiBaseUrl).origin,
    token: options.token,
    secrets,
    jsonSecrets: withJsonForms(secrets),
    budget: createBudget(options),
    runs: new RunRegistry(),
    pendingStarts: new Set(),
    closed: new AbortController(),
    held: new ByteBudget(RELAY_LIMITS.bufferedBytesPerRun, 'this run\'s', held),
    sockets: new Set(),
    inFlight: 0,
    tools: options.tools ? new ToolCalls(options.tools) : undefined,
    pendingCalls: new Set(),
    answers: new ByteBudget(RELAY_LIMITS.answerBytesPerRun, 'this run\'s', answers),
    egress: new EgressCalls(options.egress ?? { rules: [] }),
    files: new FileStore(options.files ?? NO_FILES),
  };
  // Every request in flight listens for the session's end: as many as the run may have at once.
  setMaxListeners(RELAY_LIMITS.requestsPerRun + 8, state.closed.signal);
  sessions.set(secret, state);
  let closing: Promise<SessionRecords> | undefined;
  return {
    url: `http://${hostPort}/r/${secret}`,
    close({ abortRunning }) {
      closing ??= closeSession(secret, state, abortRunning);
      return closing;
    },
  };
}

/** How long closing waits for cancelled tool calls to settle, so their records say how they ended. */
const CANCELLED_CALLS_WAIT_MS = 2_000;

async function closeSession(secret: string, state: SessionState, abortRunning: boolean): Promise<SessionRecords> {
  sessions.delete(secret);
  // What the script wrote until now is the run's: a write still arriving lands nowhere.
  const files = state.files.close();
  // Cancels every tool call in flight (upstream too: notifications/cancelled) and every API call.
  state.closed.abort();
  // The script is gone: nothing it left open may outlive it (a start in flight still gets recorded below).
  destroyConnections(state.sockets);
  const calls = Promise.allSettled([...state.pendingCalls]);
  await Promise.race([calls, new Promise((resolve) => setTimeout(resolve, CANCELLED_CALLS_WAIT_MS).unref())]);
  // A start in flight when the script died still creates a run: wait for its answer to record it.
  await Promise.allSettled([...state.pendingStarts]);
  if (abortRunning) await Promise.all(state.runs.unsettled().map((id) => abortRun(state, id)));
  return { actorRuns: state.runs.list(), toolCalls: state.tools?.list() ?? [], requests: state.egress.list(), files };
}

const ABORT_ATTEMPTS = 3;
const ABORT_TIMEOUT_MS = 15_000;

/** Best effort, a few tries: a run that cannot be aborted keeps the last status the relay saw. */
async function abortRun(state: SessionState, runId: string): Promise<void> {
  for (let attempt = 1; attempt <= ABORT_ATTEMPTS; attempt += 1) {
    try {
      const response = await callUpstream({
        origin: state.origin,
        token: state.token,
        method: 'POST',
        path: `/v2/actor-runs/${encodeURIComponent(runId)}/abort`,
        query: '',
        signal: AbortSignal.timeout(ABORT_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.ok) state.runs.update(parseJson(text));
      if (response.status !== 429 && response.status < 500) return;
    } catch {
      // Unreachable this time; try again.
    }
    if (attempt < ABORT_ATTEMPTS) await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
  }
}
