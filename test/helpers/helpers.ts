/**
 * Shared test helpers: paths, fixtures, a `rejects()` for uvu, canaries (a file, an environment
 * variable and an HTTP server on another loopback address) that hostile scripts must not reach,
 * and `deno check` of a file. Everything stays on this machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as assert from 'uvu/assert';
import { resolveDeno } from '../../orchestrator/run/deno.js';

/** The repository root (this file runs from `dist/test/helpers/`). */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const scratchDirs = new Set<string>();

/** A fresh folder under the system's temp dir, removed when the test process exits. */
export function scratchDir(label: string): string {
  if (scratchDirs.size === 0) {
    process.once('exit', () => {
      for (const dir of scratchDirs) rmSync(dir, { recursive: true, force: true });
    });
  }
  const dir = mkdtempSync(path.join(tmpdir(), `code-runtime-${label}-`));
  scratchDirs.add(dir);
  return dir;
}

export function fixturePath(name: string): string {
  return path.join(ROOT, 'test', 'fixtures', name);
}

export function fixture(name: string): string {
  return readFileSync(fixturePath(name), 'utf8');
}

/** Asserts that `promise` rejects with an error of `type` whose message matches `pattern`. */
export async function rejects(promise: Promise<unknown>, type: new (...args: never[]) => Error, pattern: RegExp): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, type, `expected a ${type.name}, got ${String(error)}`);
    assert.match((error as Error).message, pattern);
    return error as Error;
  }
  assert.unreachable(`expected a rejection matching ${pattern}`);
  throw new Error('unreachable');
}

export interface HttpServer {
  url: string;
  port: number;
  /** Every request seen, as `METHOD /path`. */
  hits: string[];
  /** Raw TCP connections accepted, including ones that never sent a request. */
  connections: number;
  close(): Promise<void>;
}

/** A tiny HTTP server on `host`, answering 200 `body` to everything and recording what it saw. */
export async function startServer(host: string, body = 'canary-response'): Promise<HttpServer> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(body);
  });
  const state = { connections: 0 };
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    port,
    hits,
    get connections() {
      return state.connections;
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

export interface Canaries {
  /** A file whose content must never show up in a result. */
  file: string;
  fileSecret: string;
  /** An environment variable set in the orchestrator; its value must never show up. */
  envName: string;
  envSecret: string;
  /** A server on 127.0.0.2, an address the sandbox is not allowed to reach. */
  server: HttpServer;
  /** A scratch folder a script must not be able to write into. */
  dir: string;
  close(): Promise<void>;
}

export async function startCanaries(): Promise<Canaries> {
  const dir = scratchDir('canary');
  const fileSecret = `file-canary-${Math.random().toString(36).slice(2)}`;
  const file = path.join(dir, 'secret.txt');
  writeFileSync(file, fileSecret);
  const envName = 'CODE_RUNTIME_CANARY';
  const envSecret = `env-canary-${Math.random().toString(36).slice(2)}`;
  process.env[envName] = envSecret;
  const server = await startServer('127.0.0.2', 'server-canary');
  return {
    file, fileSecret, envName, envSecret, server, dir,
    close: async () => {
      delete process.env[envName];
      await server.close();
    },
  };
}

/** Type-checks `file` with Deno (strict, no config), in a DENO_DIR of its own. */
export function denoCheck(file: string): { status: number | null; output: string } {
  const denoDir = mkdtempSync(path.join(tmpdir(), 'code-runtime-check-'));
  try {
    const r = spawnSync(resolveDeno(), ['check', '--quiet', '--no-config', '--no-lock', file], {
      encoding: 'utf8', env: { ...process.env, DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
    });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(denoDir, { recursive: true, force: true });
  }
}
