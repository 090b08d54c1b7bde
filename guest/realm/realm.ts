/**
 * The realm code: what runs first in every realm a script gets, the main one and each Worker's,
 * before any code of the script's. It hides the host (host.ts), words Deno's denials for the sandbox
 * (denials.ts), names the script in every stack (stacks.ts), watches for errors nobody handled
 * (uncaught.ts) and gives each Worker the same (workers.ts).
 * Invariant: it is built as text of its own (scripts/bundle-guest.mjs), run with `new Function` in
 * the main realm and handed to Workers as that same text; after it ran, it uses only builtins it
 * captured (captured.ts). It holds no secret and no path of this machine.
 */
import { type RealmFacts, named, settle } from './facts.ts';
import { hideHost } from './host.ts';
import { wordDenials, reword } from './denials.ts';
import { installStackHook, isGuestFrame } from './stacks.ts';
import { type Kind, type Unhandled, watchUncaught } from './uncaught.ts';
import { reportToCreator, type WorkerFailure, workerFailure, wrapWorkers } from './workers.ts';

export type { Kind, RealmFacts, Unhandled, WorkerFailure };

export interface Realm {
  /** Tells the realm about its run (the main realm, when the envelope arrives: before the script runs). */
  settle(facts: RealmFacts): void;
  /** `text` with the script's module URL shown as its name. */
  named(text: string): string;
  /** Whether a frame, or a stack line, is the guest's or Deno's own. */
  isGuestFrame(text: string): boolean;
  /** Starts handing errors nobody handled to `onUnhandled`; `flush` hands over those still waiting. */
  watchUncaught(onUnhandled: Unhandled): { flush(): void };
  /** For an ErrorEvent a failed Worker raised here: its error as the Worker's realm wrote it. */
  workerFailure(event: Event): WorkerFailure | undefined;
  /** In a Worker: settles its facts, then runs its module, reporting failures to its creator. */
  runWorker(facts: RealmFacts, moduleUrl: string): void;
}

/** Prepares this realm; `source` is this code's own text (for Workers), `hiddenUrls` more modules whose frames are the guest's. */
export function prepareRealm(source: string, hiddenUrls: readonly string[]): Realm {
  hideHost();
  wordDenials();
  installStackHook(reword, hiddenUrls);
  wrapWorkers(source);
  return {
    settle,
    named,
    isGuestFrame,
    watchUncaught,
    workerFailure,
    runWorker(facts, moduleUrl) {
      settle(facts);
      watchUncaught(reportToCreator);
      import(moduleUrl).then(undefined, (error) => reportToCreator('threw', error));
    },
  };
}
