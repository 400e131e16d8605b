/** Silence matchers and maintenance-window timing, pure; expected instants computed by hand from the zones' rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { matcherMatches, windowActive } from './mutes.ts';
import type { AlertMaintenanceWindowRow } from './schema.ts';

const win = (w: Partial<AlertMaintenanceWindowRow>) =>
  ({ recurrence: 'daily', starts_at: new Date('2026-01-01T00:00:00Z'), ends_at: null, start_time: '09:00', duration_minutes: 60, weekdays: [], time_zone: 'UTC', ...w }) as AlertMaintenanceWindowRow;
const on = (w: AlertMaintenanceWindowRow, iso: string) => windowActive(w, new Date(iso));

test('Alertmanager matchers: a missing label is empty, regular expressions are anchored', () => {
  const labels = { node: 'mx1', alertname: 'Disk Low' };
  assert.equal(matcherMatches({ name: 'node', op: '=', value: 'mx1' }, labels), true);
  assert.equal(matcherMatches({ name: 'node', op: '!=', value: 'mx1' }, labels), false);
  assert.equal(matcherMatches({ name: 'node', op: '=~', value: 'mx' }, labels), false, 'anchored: mx does not match mx1');
  assert.equal(matcherMatches({ name: 'node', op: '=~', value: 'mx[0-9]' }, labels), true);
  assert.equal(matcherMatches({ name: 'node', op: '!~', value: 'db.*' }, labels), true);
  assert.equal(matcherMatches({ name: 'team', op: '=', value: '' }, labels), true, 'a missing label equals the empty string');
  assert.equal(matcherMatches({ name: 'team', op: '!=', value: '' }, labels), false);
});

test('a daily window keeps its wall-clock time across a DST change (America/New_York, 2026-03-08)', () => {
  const w = win({ time_zone: 'America/New_York' });
  // EST (UTC−5): 09:00 is 14:00Z.
  assert.equal(on(w, '2026-03-07T14:30:00Z'), true);
  assert.equal(on(w, '2026-03-07T13:30:00Z'), false);
  // EDT (UTC−4): 09:00 is 13:00Z.
  assert.equal(on(w, '2026-03-09T13:30:00Z'), true);
  assert.equal(on(w, '2026-03-09T14:30:00Z'), false);
});

test('weekly windows only on their weekdays; a window crossing midnight; the validity period', () => {
  const monday = win({ recurrence: 'weekly', weekdays: [1], time_zone: 'America/New_York' });
  assert.equal(on(monday, '2026-03-09T13:30:00Z'), true, '2026-03-09 is a Monday');
  assert.equal(on(monday, '2026-03-10T13:30:00Z'), false, 'Tuesday');
  const night = win({ start_time: '23:30', duration_minutes: 60 });
  assert.equal(on(night, '2026-02-02T00:15:00Z'), true);
  assert.equal(on(night, '2026-02-02T00:31:00Z'), false);
  const bounded = win({ starts_at: new Date('2026-02-01T00:00:00Z'), ends_at: new Date('2026-02-03T00:00:00Z') });
  assert.equal(on(bounded, '2026-01-31T09:30:00Z'), false);
  assert.equal(on(bounded, '2026-02-02T09:30:00Z'), true);
  assert.equal(on(bounded, '2026-02-03T09:30:00Z'), false);
  const once = win({ recurrence: 'none', starts_at: new Date('2026-02-01T10:00:00Z'), ends_at: new Date('2026-02-01T12:00:00Z') });
  assert.equal(on(once, '2026-02-01T11:59:59Z'), true);
  assert.equal(on(once, '2026-02-01T12:00:00Z'), false);
});

test('a start time that does not exist (spring gap) moves forward; one that exists twice (autumn fold) is the first (Europe/Berlin)', () => {
  const w = win({ start_time: '02:30', duration_minutes: 30, time_zone: 'Europe/Berlin' });
  // 2026-03-29: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist → 03:30 CEST = 01:30Z.
  assert.equal(on(w, '2026-03-29T01:40:00Z'), true);
  assert.equal(on(w, '2026-03-29T00:40:00Z'), false);
  // 2026-10-25: 03:00 CEST falls back to 02:00 CET; 02:30 happens at 00:30Z and at 01:30Z → the first.
  assert.equal(on(w, '2026-10-25T00:40:00Z'), true);
  assert.equal(on(w, '2026-10-25T01:40:00Z'), false);
});
