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

test('the limiter counts per (username, address) pair with a per-address ceiling; a success clears only the pair', () => {
  let now = 0;
  const l = new LoginLimiter({ perPair: { max: 2, windowMs: 1000 }, perIp: { max: 3, windowMs: 1000 } }, () => now);
  l.failure('1.1.1.1', 'alice');
  l.failure('1.1.1.1', 'alice');
  assert.ok(l.retryAfter('1.1.1.1', 'alice') > 0, 'the pair is blocked');
  assert.equal(l.retryAfter('2.2.2.2', 'alice'), 0, 'the same username from another address is not');
  assert.equal(l.retryAfter('1.1.1.1', 'bob'), 0, 'another username from the same address is not (below the ceiling)');
  l.success('1.1.1.1', 'alice');
  assert.equal(l.retryAfter('1.1.1.1', 'alice'), 0);
  l.failure('1.1.1.1', 'bob');
  assert.ok(l.retryAfter('1.1.1.1', 'carol') > 0, 'address ceiling reached: blocked for any username');
  assert.equal(l.retryAfter('3.3.3.3', 'carol'), 0);
  now = 1001;
  assert.equal(l.retryAfter('1.1.1.1', 'carol'), 0);
});

test('memory stays bounded under a flood of distinct keys', () => {
  const w = new FailureWindow({ max: 5, windowMs: 60_000 }, 1000, () => 0);
  for (let i = 0; i < 5000; i++) w.fail(`ip-${i}`);
  assert.ok((w as unknown as { failures: Map<string, number[]> }).failures.size <= 1000);
});
