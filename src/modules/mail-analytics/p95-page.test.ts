/**
 * The p95 delivery time of a page of many groups (merged in two halves of the page, side by
 * side, from P95_SPLIT_GROUPS groups on) is each group's own: 25 recipient domains written
 * out below, domain k with deliveries of 100·k and 1000·k ms and one bounce, so its p95 (the
 * nearest rank of two values) is 1000·k ms — on every backend.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, refreshStreamRollups } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { ManualClock } from '../../domain/clock.ts';
import { P95_SPLIT_GROUPS } from './service.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The histogram's bound on a quantile read from the rollups (ADR 0008): 2^(1/16) − 1. */
const HIST_ERROR = 0.0443;
const DOMAINS = 25;

forEachBackend('mail analytics: the p95 of a page of 25 domains', (kind) => {
  let rt: TestRuntime;
  let viewer: string;
  const end = Math.floor((Date.now() - 10 * MIN) / HOUR) * HOUR;
  const h = end - 2 * HOUR;
  const window = `from=${new Date(h).toISOString()}&to=${new Date(end).toISOString()}`;

  before(async () => {
    rt = await buildTestRuntime(kind, {}, { clock: new ManualClock(end) });
    viewer = await loginAs(rt, 'viewer');
    const op = await loginAs(rt, 'operator');
    const events = [];
    let n = 0;
    for (let k = 1; k <= DOMAINS; k++) {
      const toDomain = `d${String(k).padStart(2, '0')}.example`;
      const e = (eventType: string, more: Record<string, unknown>) => ({
        timestamp: new Date(h + (++n % 110) * MIN).toISOString(),
        eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
        eventType,
        messageId: `<m${n}@shop.example>`,
        mtaNode: 'mta-1',
        fromDomain: 'shop.example',
        toDomain,
        ...more,
      });
      events.push(e('delivered', { deliveryTimeMs: 100 * k, statusCode: 250 }), e('delivered', { deliveryTimeMs: 1000 * k, statusCode: 250 }), e('bounced', { statusCode: 550 }));
    }
    const res = await rt.app.inject({ method: 'POST', url: '/api/v1/events/email', headers: { authorization: op }, payload: events });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().inserted, DOMAINS * 3);
    await refreshStreamRollups({ db: rt.db, tier: rt.tier.tier, streams: rt.streams }, 'email');
  });
  after(async () => {
    await rt.destroy();
  });

  test('every domain of the page has its own p95, whether the page is merged whole or in halves', async () => {
    assert.ok(DOMAINS >= P95_SPLIT_GROUPS, 'the page is large enough to be split');
    for (const limit of [DOMAINS, P95_SPLIT_GROUPS - 1]) {
      const res = await rt.app.inject({ method: 'GET', url: `/api/v1/destinations?${window}&limit=${limit}`, headers: { authorization: viewer } });
      assert.equal(res.statusCode, 200, res.body);
      const items = res.json().items as { toDomain: string; delivered: number; bounced: number; p95DeliveryMs: number | null }[];
      assert.equal(items.length, limit);
      for (const i of items) {
        const k = Number(/^d(\d+)\./.exec(i.toDomain)![1]);
        assert.deepEqual([i.delivered, i.bounced], [2, 1], i.toDomain);
        assert.ok(i.p95DeliveryMs !== null && Math.abs(i.p95DeliveryMs - 1000 * k) / (1000 * k) <= HIST_ERROR, `${i.toDomain}: p95 ${i.p95DeliveryMs} vs ${1000 * k}`);
      }
    }
  });
});
