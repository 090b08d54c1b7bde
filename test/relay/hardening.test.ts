// The relay against a hostile script (issue 10): tiny budget caps, redirects, the token in headers
// and encodings, timers the script sets, starts whose answer is lost, and the relay's own limits
// on connections, requests in flight and held bodies. Raw requests stand in for the script where
// the binding would never send such a call; the script's relay URL is easy for it to learn.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { createBudget } from '../../orchestrator/relay/budget.js';
import { ByteBudget } from '../../orchestrator/relay/byte-budget.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { isPrivateAddress } from '../../orchestrator/relay/private-net.js';
import { openRelaySession, type RelaySession, type RelaySessionOptions } from '../../orchestrator/relay/relay.js';
import { createScrubber, REDACTED, scrubText } from '../../orchestrator/relay/scrub.js';
import { send } from '../helpers/raw-http.js';
import { startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { ROOT, startServer, type HttpServer } from '../helpers/helpers.js';
import { waitUntil } from '../helpers/sandboxes.js';

const TOKEN = 'apify_api_HARDtoken0123456789abcdefXYZ';

/** A raw connection to the relay that sends `head` and collects what comes back until it closes. */
function rawConnection(base: string, head: string): { socket: net.Socket; answer: Promise<string> } {
  const url = new URL(base);
  const socket = net.connect(Number(url.port), url.hostname);
  socket.write(head);
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    socket.on('close', () => resolve(text));
    socket.on('error', () => undefined);
  });
  return { socket, answer };
}

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Context {
  api: FakeApi;
  canary: HttpServer;
  sessions: RelaySession[];
}

function hardSuite(name: string) {
  const s = suite<Context>(name, {} as Context);
  s.before(async (ctx) => {
    ctx.api = await startFakeApi({ token: TOKEN });
    ctx.canary = await startServer('127.0.0.1', `canary ${TOKEN}`);
  });
  s.before.each((ctx) => {
    ctx.api.requests.length = 0;
    ctx.canary.hits.length = 0;
    ctx.sessions = [];
  });
  s.after.each(async (ctx) => {
    await Promise.all(ctx.sessions.map((session) => session.close({ abortRunning: false })));
  });
  s.after(async (ctx) => {
    await ctx.api.close();
    await ctx.canary.close();
  });
  return s;
}

async function open(ctx: Context, options: Partial<RelaySessionOptions> = {}): Promise<RelaySession> {
  const session = await openRelaySession({ token: TOKEN, apiBaseUrl: ctx.api.url, ...options });
  ctx.sessions.push(session);
  return session;
}

// ---
const caps = hardSuite('relay caps');

caps('relay caps :: 0, -0, 1e-7 and other tiny or odd numbers are refused, never forwarded as "no cap"', async (ctx) => {
  const s = await open(ctx, { maxTotalChargeUsd: 1 });
  for (const query of ['maxTotalChargeUsd=0', 'maxTotalChargeUsd=-0', 'maxTotalChargeUsd=1e-7', 'maxTotalChargeUsd=0.0000001',
    'maxTotalChargeUsd=0.001', 'maxTotalChargeUsd=0x1', 'maxTotalChargeUsd=Infinity', 'timeout=0', 'timeout=-0', 'maxItems=0', 'memory=1e3']) {
    const answer = await send(s.url, `/v2/acts/test~forever/runs?${query}`, { method: 'POST', body: '{}' });
    assert.is(answer.status, 400, query);
    assert.is(answer.json?.error?.type, 'relay-invalid-parameter', query);
  }
  const refused = await send(s.url, '/v2/acts/test~forever/runs?maxTotalChargeUsd=1e-7', { method: 'POST', body: '{}' });
  assert.is(refused.json?.error?.message, 'Query parameter `maxTotalChargeUsd` must be a decimal number of at least 0.01, got "1e-7"');
  assert.equal(ctx.api.requests, [], 'nothing refused reaches the API');
});

caps('relay caps :: caps are reserved as asked, rounded up, so the limit holds whatever the script asks', async (ctx) => {
  const s = await open(ctx, { maxTotalChargeUsd: 0.05 });
  const asked = ['0.01', '0.0100001', '0.012', '0.01'];
  for (const cap of asked) {
    assert.is((await send(s.url, `/v2/acts/test~forever/runs?maxTotalChargeUsd=${cap}&timeout=1.5`, { method: 'POST', body: '{}' })).status, 201, cap);
  }
  // 0.01 + 0.010001 + 0.012 + 0.01 = 0.042001 reserved: 0.007999 left is under the smallest cap.
  const last = await send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' });
  assert.is(last.status, 403);
  assert.is(last.json?.error?.type, 'budget-exceeded');
  const forwarded = [...ctx.api.runs.values()].map((run) => [run.options.maxTotalChargeUsd, run.options.timeout]);
  assert.equal(forwarded, [['0.01', '2'], ['0.010001', '2'], ['0.012', '2'], ['0.01', '2']]);
});

caps('relay caps :: the budget itself never reserves less than asked nor below the minimum', () => {
  const b = createBudget({ maxTotalChargeUsd: 1 });
  const tiny = b.reserve({ maxTotalChargeUsd: 1e-7 });
  assert.is(tiny.ok && tiny.reservation.maxTotalChargeUsd, 0.01);
  const odd = b.reserve({ maxTotalChargeUsd: 0.1234567 });
  assert.is(odd.ok && odd.reservation.maxTotalChargeUsd, 0.123457);
  const zero = b.reserve({ maxTotalChargeUsd: 0 });
  assert.is(zero.ok && zero.reservation.maxTotalChargeUsd, 0.01, '0 is never "no cap"');
});

caps.run();

// ---
const redirects = hardSuite('relay redirects');

redirects('relay redirects :: a redirect off the API, or to a path it does not forward, is refused, never followed', async (ctx) => {
  const s = await open(ctx);
  const canaryUrl = `${ctx.canary.url}/latest/meta-data`;
  ctx.api.inject({ method: 'GET', path: /^\/v2\/acts\//, status: 302, headers: { location: canaryUrl } });
  ctx.api.inject({ method: 'GET', path: /^\/v2\/datasets\/d1\/items$/, status: 302, headers: { location: '/v2/users/me' } });
  ctx.api.inject({ method: 'GET', path: /^\/v2\/logs\//, status: 307, headers: { location: `${ctx.api.url.replace('127.0.0.1', 'localhost')}/v2/store?token=${TOKEN}` } });
  for (const path of ['/v2/acts/apify~hello-world', '/v2/datasets/d1/items', '/v2/logs/r1']) {
    const answer = await send(s.url, path);
    assert.is(answer.status, 502, path);
    assert.is(answer.json?.error?.type, 'relay-redirect-refused', path);
    assert.not.ok(answer.text.includes(TOKEN), 'the refusal quoted the token');
  }
  assert.equal(ctx.canary.hits, [], 'the relay reached another host');
  assert.equal(ctx.api.calls(/users/), [], 'the relay followed a redirect to a path it does not forward');
});

redirects('relay redirects :: a record download is followed only to public https storage, without the token', async (ctx) => {
  const s = await open(ctx);
  const targets = [`${ctx.canary.url}/bucket/key`, `https://127.0.0.1:${ctx.canary.port}/key`, `https://localhost:${ctx.canary.port}/key`, 'https://[::1]/key', 'ftp://example.com/key'];
  for (const location of targets) ctx.api.inject({ method: 'GET', path: /\/records\//, status: 302, headers: { location } });
  for (const location of targets) {
    const answer = await send(s.url, '/v2/key-value-stores/s1/records/k');
    assert.is(answer.status, 502, location);
    assert.is(answer.json?.error?.type, 'relay-redirect-refused', location);
  }
  assert.equal(ctx.canary.hits, []);
  for (const address of ['10.0.0.1', '127.0.0.1', '169.254.169.254', '::1', 'fd00:ec2::254', 'fe80::1', '::ffff:10.0.0.1', '64:ff9b::a00:1', '::',
    '::127.0.0.1', '::a9fe:a9fe', '::ffff:0:127.0.0.1', '::ffff:0:a00:1', '2001:db8::1']) {
    assert.ok(isPrivateAddress(address), address);
  }
  for (const address of ['3.5.140.2', '2600:1f18::1']) assert.not.ok(isPrivateAddress(address), address);
});

redirects('relay redirects :: a redirect to an allowlisted API path is followed with the token; a write is never followed', async (ctx) => {
  const s = await open(ctx, { maxActorRuns: 1 });
  ctx.api.inject({ method: 'GET', path: /^\/v2\/acts\//, status: 302, headers: { location: '/v2/store' } });
  const answer = await send(s.url, '/v2/acts/apify~hello-world');
  assert.is(answer.status, 200);
  assert.equal(ctx.api.calls(/./), ['GET /v2/acts/apify~hello-world', 'GET /v2/store']);
  assert.is(ctx.api.requests[1]?.headers.authorization, `Bearer ${TOKEN}`);
  ctx.api.inject({ method: 'POST', path: /\/runs$/, status: 307, headers: { location: '/v2/acts/test~forever/runs' } });
  const start = await send(s.url, '/v2/acts/apify~hello-world/runs', { method: 'POST', body: '{}' });
  assert.is(start.json?.error?.type, 'relay-redirect-refused');
  assert.is((await send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' })).status, 201, 'the refused start gave its place back');
});

redirects.run();

// ---
const scrub = hardSuite('relay scrub');

const b64 = (text: string) => Buffer.from(text).toString('base64');
const ENCODED = [
  TOKEN, TOKEN.toUpperCase(), TOKEN.toLowerCase(), encodeURIComponent(TOKEN), [...TOKEN].map((c) => `%${c.charCodeAt(0).toString(16)}`).join(''),
  [...TOKEN].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join(''), `${TOKEN.slice(0, 5)}\\u005F${TOKEN.slice(6)}`,
  b64(TOKEN), b64(`x${TOKEN}`), b64(`xy${TOKEN}`), Buffer.from(TOKEN).toString('base64url'), Buffer.from(`?${TOKEN}`).toString('base64url'),
  Buffer.from(TOKEN).toString('hex'), Buffer.from(TOKEN).toString('hex').toUpperCase(),
];

scrub('relay scrub :: the token in any case and its common encodings is caught wherever the stream is split', () => {
  for (const form of ENCODED) {
    const text = `{"a":"${form}","b":"ok"}`;
    for (let cut = 0; cut <= text.length; cut += 3) {
      const s = createScrubber(TOKEN);
      const out = Buffer.concat([s.push(Buffer.from(text.slice(0, cut))), s.push(Buffer.from(text.slice(cut))), s.end()]).toString();
      assert.not.ok(out.includes(form), `${form} survived a cut at ${cut}: ${out}`);
      assert.ok(out.includes(REDACTED) && out.endsWith('"b":"ok"}'), out);
    }
  }
  assert.is(scrubText(TOKEN, 'plain text, base64 aGVsbG8=, 100%'), 'plain text, base64 aGVsbG8=, 100%');
});

// A secret as base64 keys are (`/`, `+`, `=`) and with HTML's special characters, in the forms
// echoes write it: PHP's json_encode (`\/`), HTML encoders (hex, decimal and named references),
// a URL encoded twice, each mixed with plain characters and in other letter case.
const ODD = 'k3y/With+Slash=&<"\'>tail';
const html = (text: string, ref: (code: number) => string) => text.replace(/[^A-Za-z0-9]/g, (c) => ref(c.charCodeAt(0)));
const ESCAPED = [
  JSON.stringify(ODD).slice(1, -1).replace(/\//g, '\\/'),
  html(ODD, (code) => `&#x${code.toString(16)};`), html(ODD, (code) => `&#X${code.toString(16).toUpperCase()};`), html(ODD, (code) => `&#${code};`),
  ODD.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
  ODD.replace(/&/g, '&amp;').replace(/'/g, '&apos;').replace(/"/g, '&#34;'),
  encodeURIComponent(encodeURIComponent(ODD)), encodeURIComponent(encodeURIComponent(ODD)).toLowerCase(),
];

scrub('relay scrub :: a secret with `/`, `+`, `&` or quotes is caught as JSON `\\/`, HTML references and twice-encoded URLs, wherever the stream is split', () => {
  for (const form of ESCAPED) {
    const text = `<p>${form}</p>{"b":"ok"}`;
    for (let cut = 0; cut <= text.length; cut += 1) {
      const s = createScrubber(ODD);
      const out = Buffer.concat([s.push(Buffer.from(text.slice(0, cut))), s.push(Buffer.from(text.slice(cut))), s.end()]).toString();
      assert.is(out, `<p>${REDACTED}</p>{"b":"ok"}`, `${form} cut at ${cut}`);
    }
  }
  // Ordinary markup and URLs pass unchanged.
  const page = '<a href="/x?a=1&amp;b=%252F">k3y &lt; tail &#47;</a>';
  assert.is(scrubText(ODD, page), page);
});

scrub('relay scrub :: every header the script sees is scrubbed, and encoded forms in the body too', async (ctx) => {
  const s = await open(ctx);
  ctx.api.inject({
    method: 'GET', path: /^\/v2\/store$/, status: 200, message: ENCODED.join(' | '),
    headers: { 'content-type': `text/plain; charset=${TOKEN}`, 'retry-after': b64(TOKEN), 'x-apify-pagination-total': encodeURIComponent(TOKEN), 'x-apify-pagination-desc': TOKEN.toUpperCase() },
  });
  const answer = await send(s.url, '/v2/store');
  const seen = JSON.stringify(answer.headers) + answer.text;
  for (const form of ENCODED) assert.not.ok(seen.includes(form), `${form} reached the script`);
  assert.is(answer.headers['content-type'], `text/plain; charset=${REDACTED}`);
  // A base64 form may leave its last character or two: bits of the token's final byte, not the token.
  assert.match(String(answer.headers['retry-after']), /^\[token redacted\].{0,3}$/);
});

scrub.run();

// ---
const timers = hardSuite('relay timers');

timers('relay timers :: a huge waitForFinish is clamped, and no timer of the orchestrator overflows', async (ctx) => {
  const warnings: string[] = [];
  const onWarning = (warning: Error) => warnings.push(warning.name);
  process.on('warning', onWarning);
  try {
    const s = await open(ctx);
    const started = await send(s.url, '/v2/acts/apify~hello-world/runs', { method: 'POST', body: '{}' });
    const id = (started.json?.data as { id: string }).id;
    for (const wait of ['3000000', '999999999999', '0.5']) {
      const answer = await send(s.url, `/v2/actor-runs/${id}?waitForFinish=${wait}`);
      assert.is(answer.status, 200, wait);
    }
    assert.equal(ctx.api.calls(/actor-runs/), [`GET /v2/actor-runs/${id}?waitForFinish=60`, `GET /v2/actor-runs/${id}?waitForFinish=60`, `GET /v2/actor-runs/${id}?waitForFinish=1`]);
    await delay(20);
    assert.equal(warnings, []);
  } finally {
    process.off('warning', onWarning);
  }
});

timers.run();

// ---
const starts = hardSuite('relay starts');

starts('relay starts :: a start whose answer is lost is sent once; the script is told the run may exist', async (ctx) => {
  ctx.api.inject({ method: 'POST', path: /\/runs$/, drop: true, times: 1 });
  const r = await runCode({
    token: TOKEN, apiBaseUrl: ctx.api.url, timeoutSecs: 30, code: `
      try {
        await apify.actor.start({ actorId: 'test/forever' });
      } catch (error) {
        console.log(JSON.stringify({ type: error.type, attempts: error.attempts, message: error.message }));
      }`,
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const seen = JSON.parse(r.stdout) as { type: string; attempts: number; message: string };
  assert.is(seen.type, 'relay-start-outcome-unknown');
  assert.is(seen.attempts, 1);
  assert.match(seen.message, /the Actor may have started\. It was not sent again, so it cannot start twice/);
  const created = [...ctx.api.runs.values()].at(-1);
  assert.match(seen.message, `Runs of it started since: ${created?.id} (READY); wait for it with apify.run.wait({ runId })`);
  assert.equal(ctx.api.calls(/\/runs$/), ['POST /v2/acts/test~forever/runs', 'GET /v2/acts/test~forever/runs?desc=true&limit=10'], 'one start reached the API');
  assert.equal(r.actorRuns, [], 'a run the relay only guesses at is never recorded (nor aborted)');
});

starts('relay starts :: a POST that failed with a 5xx is not repeated, an abort is, and a relay 429 always is', async (ctx) => {
  const dataset = ctx.api.addDataset([]);
  ctx.api.inject({ method: 'POST', path: /\/items$/, status: 500, times: 1 });
  ctx.api.inject({ method: 'POST', path: /\/abort$/, status: 503, times: 1, retryAfter: '0' });
  const r = await runCode({
    token: TOKEN, apiBaseUrl: ctx.api.url, timeoutSecs: 30, code: `
      const out = {};
      try {
        await apify.dataset.pushItems({ datasetId: '${dataset}', items: [{ a: 1 }] });
      } catch (error) {
        out.push = error.message;
      }
      const run = await apify.actor.start({ actorId: 'test/forever' });
      out.abort = (await apify.run.abort({ runId: run.id })).status;
      console.log(JSON.stringify(out));`,
  });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const out = JSON.parse(r.stdout) as { push: string; abort: string };
  assert.match(out.push, /failed with 500 injected-error: Injected 500 \(not sent again: it may have taken effect/);
  assert.is(out.abort, 'ABORTED');
  assert.is(ctx.api.calls(/\/items$/).length, 1);
  assert.is(ctx.api.calls(/\/abort$/).length, 2);
});

starts.run();

// ---
const limits = hardSuite('relay limits');

/** A promise a test settles when it is done waiting: what a held answer of the fake API waits for. */
function gate(): { held: Promise<void>; release(): void } {
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  return { held, release };
}

limits('relay limits :: a run holds at most its cap of connections; more are answered 429 and closed', async (ctx) => {
  // The API holds every call until the test is over, so the connections stay the run's however slow the machine.
  const api = gate();
  ctx.api.inject({ method: 'GET', path: /^\/v2\/acts\//, until: api.held, times: RELAY_LIMITS.connectionsPerRun });
  const s = await open(ctx);
  const get = `GET ${new URL(s.url).pathname}/v2/acts/apify~hello-world HTTP/1.1\r\nhost: x\r\n\r\n`;
  // Calls the API holds: each connection is the run's, and stays open.
  const held = Array.from({ length: RELAY_LIMITS.connectionsPerRun }, () => rawConnection(s.url, get));
  while (ctx.api.requests.length < RELAY_LIMITS.connectionsPerRun) await delay(20);
  const answer = await rawConnection(s.url, get).answer;
  assert.match(answer, /^HTTP\/1\.1 429 /);
  assert.match(answer, /relay-too-many-connections/);
  await s.close({ abortRunning: false });
  const closed = await Promise.race([Promise.all(held.map((c) => c.answer)).then(() => true), delay(2000).then(() => false)]);
  api.release();
  assert.ok(closed, 'the run\'s connections outlived it');
});

limits('relay limits :: a run has at most its cap of requests in flight', async (ctx) => {
  // The API holds the calls it gets until the ones over the cap were answered: they are in flight
  // together, however slowly the requests are sent.
  const api = gate();
  ctx.api.inject({ method: 'GET', path: /^\/v2\/acts\//, until: api.held, times: RELAY_LIMITS.requestsPerRun });
  const s = await open(ctx);
  let refused = 0;
  const sent = Array.from({ length: RELAY_LIMITS.requestsPerRun + 2 }, () => send(s.url, '/v2/acts/apify~hello-world').then((answer) => {
    if (answer.status === 429) refused += 1;
    return answer;
  }));
  await waitUntil(() => refused === 2 || ctx.api.requests.length > RELAY_LIMITS.requestsPerRun, 20_000);
  api.release();
  const answers = await Promise.all(sent);
  assert.is(ctx.api.requests.length, RELAY_LIMITS.requestsPerRun, 'the calls the API saw');
  const statuses = answers.map((a) => a.status).sort();
  assert.is(statuses.filter((st) => st === 200).length, RELAY_LIMITS.requestsPerRun);
  assert.is(statuses.filter((st) => st === 429).length, 2);
});

limits('relay limits :: requests pipelined on one connection count against the cap too', async (ctx) => {
  // The API holds each call, so pipelined requests pile up in flight instead of being served one by one.
  ctx.api.inject({ method: 'GET', path: /^\/v2\/store$/, delayMs: 800, times: RELAY_LIMITS.requestsPerRun });
  const s = await open(ctx);
  const get = `GET ${new URL(s.url).pathname}/v2/store HTTP/1.1\r\nhost: x\r\n\r\n`;
  const answer = await rawConnection(s.url, get.repeat(2000)).answer;
  const statuses = answer.match(/HTTP\/1\.1 \d+/g) ?? [];
  // How many Node parses before the refusal varies with timing; never more than the cap reach the API.
  assert.ok(statuses.length <= RELAY_LIMITS.requestsPerRun + 1, `${statuses.length} answers on one connection`);
  assert.ok(ctx.api.requests.length <= RELAY_LIMITS.requestsPerRun, `${ctx.api.requests.length} reached the API`);
});

limits('relay limits :: held bytes are counted per run and for the process, and refused whole', () => {
  const all = new ByteBudget(100, 'all runs\'');
  const a = new ByteBudget(60, 'this run\'s', all);
  const b = new ByteBudget(60, 'this run\'s', all);
  assert.is(a.take(50), undefined);
  assert.is(a.take(20), a, 'over the run\'s share');
  assert.is(b.take(60), all, 'over the process\'s total');
  assert.is(b.take(50), undefined);
  assert.equal([a.used, b.used, all.used], [50, 50, 100]);
  a.give(50);
  assert.is(b.take(10), undefined);
  assert.equal([a.used, b.used, all.used], [0, 60, 60]);
});

limits('relay limits :: bodies a run holds are capped, per run, without hurting another run', async (ctx) => {
  const s = await open(ctx);
  const other = await open(ctx);
  const put = `PUT ${new URL(s.url).pathname}/v2/key-value-stores/s1/records/k HTTP/1.1\r\nhost: x\r\ncontent-length: ${6 * 1024 * 1024 + 1}\r\n\r\n`;
  // Two uploads of 6 MiB that never finish: together they are over the run's 10 MiB, so one is refused.
  const uploads = [rawConnection(s.url, put), rawConnection(s.url, put)];
  for (const upload of uploads) upload.socket.write(Buffer.alloc(6 * 1024 * 1024));
  const first = await Promise.race(uploads.map((upload) => upload.answer));
  assert.match(first, /^HTTP\/1\.1 429 [^]*relay-busy[^]*this run's request bodies \(limit 10485760\)/);
  // Another run is not hurt by the first one's uploads.
  assert.is((await send(other.url, '/v2/key-value-stores/s1/records/k', { method: 'PUT', body: Buffer.alloc(1024) })).status, 404);
  for (const upload of uploads) upload.socket.destroy();
});

limits.run();

// ---
const docs = suite('relay docs');

/** A bound as docs/security.md writes it: bytes in KiB or MiB, milliseconds in seconds. */
function written(name: string, value: number): string {
  if (name.includes('Bytes')) return value < 1024 * 1024 ? `${value / 1024} KiB` : `${value / 1024 / 1024} MiB`;
  if (name.endsWith('Ms')) return `${value / 1000} s`;
  if (name.endsWith('Secs')) return `${value} s`;
  return String(value);
}

docs('relay docs :: docs/security.md (docs/tools.md for the tools route) states every relay bound as limits.ts defines it', () => {
  const page = ['docs/security.md', 'docs/tools.md'].map((file) => readFileSync(path.join(ROOT, file), 'utf8')).join('\n');
  for (const [name, value] of Object.entries(RELAY_LIMITS)) {
    const row = page.split('\n').find((line) => line.startsWith(`| \`${name}\``));
    assert.ok(row, `docs/security.md has no row for ${name}`);
    assert.is(row?.split('|')[2]?.trim(), written(name, value), name);
  }
});

docs.run();
