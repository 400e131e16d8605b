import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDecipheriv, createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFromText, openSecretBox, SecretBox, SecretKeyError } from './secrets.ts';

const KEY_A = Buffer.alloc(32, 7);
const KEY_B = Buffer.alloc(32, 9);

test('a sealed secret opens with its key and context, and is AES-256-GCM under that key', () => {
  const box = new SecretBox(KEY_A);
  const sealed = box.seal('xoxb-telegram-token', 'notification_channels:3:token');
  assert.ok(!sealed.includes('xoxb'), 'the plaintext is not in the sealed form');
  assert.equal(box.open(sealed, 'notification_channels:3:token'), 'xoxb-telegram-token');
  // Decrypt independently with node:crypto from the documented format.
  const [v, , iv, tag, ct] = sealed.split('.');
  assert.equal(v, 'v1');
  const d = createDecipheriv('aes-256-gcm', KEY_A, Buffer.from(iv!, 'base64url'));
  d.setAAD(Buffer.from('opsdeck:notification_channels:3:token'));
  d.setAuthTag(Buffer.from(tag!, 'base64url'));
  assert.equal(Buffer.concat([d.update(Buffer.from(ct!, 'base64url')), d.final()]).toString(), 'xoxb-telegram-token');
  assert.notEqual(box.seal('same', 'c'), box.seal('same', 'c'), 'a fresh IV each time');
});

test('another context, another key, or an altered value does not open', () => {
  const box = new SecretBox(KEY_A);
  const sealed = box.seal('s3cret', 'row:1');
  assert.throws(() => box.open(sealed, 'row:2'), (e: unknown) => e instanceof SecretKeyError && e.code === 'SECRET_CORRUPT');
  assert.throws(() => new SecretBox(KEY_B).open(sealed, 'row:1'), (e: unknown) => e instanceof SecretKeyError && e.code === 'SECRET_KEY_MISMATCH');
  const parts = sealed.split('.');
  const ct = Buffer.from(parts[4]!, 'base64url');
  ct[0] = ct[0]! ^ 1;
  parts[4] = ct.toString('base64url');
  assert.throws(() => box.open(parts.join('.'), 'row:1'), (e: unknown) => e instanceof SecretKeyError && e.code === 'SECRET_CORRUPT');
  assert.throws(() => box.open('plain text', 'row:1'), (e: unknown) => e instanceof SecretKeyError && e.code === 'SECRET_CORRUPT');
});

test('after a rotation the previous key still opens old values, which are flagged for re-sealing', () => {
  const old = new SecretBox(KEY_A).seal('v', 'c');
  const rotated = new SecretBox(KEY_B, [KEY_A]);
  assert.equal(rotated.open(old, 'c'), 'v');
  assert.equal(rotated.needsReseal(old), true);
  assert.equal(rotated.needsReseal(rotated.seal('v', 'c')), false);
});

test('keys from text: 64 hex characters are the bytes, other text of 32+ characters is hashed, shorter is refused', () => {
  assert.deepEqual(keyFromText('07'.repeat(32)), KEY_A);
  const phrase = 'correct horse battery staple and some more words';
  assert.deepEqual(keyFromText(phrase), createHash('sha256').update(phrase).digest());
  assert.throws(() => keyFromText('short'), SecretKeyError);
});

test('without a configured key, a key file is made once in the data folder (0600) and reused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-secret-'));
  try {
    const first = openSecretBox({ dataDir: dir });
    assert.equal(first.source, 'new-file');
    const path = join(dir, 'secret.key');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const sealed = first.box.seal('x', 'c');
    const second = openSecretBox({ dataDir: dir });
    assert.equal(second.source, 'file');
    assert.equal(second.box.open(sealed, 'c'), 'x');
    assert.match(readFileSync(path, 'utf8'), /^[0-9a-f]{64}\n$/);
    const configured = openSecretBox({ dataDir: dir, secretKey: 'k'.repeat(40) });
    assert.equal(configured.source, 'config');
    assert.throws(() => configured.box.open(sealed, 'c'), (e: unknown) => e instanceof SecretKeyError && e.code === 'SECRET_KEY_MISMATCH');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
