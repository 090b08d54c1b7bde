/**
 * The relay's files route family (`/r/<secret>/files/…`), which the guest's `files` binding calls:
 * `GET /files/in?name=NAME` answers an input file's bytes, `PUT /files/out?name=NAME` keeps the
 * body as an output file (`content-type` its type; without one it is inferred). NAME is
 * percent-encoded (`+` is a plus) and must be plain (`file-names.ts`). A write must say its length up front: its place and bytes are
 * reserved (`file-store.ts`) before a byte of the body is read, and the body is read into one
 * buffer of exactly that length, so what a script can make the relay hold is what the limits allow,
 * whatever it sends. Refusals are in the relay's error shape: `{ error: { type, message } }`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RelayRefusal } from './checks.js';
import { inferContentType, isContentType } from './content-type.js';
import { FILE_NAME_RULE, fileNameProblem, showName } from './file-names.js';
import type { SessionState } from './request.js';

const IN = '/files/in';
const OUT = '/files/out';

export async function handleFileRequest(session: SessionState, req: IncomingMessage, res: ServerResponse, pathname: string, search: string): Promise<void> {
  const method = req.method ?? '';
  const route = method === 'GET' && pathname === IN ? IN : method === 'PUT' && pathname === OUT ? OUT : undefined;
  if (!route) {
    throw new RelayRefusal(404, 'relay-endpoint-not-allowed', `The files route answers GET ${IN}?name=NAME and PUT ${OUT}?name=NAME; ${method} ${pathname.slice(0, 100)} is neither`);
  }
  const name = nameOf(search, route === OUT ? 'write' : 'read');
  return route === IN ? read(session, res, name) : write(session, req, res, name);
}

/** The one `name` parameter (in the query, not the path: a URL parser resolves `..` in a path before anyone could refuse it). */
function nameOf(search: string, verb: string): string {
  const params = search.split('&');
  if (params.length !== 1 || !params[0]!.startsWith('name=')) {
    throw new RelayRefusal(400, 'relay-parameter-not-allowed', 'The files route takes exactly one query parameter, `name`');
  }
  let name: string;
  try {
    name = decodeURIComponent(params[0]!.slice('name='.length));
  } catch {
    throw new RelayRefusal(400, 'invalid-name', `Cannot ${verb} a file whose name is not valid percent-encoded UTF-8`);
  }
  const problem = fileNameProblem(name);
  if (problem) throw new RelayRefusal(400, 'invalid-name', `Cannot ${verb} ${showName(name)}: ${problem}; a file name is ${FILE_NAME_RULE}`);
  return name;
}

function read(session: SessionState, res: ServerResponse, name: string): void {
  const file = session.files.input(name);
  if (!file) throw new RelayRefusal(404, 'file-not-found', session.files.missing(name));
  // The caller's bytes, sent as they are (no copy: the socket holds a reference until written).
  res.writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.length) });
  res.end(file.bytes);
}

const DECIMAL = /^\d{1,16}$/;

async function write(session: SessionState, req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
  const length = req.headers['content-length'];
  if (length === undefined || !DECIMAL.test(length)) {
    throw new RelayRefusal(411, 'length-required', `Cannot write ${showName(name)}: the request must give its Content-Length`);
  }
  const given = req.headers['content-type'];
  if (given !== undefined && !isContentType(given)) {
    throw new RelayRefusal(400, 'invalid-content-type', `Cannot write ${showName(name)}: ${JSON.stringify(String(given).slice(0, 60))} is not a content type such as \`text/csv\` or \`image/png\``);
  }
  const size = Number(length);
  // Checked after the headers: a session closed meanwhile keeps nothing new.
  if (session.closed.signal.aborted) throw new RelayRefusal(403, 'run-ended', `Cannot write ${showName(name)}: the run has ended`);
  const place = session.files.beginWrite(name, size);
  if (!place.ok) throw new RelayRefusal(place.status, place.type, place.message);
  let body: Buffer;
  try {
    body = Buffer.allocUnsafe(size);
    let at = 0;
    // Node's parser ends the body at Content-Length: it never holds more than was reserved.
    for await (const chunk of req as AsyncIterable<Buffer>) at += chunk.copy(body, at);
    if (at !== size) throw new RelayRefusal(400, 'incomplete-body', `Cannot write ${showName(name)}: the body ended after ${at} of ${size} bytes`);
  } catch (error) {
    place.abort();
    throw error;
  }
  const contentType = given ?? inferContentType(name, body);
  if (!place.commit(body, contentType)) throw new RelayRefusal(403, 'run-ended', `Cannot write ${showName(name)}: the run has ended`);
  const answer = Buffer.from(JSON.stringify({ name, size, contentType }));
  res.writeHead(201, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(answer.length) });
  res.end(answer);
}

