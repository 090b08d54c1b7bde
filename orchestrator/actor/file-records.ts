/**
 * The Actor's files meet the platform here (the rules are in `files.ts`): input records are read
 * from the Apify API with the run's token, as streams; the script's files are saved as records
 * of the run's default key-value store, each retried like the whole streams are.
 */
import { Readable } from 'node:stream';
import type { OutputFile } from '../../types/result.js';
import { itemFiles, localRecordUrl, recordKeys, type ItemFile, type RecordReader } from './files.js';
import { loadSdk } from './sdk.js';

// Loaded only with the Actor's entry, which needs the SDK anyway (sdk.ts says how to install it).
const { Actor, log } = await loadSdk();

const SAVE_ATTEMPTS = 3;
/** How long reading one input record may take. */
const READ_TIMEOUT_MS = 120_000;

function originOf(url: unknown): string | undefined {
  try {
    return typeof url === 'string' ? new URL(url).origin : undefined;
  } catch {
    return undefined;
  }
}

/** Reads records of the user's key-value stores as this run (its token, its API), as streams. */
export function recordReader(): RecordReader {
  const apiBaseUrl = String(Actor.config.get('apiBaseUrl') ?? 'https://api.apify.com');
  const origins = [...new Set([apiBaseUrl, Actor.config.get('apiPublicBaseUrl')].map(originOf).filter((origin) => origin !== undefined))];
  const token = Actor.config.get('token');
  return {
    origins,
    async open(storeId, key, signature) {
      const url = new URL(`/v2/key-value-stores/${encodeURIComponent(storeId)}/records/${encodeURIComponent(key)}`, apiBaseUrl);
      if (signature) url.searchParams.set('signature', signature);
      // A redirect to storage drops the token (fetch does, leaving the API's origin).
      const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: AbortSignal.timeout(READ_TIMEOUT_MS) });
      if (response.status === 404) {
        await response.body?.cancel();
        return undefined;
      }
      if (!response.ok || !response.body) {
        const text = await response.text();
        let message = text.slice(0, 300);
        try {
          message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? message;
        } catch {
          // Not the API's error shape: its text is the message.
        }
        throw new Error(`the Apify API answered ${response.status}: ${message}`);
      }
      return { stream: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), contentType: response.headers.get('content-type') ?? undefined };
    },
  };
}

/** Saves every file the script wrote as a record of the default key-value store; what the item lists of them. */
export async function saveFiles(files: readonly OutputFile[]): Promise<ItemFile[]> {
  if (files.length === 0) return [];
  const store = await Actor.openKeyValueStore();
  const keys = recordKeys(files.map((file) => file.name));
  const urls: string[] = [];
  for (const [index, file] of files.entries()) {
    const key = keys[index]!;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await store.setValue(key, Buffer.from(file.bytes.buffer, file.bytes.byteOffset, file.bytes.byteLength), { contentType: file.contentType });
        break;
      } catch (error) {
        if (attempt >= SAVE_ATTEMPTS) throw error;
        log.warning(`Saving the file ${key} failed (attempt ${attempt} of ${SAVE_ATTEMPTS}), retrying: ${(error as Error).message}`);
      }
    }
    // Off the platform the record is a file of the local storage, and its URL says where.
    const storage = process.env.CRAWLEE_STORAGE_DIR || process.env.APIFY_LOCAL_STORAGE_DIR || 'storage';
    urls.push(Actor.isAtHome() ? store.getPublicUrl(key) : localRecordUrl(storage, Actor.config.get('defaultKeyValueStoreId') ?? 'default', key));
  }
  return itemFiles(files, keys, urls);
}
