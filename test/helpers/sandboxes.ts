/**
 * Test helpers for runtime and pool tests: find one runtime's Deno processes in the process table
 * (each test gives its runtime a memory limit no other test uses, so its flag identifies them),
 * and wait for a condition without timing assumptions.
 */
import { processesMatching } from './helpers.js';

/** Live (non-zombie) Deno processes started with `--max-old-space-size=<memoryMbytes>`. */
export function sandboxesWith(memoryMbytes: number): string[] {
  // The flag is followed by the bootstrap's path, so `=7 ` never matches `=77 `.
  return processesMatching(`--max-old-space-size=${memoryMbytes} `);
}

/** Polls `check` until it returns true; false if it still does not after `timeoutMs`. */
export async function waitUntil(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return check();
}

/** Samples `measure` every few milliseconds until `stop()` is called, keeping the largest value. */
export function sampleMax(measure: () => number): { max(): number; stop(): number } {
  let max = measure();
  const timer = setInterval(() => {
    max = Math.max(max, measure());
  }, 5);
  return {
    max: () => max,
    stop: () => {
      clearInterval(timer);
      max = Math.max(max, measure());
      return max;
    },
  };
}
