/**
 * Mail delivery analytics over HTTP on every backend: twelve email events written out by
 * hand below (two hours, two nodes, two sending IPs, four recipient domains), and every
 * expected figure computed by hand from that table in the comments next to it — outcome
 * counts and rates over time and per group, top bouncing domains, SMTP code classes,
 * enhanced status codes and categories, the trace of one message across nodes, the
 * destinations with their p95 delivery times — plus the refusals of bad input.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, refreshStreamRollups } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { ManualClock } from '../../domain/clock.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
/** The histogram's bound on a quantile read from the rollups (ADR 0008): 2^(1/16) − 1. */
const HIST_ERROR = 0.0443;

const GMAIL_MX = 'gmail-smtp-in.l.google.com';
const GMAIL_ALT = 'alt1.gmail-smtp-in.l.google.com';
const OUTLOOK_MX = 'outlook-com.olc.protection.outlook.com';
const YAHOO_MX = 'mta5.am0.yahoodns.net';

function uuid(n: number): string {
  return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
}

/** The events, minute offsets from the first hour H. */
function eventsFrom(h: number) {
  const e = (n: number, minute: number, eventType: string, messageId: string, mtaNode: string, toDomain: string, more: Record<string, unknown> = {}) => ({
    timestamp: new Date(h + minute * MIN).toISOString(),
    eventId: uuid(n),
    eventType,
    messageId,
    mtaNode,
    fromDomain: messageId.includes('@shop.') ? 'shop.example' : 'news.example',
    fromUser: 'sender',
    toDomain,
    ...more,
  });
  const ip10 = { sendingIp: '192.0.2.10' };
  const ip11 = { sendingIp: '192.0.2.11' };
  return [
    e(1, 5, 'delivered', '<a1@shop.example>', 'mta-1', 'gmail.com', { ...ip10, mxHost: GMAIL_MX, statusCode: 250, statusMessage: '250 2.0.0 OK', deliveryTimeMs: 100 }),
    e(2, 6, 'delivered', '<a2@shop.example>', 'mta-1', 'gmail.com', { ...ip10, mxHost: GMAIL_MX, statusCode: 250, statusMessage: '250 2.0.0 OK', deliveryTimeMs: 200 }),
    e(3, 7, 'delivered', '<a3@shop.example>', 'mta-2', 'gmail.com', { ...ip11, mxHost: GMAIL_ALT, statusCode: 250, statusMessage: '250 2.0.0 OK', deliveryTimeMs: 300 }),
    e(4, 8, 'bounced', '<a4@shop.example>', 'mta-2', 'gmail.com', { ...ip11, mxHost: GMAIL_MX, statusCode: 550, statusMessage: '550 5.1.1 The email account that you tried to reach does not exist', bounceType: 'hard', bounceCategory: 'user_unknown' }),
    e(5, 10, 'deferred', '<t1@news.example>', 'mta-1', 'outlook.com', { ...ip10, mxHost: OUTLOOK_MX, statusCode: 421, statusMessage: '421 4.7.0 Try again later', bounceType: 'soft', bounceCategory: 'rate_limit' }),
    e(6, 70, 'delivered', '<t1@news.example>', 'mta-2', 'outlook.com', { ...ip11, mxHost: OUTLOOK_MX, statusCode: 250, statusMessage: '250 2.6.0 Queued mail for delivery', deliveryTimeMs: 5000 }),
    e(7, 1, 'sent', '<t1@news.example>', 'mta-1', 'outlook.com', { queueId: '18f2a1b2c3d000a1b2' }),
    e(8, 75, 'bounced', '<b1@news.example>', 'mta-1', 'yahoo.com', { ...ip10, mxHost: YAHOO_MX, statusCode: 554, statusMessage: '554 5.7.9 Message not accepted for policy reasons', bounceType: 'hard', bounceCategory: 'policy' }),
    e(9, 80, 'rejected', '<b2@news.example>', 'mta-2', 'yahoo.com', { ...ip11, statusCode: 550, statusMessage: '550 5.7.1 Service unavailable; client host blocked', bounceCategory: 'blacklist' }),
    e(10, 85, 'delivered', '<b3@news.example>', 'mta-2', 'yahoo.com', { ...ip11, mxHost: YAHOO_MX, statusCode: 250, statusMessage: '250 ok dirdel', deliveryTimeMs: 400 }),
    e(11, 90, 'received', '<r1@ext.example>', 'mta-1', 'shop.example', { fromDomain: 'ext.example' }),
    e(12, 95, 'deferred', '<b4@news.example>', 'mta-1', 'outlook.com', { ...ip10, mxHost: OUTLOOK_MX, statusCode: 451, statusMessage: '451 4.4.1 Connection timed out', bounceType: 'soft', bounceCategory: 'network' }),
  ];
}

/** Event times are answered with microseconds, as the event lists do. */
const micros = (t: number) => new Date(t).toISOString().replace(/Z$/, '000Z');

const near = (got: number | null, want: number, what: string) => {
  assert.ok(got !== null && Math.abs(got - want) / want <= HIST_ERROR, `${what}: ${got} vs ${want}`);
};

forEachBackend('mail analytics over HTTP', (kind) => {
  let rt: TestRuntime;
  let viewer: string;
  // three whole hours ending at least 10 minutes ago; the events fill the first two
  const end = Math.floor((Date.now() - 10 * MIN) / HOUR) * HOUR;
  const h = end - 3 * HOUR;
  const clock = new ManualClock(end);
  const window = `from=${new Date(h).toISOString()}&to=${new Date(end).toISOString()}`;
  const get = async (url: string) => {
    const res = await rt.app.inject({ method: 'GET', url, headers: { authorization: viewer } });
    return { status: res.statusCode, body: res.json() as Record<string, unknown> & { code?: string; errors?: { path: string }[] }, text: res.body };
  };

  before(async () => {
    rt = await buildTestRuntime(kind, {}, { clock });
    viewer = await loginAs(rt, 'viewer');
    const op = await loginAs(rt, 'operator');
    const res = await rt.app.inject({ method: 'POST', url: '/api/v1/events/email', headers: { authorization: op }, payload: eventsFrom(h) });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.json().inserted, 12);
    await refreshStreamRollups({ db: rt.db, tier: rt.tier.tier, streams: rt.streams }, 'email');
  });
  after(async () => {
    await rt.destroy();
  });

  test('stats: outcome counts and rates per hour, and with a node filter', async () => {
    const r = await get(`/api/v1/email/stats?${window}&resolution=1h`);
    assert.equal(r.status, 200, r.text);
    const pick = (b: Record<string, unknown>) => [b.bucket, b.events, b.sent, b.received, b.delivered, b.bounced, b.deferred, b.rejected, b.outcomes, b.deliveredRate, b.bouncedRate, b.deferredRate, b.rejectedRate];
    // hour H: events 1,2,3 delivered, 4 bounced, 5 deferred, 7 sent → 6 events, 5 outcomes
    // hour H+1: 6,10 delivered, 8 bounced, 9 rejected, 12 deferred, 11 received → 6 events, 5 outcomes
    assert.deepEqual((r.body.buckets as Record<string, unknown>[]).map(pick), [
      [new Date(h).toISOString(), 6, 1, 0, 3, 1, 1, 0, 5, 0.6, 0.2, 0.2, 0],
      [new Date(h + HOUR).toISOString(), 6, 0, 1, 2, 1, 1, 1, 5, 0.4, 0.2, 0.2, 0.2],
    ]);
    // the default window is the 24 hours before the clock's now: the same events, one bucket per hour
    const dflt = await get(`/api/v1/email/stats?resolution=1h`);
    assert.equal((dflt.body.buckets as unknown[]).length, 2);
    // mta-2: events 3, 6, 10 delivered, 4 bounced, 9 rejected
    const node = await get(`/api/v1/email/stats?${window}&resolution=1d&mtaNode=mta-2`);
    assert.equal(node.status, 200, node.text);
    const totals = (node.body.buckets as Record<string, number>[]).reduce((s, b) => [s[0]! + b.events!, s[1]! + b.delivered!, s[2]! + b.bounced!, s[3]! + b.rejected!], [0, 0, 0, 0]);
    assert.deepEqual(totals, [5, 3, 1, 1]);
  });

  test('breakdown per sending IP and per node over the whole window', async () => {
    const r = await get(`/api/v1/email/breakdown?${window}&by=sendingIp&sort=deferred`);
    assert.equal(r.status, 200, r.text);
    // .10: 1, 2 delivered, 8 bounced, 5 and 12 deferred; .11: 3, 6, 10 delivered, 4 bounced, 9 rejected
    const ips = (r.body.items as Record<string, unknown>[]).map((i) => [i.sendingIp, i.events, i.delivered, i.bounced, i.deferred, i.rejected, i.deliveredRate]);
    assert.deepEqual(ips, [
      ['192.0.2.10', 5, 2, 1, 2, 0, 0.4],
      ['192.0.2.11', 5, 3, 1, 0, 1, 0.6],
    ]);
    const nodes = await get(`/api/v1/email/breakdown?${window}&by=mtaNode`);
    // mta-1: 1, 2, 5, 7, 8, 11, 12; mta-2: 3, 4, 6, 9, 10
    assert.deepEqual((nodes.body.items as Record<string, unknown>[]).map((i) => [i.mtaNode, i.events, i.sent, i.received, i.outcomes]), [
      ['mta-1', 7, 1, 1, 5],
      ['mta-2', 5, 0, 0, 5],
    ]);
    const domains = await get(`/api/v1/email/breakdown?${window}&by=fromDomain&limit=1`);
    // news.example: 5–10 and 12 = 7 events; shop.example 4; ext.example 1
    assert.deepEqual((domains.body.items as Record<string, unknown>[]).map((i) => [i.fromDomain, i.events]), [['news.example', 7]]);
    assert.equal(domains.body.total, 3);
  });

  test('bounce analysis: top bouncing domains, SMTP code classes, enhanced status codes, categories', async () => {
    const r = await get(`/api/v1/email/bounce-analysis?${window}`);
    assert.equal(r.status, 200, r.text);
    // gmail.com: 1 bounce of 4 outcomes; yahoo.com: 1 of 3; outlook.com none
    assert.deepEqual(r.body.topDomains, [
      { toDomain: 'gmail.com', bounced: 1, outcomes: 4, bouncedRate: 0.25 },
      { toDomain: 'yahoo.com', bounced: 1, outcomes: 3, bouncedRate: 0.333333 },
    ]);
    // failed events: 4 (550 5.1.1), 8 (554 5.7.9), 9 (550 5.7.1, rejected), 5 (421 4.7.0), 12 (451 4.4.1)
    assert.deepEqual(r.body.byCodeClass, [
      { codeClass: '5xx', bounced: 2, deferred: 0, rejected: 1, total: 3 },
      { codeClass: '4xx', bounced: 0, deferred: 2, rejected: 0, total: 2 },
    ]);
    assert.deepEqual((r.body.byEnhancedStatus as Record<string, unknown>[]).map((g) => [g.enhancedStatus, g.statusClass, g.total]), [
      ['4.4.1', '4.x.x', 1],
      ['4.7.0', '4.x.x', 1],
      ['5.1.1', '5.x.x', 1],
      ['5.7.1', '5.x.x', 1],
      ['5.7.9', '5.x.x', 1],
    ]);
    assert.deepEqual((r.body.byCategory as Record<string, unknown>[]).map((g) => [g.bounceCategory, g.bounced, g.deferred, g.rejected]), [
      ['blacklist', 0, 0, 1],
      ['network', 0, 1, 0],
      ['policy', 1, 0, 0],
      ['rate_limit', 0, 1, 0],
      ['user_unknown', 1, 0, 0],
    ]);
  });

  test('bounce analysis filtered by a dimension the failure rollups lack (sender domain): the same groups from the raw events', async () => {
    const r = await get(`/api/v1/email/bounce-analysis?${window}&fromDomain=news.example`);
    assert.equal(r.status, 200, r.text);
    // news.example's failed events: 5 (421, deferred, rate_limit), 12 (451, deferred, network), 8 (554, bounced, policy), 9 (550, rejected, blacklist)
    assert.deepEqual(r.body.byCodeClass, [
      { codeClass: '4xx', bounced: 0, deferred: 2, rejected: 0, total: 2 },
      { codeClass: '5xx', bounced: 1, deferred: 0, rejected: 1, total: 2 },
    ]);
    assert.deepEqual((r.body.byCategory as Record<string, unknown>[]).map((g) => [g.bounceCategory, g.total]), [
      ['blacklist', 1],
      ['network', 1],
      ['policy', 1],
      ['rate_limit', 1],
    ]);
    assert.deepEqual((r.body.byEnhancedStatus as Record<string, unknown>[]).map((g) => [g.enhancedStatus, g.statusClass, g.total]), [
      ['4.4.1', '4.x.x', 1],
      ['4.7.0', '4.x.x', 1],
      ['5.7.1', '5.x.x', 1],
      ['5.7.9', '5.x.x', 1],
    ]);
    // a reply code is a filter of the failure rollups, but the top bouncing domains come from the
    // recipient-domain rollups, which do not keep it: refused, naming the filter
    const only550 = await get(`/api/v1/email/bounce-analysis?${window}&statusCode=550`);
    assert.equal(only550.status, 400, only550.text);
    assert.equal(only550.body.code, 'UNKNOWN_DIMENSION');
    assert.ok(only550.body.errors?.some((e) => e.path.endsWith('statusCode')), JSON.stringify(only550.body.errors));
  });

  test('trace: every event of one Message-ID across nodes, oldest first, with the SMTP replies', async () => {
    const id = encodeURIComponent('<t1@news.example>');
    const r = await get(`/api/v1/email/trace/${id}`);
    assert.equal(r.status, 200, r.text);
    // 7 sent on mta-1 at +1 min, 5 deferred on mta-1 at +10, 6 delivered on mta-2 at +70
    assert.deepEqual((r.body.events as Record<string, unknown>[]).map((e) => [e.timestamp, e.eventType, e.mtaNode, e.statusCode, e.statusMessage, e.mxHost, e.sendingIp]), [
      [micros(h + MIN), 'sent', 'mta-1', null, null, null, null],
      [micros(h + 10 * MIN), 'deferred', 'mta-1', 421, '421 4.7.0 Try again later', OUTLOOK_MX, '192.0.2.10'],
      [micros(h + 70 * MIN), 'delivered', 'mta-2', 250, '250 2.6.0 Queued mail for delivery', OUTLOOK_MX, '192.0.2.11'],
    ]);
    assert.deepEqual(r.body.nodes, ['mta-1', 'mta-2']);
    const bounded = await get(`/api/v1/email/trace/${id}?from=${new Date(h + 5 * MIN).toISOString()}&to=${new Date(h + 60 * MIN).toISOString()}`);
    assert.deepEqual((bounded.body.events as Record<string, unknown>[]).map((e) => e.eventId), [uuid(5)]);
    const none = await get(`/api/v1/email/trace/${encodeURIComponent('<nobody@news.example>')}`);
    assert.deepEqual(none.body.events, []);
  });

  test('the destination-detail rollups are read only for questions about recipient domains', async () => {
    const q = { from: new Date(h), to: new Date(end), measures: ['eventCount'], collapse: true } as const;
    // reply codes of every domain: the failure rollup, although the reply-code detail rollup has fewer dimensions
    const all = await rt.streams.stats('email', { ...q, groupBy: ['statusCode', 'eventType'] });
    assert.match(all.rollup, /^email_stats_failure_1[hd]$/);
    // of one domain: the detail rollup, and the counts agree with the events (gmail.com: 250 × 3, 550 × 1)
    const one = await rt.streams.stats('email', { ...q, groupBy: ['statusCode', 'eventType'], filters: { toDomain: ['gmail.com'] } });
    assert.match(one.rollup, /^email_stats_dest_code_1[hd]$/);
    assert.deepEqual(one.buckets.map((b) => [b.statusCode, b.eventType, Number(b.eventCount)]), [
      [250, 'delivered', 3],
      [550, 'bounced', 1],
    ]);
    // one domain's totals still come from a recipient-domain rollup (fewer dimensions): the counts-only
    // twin for counts, the twin with histograms for a p95, and that one too when no measure is named
    const totals = await rt.streams.stats('email', { ...q, groupBy: ['toDomain', 'eventType'], filters: { toDomain: ['gmail.com'] } });
    assert.match(totals.rollup, /^email_stats_destination_count_1[hd]$/);
    assert.deepEqual(totals.buckets.map((b) => [b.toDomain, b.eventType, Number(b.eventCount)]), [
      ['gmail.com', 'bounced', 1],
      ['gmail.com', 'delivered', 3],
    ]);
    const p95 = await rt.streams.stats('email', { ...q, measures: ['eventCount', 'p95DeliveryMs'], groupBy: ['toDomain'], filters: { toDomain: ['gmail.com'] } });
    assert.match(p95.rollup, /^email_stats_destination_1[hd]$/);
    const { measures: _m, ...unnamed } = q;
    const all3 = await rt.streams.stats('email', { ...unnamed, groupBy: ['toDomain'], filters: { toDomain: ['gmail.com'] } });
    assert.match(all3.rollup, /^email_stats_destination_1[hd]$/);
    assert.deepEqual(all3.measures, ['eventCount', 'avgDeliveryMs']);
  });

  test('destinations: rates and p95 delivery time per recipient domain, per MX host, and one domain in detail', async () => {
    const r = await get(`/api/v1/destinations?${window}`);
    assert.equal(r.status, 200, r.text);
    const items = r.body.items as Record<string, unknown>[];
    // gmail.com 1–4; outlook.com 5, 6, 7, 12; yahoo.com 8–10; shop.example 11
    assert.deepEqual(items.map((i) => [i.toDomain, i.events, i.delivered, i.bounced, i.deferred, i.rejected, i.deliveredRate]), [
      ['gmail.com', 4, 3, 1, 0, 0, 0.75],
      ['outlook.com', 4, 1, 0, 2, 0, 0.333333],
      ['yahoo.com', 3, 1, 1, 0, 1, 0.333333],
      ['shop.example', 1, 0, 0, 0, 0, null],
    ]);
    // nearest-rank p95 of the delivered times: gmail [100, 200, 300] → 300; outlook [5000]; yahoo [400]
    near(items[0]!.p95DeliveryMs as number, 300, 'gmail.com p95');
    near(items[1]!.p95DeliveryMs as number, 5000, 'outlook.com p95');
    near(items[2]!.p95DeliveryMs as number, 400, 'yahoo.com p95');
    assert.equal(items[3]!.p95DeliveryMs, null);

    const mx = await get(`/api/v1/destinations/mx-hosts?${window}`);
    assert.equal(mx.status, 200, mx.text);
    // from the MX-host rollups: counts exact, p95 from merged histograms (within the bound)
    const mxItems = mx.body.items as Record<string, unknown>[];
    assert.deepEqual(mxItems.map((i) => [i.mxHost, i.events, i.delivered, i.bounced, i.deferred]), [
      [GMAIL_MX, 3, 2, 1, 0],
      [OUTLOOK_MX, 3, 1, 0, 2],
      [YAHOO_MX, 2, 1, 1, 0],
      [GMAIL_ALT, 1, 1, 0, 0],
    ]);
    [200, 5000, 400, 300].forEach((want, i) => near(mxItems[i]!.p95DeliveryMs as number, want, `${String(mxItems[i]!.mxHost)} p95`));
    // filtered by a dimension the MX-host rollups lack (sender domain): from the raw events, exact p95
    // news.example: 5, 12 deferred and 6 delivered (5000 ms) via outlook; 8 bounced and 10 delivered (400 ms) via yahoo
    const mxNews = await get(`/api/v1/destinations/mx-hosts?${window}&fromDomain=news.example`);
    assert.equal(mxNews.status, 200, mxNews.text);
    assert.deepEqual((mxNews.body.items as Record<string, unknown>[]).map((i) => [i.mxHost, i.events, i.delivered, i.bounced, i.deferred, i.p95DeliveryMs]), [
      [OUTLOOK_MX, 3, 1, 0, 2, 5000],
      [YAHOO_MX, 2, 1, 1, 0, 400],
    ]);

    const one = await get(`/api/v1/destinations/GMAIL.com?${window}`);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.body.toDomain, 'gmail.com');
    assert.equal((one.body.summary as Record<string, unknown>).events, 4);
    // from the destination-detail rollups: counts exact, p95 from merged histograms (within the bound)
    const codes = one.body.byStatusCode as Record<string, unknown>[];
    assert.deepEqual(codes.map((g) => [g.statusCode, g.events, g.delivered, g.bounced]), [
      [250, 3, 3, 0],
      [550, 1, 0, 1],
    ]);
    near(codes[0]!.p95DeliveryMs as number, 300, '250 p95');
    assert.equal(codes[1]!.p95DeliveryMs, null);
    const mxs = one.body.byMxHost as Record<string, unknown>[];
    assert.deepEqual(mxs.map((g) => [g.mxHost, g.events]), [
      [GMAIL_MX, 3],
      [GMAIL_ALT, 1],
    ]);
    near(mxs[0]!.p95DeliveryMs as number, 200, 'gmail MX p95');
    near(mxs[1]!.p95DeliveryMs as number, 300, 'gmail alt MX p95');
    const ips = one.body.bySendingIp as Record<string, unknown>[];
    assert.deepEqual(ips.map((g) => [g.sendingIp, g.delivered, g.bounced]), [
      ['192.0.2.10', 2, 0],
      ['192.0.2.11', 1, 1],
    ]);
    near(ips[0]!.p95DeliveryMs as number, 200, '192.0.2.10 p95');
    near(ips[1]!.p95DeliveryMs as number, 300, '192.0.2.11 p95');
    // filtered by a dimension those rollups lack (node): from the raw events, exact p95
    // mta-1's gmail.com events: 1 and 2, delivered (100, 200 ms) from 192.0.2.10 via GMAIL_MX
    const oneNode = await get(`/api/v1/destinations/gmail.com?${window}&mtaNode=mta-1`);
    assert.equal(oneNode.status, 200, oneNode.text);
    assert.deepEqual((oneNode.body.byStatusCode as Record<string, unknown>[]).map((g) => [g.statusCode, g.events, g.p95DeliveryMs]), [[250, 2, 200]]);
    assert.deepEqual((oneNode.body.byMxHost as Record<string, unknown>[]).map((g) => [g.mxHost, g.events, g.p95DeliveryMs]), [[GMAIL_MX, 2, 200]]);
    assert.deepEqual((oneNode.body.bySendingIp as Record<string, unknown>[]).map((g) => [g.sendingIp, g.events, g.p95DeliveryMs]), [['192.0.2.10', 2, 200]]);
    const absent = await get(`/api/v1/destinations/nowhere.example?${window}`);
    assert.equal(absent.status, 404);
  });

  test('stats with collapse: one row per group for the whole window, p95 from the histograms merged over hours', async () => {
    const q = { from: new Date(h), to: new Date(end), resolution: '1h' as const, groupBy: ['toDomain'], measures: ['eventCount', 'p95DeliveryMs'] };
    // outlook.com has events in both hours (5, 7 in H; 6, 12 in H+1): two hourly buckets, one collapsed row
    const hourly = await rt.streams.stats('email', { ...q, filters: { toDomain: ['outlook.com'] } });
    assert.deepEqual(hourly.buckets.map((b) => [b.bucket, b.eventCount]), [
      [new Date(h).toISOString(), 2],
      [new Date(h + HOUR).toISOString(), 2],
    ]);
    const whole = await rt.streams.stats('email', { ...q, collapse: true });
    assert.deepEqual(whole.buckets.map((b) => [b.bucket, b.toDomain, b.eventCount]), [
      [new Date(h).toISOString(), 'gmail.com', 4],
      [new Date(h).toISOString(), 'outlook.com', 4],
      [new Date(h).toISOString(), 'shop.example', 1],
      [new Date(h).toISOString(), 'yahoo.com', 3],
    ]);
    // all delivered times of the window, across both hours: [100, 200, 300, 5000, 400] → nearest-rank p95 5000
    const all = await rt.streams.stats('email', { ...q, groupBy: [], filters: { eventType: ['delivered'] }, collapse: true });
    assert.equal(all.buckets.length, 1);
    near(all.buckets[0]!.p95DeliveryMs as number, 5000, 'p95 over the window');
    const none = await rt.streams.stats('email', { ...q, from: new Date(end - 86_400_000 * 20), to: new Date(end - 86_400_000 * 19), groupBy: [], collapse: true });
    assert.deepEqual(none.buckets, [], 'no events: no row');
  });

  test('bad input: a malformed Message-ID, an end before the start, unknown or invalid filters → 400 naming the field', async () => {
    const cases: [string, string, string][] = [
      ['/api/v1/email/trace/not%20a%20message-id', 'VALIDATION_FAILED', 'params.messageId'],
      ['/api/v1/email/trace/%3Cno-at-sign%3E', 'VALIDATION_FAILED', 'params.messageId'],
      [`/api/v1/email/trace/%3Ca%40b%3E?from=${new Date(end).toISOString()}&to=${new Date(h).toISOString()}`, 'VALIDATION_FAILED', 'querystring.to'],
      [`/api/v1/email/stats?from=${new Date(end).toISOString()}&to=${new Date(h).toISOString()}`, 'VALIDATION_FAILED', 'querystring.to'],
      [`/api/v1/email/stats?${window}&queueId=18f2a1b2c3d000a1b2`, 'VALIDATION_FAILED', 'querystring.queueId'],
      [`/api/v1/email/breakdown?${window}&by=sendingIp&bogus=1`, 'VALIDATION_FAILED', 'querystring.bogus'],
      [`/api/v1/email/stats?${window}&sendingIp=999.0.0.1`, 'VALIDATION_FAILED', 'querystring.sendingIp'],
      [`/api/v1/email/breakdown?${window}&by=messageId`, 'VALIDATION_FAILED', 'querystring.by'],
      [`/api/v1/destinations/not_a_domain!`, 'VALIDATION_FAILED', 'params.domain'],
    ];
    for (const [url, code, path] of cases) {
      const r = await get(url);
      assert.equal(r.status, 400, `${url}: ${r.text}`);
      assert.equal(r.body.code, code, url);
      assert.ok(r.body.errors?.some((e) => e.path === path), `${url}: ${JSON.stringify(r.body.errors)}`);
    }
    const long = await get(`/api/v1/email/bounce-analysis?from=${new Date(end - 40 * 86_400_000).toISOString()}&to=${new Date(end).toISOString()}`);
    assert.equal(long.status, 400, long.text);
    assert.equal(long.body.code, 'WINDOW_TOO_LARGE');
  });
});
