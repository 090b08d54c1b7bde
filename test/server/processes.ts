/**
 * The server's front doors as real processes: `code-runtime serve` (its address read from the line
 * it logs on stderr) and the command line `code-runtime mcp` for the SDK's stdio client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from '../helpers/helpers.js';

export const CLI = path.join(ROOT, 'dist', 'orchestrator', 'bin', 'code-runtime.js');

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** `wrapper` runs it under another command that execs it (e.g. `prlimit --nofile=256 --`): the pid stays serve's. */
export function startServe(args: string[] = [], env: NodeJS.ProcessEnv = process.env, wrapper: string[] = []): Promise<ServeProcess> {
  const command = [...wrapper, process.execPath, CLI, 'serve', '--port', '0', ...args];
  const child = spawn(command[0]!, command.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${stderr}`)), 20_000);
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = stderr.match(/serving on (http:\/\/\S+) /);
      if (match) {
        clearTimeout(timer);
        resolve({
          child, url: match[1]!, stderr: () => stderr,
          stop: () => {
            child.kill('SIGTERM');
            return exited;
          },
        });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
}

/** Runs the CLI to its end: exit code and stderr. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}
