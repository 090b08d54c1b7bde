/**
 * The script's network, in place before it runs: its `fetch` goes through the relay to the origins
 * the operator allowed (egress.ts, compiled on the first call: a script that never fetches never
 * pays for it), and every other way out (`WebSocket`, `EventSource`, `Deno.connect`) fails at once
 * with an error naming what was tried and the allowed origins. The relay's own address stays as
 * reachable as it always was: it is the gate, and answers nothing without a run's secret.
 * Nothing here guards a secret (there is none in this process); what it takes from the globals
 * it takes here, before the script runs.
 */
import type { EgressConfig } from './egress.ts';
import { builtins } from './builtins.ts';
import { loadEgress } from './lazy.ts';
import { allowedWords, hostPort } from './origins.ts';

const { defineProperty, getOwnPropertyDescriptor, apply, arrayMap, Promise: PromiseCtor, Proxy: ProxyCtor, URL: URLCtor, NotCapable } = builtins;
const reflectConstruct = Reflect.construct;

/** A constructor that refuses every instance, and is otherwise the original (statics, prototype, `instanceof`). */
function refusingClass(original: () => unknown, deny: (args: unknown[]) => Error | undefined): unknown {
  let wrapped: unknown;
  return () => wrapped ??= new ProxyCtor(original() as object, {
    construct(target, args, newTarget) {
      const error = deny(args);
      if (error) throw error;
      return reflectConstruct(target as new (...a: unknown[]) => object, args, newTarget);
    },
  });
}

/** Replaces a lazily loaded global class by one that refuses to connect, loaded as lazily. */
function guardClass(target: typeof globalThis, name: string, deny: (args: unknown[]) => Error | undefined): void {
  const descriptor = getOwnPropertyDescriptor(target, name);
  if (!descriptor) return;
  const original = descriptor.get ? () => apply(descriptor.get!, target, []) : () => descriptor.value;
  const get = refusingClass(original, deny) as () => unknown;
  defineProperty(target, name, {
    get,
    // Assignable, as Deno's own globals are: the script's value then replaces ours.
    set(value: unknown) {
      defineProperty(target, name, { value, writable: true, enumerable: false, configurable: true });
    },
    enumerable: descriptor.enumerable,
    configurable: true,
  });
}

/** The URL a WebSocket or EventSource was asked for, or undefined when it is not one (the original constructor then says why). */
function targetOf(value: unknown, base?: string): URL | undefined {
  try {
    return new URLCtor(String(value), base);
  } catch {
    return undefined;
  }
}

/**
 * Installs the script's network: `fetch` through the relay, and every other way out refused with
 * the allowed origins named. Installed before the envelope arrives, it takes the relay's address
 * (`config()`) and the envelope's `allowedOrigins()` (the relay judges by the same) when first needed.
 */
export function installEgress(target: typeof globalThis, config: () => EgressConfig, allowedOrigins: () => readonly string[]): void {
  // Parsed when first needed: the first URL a process parses costs ~0.25 ms.
  let reachable: string[] | undefined;
  let gate: string | undefined;
  const gateOf = () => gate ??= config().url === '' ? '' : new URLCtor(config().url).host;

  /**
   * The refusal of a way out other than fetch, in the words of every network denial (the realm's
   * too, guest/realm/denials.ts); to an allowed origin, it says that only fetch goes there.
   */
  function notFetch(where: string, through: string): Error {
    const allowed = allowedWords(allowedOrigins());
    reachable ??= apply(arrayMap, allowedOrigins(), [(name: string) => hostPort(new URLCtor(name))]) as string[];
    if (!reachable.includes(where)) return new NotCapable(`network access to ${where} is not allowed in this sandbox; ${allowed}`);
    return new NotCapable(`network access to ${where} through ${through} is not allowed in this sandbox (only fetch reaches the network); ${allowed}`);
  }

  let relayed: ((input: RequestInfo | URL, init?: RequestInit) => Promise<Response>) | undefined;
  const fetch = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    relayed ??= loadEgress()(config(), allowedOrigins());
    return relayed(input, init);
  };
  defineProperty(fetch, 'name', { value: 'fetch' });
  defineProperty(target, 'fetch', { value: fetch, writable: true, enumerable: true, configurable: true });
  guardClass(target, 'WebSocket', (args) => {
    const url = targetOf(args[0]);
    return url && notFetch(hostPort(url), 'WebSocket');
  });
  guardClass(target, 'EventSource', (args) => {
    const url = targetOf(args[0]);
    return url && notFetch(hostPort(url), 'EventSource (read the stream with fetch instead)');
  });
  const deno = target.Deno as unknown as Record<string, unknown>;
  for (const name of ['connect', 'connectTls']) {
    const original = deno[name] as (options: { hostname?: string; port?: number; transport?: string }) => Promise<unknown>;
    if (typeof original !== 'function') continue;
    const guarded = function (this: unknown, options: { hostname?: string; port?: number; transport?: string }) {
      const where = `${options?.hostname ?? '127.0.0.1'}:${options?.port}`;
      // Unix sockets are files: Deno denies them itself. The relay is the sandbox's own (it answers only a run's secret).
      if (options?.transport === 'unix' || where === gateOf()) return apply(original, this, [options]);
      return PromiseCtor.reject(notFetch(where, `Deno.${name}`));
    };
    defineProperty(guarded, 'name', { value: name });
    deno[name] = guarded;
  }
}
