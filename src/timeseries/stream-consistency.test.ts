/**
 * One declaration, no drift, for event streams: on every backend the migrated
 * database must match each stream declaration — the raw table's columns,
 * types, NOT NULL, CHECK lists, primary key (idempotency key + time) and
 * indexes; each rollup view's columns; and the storage underneath (timescale:
 * hypertable chunk interval, compression segmentby, retention, continuous
 * aggregates with their refresh schedule, window and retention; postgres:
 * partition registration, rollup storage tables and their retention). The
 * email_events table is also checked against the mail-cluster requirements'
 * column list, written out by hand.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { EXPECTED_TIER, forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { STREAMS } from '../modules/streams.ts';
import { intervalSeconds } from './family.ts';
import { STREAM_SQL_TYPES } from './stream.ts';
import { rollupStorage, rollupViewColumns, streamRefreshStartSeconds, streamRollupGroupIndexes } from './stream-ddl.ts';
import type { StreamEvent, StreamRow } from './stream.ts';
import { emailEvents } from '../modules/email-events/stream.ts';
import { streamEventSchema } from './stream-ingest.ts';

// Compile-time half: the row and event types are derived from the declaration, so a
// declaration change the code does not follow fails `npm run typecheck`.
const emailRow: Required<StreamRow<typeof emailEvents.decl>> = {
  time: new Date(),
  event_id: null,
  event_type: null,
  message_id: null,
  queue_id: null,
  from_address: null,
  from_user: null,
  from_domain: null,
  to_address: null,
  to_domain: null,
  mta_node: null,
  sending_ip: null,
  sending_ip_v6: null,
  mx_host: null,
  status_code: 250,
  status_message: null,
  delivery_time_ms: null,
  queue_time_ms: null,
  total_time_ms: null,
  bounce_type: null,
  bounce_category: null,
  bounce_message: null,
  message_size: null,
  has_attachment: true,
  attachment_count: null,
  subject_hash: null,
  dkim_result: null,
  spf_result: null,
  dmarc_result: null,
  spam_score: null,
  spam_action: null,
  spam_symbols: null,
  enhanced_status: '5.1.1',
};
const emailEvent: Required<StreamEvent<typeof emailEvents.decl>> = {
  timestamp: '',
  eventId: null,
  eventType: 'delivered',
  messageId: null,
  queueId: null,
  fromAddress: null,
  fromUser: null,
  fromDomain: null,
  toAddress: null,
  toDomain: null,
  mtaNode: null,
  sendingIp: null,
  sendingIpV6: null,
  mxHost: null,
  statusCode: null,
  statusMessage: null,
  deliveryTimeMs: null,
  queueTimeMs: null,
  totalTimeMs: null,
  bounceType: null,
  bounceCategory: null,
  bounceMessage: null,
  messageSize: null,
  hasAttachment: null,
  attachmentCount: null,
  subjectHash: null,
  dkimResult: null,
  spfResult: null,
  dmarcResult: null,
  spamScore: null,
  spamAction: null,
  spamSymbols: null,
  enhancedStatus: null,
};

test('email_events: the TS row and event types and the ingest schema cover exactly the declared columns', () => {
  assert.deepEqual(Object.keys(emailRow).sort(), ['time', ...Object.keys(emailEvents.decl.columns)].sort());
  assert.deepEqual(Object.keys(emailEvent).sort(), Object.keys(streamEventSchema(emailEvents).shape).sort());
  assert.equal(Object.keys(emailRow).length, 33, 'the 27 columns of §6.1 (time included), the event id, four §5.8 fields and the enhanced status code');
});

async function intervalSecondsOf(m: MigratedDatabase, sql: string, params: unknown[]): Promise<number | null> {
  const r = await m.db.queryOne<{ s: number | null }>(`SELECT extract(epoch FROM (${sql}))::float8 AS s`, params);
  return r?.s ?? null;
}

forEachBackend('event streams match their declarations', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('the storage tier is the expected one', () => {
    assert.equal(m.tier, EXPECTED_TIER[kind]);
  });

  for (const s of STREAMS) {
    test(`${s.table}: columns, types, NOT NULL, CHECK lists, primary key and indexes`, async () => {
      const cols = await m.db.queryMany<{ name: string; type: string; notnull: boolean }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull
         FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [s.table],
      );
      const expected = [
        { name: 'time', type: 'timestamp with time zone', notnull: true },
        ...s.columns.map((c) => ({ name: c.name, type: STREAM_SQL_TYPES[c.type], notnull: Boolean(c.required || c.name === s.decl.derivedKey) })),
      ];
      assert.deepEqual(cols, expected);
      const pk = await m.db.queryOne<{ cols: string[] }>(
        `SELECT array_agg(a.attname::text ORDER BY k.ord) AS cols FROM pg_constraint c
         CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
         WHERE c.conrelid = $1::regclass AND c.contype = 'p'`,
        [s.table],
      );
      assert.deepEqual(pk?.cols, [...s.decl.idempotencyKey, 'time']);
      for (const c of s.columns.filter((x) => x.values)) {
        const def = await m.db.queryOne<{ def: string }>(`SELECT pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2`, [s.table, `${s.table}_${c.name}_check`]);
        assert.ok(def, `${c.name}: CHECK exists`);
        for (const v of c.values!) assert.ok(def.def.includes(`'${v}'`), `${c.name}: CHECK lists ${v}`);
      }
      const idx = await m.db.queryMany<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1`, [s.table]);
      const defs = idx.map((i) => i.def.replace(/^.* USING btree /, ''));
      assert.ok(defs.includes('("time" DESC)'), `time index in ${JSON.stringify(defs)}`);
      for (const ix of s.decl.indexes) assert.ok(defs.includes(`(${ix.join(', ')}, "time" DESC)`), `index (${ix.join(', ')}, time DESC) in ${JSON.stringify(defs)}`);
    });

    for (const r of s.rollups) {
      test(`${r.name}: a view with the declared columns, its storage and refresh`, async () => {
        const rel = await m.db.queryOne<{ kind: string }>(`SELECT relkind::text AS kind FROM pg_class WHERE oid = to_regclass($1)`, [r.name]);
        assert.equal(rel?.kind, 'v', `${r.name} is a view on every tier`);
        const cols = await m.db.queryMany<{ name: string }>(`SELECT attname AS name FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 ORDER BY attnum`, [r.name]);
        assert.deepEqual(cols.map((c) => c.name), rollupViewColumns(r));
        // group indexes: by name, on the storage (a continuous aggregate's are on its materialization)
        for (const ix of streamRollupGroupIndexes(r, m.tier)) {
          const def = await m.db.queryOne<{ def: string }>(`SELECT indexdef AS def FROM pg_indexes WHERE indexname = $1`, [ix.name]);
          assert.ok(def?.def.endsWith(`(${ix.columns.join(', ')})`), `${ix.name} on (${ix.columns.join(', ')}): ${def?.def ?? 'missing'}`);
        }
        if (m.tier === 'timescale') {
          const cagg = rollupStorage(r, 'timescale');
          const job = await m.db.queryOne<{ every: string; start: string }>(
            `SELECT schedule_interval::text AS every, config->>'start_offset' AS start FROM timescaledb_information.jobs
             WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_name = $1`,
            [cagg],
          );
          assert.ok(job, `${cagg}: refresh policy`);
          assert.equal(await intervalSecondsOf(m, '$1::interval', [job.every]), intervalSeconds(r.decl.refreshEvery));
          assert.equal(await intervalSecondsOf(m, '$1::interval', [job.start]), streamRefreshStartSeconds(s, r));
          const ret = await m.db.queryOne<{ drop: string }>(
            `SELECT config->>'drop_after' AS drop FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = $1`,
            [cagg],
          );
          assert.equal(await intervalSecondsOf(m, '$1::interval', [ret?.drop]), intervalSeconds(r.decl.retention));
        } else {
          const row = await m.db.queryOne<{ level: string; storage_table: string; retention: string }>(
            `SELECT level, storage_table, retention::text AS retention FROM opsdeck_rollup_tables WHERE family = $1`,
            [r.name],
          );
          assert.deepEqual({ level: row?.level, storage: row?.storage_table }, { level: r.level, storage: rollupStorage(r, 'postgres') });
          assert.equal(await intervalSecondsOf(m, '$1::interval', [row?.retention]), intervalSeconds(r.decl.retention));
        }
      });
    }

    test(`${s.table}: chunking or partitioning, compression and retention`, async () => {
      if (m.tier === 'timescale') {
        const dim = await m.db.queryOne<{ w: string }>(`SELECT time_interval::text AS w FROM timescaledb_information.dimensions WHERE hypertable_name = $1`, [s.table]);
        assert.equal(await intervalSecondsOf(m, '$1::interval', [dim?.w]), intervalSeconds(s.decl.chunkInterval));
        const seg = await m.db.queryMany<{ attname: string }>(
          `SELECT attname FROM timescaledb_information.compression_settings WHERE hypertable_name = $1 AND segmentby_column_index IS NOT NULL`,
          [s.table],
        );
        assert.deepEqual(seg.map((x) => x.attname), [s.decl.segmentBy]);
        const ret = await m.db.queryOne<{ drop: string }>(`SELECT config->>'drop_after' AS drop FROM timescaledb_information.jobs WHERE proc_name = 'policy_retention' AND hypertable_name = $1`, [s.table]);
        assert.equal(await intervalSecondsOf(m, '$1::interval', [ret?.drop]), intervalSeconds(s.decl.retention));
        const comp = await m.db.queryOne<{ after: string }>(`SELECT config->>'compress_after' AS after FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression' AND hypertable_name = $1`, [s.table]);
        assert.equal(await intervalSecondsOf(m, '$1::interval', [comp?.after]), intervalSeconds(s.decl.compressAfter));
      } else {
        const row = await m.db.queryOne<{ w: string; r: string }>(`SELECT partition_interval::text AS w, retention::text AS r FROM opsdeck_partitioned_tables WHERE table_name = $1`, [s.table]);
        assert.equal(await intervalSecondsOf(m, '$1::interval', [row?.w]), intervalSeconds(s.partitionInterval));
        assert.equal(await intervalSecondsOf(m, '$1::interval', [row?.r]), intervalSeconds(s.decl.retention));
        const part = await m.db.queryOne<{ k: string }>(`SELECT relkind::text AS k FROM pg_class WHERE oid = $1::regclass`, [s.table]);
        assert.equal(part?.k, 'p', 'natively partitioned');
      }
    });
  }

  test('email_events: the columns of the mail-cluster requirements (§6.1) with their types, plus the event id and §5.8 fields', async () => {
    // Written out by hand from ../shared/reference/wildduck-dashboard-requirements.md §6.1 and §5.8.
    const prd: [string, string][] = [
      ['time', 'timestamp with time zone'],
      ['event_type', 'text'],
      ['message_id', 'text'],
      ['queue_id', 'text'],
      ['from_address', 'text'],
      ['from_user', 'text'],
      ['from_domain', 'text'],
      ['to_address', 'text'],
      ['to_domain', 'text'],
      ['mta_node', 'text'],
      ['sending_ip', 'inet'],
      ['sending_ip_v6', 'inet'],
      ['mx_host', 'text'],
      ['status_code', 'smallint'],
      ['status_message', 'text'],
      ['delivery_time_ms', 'integer'],
      ['queue_time_ms', 'integer'],
      ['total_time_ms', 'integer'],
      ['bounce_type', 'text'],
      ['bounce_category', 'text'],
      ['bounce_message', 'text'],
      ['message_size', 'integer'],
      ['dkim_result', 'text'],
      ['spf_result', 'text'],
      ['dmarc_result', 'text'],
      ['spam_score', 'double precision'],
      ['spam_action', 'text'],
    ];
    const extra: [string, string][] = [
      ['event_id', 'uuid'],
      ['has_attachment', 'boolean'],
      ['attachment_count', 'smallint'],
      ['subject_hash', 'text'],
      ['spam_symbols', 'jsonb'],
      // Opsdeck's: the RFC 3463 code read from the reply, a dimension of the failure rollups
      ['enhanced_status', 'text'],
    ];
    const cols = await m.db.queryMany<{ name: string; type: string }>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'email_events'::regclass AND attnum > 0 AND NOT attisdropped`,
    );
    assert.deepEqual(cols.map((c) => [c.name, c.type]).sort(), [...prd, ...extra].sort());
    const views: Record<string, string[]> = {
      email_stats_5m: ['bucket', 'from_domain', 'mta_node', 'sending_ip', 'event_type', 'event_count', 'avg_delivery_ms', 'p95_delivery_ms', 'avg_message_size', 'dkim_pass', 'spf_pass', 'dmarc_pass'],
      email_stats_1h: ['bucket', 'from_domain', 'to_domain', 'mta_node', 'event_type', 'event_count', 'avg_delivery_ms', 'p95_delivery_ms'],
      email_stats_daily: ['bucket', 'from_domain', 'from_user', 'to_domain', 'mta_node', 'sending_ip', 'event_type', 'event_count', 'avg_delivery_ms'],
    };
    for (const [view, names] of Object.entries(views)) {
      const have = new Set((await m.db.queryMany<{ n: string }>(`SELECT attname AS n FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0`, [view])).map((x) => x.n));
      for (const n of names) assert.ok(have.has(n), `${view}.${n}`);
    }
  });
});
