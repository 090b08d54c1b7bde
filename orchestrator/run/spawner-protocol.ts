/**
 * The spawner's wire protocol, Node's side (spawner.pl's header states it): the lines Node sends it,
 * the messages it sends back, the header each child connection opens with, and what a failure
 * report and a wait status mean. Pure: no process, no socket, no timer.
 * Invariant: a spawn's ID is random (`newSpawnId`), and a connection's header must carry it: it is
 * the one proof a connection is that spawn's, since Node cannot read a Unix socket's peer
 * credentials (SO_PEERCRED) and the ID travels only over the spawner's pipes and, from the child,
 * to a listener the child checked is the orchestrator.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:os';
import type { SandboxCommand } from './sandbox.js';

/** Bytes of randomness in a spawn's ID (hex in the protocol). */
const ID_BYTES = 16;
/** Longest header a connection may open with (`2 <id>\n`). */
export const MAX_HEADER_BYTES = 2 + 2 * ID_BYTES + 1;

/** A new spawn's ID: nobody can name its connections who was not told it. */
export function newSpawnId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}
/** Distinct commands the spawner keeps (a few per memory size and API host in use); past it, it forgets them all. */
const MAX_COMMANDS = 32;

const hex = (text: string) => Buffer.from(text).toString('hex');

/** Node's lines to the spawner (`command` and `forget` come from `CommandTable`). */
export const say = {
  spawn: (id: string, command: number, dataBytes: number, cwd: string) => `spawn\t${id}\t${command}\t${dataBytes}\t${hex(cwd)}\n`,
  kill: (id: string) => `kill\t${id}\n`,
  ping: (n: number) => `ping\t${n}\n`,
};

/** One line from the spawner. */
export type SpawnerMessage =
  | { verb: 'ready' }
  | { verb: 'pong' }
  | { verb: 'pid'; id: string; pid: number }
  | { verb: 'exit'; id: string; status: number }
  | { verb: 'fail'; id: string; step: string; errno: number };

/** A line from the spawner (without its newline), or undefined for one this side does not know. */
export function parseMessage(line: string): SpawnerMessage | undefined {
  const [verb, id = '', value = '', errno] = line.split('\t');
  if (verb === 'ready') return { verb };
  if (verb === 'pong') return { verb };
  if (verb === 'pid') return { verb, id, pid: Number(value) };
  if (verb === 'exit') return { verb, id, status: Number(value) };
  if (verb === 'fail') return { verb, id, step: value, errno: Number(errno) };
  return undefined;
}

/** The header a child's connection opens with: which of its streams, of which spawn; undefined when it is anything else. */
export function parseHeader(line: string): { stream: 0 | 1 | 2; id: string } | undefined {
  const match = /^([012]) ([0-9a-f]+)$/.exec(line);
  return match ? { stream: Number(match[1]) as 0 | 1 | 2, id: match[2]! } : undefined;
}

/**
 * The commands the spawner knows, by their argv and env, each under the number it knows it by: a
 * command (≈ 2 KB) is sent once; at most MAX_COMMANDS are kept at a time.
 */
export class CommandTable {
  readonly #numbers = new Map<string, number>();
  #next = 1;

  /** The number the spawner knows `command` by; `send` gets the lines that teach it first when it is new. */
  number(command: SandboxCommand, send: (line: string) => void): number {
    const env = Object.entries(command.env).map(([name, value]) => `${name}=${value}`).join('\0');
    const argv = [command.file, ...command.args].join('\0');
    const key = `${argv}\n${env}`;
    let number = this.#numbers.get(key);
    if (number === undefined) {
      if (this.#numbers.size >= MAX_COMMANDS) {
        for (const old of this.#numbers.values()) send(`forget\t${old}\n`);
        this.#numbers.clear();
      }
      number = this.#next++;
      this.#numbers.set(key, number);
      send(`command\t${number}\t${hex(argv)}\t${hex(env)}\n`);
    }
    return number;
  }
}

/** Each step a child can fail at before Deno's exec, in words; `code` when Node's own hint for the errno fits (child.ts). */
const STEPS: Record<string, { words: string; code?: boolean }> = {
  fork: { words: 'forking it', code: true },
  pipe: { words: 'creating its report pipe', code: true },
  deathsig: { words: 'setting its death signal' },
  limits: { words: "giving it the orchestrator's resource limits" },
  datalimit: { words: 'setting its data-segment limit' },
  socket: { words: 'connecting its stdio', code: true },
  connect: { words: "connecting its stdio to the spawner's socket" },
  peer: { words: "checking that the orchestrator itself listens on the spawner's socket" },
  header: { words: 'naming its stdio to the orchestrator (were its connections dropped for lack of file descriptors?)', code: true },
  dup2: { words: 'connecting its stdio' },
  fds: { words: 'listing its file descriptors', code: true },
  chdir: { words: 'entering its working directory' },
  exec: { words: 'executing Deno', code: true },
  command: { words: 'finding its command' },
};

/** An errno's name: the first of its aliases (EAGAIN, not EWOULDBLOCK), as Node's own errors name it. */
export function errnoName(errno: number): string | undefined {
  for (const [name, number] of Object.entries(constants.errno)) if (number === errno) return name;
  return undefined;
}

/** A start failure, shaped like Node's own (`code`) so child.ts words it the same way. */
export function startError(message: string, code?: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), code ? { code } : {});
}

/** The start failure a `fail ID STEP ERRNO` line reports. */
export function stepFailure(step: string, errno: number): NodeJS.ErrnoException {
  const code = errnoName(errno);
  const known = STEPS[step];
  return startError(`the spawner failed ${known?.words ?? step} (${code ?? `errno ${errno}`})`, known?.code ? code : undefined);
}

/** Whether a failed step says the spawner's socket cannot be reached, or is not its own (so no later child of it could start either). */
export function socketUnreachable(step: string, errno: number): boolean {
  return step === 'peer' || (step === 'connect' && ['ENOENT', 'ECONNREFUSED', 'ENOTDIR', 'EACCES'].includes(errnoName(errno) ?? ''));
}

const SIGNAL_NAMES = new Map(Object.entries(constants.signals).map(([name, number]) => [number, name]));

/** A wait status as Node reports a child's end: low 7 bits the terminating signal, else the exit code in the next byte. */
export function waitStatus(status: number): { exitCode: number | null; signal: string | null } {
  const signal = status & 0x7f;
  return signal === 0 ? { exitCode: (status >> 8) & 0xff, signal: null } : { exitCode: null, signal: SIGNAL_NAMES.get(signal) ?? `SIG${signal}` };
}
