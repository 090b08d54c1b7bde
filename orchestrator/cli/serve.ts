/**
 * The `code-runtime mcp` and `code-runtime serve` subcommands: flags in, a server out, running until
 * the client goes (mcp) or SIGINT/SIGTERM (both), then drained; a second signal exits at once. Logs
 * go to stderr only: in `mcp`, stdout carries the protocol.
 */
import { parseArgs } from 'node:util';
import { createServer } from '../server/http.js';
import { allowedNumber } from '../run/option-table.js';
import { SERVER_LIMITS } from '../server/options.js';
import { onSignals, stopRequests } from '../server/shutdown.js';
import { serveStdio } from '../server/stdio.js';
import { numericFlag, UsageError } from './flags.js';
import { OPERATOR_FLAG_PARSE, operatorOptions } from './operator-flags.js';
import type { Subcommand } from './commands.js';

const PORTS = { min: 0, max: 65_535 };
const MiB = 1024 ** 2;
const inMiB = (limits: { min: number; max: number; default: number }) => ({ min: limits.min / MiB, max: limits.max / MiB, default: limits.default / MiB });
const BUFFERED_MB = inMiB(SERVER_LIMITS.maxBufferedBytes);
const BODIES_MB = inMiB(SERVER_LIMITS.maxBodiesBytes);
const range = (limits: { min: number; max: number }) => `${limits.min}–${limits.max.toLocaleString('en-US')}`;

export const SERVE_USAGE = `Usage: code-runtime serve [--host HOST] [--port PORT] [--auth-token TOKEN] [--allowed-hosts LIST] [--allowed-origins LIST] [--concurrency N] [--max-queue N] [--grace SECS] [--max-connections N] [--max-connections-per-client N] [--write-timeout SECS] [--max-buffered-mb MB] [--max-bodies-mb MB] [--read-timeout SECS] [--max-sessions N] [--max-sessions-per-client N] [--session-idle-secs SECS] [--config FILE] [--allow-host ORIGIN]…
       code-runtime mcp [--concurrency N] [--max-queue N] [--grace SECS] [--config FILE] [--allow-host ORIGIN]…

serve: one HTTP server with MCP (Streamable HTTP) at /mcp, a REST API under /v1 and GET /healthz.
mcp:   MCP over stdin/stdout, for clients configured with a command (Claude Desktop, Cursor, VS Code).
       Give clients \`npx code-runtime mcp\` (in a checkout: \`npm -s start -- mcp\`); plain \`npm start\`
       prints npm's banner on stdout, which carries the protocol.
  --host HOST           address to bind (default 127.0.0.1); any non-loopback address needs a token
  --port PORT           port, ${range(PORTS)} (default 3000; 0 picks a free one)
  --auth-token TOKEN    clients must send Authorization: Bearer TOKEN (or set CODE_RUNTIME_AUTH_TOKEN)
  --allowed-hosts LIST  host names the Host/Origin headers may carry (default: localhost names)
  --allowed-origins LIST  browser origins besides the server's own that may send requests (default none)
  --concurrency N       scripts running at once, ${range(SERVER_LIMITS.concurrency)} (default ${SERVER_LIMITS.concurrency.default})
  --max-queue N         scripts waiting, ${range(SERVER_LIMITS.maxQueue)}; beyond it HTTP 429 (default ${SERVER_LIMITS.maxQueue.default})
  --grace SECS          on shutdown, how long running scripts may finish, ${range(SERVER_LIMITS.graceSecs)} (default ${SERVER_LIMITS.graceSecs.default}); a second signal exits at once
  --config FILE         the operator's configuration (JSON): mcpServers (tools), egress (origins fetch may reach, with headers)
  --allow-host ORIGIN   let scripts' fetch reach ORIGIN (e.g. https://api.github.com), with no added headers; repeatable
Bounds against clients that take too much (docs/server.md):
  --max-connections N   connections open at once (default ${SERVER_LIMITS.maxConnections.default}, or half the open-file limit when lower)
  --max-connections-per-client N  per client address (default a quarter of --max-connections)
  --write-timeout SECS  close a connection whose unsent answer does not move for this long (default ${SERVER_LIMITS.writeTimeoutSecs.default})
  --max-buffered-mb MB  answers and stream events held for clients that have not read them, ${range(BUFFERED_MB)} (default ${BUFFERED_MB.default})
  --max-bodies-mb MB    request bodies held while received and answered, ${range(BODIES_MB)} (default ${BODIES_MB.default}); a client may hold half
  --read-timeout SECS   drop a request body that receives nothing for this long (default ${SERVER_LIMITS.readTimeoutSecs.default})
  --max-sessions N      MCP sessions at once (default ${SERVER_LIMITS.maxSessions.default})
  --max-sessions-per-client N  MCP sessions of one client (default ${SERVER_LIMITS.maxSessionsPerClient.default})
  --session-idle-secs SECS  close an MCP session unused this long (default ${SERVER_LIMITS.sessionIdleSecs.default})
Scripts' \`apify\` client uses APIFY_TOKEN from this process's environment.
A script file named "mcp" or "serve" runs as ./mcp.`;

/** Every flag of serve and mcp (the usage lines above name each one; test/cli checks). */
export const SERVE_FLAGS = {
  host: { type: 'string' }, port: { type: 'string' }, 'auth-token': { type: 'string' }, 'allowed-hosts': { type: 'string' }, 'allowed-origins': { type: 'string' },
  concurrency: { type: 'string' }, 'max-queue': { type: 'string' }, grace: { type: 'string' }, help: { type: 'boolean', short: 'h' },
  'max-connections': { type: 'string' }, 'max-connections-per-client': { type: 'string' }, 'write-timeout': { type: 'string' }, 'max-buffered-mb': { type: 'string' },
  'max-bodies-mb': { type: 'string' }, 'read-timeout': { type: 'string' },
  'max-sessions': { type: 'string' }, 'max-sessions-per-client': { type: 'string' }, 'session-idle-secs': { type: 'string' },
  ...OPERATOR_FLAG_PARSE,
} as const;
/** The flags only serve takes. */
export const SERVE_ONLY_FLAGS = [
  'host', 'port', 'auth-token', 'allowed-hosts', 'allowed-origins', 'max-connections', 'max-connections-per-client', 'write-timeout', 'max-buffered-mb',
  'max-bodies-mb', 'read-timeout',
  'max-sessions', 'max-sessions-per-client', 'session-idle-secs',
] as const;

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
  'max-connections': SERVER_LIMITS.maxConnections, 'max-connections-per-client': SERVER_LIMITS.maxConnectionsPerClient, 'write-timeout': SERVER_LIMITS.writeTimeoutSecs,
  'max-buffered-mb': BUFFERED_MB, 'max-bodies-mb': BODIES_MB, 'read-timeout': SERVER_LIMITS.readTimeoutSecs, 'max-sessions': SERVER_LIMITS.maxSessions, 'max-sessions-per-client': SERVER_LIMITS.maxSessionsPerClient, 'session-idle-secs': SERVER_LIMITS.sessionIdleSecs,
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
  const flags: Record<string, string> = { concurrency: 'concurrency', maxQueue: 'max-queue', graceSecs: 'grace', allowedHosts: 'allowed-hosts', authToken: 'auth-token', allowedOrigins: 'allowed-origins' };
  return Object.entries(flags).reduce((text, [option, flag]) => text.replace(`the \`${option}\` option`, `--${flag}`), message);
}

/** Resolves on the first SIGINT/SIGTERM; a second one exits at once (server/shutdown.ts). */
function untilSignal(): Promise<string> {
  const stops = stopRequests();
  onSignals(stops);
  return stops.first;
}

/** A whole-number flag (`integerFlag`) of the table's own flags. */
function bound(values: Record<string, unknown>, flag: keyof typeof NUMERIC_FLAGS): number | undefined {
  return integerFlag(flag, values[flag] as string | undefined, NUMERIC_FLAGS[flag]!);
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
    ...operatorOptions(values),
    concurrency: integerFlag('concurrency', values.concurrency, SERVER_LIMITS.concurrency),
    maxQueue: integerFlag('max-queue', values['max-queue'], SERVER_LIMITS.maxQueue),
    graceSecs: integerFlag('grace', values.grace, SERVER_LIMITS.graceSecs),
  };
  try {
    if (command === 'mcp') {
      const given = SERVE_ONLY_FLAGS.filter((flag) => values[flag] !== undefined);
      if (given.length > 0) throw new UsageError(`mcp speaks over stdin/stdout: ${given.map((flag) => `--${flag}`).join(', ')} ${given.length === 1 ? 'is' : 'are'} for serve`);
      const server = await serveStdio(common);
      warnWithoutToken();
      const signal = untilSignal().then(() => server.close());
      await Promise.race([server.closed, signal]);
      return 0;
    }
    const port = integerFlag('port', values.port, PORTS) ?? 3000;
    const list = (raw: string | undefined) => raw?.split(',').map((item) => item.trim()).filter(Boolean);
    const bufferedMb = bound(values, 'max-buffered-mb');
    const bodiesMb = bound(values, 'max-bodies-mb');
    const server = createServer({
      ...common,
      authToken: values['auth-token'] ?? (process.env.CODE_RUNTIME_AUTH_TOKEN || undefined),
      allowedHosts: list(values['allowed-hosts']),
      allowedOrigins: list(values['allowed-origins']),
      maxConnections: bound(values, 'max-connections'),
      maxConnectionsPerClient: bound(values, 'max-connections-per-client'),
      writeTimeoutSecs: bound(values, 'write-timeout'),
      maxBufferedBytes: bufferedMb === undefined ? undefined : bufferedMb * MiB,
      maxBodiesBytes: bodiesMb === undefined ? undefined : bodiesMb * MiB,
      readTimeoutSecs: bound(values, 'read-timeout'),
      maxSessions: bound(values, 'max-sessions'),
      maxSessionsPerClient: bound(values, 'max-sessions-per-client'),
      sessionIdleSecs: bound(values, 'session-idle-secs'),
      // For the MCP conformance suite only (scripts/conformance.mjs).
      conformanceTools: process.env.CODE_RUNTIME_CONFORMANCE_TOOLS === '1' || undefined,
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
