/**
 * Validation and defaults for `createRuntime` options, in one place, as `options.ts` does for a run:
 * every error is a TypeError naming the option, the value and what is allowed. `defaults` are
 * checked as a run's options would be, and remote mode refuses what it cannot honour.
 */
import { availableParallelism } from 'node:os';
import { checkedTools, describe, fail, normalizeOptions, number, type NormalizedOptions } from '../run/options.js';
import { mergeEgress, normalizeEgress } from '../config/egress.js';
import type { EgressConfig } from '../config/shape.js';
import type { ToolSettings } from '../tools/hub.js';
import { DEFAULT_ACTOR_ID, type RemoteSettings } from './remote.js';
import type { RunOptions } from '../../types/options.js';
import type { RemoteOptions, RunDefaults, RuntimeOptions } from '../../types/runtime.js';

export const RUNTIME_LIMITS = {
  concurrency: { min: 1, max: 1024, remoteDefault: 25 },
  warmProcesses: { min: 0, max: 64 },
} as const;

/** Stands in for a script where only the other options are being validated. */
const PLACEHOLDER_CODE = ';';
const KNOWN = new Set(['concurrency', 'warmProcesses', 'defaults', 'remote', 'mcpServers', 'tools', 'egress']);
/** Run options that belong to the runtime itself, where their connections are shared. */
const RUNTIME_ONLY = ['mcpServers', 'tools'] as const;
const REMOTE_KNOWN = new Set(['token', 'actorId', 'build', 'memoryMbytes', 'baseUrl']);
/** Run options a remote run cannot honour per run: the Actor run's token and API are the runtime's; egress is this machine's configuration. */
const NOT_REMOTE = ['token', 'apiBaseUrl', 'egress'] as const;

function integer(name: string, value: unknown, range: { min: number; max: number }, fallback: number): number {
  return value === undefined ? fallback : number(name, value, range, true);
}

function plainObject(name: string, value: unknown): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(name, value, 'an object');
  return value as Record<string, unknown>;
}

function remoteSettings(raw: RemoteOptions): RemoteSettings {
  const unknown = Object.keys(raw).find((key) => !REMOTE_KNOWN.has(key));
  if (unknown) throw new TypeError(`Unknown option \`remote.${unknown}\`; the options are: ${[...REMOTE_KNOWN].join(', ')}`);
  const token = raw.token ?? (process.env.APIFY_TOKEN || undefined);
  if (typeof token !== 'string' || token.length === 0) fail('remote.token', token, 'a non-empty string (or set APIFY_TOKEN)');
  const actorId = raw.actorId ?? DEFAULT_ACTOR_ID;
  if (typeof actorId !== 'string' || !/^[\w.~-]+(\/[\w.~-]+)?$/.test(actorId)) fail('remote.actorId', actorId, 'an Actor ID or `username/name`');
  if (raw.build !== undefined && (typeof raw.build !== 'string' || raw.build.length === 0)) fail('remote.build', raw.build, 'a build tag or number');
  const memory = raw.memoryMbytes;
  if (memory !== undefined && (typeof memory !== 'number' || !Number.isInteger(memory) || memory < 128 || memory > 32_768 || (memory & (memory - 1)) !== 0)) {
    fail('remote.memoryMbytes', memory, 'a power of 2 from 128 to 32768');
  }
  let baseUrl: string;
  try {
    // Validated as a run's `apiBaseUrl` is: an http(s) origin.
    baseUrl = normalizeOptions({ code: PLACEHOLDER_CODE, apiBaseUrl: raw.baseUrl }).apiBaseUrl.origin;
  } catch (error) {
    throw new TypeError((error as Error).message.replace('`apiBaseUrl`', '`remote.baseUrl`'));
  }
  return { token, actorId, build: raw.build, memoryMbytes: memory, baseUrl };
}

/** The caller's options without keys set to `undefined`, which would hide a default. */
function definedOnly(input: RunOptions): RunOptions {
  return Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined)) as unknown as RunOptions;
}

export interface RuntimeSettings {
  concurrency: number;
  warmProcesses: number;
  defaults: RunDefaults;
  /** The defaults as a run would have them: what warm children are started for. */
  runShape: NormalizedOptions;
  remote?: RemoteSettings;
  /** The runtime's tool namespaces, checked; connected on first use and shared by every run. */
  tools: ToolSettings;
  /** The origins every run's fetch may reach; a run's own `egress` adds to them. */
  egress: EgressConfig;
}

export function runtimeSettings(options: RuntimeOptions): RuntimeSettings {
  const raw = plainObject('options', options) ?? {};
  const unknown = Object.keys(raw).find((key) => !KNOWN.has(key));
  if (unknown) throw new TypeError(`Unknown option \`${unknown}\`; the options are: ${[...KNOWN].join(', ')}`);
  const remoteRaw = plainObject('remote', raw.remote);
  // Copied: a caller changing its object later cannot change the runs.
  const defaults = { ...plainObject('defaults', raw.defaults) } as RunDefaults;
  for (const key of ['code', 'signal', 'onOutput', 'files']) {
    if (key in defaults) throw new TypeError(`\`defaults\` cannot hold \`${key}\`; pass it to each run`);
  }
  for (const key of RUNTIME_ONLY) {
    if (key in defaults) throw new TypeError(`\`defaults\` cannot hold \`${key}\`; give it to createRuntime itself, where its connections are shared by every run`);
  }
  if ('egress' in defaults) throw new TypeError('`defaults` cannot hold `egress`; give it to createRuntime itself (every run gets it; a run\'s own `egress` adds to it)');
  if (remoteRaw) {
    const bad = (['token', 'apiBaseUrl'] as const).find((key) => defaults[key] !== undefined);
    if (bad) throw new TypeError(`\`defaults.${bad}\` cannot be used with \`remote\`; set \`remote.${bad === 'token' ? 'token' : 'baseUrl'}\``);
    const local = RUNTIME_ONLY.find((key) => raw[key] !== undefined);
    if (local) throw new TypeError(`\`${local}\` cannot be used with \`remote\`: Actor runs on the platform cannot reach this machine's tools`);
    if (raw.egress !== undefined) throw new TypeError('`egress` cannot be used with `remote`: the Actor runs take their allowed origins from their own input (egressOrigins, egressHeaders)');
  }
  const tools = checkedTools(raw.mcpServers, raw.tools);
  let runShape: NormalizedOptions;
  try {
    runShape = normalizeOptions({ ...defaults, code: PLACEHOLDER_CODE });
  } catch (error) {
    throw new TypeError(`In \`defaults\`: ${(error as Error).message}`);
  }
  const { concurrency: c, warmProcesses: w } = RUNTIME_LIMITS;
  const concurrency = integer('concurrency', raw.concurrency, c, remoteRaw ? c.remoteDefault : availableParallelism());
  const warmProcesses = integer('warmProcesses', raw.warmProcesses, w, remoteRaw ? 0 : Math.min(concurrency + 1, w.max));
  if (remoteRaw && warmProcesses > 0) fail('warmProcesses', warmProcesses, '0 with `remote` (Actor runs have no warm sandboxes here)');
  const egress = normalizeEgress(raw.egress, process.env);
  return { concurrency, warmProcesses, defaults, runShape, remote: remoteRaw ? remoteSettings(remoteRaw as RemoteOptions) : undefined, tools, egress };
}

/**
 * One run's options over the runtime's defaults, validated; `where` prefixes messages (e.g.
 * `optionsList[3]: `) so the caller knows which entry was wrong.
 */
export function prepareRun(settings: RuntimeSettings, input: RunOptions, where = ''): NormalizedOptions {
  if (input === null || typeof input !== 'object') {
    throw new TypeError(`${where}Expected the options to be an object with at least \`code\`, got ${describe(input)}`);
  }
  if (settings.remote) {
    const bad = [...NOT_REMOTE, ...RUNTIME_ONLY].find((key) => input[key] !== undefined);
    if (bad) {
      const why = bad === 'token' || bad === 'apiBaseUrl' ? 'it is set by `remote`' : bad === 'egress' ? 'the Actor runs take their allowed origins from their own input'
        : 'Actor runs on the platform cannot reach this machine\'s tools';
      throw new TypeError(`${where}\`${bad}\` cannot be used with a remote runtime; ${why}`);
    }
  }
  try {
    const options = normalizeOptions({ ...settings.defaults, ...definedOnly(input) });
    return { ...options, egress: mergeEgress(settings.egress, options.egress) };
  } catch (error) {
    throw where && error instanceof TypeError ? new TypeError(`${where}${error.message}`) : error;
  }
}
