/**
 * The server's own options (`createServer`, `serveStdio`, the `serve`/`mcp` flags), validated once:
 * each error names the option, the value and what is allowed. The server makes its runtime from
 * them unless the embedder passes one.
 */
import { createRuntime } from '../runtime/runtime.js';
import { fail, number } from '../run/options.js';
import { RUN_OPTIONS } from '../run/option-table.js';
import { HEARTBEAT_SECS } from './accept.js';
import { defaultMaxConnections } from './connections.js';
import { STORE_DEFAULTS } from './executions.js';
import { normalizeOrigin } from './guards.js';
import { HOME } from './records/ids.js';
import type { RecordStore } from './records/store.js';
import type { HostTools, McpServers } from '../../types/mcp.js';
import type { Runtime, RunDefaults } from '../../types/runtime.js';
import type { EgressOrigins } from '../../types/egress.js';

const MEMORY = RUN_OPTIONS.memoryMbytes;
const MiB = 1024 ** 2;

export const SERVER_LIMITS = {
  concurrency: { min: 1, max: 256, default: 2 },
  maxQueue: { min: 0, max: 100_000, default: 100 },
  streamCapBytes: { min: 4096, max: 1024 ** 3, default: STORE_DEFAULTS.streamCapBytes },
  ttlSecs: { min: 1, max: 7 * 24 * 3600, default: STORE_DEFAULTS.ttlSecs },
  memoryBudgetBytes: { min: 1024 ** 2, max: 64 * 1024 ** 3, default: STORE_DEFAULTS.memoryBudgetBytes },
  graceSecs: { min: 0, max: 3600, default: 10 },
  maxSessions: { min: 1, max: 100_000, default: 1000 },
  heartbeatSecs: { min: 1, max: 15, default: HEARTBEAT_SECS },
  maxSessionsPerClient: { min: 1, max: 100_000, default: 100 },
  sessionIdleSecs: { min: 1, max: 7 * 24 * 3600, default: 1800 },
  /** The default is 1000, or half the open-file limit when that is lower (see connections.ts). */
  maxConnections: { min: 1, max: 1_000_000, default: 1000 },
  /** The default is a quarter of maxConnections. */
  maxConnectionsPerClient: { min: 1, max: 1_000_000, default: 250 },
  writeTimeoutSecs: { min: 1, max: 3600, default: 30 },
  maxBufferedBytes: { min: MiB, max: 64 * 1024 * MiB, default: 64 * MiB },
  maxUnsentBytesPerConnection: { min: 64 * 1024, max: 64 * 1024 * MiB, default: 8 * MiB },
  /** Two of the largest requests (the longest script and 64 MiB of input files in base64); at least the longest script per client. */
  maxBodiesBytes: { min: 8 * MiB, max: 64 * 1024 * MiB, default: 192 * MiB },
  readTimeoutSecs: { min: 1, max: 3600, default: 30 },
} as const;

export interface ServerOptions {
  /** The runtime scripts run in (its warm pool, its defaults). Default: one made for `concurrency`, closed with the server. */
  runtime?: Runtime;
  /** Options for every run when the server makes its runtime (e.g. `memoryMbytes`, `token`). */
  defaults?: RunDefaults;
  /** Upstream MCP servers whose tools scripts call as `tools.NAME.TOOL(args)`, when the server makes its runtime (see `createRuntime`). */
  mcpServers?: McpServers;
  /** The embedder's own functions for scripts' `tools`, when the server makes its runtime. */
  tools?: HostTools;
  /** Origins every script's `fetch` may reach, when the server makes its runtime (createRuntime's `egress`; docs/egress.md). */
  egress?: EgressOrigins;
  /** Scripts running at once, 1–256. Default 2. */
  concurrency?: number;
  /** Scripts waiting for a slot, 0–100000; beyond it a start is refused (HTTP 429). Default 100. */
  maxQueue?: number;
  /** Bytes kept per stream of an execution; beyond it only head and tail. Default 64 MiB. */
  streamCapBytes?: number;
  /** How long a finished execution is kept, in seconds. Default 3600. */
  ttlSecs?: number;
  /** Output bytes all kept executions may hold; the oldest finished are evicted first. Default 512 MiB. */
  memoryBudgetBytes?: number;
  /** HTTP: clients must send `Authorization: Bearer <authToken>`. Required to listen on a non-loopback address. */
  authToken?: string;
  /** HTTP: hostnames the `Host` and `Origin` headers may name (DNS-rebinding protection); `'any'` turns the check off. Default: loopback names without a token, no check with one. */
  allowedHosts?: string[] | 'any';
  /** Seconds running scripts get to finish when the server shuts down, before they are aborted. Default 10. */
  graceSecs?: number;
  /**
   * HTTP: MCP sessions kept at once, 1–100000. Beyond it a new session is refused (HTTP 429), unless a
   * session that is idle and not recently used can make room. Default 1000.
   */
  maxSessions?: number;
  /** HTTP: MCP sessions one client (its address; see docs/server.md) may keep. Default 100. */
  maxSessionsPerClient?: number;
  /** HTTP: an MCP session unused this long (and with nothing in flight) is closed, in seconds. Default 1800. */
  sessionIdleSecs?: number;
  /** HTTP: connections open at once; beyond it a new one gets 503 and is closed. Default 1000 (or half the open-file limit). */
  maxConnections?: number;
  /** HTTP: connections one client address may keep open. Default a quarter of `maxConnections`. */
  maxConnectionsPerClient?: number;
  /** HTTP: a connection whose unsent answer makes no progress this long is closed, in seconds. Default 30. */
  writeTimeoutSecs?: number;
  /**
   * HTTP: bytes held for clients that have not taken them: unsent answers (three quarters) and stream
   * events kept for resuming (a quarter). An answer that does not fit is refused with 503. Default 64 MiB.
   */
  maxBufferedBytes?: number;
  /** HTTP: what one connection may have waiting to be sent; a larger answer is refused, a stream beyond it dropped. Default 8 MiB. */
  maxUnsentBytesPerConnection?: number;
  /**
   * HTTP: bytes of request bodies held at once while they are received and until they are answered
   * (parsing takes a few times as much for a moment). One client may hold half; one request may send
   * the largest a caller needs (about 89 MiB: the longest script and 64 MiB of input files in base64)
   * or half, when that is less. Beyond it a body is refused: 429 (the client's half), 503 (the
   * server's). Default 192 MiB.
   */
  maxBodiesBytes?: number;
  /** HTTP: a request body that receives nothing this long is dropped (408), in seconds. Default 30. */
  readTimeoutSecs?: number;
  /** HTTP: origins (`http://host:port`) besides the server's own that browsers may send requests from. Default none. */
  allowedOrigins?: string[];
  /** HTTP: adds the MCP conformance suite's `test_reconnection` tool. For the suite only. Default false. */
  conformanceTools?: boolean;
  /** The most memory one script may ask for, in MB (what the machine can give each slot). Default: the run option's own maximum. */
  maxMemoryMbytes?: number;
  /** HTTP: the most seconds between bytes of an MCP answer still being prepared (keep-alives), 1–15. Default 10. */
  heartbeatSecs?: number;
  /**
   * Where executions are recorded so that other processes given the same kind of store answer for
   * them (the Standby Actor passes the run's default key-value store). Default: none; executions
   * live in this process only.
   */
  records?: RecordStore;
}

export interface ServerSettings {
  runtime: Runtime;
  ownsRuntime: boolean;
  concurrency: number;
  maxQueue: number;
  streamCapBytes: number;
  ttlSecs: number;
  memoryBudgetBytes: number;
  authToken?: string;
  allowedHosts?: string[] | 'any';
  graceSecs: number;
  maxMemoryMbytes: number;
  maxSessions: number;
  heartbeatSecs: number;
  records?: RecordStore;
  maxSessionsPerClient: number;
  sessionIdleSecs: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  writeTimeoutSecs: number;
  maxBufferedBytes: number;
  maxUnsentBytesPerConnection: number;
  maxBodiesBytes: number;
  readTimeoutSecs: number;
  allowedOrigins: string[];
  conformanceTools: boolean;
}

const KNOWN = new Set([
  'runtime', 'defaults', 'mcpServers', 'tools', 'egress', 'concurrency', 'maxQueue', 'streamCapBytes', 'ttlSecs', 'memoryBudgetBytes', 'authToken', 'allowedHosts', 'graceSecs', 'maxMemoryMbytes',
  'maxSessions', 'heartbeatSecs', 'records', 'maxSessionsPerClient', 'sessionIdleSecs', 'maxConnections', 'maxConnectionsPerClient', 'writeTimeoutSecs',
  'maxBufferedBytes', 'maxUnsentBytesPerConnection', 'maxBodiesBytes', 'readTimeoutSecs', 'allowedOrigins', 'conformanceTools',
]);

function integer(options: ServerOptions, name: keyof typeof SERVER_LIMITS): number {
  const value = (options as Record<string, unknown>)[name];
  return value === undefined ? SERVER_LIMITS[name].default : number(name, value, SERVER_LIMITS[name], true);
}

export function serverSettings(options: ServerOptions = {}): ServerSettings {
  if (options === null || typeof options !== 'object') fail('options', options, 'an object');
  const unknown = Object.keys(options).find((key) => !KNOWN.has(key));
  if (unknown) throw new TypeError(`Unknown option \`${unknown}\`; the options are: ${[...KNOWN].join(', ')}`);
  const token = options.authToken;
  if (token !== undefined && (typeof token !== 'string' || token.length < 16)) {
    // Never shown: it is a secret.
    throw new TypeError('Expected the `authToken` option to be a string of at least 16 characters');
  }
  const hosts = options.allowedHosts;
  if (hosts !== undefined && hosts !== 'any' && (!Array.isArray(hosts) || hosts.some((host) => typeof host !== 'string' || host.length === 0))) {
    fail('allowedHosts', hosts, "an array of host names, or 'any'");
  }
  const records = options.records;
  if (records !== undefined && (records === null || typeof records !== 'object' || typeof records.put !== 'function' || typeof records.get !== 'function'
    || typeof records.holder !== 'string' || typeof records.home !== 'string' || !HOME.test(records.home))) {
    fail('records', records, 'a record store: { home (1–64 letters and digits), holder, put(key, bytes), get(home, key) }');
  }
  const origins = options.allowedOrigins;
  if (origins !== undefined && (!Array.isArray(origins) || origins.some((origin) => typeof origin !== 'string' || !normalizeOrigin(origin)))) {
    fail('allowedOrigins', origins, 'an array of origins such as "http://localhost:6274"');
  }
  if (options.conformanceTools !== undefined && typeof options.conformanceTools !== 'boolean') fail('conformanceTools', options.conformanceTools, 'a boolean');
  const concurrency = integer(options, 'concurrency');
  const maxConnections = options.maxConnections === undefined ? defaultMaxConnections() : integer(options, 'maxConnections');
  for (const key of ['defaults', 'mcpServers', 'tools', 'egress'] as const) {
    if (options.runtime !== undefined && options[key] !== undefined) {
      throw new TypeError(`\`${key}\` cannot be used with \`runtime\`: give ${key === 'defaults' ? 'them' : 'it'} to createRuntime`);
    }
  }
  const settings = {
    concurrency,
    maxQueue: integer(options, 'maxQueue'),
    streamCapBytes: integer(options, 'streamCapBytes'),
    ttlSecs: integer(options, 'ttlSecs'),
    memoryBudgetBytes: integer(options, 'memoryBudgetBytes'),
    authToken: token,
    allowedHosts: hosts,
    graceSecs: integer(options, 'graceSecs'),
    maxSessions: integer(options, 'maxSessions'),
    heartbeatSecs: integer(options, 'heartbeatSecs'),
    records,
    maxSessionsPerClient: integer(options, 'maxSessionsPerClient'),
    sessionIdleSecs: integer(options, 'sessionIdleSecs'),
    maxConnections,
    maxConnectionsPerClient: options.maxConnectionsPerClient === undefined ? Math.max(1, Math.floor(maxConnections / 4)) : integer(options, 'maxConnectionsPerClient'),
    writeTimeoutSecs: integer(options, 'writeTimeoutSecs'),
    maxBufferedBytes: integer(options, 'maxBufferedBytes'),
    maxUnsentBytesPerConnection: integer(options, 'maxUnsentBytesPerConnection'),
    maxBodiesBytes: integer(options, 'maxBodiesBytes'),
    readTimeoutSecs: integer(options, 'readTimeoutSecs'),
    allowedOrigins: origins ?? [],
    conformanceTools: options.conformanceTools ?? false,
    maxMemoryMbytes: options.maxMemoryMbytes === undefined ? MEMORY.max : number('maxMemoryMbytes', options.maxMemoryMbytes, MEMORY, true),
  };
  // Made last: nothing is started for options that were wrong.
  const runtime = options.runtime ?? createRuntime({ concurrency, defaults: options.defaults, mcpServers: options.mcpServers, tools: options.tools, egress: options.egress });
  return { ...settings, runtime, ownsRuntime: options.runtime === undefined };
}
