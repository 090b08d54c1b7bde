/**
 * The `code-runtime mcp` and `code-runtime serve` subcommands: flags in, a server out, running until
 * the client goes (mcp) or SIGINT/SIGTERM (both), then drained. Logs go to stderr only: in `mcp`,
 * stdout carries the protocol.
 */
import { parseArgs } from 'node:util';
import { createServer } from '../server/http.js';
import { allowedNumber } from '../run/option-table.js';
import { SERVER_LIMITS } from '../server/options.js';
import { serveStdio } from '../server/stdio.js';
import { numericFlag, UsageError } from './flags.js';
import { configFlag } from './config.js';
import type { Subcommand } from './commands.js';

const PORTS = { min: 0, max: 65_535 };
const range = (limits: { min: number; max: number }) => `${limits.min}–${limits.max.toLocaleString('en-US')}`;

export const SERVE_USAGE = `Usage: code-runtime serve [--host HOST] [--port PORT] [--auth-token TOKEN] [--allowed-hosts LIST] [--concurrency N] [--max-queue N] [--grace SECS] [--config FILE]
       code-runtime mcp [--concurrency N] [--max-queue N] [--grace SECS] [--config FILE]

serve: one HTTP server with MCP (Streamable HTTP) at /mcp, a REST API under /v1 and GET /healthz.
mcp:   MCP over stdin/stdout, for clients configured with a command (Claude Desktop, Cursor, VS Code).
       Give clients \`npx code-runtime mcp\` (in a checkout: \`npm -s start -- mcp\`); plain \`npm start\`
       prints npm's banner on stdout, which carries the protocol.
  --host HOST           address to bind (default 127.0.0.1); any non-loopback address needs a token
  --port PORT           port, ${range(PORTS)} (default 3000; 0 picks a free one)
  --auth-token TOKEN    clients must send Authorization: Bearer TOKEN (or set CODE_RUNTIME_AUTH_TOKEN)
  --allowed-hosts LIST  host names the Host/Origin headers may carry (default: localhost names)
  --concurrency N       scripts running at once, ${range(SERVER_LIMITS.concurrency)} (default ${SERVER_LIMITS.concurrency.default})
  --max-queue N         scripts waiting, ${range(SERVER_LIMITS.maxQueue)}; beyond it HTTP 429 (default ${SERVER_LIMITS.maxQueue.default})
  --grace SECS          on shutdown, how long running scripts may finish, ${range(SERVER_LIMITS.graceSecs)} (default ${SERVER_LIMITS.graceSecs.default})
  --config FILE         JSON with \`mcpServers\` (the format of .mcp.json): scripts call their tools as tools.NAME.TOOL(args)
Scripts' \`apify\` client uses APIFY_TOKEN from this process's environment.
A script file named "mcp" or "serve" runs as ./mcp.`;

/** Every flag of serve and mcp (the usage lines above name each one; test/cli checks). */
export const SERVE_FLAGS = {
  host: { type: 'string' }, port: { type: 'string' }, 'auth-token': { type: 'string' }, 'allowed-hosts': { type: 'string' },
  concurrency: { type: 'string' }, 'max-queue': { type: 'string' }, grace: { type: 'string' }, config: { type: 'string' }, help: { type: 'boolean', short: 'h' },
} as const;
/** The flags only serve takes. */
export const SERVE_ONLY_FLAGS = ['host', 'port', 'auth-token', 'allowed-hosts'] as const;

/** A whole-number flag within its bounds, or undefined when not given. */
function integerFlag(flag: string, raw: string | undefined, limits: { min: number; max: number }): number | undefined {
  return raw === undefined ? undefined : numericFlag(flag, raw, limits, true);
}

/** Said once at start: without a token, scripts run but their `apify` calls that need one fail. */
function warnWithoutToken(): void {
  if (process.env.APIFY_TOKEN) return;
  process.stderr.write('code-runtime: APIFY_TOKEN is not set: scripts run, but their `apify` calls that need a token will fail; set it in this process\'s environment\n');
}

/** The numeric flags and their bounds, for messages. */
const NUMERIC_FLAGS: Record<string, { min: number; max: number }> = {
  port: PORTS, concurrency: SERVER_LIMITS.concurrency, 'max-queue': SERVER_LIMITS.maxQueue, grace: SERVER_LIMITS.graceSecs,
};

/** `parseArgs`' messages said as the run flags say theirs: the flag, what is allowed, what was given. */
function parseMessage(command: string, message: string, argv: string[]): string {
  const unknown = /^Unknown option '([^']*)'/.exec(message)?.[1];
  if (unknown) return `unknown flag ${unknown} for ${command}; see code-runtime ${command} --help`;
  const flag = /^Option '--([\w-]+)(?: <value>)?' argument (missing|is ambiguous)/.exec(message);
  if (!flag) return message.split('\n')[0]!;
  const limits = NUMERIC_FLAGS[flag[1]!];
  const next = argv[argv.indexOf(`--${flag[1]}`) + 1];
  // `--grace -1`: a value that looks like a flag, said as any other value out of range.
  if (flag[2] === 'is ambiguous' && limits && next !== undefined && !next.startsWith('--')) return `--${flag[1]} expects ${allowedNumber(limits, true)}, got ${JSON.stringify(next)}`;
  return `--${flag[1]} needs a value${limits ? `: ${allowedNumber(limits, true)}` : ''}`;
}

/** Library messages name options; here they name the flags. */
function flagMessage(message: string): string {
  const flags: Record<string, string> = { concurrency: 'concurrency', maxQueue: 'max-queue', graceSecs: 'grace', allowedHosts: 'allowed-hosts', authToken: 'auth-token' };
  return Object.entries(flags).reduce((text, [option, flag]) => text.replace(`the \`${option}\` option`, `--${flag}`), message);
}

/** Resolves on the first SIGINT/SIGTERM. The listeners stay: a library that re-raises a signal when
 * only its own listener is left (signal-exit, under execa) would otherwise kill the drain. */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => resolve(signal));
  });
}

async function serveMain(command: 'mcp' | 'serve', argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options: SERVE_FLAGS }));
  } catch (error) {
    throw new UsageError(parseMessage(command, (error as Error).message, argv));
  }
  if (values.help) {
    process.stdout.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const common = {
    concurrency: integerFlag('concurrency', values.concurrency, SERVER_LIMITS.concurrency),
    maxQueue: integerFlag('max-queue', values['max-queue'], SERVER_LIMITS.maxQueue),
    graceSecs: integerFlag('grace', values.grace, SERVER_LIMITS.graceSecs),
    ...configFlag(values.config),
  };
  try {
    if (command === 'mcp') {
      if (SERVE_ONLY_FLAGS.some((flag) => values[flag] !== undefined)) throw new UsageError(`mcp speaks over stdin/stdout: ${SERVE_ONLY_FLAGS.map((flag) => `--${flag}`).join(', ')} are for serve`);
      const server = await serveStdio(common);
      warnWithoutToken();
      const signal = untilSignal().then(() => server.close());
      await Promise.race([server.closed, signal]);
      return 0;
    }
    const port = integerFlag('port', values.port, PORTS) ?? 3000;
    const server = createServer({
      ...common,
      authToken: values['auth-token'] ?? (process.env.CODE_RUNTIME_AUTH_TOKEN || undefined),
      allowedHosts: values['allowed-hosts']?.split(',').map((host) => host.trim()).filter(Boolean),
    });
    const host = values.host ?? '127.0.0.1';
    let address;
    try {
      address = await server.listen({ host, port });
    } catch (error) {
      await server.close();
      throw error;
    }
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    process.stderr.write(`code-runtime: serving on http://${shown}:${address.port} (MCP at /mcp, REST at /v1, GET /healthz)\n`);
    warnWithoutToken();
    const signal = await untilSignal();
    process.stderr.write(`code-runtime: ${signal}: finishing running scripts, then stopping\n`);
    await server.close();
    return 0;
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(flagMessage(error.message));
    throw error;
  }
}

export const mcpCommand: Subcommand = { main: (argv) => serveMain('mcp', argv) };
export const serveCommand: Subcommand = { main: (argv) => serveMain('serve', argv) };
