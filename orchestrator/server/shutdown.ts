/**
 * Stopping a long-lived server: the first stop request (SIGINT, SIGTERM, or the platform's
 * `aborting`/`migrating` for a Standby Actor) starts the drain; a second signal exits at once, for
 * an operator who will not wait. Platform events never exit by themselves (a SIGTERM that follows
 * one is the platform's own next step, and the drain still writes what it must). Exiting kills
 * every sandbox process (the run core kills live children on exit), so nothing outlives the server.
 */
import { constants } from 'node:os';

export interface StopRequests {
  /** Resolves with why, on the first request. */
  readonly first: Promise<string>;
  /** A request to stop; a signal (`exitCode` given) after an earlier signal exits the process with it. */
  request(why: string, exitCode?: number): void;
}

export function stopRequests(log: (line: string) => void = (line) => void process.stderr.write(`${line}\n`)): StopRequests {
  let resolve!: (why: string) => void;
  const first = new Promise<string>((settle) => {
    resolve = settle;
  });
  let signalled = false;
  return {
    first,
    request(why, exitCode) {
      resolve(why);
      if (exitCode === undefined) return;
      if (!signalled) {
        signalled = true;
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
