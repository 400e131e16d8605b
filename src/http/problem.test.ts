import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseQueryError, DatabaseUnavailableError } from '../db/database.ts';
import {
  ConflictError,
  ForbiddenError,
  InvalidError,
  LimitExceededError,
  NotFoundError,
  RateLimitedError,
  TooLargeError,
  UnauthenticatedError,
  UnavailableError,
} from '../domain/errors.ts';
import { mapError } from './problem.ts';

test('database errors map to retryable 503s, never to 500 with internals', () => {
  for (const state of ['40P01', '40001']) {
    const m = mapError(new DatabaseQueryError('deadlock detected', state));
    assert.equal(m.status, 503);
    assert.equal(m.code, 'TRANSIENT_CONFLICT');
    assert.equal(m.headers?.['retry-after'], '1');
  }
  assert.equal(mapError(new DatabaseQueryError('canceling statement due to statement timeout', '57014')).code, 'QUERY_TIMEOUT');
  assert.equal(mapError(new DatabaseUnavailableError('down')).status, 503);
  const internal = mapError(new DatabaseQueryError('relation "secret_table" does not exist', '42P01'));
  assert.equal(internal.status, 500);
  assert.ok(!internal.detail.includes('secret_table'));
});

test('domain errors map to their HTTP status once, keeping code, message and extra fields', () => {
  const cases: [Error, number][] = [
    [new NotFoundError('THING_NOT_FOUND', 'no thing 7'), 404],
    [new ConflictError('THING_TAKEN', 'taken'), 409],
    [new LimitExceededError('THING_LIMIT', 'too many things', { maxThings: 3 }), 409],
    [new ForbiddenError('NOT_YOURS', 'only the owner may'), 403],
    [new UnauthenticatedError('BAD_TOKEN', 'bad token'), 401],
    [new InvalidError('THING_INVALID', 'bad thing'), 400],
    [new TooLargeError('THING_TOO_LARGE', 'too big', { maxBytes: 10 }), 413],
    [new RateLimitedError('SLOW_DOWN', 'wait', 42), 429],
    [new UnavailableError('DEPENDENCY_DOWN', 'down'), 503],
  ];
  for (const [err, status] of cases) {
    const m = mapError(err);
    assert.equal(m.status, status, err.constructor.name);
    assert.equal(m.code, (err as { code?: string }).code);
    assert.equal(m.detail, err.message);
    assert.equal(m.unexpected, undefined);
  }
  assert.deepEqual(mapError(new LimitExceededError('THING_LIMIT', 'too many things', { maxThings: 3 })).extra, { maxThings: 3 });
  assert.deepEqual(mapError(new TooLargeError('THING_TOO_LARGE', 'too big', { maxBytes: 10 })).extra, { maxBytes: 10 });
});

test('domain errors carry their HTTP details: Retry-After, Bearer challenge, field paths', () => {
  const limited = mapError(new RateLimitedError('SLOW_DOWN', 'wait', 42));
  assert.equal(limited.headers?.['retry-after'], '42');
  assert.equal(limited.extra?.retryAfterSeconds, 42);

  assert.equal(mapError(new UnavailableError('DEPENDENCY_DOWN', 'down', 30)).headers?.['retry-after'], '30');
  assert.equal(mapError(new UnavailableError('DEPENDENCY_DOWN', 'down')).headers?.['retry-after'], undefined);

  assert.equal(mapError(new UnauthenticatedError('BAD_TOKEN', 'bad', 'invalid_token')).headers?.['www-authenticate'], 'Bearer realm="opsdeck", error="invalid_token"');
  assert.equal(mapError(new UnauthenticatedError('BAD_HEADER', 'bad', 'invalid_request')).headers?.['www-authenticate'], 'Bearer realm="opsdeck", error="invalid_request"');
  assert.equal(mapError(new UnauthenticatedError('GONE', 'gone')).headers?.['www-authenticate'], undefined);

  const invalid = mapError(new InvalidError('THING_INVALID', 'bad name', [{ path: 'name', message: 'too short' }]));
  assert.deepEqual(invalid.errors, [{ path: 'body.name', message: 'too short' }]);
  assert.equal(mapError(new InvalidError('THING_INVALID', 'bad thing', [], { reason: 'x' })).errors, undefined);
  assert.deepEqual(mapError(new InvalidError('THING_INVALID', 'bad thing', [], { reason: 'x' })).extra, { reason: 'x' });
});
