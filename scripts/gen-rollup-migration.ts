/**
 * Writes the migration that adds rollups (and nullable columns) to an existing event stream,
 * from its declaration:
 *   node --import tsx scripts/gen-rollup-migration.ts <stream> <NNNN_name> [+column…] <rollup> [rollup…]
 * A `+column` is added first (NNNN_name.sql, every tier) with its comment; a derived column
 * (`derive`) is filled for the events already stored with its SQL rule.
 * Produces NNNN_name.timescale.sql (continuous aggregates: real-time, so the events already
 * stored are answered at once and materialized by the refresh policy) and NNNN_name.postgres.sql
 * (storage tables and views, plus an invalidation for every hour that already holds events, so
 * Opsdeck's refresh job fills the new rollups from the history and the views answer it live
 * until then). Applied migrations are never regenerated.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../src/db/migrator.ts';
import { BUCKET_ORIGIN, LEVEL_INTERVAL, LEVEL_SECONDS } from '../src/timeseries/family.ts';
import { streamRollupDDL } from '../src/timeseries/stream-ddl.ts';
import { STREAM_SQL_TYPES } from '../src/timeseries/stream.ts';
import { findStream } from '../src/modules/streams.ts';

const [name, base, ...args] = process.argv.slice(2);
const stream = name ? findStream(name) : undefined;
const names = args.filter((a) => !a.startsWith('+'));
const added = args.filter((a) => a.startsWith('+')).map((a) => a.slice(1));
if (!stream || !base || !/^\d{4}_[a-z0-9_]+$/.test(base) || names.length === 0) {
  console.error('usage: gen-rollup-migration <stream> <NNNN_name> [+column…] <rollup> [rollup…]');
  process.exit(2);
}
const lit = (x: string) => `'${x.replace(/'/g, "''")}'`;
const columns = added.map((n) => {
  const c = stream.byName.get(n);
  if (!c || c.required) {
    console.error(`${stream.table} has no nullable column ${n} in its declaration`);
    process.exit(2);
  }
  return c;
});
const rollups = names.map((n) => {
  const r = stream.rollups.find((x) => x.name === n);
  if (!r) {
    console.error(`${stream.table} has no rollup ${n} in its declaration`);
    process.exit(2);
  }
  return r;
});
const write = (file: string, body: string) => {
  if (existsSync(file)) throw new Error(`${file} exists: applied migrations are immutable`);
  writeFileSync(file, body);
  console.log(`wrote ${file}`);
};
const header = (tier: string) =>
  `-- Generated from the ${stream.table} stream declaration (${tier} tier) by scripts/gen-rollup-migration.ts:\n-- the rollups ${names.join(', ')}.\n-- Applied migrations are immutable: change the declaration and add a new migration instead.\n\n`;
// A refresh recomputes the buckets of its level that hold an invalidation: the invalidations are
// written at the finest level added (one per hour would leave a 5-minute rollup eleven buckets short).
const finest = rollups.reduce((a, r) => (LEVEL_SECONDS[r.level] < LEVEL_SECONDS[a.level] ? r : a));
const unit = finest.level === '5m' ? '5-minute bucket' : finest.level === '1h' ? 'hour' : 'day';
const backfill =
  `-- The events already stored: one invalidation per ${unit} that holds any, for each new rollup;\n-- Opsdeck's refresh job computes those buckets, the views answer them live until then.\n` +
  `INSERT INTO opsdeck_rollup_invalidations (family, bucket)\n  SELECT r, h.bucket\n  FROM (SELECT DISTINCT date_bin(INTERVAL '${LEVEL_INTERVAL[finest.level]}', time, timestamptz '${BUCKET_ORIGIN}') AS bucket FROM ${stream.table}) h,\n    unnest(ARRAY[${names.map((n) => `'${n}'`).join(', ')}]::text[]) AS r;\n`;
if (columns.length > 0) {
  const parts = columns.flatMap((c) => [
    `ALTER TABLE ${stream.table} ADD COLUMN ${c.name} ${STREAM_SQL_TYPES[c.type]};`,
    `COMMENT ON COLUMN ${stream.table}.${c.name} IS ${lit(c.description)};`,
    ...(c.derive ? [`-- Filled by Opsdeck at ingest when a sender gives none; the same rule for the events already stored.\nUPDATE ${stream.table} SET ${c.name} = ${c.derive.sql} WHERE ${c.name} IS NULL AND (${c.derive.sql}) IS NOT NULL;`] : []),
  ]);
  write(join(MIGRATIONS_DIR, `${base}.sql`), `-- Generated from the ${stream.table} stream declaration (every tier) by scripts/gen-rollup-migration.ts:\n-- the columns ${added.join(', ')}.\n-- Applied migrations are immutable: change the declaration and add a new migration instead.\n\n${parts.join('\n\n')}\n`);
}
for (const tier of ['timescale', 'postgres'] as const) {
  const ddl = rollups.flatMap((r) => streamRollupDDL(stream, r, tier)).join('\n\n');
  write(join(MIGRATIONS_DIR, `${base}.${tier}.sql`), `${header(tier)}${ddl}\n${tier === 'postgres' ? `\n${backfill}` : ''}`);
}
