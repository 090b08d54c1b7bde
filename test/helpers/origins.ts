/**
 * Loopback servers standing in for the outside world an operator allows (egress tests): one HTTP
 * server whose routes echo what they got (headers, also in base64, hex and other letter case, in
 * the body and in response headers; escaped as PHP, HTML and a twice-encoded URL write it), redirect, drip slowly, never answer, send a huge or a gzip'd
 * answer; every request it saw is recorded, and so is every connection that closed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';

export interface SeenRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface Origin {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  port: number;
  /** Every request that reached it, in order. */
  seen: SeenRequest[];
  /** Connections accepted, and connections closed since. */
  connections: { opened: number; closed: number };
  /** Lets the answers of `/slow` go on to their second part. */
  release(): void;
  close(): Promise<void>;
}

/** Every form of `value` an echo could hand back: as is, other case, base64, base64url, hex, URL-encoded. */
export function encodedForms(value: string): string[] {
  const bytes = Buffer.from(value);
  return [value, value.toUpperCase(), value.toLowerCase(), bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(), encodeURIComponent(value)];
}

function param(url: URL, name: string, fallback: string): string {
  return url.searchParams.get(name) ?? fallback;
}

export async function startOrigin(host = '127.0.0.1'): Promise<Origin> {
  const seen: SeenRequest[] = [];
  const connections = { opened: 0, closed: 0 };
  let releaseSlow: () => void = () => undefined;
  let released = new Promise<void>((resolve) => {
    releaseSlow = resolve;
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    const url = new URL(req.url ?? '/', 'http://origin');
    // Routed by the last segment, so a path prefix (`/v1/echo`) reaches the same routes.
    const route = `/${url.pathname.split('/').pop()}`;
    // Streams are answered as they come: `/stream-echo` and `/slow` do not wait for the whole body.
    if (route === '/stream-echo') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      req.pipe(res);
      return;
    }
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const auth = String(req.headers.authorization ?? req.headers['x-api-key'] ?? '');
      switch (route) {
        case '/redirect': {
          res.writeHead(Number(param(url, 'status', '302')), { location: param(url, 'to', '/echo') });
          res.end();
          return;
        }
        case '/slow': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          res.write('first\n');
          void released.then(() => res.end('second\n'));
          return;
        }
        case '/drip': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write('drip\n'), 50);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case '/never':
          return;
        case '/huge': {
          const total = Number(param(url, 'bytes', String(1024 * 1024)));
          res.writeHead(200, { 'content-type': 'application/octet-stream', ...(url.searchParams.has('length') ? { 'content-length': String(total) } : {}) });
          const block = Buffer.alloc(64 * 1024, 'x');
          let left = total;
          const pump = () => {
            while (left > 0) {
              const piece = block.subarray(0, Math.min(left, block.length));
              left -= piece.length;
              if (!res.write(piece)) {
                res.once('drain', pump);
                return;
              }
            }
            res.end();
          };
          pump();
          return;
        }
        case '/gzip': {
          const json = Buffer.from(JSON.stringify({ gzipped: true, auth, forms: encodedForms(auth) }));
          res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' });
          res.end(gzipSync(json));
          return;
        }
        case '/coded': {
          res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': param(url, 'coding', 'zstd') });
          res.end('not really encoded');
          return;
        }
        case '/echo-escaped': {
          // What it got, as other encoders write it: PHP's json_encode, HTML references, a URL
          // encoded twice, the cookies parsed (and one re-set), and a header named after a cookie.
          const key = String(req.headers['x-api-key'] ?? '');
          const cookies = Object.fromEntries(String(req.headers.cookie ?? '').split(/;\s*/).map((pair) => pair.split('=') as [string, string]));
          const named = Object.values(cookies).find((value) => /^[A-Za-z0-9_-]+$/.test(value) && value.length > 8) ?? 'none';
          res.writeHead(200, { 'content-type': 'text/plain', 'set-cookie': `session=${cookies.session}; HttpOnly`, [`x-seen-${named}`]: '1' });
          // One form a line, each as its encoder wrote it (not escaped again by an outer JSON).
          res.end([
            `php ${JSON.stringify({ key }).replace(/\//g, '\\/')}`,
            `html ${key.replace(/[^A-Za-z0-9]/g, (c) => `&#x${c.charCodeAt(0).toString(16)};`)}`,
            `decimal ${key.replace(/[^A-Za-z0-9]/g, (c) => `&#${c.charCodeAt(0)};`)}`,
            `twice ${encodeURIComponent(encodeURIComponent(key))}`,
            `cookies ${JSON.stringify(cookies)}`,
          ].join('\n'));
          return;
        }
        case '/status': {
          res.writeHead(Number(param(url, 'code', '200')), param(url, 'text', 'Fine'), { 'content-type': 'text/plain' });
          res.end(param(url, 'body', ''));
          return;
        }
        default: {
          // The echo: what it got, and the credential in every form an API might hand it back in.
          res.writeHead(200, {
            'content-type': 'application/json',
            'x-seen-auth': auth,
            'x-seen-auth-b64': Buffer.from(auth).toString('base64'),
            'set-cookie': [`a=${auth}`, 'b=2'],
          });
          res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.rawHeaders, body: body.toString(), forms: encodedForms(auth) }));
        }
      }
    });
  });
  server.on('connection', (socket) => {
    connections.opened += 1;
    socket.once('close', () => {
      connections.closed += 1;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    seen,
    connections,
    release() {
      releaseSlow();
      released = new Promise<void>((resolve) => {
        releaseSlow = resolve;
      });
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
