/**
 * One run's files as the relay holds them: the caller's input files (read-only, shared with the
 * caller, never copied) and the files the script writes. A write reserves its place (the count,
 * against `maxFilesOut`) and its bytes (against `maxFilesOutBytes`, and the process's
 * `filesOutBytes`) in one synchronous step before its body is read, so concurrent writes cannot
 * slip past a limit and a refused body is never held; a write that replaces a name gives the old
 * bytes back once it lands. `close` ends it: later writes land nowhere, and the files written so far
 * leave the relay's accounting for the run's result.
 */
import type { OutputFile } from '../../types/result.js';
import { ByteBudget } from './byte-budget.js';
import { RELAY_LIMITS } from './limits.js';
import { showName } from './file-names.js';

export interface InputFile {
  name: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface FileLimits {
  /** Files the script may write (distinct names). */
  maxFilesOut: number;
  /** Bytes of one file. */
  maxFileBytes: number;
  /** Bytes of all the files it writes, as they stand (a replaced file counts once). */
  maxFilesOutBytes: number;
}

/** The files of one run, as a session is opened with them. */
export interface RunFiles extends FileLimits {
  inputs: readonly InputFile[];
}

export type WriteRefusal = { ok: false; status: number; type: string; message: string };
export interface WritePlace {
  ok: true;
  /** Keeps the body as the file; false when the store closed meanwhile (the body is then dropped). */
  commit(body: Buffer, contentType: string): boolean;
  /** Gives the place back: the write did not land. Idempotent. */
  abort(): void;
}

const MiB = 1024 * 1024;

/** Bytes as messages say them: in MiB, one decimal where it matters. */
export function mib(bytes: number): string {
  const value = bytes / MiB;
  return `${Number.isInteger(value) ? value : value < 0.1 ? value.toFixed(3) : value.toFixed(1)} MiB`;
}

/** Output files held by all runs' sessions together. */
const allRuns = new ByteBudget(RELAY_LIMITS.filesOutBytes, 'all runs\'');

export class FileStore {
  readonly limits: FileLimits;
  readonly #inputs = new Map<string, InputFile>();
  readonly #outputs = new Map<string, OutputFile>();
  /** Names being written now, with how many writes of each. */
  readonly #writing = new Map<string, number>();
  readonly #bytes: ByteBudget;
  #closed = false;

  constructor(files: RunFiles) {
    this.limits = { maxFilesOut: files.maxFilesOut, maxFileBytes: files.maxFileBytes, maxFilesOutBytes: files.maxFilesOutBytes };
    for (const input of files.inputs) this.#inputs.set(input.name, input);
    this.#bytes = new ByteBudget(files.maxFilesOutBytes, 'this run\'s', allRuns);
  }

  input(name: string): InputFile | undefined {
    return this.#inputs.get(name);
  }

  /** What a read of a missing input is told: the inputs there are. */
  missing(name: string): string {
    const names = [...this.#inputs.keys()];
    const there = names.length === 0 ? 'this run has no input files'
      : `the inputs are ${names.slice(0, 20).map(showName).join(', ')}${names.length > 20 ? `, and ${names.length - 20} more` : ''}`;
    return `No input file ${showName(name)}: ${there} (files.list() lists them)`;
  }

  /** Distinct names written or being written. */
  #names(): number {
    let count = this.#outputs.size;
    for (const name of this.#writing.keys()) if (!this.#outputs.has(name)) count += 1;
    return count;
  }

  /** Takes a write's place and room for `bytes`, or refuses naming the limit. */
  beginWrite(name: string, bytes: number): WritePlace | WriteRefusal {
    const { maxFilesOut, maxFileBytes, maxFilesOutBytes } = this.limits;
    if (this.#closed) return { ok: false, status: 403, type: 'run-ended', message: `Cannot write ${showName(name)}: the run has ended` };
    if (bytes > maxFileBytes) {
      return { ok: false, status: 413, type: 'file-too-large', message: `Cannot write ${showName(name)}: it is ${mib(bytes)}, over the limit of ${mib(maxFileBytes)} per file (maxFileBytes)` };
    }
    const isNew = !this.#outputs.has(name) && !this.#writing.has(name);
    if (isNew && this.#names() >= maxFilesOut) {
      return { ok: false, status: 403, type: 'files-out-limit', message: `Cannot write ${showName(name)}: the run already wrote ${maxFilesOut} files, the limit (maxFilesOut); write fewer, larger files (e.g. one archive or JSON)` };
    }
    const full = this.#bytes.take(bytes);
    if (full === this.#bytes) {
      const held = this.#bytes.used;
      return { ok: false, status: 413, type: 'files-out-too-large', message: `Cannot write ${showName(name)} (${mib(bytes)}): the run's files already take ${mib(held)}, and the limit is ${mib(maxFilesOutBytes)} in all (maxFilesOutBytes)` };
    }
    if (full) {
      return { ok: false, status: 429, type: 'relay-busy', message: `Cannot write ${showName(name)} now: the orchestrator holds ${mib(full.used)} of ${full.whose} files, the limit of ${mib(full.limit)}; try again later` };
    }
    this.#writing.set(name, (this.#writing.get(name) ?? 0) + 1);
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      const left = (this.#writing.get(name) ?? 1) - 1;
      if (left > 0) this.#writing.set(name, left);
      else this.#writing.delete(name);
      return true;
    };
    return {
      ok: true,
      commit: (body, contentType) => {
        if (!settle()) return false;
        if (this.#closed) {
          this.#bytes.give(bytes);
          return false;
        }
        const replaced = this.#outputs.get(name);
        if (replaced) this.#bytes.give(replaced.size);
        // Exactly the bytes reserved: the body was read into a buffer of the declared length.
        this.#outputs.set(name, { name, contentType, size: body.length, bytes: body });
        return true;
      },
      abort: () => {
        if (settle()) this.#bytes.give(bytes);
      },
    };
  }

  /** Ends the store; the files written so far, in the order first written. Idempotent. */
  close(): OutputFile[] {
    if (!this.#closed) {
      this.#closed = true;
      // They leave the relay for the result; writes still in flight give theirs back as they end.
      let kept = 0;
      for (const file of this.#outputs.values()) kept += file.size;
      this.#bytes.give(kept);
    }
    return [...this.#outputs.values()].map((file) => ({ ...file }));
  }
}
