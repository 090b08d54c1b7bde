/**
 * The one place where the sandbox is granted anything: a pure function from a run's settings to
 * Deno's command line and environment. The child may reach exactly the API host:port and the
 * relay; it gets a clean environment and no config, lockfile, npm, remote import or update check.
 * Every child also gets, before Deno starts, a data-segment cap (Linux), SIGTRAP ignored (so only V8
 * can end it with that signal) and a death signal tied to the orchestrator's life: from the spawner
 * (spawner.pl) between its fork and exec, or, where there is none, from the two small execs
 * `wrapCommand` puts before Deno's (a POSIX `sh`, and util-linux `setpriv`).
 */
import { PRIVATE_IPV4 } from '../relay/private-net.js';

/** IPv4 ranges an API *hostname* must never resolve to (DNS rebinding); loopback is split below around the relay. */
const DENIED_IPV4 = PRIVATE_IPV4.filter((range) => !range.startsWith('127.'));

/**
 * IPv6 addresses an API hostname must never resolve to. Deno 2.9.5's --deny-net takes single IPv6
 * addresses (checked against what a name resolves to) but no IPv6 ranges (`fc00::/7` is refused as
 * "Bad host:port pair"), so only these well-known ones are denied: the unspecified and loopback
 * addresses, AWS's IPv6 metadata endpoint, and IPv4-mapped metadata. Other ULA (fc00::/7) and
 * link-local (fe80::/10) addresses stay reachable, at the API's port only, when the API hostname's
 * DNS answers with them; docs/security.md says so. IPv4-mapped loopback is not listed:
 * Deno reads `[::ffff:127.0.0.1]` as 127.0.0.1 on every port, which denied the relay itself; the
 * mapped form is denied at the API's port by `127.0.0.1:<port>` (loopbackExceptRelay), as Deno
 * maps it the same way there.
 */
const DENIED_IPV6 = ['[::]', '[::1]', '[fd00:ec2::254]', '[::ffff:169.254.169.254]'];

/** The name the wrapping shell goes by (its `$0`), so its errors say whose they are. */
export const SHELL_NAME = 'code-runtime-sandbox';

export interface SandboxSettings {
  denoPath: string;
  /** The module Deno runs: the guest's loader, as a path or a `data:` URL (run.ts passes the latter). */
  bootstrapPath: string;
  denoDir: string;
  /** V8 old-space limit in MB. */
  memoryMbytes: number;
  /** The Apify API base URL; its host:port is the only outside address the script may reach. */
  apiBaseUrl: URL;
  /** `127.0.0.1:PORT` of the orchestrator's relay. */
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

/** `host:port` of a URL, with the scheme's default port spelled out (Deno matches ports exactly). */
export function hostPort(url: URL): string {
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return `${url.hostname}:${port}`;
}

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || host.startsWith('[');
}

/**
 * Loopback minus the relay's own address: 127.0.0.0/8 split around 127.0.0.1, which stays
 * reachable only on the relay's port (the API port of 127.0.0.1 is denied explicitly).
 */
function loopbackExceptRelay(apiPort: string): string[] {
  const ranges = ['127.0.0.0/32'];
  // At each prefix length, the sibling of 127.0.0.1's own block: 127.0.0.2/31, 127.0.0.4/30, … 127.128.0.0/9.
  for (let bits = 31; bits >= 9; bits -= 1) ranges.push(`${ipv4(0x7f000000 + 2 ** (32 - bits))}/${bits}`);
  return [...ranges, `127.0.0.1:${apiPort}`];
}

function ipv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => (n >>> shift) & 255).join('.');
}

/** Bytes of data segment Deno needs: ~1.1 GB of V8 reservations, headroom, and twice the heap. */
export function dataLimitBytes(memoryMbytes: number): number {
  return (1100 + 128 + 2 * memoryMbytes) * 1024 * 1024;
}

export function sandboxCommand(s: SandboxSettings): SandboxCommand {
  const api = hostPort(s.apiBaseUrl);
  const apiHost = s.apiBaseUrl.hostname;
  const local = apiHost === 'localhost' || isIpLiteral(apiHost);
  // A real API hostname must not be rebound to private or loopback addresses; a literal address
  // (tests, a local gateway) is trusted as given.
  const denyNet = local ? [] : [...DENIED_IPV4, ...loopbackExceptRelay(s.apiBaseUrl.port || '443'), ...DENIED_IPV6];
  const denoArgs = [
    'run',
    '--quiet',
    '--no-config',
    '--no-lock',
    '--no-remote',
    '--no-npm',
    '--no-prompt',
    '--no-code-cache',
    `--allow-net=${api},${s.relayHostPort}`,
    ...(denyNet.length > 0 ? [`--deny-net=${denyNet.join(',')}`] : []),
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
