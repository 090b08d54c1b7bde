/**
 * Tools for the server's load tests: what a `serve` process holds (RSS, open fds, from /proc), HTTP
 * from a chosen loopback source address (127.0.0.2 is another client than 127.0.0.1 to the server;
 * Linux routes all of 127/8 to lo), a `fetch` for the MCP SDK's client bound to such an address,
 * and raw sockets that send a request and never read. Loopback only.
 */
import http from 'node:http';
import net from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';

export interface Usage {
  rssMiB: number;
  fds: number;
}

export function usage(pid: number): Usage {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKiB = Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0);
  return { rssMiB: Math.round(rssKiB / 1024), fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Connections the server on `port` holds open (ESTABLISHED, its side), from /proc/net/tcp and tcp6. */
export function serverConnections(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hex}`) && state === '01') count += 1;
    }
  }
  return count;
}

/** Samples `pid` every `everyMs` while `during` runs; the highest RSS and fd count seen. */
export async function peakDuring<T>(pid: number, during: () => Promise<T>, everyMs = 50): Promise<{ peak: Usage; value: T }> {
  const peak = usage(pid);
  const timer = setInterval(() => {
    try {
      const now = usage(pid);
      peak.rssMiB = Math.max(peak.rssMiB, now.rssMiB);
      peak.fds = Math.max(peak.fds, now.fds);
    } catch {
      // The process is gone; the test will say so.
    }
  }, everyMs);
  try {
    return { peak, value: await during() };
  } finally {
    clearInterval(timer);
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json<T = Record<string, any>>(): T;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** The source address: another loopback address is another client. */
  from?: string;
  timeoutMs?: number;
}

/** One HTTP request, read to its end. */
export function request(url: string, options: RequestOptions = {}): Promise<Answer> {
  const { method = options.body === undefined ? 'GET' : 'POST', headers = {}, body, from, timeoutMs = 20_000 } = options;
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, localAddress: from, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} took over ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface UploadOptions {
  path?: string;
  headers?: Record<string, string>;
  from?: string;
  /** Sent without a Content-Length (chunked). */
  chunked?: boolean;
  /** Sent in pieces this large, one every `everyMs` (default: all at once). */
  pieceBytes?: number;
  everyMs?: number;
  timeoutMs?: number;
}

/** POSTs `body` as JSON, at the pace asked; the answer (read as soon as it comes, even mid-body), or what ended it. */
export function upload(url: string, body: Buffer, options: UploadOptions = {}): Promise<{ status: number; text: string } | { error: string }> {
  const { path = '/v1/runs?wait=0', from, chunked = false, pieceBytes = body.length, everyMs = 0, timeoutMs = 60_000 } = options;
  const headers: Record<string, string> = { 'content-type': 'application/json', ...options.headers };
  if (!chunked) headers['content-length'] = String(body.length);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (value: { status: number; text: string } | { error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(value);
    };
    const req = http.request(`${url}${path}`, { method: 'POST', headers, localAddress: from, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => settle({ status: res.statusCode ?? 0, text }));
      res.on('error', (error) => settle({ error: error.message }));
    });
    const timer = setTimeout(() => {
      req.destroy();
      settle({ error: `no answer in ${timeoutMs} ms` });
    }, timeoutMs);
    // Writing on after the server answered and closed fails: the answer already came.
    req.on('error', (error) => setTimeout(() => settle({ error: (error as NodeJS.ErrnoException).code ?? error.message }), 100));
    let at = 0;
    const next = () => {
      if (req.destroyed || settled) return;
      if (at >= body.length) {
        req.end();
        return;
      }
      req.write(body.subarray(at, at + pieceBytes));
      at += pieceBytes;
      setTimeout(next, everyMs);
    };
    next();
  });
}

/** A `fetch` for the MCP SDK's client whose connections come from `from`. */
export function fetchFrom(from: string): (url: string | URL, init?: RequestInit) => Promise<Response> {
  return (url, init = {}) => new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const req = http.request(String(url), { method: init.method ?? 'GET', headers, localAddress: from, agent: false }, (res) => {
      const responseHeaders = new Headers();
      for (const [key, value] of Object.entries(res.headers)) {
        if (value !== undefined) responseHeaders.set(key, Array.isArray(value) ? value.join(', ') : value);
      }
      const empty = res.statusCode === 202 || res.statusCode === 204 || res.statusCode === 304;
      resolve(new Response(empty ? null : (Readable.toWeb(res) as ReadableStream), { status: res.statusCode, headers: responseHeaders }));
    });
    init.signal?.addEventListener('abort', () => req.destroy(new DOMException('aborted', 'AbortError')), { once: true });
    req.on('error', reject);
    req.end(typeof init.body === 'string' ? init.body : undefined);
  });
}

/** Sends `raw` (a whole HTTP request) and never reads the answer. */
export function nonReader(port: number, raw: string, from?: string): Promise<net.Socket> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: from });
    socket.on('error', () => undefined);
    socket.pause();
    socket.once('connect', () => {
      socket.write(raw);
      resolve(socket);
    });
    socket.once('close', () => resolve(socket));
  });
}

/** Resolves once the server closed `socket` (its write timeout), or after `ms` with false. */
export function closedByServer(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    // A reset or an end both count: reading resumes only to see it.
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
    socket.once('end', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

/** `initialize` over raw HTTP: the session id (or the refusal). */
export async function initialize(url: string, from?: string, protocolVersion = '2025-11-25'): Promise<{ sessionId?: string; status: number; text: string }> {
  const answer = await request(`${url}/mcp`, {
    from, headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion, capabilities: {}, clientInfo: { name: 'load', version: '1' } } }),
  });
  const sessionId = answer.headers['mcp-session-id'];
  if (typeof sessionId === 'string') {
    await request(`${url}/mcp`, { from, headers: { ...MCP_HEADERS, 'mcp-session-id': sessionId, 'mcp-protocol-version': protocolVersion }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  }
  return { sessionId: typeof sessionId === 'string' ? sessionId : undefined, status: answer.status, text: answer.text };
}

/** A raw HTTP/1.1 request text for `nonReader`. */
export function rawRequest(method: string, port: number, path: string, headers: Record<string, string> = {}, body = ''): string {
  const lines = [`${method} ${path} HTTP/1.1`, `Host: 127.0.0.1:${port}`, ...Object.entries(headers).map(([key, value]) => `${key}: ${value}`)];
  if (body) lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  return `${lines.join('\r\n')}\r\n\r\n${body}`;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the server runs and queues nothing (its warm pool refilled), for a baseline or an
 * "after" that compares like with like; the usage then.
 */
export async function idle(url: string, pid: number, headers: Record<string, string> = {}): Promise<Usage> {
  for (let tries = 0; tries < 300; tries += 1) {
    const health = (await request(`${url}/healthz`, { headers })).json();
    if (health.running === 0 && health.waiting === 0) break;
    await sleep(100);
  }
  // The pool refills just after a run ends.
  await sleep(300);
  return usage(pid);
}
