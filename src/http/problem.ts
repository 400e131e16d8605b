/**
 * Errors as RFC 9457 problem+json with a stable `code`. Services throw typed
 * errors; this module maps them to HTTP once, so handlers stay thin.
 */
import { z } from 'zod';
import { DatabaseQueryError, DatabaseUnavailableError } from '../db/database.ts';
import {
  ConflictError,
  DomainError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  RateLimitedError,
  TooLargeError,
  UnauthenticatedError,
  UnavailableError,
  UnsupportedError,
} from '../domain/errors.ts';
import { IngestValidationError } from '../timeseries/ingest.ts';
import { QueryError } from '../timeseries/query.ts';

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    code: z.string().describe('Stable machine-readable error code'),
    detail: z.string(),
    instance: z.string().optional(),
    requestId: z.string(),
    errors: z
      .array(z.object({ path: z.string(), message: z.string(), index: z.number().int().optional() }))
      .optional()
      .describe('Field-level problems: path is the field path (e.g. data.3.cpuPercent or query.from)'),
  })
  .catchall(z.unknown())
  .describe('application/problem+json');

export type Problem = z.infer<typeof problemSchema>;

/**
 * An error that already knows its HTTP answer: for purely HTTP matters of
 * routes and hooks (draining, content encoding, a missing credential). Services
 * throw domain errors (src/domain/errors.ts) instead.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export interface MappedError {
  status: number;
  code: string;
  detail: string;
  errors?: Problem['errors'];
  extra?: Record<string, unknown>;
  headers?: Record<string, string>;
  /** Log at error level (unexpected). */
  unexpected?: boolean;
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message: string;
  validation?: { instancePath?: string; message?: string; params?: { issue?: { path?: (string | number)[] } } }[];
  validationContext?: string;
}

/**
 * The HTTP answer of each kind of domain error. LimitExceededError is a
 * ConflictError (409); issue paths of InvalidError name fields of the command a
 * service received, which routes take from the request body (`body.<path>`).
 */
function mapDomainError(err: DomainError): MappedError {
  const base = { code: err.code, detail: err.message, extra: { ...err.extra } };
  if (err instanceof NotFoundError) return { status: 404, ...base };
  if (err instanceof ConflictError) return { status: 409, ...base };
  if (err instanceof ForbiddenError) return { status: 403, ...base };
  if (err instanceof UnauthenticatedError) {
    const headers = err.challenge ? { 'www-authenticate': `Bearer realm="opsdeck", error="${err.challenge}"` } : undefined;
    return { status: 401, ...base, ...(headers ? { headers } : {}) };
  }
  if (err instanceof InvalidError) {
    const errors = err.issues.map((i) => ({ path: `body.${i.path}`, message: i.message }));
    return { status: 400, ...base, ...(errors.length > 0 ? { errors } : {}) };
  }
  if (err instanceof TooLargeError) return { status: 413, ...base };
  if (err instanceof UnsupportedError) return { status: 422, ...base };
  if (err instanceof RateLimitedError) {
    return { status: 429, ...base, extra: { ...base.extra, retryAfterSeconds: err.retryAfterSeconds }, headers: { 'retry-after': String(err.retryAfterSeconds) } };
  }
  if (err instanceof UnavailableError) {
    return { status: 503, ...base, ...(err.retryAfterSeconds !== undefined ? { headers: { 'retry-after': String(err.retryAfterSeconds) } } : {}) };
  }
  // A DomainError subclass this mapper does not know: a programming error, answered like any other.
  return { status: 500, code: 'INTERNAL_ERROR', detail: 'an internal error occurred; the request id identifies it in the server log', unexpected: true };
}

/** Maps any thrown value to status, code and details. */
export function mapError(err: unknown): MappedError {
  if (err instanceof HttpError) {
    return { status: err.status, code: err.code, detail: err.message, extra: err.extra, headers: err.headers };
  }
  if (err instanceof DomainError) return mapDomainError(err);
  if (err instanceof IngestValidationError) {
    return {
      status: 400,
      code: err.code,
      detail: err.message,
      errors: err.issues.map((i) => ({ index: i.index, path: ['data', i.index, ...i.path].join('.'), message: i.message })),
    };
  }
  if (err instanceof QueryError) {
    const status = err.code === 'UNKNOWN_FAMILY' ? 404 : 400;
    return { status, code: err.code, detail: err.message, extra: err.details };
  }
  if (err instanceof DatabaseUnavailableError) {
    return { status: 503, code: err.code, detail: 'the database is unavailable; retry shortly', headers: { 'retry-after': '5' } };
  }
  if (err instanceof DatabaseQueryError && (err.sqlState === '40P01' || err.sqlState === '40001')) {
    // Deadlock or serialization failure: the whole transaction was rolled back; the same request can be retried.
    return { status: 503, code: 'TRANSIENT_CONFLICT', detail: 'the write conflicted with a concurrent one and was rolled back; retry it', headers: { 'retry-after': '1' } };
  }
  if (err instanceof DatabaseQueryError && err.sqlState === '57014') {
    return { status: 503, code: 'QUERY_TIMEOUT', detail: 'the query took longer than the statement timeout', headers: { 'retry-after': '5' } };
  }
  const fe = err as FastifyLikeError;
  if (fe && Array.isArray(fe.validation)) {
    const ctx = fe.validationContext ?? 'body';
    const errors = fe.validation.map((v) => {
      const issuePath = v.params?.issue?.path;
      const path = issuePath ? [ctx, ...issuePath].join('.') : `${ctx}${(v.instancePath ?? '').replace(/\//g, '.')}`;
      return { path, message: v.message ?? 'invalid' };
    });
    return { status: 400, code: 'VALIDATION_FAILED', detail: `invalid ${ctx}: ${errors.map((e) => `${e.path}: ${e.message}`).join('; ')}`, errors };
  }
  if (fe && typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    const code =
      fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? 'PAYLOAD_TOO_LARGE'
        : fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'UNSUPPORTED_MEDIA_TYPE'
          : fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || fe.statusCode === 400
            ? 'MALFORMED_REQUEST'
            : (fe.code ?? `HTTP_${fe.statusCode}`);
    const detail = code === 'PAYLOAD_TOO_LARGE' ? 'the request body exceeds the size limit' : fe.message;
    return { status: fe.statusCode, code, detail };
  }
  return { status: 500, code: 'INTERNAL_ERROR', detail: 'an internal error occurred; the request id identifies it in the server log', unexpected: true };
}

export function toProblem(m: MappedError, requestId: string, instance?: string): Problem {
  return {
    type: `https://opsdeck.dev/problems/${m.code.toLowerCase().replace(/_/g, '-')}`,
    title: TITLES[m.status] ?? 'Error',
    status: m.status,
    code: m.code,
    detail: m.detail,
    ...(instance ? { instance } : {}),
    requestId,
    ...(m.errors ? { errors: m.errors } : {}),
    ...(m.extra ?? {}),
  };
}
