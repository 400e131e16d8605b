import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DatabaseQueryError, DatabaseUnavailableError } from '../db/database.ts';
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
