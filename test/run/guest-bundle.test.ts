// The guest bundle children run: the build of the current guest/ sources, one self-contained module.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { BOOTSTRAP_PATH } from '../../orchestrator/run/deno.js';
import { sandboxFor } from '../../orchestrator/run/run.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import { ROOT, scratchDir } from '../helpers/helpers.js';
import { startFakeApi } from '../helpers/fake-api.js';
import { runCode } from '../../orchestrator/index.js';

const bundle = suite('guest-bundle');

bundle('guest-bundle :: the bundle children run is the build of the current guest/ sources', () => {
  const fresh = path.join(scratchDir('bundle'), 'bootstrap.js');
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'bundle-guest.mjs'), fresh], { stdio: 'pipe' });
  const shipped = readFileSync(BOOTSTRAP_PATH, 'utf8');
  // Equal bytes: a guest/ edit without a rebuild, or a hand edit of the bundle, fails here.
  assert.ok(shipped === readFileSync(fresh, 'utf8'), `${BOOTSTRAP_PATH} differs from a fresh build of guest/; run npm run build`);
  // The binding is in it (its error class, by name), not loaded from elsewhere.
  assert.match(shipped, /\\"ApifyApiError\\"/);
});

bundle('guest-bundle :: one self-contained module: no imports for Deno to resolve, only the script\'s own', () => {
  const shipped = readFileSync(BOOTSTRAP_PATH, 'utf8');
  assert.not.match(shipped, /^\s*(import|export)\b[^(]/m);
  assert.not.match(shipped, /\bfrom\s*["']/);
  // The one dynamic import is the user's script, as a blob URL.
  assert.equal(shipped.match(/\bimport\(/g), ['import(']);
});

bundle('guest-bundle :: sandboxes run the bundle, never guest/ sources', async () => {
  const { command } = await sandboxFor(normalizeOptions({ code: '1' }));
  assert.is(command.args.at(-1), BOOTSTRAP_PATH);
  assert.match(BOOTSTRAP_PATH, /dist\/guest\/bootstrap\.js$/);
});

bundle('guest-bundle :: the bundled binding\'s frames stay hidden from stacks the script prints', async () => {
  const api = await startFakeApi({ token: 'bundle-test-token' });
  try {
    const code = [
      'try { await apify.run.get({ runId: "missing-run" }); } catch (e) { console.log(e.stack); }',
      'console.log(typeof apify.actor.call, apify.ApifyApiError.name);',
    ].join('\n');
    const r = await runCode({ code, apiBaseUrl: api.url, token: 'bundle-test-token' });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.match(r.stdout, /^ApifyApiError: [^\n]*\n    at (async )?script\.ts:1:\d+\n/);
    assert.not.ok(/guest\/|binding|eval|ext:/.test(r.stdout), r.stdout);
    assert.match(r.stdout, /\nfunction ApifyApiError\n$/);
  } finally {
    await api.close();
  }
});

bundle.run();
