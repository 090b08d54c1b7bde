/**
 * Errors and rejections nobody handled, in this realm. The realm's listeners run before any of the
 * script's (they are added first); each waits one microtask, so the script's own listeners can still
 * handle the error by calling `preventDefault()`, as `process.on('uncaughtException')` would. Once
 * the event loop is over (an error thrown in an `unload` listener) no microtask runs: `flush`
 * hands over what still waits.
 */
import { addListener, defineProperty, errorOf, own, preventDefault, queue, reasonOf } from './captured.ts';

export type Kind = 'threw' | 'rejection';
/** Told of each error no listener of the script's handled: the thrown value, and its event. */
export type Unhandled = (kind: Kind, error: unknown, event: Event) => void;

interface Waiting {
  kind: Kind;
  error: unknown;
  event: Event;
  handled: () => boolean;
}

export function watchUncaught(onUnhandled: Unhandled): { flush(): void } {
  // Null-prototype and keyed by number: no method or setter of the script's is ever called on it.
  const waiting: Record<number, Waiting> = { __proto__: null } as never;
  let count = 0;
  const seen = (kind: Kind, event: Event, error: unknown) => {
    let handled = false;
    preventDefault(event);
    // The script's listeners, called after this one, mark it handled the usual way.
    defineProperty(event, 'preventDefault', own({ value: () => { handled = true; }, configurable: true }));
    const id = (count += 1);
    waiting[id] = { __proto__: null, kind, error, event, handled: () => handled } as never;
    queue(() => {
      delete waiting[id];
      if (!handled) onUnhandled(kind, error, event);
    });
  };
  addListener('error', (event) => seen('threw', event, errorOf(event)));
  addListener('unhandledrejection', (event) => seen('rejection', event, reasonOf(event)));
  return {
    flush() {
      for (const id in waiting) {
        const pending = waiting[id]!;
        delete waiting[id];
        if (!pending.handled()) onUnhandled(pending.kind, pending.error, pending.event);
      }
    },
  };
}
