/**
 * STUB (replaced by the issue-4 work): the loopback relay between the sandbox's `apify` binding and
 * the Apify API. The real one is the only holder of the token. This stub refuses every call.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import type { ActorRunRef } from '../types/result.js';

export interface RelaySessionOptions {
  token?: string;
  apiBaseUrl: string;
  maxActorRuns?: number;
  maxTotalChargeUsd?: number;
  defaultTimeoutSecs?: number;
}

export interface RelaySession {
  /** Base URL the guest's binding calls, including this run's secret: `http://127.0.0.1:PORT/r/SECRET`. */
  url: string;
  /** Ends the session: aborts the runs still going when asked, and returns every run the script started. */
  close(options: { abortRunning: boolean }): Promise<ActorRunRef[]>;
}

let server: Promise<http.Server> | undefined;

function startServer(): Promise<http.Server> {
  server ??= new Promise((resolve, reject) => {
    const s = http.createServer((_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'relay-refused', message: 'The relay is not implemented yet.' } }));
    });
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      s.unref();
      resolve(s);
    });
  });
  return server;
}

/** `127.0.0.1:PORT` of the process-wide relay, started on first use; the sandbox may reach exactly this. */
export async function relayHostPort(): Promise<string> {
  const { port } = (await startServer()).address() as AddressInfo;
  return `127.0.0.1:${port}`;
}

export async function openRelaySession(_options: RelaySessionOptions): Promise<RelaySession> {
  const hostPort = await relayHostPort();
  return {
    url: `http://${hostPort}/r/${randomBytes(24).toString('hex')}`,
    close: async () => [],
  };
}

export async function closeRelayServer(): Promise<void> {
  const s = await server;
  server = undefined;
  await new Promise<void>((resolve) => (s ? s.close(() => resolve()) : resolve()));
}
