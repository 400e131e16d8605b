/**
 * Writes the migration files of a new family or event stream from its declaration:
 *   node --import tsx scripts/gen-migration.ts <table> [version]
 * Produces NNNN_<table>.timescale.sql and NNNN_<table>.postgres.sql (and, for the
 * first stream, NNNN_<table>.sql with the histogram functions rollups use). Applied
 * migrations are never regenerated: a changed declaration needs a new migration
 * (the schema-consistency test fails until it exists).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR, loadMigrations } from '../src/db/migrator.ts';
import { familyDDL } from '../src/timeseries/ddl.ts';
import { HISTOGRAM_FUNCTIONS_SQL, streamDDL } from '../src/timeseries/stream-ddl.ts';
import { findFamily } from '../src/modules/families.ts';
import { findStream } from '../src/modules/streams.ts';

const [name, versionArg] = process.argv.slice(2);
const family = name ? findFamily(name) : undefined;
const stream = name ? findStream(name) : undefined;
const table = family?.table ?? stream?.table;
if (!table) {
  console.error(`usage: gen-migration <family or stream>; unknown ${JSON.stringify(name)}`);
  process.exit(2);
}
const existing = loadMigrations();
if (existing.some((m) => m.name === table)) {
  console.error(`a migration named ${table} already exists; write an ALTER migration by hand for changes`);
  process.exit(1);
}
const version = versionArg ? Number(versionArg) : (existing.at(-1)?.version ?? 0) + 1;
const base = `${String(version).padStart(4, '0')}_${table}`;
const kind = family ? 'family' : 'stream';
const write = (file: string, body: string) => {
  if (existsSync(file)) throw new Error(`${file} exists`);
  writeFileSync(file, body);
  console.log(`wrote ${file}`);
};
if (stream && !existing.some((m) => (m.common ?? '').includes('CREATE FUNCTION opsdeck_hist_unit('))) {
  write(join(MIGRATIONS_DIR, `${base}.sql`), `-- Histogram functions of event-stream rollups (scripts/gen-migration.ts, from src/timeseries/stream-ddl.ts).\n\n${HISTOGRAM_FUNCTIONS_SQL}`);
}
for (const tier of ['timescale', 'postgres'] as const) {
  const header = `-- Generated from the ${table} ${kind} declaration (${tier} tier) by scripts/gen-migration.ts.\n-- Applied migrations are immutable: change the declaration and add a new migration instead.\n\n`;
  write(join(MIGRATIONS_DIR, `${base}.${tier}.sql`), header + (family ? familyDDL(family, tier) : streamDDL(stream!, tier)));
}
