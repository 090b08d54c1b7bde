/**
 * The global `files` of a code-runtime script, and its default-export convention. `files` is not a
 * filesystem: it holds only the run's input files (given by the caller: `runCode({ files })`, the
 * CLI's `--file`, MCP's `run_code` `files`) and the files the script hands back. Bytes go to and
 * from the orchestrator over the run's relay; the sandbox has no file access at all.
 * `types/apify.d.ts` references this file, so one `/// <reference types="code-runtime/types/apify" />`
 * declares both globals. The guide is docs/files.md.
 *
 * The script's answer as data: `export default <value>` (awaited when it is a promise) becomes the
 * result's `value`, as JSON, at most 1 MiB of it. A value that is not JSON (a function, a BigInt,
 * a Map, a typed array, NaN, a circular object…) makes the run FAILED, naming where it is.
 * @example export default { rows: 3, total: 42 } satisfies CodeRuntimeJson;
 */

/** A JSON value: what `export default` may give. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** An input file, as `files.list()` describes it. */
export interface FileInfo {
  name: string;
  /** Bytes. */
  size: number;
  /** E.g. `text/csv; charset=utf-8`, inferred from the name when the caller gave none. */
  contentType: string;
}

/** What `files.write` takes: text (written as UTF-8), bytes (any buffer or view of one), or a Blob. */
export type FileData = string | Uint8Array | ArrayBufferLike | ArrayBufferView | Blob;

export interface WriteOptions {
  /** Default: a Blob's own type, else inferred from the name (`chart.png` → `image/png`), else text or bytes. */
  contentType?: string;
}

/** What a failed `files` call throws: a missing input, a name that is not plain, a limit. */
export interface FilesError extends Error {
  readonly name: 'FilesError';
  /**
   * `file-not-found`, `invalid-name`, `invalid-content-type`, `file-too-large` (one file over `maxFileBytes`),
   * `files-out-limit` (more than `maxFilesOut` files), `files-out-too-large` (over `maxFilesOutBytes` in all),
   * `run-ended`, `relay`…
   */
  readonly type: string;
  /** The file it was about. */
  readonly file: string;
}

/** The `files` global. */
export interface FilesBinding {
  /**
   * The run's input files, in the order the caller gave them.
   * @example for (const { name, size } of files.list()) console.log(name, size);
   */
  list(): FileInfo[];
  /**
   * An input file's bytes. Throws a FilesError (`file-not-found`) naming the inputs there are.
   * @example const png = await files.read('logo.png');
   */
  read(name: string): Promise<Uint8Array>;
  /**
   * An input file as text (UTF-8; invalid bytes become U+FFFD).
   * @example const rows = (await files.readText('data.csv')).trim().split('\n');
   */
  readText(name: string): Promise<string>;
  /**
   * Hands a file back to the caller (a name written again is replaced). Resolves once the
   * orchestrator holds it: from then on it is in the result, even if the script later times out,
   * runs out of memory or is aborted. Limits (each a FilesError whose message says "limit" and the
   * size in MiB): 100 files, 10 MiB a file, 64 MiB in all, unless the caller set others.
   * @example await files.write('report.csv', 'a,b\n1,2\n');
   * @example await files.write('chart.svg', svg, { contentType: 'image/svg+xml' });
   */
  write(name: string, data: FileData, options?: WriteOptions): Promise<void>;
  /** The class of the errors `files` throws, e.g. `if (error instanceof files.FilesError && error.type === 'file-not-found')`. */
  FilesError: abstract new (...args: never[]) => FilesError;
}

declare global {
  /**
   * The run's input and output files (not a filesystem).
   * @example const csv = await files.readText('in.csv'); await files.write('out.json', JSON.stringify(summary));
   */
  const files: FilesBinding;
  /** A JSON value, for `export default value satisfies CodeRuntimeJson`. */
  type CodeRuntimeJson = JsonValue;
}
