/**
 * `--config FILE`, the operator's configuration (`../config/`), for the run, `mcp` and `serve`
 * alike: read and checked before anything starts, a mistake in it is a usage error naming the
 * file and the key; its settings become the library's options of the same names.
 */
import { ConfigError } from '../config/error.js';
import { loadConfigFile } from '../config/load.js';
import { UsageError } from './flags.js';
import type { McpServers } from '../../types/mcp.js';

export const CONFIG_HELP = 'operator settings: a JSON file with `mcpServers` (the format of .mcp.json) whose tools scripts call as tools.NAME.TOOL(args)';

/** The options `--config FILE` sets (none without the flag). */
export function configFlag(file: string | undefined): { mcpServers?: McpServers } {
  if (file === undefined) return {};
  try {
    const loaded = loadConfigFile(file);
    return loaded.mcpServers === undefined ? {} : { mcpServers: loaded.mcpServers };
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message);
    throw error;
  }
}
