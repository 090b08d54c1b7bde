/**
 * Reads the operator's configuration file (`--config FILE`): JSON, whose top-level keys are those
 * of `shape.ts`. A plain `.mcp.json` or an MCP client's config holding only `mcpServers` works
 * unchanged. Errors name the file, and the line and column of bad JSON.
 */
import { readFileSync } from 'node:fs';
import { ConfigError, isPlainObject, kindOf } from './error.js';
import { normalizeEgress } from './egress.js';
import { normalizeMcpServers } from './mcp-servers.js';
import { CONFIG_KEYS, type OperatorConfig } from './shape.js';
import type { McpServers } from '../../types/mcp.js';
import type { EgressOrigins } from '../../types/egress.js';

/** A configuration file: its keys as written (for the library, which expands them itself) and as checked. */
export interface ConfigFile {
  /** `mcpServers` as the file has it, for `runCode` and `createRuntime`. */
  mcpServers?: McpServers;
  /** `egress` as the file has it, for `runCode` and `createRuntime`. */
  egress?: EgressOrigins;
  config: OperatorConfig;
}

/** The largest file read: a configuration, not a data set. */
const MAX_FILE_BYTES = 1024 * 1024;

/** The normalized configuration from parsed JSON; `env` feeds `${VAR}`. Throws ConfigError. */
export function normalizeConfig(raw: unknown, env: NodeJS.ProcessEnv): OperatorConfig {
  if (!isPlainObject(raw)) throw new ConfigError(`the configuration must be a JSON object such as {"mcpServers": {…}}, got ${kindOf(raw)}`);
  const known = Object.keys(CONFIG_KEYS);
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) {
      throw new ConfigError(`\`${key}\` is not a configuration key; the keys are: ${Object.entries(CONFIG_KEYS).map(([name, what]) => `${name} (${what})`).join('; ')}`);
    }
  }
  return { mcpServers: normalizeMcpServers(raw.mcpServers, env), egress: normalizeEgress(raw.egress, env) };
}

/** "line 3, column 7" of a character offset in `text`. */
function position(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1}`;
}

/** Reads and checks the file at `file`. Throws ConfigError naming the file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): ConfigFile {
  let text: string;
  try {
    const bytes = readFileSync(file);
    if (bytes.length > MAX_FILE_BYTES) throw new ConfigError(`${file} is ${bytes.length} bytes; a configuration file may have at most ${MAX_FILE_BYTES}`);
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ConfigError(`cannot read the configuration ${file}: ${why}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const at = /position (\d+)/.exec((error as Error).message);
    throw new ConfigError(`${file} is not valid JSON${at ? ` (at ${position(text, Number(at[1]))})` : ''}: ${(error as Error).message.replace(/ in JSON at position \d+.*$/, '')}`);
  }
  try {
    const config = normalizeConfig(raw, env);
    const { mcpServers, egress } = raw as { mcpServers?: McpServers; egress?: EgressOrigins };
    return { mcpServers, egress, config };
  } catch (error) {
    if (error instanceof ConfigError) throw new ConfigError(`in ${file}: ${error.message}`);
    throw error;
  }
}
