/**
 * Writes the migration that adds the group indexes (StreamRollupDecl.groupIndexes) of a stream's
 * existing rollups, from its declaration:
 *   node --import tsx scripts/gen-rollup-index-migration.ts <stream> <NNNN_name> <rollup> [rollup…]
 * Produces NNNN_name.timescale.sql (on the continuous aggregates) and NNNN_name.postgres.sql (on
 * Opsdeck's storage tables). Applied migrations are never regenerated.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR } from '../src/db/migrator.ts';
import { streamRollupGroupIndexDDL } from '../src/timeseries/stream-ddl.ts';
import { findStream } from '../src/modules/streams.ts';

const [name, base, ...names] = process.argv.slice(2);
const stream = name ? findStream(name) : undefined;
if (!stream || !base || !/^\d{4}_[a-z0-9_]+$/.test(base) || names.length === 0) {
  console.error('usage: gen-rollup-index-migration <stream> <NNNN_name> <rollup> [rollup…]');
  process.exit(2);
}
const rollups = names.map((n) => {
  const r = stream.rollups.find((x) => x.name === n);
  if (!r?.decl.groupIndexes?.length) {
    console.error(`${stream.table} has no rollup ${n} with group indexes in its declaration`);
    process.exit(2);
  }
  return r;
});
for (const tier of ['timescale', 'postgres'] as const) {
  const file = join(MIGRATIONS_DIR, `${base}.${tier}.sql`);
  if (existsSync(file)) throw new Error(`${file} exists: applied migrations are immutable`);
  const header = `-- Generated from the ${stream.table} stream declaration (${tier} tier) by scripts/gen-rollup-index-migration.ts:\n-- the group indexes of ${names.join(', ')}.\n-- Applied migrations are immutable: change the declaration and add a new migration instead.\n\n`;
  writeFileSync(file, `${header}${rollups.flatMap((r) => streamRollupGroupIndexDDL(r, tier)).join('\n')}\n`);
  console.log(`wrote ${file}`);
}
