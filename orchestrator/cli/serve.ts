/**
 * The `code-runtime mcp` and `code-runtime serve` subcommands: flags in, a server out, running until
 * the client goes (mcp) or SIGINT/SIGTERM (both), then drained. Logs go to stderr only: in `mcp`,
 * stdout carries the protocol.
 */
import { parseArgs } from 'node:util';
import { createServer } from '../server/http.js';
import { SERVER_LIMITS } from '../server/options.js';
import { serveStdio } from '../server/stdio.js';
import { UsageError } from './flags.js';
import type { Subcommand } from './commands.js';

export const SERVE_USAGE = `Usage: code-runtime serve [--host 127.0.0.1] [--port 3000] [--auth-token TOKEN] [--concurrency N] [--max-queue N] [--allowed-hosts a,b]
       code-runtime mcp [--concurrency N] [--max-queue N]

serve: one HTTP server with MCP (Streamable HTTP) at /mcp, a REST API under /v1 and GET /healthz.
mcp:   MCP over stdin/stdout, for clients configured with a command (Claude Desktop, Cursor, VS Code).
  --host HOST           address to bind (default 127.0.0.1); any non-loopback address needs a token
  --port PORT           port (default 3000; 0 picks a free one)
  --auth-token TOKEN    clients must send Authorization: Bearer TOKEN (or set CODE_RUNTIME_AUTH_TOKEN)
  --allowed-hosts LIST  host names the Host/Origin headers may carry (default: localhost names)
  --concurrency N       scripts running at once, ${SERVER_LIMITS.concurrency.min}–${SERVER_LIMITS.concurrency.max} (default ${SERVER_LIMITS.concurrency.default})
  --max-queue N         scripts waiting, beyond it HTTP 429 (default ${SERVER_LIMITS.maxQueue.default})
  --grace SECS          on shutdown, how long running scripts may finish (default ${SERVER_LIMITS.graceSecs.default})
A script file named "mcp" or "serve" runs as ./mcp.`;

function integerFlag(flag: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`--${flag} expects a whole number, got ${JSON.stringify(raw)}`);
  return Number(raw);
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
    ({ values } = parseArgs({
      args: argv,
      options: {
        host: { type: 'string' }, port: { type: 'string' }, 'auth-token': { type: 'string' }, 'allowed-hosts': { type: 'string' },
        concurrency: { type: 'string' }, 'max-queue': { type: 'string' }, grace: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  if (values.help) {
    process.stderr.write(`${SERVE_USAGE}\n`);
    return 0;
  }
  const common = {
    concurrency: integerFlag('concurrency', values.concurrency),
    maxQueue: integerFlag('max-queue', values['max-queue']),
    graceSecs: integerFlag('grace', values.grace),
  };
  try {
    if (command === 'mcp') {
      if (values.host || values.port || values['auth-token'] || values['allowed-hosts']) throw new UsageError('mcp speaks over stdin/stdout: --host, --port, --auth-token and --allowed-hosts are for serve');
      const server = await serveStdio(common);
      const signal = untilSignal().then(() => server.close());
      await Promise.race([server.closed, signal]);
      return 0;
    }
    const port = integerFlag('port', values.port) ?? 3000;
    if (port > 65_535) throw new UsageError(`--port must be 0–65535, got ${port}`);
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
