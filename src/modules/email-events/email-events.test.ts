/**
 * email_events through the HTTP API on every backend: all-or-nothing,
 * idempotent ingest (batches, single events, concurrent single events);
 * time-bounded, filtered, keyset-paged lists; stats over the three rollups
 * with counts, averages and p95 checked against values computed here from the
 * events themselves; the PRD's column names readable with plain SQL; and the
 * refusals (window, dimension, cursor) that change nothing.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, refreshStreamRollups } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { prng } from '../../../test/support/random.ts';

const HOUR = 3_600_000;
const DOMAINS = ['shop.example', 'news.example', 'bank.example'];
const TO_DOMAINS = ['gmail.com', 'outlook.com', 'yahoo.com', 'mail.example'];
const NODES = ['mta-1', 'mta-2'];
const IPS = ['192.0.2.10', '192.0.2.11', '2001:db8::25'];

interface Ev {
  timestamp: string;
  eventId: string;
  eventType: string;
  messageId: string;
  fromUser: string;
  fromDomain: string;
  toDomain: string;
  mtaNode: string;
  sendingIp: string;
  deliveryTimeMs: number | null;
  messageSize: number;
  dkimResult: string;
  statusCode: number;
}

function uuid(n: number): string {
  const h = n.toString(16).padStart(12, '0');
  return `00000000-0000-4000-8000-${h}`;
}

/** `n` events spread over [from, from + span), deterministic. */
function events(n: number, from: number, span: number, seed: number, idBase = 0): Ev[] {
  const rnd = prng(seed);
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const r = rnd();
    const type = r < 0.8 ? 'delivered' : r < 0.9 ? 'bounced' : 'deferred';
    const t = from + Math.floor((i * span) / n);
    out.push({
      timestamp: new Date(t).toISOString(),
      eventId: uuid(idBase + i + 1),
      eventType: type,
      messageId: `<m${idBase + i}.${seed}+tag@${DOMAINS[i % 3]}>`,
      fromUser: `user${i % 5}`,
      fromDomain: DOMAINS[i % 3]!,
      toDomain: TO_DOMAINS[Math.floor(rnd() * 4)]!,
      mtaNode: NODES[i % 2]!,
      sendingIp: IPS[Math.floor(rnd() * 3)]!,
      // a long tail: most deliveries 100–900 ms, some several seconds; deferrals have no time
      deliveryTimeMs: type === 'deferred' ? null : Math.floor(rnd() < 0.9 ? 100 + rnd() * 800 : 2000 + rnd() * 20000),
      messageSize: 1000 + Math.floor(rnd() * 50_000),
      dkimResult: rnd() < 0.7 ? 'pass' : 'fail',
      statusCode: type === 'delivered' ? 250 : type === 'bounced' ? 550 : 421,
    });
  }
  return out;
}

/** Nearest-rank quantile of the values, computed here independently of Opsdeck. */
function nearestRank(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(1, Math.ceil(q * s.length)) - 1]!;
}

const floorHour = (t: number) => Math.floor(t / HOUR) * HOUR;

forEachBackend('email_events over HTTP', (kind) => {
  let rt: TestRuntime;
  let op: string;
  let viewer: string;
  const now = Date.now();
  // three whole hours ending 10 minutes ago (hour-aligned)
  const end = floorHour(now - 10 * 60_000);
  const start = end - 3 * HOUR;
  const evs = events(600, start, 3 * HOUR, 42);

  const post = (body: unknown, auth = op) => rt.app.inject({ method: 'POST', url: '/api/v1/events/email', headers: { authorization: auth }, payload: body as object });
  const get = (url: string, auth = viewer) => rt.app.inject({ method: 'GET', url, headers: { authorization: auth } });
  const count = async () => (await rt.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM email_events'))!.n;
  const window = `from=${new Date(start).toISOString()}&to=${new Date(end).toISOString()}`;

  before(async () => {
    rt = await buildTestRuntime(kind);
    op = await loginAs(rt, 'operator');
    viewer = await loginAs(rt, 'viewer');
  });
  after(async () => {
    await rt.destroy();
  });

  test('a batch is stored whole; the same batch again stores nothing', async () => {
    const a = await post(evs);
    assert.equal(a.statusCode, 200, a.body);
    assert.deepEqual(a.json(), { stream: 'email', received: 600, inserted: 600, duplicates: 0 });
    const b = await post(evs);
    assert.deepEqual(b.json(), { stream: 'email', received: 600, inserted: 0, duplicates: 600 });
    assert.equal(await count(), 600);
  });

  test('an invalid event refuses the whole batch with its index and field path, and stores nothing', async () => {
    const fresh = events(5, end - HOUR, HOUR, 7, 10_000);
    const bad = [...fresh.slice(0, 3), { ...fresh[3]!, sendingIp: '999.1.1.1' }, { ...fresh[4]!, eventType: 'exploded' }];
    const res = await post(bad);
    assert.equal(res.statusCode, 400);
    const body = res.json() as { code: string; errors: { path: string }[] };
    assert.equal(body.code, 'VALIDATION_FAILED');
    assert.deepEqual(body.errors.map((e) => e.path).sort(), ['body.3.sendingIp', 'body.4.eventType']);
    assert.equal(await count(), 600, 'nothing of the batch was written');
    const unknownField = await post({ ...fresh[0]!, subject: 'hello' });
    assert.equal(unknownField.statusCode, 400, 'unknown fields are refused (the subject is never stored)');
  });

  test('an event without an id gets one derived from its content: sending it twice stores it once', async () => {
    const { eventId: _omit, ...noId } = events(1, end - 30 * 60_000, 1, 99, 20_000)[0]!;
    void _omit;
    const a = await post(noId);
    assert.deepEqual(a.json(), { stream: 'email', received: 1, inserted: 1, duplicates: 0 });
    const b = await post([noId]);
    assert.deepEqual(b.json(), { stream: 'email', received: 1, inserted: 0, duplicates: 1 });
    const c = await post({ ...noId, statusCode: 251 });
    assert.equal(c.json().inserted, 1, 'a different event at the same time is another event');
    await rt.db.query(`DELETE FROM email_events WHERE message_id = $1`, [noId.messageId]);
  });

  test('64 concurrent single-event requests: each answered after commit, duplicates counted once', async () => {
    const burst = events(32, end - 20 * 60_000, 60_000, 5, 30_000);
    // every event twice, concurrently
    const answers = await Promise.all([...burst, ...burst].map((e) => post(e)));
    assert.ok(answers.every((r) => r.statusCode === 200));
    const inserted = answers.reduce((s, r) => s + (r.json() as { inserted: number }).inserted, 0);
    assert.equal(inserted, 32, 'each event stored once, attributed to one request');
    const stored = await rt.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM email_events WHERE event_id = ANY($1::uuid[])`, [burst.map((e) => e.eventId)]);
    assert.equal(stored!.n, 32);
    await rt.db.query(`DELETE FROM email_events WHERE event_id = ANY($1::uuid[])`, [burst.map((e) => e.eventId)]);
  });

  test('list: newest first, filtered, every event exactly once across keyset pages', async () => {
    const expected = evs
      .filter((e) => e.fromDomain === 'bank.example')
      .sort((a, b) => (a.timestamp === b.timestamp ? (a.eventId < b.eventId ? 1 : -1) : a.timestamp < b.timestamp ? 1 : -1))
      .map((e) => e.eventId);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      // the domain is matched case-insensitively: it is stored lower-case
      const res = await get(`/api/v1/events/email?${window}&fromDomain=BANK.example&limit=37${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json() as { items: { eventId: string; fromDomain: string; sendingIp: string }[]; next?: string };
      for (const it of body.items) {
        assert.equal(it.fromDomain, 'bank.example');
        assert.ok(IPS.includes(it.sendingIp), `sending IP as written: ${it.sendingIp}`);
      }
      seen.push(...body.items.map((i) => i.eventId));
      cursor = body.next;
      pages++;
    } while (cursor && pages < 50);
    assert.deepEqual(seen, expected);
    assert.equal(pages, Math.ceil(200 / 37));
  });

  test('list: a Message-ID with angle brackets and + is a filter like any other', async () => {
    const e = evs[123]!;
    const res = await get(`/api/v1/events/email?${window}&messageId=${encodeURIComponent(e.messageId)}`);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual((res.json() as { items: { eventId: string }[] }).items.map((i) => i.eventId), [e.eventId]);
  });

  test('list and stats refuse a missing or too long window, unknown dimensions and malformed cursors', async () => {
    const cases: [string, string][] = [
      [`/api/v1/events/email`, 'VALIDATION_FAILED'],
      [`/api/v1/events/email?from=${new Date(start).toISOString()}`, 'VALIDATION_FAILED'],
      [`/api/v1/events/email?from=${new Date(now - 40 * 86_400_000).toISOString()}&to=${new Date(now).toISOString()}`, 'WINDOW_TOO_LARGE'],
      [`/api/v1/events/email?from=${new Date(end).toISOString()}&to=${new Date(start).toISOString()}`, 'INVALID_TIME_RANGE'],
      [`/api/v1/events/email?${window}&subjectHash=abc`, 'VALIDATION_FAILED'],
      [`/api/v1/events/email?${window}&bogus=1`, 'VALIDATION_FAILED'],
      [`/api/v1/events/email?${window}&cursor=not-a-cursor`, 'INVALID_CURSOR'],
      [`/api/v1/events/email?${window}&cursor=${Buffer.from(JSON.stringify({ t: 1, k: ['x'] })).toString('base64url')}`, 'INVALID_CURSOR'],
      [`/api/v1/events/email?${window}&sendingIp=not-an-ip`, 'INVALID_FILTER'],
      [`/api/v1/events/email/stats`, 'VALIDATION_FAILED'],
      [`/api/v1/events/email/stats?${window}&groupBy=messageId`, 'UNKNOWN_DIMENSION'],
      [`/api/v1/events/email/stats?${window}&resolution=5m&toDomain=gmail.com`, 'UNKNOWN_DIMENSION'],
      [`/api/v1/events/email/stats?${window}&groupBy=nope`, 'UNKNOWN_DIMENSION'],
      [`/api/v1/events/email/stats?${window}&measures=eventCount,nope`, 'UNKNOWN_MEASURE'],
      [`/api/v1/events/email/stats?from=${new Date(now - 800 * 86_400_000).toISOString()}&to=${new Date(now).toISOString()}`, 'WINDOW_TOO_LARGE'],
    ];
    for (const [url, code] of cases) {
      const res = await get(url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.equal((res.json() as { code: string }).code, code, url);
    }
    const unknown = await get(`/api/v1/events/email/stats?${window}&groupBy=nope`);
    assert.match(unknown.body, /nope/, 'the answer names the unknown dimension');
  });

  /** The hourly counts, averages and p95 per event type, computed here from the events. */
  function expectedHourly(filter: (e: Ev) => boolean = () => true) {
    const groups = new Map<string, Ev[]>();
    for (const e of evs.filter(filter)) {
      const k = `${new Date(floorHour(Date.parse(e.timestamp))).toISOString()}|${e.eventType}`;
      groups.set(k, [...(groups.get(k) ?? []), e]);
    }
    return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, list]) => {
      const times = list.map((e) => e.deliveryTimeMs).filter((t): t is number => t !== null);
      return {
        bucket: k.split('|')[0]!,
        eventType: k.split('|')[1]!,
        eventCount: list.length,
        avg: times.length ? times.reduce((s, t) => s + t, 0) / times.length : null,
        p95: times.length ? nearestRank(times, 0.95) : null,
      };
    });
  }

  async function checkHourly(stage: string) {
    const res = await get(`/api/v1/events/email/stats?${window}&resolution=1h&measures=eventCount,avgDeliveryMs,p95DeliveryMs`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { rollup: string; resolution: string; buckets: { bucket: string; eventType: string; eventCount: number; avgDeliveryMs: number | null; p95DeliveryMs: number | null }[] };
    assert.equal(body.rollup, 'email_stats_overview_1h', 'the hourly rollup with the fewest dimensions that has eventType');
    const want = expectedHourly();
    assert.deepEqual(body.buckets.map((b) => [b.bucket, b.eventType, b.eventCount]), want.map((w) => [w.bucket, w.eventType, w.eventCount]), `${stage}: counts`);
    for (let i = 0; i < want.length; i++) {
      const got = body.buckets[i]!;
      const w = want[i]!;
      if (w.avg === null) {
        assert.equal(got.avgDeliveryMs, null);
        assert.equal(got.p95DeliveryMs, null);
        continue;
      }
      assert.ok(Math.abs(got.avgDeliveryMs! - w.avg) < 1e-6, `${stage}: avg ${got.avgDeliveryMs} vs ${w.avg}`);
      // the histogram's bound: within 2^(1/16) − 1 ≈ 4.43 % of the nearest-rank p95
      assert.ok(Math.abs(got.p95DeliveryMs! - w.p95!) / w.p95! <= 0.0443, `${stage}: ${w.bucket} ${w.eventType} p95 ${got.p95DeliveryMs} vs ${w.p95}`);
    }
  }

  test('stats by hour: counts, averages and p95 per event type (nothing materialized yet)', () => checkHourly('real-time'));

  test('stats after the rollups are refreshed, and after late events into a materialized hour', async () => {
    const m = { db: rt.db, tier: rt.tier.tier, streams: rt.streams };
    await refreshStreamRollups(m, 'email');
    await checkHourly('refreshed');
    const late = events(60, start + HOUR, HOUR, 77, 50_000);
    assert.equal((await post(late)).json().inserted, 60);
    evs.push(...late);
    // The postgres tier reads invalidated buckets from the raw events at once; TimescaleDB's
    // real-time aggregates read raw rows only above the materialization watermark, so late
    // events below it appear at the next refresh of the policy (as for metric families).
    if (rt.tier.tier === 'postgres') await checkHourly('late, before refresh');
    await refreshStreamRollups(m, 'email');
    await checkHourly('late, refreshed');
  });

  test('stats merge groups exactly: a whole-window p95 from merged histograms, filters on rollup dimensions', async () => {
    // daily resolution, no grouping: one bucket per day the window touches
    const res = await get(`/api/v1/events/email/stats?${window}&resolution=5m&groupBy=&fromDomain=shop.example&mtaNode=mta-1`);
    assert.equal(res.statusCode, 200, res.body);
    const body = res.json() as { rollup: string; buckets: { bucket: string; eventCount: number; dkimPass: number; p95DeliveryMs: number | null }[] };
    assert.equal(body.rollup, 'email_stats_5m');
    const sel = evs.filter((e) => e.fromDomain === 'shop.example' && e.mtaNode === 'mta-1');
    assert.equal(body.buckets.reduce((s, b) => s + b.eventCount, 0), sel.length);
    assert.equal(body.buckets.reduce((s, b) => s + b.dkimPass, 0), sel.filter((e) => e.dkimResult === 'pass').length);
    const day = await get(`/api/v1/events/email/stats?${window}&resolution=1h&groupBy=toDomain&toDomain=gmail.com`);
    const dayBody = day.json() as { buckets: { toDomain: string; eventCount: number }[] };
    assert.equal(dayBody.buckets.reduce((s, b) => s + b.eventCount, 0), evs.filter((e) => e.toDomain === 'gmail.com').length);
    assert.ok(dayBody.buckets.every((b) => b.toDomain === 'gmail.com'));
    const defaults = await get(`/api/v1/events/email/stats?${window}&resolution=1h`);
    assert.deepEqual((defaults.json() as { measures: string[] }).measures, ['eventCount', 'avgDeliveryMs', 'avgMessageSize', 'dkimPass', 'spfPass', 'dmarcPass'], 'quantiles only on request');
    const auto = await get(`/api/v1/events/email/stats?${window}&groupBy=sendingIp`);
    const autoBody = auto.json() as { rollup: string; buckets: { sendingIp: string; eventCount: number }[] };
    assert.equal(autoBody.rollup, 'email_stats_5m', 'auto: the finest rollup grouped by sendingIp with ≤ 500 buckets');
    for (const ip of IPS) assert.equal(autoBody.buckets.filter((b) => b.sendingIp === ip).reduce((s, b) => s + b.eventCount, 0), evs.filter((e) => e.sendingIp === ip).length, ip);
    const users = await get(`/api/v1/events/email/stats?${window}&groupBy=fromUser`);
    assert.equal((users.json() as { rollup: string }).rollup, 'email_stats_daily', 'only the daily rollup has fromUser');
  });

  test('the rollups answer plain SQL under the names of the mail-cluster requirements', async () => {
    const five = await rt.db.queryOne<{ n: number; d: number }>(
      `SELECT sum(event_count)::int AS n, sum(dkim_pass)::int AS d FROM email_stats_5m WHERE bucket >= $1 AND bucket < $2 AND avg_delivery_ms >= 0 AND p95_delivery_ms >= 0 AND avg_message_size > 0 AND spf_pass >= 0 AND dmarc_pass >= 0`,
      [new Date(start).toISOString(), new Date(end).toISOString()],
    );
    const withTime = evs.filter((e) => e.deliveryTimeMs !== null);
    // groups whose events all lack a delivery time have NULL averages and are filtered out above; count the others
    assert.ok(five!.n >= withTime.length && five!.n <= evs.length);
    const hourly = await rt.db.queryOne<{ n: number }>(`SELECT sum(event_count)::int AS n FROM email_stats_1h WHERE bucket >= $1 AND bucket < $2`, [new Date(start).toISOString(), new Date(end).toISOString()]);
    assert.equal(hourly!.n, evs.length);
    const daily = await rt.db.queryMany<{ from_user: string; n: number }>(
      `SELECT from_user, sum(event_count)::int AS n FROM email_stats_daily WHERE bucket >= $1 GROUP BY from_user ORDER BY from_user`,
      [new Date(start - 86_400_000).toISOString()],
    );
    assert.deepEqual(daily.map((d) => d.from_user), ['user0', 'user1', 'user2', 'user3', 'user4']);
    assert.equal(daily.reduce((s, d) => s + d.n, 0), evs.length);
  });

  test('a viewer may read but not ingest', async () => {
    const res = await post(events(1, end - HOUR, 1, 3, 60_000), viewer);
    assert.equal(res.statusCode, 403);
  });

  test('a complaint (feedback-loop report) is an event type the database accepts; other types are still refused', async () => {
    const at = new Date(end + 60_000).toISOString();
    const complaint = { eventType: 'complaint', timestamp: at, messageId: '<fbl-1@shop.example>', fromAddress: 'user1@shop.example', toAddress: 'someone@gmail.com', toDomain: 'gmail.com', mtaNode: 'mta-1', sendingIp: '192.0.2.10' };
    const res = await post([complaint]);
    assert.equal(res.statusCode, 200, res.body);
    const row = await rt.db.queryOne<{ event_type: string; to_domain: string }>("SELECT event_type, to_domain FROM email_events WHERE message_id = '<fbl-1@shop.example>'");
    assert.deepEqual(row, { event_type: 'complaint', to_domain: 'gmail.com' });
    // The database itself refuses a type outside the list (the CHECK follows the declaration).
    await assert.rejects(rt.db.query("INSERT INTO email_events (time, event_id, event_type) VALUES (now(), gen_random_uuid(), 'spam')"));
  });
});
