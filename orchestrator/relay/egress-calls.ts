/**
 * One run's egress as the relay counts it: the rules it goes out under, the body bytes it has sent
 * and been sent back (against the per-run caps), a record of each request (the first
 * `egressRecords`), and why a request the relay cut off was cut, which the guest asks for when its
 * connection broke (`GET /egress/why/<id>`), so the script's error says why. Counting is one
 * synchronous step per chunk, so concurrent requests cannot slip past a cap together.
 */
import type { EgressRequestRef } from '../../types/egress.js';
import { RELAY_LIMITS } from './limits.js';
import type { EgressRule } from './egress-rules.js';

export interface EgressLimits {
  /** Request body bytes the run may send, all requests together. */
  requestBytes: number;
  /** Response body bytes (decoded) the run may be sent, all requests together. */
  responseBytes: number;
  headersTimeoutMs: number;
  idleTimeoutMs: number;
}

export interface EgressSettings {
  /** The origins the run's fetch may reach; the Apify API's origin is one of them (without the token). */
  rules: readonly EgressRule[];
  /** The limits, when not RELAY_LIMITS' (tests make them small). */
  limits?: Partial<EgressLimits>;
}

/** One request under way: its byte counts and, at its end, its record. */
export interface EgressCall {
  /** Counts bytes of its request body; false once the run's request bytes are over the cap (nothing more may go). */
  sent(n: number): boolean;
  /** Counts bytes of its answer's body; false once the run's response bytes are over the cap. */
  received(n: number): boolean;
  /** Ends it with the origin's status (0 for none). Idempotent. */
  end(status: number): void;
}

/** Reasons kept per run for the guest to ask about; older ones are dropped. */
const REASONS_KEPT = 64;

export class EgressCalls {
  readonly rules: readonly EgressRule[];
  readonly limits: EgressLimits;
  readonly #records: EgressRequestRef[] = [];
  readonly #reasons = new Map<string, string>();
  #sent = 0;
  #received = 0;

  constructor(settings: EgressSettings) {
    this.rules = settings.rules;
    this.limits = {
      requestBytes: RELAY_LIMITS.egressRequestBytesPerRun,
      responseBytes: RELAY_LIMITS.egressResponseBytesPerRun,
      headersTimeoutMs: RELAY_LIMITS.egressHeadersTimeoutMs,
      idleTimeoutMs: RELAY_LIMITS.egressIdleTimeoutMs,
      ...settings.limits,
    };
  }

  /** A request starting now; its record is kept (within `egressRecords`) whatever becomes of it. */
  begin(origin: string, method: string): EgressCall {
    const record: EgressRequestRef | undefined = this.#records.length < RELAY_LIMITS.egressRecords ? { origin, method, status: 0, bytes: 0 } : undefined;
    if (record) this.#records.push(record);
    let bytes = 0;
    let ended = false;
    return {
      sent: (n) => {
        bytes += n;
        this.#sent += n;
        return this.#sent <= this.limits.requestBytes;
      },
      received: (n) => {
        bytes += n;
        this.#received += n;
        return this.#received <= this.limits.responseBytes;
      },
      end: (status) => {
        if (ended) return;
        ended = true;
        if (record) Object.assign(record, { status, bytes });
      },
    };
  }

  /** Keeps why the request the guest numbered `id` was cut off (already scrubbed). */
  explain(id: string | undefined, message: string): void {
    if (id === undefined) return;
    this.#reasons.delete(id);
    this.#reasons.set(id, message);
    if (this.#reasons.size > REASONS_KEPT) this.#reasons.delete(this.#reasons.keys().next().value as string);
  }

  why(id: string): string | undefined {
    return this.#reasons.get(id);
  }

  /** Copies of the records, in the order the requests were made. */
  list(): EgressRequestRef[] {
    return this.#records.map((record) => ({ ...record }));
  }
}
