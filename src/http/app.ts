/**
 * The Fastify application: Zod type provider (validation, serialization and
 * OpenAPI from one declaration per route), problem+json errors, request ids,
 * gzip request bodies with the size limit applied after decompression, access
 * control declared on every route, Prometheus metrics, and draining on shutdown.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Transform } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { jsonSchemaTransform, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import type { TierInfo } from '../db/tier.ts';
import type { JobRunner } from '../jobs/runner.ts';
import type { TimeseriesStore } from '../timeseries/store.ts';
import type { WriteCoalescer } from '../timeseries/coalescer.ts';
import { allowed, describeAccess, type Access, type Authenticator } from './access.ts';
import { Metrics } from './metrics.ts';
import { HttpError, mapError, problemSchema, toProblem } from './problem.ts';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface AppDeps {
  config: Config;
  db: Database;
  store: TimeseriesStore;
  /** Group commit for concurrent small ingest batches. */
  writer: WriteCoalescer;
  tier: TierInfo;
  logger: Logger;
  authenticator: Authenticator;
  jobs: JobRunner | null;
  metrics: Metrics;
  version: string;
}

/** A feature module's routes. */
export type RouteModule = (app: App, deps: AppDeps) => Promise<void> | void;

export interface AppState {
  draining: boolean;
}

const PROBLEM_CT = 'application/problem+json; charset=utf-8';

export async function buildApp(deps: AppDeps, modules: readonly RouteModule[]): Promise<{ app: App; state: AppState }> {
  const state: AppState = { draining: false };
  const app = Fastify({
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    bodyLimit: deps.config.bodyLimitBytes,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
    },
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    routerOptions: { ignoreTrailingSlash: true },
    ajv: undefined,
  }).withTypeProvider<ZodTypeProvider>();

  // JSON only: without a parser for text/plain, other media types get 415.
  app.removeContentTypeParser('text/plain');
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
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'An access token from POST /api/v1/auth/login, or an API key (`odk_…`)' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });

  // Every route declares its access rule; document it and its error answers in OpenAPI.
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
    const responses = ((schema as { response?: Record<string | number, unknown> }).response ??= {});
    const errorCodes = [400, 500, 503, ...(access === 'public' ? [] : [401, 403])];
    for (const c of errorCodes) responses[c] ??= problemSchema;
    if (access !== 'public') {
      (schema as { security?: unknown }).security = [{ bearer: [] }];
      const s = schema as { description?: string };
      s.description = `${s.description ? `${s.description}\n\n` : ''}${describeAccess(access)}`;
    }
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

  app.addHook('onRequest', async (req, reply) => {
    if (state.draining) {
      reply.header('connection', 'close');
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry against another instance or shortly', {}, { 'retry-after': '5' });
    }
    const access = req.routeOptions.config?.access ?? 'public';
    if (access === 'public') return;
    const principal = await deps.authenticator.authenticate(req.headers.authorization);
    if (!principal) {
      reply.header('www-authenticate', 'Bearer realm="opsdeck"');
      throw new HttpError(401, 'UNAUTHENTICATED', 'authentication required: send Authorization: Bearer <access token or API key>');
    }
    if (!allowed(principal, access)) {
      throw new HttpError(
        403,
        'FORBIDDEN',
        principal.kind === 'user' ? `this action needs role ${access.role} or higher` : `this action needs an API key with scope ${access.scope}`,
      );
    }
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
    return reply.code(m.status).type(PROBLEM_CT).send(toProblem(m, req.id, req.url.split('?')[0]));
  });

  app.setNotFoundHandler(async (req, reply) => {
    const m = { status: 404, code: 'NOT_FOUND', detail: `no route ${req.method} ${req.url.split('?')[0]}` };
    return reply.code(404).type(PROBLEM_CT).send(toProblem(m, req.id, req.url.split('?')[0]));
  });

  for (const mod of modules) await app.register(async (scope) => mod(scope as App, deps));

  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { access: 'public' }, schema: { hide: true } }, async () => app.swagger());

  return { app, state };
}
