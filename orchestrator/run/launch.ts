/**
 * How a sandbox process starts: forked by the spawner (spawner.ts) once one is ready, else spawned
 * by Node through `setpriv` and `sh` (sandbox.ts `wrapCommand`). Either way the child gets the same
 * limits, and the caller gets the same handle. Never throws: a child that could not start ends at
 * once with its `startError`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolveShell, resolveTool } from './deno.js';
import { holdHandles } from './handles.js';
import { readySpawner } from './spawner.js';
import { wrapCommand, type SandboxCommand, type WrapperTools } from './sandbox.js';
import type { Launched, OnChildEnd } from './process-handle.js';

let tools: WrapperTools | undefined;

/**
 * The wrappers children start through when no spawner starts them, found once; a missing one is
 * said once, as the sandbox is weaker without it. The shell caps the data segment on Linux, where
 * RLIMIT_DATA covers every private mapping.
 */
export function sandboxTools(): WrapperTools {
  if (!tools) {
    const shellPath = resolveShell();
    tools = { shellPath, capData: shellPath !== null && process.platform === 'linux', setprivPath: resolveTool('setpriv') };
    if (!tools.shellPath) {
      process.emitWarning('code-runtime: no /bin/sh that knows `ulimit -d` and `trap`, so sandboxes run without a data-segment cap, and a script could pass its own SIGTRAP off as running out of memory');
    }
    if (!tools.setprivPath && process.platform === 'linux') {
      process.emitWarning('code-runtime: no util-linux `setpriv`, so a sandbox outlives this process if it is killed with SIGKILL');
    }
  }
  return tools;
}

/** Starts `command`; `onEnd` hears once how it ended: after its exit and all of its output, or that it never started. */
export function launch(command: SandboxCommand, cwd: string, onEnd: OnChildEnd): Launched | undefined {
  const spawner = readySpawner();
  if (spawner) return spawner.spawn(command, cwd, onEnd);
  return launchDirect(command, cwd, onEnd);
}

function launchDirect(command: SandboxCommand, cwd: string, onEnd: OnChildEnd): Launched | undefined {
  let child: ChildProcess;
  try {
    const wrapped = wrapCommand(command, sandboxTools());
    child = spawn(wrapped.file, wrapped.args, { cwd, env: wrapped.env, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (error) {
    // Node throws for some start failures and emits 'error' for others: both end here as one.
    onEnd({ exitCode: null, signal: null, startError: error as NodeJS.ErrnoException });
    return undefined;
  }
  child.on('error', (error: NodeJS.ErrnoException) => {
    // A failed spawn has no pid; any later 'error' (a failed kill) changes nothing about the exit.
    if (child.pid === undefined) onEnd({ exitCode: null, signal: null, startError: error });
  });
  // Output is complete once the streams are closed too; 'close' comes after both.
  child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) => onEnd({ exitCode, signal }));
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    // EPIPE on stdin (the child died before reading its envelope) and the like: the exit says it.
    stream?.on('error', () => {});
  }
  const exited = () => child.pid === undefined || child.exitCode !== null || child.signalCode !== null;
  return {
    get pid() {
      return child.pid;
    },
    stdin: child.stdin,
    stdout: child.stdout,
    stderr: child.stderr,
    get exited() {
      return exited();
    },
    kill() {
      // Never without a pid (exited then): Node would signal pid 0, the whole process group.
      if (!exited()) child.kill('SIGKILL');
    },
    hold(held) {
      holdHandles([child, child.stdin, child.stdout, child.stderr], held);
    },
  };
}
