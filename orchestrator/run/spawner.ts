/**
 * The process-wide spawner policy: whether this process starts its children through a spawner
 * (spawner-process.ts), which one, and when to stop trying. One is started in the background from a
 * process's second child on (a process that runs one script never pays for Perl's start) and used
 * once it is ready; until then, and where there is none, launch.ts starts children directly.
 * Invariant: the spawner is given up, said once in a warning, when it cannot start here or has died
 * MAX_DEATHS times; one retired because its socket was removed (a temp cleaner) is not a death, and
 * costs at most the one run that was starting through it.
 */
import { resolveTool } from './deno.js';
import { Spawner, SYSCALLS, type SpawnerEnd } from './spawner-process.js';

/** A spawner that dies this many times (SpawnerEnd 'died') is not started again: children then start directly. */
const MAX_DEATHS = 3;

let current: Spawner | undefined;
let spawnsSeen = 0;
let deaths = 0;
/** Why there is no spawner from now on, once there is none. */
let disabled: string | undefined = process.env.CODE_RUNTIME_SPAWNER === 'off' ? 'off' : undefined;

/** The spawner to start a child with, or undefined: then the caller starts it directly. */
export function readySpawner(): Spawner | undefined {
  if (current?.ready) return current;
  spawnsSeen += 1;
  if (current || disabled || spawnsSeen < 2) return undefined;
  const perlPath = resolveTool('perl');
  if (process.platform !== 'linux' || !SYSCALLS[process.arch] || !perlPath) {
    disabled = 'unsupported';
    return undefined;
  }
  try {
    current = new Spawner(perlPath, ended);
  } catch (error) {
    giveUp('could not start', error instanceof Error ? error.message : String(error));
  }
  return undefined;
}

/** The current spawner has ended: the next child starts another, unless this end gives it up. */
function ended(end: SpawnerEnd): void {
  current = undefined;
  if (end.kind === 'retired') return;
  if (end.kind === 'never-started') {
    giveUp('could not start', end.why);
    return;
  }
  deaths += 1;
  if (deaths >= MAX_DEATHS) giveUp(`died ${deaths} times`, end.why);
}

/** No spawner from now on in this process, said once: children start the slower way. */
function giveUp(what: string, why: string): void {
  disabled = why;
  process.emitWarning(`code-runtime: the sandbox spawner ${what} (${why}); sandboxes now start through setpriv and sh, which costs each ≈ 2.4 ms more CPU`);
}

/** The current spawner, if one was started: its pid, socket and whether it takes children yet (benchmarks count its CPU; tests look). */
export function currentSpawner(): { pid: number | undefined; socketPath: string; ready: boolean } | undefined {
  return current && { pid: current.pid, socketPath: current.socketPath, ready: current.ready };
}
