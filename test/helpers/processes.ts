/**
 * The process table (Linux /proc) as a test may read it: only processes that test started. Other
 * copies of the suite and other orchestrators share the machine, so a process is never picked by its
 * command line alone. It must descend from this process (by parent pids: a spawner's children are
 * its grandchildren), or belong to a process group the test created (members stay in their group when
 * their parent dies and they are reparented), or be one process known by its pid and start time (so a
 * reused pid is never taken for it). Zombies count as gone: they have exited.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface OwnProcess {
  pid: number;
  /** Its arguments joined by spaces. */
  cmdline: string;
}

/** One process, for good: a pid is reused, a pid with its start time is not. */
export interface ProcessRef {
  pid: number;
  start: number;
}

interface Stat extends ProcessRef {
  ppid: number;
  pgid: number;
  zombie: boolean;
}

function stat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields from the third on follow its last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, zombie: fields[0] === 'Z', ppid: Number(fields[1]), pgid: Number(fields[2]), start: Number(fields[19]) };
}

function cmdline(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trimEnd();
  } catch {
    return undefined;
  }
}

/** Every process on the machine, read once (a process that ends meanwhile is left out). */
function table(): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const entry = stat(Number(name));
    if (entry) all.push(entry);
  }
  return all;
}

function withCmdlines(entries: Stat[]): OwnProcess[] {
  const found: OwnProcess[] = [];
  for (const entry of entries) {
    if (entry.zombie) continue;
    const line = cmdline(entry.pid);
    // Empty: a kernel thread, or a process exiting right now.
    if (line) found.push({ pid: entry.pid, cmdline: line });
  }
  return found;
}

/** Live processes descending from `root` (default: this process), not `root` itself. */
export function descendants(root = process.pid): OwnProcess[] {
  const children = new Map<number, Stat[]>();
  for (const entry of table()) {
    const siblings = children.get(entry.ppid);
    if (siblings) siblings.push(entry);
    else children.set(entry.ppid, [entry]);
  }
  const found: Stat[] = [];
  const queue = [root];
  for (let pid = queue.shift(); pid !== undefined; pid = queue.shift()) {
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return withCmdlines(found);
}

/**
 * Live processes of process group `pgid`: for a process started `detached` (a group of its own,
 * numbered by its pid), everything it started and that did not leave the group, even once it died.
 */
export function processGroup(pgid: number): OwnProcess[] {
  return withCmdlines(table().filter((entry) => entry.pgid === pgid));
}

/** `pid` as the process it is now, or undefined when there is none. */
export function processRef(pid: number): ProcessRef | undefined {
  const entry = stat(pid);
  return entry && !entry.zombie ? { pid, start: entry.start } : undefined;
}

/** Whether that very process still runs (not exited, not a zombie, its pid not reused since). */
export function isAlive(ref: ProcessRef): boolean {
  const entry = stat(ref.pid);
  return entry !== undefined && !entry.zombie && entry.start === ref.start;
}

/**
 * Pids of `pid`'s children, zombies too (a child leaves the list only once its parent reaped it).
 * Read from its main thread's list, where a single-threaded parent (the spawner) has them all.
 */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Processes as `pid: command line`, one a line, for a failure message. */
export function describe(processes: OwnProcess[]): string {
  return processes.map(({ pid, cmdline: line }) => `${pid}: ${line}`).join('\n');
}
