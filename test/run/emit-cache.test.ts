// Deno's emit cache: a script's TypeScript modules (its own, data:, blob:, in Workers) are
// transpiled in memory; no transpiled copy is written under DENO_DIR, not even while the script runs.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { sharedDenoDir } from '../../orchestrator/run/deno.js';

const emitCache = suite('emit-cache');

/** Non-empty files under DENO_DIR/gen (empty ones are blocking files, not emits). */
function emitted(): string[] {
  const gen = path.join(sharedDenoDir(), 'gen');
  const found: string[] = [];
  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const at = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(at);
      else if (statSync(at).size > 0) found.push(path.relative(gen, at));
    }
  };
  walk(gen);
  return found;
}

emitCache('emit-cache :: a script\'s TypeScript modules are never written to disk, even while it runs', async () => {
  const marker = `emit_marker_${process.pid}`;
  const code = [
    `const ${marker}: number = 1;`,
    'await import("data:application/typescript,export const d: number = 2;");',
    'const src = URL.createObjectURL(new Blob(["const w: number = 3; postMessage(w);"], { type: "application/typescript" }));',
    'const worker = new Worker(src, { type: "module" });',
    'await new Promise((resolve) => { worker.onmessage = resolve; });',
    'worker.terminate();',
    `console.log("ran", ${marker});`,
    // Still running when the test looks.
    'await new Promise((resolve) => setTimeout(resolve, 200));',
  ].join('\n');
  let during: string[] | undefined;
  const r = await runCode({
    code,
    onOutput: (stream, chunk) => {
      if (stream === 'stdout' && Buffer.from(chunk).toString().includes('ran')) during = emitted();
    },
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'ran 1\n');
  assert.equal(during, [], 'nothing emitted while the script ran');
  assert.equal(emitted(), [], 'nothing emitted after it');
});

emitCache.run();
