/**
 * Stopping a long-lived server: the first stop request (SIGINT, SIGTERM, or the platform's
 * `aborting`/`migrating` for a Standby Actor) starts the drain; a second one exits at once, for an
 * operator or platform that will not wait. Exiting kills every sandbox process (run/child.ts kills
 * live children on exit), so nothing outlives the server either way.
 */
import { constants } from 'node:os';

export interface StopRequests {
  /** Resolves with why, on the first request. */
  readonly first: Promise<string>;
  /** A request to stop; the second one exits the process with `exitCode`. */
  request(why: string, exitCode: number): void;
}

export function stopRequests(log: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)): StopRequests {
  let resolve!: (why: string) => void;
  const first = new Promise<string>((settle) => {
    resolve = settle;
  });
  let requested = false;
  return {
    first,
    request(why, exitCode) {
      if (!requested) {
        requested = true;
        resolve(why);
        return;
      }
      log(`code-runtime: second signal (${why}) while shutting down: exiting now; running scripts are killed`);
      process.exit(exitCode);
    },
  };
}

/**
 * Sends SIGINT and SIGTERM to `stops`. The listeners stay: a library that re-raises a signal when
 * only its own listener is left (signal-exit, under execa) would otherwise kill the drain.
 */
export function onSignals(stops: StopRequests): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => stops.request(signal, 128 + constants.signals[signal]));
}
