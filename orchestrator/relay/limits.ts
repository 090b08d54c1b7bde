/**
 * Every bound on what the sandbox can cost the orchestrator through the relay, in one place: the
 * docs/security.md and the tests read these numbers from here. A run's relay traffic, on
 * every route family (the Apify API, tools, egress, files), costs at most `connectionsPerRun` sockets,
 * `requestsPerRun` requests in flight, `bufferedBytesPerRun` of held request bodies and
 * `answerBytesPerRun` of tool answers not yet sent, whatever the script sends, and all of it ends
 * with the run; the process as a whole is bounded too, so many runs cannot add up past it.
 */

const MiB = 1024 * 1024;

export const RELAY_LIMITS = {
  /** Open connections one run may hold; past it a new connection is refused and closed. */
  connectionsPerRun: 16,
  /** Requests one run may have in flight at once (a `waitForFinish` counts); past it, 429. */
  requestsPerRun: 16,
  /** Open connections to the relay, all runs together (the server's own cap on file descriptors). */
  connections: 1024,
  /** Connections that have not yet sent a request, all runs together; past it the oldest is closed. */
  unidentifiedConnections: 128,
  /** One request body (the API's own limit is about 9 MB). */
  bodyBytes: 10 * MiB,
  /** Request bodies one run may have held at once. */
  bufferedBytesPerRun: 10 * MiB,
  /** Request bodies held at once, all runs together; past it a request gets 429. */
  bufferedBytes: 64 * MiB,
  /** Of a refused request's body, this much is read and dropped; past it the connection is cut. */
  drainBytes: 64 * 1024,
  /** A connection must send its request headers within this. */
  headersTimeoutMs: 5_000,
  /** A request, body included, must arrive within this. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive connection is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** How often the server checks the two timeouts above. */
  timeoutCheckMs: 1_000,
  /** Any call to the API, plus the `waitForFinish` it asks for. */
  upstreamTimeoutMs: 120_000,
  /** The API answers a `waitForFinish` of at most this; larger asks are clamped to it. */
  waitForFinishSecs: 60,
  /** Tool calls one run may have in flight at once (within `requestsPerRun`); the guest queues the rest. */
  toolCallsPerRun: 8,
  /** One tool call's arguments, as JSON. */
  toolArgsBytes: 1 * MiB,
  /** One tool call's answer (or `tools.$list()`), as JSON. */
  toolResultBytes: 10 * MiB,
  /** Tool answers one run may have sent and not yet had read; past it a call's answer is refused (a reader that never reads). */
  answerBytesPerRun: 20 * MiB,
  /** Tool answers not yet read, all runs together. */
  answerBytes: 128 * MiB,
  /** Tool calls a run's result lists; later calls still count against `maxToolCalls`. */
  toolCallRecords: 1000,
  /** The longest tool name a call may give (MCP's own rule is 128); longer is refused, so records stay small. */
  toolNameChars: 256,
  /** The longest server name a call may give (a configured name has at most 64). */
  toolServerChars: 64,
  /** Request body bytes one run may send to allowed origins, all its requests together. */
  egressRequestBytesPerRun: 64 * MiB,
  /** Response body bytes (decoded) one run may be sent back from allowed origins, all together. */
  egressResponseBytesPerRun: 256 * MiB,
  /** An origin must answer a request (its status and headers) within this. */
  egressHeadersTimeoutMs: 120_000,
  /** Longest silence of a connection to an origin while a request or its answer is under way. */
  egressIdleTimeoutMs: 60_000,
  /** Connections to allowed origins, in use and idle, all runs together; more requests wait for one. */
  egressSockets: 256,
  /** Idle kept-alive connections kept per origin, and how long each is kept. */
  egressFreeSocketsPerOrigin: 8,
  egressFreeSocketMs: 4_000,
  /** Egress requests a run's result lists; later ones still go out. */
  egressRecords: 1000,
  /** Output files the relay holds for running scripts, all runs together (each run's own bounds are its `maxFilesOut*` options); past it a write gets 429. */
  filesOutBytes: 1024 * MiB,
} as const;

/** The smallest `maxTotalChargeUsd` a start may ask for: below it a cap would round to "none". */
export const MIN_CHARGE_USD = 0.01;

/** Longest delay Node's timers take (2^31 - 1 ms); a longer one fires at once with a warning. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** `AbortSignal.timeout` that never overflows into firing at once. */
export function timeoutSignal(ms: number): AbortSignal {
  return AbortSignal.timeout(Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS));
}
