// The scripts in examples/ run as the README says and type-check against the `apify` declarations.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { DEFAULT_ACTORS, startFakeApi } from '../helpers/fake-api.js';
import { denoCheck, ROOT } from '../helpers/helpers.js';

const examples = suite('examples');
const dir = path.join(ROOT, 'examples');

examples('examples :: hello.ts greets on stdout and finds the apify client', async () => {
  const r = await runCode({ code: readFileSync(path.join(dir, 'hello.ts'), 'utf8') });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  assert.is(r.stdout, 'Hello, world! (en)\nHello, svět! (cs)\nThe global apify client is ready.\n');
  assert.is(r.stderr, 'This line went to stderr.\n');
});

examples('examples :: apify-store.ts searches the Store and looks closer at the top hit', async () => {
  const scraper = { id: 'WebScraperId01', username: 'apify', name: 'web-scraper', title: 'Web Scraper', description: 'Crawls websites' };
  const api = await startFakeApi({ token: 'examples-token', actors: [...DEFAULT_ACTORS, scraper] });
  try {
    const r = await runCode({ code: readFileSync(path.join(dir, 'apify-store.ts'), 'utf8'), apiBaseUrl: api.url, token: 'examples-token' });
    assert.is(r.status, 'SUCCEEDED', r.stderr);
    assert.is(r.stdout, '1 Actor for "web scraper":\n- apify/web-scraper: Web Scraper\n\nTop hit: Web Scraper, by apify\n');
    assert.ok(api.calls(/store/).length >= 1 && api.calls(/acts\//).length === 1, JSON.stringify(api.calls(/./)));
  } finally {
    await api.close();
  }
});

for (const name of readdirSync(dir).filter((file) => file.endsWith('.ts'))) {
  examples(`examples :: ${name} type-checks`, () => {
    const r = denoCheck(path.join(dir, name));
    assert.is(r.status, 0, r.output);
  });
}

examples.run();
