/**
 * The Apify Actor entry: input → validate → run the script once → push exactly one item → exit.
 * Script failures are data (the run succeeds and the item says how the script ended); only invalid
 * input and infrastructure failures fail the run. A thin adapter: the rules live in the library
 * and in `input.ts`, `output.ts` and `item.ts` here.
 */
import { createReadStream } from 'node:fs';
import { ActorInputError, parseActorInput, runLimitsFromEnv } from './input.js';
import { fitItem, ITEM_STREAM_BYTES, toItem, type ActorItem, type StreamRecord } from './item.js';
import { OutputCapture, type StreamName } from './output.js';
import { runCode } from '../run/run.js';
import { loadSdk } from './sdk.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import { FileInputError, resolveFileSources } from './files.js';
import { recordReader, saveFiles } from './file-records.js';
import { isStandby } from './standby-mode.js';
import type { RunResult } from '../../types/result.js';

// Top-level: this module is loaded only to run the Actor, and a missing SDK is said with its fix (sdk.ts).
const { Actor, log } = await loadSdk();

const SAVE_ATTEMPTS = 3;

/** Saves the whole captured stream as `<stream>.txt` in the run's default key-value store. */
async function saveStream(name: StreamName, capture: OutputCapture): Promise<StreamRecord> {
  const key = `${name}.txt`;
  const file = capture.file(name);
  const store = await Actor.openKeyValueStore();
  for (let attempt = 1; ; attempt += 1) {
    try {
      // A stream keeps memory flat for big files; the client does not retry streams, so we do.
      const value = file.bytes > 0 ? createReadStream(file.path) : '';
      await store.setValue(key, value, { contentType: 'text/plain; charset=utf-8' });
      break;
    } catch (error) {
      if (attempt >= SAVE_ATTEMPTS) throw error;
      log.warning(`Saving ${key} failed (attempt ${attempt} of ${SAVE_ATTEMPTS}), retrying: ${(error as Error).message}`);
    }
  }
  // Locally the store is a folder named after the default store ID, and its URLs are not reliable.
  const where = Actor.isAtHome()
    ? { storeId: store.id, url: store.getPublicUrl(key) }
    : { storeId: Actor.config.get('defaultKeyValueStoreId') ?? 'default' };
  return { key, ...where, bytes: file.bytes, complete: file.complete };
}

/** The run's status message: how the script ended, and where whole streams are when truncated. */
function statusLine(item: ActorItem): string {
  const saved = [item.stdoutRecord, item.stderrRecord].filter((record) => record !== null).map((record) => record.key);
  const where = saved.length > 0 ? `; whole output in key-value store record ${saved.join(' and ')}` : '';
  return `${item.statusMessage} (${item.status}, exit code ${item.exitCode}, ${item.durationMillis} ms)${where}`;
}

/** The input files' bytes (record URLs read with the run's token); a file the input cannot give fails the run as bad input. */
async function inputFiles(sources: Parameters<typeof resolveFileSources>[0]): Promise<Record<string, Uint8Array>> {
  if (Object.keys(sources).length === 0) return {};
  const limits = { maxFileBytes: RUN_OPTIONS.maxFileBytes.default, maxFilesInBytes: RUN_OPTIONS.maxFilesInBytes.default };
  try {
    return await resolveFileSources(sources, recordReader(), limits);
  } catch (error) {
    throw new ActorInputError(error instanceof FileInputError ? `Invalid input: ${error.message}` : `Invalid input: an input file could not be read: ${(error as Error).message}`);
  }
}

/** A restarted run (migration, resurrection) already pushed its item: the script never runs twice. */
async function alreadyRan(): Promise<boolean> {
  const info = await (await Actor.openDataset()).getInfo();
  return (info?.itemCount ?? 0) > 0;
}

/** Aborts the script when the platform asks the run to stop, so that its item is still pushed. */
function stopOnShutdown(): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const listeners = [
    ['aborting', () => controller.abort('the Actor run was aborted')],
    ['migrating', () => controller.abort('the Actor run moved to another server; run the script again')],
  ] as const;
  for (const [event, listener] of listeners) Actor.on(event, listener);
  return {
    signal: controller.signal,
    release: () => listeners.forEach(([event, listener]) => Actor.off(event, listener)),
  };
}

async function runOnce(): Promise<string> {
  const { settings, files: sources, warnings } = parseActorInput(await Actor.getInput(), runLimitsFromEnv(process.env));
  for (const warning of warnings) log.warning(warning);
  if (await alreadyRan()) {
    return 'This run already has its result item (it was restarted); the script was not run again';
  }
  const files = await inputFiles(sources);
  const { code, timeoutSecs, memoryMbytes } = settings;
  log.info(`Running the script (${code.length} characters; timeout ${timeoutSecs} s, memory ${memoryMbytes} MB)`);

  const stop = stopOnShutdown();
  const capture = new OutputCapture();
  try {
    let result: RunResult;
    try {
      result = await runCode({
        ...settings,
        files,
        maxOutputBytes: ITEM_STREAM_BYTES,
        onOutput: capture.listener,
        signal: stop.signal,
        token: Actor.config.get('token') || undefined,
        apiBaseUrl: Actor.config.get('apiBaseUrl') || undefined,
      });
    } finally {
      capture.end();
    }
    if (result.status === 'ABORTED' && stop.signal.aborted) result.statusMessage = `Aborted: ${stop.signal.reason}`;
    const fitted = fitItem(toItem(result, { stdout: null, stderr: null }, await saveFiles(result.files)));
    const item: ActorItem = {
      ...fitted,
      stdoutRecord: fitted.stdoutTruncated ? await saveStream('stdout', capture) : null,
      stderrRecord: fitted.stderrTruncated ? await saveStream('stderr', capture) : null,
    };
    await Actor.pushData(item);
    return statusLine(item);
  } finally {
    stop.release();
    capture.dispose();
  }
}

export async function main(): Promise<void> {
  if (isStandby()) {
    // Loaded only here: a batch run never pays for the server.
    const { standbyMain } = await import('./standby.js');
    return standbyMain();
  }
  // Shutdown is ours to handle: the script is stopped and its item pushed before the run ends.
  await Actor.init({ gracefulShutdown: false });
  let message: string;
  try {
    message = await runOnce();
  } catch (error) {
    if (error instanceof ActorInputError) {
      await Actor.fail(error.message);
      return;
    }
    log.exception(error as Error, 'The Actor could not run the script or save its result');
    await Actor.fail(`Infrastructure failure: ${(error as Error).message}`);
    return;
  }
  await Actor.exit(message);
}
