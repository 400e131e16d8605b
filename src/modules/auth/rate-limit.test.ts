import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FailureWindow, LoginLimiter } from './rate-limit.ts';

test('a key is blocked after max failures inside the window and freed as they age out', () => {
  let now = 1_000_000;
  const w = new FailureWindow({ max: 3, windowMs: 60_000 }, 100, () => now);
  for (let i = 0; i < 3; i++) {
    assert.equal(w.retryAfterSeconds('k'), 0);
    w.fail('k');
    now += 10_000;
  }
  // Failures at 0 s, 10 s, 20 s; now 30 s: blocked until the first one is 60 s old.
  assert.equal(w.retryAfterSeconds('k'), 30);
  assert.equal(w.retryAfterSeconds('other'), 0);
  now += 30_000;
  assert.equal(w.retryAfterSeconds('k'), 0);
  w.reset('k');
  assert.equal(w.retryAfterSeconds('k'), 0);
});

test('the limiter keys usernames case-insensitively and a success clears only the username', () => {
  let now = 0;
  const l = new LoginLimiter({ perUsername: { max: 2, windowMs: 1000 }, perIp: { max: 3, windowMs: 1000 } }, () => now);
  l.failure('1.1.1.1', 'Alice');
  l.failure('1.1.1.1', 'alice');
  assert.ok(l.retryAfter('2.2.2.2', 'ALICE') > 0, 'username blocked from any IP');
  l.success('alice');
  assert.equal(l.retryAfter('2.2.2.2', 'alice'), 0);
  l.failure('1.1.1.1', 'bob');
  assert.ok(l.retryAfter('1.1.1.1', 'carol') > 0, 'IP blocked for any username');
  now = 1001;
  assert.equal(l.retryAfter('1.1.1.1', 'carol'), 0);
});

test('memory stays bounded under a flood of distinct keys', () => {
  const w = new FailureWindow({ max: 5, windowMs: 60_000 }, 1000, () => 0);
  for (let i = 0; i < 5000; i++) w.fail(`ip-${i}`);
  assert.ok((w as unknown as { failures: Map<string, number[]> }).failures.size <= 1000);
});
