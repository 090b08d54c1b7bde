/**
 * What the benchmark measures besides `runCode` itself: a bare `deno run` of a file with the
 * sandbox's own flags (the floor), the peak RSS of a sandbox child, the CPU time of children (the
 * spawner's too), and the orchestrator's own memory after a forced GC.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SandboxCommand } from '../orchestrator/run/sandbox.js';
import { currentSpawner } from '../orchestrator/run/spawner.js';
import type { Runtime } from '../types/runtime.js';

/**
 * The floor: a bare `deno run` of `file` with the sandbox's Deno flags and env (a sandbox command is
 * Deno's own; launch.ts adds the spawner or the wrappers), spawned directly, as issue 12 defines it,
 * so whatever starts the sandbox's Deno counts as the sandbox's cost. Deno's emit cache is on, as a
 * plain `deno run` has it (a sandbox may not keep a script's transpiled code; the floor may, so it
 * stays as strict as before the sandbox turned it off).
 */
export function bareCommand(sandbox: SandboxCommand, bootstrapPath: string, file: string): SandboxCommand {
  const { DENO_EMIT_CACHE_MODE: _off, ...env } = sandbox.env;
  return { file: sandbox.file, env, args: sandbox.args.map((arg) => (arg === bootstrapPath ? file : arg)), dataLimitBytes: sandbox.dataLimitBytes };
}

/** Runs a command to its end, output discarded; resolves with the wall time in ms. */
export function timedSpawn(command: SandboxCommand, cwd: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command.file, command.args, { cwd, env: command.env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.resume();
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`${command.file} exited ${code}`))));
  });
}

/** CPU time (user + system, ms) of this process's children: the reaped ones, and the live spawner with every child it reaped. */
export function childrenCpuMs(): number {
  // /proc/PID/stat fields 14–17 (utime, stime, cutime, cstime), in clock ticks of 10 ms.
  const ticks = (pid: number | 'self', fields: number[]) => {
    try {
      const all = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return fields.reduce((sum, field) => sum + Number(all[field]), 0);
    } catch {
      // Reaped since its pid was read: its time is in this process's own counters now.
      return 0;
    }
  };
  const spawner = currentSpawner()?.pid;
  // A spawner's children are its own children: their time reaches ours only when it is reaped.
  return (ticks('self', [13, 14]) + (spawner === undefined ? 0 : ticks(spawner, [11, 12, 13, 14]))) * 10;
}

function vmHwmBytes(pid: number): number | undefined {
  try {
    const kb = readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmHWM:\s+(\d+) kB/m)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/**
 * Peak RSS of the child running `code`: the script prints its pid last and lingers briefly, while
 * its VmHWM (high-water mark, so nothing earlier is missed) is read until it exits.
 */
export async function childPeakRss(runtime: Runtime, code: string): Promise<number> {
  let peak = 0;
  let pid: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  const probe = `${code}\nconsole.log('\\npid=' + Deno.pid);\nawait new Promise((r) => setTimeout(r, 150));`;
  const result = await runtime.run({
    code: probe,
    onOutput: (_stream, chunk) => {
      const found = Buffer.from(chunk).toString().match(/pid=(\d+)/)?.[1];
      if (found && pid === undefined) {
        pid = Number(found);
        timer = setInterval(() => {
          peak = Math.max(peak, vmHwmBytes(pid!) ?? 0);
        }, 10);
      }
    },
  });
  clearInterval(timer);
  if (result.status !== 'SUCCEEDED' || !peak) throw new Error(`peak RSS probe failed: ${result.statusMessage}`);
  return peak;
}

let gc: (() => void) | undefined;

/** This process's RSS and JS heap in use, after a full garbage collection. */
export function memoryAfterGc(): { rss: number; heapUsed: number } {
  if (!gc) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}
