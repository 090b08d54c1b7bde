/**
 * One run's tool calls as the relay counts them: how many it made (against `maxToolCalls`), how
 * many are in flight (against `toolCallsPerRun`), and a record of each (the first
 * `toolCallRecords`), as `runs.ts` keeps the Actor runs. `begin` checks and commits in one
 * synchronous step, so concurrent calls cannot slip past a limit.
 */
import type { ToolCallRef } from '../../types/result.js';
import { RELAY_LIMITS } from './limits.js';
import type { ToolDispatcher } from './tool-dispatcher.js';

export interface ToolLimits {
  dispatcher: ToolDispatcher;
  /** Calls the script may make in all. */
  maxCalls: number;
  /** How long one call may take. */
  timeoutMs: number;
}

export type BeginResult = { ok: true; end(status: ToolCallRef['status']): void } | { ok: false; type: string; message: string };

export class ToolCalls {
  readonly #limits: ToolLimits;
  readonly #records: ToolCallRef[] = [];
  #made = 0;
  #inFlight = 0;

  constructor(limits: ToolLimits) {
    this.#limits = limits;
  }

  get dispatcher(): ToolDispatcher {
    return this.#limits.dispatcher;
  }

  get timeoutMs(): number {
    return this.#limits.timeoutMs;
  }

  /** Takes one call's place, or refuses naming the limit; `end` records how it ended and frees the place. */
  begin(server: string, tool: string): BeginResult {
    const { maxCalls } = this.#limits;
    if (this.#made >= maxCalls) {
      return { ok: false, type: 'tool-call-limit', message: `maxToolCalls limit of ${maxCalls} reached: this run may make at most ${maxCalls} tool call${maxCalls === 1 ? '' : 's'}` };
    }
    const most = RELAY_LIMITS.toolCallsPerRun;
    if (this.#inFlight >= most) {
      return { ok: false, type: 'tool-calls-busy', message: `This run already has ${this.#inFlight} tool calls in flight (the limit is ${most}); await some before making more` };
    }
    this.#made += 1;
    this.#inFlight += 1;
    const startedAt = performance.now();
    const record: ToolCallRef | undefined = this.#records.length < RELAY_LIMITS.toolCallRecords
      ? { server, tool, status: 'ABORTED', durationMillis: 0 } : undefined;
    if (record) this.#records.push(record);
    let ended = false;
    return {
      ok: true,
      end: (status) => {
        if (ended) return;
        ended = true;
        this.#inFlight -= 1;
        if (record) Object.assign(record, { status, durationMillis: Math.round(performance.now() - startedAt) });
      },
    };
  }

  /** Copies of the records, in the order the calls were made. */
  list(): ToolCallRef[] {
    return this.#records.map((record) => ({ ...record }));
  }
}
