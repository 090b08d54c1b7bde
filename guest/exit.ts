/**
 * Ends the process as soon as the script is done, instead of letting Deno tear the isolate down
 * first: once the event loop is empty and every `unload` listener has run, `Deno.exit()` (with the
 * exit code Deno would have used) skips the heap's teardown, ~1–2 ms of CPU and latency per run.
 * Invariant: it never cuts anything the script would still run. It steps aside (Deno exits as
 * usual) when an `unload` listener follows its own, when it cannot see Deno's listener list, and when
 * the script's text names `process` or a `node:` module, since Node's `process.on('exit')` hooks
 * run after `unload` and `Deno.exit()` would skip them.
 */

interface Listener {
  callback: unknown;
}

// Captured before any user code runs.
const exit = Deno.exit;
const addListener = globalThis.addEventListener.bind(globalThis);
const removeListener = globalThis.removeEventListener.bind(globalThis);
const symbolsOf = Object.getOwnPropertySymbols;

/** Deno's own list of globalThis's `unload` listeners (a symbol-keyed internal slot), or undefined. */
function unloadListeners(): () => Listener[] | undefined {
  for (const key of symbolsOf(globalThis)) {
    const data = (globalThis as unknown as Record<symbol, { listeners?: Record<string, Listener[] | undefined> } | undefined>)[key];
    const listeners = data && typeof data === 'object' ? data.listeners : undefined;
    if (listeners && typeof listeners === 'object') return () => listeners.unload;
  }
  return () => undefined;
}

export function exitWhenDone(code: string): void {
  // Plain substring tests: a regular expression here cost ~0.1 ms of compiling per run.
  if (code.includes('process') || code.includes('node:')) return;
  const listeners = unloadListeners();
  const finish = () => {
    const list = listeners();
    // Only when nothing of the script's follows in this dispatch.
    if (list && list.length > 0 && list[list.length - 1]!.callback === finish) exit();
  };
  // Moved to the end of the list each time the loop drains, after listeners the script added so far.
  addListener('beforeunload', () => {
    removeListener('unload', finish);
    addListener('unload', finish);
  });
  addListener('unload', finish);
}
