// A dropped connection loses nothing: every SSE stream of `serve` starts with a priming event (an
// id, a `retry` field, no data), and a client that loses a POST stream mid-call reconnects with
// `Last-Event-ID` and gets the answer it missed, through the SDK's own client.
import http from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServe, type ServeProcess } from './processes.js';
import { MCP_HEADERS, initialize } from './load.js';
import { STRUCTURED_CAPABILITY } from '../../orchestrator/server/mcp.js';

/** Answers as structuredContent (the default answer is text only). */
const STRUCTURED = { capabilities: { experimental: { [STRUCTURED_CAPABILITY]: {} } } };

const resume = suite('server resumable streams');
let serve: ServeProcess;

resume.before(async () => {
  serve = await startServe();
});

resume.after(async () => {
  await serve.stop();
});

/** The first `count` SSE events of a response (raw text blocks), then the connection is dropped. */
function firstEvents(url: string, init: { method: string; headers: Record<string, string>; body?: string }, count: number): Promise<{ status: number; events: string[] }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: init.method, headers: init.headers }, (res) => {
      let text = '';
      const done = () => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, events: text.split('\n\n').filter(Boolean).slice(0, count) });
      };
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        text += chunk;
        if (text.split('\n\n').length > count) done();
      });
      res.on('end', done);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

resume('resume :: POST and GET streams start with a priming event: an id, a retry field, empty data', async () => {
  const init = await firstEvents(`${serve.url}/mcp`, {
    method: 'POST', headers: MCP_HEADERS,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
  }, 1);
  assert.match(init.events[0]!, /^id: \S+\nretry: \d+\ndata: $/);
  const { sessionId } = await initialize(serve.url);
  const get = await firstEvents(`${serve.url}/mcp`, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sessionId!, 'mcp-protocol-version': '2025-11-25' } }, 1);
  assert.is(get.status, 200);
  assert.match(get.events[0]!, /^id: \S+\nretry: \d+\ndata: $/);
});

resume('resume :: a POST stream dropped mid-call is resumed with Last-Event-ID; the answer arrives', async () => {
  const seen: string[] = [];
  let dropped = false;
  // The network between client and server: the first tools/call stream is cut after its first event.
  const flaky = async (url: string | URL, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers);
    seen.push(`${init?.method ?? 'GET'}${headers.get('last-event-id') ? ' last-event-id' : ''}`);
    const response = await fetch(url, init);
    const isCall = typeof init?.body === 'string' && init.body.includes('"tools/call"');
    if (!isCall || dropped || !response.body) return response;
    dropped = true;
    const reader = response.body.getReader();
    let text = '';
    const cut = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(value);
        text += new TextDecoder().decode(value);
        if (text.includes('\n\n')) {
          await reader.cancel();
          controller.close();
        }
      },
    });
    return new Response(cut, { status: response.status, headers: response.headers });
  };
  const client = new Client({ name: 'resumer', version: '1' }, STRUCTURED);
  await client.connect(new StreamableHTTPClientTransport(new URL(`${serve.url}/mcp`), { fetch: flaky }));
  try {
    const answer = await client.callTool({ name: 'run_code', arguments: { code: 'await new Promise((r) => setTimeout(r, 1500)); console.log("after the drop")', waitSecs: 30 } }, undefined, { timeout: 20_000 });
    assert.ok(dropped);
    assert.ok(seen.includes('GET last-event-id'), `the client never resumed: ${seen.join(', ')}`);
    assert.is((answer.structuredContent as Record<string, unknown>).stdout, 'after the drop\n');
  } finally {
    await client.close();
  }
});

resume.run();
