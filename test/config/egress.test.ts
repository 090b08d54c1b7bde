// The `egress` configuration as a table: what an origin may be, how prefixes and headers are read,
// which values are secrets, how `${VAR}` expands, how two configurations merge, and the Actor's
// two input fields that make one. Pure functions; errors name the key, never a header's value.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mergeEgress, normalizeEgress, parseEgressOrigin } from '../../orchestrator/config/egress.js';
import { ConfigError } from '../../orchestrator/config/error.js';
import { normalizeConfig } from '../../orchestrator/config/load.js';
import { normalizeMcpServers } from '../../orchestrator/config/mcp-servers.js';
import { ActorInputError, egressFromInput } from '../../orchestrator/actor/input.js';

const config = suite('config egress');

config('config egress :: an origin is scheme://host[:port] as URL.origin writes it, with an optional path prefix', () => {
  const table: Array<[string, string, string]> = [
    ['https://api.github.com', 'https://api.github.com', ''],
    ['https://API.GitHub.com:443/', 'https://api.github.com', ''],
    ['http://127.0.0.1:8080', 'http://127.0.0.1:8080', ''],
    ['http://[::1]:9000/v1', 'http://[::1]:9000', '/v1'],
    ['https://api.github.com/repos/acme/', 'https://api.github.com', '/repos/acme/'],
    ['https://example.com/a/../b', 'https://example.com', '/b'],
  ];
  for (const [given, origin, prefix] of table) assert.equal(parseEgressOrigin(given, 'k'), { origin, prefix }, given);
  for (const [bad, why] of [
    ['api.github.com', /it is not a URL/], ['ws://x.com', /it is a ws: URL/], ['https://u:p@x.com', /must not carry credentials/],
    ['https://x.com/?a', /it has a query or a fragment/], ['https://x.com/#f', /it has a query or a fragment/], ['https://x.com/a%2Fb', /encoded/],
  ] as const) {
    assert.throws(() => parseEgressOrigin(bad, 'k'), (error: Error) => error instanceof ConfigError && why.test(error.message), bad);
  }
});

config('config egress :: header values and what ${VAR} put in them are secrets (the credential after Bearer, a Basic pair decoded); origins are not', () => {
  const env = { HOST_VAR: 'api.example.com', TOKEN_VAR: 'tok_from_env_0123456789' };
  const basic = Buffer.from('user:pa55word-long-enough').toString('base64');
  const normalized = normalizeEgress({
    'https://${HOST_VAR}': { headers: { Authorization: 'Bearer ${TOKEN_VAR}', 'X-Tenant': 'acme-tenant-42' } },
    'https://other.example.com': { headers: { Authorization: `Basic ${basic}` } },
    'https://plain.example.com/v1': {},
  }, env);
  assert.equal(normalized.rules.map((rule) => [rule.origin, rule.prefix, { ...rule.headers }]), [
    ['https://api.example.com', '', { Authorization: 'Bearer tok_from_env_0123456789', 'X-Tenant': 'acme-tenant-42' }],
    ['https://other.example.com', '', { Authorization: `Basic ${basic}` }],
    ['https://plain.example.com', '/v1', {}],
  ]);
  for (const secret of ['Bearer tok_from_env_0123456789', 'tok_from_env_0123456789', 'acme-tenant-42', `Basic ${basic}`, basic, 'user:pa55word-long-enough', 'pa55word-long-enough']) {
    assert.ok(normalized.secrets.includes(secret), `${secret} is a secret`);
  }
  assert.not.ok(normalized.secrets.some((secret) => secret.includes('api.example.com')), 'an origin is not a secret');
  assert.equal(normalized.secrets, [...normalized.secrets].sort((a, b) => b.length - a.length), 'longest first');
  assert.equal(normalizeEgress(undefined, {}), { rules: [], secrets: [] });
});

config('config egress :: each cookie of a Cookie header is a secret on its own (a server echoes or re-sets one alone), in egress and mcpServers alike', () => {
  const cookie = 'session=sess-0123456789abcdef; csrf="csrf-quoted-value-42"; theme=dark';
  const egress = normalizeEgress({ 'https://app.example.com': { headers: { cookie } } }, {});
  const mcp = normalizeMcpServers({ app: { url: 'https://app.example.com/mcp', headers: { Cookie: cookie } } }, {});
  for (const secrets of [egress.secrets, mcp.secrets]) {
    for (const secret of [cookie, 'sess-0123456789abcdef', 'csrf-quoted-value-42']) assert.ok(secrets.includes(secret), `${secret} is a secret`);
    assert.not.ok(secrets.includes('"csrf-quoted-value-42"'), 'quotes are not part of the value');
  }
  // Another header's `a=b` is not split: its whole value (and the credential after a scheme word) is the secret.
  assert.not.ok(normalizeEgress({ 'https://x.example.com': { headers: { 'X-Auth': 'key=abcdefgh12345' } } }, {}).secrets.includes('abcdefgh12345'));
});

config('config egress :: every mistake names its key and what is allowed, never a header\'s value', () => {
  const cases: Array<[unknown, RegExp]> = [
    [['https://x.com'], /^`egress` must be an object of origins to \{ headers \}/],
    [{ 'https://x.com': true }, /^`egress\["https:\/\/x\.com"\]` must be an object: \{\} or \{ "headers": \{ … \} \}, got true$/],
    [{ 'https://x.com': { headers: [] } }, /`egress\["https:\/\/x\.com"\]\.headers` must be an object of header names to strings, got an array/],
    [{ 'https://x.com': { headers: { 'Bad Name': 'v' } } }, /`egress\["https:\/\/x\.com"\]\.headers\.Bad Name` is not a header name/],
    [{ 'https://x.com': { headers: { 'Code-Runtime-Egress': 'v' } } }, /is set by the relay itself/],
    [{ 'https://x.com': { headers: { A: 'v', a: 'w' } } }, /`egress\["https:\/\/x\.com"\]\.headers\.a` is given twice/],
    [{ 'https://x.com': { headers: { A: 42 } } }, /`egress\["https:\/\/x\.com"\]\.headers\.A` must be a string, got a number$/],
    [{ 'https://x.com': { headers: { A: 'super-secret-value\r\nX: y' } } }, /must be one line/],
  ];
  for (const [raw, message] of cases) {
    try {
      normalizeEgress(raw, {});
      assert.unreachable(`accepted ${JSON.stringify(raw)}`);
    } catch (error) {
      assert.instance(error, ConfigError);
      assert.match((error as Error).message, message);
      assert.not.ok((error as Error).message.includes('super-secret-value'), 'a header value was quoted');
    }
  }
  // The file's other keys are named when one is not a key.
  assert.throws(() => normalizeConfig({ egres: {} }, {}), /`egres` is not a configuration key; the keys are: mcpServers \(.*\); egress \(origins a script's fetch may reach/);
});

config('config egress :: a run\'s own entry for an origin replaces the runtime\'s; others add up', () => {
  const base = normalizeEgress({ 'https://a.com': { headers: { K: 'runtime-secret-1' } }, 'https://b.com': {} }, {});
  const own = normalizeEgress({ 'https://a.com': { headers: { K: 'run-secret-22' } }, 'https://c.com/x': {} }, {});
  const merged = mergeEgress(base, own);
  assert.equal(merged.rules.map((rule) => `${rule.origin}${rule.prefix} ${Object.values(rule.headers).join()}`), ['https://b.com ', 'https://a.com run-secret-22', 'https://c.com/x ']);
  assert.ok(merged.secrets.includes('runtime-secret-1') && merged.secrets.includes('run-secret-22'), 'both configurations\' secrets are scrubbed');
  assert.is(mergeEgress(base, undefined), base);
});

config('config egress :: the Actor takes origins and, as a secret field, headers per origin; the two meet by origin', () => {
  assert.is(egressFromInput({ code: '1' }), undefined);
  assert.equal(egressFromInput({ egressOrigins: ['https://a.com', 'https://b.com/v1'], egressHeaders: { 'https://A.com/': { Authorization: 'Bearer abcdefgh12345' }, 'https://c.com': { K: 'v' } } }), {
    'https://a.com': { headers: { Authorization: 'Bearer abcdefgh12345' } },
    'https://b.com/v1': {},
    'https://c.com': { headers: { K: 'v' } },
  });
  for (const [input, message] of [
    [{ egressOrigins: 'https://a.com' }, /`egressOrigins` must be an array of origins/],
    [{ egressOrigins: ['ftp://a.com'] }, /`egressOrigins\["ftp:\/\/a\.com"\]` must be an http\(s\) origin/],
    [{ egressHeaders: ['x'] }, /`egressHeaders` must be an object of origins to headers/],
    [{ egressHeaders: { 'https://a.com': { 'Bad Name': 'secret-value-123' } } }, /`egressHeaders\["https:\/\/a\.com"\]\.Bad Name` is not a header name/],
    [{ egressHeaders: { 'https://a.com': 'Bearer secret-value-123' } }, /`egressHeaders\["https:\/\/a\.com"\]` must be an object of header names to strings/],
  ] as const) {
    try {
      egressFromInput(input as Record<string, unknown>);
      assert.unreachable(JSON.stringify(input));
    } catch (error) {
      assert.instance(error, ActorInputError);
      assert.match((error as Error).message, message);
      assert.not.ok((error as Error).message.includes('secret-value-123'));
    }
  }
});

config.run();
