/**
 * The global `tools` of types/tools.d.ts: `tools.NAME.TOOL(args)` calls a tool of an
 * upstream MCP server or of the embedder, through the orchestrator's relay (`POST …/tools/call`),
 * which holds every connection and credential and applies every bound; nothing of a server's
 * configuration is here but its name. Namespaces are Proxies, so tools need no listing before the
 * first call (servers connect on first use); a name the relay does not know comes back as an error
 * naming what exists. At most 8 calls are in flight at once (the relay's bound); more wait here.
 * Compiled on a script's first use of `tools` (lazy.ts), so its builtins are those captured before
 * the user's code ran (builtins.ts); Response's methods and timers are taken at the first call, as
 * api.ts does (touching them at start costs every run CPU).
 */
import { builtins } from './builtins.ts';
import { backoff, inFlightLimit, responseBuiltins as lazy } from './relay-call.ts';

const {
  fetch: fetchFn, apply, jsonParse, jsonStringify, freeze, defineProperty, isArray, Error: ErrorCtor,
  Proxy: ProxyCtor, reflectGet, create, getPrototypeOf, hasOwn, ObjectPrototype: ObjectProto, encodeURIComponent: encode,
} = builtins;

export interface ToolsConfig {
  /** The relay's base URL for this run, secret included. */
  url: string;
  /** The namespaces: `tools.<name>`. */
  servers: string[];
}

/** The relay's bound on calls in flight per run (RELAY_LIMITS.toolCallsPerRun). */
const IN_FLIGHT = 8;
const MAX_ATTEMPTS = 5;
/** Refusals that prove the call never reached a tool, so it may be sent again. */
const RETRYABLE = ['relay-too-many-requests', 'relay-too-many-connections', 'relay-busy', 'tool-calls-busy'];
/** Names a Proxy is asked for by the language and by common tools (await, JSON.stringify, inspectors), never tools. */
const NOT_TOOLS = ['then', 'toJSON', 'inspect', 'asymmetricMatch', 'nodeType', '$$typeof', 'prototype'];

/** A failed tool call: the tool's own error, its server's failure, a limit, or an unknown name. */
export class ToolError extends ErrorCtor {
  declare readonly name: 'ToolError';
  /** `tool-error` (the tool answered isError), `unknown-tool`, `invalid-arguments`, `unavailable`, `protocol-error`, `timed-out`, a limit's type… */
  readonly type: string;
  readonly server: string;
  readonly tool: string;

  constructor(type: string, server: string, tool: string, message: string) {
    super(message);
    this.type = type;
    this.server = server;
    this.tool = tool;
  }
}
defineProperty(ToolError.prototype, 'name', { value: 'ToolError', writable: true, configurable: true });

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== 'object' || isArray(value)) return false;
  const proto = getPrototypeOf(value);
  return proto === ObjectProto || proto === null;
}

function kindOf(value: unknown): string {
  return value === null ? 'null' : isArray(value) ? 'an array' : typeof value;
}

export function createTools(config: ToolsConfig): object {
  const known = config.servers;
  const inFlight = inFlightLimit(IN_FLIGHT);

  function unknownServer(name: string): ToolError {
    const message = known.length === 0
      ? 'This run has no tool servers; an operator adds them with --config (mcpServers) or createRuntime({ mcpServers, tools })'
      : `There is no tool server \`${name}\`; the servers are: ${known.join(', ')}`;
    return new ToolError('unknown-tool', name, '', message);
  }

  /** One request to the relay's tools route; its JSON answer, after retrying what never reached a tool. */
  async function request(path: string, init: RequestInit, server: string, tool: string): Promise<Record<string, unknown>> {
    for (let attempt = 1; ; attempt += 1) {
      const b = lazy();
      let status: number;
      let text: string;
      try {
        const response = await fetchFn(`${config.url}${path}`, init);
        status = apply(b.status, response, []) as number;
        text = await (apply(b.text, response, []) as Promise<string>);
      } catch (error) {
        throw new ToolError('relay', server, tool, `could not reach the tools relay: ${error instanceof ErrorCtor ? error.message : String(error)}`);
      }
      let body: Record<string, unknown> | undefined;
      try {
        body = jsonParse(text) as Record<string, unknown>;
      } catch {
        body = undefined;
      }
      const error = body?.error as { type?: unknown; message?: unknown } | undefined;
      if (status < 300 && body && !error) return body;
      const type = typeof error?.type === 'string' ? error.type : `http-${status}`;
      const message = typeof error?.message === 'string' ? error.message : `the tools relay answered ${status}`;
      if (status === 429 && RETRYABLE.includes(type) && attempt < MAX_ATTEMPTS) {
        await backoff(attempt, 2000, b.setTimeout);
        continue;
      }
      throw new ToolError(type, server, tool, type === 'tool-error' ? `${server}.${tool}: ${message}` : message);
    }
  }

  async function call(server: string, tool: string, args: unknown, raw: boolean): Promise<unknown> {
    if (args !== undefined && !isPlainObject(args)) {
      throw new ToolError('invalid-arguments', server, tool, `${server}.${tool} takes one object of named arguments, e.g. { a: 2 }, got ${kindOf(args)}`);
    }
    await inFlight.take();
    try {
      // Made only once it may be sent: a thousand queued calls hold their arguments, not a copy each.
      const body = jsonStringify({ server, tool, args: args ?? {}, raw });
      const answer = await request('/tools/call', { method: 'POST', headers: { 'content-type': 'application/json' }, body }, server, tool);
      return raw ? answer.result : answer.value;
    } finally {
      inFlight.give();
    }
  }

  function checkNames(server: unknown, tool: unknown, what: string): void {
    if (typeof server !== 'string' || typeof tool !== 'string') {
      throw new ToolError('invalid-arguments', String(server), String(tool), `tools.${what}(server, tool, args) takes the server's and the tool's names as strings`);
    }
    if (!known.includes(server)) throw unknownServer(server);
  }

  const toolFunctions: Record<string, Record<string, (args?: unknown) => Promise<unknown>>> = create(null);

  function namespace(server: string): object {
    const cache: Record<string, (args?: unknown) => Promise<unknown>> = create(null);
    toolFunctions[server] = cache;
    return new ProxyCtor(freeze(create(ObjectProto)), {
      get(target, key) {
        if (typeof key === 'symbol' || key in target) return reflectGet(target, key);
        if (NOT_TOOLS.includes(key)) return undefined;
        if (!hasOwn(cache, key)) {
          // Named after the tool, so stack traces and printing read `get-sum`.
          const fn = (args?: unknown) => call(server, key, args, false);
          defineProperty(fn, 'name', { value: key });
          cache[key] = fn;
        }
        return cache[key];
      },
      set: () => false,
      defineProperty: () => false,
      deleteProperty: () => false,
    });
  }

  const members: Record<string, unknown> = create(ObjectProto);
  // Defined, not assigned: a server may be named like an Object.prototype member (`__proto__` too).
  const member = (name: string, value: unknown) => defineProperty(members, name, { value, enumerable: true });
  for (const server of known) member(server, namespace(server));
  member('$call', (server: string, tool: string, args?: unknown) => {
    checkNames(server, tool, '$call');
    return call(server, tool, args, false);
  });
  member('$callTool', (server: string, tool: string, args?: unknown) => {
    checkNames(server, tool, '$callTool');
    return call(server, tool, args, true);
  });
  member('$list', async (server?: string) => {
    if (server !== undefined) checkNames(server, '', '$list');
    const query = server === undefined ? '' : `?server=${encode(server)}`;
    const listing = await request(`/tools/list${query}`, { method: 'GET' }, server ?? '', '');
    const unavailable = listing.unavailable as Array<{ server: string; message: string }>;
    if (server !== undefined && unavailable.length > 0) throw new ToolError('unavailable', server, '', unavailable[0]!.message);
    return listing.tools;
  });
  const target = freeze(members);
  return new ProxyCtor(target, {
    get(object, key) {
      if (typeof key === 'symbol' || key in object) return reflectGet(object, key);
      if (NOT_TOOLS.includes(key)) return undefined;
      throw unknownServer(key);
    },
    set: () => false,
    defineProperty: () => false,
    deleteProperty: () => false,
  });
}
