/**
 * Test helpers for runtime and pool tests: find one runtime's Deno processes among this process's
 * own descendants (each test gives its runtime a memory limit no other test in the suite uses, so
 * its flag tells its children from those of the test before), and wait for a condition without
 * timing assumptions.
 */
import { descendants } from './processes.js';

/** Live Deno processes this process started (directly or through its spawner) with `--max-old-space-size=<memoryMbytes>`, as `pid: command line`. */
export function sandboxesWith(memoryMbytes: number): string[] {
  // The flag is followed by the bootstrap's path, so `=7 ` never matches `=77 `.
  const flag = `--max-old-space-size=${memoryMbytes} `;
  return descendants().filter(({ cmdline }) => cmdline.includes(flag)).map(({ pid, cmdline }) => `${pid}: ${cmdline}`);
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
