/**
 * What the guest's relay clients share (api.ts, tools.ts, files.ts, egress.ts): the builtins Deno
 * loads only when first touched (Response, Headers, timers), captured at a client's first call
 * rather than at load, since touching them costs every run CPU even when the script never calls;
 * a cap on calls in flight that hands a finished call's place to the next in line; and the wait
 * before a refused call is sent again.
 * A script that patches these builtins before its first call only misleads itself: the relay, not
 * this code, guards every secret and bound. Each lazily compiled module gets its own copy of this
 * one (scripts/bundle-guest.mjs), so what it captures is per client.
 */
import { builtins } from './builtins.ts';

const { getOwnPropertyDescriptor: getDescriptor, Promise: PromiseCtor, min, random } = builtins;

/** The Response and Headers methods and the timer a relay client calls through `apply`. */
export interface ResponseBuiltins {
  status: () => number;
  headers: () => Headers;
  get: (name: string) => string | null;
  text: () => Promise<string>;
  arrayBuffer: () => Promise<ArrayBuffer>;
  setTimeout: typeof setTimeout;
}

let captured: ResponseBuiltins | undefined;

export function responseBuiltins(): ResponseBuiltins {
  if (captured) return captured;
  const response = Response.prototype;
  const getter = (name: string) => getDescriptor(response, name)?.get as () => never;
  captured = {
    status: getter('status'),
    headers: getter('headers'),
    get: Headers.prototype.get,
    text: response.text,
    arrayBuffer: response.arrayBuffer,
    setTimeout: globalThis.setTimeout,
  };
  return captured;
}

/** At most `limit` calls hold a place at once; `take` waits for one, `give` hands it on. */
export interface InFlight {
  take(): Promise<void>;
  give(): void;
}

export function inFlightLimit(limit: number): InFlight {
  let held = 0;
  const waiting: Array<() => void> = [];
  return {
    async take() {
      if (held < limit) {
        held += 1;
        return;
      }
      // Handed over by the call that finishes, so the count never dips and lets two in.
      await new PromiseCtor<void>((resolve) => waiting[waiting.length] = resolve);
    },
    give() {
      const next = waiting.shift();
      if (next) next();
      else held -= 1;
    },
  };
}

/** The wait before attempt `attempt + 1`: 100 ms doubling up to `capMs`, ±25 % so that calls refused together spread out. */
export function backoff(attempt: number, capMs: number, timer: typeof setTimeout): Promise<void> {
  const delay = min(100 * 2 ** (attempt - 1), capMs) * (0.75 + random() / 2);
  return new PromiseCtor((resolve) => timer(resolve, delay));
}
