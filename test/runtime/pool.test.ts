// The warm pool, through a runtime and real Deno children: its size is a ceiling, no child runs
// twice, it refills, runs with other settings start their own child, and failing children make it
// back off. Each test uses a memory limit no other test in the suite uses, so among this process's
// descendants its flag shows its children only.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime } from '../../orchestrator/index.js';
import { SandboxChild } from '../../orchestrator/run/child.js';
import { WarmPool } from '../../orchestrator/runtime/pool.js';
import type { SandboxCommand } from '../../orchestrator/run/sandbox.js';
import { fixture } from '../helpers/helpers.js';
import { isAlive, processRef, type ProcessRef } from '../helpers/processes.js';
import { sampleMax, sandboxesWith, waitUntil } from '../helpers/sandboxes.js';

const pool = suite('pool');

/** What WarmPool starts its children with, counting them. */
function countingSpawn(): { spawn: (command: SandboxCommand, cwd: string) => SandboxChild; count(): number } {
  let started = 0;
  return {
    spawn: (command, cwd) => {
      started += 1;
      return new SandboxChild(command, cwd);
    },
    count: () => started,
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

pool('pool :: fills to its size and never exceeds it', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 2, defaults: { memoryMbytes: 91 } });
  try {
    assert.ok(await waitUntil(() => sandboxesWith(91).length === 2), 'the pool filled');
    const sampler = sampleMax(() => sandboxesWith(91).length);
    for (let i = 0; i < 8; i += 1) {
      const r = await rt.run({ code: `console.log(${i})` });
      assert.is(r.stdout, `${i}\n`);
    }
    // Two waiting and the one running, at most.
    const peak = sampler.stop();
    assert.ok(peak <= 3, `${peak} Deno processes at once`);
    assert.ok(await waitUntil(() => sandboxesWith(91).length === 2), 'the pool refilled');
  } finally {
    await rt.close();
  }
  assert.equal(sandboxesWith(91), []);
});

pool('pool :: no child is reused: a global set by one run is absent in the next', async () => {
  const rt = createRuntime({ concurrency: 1, warmProcesses: 1, defaults: { memoryMbytes: 92 } });
  try {
    const code = 'console.log(typeof globalThis.leak, Deno.pid);\nglobalThis.leak = "secret";';
    const pids = new Set<string>();
    for (let i = 0; i < 5; i += 1) {
      const r = await rt.run({ code });
      const [leak, pid] = r.stdout.trim().split(' ');
      assert.is(leak, 'undefined');
      pids.add(pid!);
    }
    assert.is(pids.size, 5);
  } finally {
    await rt.close();
  }
});

pool('pool :: a warm child keeps every limit: deadline from its envelope, heap, process memory, output', async () => {
  const rt = createRuntime({ concurrency: 4, warmProcesses: 4, defaults: { memoryMbytes: 98, timeoutSecs: 2, maxOutputBytes: 4096 } });
  try {
    assert.ok(await waitUntil(() => sandboxesWith(98).length === 4), 'the pool filled');
    const idle = sandboxesWith(98).map((line) => processRef(Number(line.split(':')[0]))).filter((ref): ref is ProcessRef => ref !== undefined);
    // Idle longer than the timeout first: the deadline counts from the envelope, not the spawn.
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const [slow, forever, heap, buffers] = await rt.runMany([
      { code: 'await new Promise((r) => setTimeout(r, 500));\nconsole.log("x".repeat(10_000));' },
      { code: fixture('forever.ts') },
      // A timeout of their own (not part of what a warm child is started with): four busy children
      // on two busy cores must end by their memory, not by the clock.
      { code: fixture('heap-bomb.ts'), timeoutSecs: 30 },
      { code: fixture('arraybuffer-bomb.ts'), timeoutSecs: 30 },
    ]);
    // Idle children die only when used (or closed): each of the four ran one of these scripts.
    assert.is(idle.length, 4);
    assert.equal(idle.filter(isAlive), [], 'every run took a warm child');
    assert.is(slow!.status, 'SUCCEEDED');
    assert.ok(slow!.stdoutTruncated);
    assert.is(slow!.stdoutBytes, 10_001);
    assert.is(forever!.status, 'TIMED-OUT');
    assert.is(forever!.stdout, 'started\n');
    assert.is(heap!.status, 'OUT-OF-MEMORY');
    assert.is(buffers!.status, 'OUT-OF-MEMORY');
  } finally {
    await rt.close();
  }
});

pool('pool :: refills only when the runtime says it is worth it, and again on refill()', async () => {
  // The runtime says no while its running scripts fill the cores (runtime.ts); here, a flag.
  const command: SandboxCommand = { file: '/bin/cat', args: [], env: {}, dataLimitBytes: 0 };
  const children = countingSpawn();
  let worth = true;
  const warm = new WarmPool({ size: 1, sandbox: { command, cwd: '/' }, spawn: children.spawn, worthFilling: () => worth });
  try {
    assert.is(children.count(), 1);
    worth = false;
    const child = warm.take(command)!;
    child.claim();
    child.kill();
    await child.ended;
    await pause(50);
    assert.is(children.count(), 1, 'no refill while it is not worth it');
    warm.refill();
    await pause(50);
    assert.is(children.count(), 1, 'refill() asks again, and is told no');
    worth = true;
    warm.refill();
    assert.ok(await waitUntil(() => children.count() === 2), 'refilled once it was worth it');
    warm.refill();
    await pause(50);
    assert.is(children.count(), 2, 'never beyond its size');
  } finally {
    await warm.close();
  }
});

pool('pool :: a run needing other settings starts its own child and leaves the pool alone', async () => {
  const rt = createRuntime({ concurrency: 2, warmProcesses: 1, defaults: { memoryMbytes: 96 } });
  try {
    assert.ok(await waitUntil(() => sandboxesWith(96).length === 1));
    const idleBefore = sandboxesWith(96)[0]!.split(':')[0];
    let during: { pooled: string[]; own: string[] } | undefined;
    const r = await rt.run({
      code: 'console.log("hi");\nawait new Promise((r) => setTimeout(r, 200));',
      memoryMbytes: 97,
      onOutput: () => { during ??= { pooled: sandboxesWith(96), own: sandboxesWith(97) }; },
    });
    assert.is(r.status, 'SUCCEEDED');
    assert.is(during!.own.length, 1);
    assert.is(during!.pooled.length, 1);
    assert.is(during!.pooled[0]!.split(':')[0], idleBefore, 'the warm child was not used');
  } finally {
    await rt.close();
  }
});

pool('pool :: backs off rather than spinning when children die before use', async () => {
  // A "sandbox" that exits at once: every child the pool starts dies idle.
  const command: SandboxCommand = { file: '/bin/false', args: [], env: {}, dataLimitBytes: 0 };
  const children = countingSpawn();
  const warm = new WarmPool({ size: 2, sandbox: { command, cwd: '/' }, spawn: children.spawn });
  await pause(1_000);
  await warm.close();
  // Without backoff this would be hundreds; with it, a few rounds of two.
  assert.ok(children.count() >= 2 && children.count() <= 12, `${children.count()} children started in 1 s`);
  assert.is(warm.take(command), undefined, 'a closed pool hands out nothing');
});

pool('pool :: children are handed out only for the command they were started with', async () => {
  const command: SandboxCommand = { file: '/bin/cat', args: [], env: { A: '1' }, dataLimitBytes: 0 };
  const warm = new WarmPool({ size: 1, sandbox: { command, cwd: '/' } });
  try {
    assert.is(warm.take({ ...command, env: { A: '2' } }), undefined);
    assert.is(warm.take({ ...command, args: ['-u'] }), undefined);
    const child = warm.take({ file: '/bin/cat', args: [], env: { A: '1' }, dataLimitBytes: 0 });
    assert.ok(child instanceof SandboxChild);
    child!.claim();
    assert.throws(() => child!.claim(), /exactly one script/);
    child!.kill();
    await child!.ended;
  } finally {
    await warm.close();
  }
});

pool.run();
