// The orchestrator itself under a hostile or starved run: its fd table and its memory, measured in
// a separate Node process (resource-probe.ts) so the test runner's own state cannot mask a crash.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resolveTool } from '../../orchestrator/run/deno.js';

const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'resource-probe.js');

function probe(scenario: string, wrap: string[] = [], nodeFlags: string[] = [], scenarioArgs: string[] = []): { status: number | null; json: Record<string, any>; stderr: string } {
  const [file, ...args] = [...wrap, process.execPath, ...nodeFlags, PROBE, scenario, ...scenarioArgs];
  const r = spawnSync(file!, args, { encoding: 'utf8', timeout: 90_000 });
  let json: Record<string, any> = {};
  try {
    json = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
  } catch {
    // Asserted below through the exit status and the stderr shown.
  }
  return { status: r.status, json, stderr: r.stderr };
}

const resources = suite('resources');

/**
 * Chunks of output the tiny-writes probe collects, and what they may add to its RSS. Measured: a run's
 * own cost is ~20 MB whatever the count, plus ~70 bytes a chunk of garbage not yet collected (20,000:
 * 19–20 MB; 60,000: 21–24; 120,000: 26–27); a Buffer kept per chunk cost ~500 bytes more (+61 MB for
 * 83,522), ~80 MB here. 50 MB sits well between the two.
 */
const TINY_WRITE_CHUNKS = 120_000;
const TINY_WRITE_GROWTH_MB = 50;

resources('resources :: out of file descriptors, a run rejects with a clear message and the process lives on', () => {
  const prlimit = resolveTool('prlimit');
  assert.ok(prlimit, 'util-linux prlimit is needed to lower the fd limit');
  const r = probe('fd-exhaustion', [prlimit!, '--nofile=200', '--']);
  assert.is(r.status, 0, `the orchestrator process died:\n${r.stderr}`);
  assert.is(r.json.first, 'before\n');
  assert.is(r.json.starved.ok, false);
  assert.match(r.json.starved.error, /^Could not start the Deno sandbox \(.*\): spawn .* EMFILE: this process has no file descriptors left/);
  // A pool that cannot refill and runs that cannot start are entries of runMany, not a crash.
  assert.equal(r.json.starvedMany.value?.map((entry: { status: string }) => entry.status), ['INFRASTRUCTURE-ERROR', 'INFRASTRUCTURE-ERROR']);
  assert.match(r.json.starvedMany.value[0].statusMessage, /EMFILE/);
  assert.is(r.json.after.value?.stdout, 'after\n', JSON.stringify(r.json.after));
  assert.is(r.json.afterPool.value?.stdout, 'pool after\n', JSON.stringify(r.json.afterPool));
  // Starved before its very first run: the one-time setup fails as that run's rejection, too.
  const fresh = probe('fd-exhaustion-from-start', [prlimit!, '--nofile=200', '--']);
  assert.is(fresh.status, 0, `the orchestrator process died:\n${fresh.stderr}`);
  assert.is(fresh.json.starved.ok, false);
  assert.match(fresh.json.starved.error, /EMFILE/);
  assert.is(fresh.json.after.value?.stdout, 'after\n', JSON.stringify(fresh.json.after));
});

resources('resources :: 1-byte writes cost the orchestrator the bytes kept, not a Buffer per chunk', () => {
  const r = probe('tiny-writes', [], ['--expose-gc'], [String(TINY_WRITE_CHUNKS)]);
  assert.is(r.status, 0, r.stderr);
  // Aborted by the probe once enough chunks came (TINY_WRITE_CHUNKS), not ended by its timeout.
  assert.is(r.json.status, 'ABORTED');
  assert.ok(r.json.chunks >= TINY_WRITE_CHUNKS, `only ${r.json.chunks} chunks; the test needs many`);
  const growthMb = r.json.growthBytes / 1024 / 1024;
  assert.ok(growthMb < TINY_WRITE_GROWTH_MB, `RSS grew ${growthMb.toFixed(1)} MB for ${r.json.chunks} chunks of 2 × ≤ 1 MiB kept output`);
});

resources.run();
