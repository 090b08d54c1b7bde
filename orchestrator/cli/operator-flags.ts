/**
 * The operator's flags, shared by the run command, `mcp` and `serve`: `--config FILE` (the
 * operator's configuration file: `mcpServers`, `egress`) and `--allow-host ORIGIN` (repeatable: an
 * origin the script's fetch may reach, with no added headers), turned into the library's options.
 * A bad file or origin is a usage error naming the flag, the key and what is allowed.
 */
import { parseEgressOrigin, ruleName } from '../config/egress.js';
import { ConfigError } from '../config/error.js';
import { loadConfigFile } from '../config/load.js';
import type { EgressOrigins } from '../../types/egress.js';
import type { McpServers } from '../../types/mcp.js';
import { HELP_COLUMN, UsageError } from './flags.js';

/** `parseArgs` definitions of the operator's flags. */
export const OPERATOR_FLAG_PARSE = {
  config: { type: 'string' as const },
  'allow-host': { type: 'string' as const, multiple: true as const },
};

/** The `--help` lines of the operator's flags. */
export function operatorFlagHelp(): string[] {
  return [
    `${'  --config FILE'.padEnd(HELP_COLUMN)}the operator's configuration (JSON): mcpServers (tools), egress (origins fetch may reach, with headers added on the way out)`,
    `${'  --allow-host ORIGIN'.padEnd(HELP_COLUMN)}let the script's fetch reach ORIGIN (e.g. https://api.github.com), with no added headers; repeatable`,
  ];
}

export interface OperatorOptions {
  mcpServers?: McpServers;
  egress?: EgressOrigins;
}

/** An origin key as the relay will name it, or the key itself when it is not one (its error comes later, naming the file). */
function nameOf(key: string): string {
  try {
    return ruleName(parseEgressOrigin(key, ''));
  } catch {
    return key;
  }
}

/** The library options the operator's flags give; `undefined` for what they leave unset. */
export function operatorOptions(values: { config?: string; 'allow-host'?: string[] }): OperatorOptions {
  let file: ReturnType<typeof loadConfigFile> | undefined;
  try {
    file = values.config === undefined ? undefined : loadConfigFile(values.config);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(`--config: ${error.message}`);
    throw error;
  }
  const egress: EgressOrigins = { ...file?.egress };
  const named = new Set(Object.keys(egress).map(nameOf));
  for (const origin of values['allow-host'] ?? []) {
    let name: string;
    try {
      name = ruleName(parseEgressOrigin(origin, '--allow-host'));
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message.replace('`--allow-host`', `--allow-host ${JSON.stringify(origin.slice(0, 200))}`));
      throw error;
    }
    // The file's entry for the same origin keeps its headers.
    if (!named.has(name)) egress[origin] = {};
    named.add(name);
  }
  return {
    mcpServers: file?.mcpServers,
    egress: Object.keys(egress).length > 0 ? egress : undefined,
  };
}
