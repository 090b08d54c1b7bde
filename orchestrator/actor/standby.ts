/**
 * The Actor in Standby mode (`APIFY_META_ORIGIN=STANDBY`): instead of running one script, serve the
 * code-runtime server (MCP at /mcp, REST at /v1) on `ACTOR_WEB_SERVER_PORT`, sized to the run's
 * memory. The platform authenticates callers before they reach the container, and the run's own
 * token (the caller's) goes to the relay as in a batch run, never to a script. On the platform,
 * executions are recorded in the run's default key-value store (`standby-records.ts`, `../server/records/`),
 * so that any run of the user's Actor answers for them: the platform recycles runs and starts more
 * of them under load. On `aborting`, `migrating` or SIGTERM: stop accepting (`/healthz` and the
 * readiness probe answer 503), give running scripts a short grace, abort the rest (their results say
 * the server shut down), write the records of what the run held, then exit; a second such request
 * exits at once.
 */
import { availableParallelism } from 'node:os';
import { actorMcpServers, ActorInputError, egressFromInput, runLimitsFromEnv } from './input.js';
import { loadSdk } from './sdk.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import { RUNTIME_OVERHEAD_MBYTES } from '../run/run.js';
import { ORCHESTRATOR_MBYTES } from '../runtime/actor-sizing.js';
import { createServer } from '../server/http.js';
import { SERVER_LIMITS } from '../server/options.js';
import { stopRequests } from '../server/shutdown.js';
import { platformRecordStore } from './standby-records.js';

// Top-level: this module is loaded only to run the Actor, and a missing SDK is said with its fix (sdk.ts).
const { Actor, log } = await loadSdk();

/** The memory a Standby run gets when the platform does not say. */
const FALLBACK_MEMORY_MBYTES = 1024;
/** Seconds running scripts get to finish when the run is asked to stop. */
const DEFAULT_GRACE_SECS = 5;
const MAX_CONCURRENCY = 16;
/** Parsing a request body holds about three times its bytes at its peak (the text, the parsed strings, decoded files). */
const BODY_PARSE_FACTOR = 3;

export interface StandbySizing {
  concurrency: number;
  /** Each script's default and most memory, in MB. */
  scriptMemoryMbytes: number;
  /** What all kept executions' output may hold, and one stream. */
  memoryBudgetBytes: number;
  streamCapBytes: number;
  /** Request bodies held at once (`maxBodiesBytes`); one request may send half. */
  maxBodiesBytes: number;
}

/**
 * Fits the server to the run's memory: an eighth (16–512 MB) for kept output, request bodies in
 * flight a sixteenth (8–192 MB, reserved three times over for parsing them), the rest split into
 * slots of a default-sized script plus Deno's own overhead; at least one slot, whose script then
 * gets what is left.
 */
export function standbySizing(runMemoryMbytes: number | undefined, cpus = availableParallelism()): StandbySizing {
  const available = Math.max(64, (runMemoryMbytes ?? FALLBACK_MEMORY_MBYTES) - ORCHESTRATOR_MBYTES);
  const outputMbytes = Math.min(512, Math.max(16, Math.floor(available / 8)));
  // The server's default body budget (192 MiB, ~600 MB while parsed) would not fit a small run beside its scripts.
  const bodiesMbytes = Math.min(SERVER_LIMITS.maxBodiesBytes.default / 1024 ** 2, Math.max(SERVER_LIMITS.maxBodiesBytes.min / 1024 ** 2, Math.floor(available / 16)));
  const forScripts = Math.max(RUN_OPTIONS.memoryMbytes.min + RUNTIME_OVERHEAD_MBYTES, available - outputMbytes - BODY_PARSE_FACTOR * bodiesMbytes);
  const slot = RUN_OPTIONS.memoryMbytes.default + RUNTIME_OVERHEAD_MBYTES;
  const concurrency = Math.max(1, Math.min(Math.floor(forScripts / slot), MAX_CONCURRENCY, cpus * 4));
  const perScript = Math.floor(forScripts / concurrency) - RUNTIME_OVERHEAD_MBYTES;
  const scriptMemoryMbytes = Math.max(RUN_OPTIONS.memoryMbytes.min, Math.min(perScript, RUN_OPTIONS.memoryMbytes.max));
  const memoryBudgetBytes = outputMbytes * 1024 ** 2;
  return {
    concurrency, scriptMemoryMbytes, memoryBudgetBytes,
    streamCapBytes: Math.min(64 * 1024 ** 2, Math.floor(memoryBudgetBytes / 4)),
    maxBodiesBytes: bodiesMbytes * 1024 ** 2,
  };
}

/** Resolves with why the run must stop: a platform event or a signal; a second signal exits at once. */
function stopRequested(): Promise<string> {
  const stops = stopRequests((line) => log.warning(line));
  Actor.on('aborting', () => stops.request('the run is being aborted'));
  Actor.on('migrating', () => stops.request('the run is moving to another server'));
  // Kept listening (not once): see server/shutdown.ts on signal-exit.
  process.on('SIGTERM', () => stops.request('SIGTERM', 143));
  return stops.first;
}

export async function standbyMain(): Promise<void> {
  await Actor.init({ gracefulShutdown: false });
  const stop = stopRequested();
  // The task's (or the Actor's default) input may name tool servers and origins for every script
  // this server runs, as a batch run's input does.
  const input = await Actor.getInput();
  const fields = input !== null && typeof input === 'object' && !Array.isArray(input) ? input as Record<string, unknown> : undefined;
  let mcpServers;
  let egress;
  try {
    mcpServers = fields && actorMcpServers(fields);
    egress = fields && egressFromInput(fields);
  } catch (error) {
    if (error instanceof ActorInputError) return void await Actor.fail(error.message);
    throw error;
  }
  const sizing = standbySizing(runLimitsFromEnv(process.env).memoryMbytes);
  const records = platformRecordStore({ Actor, log });
  const server = createServer({
    records,
    heartbeatSecs: Number(process.env.CODE_RUNTIME_HEARTBEAT_SECS) || undefined,
    concurrency: sizing.concurrency,
    memoryBudgetBytes: sizing.memoryBudgetBytes,
    streamCapBytes: sizing.streamCapBytes,
    maxBodiesBytes: sizing.maxBodiesBytes,
    maxMemoryMbytes: sizing.scriptMemoryMbytes,
    graceSecs: Number(process.env.CODE_RUNTIME_GRACE_SECS) || DEFAULT_GRACE_SECS,
    // The caller's run token: scripts act as the caller, through the relay only.
    defaults: { token: Actor.config.get('token') || undefined, apiBaseUrl: Actor.config.get('apiBaseUrl') || undefined, memoryMbytes: sizing.scriptMemoryMbytes },
    egress,
    // The Standby URL's host is the platform's; it authenticates callers before they get here.
    allowedHosts: 'any',
    mcpServers,
  });
  const port = Number(process.env.ACTOR_WEB_SERVER_PORT) || 4321;
  const host = process.env.CODE_RUNTIME_HOST || '0.0.0.0';
  await server.listen({ host, port, authenticatedUpstream: true });
  log.info(`Standby: serving MCP at /mcp and REST at /v1 on port ${port} (${sizing.concurrency} scripts at once, ${sizing.scriptMemoryMbytes} MB each); `
    + (records ? `executions are recorded in key-value store ${records.home}, so any run of this Actor answers for them` : 'executions are kept in this process only (not on the Apify platform)'));
  const why = await stop;
  log.info(`Standby: ${why}; finishing running scripts, then stopping`);
  await server.close();
  const kept = server.service.records;
  if (kept) {
    const { written, bytes, failed, pending } = kept.stats;
    log.info(`Standby: ${written} execution records written (${bytes} bytes), ${failed} failed${pending > 0 ? `, ${pending} executions' records not written in time` : ''}`);
  }
  await Actor.exit(`Standby server stopped: ${why}`);
}
