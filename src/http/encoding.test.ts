/** Accept-Encoding negotiation, cases written from RFC 9110 §12.5.3. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsEncoding } from './encoding.ts';

test('a coding is taken when named or through *, unless its q is 0', () => {
  assert.equal(acceptsEncoding('gzip, deflate, br', 'br'), true);
  assert.equal(acceptsEncoding('br;q=1, GZIP;q=0.8', 'gzip'), true);
  assert.equal(acceptsEncoding('gzip;q=0, deflate', 'gzip'), false);
  assert.equal(acceptsEncoding('gzip; q=0.0', 'gzip'), false);
  assert.equal(acceptsEncoding('*', 'br'), true);
  assert.equal(acceptsEncoding('deflate', 'gzip'), false);
  assert.equal(acceptsEncoding('x-gzip-like', 'gzip'), false, 'a name that only contains the coding is another coding');
  assert.equal(acceptsEncoding(undefined, 'gzip'), false);
  assert.equal(acceptsEncoding('', 'gzip'), false);
  assert.equal(acceptsEncoding(['identity', 'gzip'], 'gzip'), true);
});
