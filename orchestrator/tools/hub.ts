/**
 * The tools of a runtime (or of one run): one source per namespace, upstream MCP servers and host
 * functions alike, answering the relay as its `ToolDispatcher`. A run's hub may extend its
 * runtime's with namespaces of its own (`runtime.run({ tools })`); closing it then closes only
 * those, while the runtime's connections live on for the next run. One namespace failing never
 * touches another's calls or listings.
 */
import type { McpServersConfig } from '../config/shape.js';
import type { HostTools, ToolDescriptor, ToolListing } from '../../types/mcp.js';
import type { ToolCall, ToolDispatcher, ToolOutcome } from '../relay/tool-dispatcher.js';
import { HostSource } from './host.js';
import { nameList, type ToolSource } from './source.js';
import { McpUpstream } from './upstream.js';

export interface ToolSettings {
  mcpServers: McpServersConfig;
  hostTools: HostTools;
}

export class ToolHub implements ToolDispatcher {
  readonly #sources = new Map<string, ToolSource>();
  /** What close() ends: the sources this hub made, not its base's. */
  readonly #own: ToolSource[];
  /** Every secret of the configuration, for the relay's scrubber. */
  readonly secrets: readonly string[];
  #closing: Promise<void> | undefined;

  constructor(settings: ToolSettings, base?: ToolHub) {
    this.#own = [
      ...settings.mcpServers.servers.map((server) => new McpUpstream(server, settings.mcpServers.secrets)),
      ...Object.entries(settings.hostTools).map(([name, tools]) => new HostSource(name, tools)),
    ];
    const inherited = base ? base.#sources : new Map<string, ToolSource>();
    for (const [name, source] of inherited) this.#sources.set(name, source);
    for (const source of this.#own) {
      if (this.#sources.has(source.name)) {
        throw new TypeError(`Two tool namespaces are named \`${source.name}\` (${inherited.has(source.name) ? 'one of the runtime\'s and one of the run\'s' : 'an MCP server and host tools'}); give one another name`);
      }
      this.#sources.set(source.name, source);
    }
    this.secrets = [...new Set([...(base?.secrets ?? []), ...settings.mcpServers.secrets])];
  }

  get servers(): readonly string[] {
    return [...this.#sources.keys()];
  }

  /** Whether there is nothing to call (a run without tools opens no tools route). */
  get empty(): boolean {
    return this.#sources.size === 0;
  }

  async list(servers: readonly string[] | undefined, signal: AbortSignal): Promise<ToolListing> {
    const names = servers ?? this.servers;
    const tools: ToolDescriptor[] = [];
    const unavailable: ToolListing['unavailable'] = [];
    const listed = await Promise.all(names.map(async (name) => {
      const source = this.#sources.get(name);
      if (!source) return { name, error: this.#unknownServer(name) };
      try {
        return { name, tools: await source.list(signal) };
      } catch (error) {
        return { name, error: (error as Error).message };
      }
    }));
    for (const entry of listed) {
      if (entry.tools) tools.push(...entry.tools);
      else unavailable.push({ server: entry.name, message: entry.error ?? 'unavailable' });
    }
    return { tools, unavailable };
  }

  async call(call: ToolCall, signal: AbortSignal): Promise<ToolOutcome> {
    const source = this.#sources.get(call.server);
    if (!source) return { kind: 'failed', type: 'unknown-tool', message: this.#unknownServer(call.server) };
    return source.call(call.tool, call.args, signal);
  }

  #unknownServer(name: string): string {
    return this.#sources.size === 0
      ? 'This run has no tool servers; an operator adds them with --config (mcpServers) or createRuntime({ mcpServers, tools })'
      : `There is no tool server \`${name}\`; the servers are: ${nameList(this.servers)}`;
  }

  /** Closes what this hub made (connections, processes); idempotent. */
  close(): Promise<void> {
    this.#closing ??= Promise.all(this.#own.map((source) => source.close())).then(() => undefined);
    return this.#closing;
  }
}
