/**
 * The one place where the sandbox is granted anything: a pure function from a run's settings to
 * Deno's command line and environment. The child's whole network is the orchestrator's relay on
 * 127.0.0.1 (one address and port): the `apify` binding, `tools` and the script's own `fetch` to
 * the origins the operator allowed all go through it, so no name is ever resolved inside the
 * sandbox and no other host, port or address is reachable at all. The child gets a clean
 * environment and no config, lockfile, npm, remote import or update check.
 * Every child also gets, before Deno starts, a data-segment cap (Linux), SIGTRAP ignored (so only V8
 * can end it with that signal) and a death signal tied to the orchestrator's life: from the spawner
 * (spawner.pl) between its fork and exec, or, where there is none, from the two small execs
 * `wrapCommand` puts before Deno's (a POSIX `sh`, and util-linux `setpriv`).
 */

/** The name the wrapping shell goes by (its `$0`), so its errors say whose they are. */
export const SHELL_NAME = 'code-runtime-sandbox';

export interface SandboxSettings {
  denoPath: string;
  /** The module Deno runs: the guest's loader, as a path or a `data:` URL (run.ts passes the latter). */
  bootstrapPath: string;
  denoDir: string;
  /** V8 old-space limit in MB. */
  memoryMbytes: number;
  /** `127.0.0.1:PORT` of the orchestrator's relay: the only address the child may reach. */
  relayHostPort: string;
}

/** The programs `wrapCommand` starts Deno through, where no spawner starts it (launch.ts finds them). */
export interface WrapperTools {
  /**
   * Path of a POSIX `sh` (deno.ts) that sets the limits and execs Deno, or null: then there is no
   * data-segment cap, and a script could forge V8's out-of-memory death.
   */
  shellPath: string | null;
  /** Whether the shell caps the data segment (`ulimit -d`): on Linux, where it covers every private mapping. */
  capData: boolean;
  /** Path of util-linux `setpriv`, or null: without it a SIGKILLed orchestrator leaves a running child. */
  setprivPath: string | null;
}

export interface SandboxCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Written to the child's stdin as soon as it starts (the guest's code; see run.ts), before its envelope. */
  stdin?: Buffer;
  /** The data-segment cap (RLIMIT_DATA, soft and hard) the child gets on Linux, in bytes. */
  dataLimitBytes: number;
}

/** How a command is started without a spawner: Deno's own file, arguments and environment, wrapped. */
export type ProcessCommand = Pick<SandboxCommand, 'file' | 'args' | 'env'>;

/** Bytes of data segment Deno needs: ~1.1 GB of V8 reservations, headroom, and twice the heap. */
export function dataLimitBytes(memoryMbytes: number): number {
  return (1100 + 128 + 2 * memoryMbytes) * 1024 * 1024;
}

export function sandboxCommand(s: SandboxSettings): SandboxCommand {
  const denoArgs = [
    'run',
    '--quiet',
    '--no-config',
    '--no-lock',
    '--no-remote',
    '--no-npm',
    '--no-prompt',
    '--no-code-cache',
    // An IP literal and a port: Deno matches it as given and never resolves a name for it.
    `--allow-net=${s.relayHostPort}`,
    // No V8 helper threads (measured ~0.5 ms less CPU per child); the heap limit last, where tests find it.
    `--v8-flags=--single-threaded,--max-old-space-size=${s.memoryMbytes}`,
    s.bootstrapPath,
  ];
  const env = {
    DENO_DIR: s.denoDir,
    DENO_NO_UPDATE_CHECK: '1',
    DENO_NO_PACKAGE_JSON: '1',
    // Scripts' TypeScript is transpiled in memory only: nothing written, and no write to fail and
    // retry (Deno sleeps 150 ms in retries when its emit folder is blocked).
    DENO_EMIT_CACHE_MODE: 'disable',
    NO_COLOR: '1',
    // No WebGPU backend: requestAdapter() gives null and the host's graphics libraries never load.
    DENO_WEBGPU_BACKEND: 'none',
  };
  return { file: s.denoPath, args: denoArgs, env, dataLimitBytes: dataLimitBytes(s.memoryMbytes) };
}

/** The command that starts `command` through `sh` and `setpriv`, which give it its limits (see above). */
export function wrapCommand(command: SandboxCommand, tools: WrapperTools): ProcessCommand {
  const { env } = command;
  let wrapped: ProcessCommand = { file: command.file, args: command.args, env };
  if (tools.shellPath) {
    const kbytes = command.dataLimitBytes / 1024;
    // The one value written into the shell's script: a whole number, never text from outside.
    if (!Number.isSafeInteger(kbytes)) throw new Error(`The data-segment limit must be a whole number of KB, not ${kbytes}`);
    const steps = [
      // One huge allocation (an ArrayBuffer, Wasm memory) fails at once, before the memory watch could see it.
      ...(tools.capData ? [`ulimit -d ${kbytes}`] : []),
      // Deno lets a script signal its own process without --allow-run, and SIGTRAP is how V8's fatal
      // out-of-memory ends it (result.ts). Ignored from the start (an ignored signal stays ignored
      // across exec), a SIGTRAP the script sends itself does nothing, while V8's own (a trap
      // instruction, forced by the kernel) still ends it.
      "trap '' TRAP",
      'exec "$@"',
    ];
    // Deno's path and arguments are the shell's positional parameters, never part of its script;
    // the shell's own name is what its errors start with (`code-runtime-sandbox: 1: ulimit: …`).
    wrapped = { file: tools.shellPath, args: ['-c', steps.join(' && '), SHELL_NAME, wrapped.file, ...wrapped.args], env };
  }
  if (tools.setprivPath) {
    // The death signal survives the exec of the shell and of Deno: killed however the orchestrator dies.
    wrapped = { file: tools.setprivPath, args: ['--pdeathsig', 'KILL', '--', wrapped.file, ...wrapped.args], env };
  }
  return wrapped;
}
