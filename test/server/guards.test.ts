// Findings 4 and 5: no CSRF from other local origins, and no load shown to strangers. A page on
// another local port (another origin: scheme, host and port) cannot start a script, nor can a
// `text/plain` body (a CORS "simple" request); `/healthz` tells a caller that fails the Host or
// token checks only that the server is alive, and the Standby readiness probe still gets its "ok".
// Each under load: hundreds of such requests, the server's RSS and fds measured, another client's
// answers checked.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe, type ServeProcess } from './processes.js';
import { idle, peakDuring, request } from './load.js';

const JSON_TYPE = { 'content-type': 'application/json' };
const RUN = JSON.stringify({ code: 'console.log("ran")' });

async function inParallel<T>(count: number, width: number, each: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < count) {
      const i = next;
      next += 1;
      out[i] = await each(i);
    }
  }));
  return out;
}

const origin = suite('server origin');
let serve: ServeProcess;
let host: string;

origin.before(async () => {
  serve = await startServe();
  host = new URL(serve.url).host;
});

origin('origin :: another local port, scheme or host is another origin; the same origin is served', async () => {
  const port = new URL(serve.url).port;
  for (const other of [`http://localhost:${Number(port) + 1}`, `http://127.0.0.1:${Number(port) + 1}`, `https://127.0.0.1:${port}`, 'http://localhost', 'http://evil.example', 'null']) {
    const answer = await request(`${serve.url}/v1/runs`, { headers: { ...JSON_TYPE, origin: other }, body: RUN });
    assert.is(answer.status, 403, `${other}: ${answer.text}`);
    assert.match(answer.json().error.message, /Origin .* is not allowed/);
  }
  const mcp = await request(`${serve.url}/mcp`, { headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', origin: `http://localhost:${Number(port) + 1}` }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
  assert.is(mcp.status, 403);
  for (const same of [`http://${host}`, `http://localhost:${port}`]) {
    const answer = await request(`${serve.url}/v1/runs?wait=20`, { headers: { ...JSON_TYPE, origin: same }, body: RUN });
    assert.equal([answer.status, answer.json().stdout], [200, 'ran\n'], same);
  }
});

origin('origin :: a REST body must say it is JSON (a text/plain POST needs no preflight)', async () => {
  for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
    const answer = await request(`${serve.url}/v1/runs`, { headers: { 'content-type': type }, body: RUN });
    assert.is(answer.status, 415, `${type}: ${answer.text}`);
    assert.match(answer.json().error.message, /Content-Type: application\/json/);
  }
  const none = await request(`${serve.url}/v1/runs`, { headers: {}, body: RUN });
  assert.is(none.status, 415);
  const charset = await request(`${serve.url}/v1/runs?wait=20`, { headers: { 'content-type': 'application/json; charset=utf-8' }, body: RUN });
  assert.is(charset.json().stdout, 'ran\n');
  // A POST without a body (abort) needs no type.
  const abort = await request(`${serve.url}/v1/runs/exe_none/abort`, { method: 'POST' });
  assert.is(abort.status, 404);
});

origin('origin :: 400 cross-origin and text/plain POSTs start nothing; RSS and fds stay flat, others are served', async () => {
  const port = Number(new URL(serve.url).port);
  const before = await idle(serve.url, serve.child.pid!);
  const { peak, value: statuses } = await peakDuring(serve.child.pid!, () => inParallel(400, 20, (i) => request(`${serve.url}/v1/runs`, {
    headers: i % 2 ? { ...JSON_TYPE, origin: `http://localhost:${port + 1 + (i % 50)}` } : { 'content-type': 'text/plain' },
    body: JSON.stringify({ code: 'console.log("csrf")' }),
  }).then((answer) => answer.status)));
  assert.equal([...new Set(statuses)].sort(), [403, 415]);
  const health = (await request(`${serve.url}/healthz`)).json();
  assert.equal([health.running, health.waiting], [0, 0]);
  const ok = await request(`${serve.url}/v1/runs?wait=20`, { from: '127.0.0.2', headers: JSON_TYPE, body: RUN });
  assert.is(ok.json().stdout, 'ran\n');
  const after = await idle(serve.url, serve.child.pid!);
  process.stderr.write(`  [origin] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < 100, `RSS grew ${peak.rssMiB - before.rssMiB} MiB`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds (before ${before.fds})`);
});

// ---

const health = suite('server healthz');
const TOKEN = 'a-long-enough-secret-token';
let guarded: ServeProcess;

health.before(async () => {
  guarded = await startServe(['--auth-token', TOKEN]);
});

health.after(async () => {
  await guarded.stop();
  await serve.stop();
});

health('healthz :: liveness only for a caller without the token or with a foreign Host; counts behind the guards', async () => {
  const stranger = await request(`${guarded.url}/healthz`);
  assert.equal([stranger.status, stranger.json()], [200, { ok: true }]);
  const wrong = await request(`${guarded.url}/healthz`, { headers: { authorization: 'Bearer not-the-token-at-all' } });
  assert.equal(wrong.json(), { ok: true });
  const insider = (await request(`${guarded.url}/healthz`, { headers: { authorization: `Bearer ${TOKEN}` } })).json();
  assert.equal([insider.ok, insider.accepting, insider.running, insider.waiting], [true, true, 0, 0]);
  const foreign = await request(`${serve.url}/healthz`, { headers: { host: 'evil.example' } });
  assert.equal([foreign.status, foreign.json()], [200, { ok: true }]);
  const local = (await request(`${serve.url}/healthz`)).json();
  assert.is(typeof local.running, 'number');
  // The Standby platform's readiness probe is answered whatever the Host, without a token.
  const probe = await request(`${guarded.url}/`, { headers: { host: 'platform.internal', 'x-apify-container-server-readiness-probe': '1' } });
  assert.equal([probe.status, probe.text], [200, 'ok']);
});

health('healthz :: 1000 strangers asking see no counts; RSS and fds stay flat; the token holder is served', async () => {
  const insider = { authorization: `Bearer ${TOKEN}` };
  const before = await idle(guarded.url, guarded.child.pid!, insider);
  const { peak, value: bodies } = await peakDuring(guarded.child.pid!, () => inParallel(1000, 25, (i) => request(`${guarded.url}/healthz`, { headers: i % 3 ? {} : { host: 'evil.example' } }).then((answer) => answer.text)));
  assert.equal([...new Set(bodies)], ['{"ok":true}']);
  const run = await request(`${guarded.url}/v1/runs?wait=20`, { headers: { ...JSON_TYPE, authorization: `Bearer ${TOKEN}` }, body: RUN });
  assert.is(run.json().stdout, 'ran\n');
  const after = await idle(guarded.url, guarded.child.pid!, insider);
  process.stderr.write(`  [healthz] before ${before.rssMiB} MiB / ${before.fds} fds; peak ${peak.rssMiB} MiB / ${peak.fds} fds; after ${after.rssMiB} MiB / ${after.fds} fds\n`);
  assert.ok(peak.rssMiB - before.rssMiB < 100, `RSS grew ${peak.rssMiB - before.rssMiB} MiB`);
  assert.ok(after.fds <= before.fds + 10, `${after.fds} fds (before ${before.fds})`);
});

origin.run();
health.run();
