// The operator configuration file: the mcpServers format of MCP clients, ${VAR} expansion, the
// secrets the scrubber gets, and errors that name the file, the key and what is allowed, never a value.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../orchestrator/config/error.js';
import { loadConfigFile, normalizeConfig } from '../../orchestrator/config/load.js';
import { normalizeMcpServers } from '../../orchestrator/config/mcp-servers.js';
import { scratchDir } from '../helpers/helpers.js';

const config = suite('config');
const ENV = { TOKEN: 'tok-1234567890', HOME_DIR: '/home/someone', EMPTY: '' };

function fails(raw: unknown, pattern: RegExp, env: NodeJS.ProcessEnv = ENV): string {
  try {
    normalizeMcpServers(raw, env);
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.instance(error, TypeError);
    assert.match((error as Error).message, pattern);
    return (error as Error).message;
  }
  assert.unreachable(`expected ${pattern}`);
  return '';
}

config('config :: a Claude Code .mcp.json works unchanged: stdio and http entries, type given or not', () => {
  const dir = scratchDir('config');
  const file = path.join(dir, '.mcp.json');
  writeFileSync(file, JSON.stringify({
    mcpServers: {
      github: { type: 'http', url: 'https://api.example.com/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } },
      files: { type: 'stdio', command: 'npx', args: ['-y', 'some-server', '${HOME_DIR}'], env: { KEY: 'literal-key-value' } },
      plain: { command: 'node', args: ['server.js'] },
      remote: { url: 'http://127.0.0.1:9000/mcp' },
      off: { command: 'whatever', disabled: true },
      cline: { command: 'node', autoApprove: ['x'], alwaysAllow: [], timeout: 60 },
    },
  }));
  const loaded = loadConfigFile(file, ENV);
  const servers = loaded.config.mcpServers.servers;
  assert.equal(servers.map((s) => [s.name, s.transport]), [['github', 'http'], ['files', 'stdio'], ['plain', 'stdio'], ['remote', 'http'], ['cline', 'stdio']]);
  const github = servers[0]!;
  assert.ok(github.transport === 'http' && github.headers.Authorization === 'Bearer tok-1234567890' && github.url.href === 'https://api.example.com/mcp');
  const files = servers[1]!;
  assert.ok(files.transport === 'stdio' && files.args[2] === '/home/someone' && files.env.KEY === 'literal-key-value');
  // The secrets: what ${VAR} took from the environment, header values and their credential, env values.
  assert.equal(new Set(loaded.config.mcpServers.secrets), new Set(['Bearer tok-1234567890', 'tok-1234567890', '/home/someone', 'literal-key-value']));
  assert.equal(loaded.mcpServers?.github, { type: 'http', url: 'https://api.example.com/mcp', headers: { Authorization: 'Bearer ${TOKEN}' } }, 'as written, for the library');
});

config('config :: ${VAR:-fallback}, an unset variable names the key and the variable, never a value', () => {
  const { servers } = normalizeMcpServers({ a: { url: 'https://${HOST:-example.com}/mcp' } }, ENV);
  assert.is((servers[0] as { url: URL }).url.host, 'example.com');
  fails({ a: { url: 'https://x/mcp', headers: { 'X-Key': '${MISSING_VAR}' } } }, /^`mcpServers\.a\.headers\.X-Key` uses \$\{MISSING_VAR\}, which is not set in the orchestrator's environment/);
  fails({ a: { command: 'x', env: { K: '${EMPTY}' } } }, /EMPTY/, ENV);
});

config('config :: every mistake names its key and what is allowed', () => {
  fails([], /^`mcpServers` must be an object of server names to servers, got an array/);
  fails({ 'bad name!': { command: 'x' } }, /`mcpServers\.bad name!`: a server's name must be 1–64 letters/);
  fails({ $list: { command: 'x' } }, /a server's name must be/);
  fails({ a: 'npx' }, /^`mcpServers\.a` must be an object with `command` \(stdio\) or `url`/);
  fails({ a: {} }, /^`mcpServers\.a` needs `command` \(a stdio server\) or `url` \(a Streamable HTTP server\)/);
  fails({ a: { command: 'x', url: 'http://y' } }, /`mcpServers\.a` has both `command` and `url`/);
  fails({ a: { type: 'stdio', command: 'x', url: 'http://y' } }, /`mcpServers\.a\.url` is not a key of a stdio server; its keys are type, command, args, env, cwd, tools, disabled/);
  fails({ a: { type: 'sse', url: 'http://y/sse' } }, /deprecated HTTP\+SSE transport; code-runtime speaks stdio and Streamable HTTP/);
  fails({ a: { type: 'websocket', url: 'ws://y' } }, /`mcpServers\.a\.type` must be one of "stdio", "http", "streamable-http", "streamableHttp"/);
  fails({ a: { url: 'ftp://y' } }, /must be an http\(s\) URL, got a ftp: URL/);
  fails({ a: { url: 'https://user:pw-secret@y/mcp' } }, /must not carry credentials \(user:password@\); send them in `mcpServers\.a\.headers`/);
  fails({ a: { url: 'not a url' } }, /must be an http\(s\) URL such as/);
  fails({ a: { command: 'x', args: 'one two' } }, /`mcpServers\.a\.args` must be an array of strings, got a string of 7 characters/);
  fails({ a: { command: 'x', env: { 'BAD-NAME': 'v' } } }, /not an environment variable name/);
  fails({ a: { url: 'https://y', headers: { 'Bad Header': 'v' } } }, /is not a header name/);
  fails({ a: { url: 'https://y', headers: { 'Mcp-Session-Id': 'v' } } }, /set by the MCP transport itself/);
  fails({ a: { url: 'https://y', headers: { X: 'a\r\nInjected: yes' } } }, /must be one line/);
  fails({ a: { command: 'x', tools: 'echo' } }, /`mcpServers\.a\.tools` must be an array of tool names/);
  fails({ a: { command: 'x', disabled: 'yes' } }, /`mcpServers\.a\.disabled` must be true or false/);
  const secret = fails({ a: { url: 'https://y', headers: { Authorization: 42 } } }, /`mcpServers\.a\.headers\.Authorization` must be a string, got a number/);
  assert.not.match(fails({ a: { command: 12345678 } }, /must be a non-empty string/), /12345678/);
  assert.ok(secret.length > 0);
});

config('config :: the file: top-level keys, bad JSON with its position, a missing file', () => {
  const dir = scratchDir('config');
  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    writeFileSync(file, text);
    return file;
  };
  assert.throws(() => loadConfigFile(write('typo.json', '{"mcpservers": {}}')), (e: Error) => e instanceof ConfigError && /in .*typo\.json: `mcpservers` is not a configuration key; the keys are: mcpServers \(/.test(e.message));
  assert.throws(() => loadConfigFile(write('bad.json', '{\n  "mcpServers": {,}\n}')), (e: Error) => /bad\.json is not valid JSON \(at line 2, column 18\)/.test(e.message));
  assert.throws(() => loadConfigFile(path.join(dir, 'none.json')), (e: Error) => /cannot read the configuration .*none\.json: no such file/.test(e.message));
  assert.throws(() => loadConfigFile(dir), (e: Error) => /it is a directory/.test(e.message));
  assert.throws(() => normalizeConfig([], ENV), /must be a JSON object such as \{"mcpServers": \{…\}\}, got an array/);
  assert.equal(loadConfigFile(write('empty.json', '{}')).config.mcpServers, { servers: [], secrets: [] });
});

config.run();
