// A script's plain fetch through the egress gate, end to end: a real Deno child, the relay, and
// loopback servers standing in for the origins an operator allows. The script sees what a direct
// fetch would show (status, URL, redirects, headers, body, streamed both ways) minus the secrets,
// which it never sees in any form; every other way out fails at once, naming what is allowed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createRuntime, runCode } from '../../orchestrator/index.js';
import { normalizeOptions } from '../../orchestrator/run/options.js';
import { runNormalized } from '../../orchestrator/run/run.js';
import { REDACTED } from '../../orchestrator/relay/scrub.js';
import { encodedForms, startOrigin, type Origin } from '../helpers/origins.js';
import { waitUntil } from '../helpers/sandboxes.js';
import type { RunResult } from '../../types/result.js';

const SECRET = 'ghp_RUNsecret0123456789abcdefXYZ';
const AUTH = `Bearer ${SECRET}`;
const API = 'https://api.apify.com';

interface Context {
  a: Origin;
  b: Origin;
  c: Origin;
}

const egress = suite<Context>('egress', {} as Context);

egress.before(async (ctx) => {
  process.env.EGRESS_TEST_TOKEN = SECRET;
  [ctx.a, ctx.b, ctx.c] = await Promise.all([startOrigin(), startOrigin(), startOrigin()]);
});
egress.after(async (ctx) => {
  delete process.env.EGRESS_TEST_TOKEN;
  await Promise.all([ctx.a.close(), ctx.b.close(), ctx.c.close()]);
});
egress.before.each((ctx) => {
  for (const origin of [ctx.a, ctx.b, ctx.c]) origin.seen.length = 0;
});

/** Everything a run shows anyone, checked for every form of the secret. */
function assertNoSecret(r: RunResult): void {
  const all = JSON.stringify(r);
  for (const form of [...encodedForms(AUTH), ...encodedForms(SECRET)]) assert.not.ok(all.includes(form), `${form} reached the script or its result`);
}

function lines(r: RunResult): string[] {
  assert.is(r.status, 'SUCCEEDED', `${r.statusMessage}\n${r.stderr}`);
  return r.stdout.trimEnd().split('\n');
}

egress('egress :: fetch reaches an allowed origin as a direct fetch would, with the operator\'s header added, never seen in any form', async ({ a }) => {
  const code = `
const r = await fetch('${a.url}/echo?q=1', { method: 'POST', body: JSON.stringify({ hi: 1 }), headers: { 'content-type': 'application/json', authorization: 'Bearer mine' } });
console.log(r.status, r.statusText, r.ok, r.url, r.redirected, r.type, r.headers.get('content-type'));
const echo = await r.json();
console.log(echo.method, echo.url, echo.body);
console.log(JSON.stringify({ headers: [...r.headers], echo }));
const g = await fetch('${a.url}/gzip');
console.log(g.headers.get('content-encoding'), JSON.stringify(await g.json()));
const s = await fetch('${a.url}/status?code=418&text=Teapot&body=short');
console.log(s.status, s.statusText, await s.text());
try { r.headers.set('x', 'y'); } catch (e) { console.log('headers', e.name); }
const copy = (await fetch('${a.url}/echo')).clone();
console.log(copy.url, copy.type);`;
  const r = await runCode({ code, egress: { [a.url]: { headers: { Authorization: 'Bearer ${EGRESS_TEST_TOKEN}' } } }, timeoutSecs: 30 });
  const out = lines(r);
  assert.is(out[0], `200 OK true ${a.url}/echo?q=1 false basic application/json`);
  assert.is(out[1], 'POST /echo?q=1 {"hi":1}');
  assert.ok(out[2]!.includes(REDACTED), 'the echoed header came back redacted');
  assert.match(out[3]!, /^null \{"gzipped":true,"auth":"\[token redacted\]"/);
  // Deno's fetch gives the standard reason phrase, whatever the origin sent, directly or not.
  assert.is(out[4], '418 I\'m a teapot short');
  assert.is(out[5], 'headers TypeError');
  assert.is(out[6], `${a.url}/echo basic`);
  assert.is(a.seen[0]?.headers.authorization, AUTH, 'the origin got the operator\'s header, not the script\'s');
  assertNoSecret(r);
  assert.equal(r.requests.map(({ origin, method, status }) => `${method} ${origin} ${status}`), [
    `POST ${a.url} 200`, `GET ${a.url} 200`, `GET ${a.url} 418`, `GET ${a.url} 200`,
  ]);
});

egress('egress :: a secret echoed as PHP, HTML or a twice-encoded URL write it, a cookie\'s value alone, or a header\'s name never reaches the script', async ({ a }) => {
  const key = 'k3y/With+Slash=Equals&Amp';
  const session = 'CookieSession0123456789';
  const r = await runCode({
    code: `const r = await fetch('${a.url}/echo-escaped');
console.log(JSON.stringify([...r.headers]));
console.log(await r.text());`,
    egress: { [a.url]: { headers: { 'X-Api-Key': key, Cookie: `session=${session}; theme=dark` } } },
  });
  const [head, ...body] = lines(r);
  const headers = JSON.parse(head!) as [string, string][];
  const forms = Object.fromEntries(body.map((line) => [line.slice(0, line.indexOf(' ')), line.slice(line.indexOf(' ') + 1)]));
  assert.equal(JSON.parse(forms.cookies!), { session: REDACTED, theme: 'dark' }, 'the cookie\'s value is a secret; the rest is not');
  for (const form of ['php', 'html', 'decimal', 'twice']) assert.match(String(forms[form]), REDACTED, `${form}: ${String(forms[form])}`);
  assert.ok(headers.some(([name, value]) => name === 'set-cookie' && value === `session=${REDACTED}; HttpOnly`), JSON.stringify(headers));
  assert.not.ok(headers.some(([name]) => name.startsWith('x-seen-')), 'a header named after a secret is dropped');
  const all = `${r.stdout}${r.stderr}${JSON.stringify(r)}`;
  for (const form of [key, session, encodeURIComponent(key), 'k3y\\/With', 'k3y&#x2f;With', 'k3y&#47;With']) assert.not.ok(all.includes(form), `${form} reached the script`);
});

egress('egress :: bodies stream both ways: the script reads the first part before the origin sends the rest, and uploads a stream', async ({ a }) => {
  const code = `
const dec = new TextDecoder();
const r = await fetch('${a.url}/slow');
const reader = r.body.getReader();
console.log('1:', dec.decode((await reader.read()).value).trim());
await fetch('${a.url}/echo?got-first');
console.log('2:', dec.decode((await reader.read()).value).trim());
let n = 0;
const upload = new ReadableStream({ pull(c) { n += 1; if (n > 3) c.close(); else c.enqueue(new TextEncoder().encode('part' + n + ';')); } });
const up = await fetch('${a.url}/stream-echo', { method: 'POST', body: upload });
console.log('3:', await up.text());
const replay = await fetch('${a.url}/redirect?status=307&to=/echo', { method: 'PUT', body: 'again' });
console.log('4:', replay.redirected, (await replay.json()).body);
try {
  await fetch('${a.url}/redirect?status=307&to=/echo', { method: 'PUT', body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array([1])); c.close(); } }) });
} catch (e) { console.log('5:', e.name, e.message); }`;
  const run = runCode({ code, egress: { [a.url]: { headers: { Authorization: AUTH } } }, timeoutSecs: 30 });
  // The origin sends its second part only once the script has shown it read the first.
  assert.ok(await waitUntil(() => a.seen.some((seen) => seen.url === '/echo?got-first'), 20_000), 'the script never read the first part on its own');
  a.release();
  const out = lines(await run);
  assert.equal(out.slice(0, 4), ['1: first', '2: second', '3: part1;part2;part3;', '4: true again']);
  assert.match(out[4]!, /^5: TypeError PUT http:\/\/127\.0\.0\.1:\d+\/redirect\?status=307&to=\/echo was redirected \(307\) to .*, which would need its body again; a body given as a stream is sent once and not kept$/);
});

egress('egress :: every other way out fails at once, naming what was tried and what is allowed, and never reaches it', async ({ a, b, c }) => {
  const allowed = `allowed: ${a.url}, ${c.url}/v1, http://localhost:${b.port}, ${API}`;
  const code = `
const tries = {
  other: () => fetch('${b.url}/echo'),
  port: () => fetch('http://127.0.0.1:${b.port + (b.port === 65535 ? -1 : 1)}/'),
  prefix: () => fetch('${c.url}/v2/echo'),
  dotParams: () => fetch('${c.url}/v1/..;/admin'),
  loopbackName: () => fetch('http://localhost:${b.port}/echo'),
  redirectAway: () => fetch('${a.url}/redirect?to=' + encodeURIComponent('${b.url}/echo')),
  websocket: () => new WebSocket('${a.url.replace('http', 'ws')}/'),
  eventSource: () => new EventSource('${a.url}/echo'),
  connect: () => Deno.connect({ hostname: '127.0.0.1', port: ${a.port} }),
};
for (const [name, attempt] of Object.entries(tries)) {
  try { await attempt(); console.log(name, 'reached'); } catch (e) { console.log(name, e.name, e.message); }
}
const hop = await fetch('${a.url}/redirect?to=' + encodeURIComponent('${c.url}/v1/echo'), { headers: { authorization: 'Bearer scripts-own' } });
console.log('hop', hop.status, hop.url, hop.redirected);
const manual = await fetch('${a.url}/redirect?to=/echo', { redirect: 'manual' });
console.log('manual', manual.status, manual.headers.get('location'));
const seeOther = await fetch('${a.url}/redirect?status=303&to=/echo', { method: 'POST', body: 'dropped' });
console.log('303', (await seeOther.json()).method);`;
  const r = await runCode({ code, egress: { [a.url]: { headers: { Authorization: AUTH } }, [`${c.url}/v1`]: {}, [`http://localhost:${b.port}`]: {} }, timeoutSecs: 30 });
  const out = lines(r);
  const denied = (target: string) => `NotCapable network access to ${target} is not allowed in this sandbox; ${allowed}`;
  assert.equal(out.slice(0, 9), [
    `other ${denied(`127.0.0.1:${b.port}`)}`,
    `port ${denied(`127.0.0.1:${b.port + (b.port === 65535 ? -1 : 1)}`)}`,
    `prefix ${denied(`${c.url}/v2/echo`)}`,
    `dotParams NotCapable network access to ${c.url}/v1/..;/admin is not allowed in this sandbox: a dot segment with parameters (\`..;\`, \`.;\`) in the path is refused under a path prefix; ${allowed}`,
    `loopbackName NotCapable network access to localhost:${b.port} is not allowed in this sandbox: localhost resolves to ${out[4]!.includes('::1') ? '::1' : '127.0.0.1'}, which is not a public address; a name must resolve to public addresses only (an operator who means a private host allows it by its IP address)`,
    `redirectAway ${denied(`127.0.0.1:${b.port}`)} (redirected to it from ${a.url}/redirect?to=${encodeURIComponent(`${b.url}/echo`)})`,
    `websocket NotCapable network access to 127.0.0.1:${a.port} through WebSocket is not allowed in this sandbox (only fetch reaches the network); ${allowed}`,
    `eventSource NotCapable network access to 127.0.0.1:${a.port} through EventSource (read the stream with fetch instead) is not allowed in this sandbox (only fetch reaches the network); ${allowed}`,
    `connect NotCapable network access to 127.0.0.1:${a.port} through Deno.connect is not allowed in this sandbox (only fetch reaches the network); ${allowed}`,
  ]);
  assert.equal(out.slice(9), [`hop 200 ${c.url}/v1/echo true`, 'manual 302 /echo', '303 GET']);
  assert.is(b.seen.length, 0, 'a refused origin was reached');
  // The operator's header went to its own origin only; the script's own credential did not follow the redirect.
  const atC = c.seen.find((seen) => seen.url === '/v1/echo')!;
  assert.is(atC.headers.authorization, undefined);
  assert.is(a.seen[0]?.headers.authorization, AUTH);
  assert.not.ok(r.stdout.includes('reached'));
  assert.not.match(r.stdout + r.stderr, /--allow-net|run again with/);
});

egress('egress :: a run\'s request and response bytes are capped, and the script is told which cap and why', async ({ a }) => {
  const code = `
try { await fetch('${a.url}/echo', { method: 'POST', body: 'x'.repeat(20000) }); } catch (e) { console.log('up', e.name, e.message); }
const r = await fetch('${a.url}/huge?bytes=300000');
try { await r.arrayBuffer(); console.log('read it all'); } catch (e) { console.log('down', e.name, e.message); }
try { await fetch('${a.url}/never'); } catch (e) { console.log('never', e.name, e.message); }`;
  const options = { ...normalizeOptions({ code, egress: { [a.url]: {} }, timeoutSecs: 30 }), egressLimits: { requestBytes: 10_000, responseBytes: 100_000, headersTimeoutMs: 500 } };
  const out = lines(await runNormalized(options));
  assert.match(out[0]!, /^up TypeError The request bodies of this run's fetches came to more than 0\.0095\d* MiB, the limit per run; POST http:\/\/127\.0\.0\.1:\d+\/echo was not sent whole$/);
  assert.match(out[1]!, /^down TypeError The answers of this run's fetches came to more than 0\.095\d* MiB, the limit per run; GET http:\/\/127\.0\.0\.1:\d+\/huge was cut off after \d+ bytes: ask for less at a time$/);
  assert.match(out[2]!, /^never TypeError http:\/\/127\.0\.0\.1:\d+ did not answer GET http:\/\/127\.0\.0\.1:\d+\/never within 0\.5 s$/);
  assert.ok(a.seen.every((seen) => seen.body.length < 20_000), 'the origin never got the whole upload');
});

egress('egress :: a script that times out reading a slow origin leaves no connection to it open', async ({ a }) => {
  const closedBefore = a.connections.closed;
  const openedBefore = a.connections.opened;
  const r = await runCode({ code: `const r = await fetch('${a.url}/drip'); for await (const chunk of r.body) {}`, egress: { [a.url]: {} }, timeoutSecs: 2 });
  assert.is(r.status, 'TIMED-OUT');
  const opened = a.connections.opened - openedBefore;
  assert.ok(opened >= 1);
  assert.ok(await waitUntil(() => a.connections.closed - closedBefore >= opened, 5000), 'the drip\'s connection outlived the run');
  assert.is(r.requests.length, 1);
});

egress('egress :: createRuntime({ egress }) serves every run, a run\'s own egress adds to it, and bad origins are refused naming the key', async ({ a, c }) => {
  const runtime = createRuntime({ concurrency: 1, warmProcesses: 0, egress: { [a.url]: { headers: { Authorization: AUTH } } } });
  try {
    const both = `for (const u of ['${a.url}/echo', '${c.url}/echo']) { try { console.log((await fetch(u)).status); } catch (e) { console.log(e.name); } }`;
    assert.equal(lines(await runtime.run({ code: both })), ['200', 'NotCapable']);
    assert.equal(lines(await runtime.run({ code: both, egress: { [c.url]: {} } })), ['200', '200']);
    assert.is(a.seen[0]?.headers.authorization, AUTH);
  } finally {
    await runtime.close();
  }
  assert.throws(() => createRuntime({ defaults: { egress: {} } as never }), /`defaults` cannot hold `egress`; give it to createRuntime itself/);
  for (const [egressOption, message] of [
    [{ 'ftp://x.com': {} }, /`egress\["ftp:\/\/x\.com"\]` must be an http\(s\) origin .*; it is a ftp: URL/],
    [{ 'https://u:p@x.com': {} }, /must not carry credentials/],
    [{ 'https://x.com?a=1': {} }, /it has a query or a fragment/],
    [{ 'https://x.com': { headers: { Host: 'y' } } }, /`egress\["https:\/\/x\.com"\]\.headers\.Host` is set by the relay itself/],
    [{ 'https://x.com': { headers: { A: 'line\nbreak' } } }, /must be one line/],
    [{ 'https://x.com': { header: {} } }, /`egress\["https:\/\/x\.com"\]\.header` is not a key of an egress origin; its keys are headers/],
    [{ 'https://x.com': {}, 'https://X.com:443/': {} }, /are the same origin \(https:\/\/x\.com\)/],
    [{ 'https://x.com': { headers: { A: '${EGRESS_UNSET_VARIABLE}' } } }, /uses \$\{EGRESS_UNSET_VARIABLE\}, which is not set/],
  ] as const) {
    let error: unknown;
    try {
      await runCode({ code: '1', egress: egressOption as never });
    } catch (caught) {
      error = caught;
    }
    assert.instance(error, TypeError);
    assert.match((error as Error).message, message);
  }
});

egress.run();
