/** The confirmed-state rules of monitored services (pure; no database). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { INITIAL_STATE, nextState, type ProbeState } from './state.ts';
import type { ServiceStatus } from './schema.ts';

const T = { failureThreshold: 3, successThreshold: 2 };

/** Feeds results one by one; returns the confirmed status after each and the changes seen. */
function run(results: ServiceStatus[], start: ProbeState = INITIAL_STATE, t = T) {
  let s = start;
  const statuses: (ServiceStatus | null)[] = [];
  const changes: string[] = [];
  results.forEach((r, i) => {
    const n = nextState(s, r, new Date(Date.UTC(2026, 0, 1, 0, 0, i)), t);
    s = n.state;
    statuses.push(s.status);
    if (n.changed) changes.push(`${n.changed.from ?? 'null'}→${n.changed.to}@${i}`);
  });
  return { statuses, changes, state: s };
}

test('the first result confirms the state of a new service at once', () => {
  assert.deepEqual(run(['down']).changes, ['null→down@0']);
  assert.deepEqual(run(['healthy']).changes, ['null→healthy@0']);
});

test('down needs failureThreshold consecutive failures; a success in between resets the count', () => {
  const r = run(['healthy', 'down', 'down', 'healthy', 'down', 'down', 'down']);
  assert.deepEqual(r.statuses, ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'down']);
  assert.deepEqual(r.changes, ['null→healthy@0', 'healthy→down@6']);
});

test('back up after successThreshold consecutive successes, to the status of the deciding result', () => {
  const r = run(['healthy', 'down', 'down', 'down', 'healthy', 'down', 'degraded', 'degraded']);
  assert.deepEqual(r.statuses, ['healthy', 'healthy', 'healthy', 'down', 'down', 'down', 'down', 'degraded']);
  assert.deepEqual(r.changes, ['null→healthy@0', 'healthy→down@3', 'down→degraded@7']);
  assert.equal(r.state.since?.toISOString(), '2026-01-01T00:00:07.000Z');
});

test('flapping up/down never reaches either threshold and changes nothing', () => {
  const r = run(['healthy', 'down', 'healthy', 'down', 'healthy', 'down', 'healthy', 'down']);
  assert.deepEqual(r.changes, ['null→healthy@0']);
});

test('healthy → degraded after failureThreshold degraded results in a row; back after successThreshold healthy ones', () => {
  const r = run(['healthy', 'degraded', 'degraded', 'healthy', 'degraded', 'degraded', 'degraded', 'healthy', 'healthy']);
  assert.deepEqual(r.changes, ['null→healthy@0', 'healthy→degraded@6', 'degraded→healthy@8']);
});

test('the counters after a sequence are those a restart must find again', () => {
  const r = run(['healthy', 'down', 'down']);
  assert.deepEqual({ ...r.state, since: r.state.since?.toISOString() }, {
    status: 'healthy',
    since: '2026-01-01T00:00:00.000Z',
    consecutiveFailures: 2,
    consecutiveSuccesses: 0,
    lastResult: 'down',
    resultStreak: 2,
  });
  // Continuing from those stored counters: one more failure confirms down.
  assert.deepEqual(run(['down'], r.state).changes, ['healthy→down@0']);
});

test('thresholds of 1 switch on every result', () => {
  assert.deepEqual(run(['healthy', 'down', 'healthy'], INITIAL_STATE, { failureThreshold: 1, successThreshold: 1 }).changes, ['null→healthy@0', 'healthy→down@1', 'down→healthy@2']);
});
