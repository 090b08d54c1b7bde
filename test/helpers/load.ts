/**
 * Shared by the relay flood test and `npm run stress`: a sampler of this process's resident memory
 * and open file descriptors, and a well-behaved script whose exact output is known, to run beside
 * hostile ones. Linux only (reads /proc/self/fd).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface Samples {
  baseRss: number;
  peakRss: number;
  baseFds: number;
  peakFds: number;
}

const fdCount = () => readdirSync('/proc/self/fd').length;

/** Samples every 20 ms from now until `stop()`. */
export function sampleProcess(): { stop(): Samples } {
  const samples: Samples = { baseRss: process.memoryUsage().rss, peakRss: 0, baseFds: fdCount(), peakFds: 0 };
  const take = () => {
    samples.peakRss = Math.max(samples.peakRss, process.memoryUsage().rss);
    samples.peakFds = Math.max(samples.peakFds, fdCount());
  };
  take();
  const timer = setInterval(take, 20);
  return {
    stop() {
      clearInterval(timer);
      take();
      return { ...samples };
    },
  };
}

/** A script that uses the binding as an agent would; its stdout is exactly `wellBehavedExpected()`. */
export const WELL_BEHAVED = `
const { id } = await apify.dataset.create();
await apify.dataset.pushItems({ datasetId: id, items: [{ n: 1 }, { n: 2 }, { n: 3 }] });
const items = await apify.dataset.listItems({ datasetId: id });
const store = await apify.kvs.create();
await apify.kvs.set({ storeId: store.id, key: 'k', value: { ok: true } });
const value = await apify.kvs.get({ storeId: store.id, key: 'k' });
const found = await apify.actor.search({ query: 'hello' });
console.log(JSON.stringify({ items, value, found: found.map((a) => a.name) }));
`;

export function wellBehavedExpected(): unknown {
  return { items: [{ n: 1 }, { n: 2 }, { n: 3 }], value: { ok: true }, found: ['hello-world'] };
}

/**
 * This process's fds that are connections to or from a server of its own on one of `ports` (a server
 * in this process counts each kept-alive connection twice): pools shared by every run and closed when
 * idle, not anything one run holds.
 */
export function poolFds(ports: number[]): number {
  const ends = ports.map((port) => `:${port.toString(16).toUpperCase().padStart(4, '0')}`);
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (ends.some((end) => fields[1]?.endsWith(end) || fields[2]?.endsWith(end))) inodes.add(fields[9] ?? '');
    }
  }
  return readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))?.[1] ?? '-');
    } catch {
      return false;
    }
  }).length;
}
