/**
 * What the script prints, outside the item: each chunk goes live to the Actor's log, line by line
 * and marked by stream, and whole into a temporary file per stream, so a stream the item had to
 * truncate can be saved in full. Both are capped (log and disk are finite); neither ever throws
 * into the runner, because losing a log line must not lose the run.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OutputListener } from '../../types/options.js';

export type StreamName = 'stdout' | 'stderr';

/** Bytes per stream written to the Actor's log before it only notes that more followed. */
export const LOG_LIMIT_BYTES = 4 * 1024 * 1024;
/** Bytes per stream kept on disk for the key-value store: the run's disk is only twice its memory. */
export const CAPTURE_LIMIT_BYTES = 100 * 1024 * 1024;
/** A line longer than this is logged in pieces rather than held back whole. */
const MAX_LINE_BYTES = 64 * 1024;

/** Splits one stream into lines for the log, each prefixed with `[stdout]` or `[stderr]`. */
class LogLines {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false });
  private pending = '';
  private logged = 0;

  constructor(private readonly name: StreamName, private readonly write: (text: string) => void) {}

  push(chunk: Uint8Array): void {
    if (this.logged > LOG_LIMIT_BYTES) return;
    this.pending += this.decoder.decode(chunk, { stream: true });
    const lines = this.pending.split('\n');
    this.pending = lines.pop() ?? '';
    if (this.pending.length > MAX_LINE_BYTES) {
      lines.push(this.pending);
      this.pending = '';
    }
    for (const line of lines) this.emit(line);
  }

  end(): void {
    this.pending += this.decoder.decode();
    if (this.pending.length > 0) this.emit(this.pending);
    this.pending = '';
  }

  private emit(line: string): void {
    if (this.logged > LOG_LIMIT_BYTES) return;
    this.logged += Buffer.byteLength(line) + 1;
    if (this.logged > LOG_LIMIT_BYTES) {
      const mib = LOG_LIMIT_BYTES / 1024 / 1024;
      this.write(`[${this.name}] … the log shows only the first ${mib} MiB of ${this.name}; the dataset item has its head and tail\n`);
      return;
    }
    this.write(`[${this.name}] ${line}\n`);
  }
}

/** One stream written whole to a file, up to `CAPTURE_LIMIT_BYTES`. */
class StreamFile {
  readonly path: string;
  private fd: number | undefined;
  bytes = 0;
  /** Bytes that did not fit (over the cap, or the disk refused them). */
  dropped = 0;

  constructor(dir: string, name: StreamName) {
    this.path = path.join(dir, `${name}.txt`);
  }

  push(chunk: Uint8Array): void {
    const room = CAPTURE_LIMIT_BYTES - this.bytes;
    const keep = room > 0 && this.dropped === 0 ? chunk.subarray(0, room) : chunk.subarray(0, 0);
    try {
      if (keep.length > 0) {
        this.fd ??= openSync(this.path, 'w', 0o600);
        writeSync(this.fd, keep);
        this.bytes += keep.length;
      }
      this.dropped += chunk.length - keep.length;
    } catch {
      // A full disk ends the capture; what was written so far is still saved.
      this.dropped += chunk.length;
    }
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}

/** Both streams of one run: hand `listener` to `runCode`, then `end()`, save what is needed, `dispose()`. */
export class OutputCapture {
  private readonly dir = mkdtempSync(path.join(tmpdir(), 'code-runtime-actor-'));
  private readonly files = { stdout: new StreamFile(this.dir, 'stdout'), stderr: new StreamFile(this.dir, 'stderr') };
  private readonly lines: Record<StreamName, LogLines>;

  constructor(writeLog: (text: string) => void = (text) => process.stdout.write(text)) {
    this.lines = { stdout: new LogLines('stdout', writeLog), stderr: new LogLines('stderr', writeLog) };
  }

  readonly listener: OutputListener = (stream, chunk) => {
    this.files[stream].push(chunk);
    try {
      this.lines[stream].push(chunk);
    } catch {
      // The log is best effort; the item and the files still get everything.
    }
  };

  /** Flushes the last partial lines to the log and closes the files. */
  end(): void {
    for (const name of ['stdout', 'stderr'] as const) {
      this.lines[name].end();
      this.files[name].close();
    }
  }

  /** The captured file of a stream: its path, the bytes in it, and whether it has the whole stream. */
  file(name: StreamName): { path: string; bytes: number; complete: boolean } {
    const file = this.files[name];
    return { path: file.path, bytes: file.bytes, complete: file.dropped === 0 };
  }

  dispose(): void {
    this.end();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
