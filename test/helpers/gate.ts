/**
 * A gate on 127.0.0.1 for scripts a test must keep running until it has seen what it waits for: a
 * script fetches the gate's URL (an origin the operator allowed, e.g. `--allow-host`), and every
 * request is held until the test opens the gate; from then on every request is answered at once.
 * So a race the test is about is forced, not hoped for, and nothing waits a fixed time.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Gate {
  /** `http://127.0.0.1:PORT`. */
  url: string;
  /** Requests that arrived so far (held or answered). */
  readonly arrived: number;
  /** Answers every held request, and every later one at once. */
  open(): void;
  close(): Promise<void>;
}

export async function startGate(): Promise<Gate> {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  let arrived = 0;
  const server = http.createServer((_req, res) => {
    arrived += 1;
    void opened.then(() => res.end('open'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get arrived() {
      return arrived;
    },
    open,
    async close() {
      open();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
