// A caller's live listener (onOutput) is called from a pipe's event: one that throws must not end
// the orchestrator's process (with every other run in it), and the run's result stays whole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';

const live = suite('live-output');

live('live-output :: an onOutput that throws is dropped with a warning; the run and the process go on', async () => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.message);
  process.on('warning', onWarning);
  let calls = 0;
  try {
    const r = await runCode({
      code: 'console.log("one");\nawait new Promise((r) => setTimeout(r, 50));\nconsole.log("two");\nconsole.error("three");',
      onOutput: () => {
        calls += 1;
        throw new Error('listener broke');
      },
    });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.is(r.stdout, 'one\ntwo\n');
    assert.is(r.stderr, 'three\n');
    assert.is(calls, 1, 'called once, then dropped');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(warnings.some((w) => w.includes('onOutput threw') && w.includes('listener broke')), warnings.join('\n'));
  } finally {
    process.off('warning', onWarning);
  }
});

live.run();
