/**
 * Remote runs: each script becomes one run of the code-runtime Actor on the Apify platform, through
 * `apify-client` — start, wait, read its one dataset item (and the files it lists, from the run's
 * key-value store) — and comes back as the same `RunResult`. Input files travel in the Actor's input.
 * Aborting a run aborts the Actor run (gracefully, so it can still save what was printed). A run
 * that ends without an item is an infrastructure failure and rejects.
 */
import type { ActorRun, ApifyClient } from 'apify-client';
import { ORCHESTRATOR_MBYTES, RESULT_MARGIN_SECS } from './actor-sizing.js';
import type { NormalizedOptions } from '../run/options.js';
import { capText } from '../run/output.js';
import { abortedResult, RUNTIME_OVERHEAD_MBYTES } from '../run/run.js';
import type { JsonValue, OutputFile, RunResult, RunStatus } from '../../types/result.js';

export interface RemoteSettings {
  token: string;
  actorId: string;
  build?: string;
  /** Memory of each Actor run; default: fitted to the script's. */
  memoryMbytes?: number;
  baseUrl: string;
}

export const DEFAULT_ACTOR_ID = 'apify/code-runtime';

/** Longest single wait the API allows; the run is polled again until it ends. */
const WAIT_SECS = 60;
/** Time an Actor run needs besides the script's own: start-up, and saving the item. */
const START_MARGIN_SECS = 60;
const PLATFORM_MEMORY = { min: 128, max: 32_768 };
const TERMINAL = new Set(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'ABORTED']);
const STATUSES = new Set<RunStatus>(['SUCCEEDED', 'FAILED', 'TIMED-OUT', 'OUT-OF-MEMORY', 'ABORTED']);

/** The smallest Actor run memory (a power of 2) that gives the script `memoryMbytes` of its own. */
export function platformMemoryMbytes(memoryMbytes: number): number {
  const need = memoryMbytes + RUNTIME_OVERHEAD_MBYTES + ORCHESTRATOR_MBYTES;
  let memory = PLATFORM_MEMORY.min;
  while (memory < need && memory < PLATFORM_MEMORY.max) memory *= 2;
  return memory;
}

/** The Actor's input (see `.actor/input_schema.json`): the script and its limits. */
export function actorInput(options: NormalizedOptions): Record<string, unknown> {
  const input: Record<string, unknown> = {
    code: options.code,
    // The Actor takes whole seconds; round up so the script never gets less than asked.
    timeoutSecs: Math.ceil(options.timeoutSecs),
    memoryMbytes: options.memoryMbytes,
  };
  for (const key of ['maxActorRuns', 'maxTotalChargeUsd', 'defaultTimeoutSecs'] as const) {
    if (options[key] !== undefined) input[key] = options[key];
  }
  // Input files travel in the Actor's input, as the Actor's `files` field takes them.
  if (options.files.length > 0) {
    input.files = Object.fromEntries(options.files.map((file) => [file.name, { base64: Buffer.from(file.bytes).toString('base64') }]));
  }
  return input;
}

/** The Actor's item as a `RunResult`, streams capped to this run's `maxOutputBytes`. */
export function resultFromItem(item: Record<string, unknown>, options: NormalizedOptions): RunResult {
  const { status, exitCode, stdout, stderr, statusMessage, durationMillis } = item;
  if (!STATUSES.has(status as RunStatus) || typeof exitCode !== 'number' || typeof stdout !== 'string'
    || typeof stderr !== 'string' || typeof statusMessage !== 'string') {
    throw new Error(`The code-runtime Actor returned an item that is not a run result (status ${JSON.stringify(status)})`);
  }
  const stream = (name: 'stdout' | 'stderr', text: string) => {
    const record = item[`${name}Record`] as { bytes?: unknown } | null | undefined;
    const given = item[`${name}Bytes`] ?? record?.bytes;
    const cut = capText(text, options.maxOutputBytes, typeof given === 'number' ? given : undefined);
    return {
      text: cut.text,
      bytes: typeof given === 'number' ? given : Buffer.byteLength(text),
      truncated: cut.truncated || item[`${name}Truncated`] === true,
    };
  };
  const out = stream('stdout', stdout);
  const err = stream('stderr', stderr);
  return {
    status: status as RunStatus,
    exitCode,
    stdout: out.text,
    stderr: err.text,
    statusMessage,
    durationMillis: typeof durationMillis === 'number' ? durationMillis : 0,
    stdoutBytes: out.bytes,
    stderrBytes: err.bytes,
    stdoutTruncated: out.truncated,
    stderrTruncated: err.truncated,
    actorRuns: Array.isArray(item.actorRuns) ? item.actorRuns as RunResult['actorRuns'] : [],
    toolCalls: Array.isArray(item.toolCalls) ? item.toolCalls as RunResult['toolCalls'] : [],
    requests: Array.isArray(item.requests) ? item.requests as RunResult['requests'] : [],
    ...(Object.hasOwn(item, 'value') ? { value: item.value as JsonValue } : {}),
    files: [],
  };
}

/** The files an item lists, each read from the Actor run's default key-value store (the item has no bytes). */
async function outputFiles(client: ApifyClient, run: ActorRun, listed: unknown): Promise<OutputFile[]> {
  if (!Array.isArray(listed) || listed.length === 0) return [];
  const store = client.keyValueStore(run.defaultKeyValueStoreId);
  const files: OutputFile[] = [];
  for (const entry of listed as Array<Record<string, unknown>>) {
    const { name, key, contentType } = entry;
    if (typeof name !== 'string' || typeof key !== 'string') continue;
    const record = await store.getRecord(key, { buffer: true });
    if (!record) throw new Error(`The code-runtime Actor run ${run.id} lists the file ${JSON.stringify(name)}, but its record ${key} is missing`);
    const bytes = new Uint8Array(record.value as Buffer);
    files.push({ name, contentType: typeof contentType === 'string' ? contentType : String(record.contentType), size: bytes.length, bytes });
  }
  return files;
}

async function waitUntilEnded(client: ApifyClient, run: ActorRun): Promise<ActorRun> {
  let current = run;
  while (!TERMINAL.has(current.status)) {
    const next = await client.run(run.id).get({ waitForFinish: WAIT_SECS });
    if (!next) throw new Error(`The code-runtime Actor run ${run.id} disappeared while it was running`);
    current = next;
  }
  return current;
}

async function firstItem(client: ApifyClient, run: ActorRun): Promise<Record<string, unknown> | undefined> {
  const { items } = await client.dataset(run.defaultDatasetId).listItems({ limit: 1 });
  return items[0] as Record<string, unknown> | undefined;
}

/** A function running validated options as Actor runs; the client is loaded on first use. */
export function createRemoteRunner(settings: RemoteSettings): (options: NormalizedOptions) => Promise<RunResult> {
  let client: Promise<ApifyClient> | undefined;
  const getClient = () => {
    // Loaded only here, so local runs never pay for apify-client.
    client ??= import('apify-client').then(({ ApifyClient: Client }) => new Client({ token: settings.token, baseUrl: settings.baseUrl }));
    return client;
  };

  return async function runRemote(options) {
    const started = performance.now();
    if (options.signal?.aborted) return abortedResult(options);
    const apify = await getClient();
    const run = await apify.actor(settings.actorId).start(actorInput(options), {
      memory: settings.memoryMbytes ?? platformMemoryMbytes(options.memoryMbytes),
      timeout: Math.ceil(options.timeoutSecs) + RESULT_MARGIN_SECS + START_MARGIN_SECS,
      ...(settings.build ? { build: settings.build } : {}),
    });
    let aborting: Promise<unknown> | undefined;
    const onAbort = () => {
      // Gracefully: the Actor stops the script and still saves what it printed.
      aborting ??= apify.run(run.id).abort({ gracefully: true }).catch(() => undefined);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    if (options.signal?.aborted) onAbort();
    let ended: ActorRun;
    try {
      ended = await waitUntilEnded(apify, run);
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
    }
    await aborting;
    const item = await firstItem(apify, ended);
    if (item) {
      const result = { ...resultFromItem(item, options), files: await outputFiles(apify, ended, item.files) };
      if (options.onOutput) {
        if (result.stdout) options.onOutput('stdout', Buffer.from(result.stdout));
        if (result.stderr) options.onOutput('stderr', Buffer.from(result.stderr));
      }
      return result;
    }
    if (aborting) return abortedResult(options, Math.round(performance.now() - started));
    const why = ended.statusMessage ? `: ${ended.statusMessage}` : '';
    throw new Error(`The code-runtime Actor run ${run.id} ended ${ended.status} without a result${why}`);
  };
}
