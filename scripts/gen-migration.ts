/**
 * Writes the migration files of a new family from its declaration:
 *   node --import tsx scripts/gen-migration.ts <family-table> [version]
 * Produces NNNN_<table>.timescale.sql and NNNN_<table>.postgres.sql. Applied
 * migrations are never regenerated: a changed declaration needs a new migration
 * (the schema-consistency test fails until it exists).
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIGRATIONS_DIR, loadMigrations } from '../src/db/migrator.ts';
import { familyDDL } from '../src/timeseries/ddl.ts';
import { findFamily } from '../src/modules/families.ts';

const [name, versionArg] = process.argv.slice(2);
const family = name ? findFamily(name) : undefined;
if (!family) {
  console.error(`usage: gen-migration <family>; unknown family ${JSON.stringify(name)}`);
  process.exit(2);
}
const existing = loadMigrations();
if (existing.some((m) => m.name === family.table)) {
  console.error(`a migration named ${family.table} already exists; write an ALTER migration by hand for changes`);
  process.exit(1);
}
const version = versionArg ? Number(versionArg) : (existing.at(-1)?.version ?? 0) + 1;
const base = `${String(version).padStart(4, '0')}_${family.table}`;
for (const tier of ['timescale', 'postgres'] as const) {
  const file = join(MIGRATIONS_DIR, `${base}.${tier}.sql`);
  if (existsSync(file)) throw new Error(`${file} exists`);
  const header = `-- Generated from the ${family.table} family declaration (${tier} tier) by scripts/gen-migration.ts.\n-- Applied migrations are immutable: change the declaration and add a new migration instead.\n\n`;
  writeFileSync(file, header + familyDDL(family, tier));
  console.log(`wrote ${file}`);
}
