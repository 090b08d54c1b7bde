// The relay, the only holder of the token: what it refuses, what it forwards and how, its budget,
// its cleanup, and the secrecy of the token against a hostile script run by runCode in real Deno.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { runCode } from '../../orchestrator/index.js';
import { createBudget } from '../../orchestrator/relay/budget.js';
import { matchRoute } from '../../orchestrator/relay/routes.js';
import { createScrubber, REDACTED } from '../../orchestrator/relay/scrub.js';
import { RELAY_LIMITS } from '../../orchestrator/relay/limits.js';
import { openRelaySession, relayHostPort, type RelaySession, type RelaySessionOptions } from '../../orchestrator/relay/relay.js';
import { send } from '../helpers/raw-http.js';
import { DEFAULT_ACTORS, startFakeApi, type FakeApi } from '../helpers/fake-api.js';
import { fixture } from '../helpers/helpers.js';

const TOKEN = 'apify_api_RELAYtoken0123456789abcdefXYZ';

interface Context {
  api: FakeApi;
  sessions: RelaySession[];
}

function relaySuite(name: string) {
  const s = suite<Context>(name, {} as Context);
  s.before(async (ctx) => {
    const leaky = { id: 'LeakyActorId01', username: 'test', name: 'leaky', items: () => [{ secret: TOKEN }], log: `token=${TOKEN}\n` };
    ctx.api = await startFakeApi({ token: TOKEN, actors: [...DEFAULT_ACTORS, leaky] });
  });
  s.before.each((ctx) => {
    ctx.api.requests.length = 0;
    ctx.sessions = [];
  });
  s.after.each(async (ctx) => {
    await Promise.all(ctx.sessions.map((session) => session.close({ abortRunning: false })));
  });
  s.after(async (ctx) => {
    await ctx.api.close();
  });
  return s;
}

async function open(ctx: Context, options: Partial<RelaySessionOptions> = {}): Promise<RelaySession> {
  const session = await openRelaySession({ token: TOKEN, apiBaseUrl: ctx.api.url, ...options });
  ctx.sessions.push(session);
  return session;
}

// ---
const routes = suite('relay-routes');

routes('relay-routes :: the allowlist takes the binding\'s calls and nothing near them', () => {
  const allowed: [string, string][] = [
    ['GET', '/v2/store'], ['GET', '/v2/acts/apify~hello-world'], ['POST', '/v2/acts/abc/runs'], ['GET', '/v2/actor-runs/r1'],
    ['POST', '/v2/actor-runs/r1/abort'], ['GET', '/v2/logs/r1'], ['POST', '/v2/datasets'], ['GET', '/v2/datasets/d1'],
    ['GET', '/v2/datasets/d1/items'], ['POST', '/v2/datasets/d1/items'], ['POST', '/v2/key-value-stores'],
    ['GET', '/v2/key-value-stores/s1/keys'], ['GET', "/v2/key-value-stores/s1/records/a.b-c_d!'()"], ['PUT', '/v2/key-value-stores/s1/records/k'],
  ];
  for (const [method, path] of allowed) assert.ok(matchRoute(method, path), `${method} ${path} should be allowed`);
  const refused: [string, string][] = [
    ['GET', '/v2/users/me'], ['GET', '/v2/actor-runs'], ['DELETE', '/v2/datasets/d1'], ['PUT', '/v2/datasets/d1'],
    ['POST', '/v2/acts/x/run-sync'], ['POST', '/v2/acts/x/runs/'], ['GET', '/v2/datasets/..%2Fusers%2Fme/items'],
    ['GET', '/v2/datasets/../items'], ['GET', '/v2/datasets/./items'], ['GET', '//v2/store'], ['GET', '/v2/store/'],
    ['GET', '/v2/acts/a/b'], ['HEAD', '/v2/store'], ['GET', '/v1/store'], ['GET', '/v2/key-value-stores/s1/records/a%2Fb'],
  ];
  for (const [method, path] of refused) assert.not.ok(matchRoute(method, path), `${method} ${path} should be refused`);
});

routes.run();

// ---
const budget = suite('relay-budget');

budget('relay-budget :: maxActorRuns counts reservations and takes back released ones', () => {
  const b = createBudget({ maxActorRuns: 2 });
  const first = b.reserve({});
  const second = b.reserve({});
  const third = b.reserve({});
  assert.ok(first.ok && second.ok);
  assert.equal(third, { ok: false, message: 'maxActorRuns limit of 2 reached: the script may start at most 2 Actor runs' });
  if (first.ok) {
    first.reservation.release();
    first.reservation.release();
  }
  assert.ok(b.reserve({}).ok);
  assert.not.ok(b.reserve({}).ok, 'a double release must not free two places');
});

budget('relay-budget :: maxTotalChargeUsd clamps caps to what remains, in exact cents', () => {
  const b = createBudget({ maxTotalChargeUsd: 0.3 });
  const caps = [0.1, 0.2, undefined].map((asked) => b.reserve({ maxTotalChargeUsd: asked }));
  assert.equal(caps.map((c) => (c.ok ? c.reservation.maxTotalChargeUsd : c.message)), [
    0.1, 0.2,
    'maxTotalChargeUsd limit of $0.3 reached: the Actor runs this script started already reserve $0.3 of it and each run\'s cap is at least $0.01; give each run a smaller maxTotalChargeUsd to leave room for more runs',
  ]);
  const whole = createBudget({ maxTotalChargeUsd: 2 }).reserve({});
  assert.is(whole.ok && whole.reservation.maxTotalChargeUsd, 2);
});

budget('relay-budget :: defaultTimeoutSecs fills only a missing timeout', () => {
  const b = createBudget({ defaultTimeoutSecs: 90 });
  const a = b.reserve({});
  const c = b.reserve({ timeoutSecs: 10 });
  assert.is(a.ok && a.reservation.timeoutSecs, 90);
  assert.is(c.ok && c.reservation.timeoutSecs, 10);
  const none = createBudget({}).reserve({ maxTotalChargeUsd: 3 });
  assert.is(none.ok && none.reservation.maxTotalChargeUsd, 3);
});

budget.run();

// ---
const scrub = suite('relay-scrub');

scrub('relay-scrub :: the token is replaced wherever the stream is split', () => {
  const token = 'apify_api_SECRET123';
  const text = `a${token}b${token}${token}c`;
  const expected = `a${REDACTED}b${REDACTED}${REDACTED}c`;
  for (let cut = 0; cut <= text.length; cut += 1) {
    for (const cut2 of [cut, Math.min(text.length, cut + 5)]) {
      const s = createScrubber(token);
      const out = Buffer.concat([
        s.push(Buffer.from(text.slice(0, cut))), s.push(Buffer.from(text.slice(cut, cut2))), s.push(Buffer.from(text.slice(cut2))), s.end(),
      ]).toString();
      assert.is(out, expected, `cut at ${cut}/${cut2}`);
    }
  }
  const partial = createScrubber(token);
  assert.is(Buffer.concat([partial.push(Buffer.from('xx apify_api_SEC')), partial.end()]).toString(), 'xx apify_api_SEC');
});

scrub.run();

// ---
const relay = relaySuite('relay');

relay('relay :: its address is fixed for the process and every session is under it', async (ctx) => {
  const hostPort = await relayHostPort();
  const a = await open(ctx);
  const b = await open(ctx);
  assert.match(hostPort, /^127\.0\.0\.1:\d+$/);
  assert.is(await relayHostPort(), hostPort);
  assert.ok(a.url.startsWith(`http://${hostPort}/r/`) && b.url.startsWith(`http://${hostPort}/r/`));
  assert.is.not(a.url, b.url);
});

relay('relay :: refuses another run\'s secret, a made-up one and a closed session', async (ctx) => {
  const a = await open(ctx);
  const b = await open(ctx);
  await a.close({ abortRunning: false });
  const base = new URL(b.url).origin;
  const made = `${base}/r/${'0'.repeat(48)}`;
  for (const url of [a.url, made, `${base}/r/short`, base]) {
    const answer = await send(url, '/v2/store');
    assert.is(answer.status, 403, url);
    assert.is(answer.json?.error?.type, 'relay-forbidden');
    assert.match(answer.json?.error?.message ?? '', /No open relay session has this address/);
  }
  assert.is((await send(b.url, '/v2/store')).status, 200);
  assert.equal(ctx.api.calls(/./), ['GET /v2/store']);
});

relay('relay :: refuses endpoints, methods and query parameters the binding does not use', async (ctx) => {
  const s = await open(ctx);
  const cases: [string, string, string][] = [
    ['GET', '/v2/users/me', 'relay-endpoint-not-allowed'],
    ['GET', '/v2/actor-runs', 'relay-endpoint-not-allowed'],
    ['DELETE', '/v2/datasets/abc', 'relay-endpoint-not-allowed'],
    ['GET', '/v2/datasets/..%2F..%2Fusers%2Fme/items', 'relay-endpoint-not-allowed'],
    ['GET', '/v2/datasets/../../users/me', 'relay-endpoint-not-allowed'],
    ['POST', '/v2/acts/apify~hello-world/run-sync', 'relay-endpoint-not-allowed'],
    ['GET', '/v2/store?token=abc', 'relay-parameter-not-allowed'],
    ['POST', '/v2/acts/apify~hello-world/runs?webhooks=W10', 'relay-parameter-not-allowed'],
    ['GET', '/v2/store?limit=1&limit=2', 'relay-parameter-not-allowed'],
  ];
  for (const [method, path, type] of cases) {
    const answer = await send(s.url, path, { method });
    assert.is(answer.status, 403, `${method} ${path}`);
    assert.is(answer.json?.error?.type, type, `${method} ${path}`);
  }
  assert.is((await send(s.url, '/v2/store?token=abc')).json?.error?.message,
    'Query parameter `token` is not allowed on GET /v2/store; the allowed ones are search, limit, offset, category');
  assert.equal(ctx.api.requests, [], 'nothing refused may reach the API');
});

relay('relay :: adds the token and forwards none of the sandbox\'s own headers', async (ctx) => {
  const s = await open(ctx);
  const answer = await send(s.url, '/v2/datasets', {
    method: 'POST',
    headers: { authorization: 'Bearer stolen', cookie: 'a=b', 'proxy-authorization': 'Basic x', 'x-forwarded-for': '10.0.0.1', 'x-apify-request-origin': 'MCP', connection: 'keep-alive, x-hop' },
  });
  assert.is(answer.status, 201);
  const seen = ctx.api.requests[0]?.headers ?? {};
  assert.is(seen.authorization, `Bearer ${TOKEN}`);
  assert.is(seen['user-agent'], 'code-runtime-relay');
  for (const name of ['cookie', 'proxy-authorization', 'x-forwarded-for', 'x-apify-request-origin', 'x-hop']) assert.is(seen[name], undefined, name);
  for (const name of Object.keys(answer.headers)) {
    assert.ok(['content-type', 'content-length', 'date', 'connection', 'keep-alive', 'transfer-encoding'].includes(name), `answer header ${name}`);
  }
});

relay('relay :: refuses a body over its cap with 413, without forwarding it', async (ctx) => {
  const s = await open(ctx);
  const answer = await send(s.url, '/v2/key-value-stores/abc/records/big', { method: 'PUT', body: Buffer.alloc(RELAY_LIMITS.bodyBytes + 1) });
  assert.is(answer.status, 413);
  assert.is(answer.json?.error?.type, 'request-too-large');
  assert.equal(ctx.api.requests, []);
});

relay('relay :: scrubs the token from what the API answers', async (ctx) => {
  const s = await open(ctx);
  const started = await send(s.url, '/v2/acts/test~leaky/runs', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
  const run = started.json?.data as { id: string; defaultDatasetId: string };
  await send(s.url, `/v2/actor-runs/${run.id}?waitForFinish=60`);
  const items = await send(s.url, `/v2/datasets/${run.defaultDatasetId}/items`);
  const log = await send(s.url, `/v2/logs/${run.id}`);
  assert.equal(JSON.parse(items.text), [{ secret: REDACTED }]);
  assert.is(log.text, `token=${REDACTED}\n`);
});

relay('relay :: five concurrent starts with maxActorRuns 2 forward exactly two', async (ctx) => {
  ctx.api.inject({ method: 'POST', path: /\/runs$/, delayMs: 300, times: 2 });
  const s = await open(ctx, { maxActorRuns: 2 });
  const answers = await Promise.all([1, 2, 3, 4, 5].map(() => send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' })));
  assert.equal(answers.map((a) => a.status).sort(), [201, 201, 403, 403, 403]);
  assert.is(ctx.api.calls(/\/runs$/).length, 2);
  const { actorRuns: runs } = await s.close({ abortRunning: false });
  assert.is(runs.length, 2);
});

relay('relay :: a start the API refuses gives its place back', async (ctx) => {
  const s = await open(ctx, { maxActorRuns: 1 });
  assert.is((await send(s.url, '/v2/acts/nobody~nothing/runs', { method: 'POST', body: '{}' })).status, 404);
  assert.is((await send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' })).status, 201);
  assert.is((await send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' })).status, 403);
});

relay('relay :: close aborts unfinished runs only when asked, and lists every run', async (ctx) => {
  const keep = await open(ctx);
  await send(keep.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' });
  const { actorRuns: kept } = await keep.close({ abortRunning: false });
  assert.equal(kept.map((r) => [r.actorId, r.status]), [['test/forever', 'READY']]);

  const stop = await open(ctx);
  const done = await send(stop.url, '/v2/acts/apify~hello-world/runs', { method: 'POST', body: '{}' });
  await send(stop.url, `/v2/actor-runs/${(done.json?.data as { id: string }).id}?waitForFinish=60`);
  await send(stop.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' });
  const { actorRuns: stopped } = await stop.close({ abortRunning: true });
  assert.equal(stopped.map((r) => [r.actorId, r.status]), [['apify/hello-world', 'SUCCEEDED'], ['test/forever', 'ABORTED']]);
  assert.is(ctx.api.calls(/abort$/).length, 1, 'a finished run is not aborted');
  assert.equal((await stop.close({ abortRunning: true })).actorRuns, stopped, 'close is idempotent');
});

relay('relay :: abort stops only runs this script started, never another run of the user', async (ctx) => {
  const other = await open(ctx);
  const foreign = await send(other.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' });
  const foreignId = (foreign.json?.data as { id: string }).id;
  const s = await open(ctx);
  const refused = await send(s.url, `/v2/actor-runs/${foreignId}/abort`, { method: 'POST' });
  assert.is(refused.status, 403);
  assert.is(refused.json?.error?.type, 'relay-run-not-started-here');
  assert.match(refused.json?.error?.message ?? '', new RegExp(`run ${foreignId} is not one of them`));
  assert.is(ctx.api.runs.get(foreignId)?.status === 'ABORTED', false);
  const own = await send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' });
  const ownId = (own.json?.data as { id: string }).id;
  const aborted = await send(s.url, `/v2/actor-runs/${ownId}/abort`, { method: 'POST' });
  assert.is(aborted.status, 200);
  assert.equal((await s.close({ abortRunning: false })).actorRuns.map((r) => r.status), ['ABORTED']);
});

relay('relay :: close waits for a start still in flight, then aborts that run too', async (ctx) => {
  ctx.api.inject({ method: 'POST', path: /\/runs$/, delayMs: 400 });
  const s = await open(ctx);
  const pending = send(s.url, '/v2/acts/test~forever/runs', { method: 'POST', body: '{}' }).catch(() => undefined);
  // Close once the start has reached the API, while its answer is still held back.
  while (ctx.api.requests.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  const { actorRuns: runs } = await s.close({ abortRunning: true });
  assert.is(runs.length, 1);
  assert.is(runs[0]?.status, 'ABORTED');
  assert.is(ctx.api.runs.get(runs[0]?.id ?? '')?.status, 'ABORTED');
  await pending;
});

relay('relay :: without a token, an API 401 says how to give one', async (ctx) => {
  const s = await open(ctx, { token: undefined });
  const answer = await send(s.url, '/v2/datasets', { method: 'POST' });
  assert.is(answer.status, 401);
  assert.match(answer.json?.error?.message ?? '', /pass `token` to runCode or set APIFY_TOKEN/);
  assert.is(ctx.api.requests[0]?.headers.authorization, undefined);
  assert.is((await send(s.url, '/v2/store')).status, 200, 'public endpoints still work');
});

relay('relay :: an unreachable API is a 502 that names it, never the token', async (ctx) => {
  const closed = await startFakeApi({ token: TOKEN });
  await closed.close();
  const s = await open(ctx, { apiBaseUrl: closed.url });
  const answer = await send(s.url, '/v2/store');
  assert.is(answer.status, 502);
  assert.is(answer.json?.error?.type, 'relay-upstream-unreachable');
  assert.is(answer.json?.error?.message, `Could not reach the Apify API at ${closed.url}: ECONNREFUSED`);
  assert.not.match(answer.text, TOKEN);
});

relay.run();

// ---
const secrecy = relaySuite('secrecy');

secrecy('secrecy :: a hostile script finds no token anywhere, and the relay refuses its direct calls', async ({ api }) => {
  const code = `const API_URL = '${api.url}';\n${fixture('apify-attack.ts')}`;
  const r = await runCode({ code, token: TOKEN, apiBaseUrl: api.url, timeoutSecs: 30 });
  assert.is(r.status, 'SUCCEEDED', r.stderr);
  const report = JSON.parse(r.stdout.split('\n')[0] ?? '') as Record<string, unknown>;
  assert.equal(report, {
    relayFound: true,
    attempts: {
      'users/me': 403, 'run list': 403, traversal: 403, 'token param': 403, webhooks: 403, 'other secret': 403,
      'own header': 200, 'api store': 200, 'api users/me': 401,
    },
    leakedItems: [{ secret: REDACTED }],
    log: `token=${REDACTED}\n`,
    valueOk: true,
    actors: 1,
  });
  // What the script caught is long (every header, body and URL its patches saw), yet never the token.
  assert.ok(r.stdout.length > 2000, `the patches caught ${r.stdout.length} characters`);
  assert.not.ok(JSON.stringify(r).includes(TOKEN), 'the token is in the result');
  for (const request of api.requests) {
    const fromRelay = request.headers['user-agent'] === 'code-runtime-relay';
    const carries = JSON.stringify(request.headers).includes(TOKEN) || request.body.toString().includes(TOKEN);
    assert.is(carries, fromRelay, `${request.method} ${request.path} from ${request.headers['user-agent']}`);
  }
  assert.ok(api.requests.some((q) => q.headers['user-agent'] !== 'code-runtime-relay'), 'the script reached the API directly too');
  assert.not.ok(api.requests.some((q) => q.path === '/v2/users/me' && q.headers.authorization), 'users/me never got the token');
});

secrecy.run();
