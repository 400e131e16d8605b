/**
 * The Drizzle declarations (row types) must match the tables the migration
 * creates: same columns, types, nullability and identity. Runs on every backend
 * (the DDL is tier-independent, but this is cheap and proves it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { savedViews } from '../saved-views/schema.ts';
import { apiKeys, dashboardUsers, refreshTokens } from './schema.ts';

const TABLES: PgTable[] = [dashboardUsers, apiKeys, refreshTokens, savedViews];

interface ColumnShape {
  type: string;
  notNull: boolean;
  identity: boolean;
  hasDefault: boolean;
}

function drizzleColumns(table: PgTable): Record<string, ColumnShape> {
  const out: Record<string, ColumnShape> = {};
  for (const c of getTableConfig(table).columns) {
    const identity = Boolean((c as { generatedIdentity?: unknown }).generatedIdentity);
    out[c.name] = { type: c.getSQLType(), notNull: c.notNull, identity, hasDefault: c.hasDefault && !identity };
  }
  return out;
}

forEachBackend('access-control schema', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  for (const table of TABLES) {
    const name = getTableConfig(table).name;
    test(`Drizzle table ${name} matches the migrated database`, async () => {
      const rows = await m.db.queryMany<{ column_name: string; data_type: string; udt_name: string; is_nullable: string; is_identity: string; column_default: string | null }>(
        `SELECT column_name, data_type, udt_name, is_nullable, is_identity, column_default
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
        [name],
      );
      assert.ok(rows.length > 0, `table ${name} exists`);
      const actual: Record<string, ColumnShape> = {};
      for (const r of rows) {
        actual[r.column_name] = {
          type: r.data_type === 'ARRAY' ? `${r.udt_name.replace(/^_/, '')}[]` : r.data_type,
          notNull: r.is_nullable === 'NO',
          identity: r.is_identity === 'YES',
          hasDefault: r.column_default !== null && r.is_identity !== 'YES',
        };
      }
      assert.deepEqual(actual, drizzleColumns(table));
    });
  }
});
