/**
 * defineStream refuses declarations that would generate DDL that fails or
 * lies, and the derived event id is stable and a valid UUID.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { defineStream, type StreamDecl } from './stream.ts';
import { derivedUuid } from './stream-ingest.ts';

const base = {
  table: 'probe_events',
  key: 'probe',
  title: 'Probe events',
  description: 'test',
  columns: {
    id: { type: 'uuid', description: 'id' },
    service: { type: 'text', required: true, dimension: true, description: 'service' },
    latency_ms: { type: 'integer', min: 0, max: 600_000, description: 'latency' },
    ok: { type: 'boolean', description: 'ok', dimension: true },
    details: { type: 'jsonb', json: z.record(z.string(), z.string()), description: 'details' },
  },
  idempotencyKey: ['id'],
  derivedKey: 'id',
  indexes: [['service']],
  chunkInterval: '1 day',
  retention: '30 days',
  compressAfter: '7 days',
  segmentBy: 'service',
  statsGroupBy: ['service'],
  maxListWindow: '7 days',
  rollups: [
    {
      name: 'probe_stats_5m',
      level: '5m',
      description: 'x',
      groupBy: ['service'],
      measures: { checks: { fn: 'count' }, p99_latency_ms: { fn: 'quantile', column: 'latency_ms', q: 0.99 }, failures: { fn: 'countWhere', column: 'ok', equals: false } },
      refreshEvery: '5 minutes',
      retention: '30 days',
    },
  ],
} satisfies StreamDecl;

test('a valid declaration derives columns, dimensions and rollup storage', () => {
  const s = defineStream(base);
  assert.deepEqual(s.dimensions.map((d) => d.field), ['service', 'ok']);
  assert.deepEqual(s.rollups[0]!.storage.map((c) => c.name), ['checks', 'latency_ms_hist', 'failures']);
  assert.equal(s.partitionInterval, '1 day');
});

test('defineStream refuses what would not migrate or would lie', () => {
  const bad: [string, Partial<StreamDecl>, RegExp][] = [
    ['numeric column without bounds', { columns: { ...base.columns, latency_ms: { type: 'integer', description: 'l' } } }, /finite min/],
    ['smallint bounds beyond the type', { columns: { ...base.columns, latency_ms: { type: 'smallint', min: 0, max: 100_000, description: 'l' } } }, /exceed/],
    ['jsonb without a shape', { columns: { ...base.columns, details: { type: 'jsonb', description: 'd' } } }, /json shape/],
    ['a jsonb dimension', { columns: { ...base.columns, details: { type: 'jsonb', json: z.unknown(), dimension: true, description: 'd' } } }, /cannot be a dimension/],
    ['groupBy on a non-dimension', { rollups: [{ ...base.rollups[0]!, groupBy: ['latency_ms'] }] }, /not a dimension/],
    ['quantile of a text column', { rollups: [{ ...base.rollups[0]!, measures: { q: { fn: 'quantile', column: 'service', q: 0.5 } } }] }, /numeric column/],
    ['sum of a boolean', { rollups: [{ ...base.rollups[0]!, measures: { s: { fn: 'sum', column: 'ok' } } }] }, /numeric column/],
    ['measure on an unknown column', { rollups: [{ ...base.rollups[0]!, measures: { s: { fn: 'max', column: 'nope' } } }] }, /unknown column/],
    ['key column not required', { idempotencyKey: ['latency_ms'] }, /must be a required column/],
    ['segmentby not a dimension', { segmentBy: 'latency_ms' }, /segmentBy/],
    ['reserved column name', { columns: { ...base.columns, bucket: { type: 'text', description: 'b' } } }, /reserved/],
    ['pattern without its rule', { columns: { ...base.columns, service: { type: 'text', pattern: /^a$/, description: 's' } } }, /patternRule/],
  ];
  for (const [what, change, msg] of bad) {
    assert.throws(() => defineStream({ ...base, ...change } as StreamDecl), msg, what);
  }
});

test('a derived event id is a version-8 UUID that depends on time and every value', () => {
  const a = derivedUuid(1_700_000_000_000_000, ['delivered', '<m@x>', null]);
  assert.match(a, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(derivedUuid(1_700_000_000_000_000, ['delivered', '<m@x>', null]), a);
  assert.notEqual(derivedUuid(1_700_000_000_000_001, ['delivered', '<m@x>', null]), a);
  assert.notEqual(derivedUuid(1_700_000_000_000_000, ['bounced', '<m@x>', null]), a);
  assert.notEqual(derivedUuid(1_700_000_000_000_000, ['delivered', '<m@x>', '']), a, 'null and empty differ');
});

test('the compiled fast check never accepts an event the Zod schema refuses (email_events, random events)', async () => {
  const fc = await import('fast-check');
  const { emailEvents } = await import('../modules/email-events/stream.ts');
  const { compileStreamFastCheck, streamEventSchema } = await import('./stream-ingest.ts');
  const fast = compileStreamFastCheck(emailEvents);
  const schema = streamEventSchema(emailEvents);
  const anyValue = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -5, max: 70_000 }),
    fc.double(),
    fc.string({ maxLength: 8 }),
    fc.constantFrom('delivered', 'PASS', 'pass', 'hard', '192.0.2.1', '01.2.3.4', '2001:db8::1', 'gmail.com', 'Gmail.com', '', 'a b', '2026-01-01T00:00:00Z', '00000000-0000-4000-8000-000000000001', 'zz', ' '),
    fc.constant(['A']),
    fc.constantFrom([], ['BAYES_HAM', 'MIME_GOOD'], [''], ['x'.repeat(129)], ['A', 1], [null], { a: 1 }, 'BAYES_HAM'),
  );
  const fields = ['timestamp', ...emailEvents.columns.map((c) => c.field), 'unknownField'];
  let accepted = 0;
  fc.assert(
    fc.property(fc.dictionary(fc.constantFrom(...fields), anyValue, { maxKeys: 8 }), (e) => {
      const row = { eventType: 'delivered', ...e };
      if (fast(row)) {
        accepted++;
        assert.ok(schema.safeParse(row).success, JSON.stringify(row));
      }
    }),
    { numRuns: 5000, seed: 42 },
  );
  assert.ok(accepted > 50, `the fast path accepts ordinary events (${accepted})`);
  const ordinary = { timestamp: '2026-11-30T10:00:00.123Z', eventType: 'bounced', fromDomain: 'Shop.Example', sendingIp: '192.0.2.10', statusCode: 550, deliveryTimeMs: 1200, dkimResult: 'pass' };
  assert.equal(fast(ordinary), true);
  for (const bad of [{ ...ordinary, statusCode: 99 }, { ...ordinary, sendingIp: '01.2.3.4' }, { ...ordinary, eventType: 'PASS' }, { ...ordinary, fromDomain: 'a b' }, { ...ordinary, x: 1 }, { ...ordinary, eventType: undefined }]) {
    assert.equal(fast(bad), false, JSON.stringify(bad));
    assert.equal(schema.safeParse(bad).success, false, JSON.stringify(bad));
  }
  // jsonb: spam symbols as the plugin sends them take the fast path; a wrong shape or size does not
  assert.equal(fast({ ...ordinary, spamSymbols: ['DKIM_SIGNED', 'R_SPF_ALLOW', 'BAYES_HAM'] }), true);
  assert.equal(fast({ ...ordinary, spamSymbols: [] }), true);
  for (const spamSymbols of [['x'.repeat(129)], [''], ['A', 1], 'BAYES_HAM', { a: 1 }, Array.from({ length: 501 }, () => 'S')]) {
    assert.equal(fast({ ...ordinary, spamSymbols }), false, JSON.stringify(spamSymbols).slice(0, 60));
    assert.equal(schema.safeParse({ ...ordinary, spamSymbols }).success, false);
  }
});

test('a jsonb value its schema would change (keys stripped) is left to the whole schema, which stores the changed value', async () => {
  const { compileStreamFastCheck, prepareEvents, streamEventSchema } = await import('./stream-ingest.ts');
  const st = defineStream({
    ...base,
    columns: { ...base.columns, details: { type: 'jsonb', json: z.array(z.object({ id: z.number().int(), name: z.string() })).max(10), maxJsonBytes: 1024, description: 'details' } },
  });
  const fast = compileStreamFastCheck(st);
  const kept = { service: 'smtp', details: [{ id: 1, name: 'Raw_Read_Error_Rate' }] };
  const stripped = { service: 'smtp', details: [{ id: 1, name: 'Raw_Read_Error_Rate', extra: true }] };
  assert.equal(fast(kept), true);
  assert.equal(fast(stripped), false, 'the schema would drop `extra`: not the fast path');
  assert.equal(fast({ service: 'smtp', details: [{ id: 'one', name: 'x' }] }), false);
  assert.equal(fast({ service: 'smtp', details: Array.from({ length: 10 }, (_, i) => ({ id: i, name: 'n'.repeat(120) })) }), false, 'over maxJsonBytes');
  const batch = prepareEvents(st, streamEventSchema(st), [kept, stripped], { now: Date.parse('2026-11-30T12:00:00Z') }, fast);
  const details = batch.arrays[1 + st.columns.findIndex((c) => c.name === 'details')]!;
  assert.deepEqual(details, ['[{"id":1,"name":"Raw_Read_Error_Rate"}]', '[{"id":1,"name":"Raw_Read_Error_Rate"}]']);
});
