/**
 * A started sandbox process as the rest of run/ sees it, however it was started (launch.ts: by the
 * spawner, or straight from Node): the handle the supervisor drives (`Launched`), its streams, and
 * how it ended (`ChildExit`). Types only, importing nothing, so every module of run/ can use them
 * and the folder reads one way: child.ts → launch.ts → the two ways of starting → this.
 */

/** What the supervisor uses of a child's stdin. */
export interface ChildInput {
  write(chunk: string | Buffer): unknown;
  end(chunk?: string | Buffer): unknown;
}

/** What the supervisor uses of a child's stdout or stderr. */
export interface ChildOutput {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  /** Reads on with nobody listening: the data is dropped, and the end can be seen. */
  resume(): unknown;
}

/** A started sandbox process, as the supervisor drives it. */
export interface Launched {
  /** Known once the process exists (for a spawner's child, a moment after `launch` returns). */
  readonly pid: number | undefined;
  readonly stdin: ChildInput | null;
  readonly stdout: ChildOutput | null;
  readonly stderr: ChildOutput | null;
  /** True once the process has exited (its output may still be arriving). */
  readonly exited: boolean;
  /** SIGKILL, unless it has already exited. */
  kill(): void;
  /** Whether it keeps Node's event loop alive (an idle warm child should not). */
  hold(held: boolean): void;
}

/** How a process ended: its exit code or signal, or the error that kept it from starting. */
export interface ChildExit {
  exitCode: number | null;
  signal: string | null;
  /** Set when the process never started (then exitCode and signal are null). */
  startError?: NodeJS.ErrnoException;
  /** Set when the process was lost to an infrastructure failure after it started (its spawner died): the run has no result. */
  lost?: Error;
}

/** Hears once how a process ended: after its exit and all of its output, or that it never started. */
export type OnChildEnd = (exit: ChildExit) => void;
