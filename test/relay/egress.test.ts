// The relay's egress family against a hostile script (issue 21): raw requests stand in for the
// guest's fetch, loopback servers for the origins. What goes out (only to allowed origins, with
// the operator's headers, never to a name that resolves to loopback, to the address checked),
// what comes back (every secret scrubbed in every form, decoded, streamed as it comes), the
// per-run caps and timeouts with their reasons, and the records.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { useEgressNetwork } from '../../orchestrator/relay/egress-net.js';
import { judge, type EgressRule } from '../../orchestrator/relay/egress-rules.js';
import type { EgressLimits } from '../../orchestrator/relay/egress-calls.js';
import { openRelaySession, type RelaySession } from '../../orchestrator/relay/relay.js';
import { createScrubber, REDACTED } from '../../orchestrator/relay/scrub.js';
import { send, type Answer } from '../helpers/raw-http.js';
import { encodedForms, startOrigin, type Origin } from '../helpers/origins.js';
import { scratchDir } from '../helpers/helpers.js';

const SECRET = 'ghp_EGRESSsecret0123456789abcdefXYZ';
const AUTH = `Bearer ${SECRET}`;

interface Context {
  a: Origin;
  b: Origin;
  sessions: RelaySession[];
}

const egress = suite<Context>('relay egress', {} as Context);

egress.before(async (ctx) => {
  ctx.a = await startOrigin();
  ctx.b = await startOrigin();
});
egress.after(async (ctx) => {
  await ctx.a.close();
  await ctx.b.close();
});
egress.before.each((ctx) => {
  ctx.a.seen.length = 0;
  ctx.b.seen.length = 0;
  ctx.sessions = [];
});
egress.after.each(async (ctx) => {
  await Promise.all(ctx.sessions.map((session) => session.close({ abortRunning: false })));
});

function rule(origin: string, headers: Record<string, string> = {}, prefix = ''): EgressRule {
  return { origin, prefix, headers };
}

async function open(ctx: Context, rules: EgressRule[], limits?: Partial<EgressLimits>): Promise<RelaySession> {
  const session = await openRelaySession({ apiBaseUrl: 'http://127.0.0.1:9', secrets: [AUTH, SECRET], egress: { rules, limits } });
  ctx.sessions.push(session);
  return session;
}

/** The relay path of a request to `url`. */
function to(url: string): string {
  const target = new URL(url);
  return `/egress/to/${encodeURIComponent(target.origin)}${target.pathname}${target.search}`;
}

function assertNoSecret(answer: Answer): void {
  const seen = JSON.stringify(answer.headers) + answer.text;
  for (const form of [...encodedForms(AUTH), ...encodedForms(SECRET)]) assert.not.ok(seen.includes(form), `${form} reached the script: ${seen.slice(0, 500)}`);
}

/** A raw streamed request: resolves with the answer's head, and its body as it arrives. */
function stream(base: string, path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<{ res: http.IncomingMessage; req: http.ClientRequest }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: init.method ?? 'GET', path: `${url.pathname}${path}`, headers: init.headers }, (res) => resolve({ res, req }));
    req.on('error', reject);
    req.end();
  });
}

function nextChunk(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    res.once('data', (chunk: Buffer) => resolve(chunk.toString()));
    res.once('error', reject);
    res.once('end', () => resolve(''));
  });
}

egress('relay egress :: an allowed origin gets the request with the operator\'s header in place of the script\'s, and the answer comes back scrubbed in every form', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url, { Authorization: AUTH })]);
  const answer = await send(s.url, to(`${ctx.a.url}/echo?q=1`), {
    method: 'POST',
    headers: { authorization: 'Bearer the-scripts-own', 'x-custom': 'kept', connection: 'x-hop', 'x-hop': 'dropped', 'code-runtime-egress-id': '7', 'content-type': 'text/plain' },
    body: 'hello',
  });
  assert.is(answer.status, 200, answer.text);
  assert.is(answer.headers['code-runtime-egress'], '1');
  const got = ctx.a.seen[0]!;
  assert.equal([got.method, got.url, got.body.toString()], ['POST', '/echo?q=1', 'hello']);
  assert.is(got.headers.authorization, AUTH);
  assert.is(got.headers['x-custom'], 'kept');
  assert.is(got.headers['x-hop'], undefined, 'a header the Connection header names is hop-by-hop');
  assert.not.ok(Object.keys(got.headers).some((name) => name.startsWith('code-runtime-')), 'the relay\'s own headers stay in the relay');
  assertNoSecret(answer);
  assert.is(answer.headers['x-seen-auth'], REDACTED);
  assert.ok((answer.headers['set-cookie'] ?? []).length === 2, 'every set-cookie is passed');
  assert.ok(answer.text.includes(REDACTED));
});

egress('relay egress :: another origin, another port or a path outside the prefix is refused and never reached, naming what is allowed', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url, {}, '/v1'), rule('https://api.example.com')]);
  const allowed = `allowed: ${ctx.a.url}/v1, https://api.example.com`;
  const refused = [
    [`${ctx.b.url}/echo`, `network access to 127.0.0.1:${ctx.b.port} is not allowed in this sandbox; ${allowed}`],
    [`http://127.0.0.2:${ctx.a.port}/v1/echo`, `network access to 127.0.0.2:${ctx.a.port} is not allowed in this sandbox; ${allowed}`],
    [`${ctx.a.url}/v2/echo`, `network access to ${ctx.a.url}/v2/echo is not allowed in this sandbox; ${allowed}`],
    [`${ctx.a.url}/v1x/echo`, `network access to ${ctx.a.url}/v1x/echo is not allowed in this sandbox; ${allowed}`],
    [`${ctx.a.url}/v1/..%2Fadmin`, 'an encoded \'.\', \'/\' or \'\\\' in the path is refused under a path prefix'],
    // What some servers read as `..` (Tomcat, Spring: `..;`) or decode twice (`%252e`) would leave the prefix there.
    [`${ctx.a.url}/v1/..;/admin`, 'a dot segment with parameters (`..;`, `.;`) in the path is refused under a path prefix'],
    [`${ctx.a.url}/v1/.;x/admin`, 'a dot segment with parameters (`..;`, `.;`) in the path is refused under a path prefix'],
    [`${ctx.a.url}/v1/%252e%252e/admin`, 'an encoded \'%\' in the path is refused under a path prefix'],
  ] as const;
  for (const [url, message] of refused) {
    const answer = await send(s.url, to(url));
    assert.is(answer.status, 403, url);
    assert.is(answer.json?.error?.type, 'egress-not-allowed');
    assert.ok(answer.json?.error?.message?.includes(message), `${answer.json?.error?.message} ≠ ${message}`);
  }
  // A path cannot name another origin: `//host/` after the origin is a path of that origin.
  const sneaky = await send(s.url, `/egress/to/${encodeURIComponent(ctx.a.url)}//127.0.0.1:${ctx.b.port}/v1/echo`);
  assert.is(sneaky.status, 403);
  assert.is((await send(s.url, to(`${ctx.a.url}/v1/echo`))).status, 200);
  // Without a prefix the whole origin is allowed: nothing there to leave.
  assert.ok(judge([rule('https://api.example.com')], new URL('https://api.example.com/..;/%252e')).ok);
  // Beside a whole-origin entry, such a path under a prefix goes out without the prefix's headers.
  const mixed = [rule('https://x.example.com'), rule('https://x.example.com', { 'X-Admin': 'admin-secret-123' }, '/admin')];
  for (const trick of ['/admin/..%2fpublic', '/admin/..;/public', '/admin/%252e%252e/public']) {
    const verdict = judge(mixed, new URL(`https://x.example.com${trick}`));
    assert.ok(verdict.ok && verdict.rule.prefix === '', trick);
  }
  const plain = judge(mixed, new URL('https://x.example.com/admin/users'));
  assert.ok(plain.ok && plain.rule.prefix === '/admin');
  assert.is(ctx.b.seen.length, 0, 'a refused origin was reached');
  assert.equal(ctx.a.seen.map((seen) => seen.url), ['/v1/echo']);
});

egress('relay egress :: a name that resolves to loopback is refused; an IP literal is the operator\'s choice', async (ctx) => {
  const s = await open(ctx, [rule(`http://localhost:${ctx.a.port}`), rule(ctx.b.url)]);
  const answer = await send(s.url, to(`http://localhost:${ctx.a.port}/echo`));
  assert.is(answer.status, 403);
  assert.is(answer.json?.error?.type, 'egress-private-address');
  assert.match(answer.json?.error?.message ?? '', /^network access to localhost:\d+ is not allowed in this sandbox: localhost resolves to (127\.0\.0\.1|::1), which is not a public address/);
  assert.is(ctx.a.seen.length, 0);
  assert.is((await send(s.url, to(`${ctx.b.url}/echo`))).status, 200);
});

egress('relay egress :: the address checked is the one connected to: a name cannot be rebound between check and connect', async (ctx) => {
  const asked: string[] = [];
  // The first answer is the checked one (stands for a public address); any later one would be refused.
  const restore = useEgressNetwork({
    resolve: async (hostname) => {
      asked.push(hostname);
      return asked.length === 1 ? [{ address: '127.0.0.1', family: 4 }] : [{ address: '127.0.0.2', family: 4 }];
    },
    refused: (address) => address !== '127.0.0.1',
  });
  try {
    const s = await open(ctx, [rule(`http://rebind.test:${ctx.a.port}`), rule(`http://mixed.test:${ctx.a.port}`)]);
    const answer = await send(s.url, to(`http://rebind.test:${ctx.a.port}/echo`));
    assert.is(answer.status, 200, answer.text);
    assert.equal(asked, ['rebind.test'], 'resolved once, for the connection itself');
    assert.is(ctx.a.seen[0]?.headers.host, `rebind.test:${ctx.a.port}`);
    // One private address among the answers refuses the name.
    const mixed = await send(s.url, to(`http://mixed.test:${ctx.a.port}/echo`));
    assert.is(mixed.json?.error?.type, 'egress-private-address');
  } finally {
    restore();
  }
});

egress('relay egress :: a redirect goes back to the script as it is; the relay follows none', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url, { Authorization: AUTH })]);
  const answer = await send(s.url, to(`${ctx.a.url}/redirect?to=${encodeURIComponent(`${ctx.b.url}/echo`)}`));
  assert.is(answer.status, 302);
  assert.is(answer.headers.location, `${ctx.b.url}/echo`);
  assert.is(ctx.b.seen.length, 0);
});

egress('relay egress :: a body of unknown length goes out chunked whatever the method, so it cannot smuggle a request', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url)]);
  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
  const { res } = await new Promise<{ res: http.IncomingMessage }>((resolve, reject) => {
    const url = new URL(s.url);
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: 'DELETE', path: `${url.pathname}${to(`${ctx.a.url}/echo`)}`, headers: { 'transfer-encoding': 'chunked' } }, (r) => resolve({ res: r }));
    req.on('error', reject);
    req.end(smuggled);
  });
  res.resume();
  await new Promise((resolve) => res.once('end', resolve));
  assert.is((await send(s.url, to(`${ctx.a.url}/after`))).status, 200);
  assert.equal(ctx.a.seen.map((seen) => `${seen.method} ${seen.url} ${seen.body.length}`), [`DELETE /echo ${smuggled.length}`, 'GET /after 0']);
});

egress('relay egress :: a gzip answer is decoded and scrubbed; a coding the relay cannot decode is refused', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url, { Authorization: AUTH })]);
  const answer = await send(s.url, to(`${ctx.a.url}/gzip`), { headers: { 'accept-encoding': 'gzip, zstd' } });
  assert.is(answer.status, 200);
  assert.is(answer.headers['content-encoding'], undefined);
  assert.is(JSON.parse(answer.text).gzipped, true);
  assertNoSecret(answer);
  assert.is(ctx.a.seen[0]?.headers['accept-encoding'], 'gzip', 'only codings the relay can decode are offered');
  const coded = await send(s.url, to(`${ctx.a.url}/coded?coding=zstd`));
  assert.is(coded.status, 502);
  assert.match(coded.json?.error?.message ?? '', /in the zstd coding, which the relay cannot decode/);
});

egress('relay egress :: an answer that streams is passed on as it comes, secrets or not', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url, { Authorization: AUTH })]);
  const { res } = await stream(s.url, to(`${ctx.a.url}/slow`));
  assert.is(await nextChunk(res), 'first\n', 'the first part arrived before the origin sent the rest');
  ctx.a.release();
  assert.is(await nextChunk(res), 'second\n');
});

egress('relay egress :: the run\'s request and response bytes are capped, with the reason kept for the guest to ask', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url)], { requestBytes: 1000, responseBytes: 100_000 });
  const big = await send(s.url, to(`${ctx.a.url}/echo`), { method: 'POST', body: Buffer.alloc(2000, 'b'), headers: { 'code-runtime-egress-id': '1' } });
  assert.is(big.status, 413);
  assert.match(big.json?.error?.message ?? '', /^The request bodies of this run's fetches came to more than 0\.00095\d* MiB, the limit per run/);
  assert.ok(ctx.a.seen.every((seen) => seen.body.length < 2000), 'the origin never got the whole body');
  const { res } = await stream(s.url, to(`${ctx.a.url}/huge?bytes=300000`), { headers: { 'code-runtime-egress-id': '2' } });
  assert.is(res.statusCode, 200);
  let received = 0;
  const broke = await new Promise<boolean>((resolve) => {
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    res.on('end', () => resolve(false));
    res.on('error', () => resolve(true));
    res.on('aborted', () => resolve(true));
  });
  assert.ok(broke && received <= 100_000, `cut off at ${received} bytes`);
  const why = await send(s.url, '/egress/why/2');
  assert.match(JSON.parse(why.text).message, /^The answers of this run's fetches came to more than 0\.095\d* MiB, the limit per run; GET http:\/\/127\.0\.0\.1:\d+\/huge was cut off after \d+ bytes/);
  // The reasons are the run's own.
  const other = await open(ctx, [rule(ctx.a.url)]);
  assert.is((await send(other.url, '/egress/why/2')).status, 404);
});

egress('relay egress :: an origin that does not answer, or goes silent, is cut off after its timeout, saying so', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url)], { headersTimeoutMs: 300, idleTimeoutMs: 400 });
  const never = await send(s.url, to(`${ctx.a.url}/never`));
  assert.is(never.status, 504);
  assert.match(never.json?.error?.message ?? '', /did not answer GET http:\/\/127\.0\.0\.1:\d+\/never within 0\.3 s/);
  const { res } = await stream(s.url, to(`${ctx.a.url}/slow`), { headers: { 'code-runtime-egress-id': '9' } });
  assert.is(await nextChunk(res), 'first\n');
  await new Promise((resolve) => res.once('close', resolve));
  assert.match(JSON.parse((await send(s.url, '/egress/why/9')).text).message, /sent nothing for 0\.4 s \(GET http:\/\/127\.0\.0\.1:\d+\/slow\); the request was cut off/);
});

egress('relay egress :: closing the run\'s session cuts its requests to origins, and lists each request it made', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url)]);
  await send(s.url, to(`${ctx.a.url}/echo`), { method: 'PUT', body: 'abc' });
  await send(s.url, to(`${ctx.a.url}/status?code=404&body=gone`));
  const closedBefore = ctx.a.connections.closed;
  const { res } = await stream(s.url, to(`${ctx.a.url}/drip`));
  assert.is(await nextChunk(res), 'drip\n');
  const records = await s.close({ abortRunning: false });
  const deadline = Date.now() + 5000;
  while (ctx.a.connections.closed === closedBefore && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.ok(ctx.a.connections.closed > closedBefore, 'the drip\'s connection to the origin was closed');
  assert.equal(records.requests.map(({ origin, method, status }) => `${method} ${origin} ${status}`), [`PUT ${ctx.a.url} 200`, `GET ${ctx.a.url} 404`, `GET ${ctx.a.url} 200`]);
  assert.ok(records.requests[0]!.bytes > 3, 'bytes both ways');
  assert.is(records.requests[1]!.bytes, 4);
});

egress('relay egress :: requests the route cannot read are refused', async (ctx) => {
  const s = await open(ctx, [rule(ctx.a.url)]);
  assert.is((await send(s.url, '/egress/to/not-a-url/x')).status, 400);
  assert.is((await send(s.url, `/egress/to/${encodeURIComponent('ftp://127.0.0.1')}/x`)).status, 400);
  assert.is((await send(s.url, to(`${ctx.a.url}/echo`), { method: 'TRACE' })).status, 405);
  assert.is((await send(s.url, '/egress/elsewhere')).status, 404);
  assert.is(ctx.a.seen.length, 0);
});

egress('relay egress :: an https origin\'s certificate is verified: a self-signed one is refused and never gets the header', async (ctx) => {
  const dir = scratchDir('egress-tls');
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.is(made.status, 0, `openssl is needed to make a test certificate: ${made.stderr ?? made.error}`);
  const seen: string[] = [];
  const server = https.createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
    seen.push(String(req.headers.authorization));
    res.end('secure');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const s = await open(ctx, [rule(origin, { Authorization: AUTH })]);
    const answer = await send(s.url, to(`${origin}/x`));
    assert.is(answer.status, 502);
    assert.is(answer.json?.error?.type, 'egress-unreachable');
    assert.match(answer.json?.error?.message ?? '', /^Could not reach https:\/\/127\.0\.0\.1:\d+ \(GET https:\/\/127\.0\.0\.1:\d+\/x\): (DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)$/);
    assert.equal(seen, [], 'the origin got a request over an unverified connection');
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

egress('relay egress :: the scrubber passes on at once what cannot become a secret, holds only what could, and misses no split', () => {
  const scrubber = createScrubber([AUTH, SECRET]);
  assert.is(scrubber.push(Buffer.from('data: {"n": 1}\n\n')).toString(), 'data: {"n": 1}\n\n', 'nothing held back');
  assert.is(scrubber.push(Buffer.from('data: ghp_EGRESS')).toString(), 'data: ', 'the possible start of a secret is held');
  assert.is(scrubber.push(Buffer.from('secret0123456789abcdefXYZ!\n')).toString(), `${REDACTED}!\n`);
  assert.is(scrubber.push(Buffer.from('ghp_EGRESS is not it\n')).toString(), 'ghp_EGRESS is not it\n');
  const mixed = [...SECRET].map((c, i) => (i % 3 === 0 ? `%${c.charCodeAt(0).toString(16).toUpperCase()}` : i % 3 === 1 ? `\\u00${c.charCodeAt(0).toString(16)}` : c.toUpperCase())).join('');
  for (const form of [...encodedForms(AUTH), ...encodedForms(SECRET), mixed]) {
    const text = `{"before":"ok","x":"${form}","after":"ok"}`;
    for (let cut = 0; cut <= text.length; cut += 1) {
      const s = createScrubber([AUTH, SECRET]);
      const out = Buffer.concat([s.push(Buffer.from(text.slice(0, cut))), s.push(Buffer.from(text.slice(cut))), s.end()]).toString();
      assert.not.ok(out.includes(form), `${form} survived a cut at ${cut}: ${out}`);
      assert.ok(out.startsWith('{"before":"ok"') && out.endsWith('"after":"ok"}') && out.includes(REDACTED), out);
    }
  }
});

egress.run();
