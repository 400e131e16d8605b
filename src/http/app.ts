/**
 * The Fastify application: Zod type provider (validation, serialization and
 * OpenAPI from one declaration per route), problem+json errors, request ids,
 * gzip request bodies with the size limit applied after decompression, access
 * control declared on every route, Prometheus metrics, and draining on shutdown.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Transform, type Duplex } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest, type RawServerDefault, type RouteOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { TierInfo } from '../db/tier.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { TimeseriesStore } from '../timeseries/store.ts';
import { UnauthenticatedError } from '../domain/errors.ts';
import type { StreamStore } from '../timeseries/stream-store.ts';
import type { WriteCoalescer } from '../timeseries/coalescer.ts';
import type { Authenticator } from '../domain/access.ts';
import { authorize, describeAccess, type Access } from './access.ts';
import { Metrics } from './metrics.ts';
import { BodyBudget, bodyReservation } from './body-budget.ts';
import { bodyText } from './encoding.ts';
import { HttpError, mapError, problemSchema, toProblem, type MappedError } from './problem.ts';
import { lazyChildLoggerFactory, RequestLogController } from './request-logger.ts';
import type { SecretBox } from '../crypto/secrets.ts';
import { auditActionOf, type AuditSink } from '../domain/audit.ts';
import type { Outbound } from '../net/outbound.ts';
import { isPageRequest, sendPage, type Dashboard } from '../web/dashboard.ts';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface AppDeps {
  config: Config;
  db: Database;
  store: TimeseriesStore;
  /** Group commit for concurrent small ingest batches. */
  writer: WriteCoalescer;
  /** Event streams (email_events, …): ingest, lists, stats. */
  streams: StreamStore;
  tier: TierInfo;
  logger: Logger;
  authenticator: Authenticator;
  jobs: JobRunner | null;
  metrics: Metrics;
  version: string;
  /** Seals secrets kept to use again (src/crypto/secrets.ts). */
  secrets: SecretBox;
  /** The guarded way out for requests made on a user's behalf (src/net/outbound.ts). */
  outbound: Outbound;
  /** Writes the audit entry of a mutating request in its transaction (the agent ledger's audit trail); none: not audited. */
  audit?: AuditSink | undefined;
  /** The web dashboard (src/web): client-side routes are answered with its index.html; none: the API only. */
  dashboard?: Dashboard | null | undefined;
}

/**
 * The credential of a request: `Authorization: Bearer …`, or else an API key in
 * `X-API-Key` (the header the mail-cluster agent and its ZoneMTA plugin send). The
 * second place takes API keys only (never an access token), checked exactly like a
 * Bearer API key: same hashing, scopes and owner rules.
 */
export function credentialOf(headers: Record<string, string | string[] | undefined>): string | undefined {
  if (headers.authorization !== undefined) return headers.authorization as string;
  const key = headers['x-api-key'];
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !/^odk_[A-Za-z0-9_-]+$/.test(key.trim())) {
    throw new UnauthenticatedError('INVALID_API_KEY', 'X-API-Key must carry one Opsdeck API key (odk_…)', 'invalid_request');
  }
  return `Bearer ${key.trim()}`;
}

/** A feature module's routes. */
export type RouteModule = (app: App, deps: AppDeps) => Promise<void> | void;

export interface AppState {
  draining: boolean;
  /** How each mutating route is audited: `request` (its transaction writes the entry), `self` (the module does), `off`. */
  auditModes(): { route: string; mode: 'request' | 'self' | 'off' }[];
}

const PROBLEM_CT = 'application/problem+json; charset=utf-8';

/** Content-Security-Policy of every answer but the documentation page: nothing may load. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";
/** Content-Security-Policy of /docs (Swagger UI): same-origin resources only, no inline script. */
export const DOCS_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Deepest nesting of objects and arrays accepted in a JSON body; deeper → 400
 * JSON_TOO_DEEP. JSON.parse copes with any depth, but recursive consumers do
 * not: JSON.stringify (saved-view size check, responses) and PostgreSQL's jsonb
 * parser overflow their stacks at a few thousand levels, which was a 500.
 */
export const MAX_JSON_DEPTH = 128;

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route's own reader of its JSON body, tried on the body's bytes before they are decoded
     * and parsed: the body it returns is validated by the route's schema as a parsed one would be;
     * null → the general JSON parser. It must accept only bodies the general parser accepts, and
     * read them as it would (metrics ingest: ingest-scan.ts).
     */
    scanBody?: (body: Buffer, req: FastifyRequest) => unknown;
  }
}

/** True when the JSON text nests objects/arrays deeper than `limit` (strings skipped; malformed text → false, JSON.parse reports it). */
export function jsonNestingExceeds(text: string, limit: number): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      // Jump to the closing quote (one not preceded by an odd number of backslashes).
      let j = text.indexOf('"', i + 1);
      for (;;) {
        if (j === -1) return false;
        let k = j - 1;
        while (text.charCodeAt(k) === 92) k--;
        if ((j - 1 - k) % 2 === 0) break;
        j = text.indexOf('"', j + 1);
      }
      i = j;
    } else if (c === 123 || c === 91) {
      if (++depth > limit) return true;
    } else if (c === 125 || c === 93) {
      depth--;
    }
  }
  return false;
}

/** True when `test` holds for a string, or an object key, anywhere in the JSON value `v`. */
function anyString(v: unknown, test: (s: string) => boolean): boolean {
  if (typeof v === 'string') return test(v);
  if (Array.isArray(v)) return v.some((x) => anyString(x, test));
  if (v && typeof v === 'object') return Object.entries(v).some(([k, x]) => test(k) || anyString(x, test));
  return false;
}

/** True when a string or key in `v` holds U+0000: PostgreSQL text and jsonb cannot store it (SQLSTATE 22021/22P05 → was a 500). */
export function containsNul(v: unknown): boolean {
  return anyString(v, (s) => s.includes('\u0000'));
}

const LONE_SURROGATE = /[\ud800-\udfff]/u;

/**
 * True when a string or key in `v` holds an unpaired UTF-16 surrogate (a JSON escape such as
 * "\ud800" alone): it has no UTF-8 form, so PostgreSQL refuses it (was a 500). With the `u`
 * flag a well-formed pair is one code point outside the class, so only lone halves match.
 */
export function containsLoneSurrogate(v: unknown): boolean {
  return anyString(v, (s) => LONE_SURROGATE.test(s));
}

/** A JSON text that may decode to a surrogate: an escape \uD800-\uDFFF (raw UTF-8 bytes cannot encode one). */
const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F]/;

const nulError = (where: string) => new HttpError(400, 'INVALID_CHARACTER', `${where} contains the NUL character (U+0000), which cannot be stored`);
const surrogateError = (where: string) =>
  new HttpError(400, 'INVALID_CHARACTER', `${where} contains an unpaired UTF-16 surrogate (a lone \\uD800-\\uDFFF escape), which is not a character`);

/** How long the rest of an unread body is discarded after an early 4xx answer before the connection is cut. */
const LINGER_MS = 2000;

/**
 * An error answered before the client finished sending its body (413 over the
 * limit, 401/403/404/415 before the body is read): closing the socket right
 * after the answer (Fastify's `connection: close` on body errors, or a client
 * that sent `Connection: close`) with unread bytes in it makes the kernel send
 * RST, and the client loses the answer and sees only a reset (EPIPE,
 * ECONNRESET) — every chunked upload over the limit did. Instead the
 * connection is kept after the answer and the rest of the body is discarded as
 * it arrives (raw bytes: a gzip body is no longer decompressed) for at most
 * LINGER_MS; then the connection is cut if the body still has not ended.
 * Nothing is kept in memory.
 */
function lingerOnUnreadBody(raw: IncomingMessage, reply: { removeHeader(name: string): unknown; raw: ServerResponse }): void {
  if (raw.complete || raw.readableEnded) return;
  reply.removeHeader('connection');
  reply.raw.shouldKeepAlive = true;
  raw.unpipe();
  raw.resume();
  const timer = setTimeout(() => raw.destroy(), LINGER_MS);
  timer.unref();
  raw.once('end', () => clearTimeout(timer));
  raw.once('close', () => clearTimeout(timer));
}

/** An answer written straight to the socket (no request object): parser errors and timeouts. */
function writeRawProblem(socket: Duplex, m: MappedError): void {
  const body = JSON.stringify(toProblem(m, randomUUID()));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${m.status} ${STATUS_CODES[m.status]}\r\nContent-Type: ${PROBLEM_CT}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nX-Content-Type-Options: nosniff\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
}

/**
 * Body timeout: while a request body is being received, a socket with no traffic for
 * `ms` gets 408 and is closed (the request timeout bounds the whole request, this one
 * each pause). The socket timeout is cleared once the body has arrived, so slow
 * handlers are not affected. Socket-level: nothing is added to the body stream.
 */
function armBodyTimeout(raw: IncomingMessage, reply: FastifyReply, ms: number): void {
  if (raw.complete || raw.readableEnded) return;
  const socket = raw.socket as Duplex & Partial<Pick<Socket, 'setTimeout'>>;
  // app.inject() requests have a stand-in socket without timeouts.
  if (typeof socket?.setTimeout !== 'function') return;
  const onTimeout = () => {
    if (raw.complete) return;
    if (!reply.raw.headersSent) {
      writeRawProblem(socket, { status: 408, code: 'REQUEST_TIMEOUT', detail: `no request body data for ${ms} ms` });
    }
    socket.destroy();
  };
  // Node's HTTP server turns a socket timeout into a 'timeout' event on the unfinished request
  // (and destroys the socket itself only when nobody listens): answer 408, then close.
  socket.setTimeout(ms);
  raw.on('timeout', onTimeout);
  const clear = () => {
    socket.setTimeout?.(0);
    raw.off('timeout', onTimeout);
  };
  raw.once('end', clear);
  raw.once('close', clear);
}

/**
 * OpenAPI operationId from method and path, stable as long as the route is:
 * GET /api/v1/nodes/:id → getApiV1NodesById, GET /metrics → getMetrics. A route may
 * declare its own `schema.operationId`; duplicates fail at start-up.
 */
export function operationIdFor(method: string | string[], url: string): string {
  const verb = (Array.isArray(method) ? method[0]! : method).toLowerCase();
  const words = url
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith(':') ? `by-${seg.slice(1)}` : seg.startsWith('{') ? `by-${seg.slice(1, -1)}` : seg))
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/))
    .filter(Boolean);
  return verb + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

export async function buildApp(deps: AppDeps, modules: readonly RouteModule[]): Promise<{ app: App; state: AppState }> {
  const mutatingRoutes: RouteOptions[] = [];
  const state: AppState = {
    draining: false,
    auditModes: () =>
      mutatingRoutes.map((r) => {
        const mode = r.config?.audit;
        return { route: `${r.method as string} ${r.url}`, mode: !deps.audit || mode === false ? ('off' as const) : mode === 'self' ? ('self' as const) : ('request' as const) };
      }),
  };
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // One request line at debug, and each request's logger made on first use (request-logger.ts).
    logController: new RequestLogController(deps.logger),
    childLoggerFactory: lazyChildLoggerFactory,
    bodyLimit: deps.config.bodyLimitBytes,
    trustProxy: deps.config.trustProxy,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: false,
    // A client that stops sending is dropped (408, connection closed): headers within
    // headersTimeoutMs, the whole request within requestTimeoutMs (Node checks both every
    // second instead of every 30 s), and no pause over bodyTimeoutMs inside a body (below).
    requestTimeout: deps.config.requestTimeoutMs,
    http: { headersTimeout: deps.config.headersTimeoutMs, connectionsCheckingInterval: 1000 },
    forceCloseConnections: 'idle',
    // maxParamLength: find-my-way's default of 100 answered 414 for valid node ids of 101-128
    // characters (up to 3× that when percent-encoded); the route schemas bound each parameter.
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 512 },
    ajv: undefined,
    // Router errors (malformed percent-encoding, over-long parameter) as problem+json too.
    frameworkErrors: (err, req, reply) => {
      const m: MappedError =
        err.code === 'FST_ERR_BAD_URL'
          ? { status: 400, code: 'MALFORMED_URL', detail: 'the URL is not valid (malformed percent-encoding)' }
          : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
            ? { status: 414, code: 'URI_TOO_LONG', detail: 'a path parameter is too long' }
            : mapError(err);
      void (reply as unknown as FastifyReply).code(m.status).type(PROBLEM_CT).send(toProblem(m, req.id, req.url.split('?')[0]));
    },
    // Requests Node's HTTP parser rejects (malformed, headers too large, timeout) as problem+json too.
    clientErrorHandler: (err: Error & { code?: string }, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const m: MappedError =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? { status: 408, code: 'REQUEST_TIMEOUT', detail: 'the request was not received in time' }
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? { status: 431, code: 'HEADERS_TOO_LARGE', detail: 'the request line and headers exceed the size limit' }
            : { status: 400, code: 'MALFORMED_REQUEST', detail: 'the request is not valid HTTP' };
      writeRawProblem(socket, m);
      socket.destroy(err);
    },
  }).withTypeProvider<ZodTypeProvider>();

  // JSON only: without a parser for text/plain, other media types get 415.
  app.removeContentTypeParser('text/plain');
  // Fastify's own JSON parser (prototype-poisoning checks, empty-body error), behind a nesting-depth check.
  const defaultJsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, raw, done) => {
    const body = typeof raw === 'string' ? Buffer.from(raw) : raw;
    const scanBody = req.routeOptions.config?.scanBody;
    if (scanBody) {
      let scanned: unknown = null;
      try {
        scanned = scanBody(body, req);
      } catch (err) {
        // a fast path must never cost a request: the general parser decides
        req.log.warn({ err }, 'the route body reader failed; parsing the body instead');
      }
      if (scanned !== null) {
        done(null, scanned);
        return;
      }
    }
    const text = bodyText(body);
    if (jsonNestingExceeds(text, MAX_JSON_DEPTH)) {
      done(new HttpError(400, 'JSON_TOO_DEEP', `the JSON body nests objects or arrays more than ${MAX_JSON_DEPTH} levels deep`), undefined);
      return;
    }
    // Checked only when the text has a \u0000 or \uD800-\uDFFF escape (a raw NUL byte is not valid JSON, and
    // UTF-8 cannot carry a surrogate): free for ordinary bodies.
    defaultJsonParser(req, text, (err, parsed) => {
      if (!err && text.includes('\\u0000') && containsNul(parsed)) done(nulError('the body'), undefined);
      else if (!err && SURROGATE_ESCAPE.test(text) && containsLoneSurrogate(parsed)) done(surrogateError('the body'), undefined);
      else done(err, parsed);
    });
  });
  app.addHook('preValidation', async (req) => {
    if (containsNul(req.params)) throw nulError('the path');
    if (containsNul(req.query)) throw nulError('the query string');
    if (containsLoneSurrogate(req.params)) throw surrogateError('the path');
    if (containsLoneSurrogate(req.query)) throw surrogateError('the query string');
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('principal', null);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Opsdeck API',
        version: deps.version,
        description: 'Self-hosted operations monitoring: metrics, nodes, health and alerting. Errors are application/problem+json with a stable `code`.',
        license: { name: 'MIT', identifier: 'MIT' },
      },
      // Relative: the instance serving this document (behind whatever host and proxy the client used).
      servers: [{ url: '/', description: 'This Opsdeck instance' }],
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from POST /api/v1/auth/login, or an API key (`odk_…`)' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'An API key (`odk_…`) in the header the mail-cluster agent and ZoneMTA plugin send; used when there is no Authorization header' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  // Every route declares its access rule; document it and its error answers in OpenAPI.
  const operationIds = new Map<string, string>();
  app.addHook('onRoute', (route) => {
    const url = route.url;
    let access = route.config?.access as Access | undefined;
    if (!access && (url.startsWith('/docs') || url === '/openapi.json')) {
      access = 'public';
      route.config = { ...(route.config ?? {}), access };
    }
    if (!access) throw new Error(`route ${route.method} ${url} does not declare config.access`);
    if (url.startsWith('/docs')) return;
    const schema = (route.schema ??= {});
    // HEAD routes Fastify adds for GET routes copy their schema and are not documented.
    if (!(schema as { hide?: boolean }).hide && route.method !== 'HEAD') {
      const s = schema as { operationId?: string };
      s.operationId ??= operationIdFor(route.method, url);
      const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
      const previous = operationIds.get(s.operationId);
      if (previous && previous !== `${method} ${url}`) throw new Error(`operationId ${s.operationId} of ${method} ${url} is already used by ${previous}`);
      operationIds.set(s.operationId, `${method} ${url}`);
    }
    const responses = ((schema as { response?: Record<string | number, unknown> }).response ??= {});
    const errorCodes = [400, 500, 503, ...(access === 'public' ? [] : [401, 403])];
    for (const c of errorCodes) responses[c] ??= problemSchema;
    // Public operations say so explicitly (an empty requirement), the others need the bearer credential.
    (schema as { security?: unknown }).security = access === 'public' ? [] : [{ bearer: [] }, { apiKey: [] }];
    if (access !== 'public') {
      const s = schema as { description?: string };
      s.description = `${s.description ? `${s.description}\n\n` : ''}${describeAccess(access)}`;
    }
    if (typeof route.method === 'string' && MUTATING.has(route.method)) {
      mutatingRoutes.push(route);
      if (deps.audit) auditRoute(route, deps.db, deps.audit);
    }
  });

  // An audited handler's answer leaves only once its transaction (change + audit entry) committed:
  // a handler that sends inside it (reply.send) has its answer held here until then.
  // When that transaction fails, the answer becomes the problem the failure maps to.
  app.addHook('onSend', async (req, reply, payload) => {
    const committed = (req as { auditCommitted?: Promise<void> }).auditCommitted;
    if (!committed) return payload;
    try {
      await committed;
      return payload;
    } catch (err) {
      const m = mapError(err);
      req.log.error({ err }, 'the change or its audit entry did not commit after the answer was prepared');
      for (const [k, v] of Object.entries(m.headers ?? {})) reply.header(k, v);
      reply.code(m.status).type(PROBLEM_CT);
      return JSON.stringify(toProblem(m, req.id, req.url.split('?')[0]));
    }
  });

  // Bodies processed at once are bounded (src/http/body-budget.ts): beyond the budget a request
  // waits, then gets 503 with Retry-After, before its body is read. Only authenticated requests
  // take part (authentication ran in onRequest): a client without a credential cannot hold the
  // budget by declaring large bodies and sending them slowly; public routes take small bodies.
  const budget = new BodyBudget(deps.config.bodyBudgetBytes, deps.config.bodyQueueMs);
  app.addHook('preParsing', async (req, reply, payload) => {
    if (!req.principal) return payload;
    const bytes = bodyReservation(req.headers, deps.config.bodyLimitBytes);
    if (bytes === 0) return payload;
    const release = await budget.acquire(bytes);
    if (!release) {
      throw new HttpError(503, 'BUSY', `too many request bodies are being processed; retry in a moment (waited ${deps.config.bodyQueueMs} ms)`, {}, { 'retry-after': '1' });
    }
    reply.raw.once('close', release);
    return payload;
  });

  app.addHook('preParsing', async (req, reply, payload) => {
    armBodyTimeout(req.raw, reply, deps.config.bodyTimeoutMs);
    return payload;
  });

  // Request bodies may be gzip/deflate encoded; the body limit applies to the decoded bytes.
  app.addHook('preParsing', async (req, _reply, payload) => {
    const enc = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (enc === 'identity') return payload;
    if (enc !== 'gzip' && enc !== 'deflate') {
      throw new HttpError(415, 'UNSUPPORTED_CONTENT_ENCODING', `content-encoding ${enc} is not supported (use gzip, deflate or none)`);
    }
    let encoded = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _e, cb) {
        encoded += chunk.length;
        cb(null, chunk);
      },
    });
    const decoder = enc === 'gzip' ? createGunzip() : createInflate();
    const out = payload.pipe(counter).pipe(decoder);
    Object.defineProperty(out, 'receivedEncodedLength', { get: () => encoded });
    decoder.on('error', (err: Error & { statusCode?: number }) => {
      err.statusCode = 400;
    });
    return out;
  });

  // Security headers for an API: nothing here is a page to sniff, frame or refer from, and answers
  // (tokens, inventory, metrics) are not kept by caches. /docs is the one HTML page: its CSP allows
  // only same-origin scripts, styles, images and requests (Swagger UI sets inline style attributes).
  app.addHook('onSend', async (req, reply, payload) => {
    const docs = req.url === '/docs' || req.url.startsWith('/docs/') || req.url.startsWith('/docs?');
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    // The dashboard's pages set their own CSP (src/web/dashboard.ts, PAGE_CSP).
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', docs ? DOCS_CSP : API_CSP);
    if (!docs && !reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  // Requests still in flight when draining starts finish, but their keep-alive connection closes
  // with the answer: app.close() waits for open connections, and one left idle after its last
  // answer held shutdown until the shutdown timeout (8 s of the 10 s allowed).
  app.addHook('onSend', async (_req, reply, payload) => {
    if (state.draining) reply.header('connection', 'close');
    return payload;
  });

  app.addHook('onRequest', async (req, reply) => {
    if (state.draining) {
      reply.header('connection', 'close');
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry against another instance or shortly', {}, { 'retry-after': '5' });
    }
    const access = req.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const principal = await deps.authenticator.authenticate(credentialOf(req.headers));
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="opsdeck"');
      throw new HttpError(401, 'UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <access token or API key>');
    }
    authorize(principal, access, req.routeOptions.config);
    req.principal = principal;
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    deps.metrics.httpRequests.inc({ route, method: req.method, status: String(reply.statusCode) });
    deps.metrics.httpDuration.observe({ route, method: req.method }, reply.elapsedTime / 1000);
  });

  app.setErrorHandler(async (err, req, reply) => {
    const m = mapError(err);
    if (m.unexpected) req.log.error({ err }, 'unhandled error');
    else if (m.status >= 500) req.log.warn({ code: m.code, err: (err as Error).message }, 'request failed');
    for (const [k, v] of Object.entries(m.headers ?? {})) reply.header(k, v);
    if (m.status < 500) lingerOnUnreadBody(req.raw, reply);
    return reply.code(m.status).type(PROBLEM_CT).send(toProblem(m, req.id, req.url.split('?')[0]));
  });

  app.setNotFoundHandler(async (req, reply) => {
    // A client-side route of the dashboard (GET asking for HTML, outside /api, /docs, /assets): its index.html.
    if (deps.dashboard && isPageRequest(req)) return sendPage(deps.dashboard, req, reply);
    const m = { status: 404, code: 'NOT_FOUND', detail: `no route ${req.method} ${req.url.split('?')[0]}` };
    lingerOnUnreadBody(req.raw, reply);
    return reply.code(404).type(PROBLEM_CT).send(toProblem(m, req.id, req.url.split('?')[0]));
  });

  for (const mod of modules) await app.register(async (scope) => mod(scope as App, deps));

  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  return { app, state };
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Runs a mutating route's handler in a transaction that also writes the request's audit
 * entry when it succeeds (status below 400): the change and its entry commit together, or
 * neither does (a refused request changes nothing and leaves no entry). Decided per
 * request, so a module may mark its routes `audit: false | 'self'` in its own onRoute hook.
 */
function auditRoute(route: RouteOptions, db: Database, sink: AuditSink): void {
  const original = route.handler;
  const method = route.method as string;
  const { action, targetType } = auditActionOf(method, route.url);
  route.handler = async function audited(this: unknown, req: FastifyRequest, reply: FastifyReply) {
    const mode = req.routeOptions.config?.audit;
    if (mode === false || mode === 'self' || !req.principal) return original.call(this as never, req, reply);
    let done!: (err?: unknown) => void;
    const committed = new Promise<void>((resolve, reject) => (done = (err) => (err === undefined ? resolve() : reject(err))));
    committed.catch(() => undefined);
    (req as { auditCommitted?: Promise<void> }).auditCommitted = committed;
    // A handler that answers with reply.send(…) returns a promise that settles only once the answer
    // is out — which waits for this transaction (see the onSend hook): go on as soon as it sends.
    let sent!: () => void;
    let sentEarly = false;
    let sentPayload: unknown;
    const sending = new Promise<'sent'>((resolve) => (sent = () => resolve('sent')));
    const send = reply.send.bind(reply);
    reply.send = ((payload?: unknown) => {
      sentEarly = true;
      sentPayload = payload;
      sent();
      return send(payload);
    }) as typeof reply.send;
    try {
      const result = await db.transaction(async (tx) => {
        const handled = Promise.resolve(original.call(this as never, req, reply) as unknown);
        handled.catch(() => undefined);
        const first = await Promise.race([handled.then((value) => ({ value })), sending]);
        const r: unknown = first === 'sent' ? reply : first.value;
        if (reply.statusCode < 400) {
          const params = (req.params ?? {}) as Record<string, unknown>;
          const answer = r === reply ? sentPayload : r;
          const created = answer && typeof answer === 'object' && 'id' in answer ? (answer as { id: unknown }).id : undefined;
          const targetId = params.id ?? params.token ?? created;
          await sink.record(tx, {
            principal: req.principal,
            action,
            targetType,
            targetId: targetId === undefined || targetId === null ? null : String(targetId),
            ip: req.ip,
            requestId: req.id,
            summary: { ...(Object.keys(params).length ? { params } : {}), ...(req.body !== undefined ? { body: req.body } : {}) },
          });
        }
        // Returned as a value, not a promise: the reply (a thenable) must not be awaited in here.
        return { r };
      });
      done();
      return result.r;
    } catch (err) {
      // An answer the handler already sent must not leave as a success: its onSend fails with this
      // error. Otherwise the error is answered the usual way (its own send passes the hook).
      if (sentEarly) done(err);
      else done();
      throw err;
    } finally {
      reply.send = send;
    }
  } as typeof original;
}
