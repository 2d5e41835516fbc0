// glint-http.js: HTTP requests through wasi:http for glint exporters written in JavaScript.
//
// Build the exporter for the `exporter-http` world (componentize-js -n exporter-http), which
// names wasi:http's outgoing handler. glint sends a request only to a destination the operator
// granted the plugin; any other is refused (an HttpError of kind 'denied').
//
//   import { Request } from './glint-http.js';
//   Request.post(url, 'text/plain', body).basicAuth(user, password).deliver('InfluxDB');
//
// `deliver` judges the answer as an export: 2xx is delivered; no answer, a 5xx, 408 or 429
// throws `retryable(...)` (glint keeps the batches and tries again); any other answer throws
// `permanent(...)` (glint drops them and logs why).

import { handle } from 'wasi:http/outgoing-handler@0.2.12';
import { Fields, OutgoingBody, OutgoingRequest, RequestOptions } from 'wasi:http/types@0.2.12';
import { permanent, retryable } from './glint.js';

/** How long a request may take by default, in ms: under glint's default deadline of a call. */
export const DEFAULT_TIMEOUT_MS = 5000;
/** The most of an answer's body read: a target answering without end must not fill memory. */
export const MAX_BODY = 1 << 20;
/** wasi:io writes at most 4096 bytes per blocking call. */
const CHUNK = 4096;

/** A request that got no answer: `kind` is 'denied', 'bad-url' or 'transport'. */
export class HttpError extends Error {
  /** @param {'denied'|'bad-url'|'transport'} kind @param {string} message */
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

/** @typedef {{ status: number, headers: [string, Uint8Array][], body: Uint8Array, text(): string }} Response */

export class Request {
  /** @param {string} method @param {string} url */
  constructor(method, url) {
    this.method = method;
    this.url = url;
    /** @type {[string, string][]} */
    this.headers = [];
    this.body = new Uint8Array();
    this.timeoutMs = DEFAULT_TIMEOUT_MS;
  }

  /** @param {string} url */
  static get(url) {
    return new Request('GET', url);
  }

  /** @param {string} url @param {string} contentType @param {Uint8Array|string} body */
  static post(url, contentType, body) {
    const r = new Request('POST', url).header('content-type', contentType);
    r.body = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    return r;
  }

  /** @param {string} name @param {string} value */
  header(name, value) {
    this.headers.push([name, value]);
    return this;
  }

  /** @param {string} user @param {string} password */
  basicAuth(user, password) {
    const bytes = new TextEncoder().encode(`${user}:${password}`);
    return this.header('authorization', `Basic ${btoa(String.fromCharCode(...bytes))}`);
  }

  /** Sends it and reads the whole answer (up to MAX_BODY bytes). @returns {Response} */
  send() {
    return send(this);
  }

  /** Sends it and judges the answer as an export; `what` names the target in messages. */
  deliver(what) {
    return judge(what, this.url, () => send(this), (status) => status >= 200 && status < 300);
  }
}

/**
 * Runs `attempt` and judges its answer as an export: a status `ok` accepts is delivered; no
 * answer, a 5xx, 408 or 429 is worth a retry; any other answer, and a destination glint
 * refused, are permanent (thrown as the export's error).
 * @param {string} what @param {string} url @param {() => Response} attempt @param {(status: number) => boolean} ok
 */
export function judge(what, url, attempt, ok) {
  let response;
  try {
    response = attempt();
  } catch (e) {
    if (e instanceof HttpError && e.kind === 'transport') throw retryable(`${what} at ${url} unreachable: ${e.message}`);
    throw permanent(`${what} at ${url}: ${e.message}`);
  }
  if (ok(response.status)) return response;
  const excerpt = response.text().split(/\s+/).join(' ').slice(0, 300);
  const message = `${what} at ${url} answered ${response.status}: ${excerpt}`;
  if (response.status >= 500 || response.status === 408 || response.status === 429) throw retryable(message);
  throw permanent(message);
}

const METHODS = { GET: 'get', POST: 'post', PUT: 'put', DELETE: 'delete', HEAD: 'head' };

/** The error code of a wasi:http failure, in words. */
function errorText(e) {
  const code = e && e.payload !== undefined ? e.payload : e;
  if (code && typeof code === 'object' && 'tag' in code) {
    return code.val === undefined ? code.tag : `${code.tag}: ${JSON.stringify(code.val)}`;
  }
  return String(code);
}

function denied(code) {
  const c = code && code.payload !== undefined ? code.payload : code;
  return c && c.tag === 'HTTP-request-denied';
}

/** @param {Request} request */
function outgoing(request) {
  const match = /^(https?):\/\/([^/?#]+)([^#]*)/.exec(request.url);
  if (!match) throw new HttpError('bad-url', `${JSON.stringify(request.url)} is not an http:// or https:// URL`);
  const [, scheme, authority, rest] = match;
  const encoder = new TextEncoder();
  const pairs = request.headers.map(([k, v]) => [k.toLowerCase(), encoder.encode(v)]);
  if (request.body.length) pairs.push(['content-length', encoder.encode(String(request.body.length))]);
  let fields;
  try {
    fields = Fields.fromList(pairs);
  } catch (e) {
    throw new HttpError('bad-url', `a header is not valid: ${errorText(e)}`);
  }
  const out = new OutgoingRequest(fields);
  const method = METHODS[request.method];
  out.setMethod(method ? { tag: method } : { tag: 'other', val: request.method });
  out.setScheme({ tag: scheme.toUpperCase() }); // the WIT's cases are `HTTP` and `HTTPS`
  out.setAuthority(authority);
  out.setPathWithQuery(rest || '/');
  return { out, authority };
}

/**
 * Sends `request` through wasi:http and reads the whole answer.
 * @param {Request} request @returns {Response}
 */
export function send(request) {
  const { out, authority } = outgoing(request);
  const options = new RequestOptions();
  const nanos = BigInt(request.timeoutMs) * 1_000_000n;
  options.setConnectTimeout(nanos);
  options.setFirstByteTimeout(nanos);
  options.setBetweenBytesTimeout(nanos);
  const body = out.body();
  let future;
  try {
    future = handle(out, options);
  } catch (e) {
    if (denied(e)) throw new HttpError('denied', `${authority} is not a granted destination`);
    throw new HttpError('transport', errorText(e));
  }
  try {
    const stream = body.write();
    for (let start = 0; start < request.body.length; start += CHUNK) {
      stream.blockingWriteAndFlush(request.body.subarray(start, start + CHUNK));
    }
    stream[Symbol.dispose]?.();
    OutgoingBody.finish(body, undefined);
  } catch {
    // The request failed (refused, or the target hung up): its answer below says why.
  }
  future.subscribe().block();
  const answer = future.get();
  if (!answer || answer.tag === 'err' || answer.val.tag === 'err') {
    const code = answer && answer.tag === 'ok' ? answer.val.val : answer;
    if (denied(code)) throw new HttpError('denied', `${authority} is not a granted destination`);
    throw new HttpError('transport', errorText(code));
  }
  const response = answer.val.val;
  const status = response.status();
  const headers = response.headers().entries();
  const incoming = response.consume();
  const stream = incoming.stream();
  const chunks = [];
  let size = 0;
  while (size < MAX_BODY) {
    let chunk;
    try {
      chunk = stream.blockingRead(BigInt(MAX_BODY - size));
    } catch (e) {
      if (e && e.payload && e.payload.tag === 'closed') break;
      throw new HttpError('transport', "the answer's body was cut off");
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  const bytes = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  return { status, headers, body: bytes, text: () => new TextDecoder().decode(bytes) };
}
