/** Accept-Encoding negotiation (cases written from RFC 9110 §12.5.3) and request bodies' text. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsEncoding, bodyText } from './encoding.ts';

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

test("a body's text is what UTF-8 decoding gives, for ASCII, other characters and invalid bytes alike", () => {
  const cases: [string, Buffer, string][] = [
    ['ASCII JSON', Buffer.from('{"type":"system","data":[{"nodeId":"n-1","cpuPercent":1.5}]}'), '{"type":"system","data":[{"nodeId":"n-1","cpuPercent":1.5}]}'],
    ['every ASCII byte', Buffer.from(Array.from({ length: 128 }, (_, i) => i)), String.fromCharCode(...Array.from({ length: 128 }, (_, i) => i))],
    // é is two bytes in UTF-8 (C3 A9): decoded as Latin-1 it would be "Ã©"
    ['two-byte character', Buffer.from([0x22, 0xc3, 0xa9, 0x22]), '"é"'],
    ['four-byte character', Buffer.from([0xf0, 0x9f, 0x93, 0x88]), '\u{1F4C8}'],
    // a lone continuation byte and a truncated sequence: each becomes U+FFFD
    ['invalid bytes', Buffer.from([0x61, 0x80, 0x62, 0xe2, 0x82]), 'a\uFFFDb\uFFFD'],
    ['a high byte alone', Buffer.from([0xff]), '\uFFFD'],
    ['empty', Buffer.alloc(0), ''],
  ];
  for (const [name, bytes, expected] of cases) assert.equal(bodyText(bytes), expected, name);
});
