/**
 * The enhanced status code Opsdeck reads from an SMTP reply (email_events.enhanced_status):
 * the ingest rule (TypeScript) and the backfill rule (SQL, run by the migration that added the
 * column) give the same answers — hand-written cases run through both on every backend — the
 * column is filled at ingest unless the sender gives it, and an event without an id keeps the
 * id it had before the column existed (computed by the previous release).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { ENHANCED_STATUS_SQL, emailEvents, enhancedStatusOf } from './stream.ts';
import { prepareEvents, streamEventSchema } from '../../timeseries/stream-ingest.ts';

/** [status message, bounce message, enhanced status] */
const CASES: [string | null, string | null, string | null][] = [
  ['550 5.1.1 The email account that you tried to reach does not exist', null, '5.1.1'],
  ['250 2.0.0 OK  1764500000 a1si1234567wrb.12 - gsmtp', null, '2.0.0'],
  ['421 4.7.0 Try again later, closing connection', null, '4.7.0'],
  ['550-5.7.26 Unauthenticated email from example.com is not accepted', null, '5.7.26'],
  [null, '5.2.2 mailbox full', '5.2.2'],
  ['250 ok dirdel', '5.1.1 ignored: the reply is read first', null],
  ['Server version 1.2.3 ready', null, null], // class 1 is not a class
  ['554 IP 192.5.1.1 blocked', null, null], // part of an address
  ['451 4.7.1000 too long', null, null], // a detail of four digits
  ['', '5.1.1 x', null], // an empty reply is a reply
  [null, null, null],
];

test('the ingest rule reads the code of each reply', () => {
  for (const [statusMessage, bounceMessage, want] of CASES) assert.equal(enhancedStatusOf({ statusMessage, bounceMessage }), want, `${statusMessage} | ${bounceMessage}`);
});

test('an event without an id keeps the id the release before the column derived for it', () => {
  const golden = { timestamp: '2026-11-20T10:00:00.123456Z', eventType: 'bounced', messageId: '<g1@shop.example>', toDomain: 'Example.NET', mtaNode: 'mta-1', sendingIp: '192.0.2.10', statusCode: 550, statusMessage: '550 5.1.1 The email account that you tried to reach does not exist', bounceType: 'hard', bounceCategory: 'user_unknown' };
  const b = prepareEvents(emailEvents, streamEventSchema(emailEvents), [golden], { now: Date.parse('2026-11-21T00:00:00Z') });
  const at = (name: string) => b.arrays[emailEvents.columns.findIndex((c) => c.name === name) + 1]![0];
  assert.equal(at('enhanced_status'), '5.1.1');
  // computed by the code of the release before enhanced_status existed, for this event
  assert.equal(at('event_id'), 'd4d7694e-7033-80fd-962f-598532c87cbc');
});

forEachBackend('enhanced status codes of email events', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('the SQL rule of the migration gives the same code as the ingest rule', async () => {
    const rows = await m.db.queryMany<{ i: number; v: string | null }>(
      `SELECT i, ${ENHANCED_STATUS_SQL} AS v FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS t(status_message, bounce_message, i) ORDER BY i`,
      [CASES.map((c) => c[0]), CASES.map((c) => c[1])],
    );
    assert.deepEqual(rows.map((r) => r.v), CASES.map((c) => c[2]));
  });

  test('filled at ingest unless given by the sender', async () => {
    const base = { eventType: 'bounced', messageId: '<g1@shop.example>', toDomain: 'Example.NET', mtaNode: 'mta-1', sendingIp: '192.0.2.10', statusCode: 550, statusMessage: '550 5.1.1 The email account that you tried to reach does not exist', bounceType: 'hard', bounceCategory: 'user_unknown' };
    const t = new Date(Date.now() - 3_600_000);
    const given = { ...base, timestamp: t.toISOString(), eventId: '00000000-0000-4000-8000-000000000001', enhancedStatus: '5.1.2' };
    const read = { ...base, timestamp: t.toISOString(), eventId: '00000000-0000-4000-8000-000000000002' };
    const res = await m.streams.ingest('email', [given, read], { now: Date.now() });
    assert.equal(res.inserted, 2);
    const got = await m.db.queryMany<{ id: string; s: string | null }>(`SELECT event_id::text AS id, enhanced_status AS s FROM email_events ORDER BY event_id`);
    assert.deepEqual(got, [
      { id: '00000000-0000-4000-8000-000000000001', s: '5.1.2' },
      { id: '00000000-0000-4000-8000-000000000002', s: '5.1.1' },
    ]);
  });
});
