// The Actor's egress fields end to end: `egressOrigins` and the secret `egressHeaders` let the
// script's fetch reach a loopback origin with the header added, never shown; the item lists the
// requests; a bad field fails the run before anything runs, naming it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runActor } from './harness.js';
import { encodedForms, startOrigin, type Origin } from '../helpers/origins.js';

const SECRET = 'actor_egress_secret_0123456789XYZ';
const egress = suite<{ origin: Origin }>('actor egress', {} as { origin: Origin });

egress.before(async (ctx) => {
  ctx.origin = await startOrigin();
});
egress.after(async (ctx) => {
  await ctx.origin.close();
});

egress('actor egress :: the allowed origin gets the secret header; the item shows the answer scrubbed and lists the request', async ({ origin }) => {
  const code = `const r = await fetch('${origin.url}/echo'); console.log(r.status, r.headers.get('x-seen-auth'));
try { await fetch('http://127.0.0.2:${origin.port}/'); } catch (e) { console.log(e.name); }`;
  const run = await runActor({ code, egressOrigins: [`${origin.url}/`], egressHeaders: { [origin.url]: { 'X-Api-Key': SECRET } } });
  assert.is(run.exitCode, 0, run.log);
  const item = run.items[0]!;
  assert.is(item.stdout, '200 [token redacted]\nNotCapable\n');
  assert.equal(item.requests, [{ origin: origin.url, method: 'GET', status: 200, bytes: item.requests[0]!.bytes }]);
  assert.is(origin.seen.at(-1)?.headers['x-api-key'], SECRET);
  for (const form of encodedForms(SECRET)) assert.not.ok(run.log.includes(form) || JSON.stringify(item).includes(form), `${form} leaked`);
});

egress('actor egress :: a bad egress field fails the run at once, naming it, and nothing runs', async () => {
  const run = await runActor({ code: 'console.log("the script ran")', egressHeaders: { 'https://a.com': { 'Bad Name': 'secret-value-xyz-123' } } });
  assert.is(run.exitCode, 1);
  assert.match(run.log, /Invalid input: `egressHeaders\["https:\/\/a\.com"\]\.Bad Name` is not a header name/);
  assert.not.ok(run.log.includes('secret-value-xyz-123'));
  assert.equal(run.items, []);
});

egress.run();
