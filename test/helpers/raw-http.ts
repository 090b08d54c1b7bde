/**
 * One raw HTTP request on its own connection, the path sent exactly as given (no URL normalisation
 * on the way): how tests stand in for a hostile script talking to the relay. A relay connection
 * belongs to the one run that used it first, hence never a shared agent.
 */
import http from 'node:http';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: { error?: { type?: string; message?: string }; data?: Record<string, unknown> } | undefined;
}

export function send(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<Answer> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ agent: false, host: url.hostname, port: url.port, method: init.method ?? 'GET', path: `${url.pathname}${path}`, headers: init.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: Answer['json'];
        try {
          json = JSON.parse(text) as Answer['json'];
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
