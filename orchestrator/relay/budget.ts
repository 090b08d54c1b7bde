/**
 * The run's budget for Actor runs: how many the script may start (`maxActorRuns`), how much their
 * caps may add up to (`maxTotalChargeUsd`) and the timeout of runs that set none. `reserve` checks
 * and commits in one synchronous step before the start is forwarded, so concurrent starts cannot
 * slip past a limit; a start the API refuses gives its reservation back. A cap is never below
 * MIN_CHARGE_USD (the API reads 0 as "no cap") and is reserved as asked, rounded up to the micro-dollar.
 */
import { MIN_CHARGE_USD } from './limits.js';

export interface BudgetLimits {
  maxActorRuns?: number;
  maxTotalChargeUsd?: number;
  defaultTimeoutSecs?: number;
}

export interface Reservation {
  /** The start's `timeout` and `maxTotalChargeUsd` after defaults and clamping (undefined: leave as asked). */
  timeoutSecs?: number;
  maxTotalChargeUsd?: number;
  /** Gives the reservation back; for a start the API refused, so no run exists. Idempotent. */
  release(): void;
}

export type ReserveResult = { ok: true; reservation: Reservation } | { ok: false; message: string };

export interface Budget {
  /** Reserves one run with the caps the script asked for; refuses with a message naming the limit. */
  reserve(asked: { timeoutSecs?: number; maxTotalChargeUsd?: number }): ReserveResult;
}

// Money is counted in micro-dollars, so that sums of caps like 0.1 + 0.2 stay exact.
const MICRO = 1_000_000;
const MIN_MICROS = Math.round(MIN_CHARGE_USD * MICRO);

/** Micro-dollars of a cap, rounded up: 0.1 stays 100000, 1e-7 becomes 1. */
function ceilMicros(value: number): number {
  const rounded = Math.round(value * MICRO);
  return rounded / MICRO < value ? rounded + 1 : rounded;
}

function usd(micros: number): string {
  return `$${Number((micros / MICRO).toFixed(6))}`;
}

export function createBudget(limits: BudgetLimits): Budget {
  let started = 0;
  let committedMicros = 0;
  const limitMicros = limits.maxTotalChargeUsd === undefined ? undefined : Math.floor(limits.maxTotalChargeUsd * MICRO);

  return {
    reserve(asked) {
      const { maxActorRuns } = limits;
      if (maxActorRuns !== undefined && started >= maxActorRuns) {
        return {
          ok: false,
          message: `maxActorRuns limit of ${maxActorRuns} reached: the script may start at most ${maxActorRuns} Actor run${maxActorRuns === 1 ? '' : 's'}`,
        };
      }
      let capMicros: number | undefined;
      if (limitMicros !== undefined) {
        const remaining = limitMicros - committedMicros;
        // Less than the smallest cap left is nothing left: a smaller cap could reach the API as 0.
        if (remaining < MIN_MICROS) {
          return {
            ok: false,
            message: `maxTotalChargeUsd limit of ${usd(limitMicros)} reached: the Actor runs this script started`
              + ` already reserve ${usd(committedMicros)} of it and each run's cap is at least ${usd(MIN_MICROS)};`
              + ' give each run a smaller maxTotalChargeUsd to leave room for more runs',
          };
        }
        // A run without its own cap may spend all that remains; a higher cap is clamped to it.
        const askedMicros = asked.maxTotalChargeUsd === undefined ? remaining : Math.max(MIN_MICROS, ceilMicros(asked.maxTotalChargeUsd));
        capMicros = Math.min(askedMicros, remaining);
      }
      started += 1;
      committedMicros += capMicros ?? 0;
      let released = false;
      return {
        ok: true,
        reservation: {
          timeoutSecs: asked.timeoutSecs ?? limits.defaultTimeoutSecs,
          maxTotalChargeUsd: capMicros === undefined ? asked.maxTotalChargeUsd : capMicros / MICRO,
          release() {
            if (released) return;
            released = true;
            started -= 1;
            committedMicros -= capMicros ?? 0;
          },
        },
      };
    },
  };
}
