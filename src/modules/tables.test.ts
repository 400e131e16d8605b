/**
 * Every Drizzle table declaration (src/modules/tables.ts) must match the table
 * the migrations create, on every backend: columns with type, nullability,
 * default and identity; the primary key; unique constraints and unique indexes
 * (columns or expressions, partial predicate); the named CHECK constraints;
 * and, for every column declared with an enum tuple, the values its CHECK
 * allows. Every regular table of the database has a declaration. A scratch
 * transaction that drops a column and constraints proves the comparison sees
 * them go.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { is, SQL } from 'drizzle-orm';
import { getTableConfig, PgDialect, type PgColumn, type PgTable } from 'drizzle-orm/pg-core';
import type { Queryable } from '../db/database.ts';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { STREAMS } from './streams.ts';
import { FAMILIES } from './families.ts';
import { nodeSchema } from './nodes/routes.ts';
import { NODE_STATUSES, nodes } from './nodes/schema.ts';
import { TABLES } from './tables.ts';

interface ColumnShape {
  type: string;
  notNull: boolean;
  /** 'ALWAYS' | 'BY DEFAULT' | null */
  identity: string | null;
  /** The default as PostgreSQL prints it (null: none). */
  default: string | null;
}

/** Internal element type names of array columns as Drizzle spells them (int4[] is declared integer[]). */
const ARRAY_ELEMENT: Record<string, string> = { int4: 'integer', int8: 'bigint', float8: 'double precision' };

interface TableShape {
  columns: Record<string, ColumnShape>;
  primaryKey: string[];
  /** Unique constraints and unique indexes other than the primary key: "key, key [WHERE predicate]", sorted. */
  unique: string[];
  /** Names of the CHECK constraints, sorted. */
  checks: string[];
  /** Column → the values its single-column CHECK allows (sorted), for columns declared with an enum tuple. */
  enumValues: Record<string, string[]>;
}

const dialect = new PgDialect();
const sqlText = (s: SQL): string => dialect.sqlToQuery(s).sql;

/** Expression text without quotes, table qualifiers, casts to text, spaces and outer parentheses. */
function normalizeExpr(text: string, table: string): string {
  let t = text.replaceAll('"', '').replaceAll(`${table}.`, '').replace(/::text\b/g, '').replace(/\s+/g, '');
  while (t.startsWith('(') && t.endsWith(')')) t = t.slice(1, -1);
  return t;
}

function declaredDefault(c: PgColumn): string | null {
  if (!c.hasDefault || c.default === undefined) return null;
  const v: unknown = c.default;
  if (is(v, SQL)) return sqlText(v);
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return `'${v.replaceAll("'", "''")}'::text`;
  return `'${JSON.stringify(v)}'::${c.getSQLType()}`;
}

function columnEnum(c: PgColumn): readonly string[] | undefined {
  const base = (c as unknown as { baseColumn?: PgColumn }).baseColumn;
  return c.enumValues ?? base?.enumValues;
}

function declaredShape(table: PgTable): TableShape {
  const cfg = getTableConfig(table);
  const columns: Record<string, ColumnShape> = {};
  const primaryKey: string[] = [];
  const unique: string[] = [];
  const enumValues: Record<string, string[]> = {};
  for (const c of cfg.columns) {
    const identity = (c as unknown as { generatedIdentity?: { type: 'always' | 'byDefault' } }).generatedIdentity;
    columns[c.name] = {
      type: c.getSQLType(),
      notNull: c.notNull,
      identity: identity ? (identity.type === 'always' ? 'ALWAYS' : 'BY DEFAULT') : null,
      default: identity ? null : declaredDefault(c),
    };
    if (c.primary) primaryKey.push(c.name);
    if (c.isUnique) unique.push(c.name);
    const values = columnEnum(c);
    if (values) enumValues[c.name] = [...values].sort();
  }
  for (const pk of cfg.primaryKeys) primaryKey.push(...pk.columns.map((c) => c.name));
  for (const u of cfg.uniqueConstraints) unique.push(u.columns.map((c) => c.name).join(', '));
  for (const i of cfg.indexes) {
    if (!i.config.unique) continue;
    const keys = i.config.columns.map((k) => (is(k, SQL) ? normalizeExpr(sqlText(k), cfg.name) : (k as PgColumn).name)).join(', ');
    unique.push(i.config.where ? `${keys} WHERE ${normalizeExpr(sqlText(i.config.where), cfg.name)}` : keys);
  }
  return { columns, primaryKey, unique: unique.sort(), checks: cfg.checks.map((k) => k.name).sort(), enumValues };
}

async function databaseShape(db: Queryable, table: string, enumColumns: readonly string[]): Promise<TableShape> {
  const rows = await db.queryMany<{ column_name: string; data_type: string; udt_name: string; is_nullable: string; identity_generation: string | null; column_default: string | null; max_length: number | null }>(
    `SELECT column_name, data_type, udt_name, is_nullable, identity_generation, column_default, character_maximum_length::int AS max_length
     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`,
    [table],
  );
  const columns: Record<string, ColumnShape> = {};
  for (const r of rows) {
    columns[r.column_name] = {
      type:
        r.data_type === 'ARRAY'
          ? `${ARRAY_ELEMENT[r.udt_name.replace(/^_/, '')] ?? r.udt_name.replace(/^_/, '')}[]`
          : r.data_type === 'character varying' && r.max_length !== null
            ? `varchar(${r.max_length})`
            : r.data_type,
      notNull: r.is_nullable === 'NO',
      identity: r.identity_generation,
      default: r.column_default,
    };
  }
  const pk = await db.queryOne<{ cols: string[] }>(
    `SELECT array_agg(a.attname::text ORDER BY k.n) AS cols
     FROM pg_constraint c CROSS JOIN LATERAL unnest(c.conkey) WITH ORDINALITY AS k(attnum, n)
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
     WHERE c.conrelid = to_regclass($1) AND c.contype = 'p'`,
    [table],
  );
  const uniques = await db.queryMany<{ keys: string[]; pred: string | null }>(
    `SELECT (SELECT array_agg(pg_get_indexdef(i.indexrelid, k, true) ORDER BY k) FROM generate_series(1, i.indnkeyatts) AS k) AS keys,
            pg_get_expr(i.indpred, i.indrelid, true) AS pred
     FROM pg_index i WHERE i.indrelid = to_regclass($1) AND i.indisunique AND NOT i.indisprimary`,
    [table],
  );
  const checks = await db.queryMany<{ name: string; def: string; cols: string[] }>(
    `SELECT c.conname::text AS name, pg_get_constraintdef(c.oid, true) AS def,
            (SELECT array_agg(a.attname::text) FROM pg_attribute a WHERE a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)) AS cols
     FROM pg_constraint c WHERE c.conrelid = to_regclass($1) AND c.contype = 'c'`,
    [table],
  );
  const enumValues: Record<string, string[]> = {};
  for (const col of enumColumns) {
    const own = checks.filter((k) => k.cols?.length === 1 && k.cols[0] === col);
    const values = new Set<string>();
    for (const k of own) for (const m of k.def.matchAll(/'((?:[^']|'')*)'/g)) values.add(m[1]!.replaceAll("''", "'"));
    enumValues[col] = [...values].sort();
  }
  return {
    columns,
    primaryKey: pk?.cols ?? [],
    unique: uniques
      .map((u) => {
        const keys = u.keys.map((k) => normalizeExpr(k, table)).join(', ');
        return u.pred ? `${keys} WHERE ${normalizeExpr(u.pred, table)}` : keys;
      })
      .sort(),
    checks: checks.map((k) => k.name).sort(),
    enumValues,
  };
}

/** Human-readable differences between a declaration and the database (empty: they match). */
function differences(declared: TableShape, actual: TableShape): string[] {
  const out: string[] = [];
  const names = new Set([...Object.keys(declared.columns), ...Object.keys(actual.columns)]);
  for (const n of names) {
    const d = declared.columns[n];
    const a = actual.columns[n];
    if (!a) out.push(`column ${n}: declared, missing in the database`);
    else if (!d) out.push(`column ${n}: in the database, not declared`);
    else for (const k of Object.keys(d) as (keyof ColumnShape)[]) if (d[k] !== a[k]) out.push(`column ${n}.${k}: declared ${JSON.stringify(d[k])}, database ${JSON.stringify(a[k])}`);
  }
  const list = (what: string, d: string[], a: string[]) => {
    if (JSON.stringify(d) !== JSON.stringify(a)) out.push(`${what}: declared ${JSON.stringify(d)}, database ${JSON.stringify(a)}`);
  };
  list('primary key', declared.primaryKey, actual.primaryKey);
  list('unique', declared.unique, actual.unique);
  list('checks', declared.checks, actual.checks);
  for (const [col, values] of Object.entries(declared.enumValues)) list(`values allowed in ${col}`, values, actual.enumValues[col] ?? []);
  return out;
}

async function compare(db: Queryable, table: PgTable): Promise<string[]> {
  const declared = declaredShape(table);
  return differences(declared, await databaseShape(db, getTableConfig(table).name, Object.keys(declared.enumValues)));
}

test('the node status tuple is the one of the column, its CHECK and the Zod schemas', () => {
  assert.deepEqual([...NODE_STATUSES], ['active', 'maintenance', 'retired']);
  assert.deepEqual(declaredShape(nodes).enumValues, { status: ['active', 'maintenance', 'retired'] });
  assert.deepEqual(nodeSchema.shape.status.options, ['active', 'maintenance', 'retired']);
});

forEachBackend('regular tables', (kind) => {
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
      assert.ok((await m.db.queryOne<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [name]))?.t, `table ${name} exists`);
      assert.deepEqual(await compare(m.db, table), []);
    });
  }

  test('every regular table of the database is declared', async () => {
    const rows = await m.db.queryMany<{ name: string }>(
      `SELECT c.relname::text AS name FROM pg_class c
       WHERE c.relnamespace = to_regnamespace(current_schema()) AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1`,
    );
    const families = new Set([...FAMILIES.map((f) => f.table), ...STREAMS.map((st) => st.table)]);
    const declared = new Set(TABLES.map((t) => getTableConfig(t).name));
    const undeclared = rows
      .map((r) => r.name)
      .filter((n) => !declared.has(n) && !families.has(n) && n !== 'schema_migrations' && !n.startsWith('opsdeck_') && !n.startsWith('_opsdeck_'));
    assert.deepEqual(undeclared, []);
    // Hand-written: the regular tables the migrations create today.
    assert.deepEqual([...declared].sort(), [
      'agent_counter_totals',
      'alert_event_transitions',
      'alert_events',
      'alert_maintenance_windows',
      'alert_rule_defaults',
      'alert_rules',
      'alert_silences',
      'api_keys',
      'artifacts',
      'audit_entries',
      'cache_metadata',
      'configuration_change_events',
      'configuration_snapshots',
      'dashboard_users',
      'device_collection_schedules',
      'device_ssh_targets',
      'dnsbl_listings',
      'dnsbl_tiers',
      'dnsbl_zones',
      'ip_pools',
      'llm_requests',
      'llm_responses',
      'monitors',
      'node_processes',
      'nodes',
      'notification_channels',
      'notification_deliveries',
      'policies',
      'provider_pricing',
      'refresh_tokens',
      'saved_views',
      'sending_domain_checks',
      'sending_domains',
      'sending_ips',
      'service_health_checks',
      'service_health_hourly',
      'service_performance_metrics',
      'services',
      'task_events',
      'task_runs',
      'tasks',
      'token_usage',
      'tool_call_records',
      'tool_definitions',
      'warmup_plans',
      'workloads',
    ]);
  });

  test('the comparison sees a dropped column, CHECK and unique constraint (scratch transaction, rolled back)', async () => {
    let found: Record<string, string[]> | null = null;
    await assert.rejects(
      m.db.transaction(async (tx) => {
        await tx.exec('ALTER TABLE nodes DROP COLUMN metadata');
        await tx.exec('ALTER TABLE nodes DROP CONSTRAINT nodes_status_check');
        await tx.exec('ALTER TABLE saved_views DROP CONSTRAINT saved_views_user_name_key');
        await tx.exec('ALTER TABLE dashboard_users ALTER COLUMN email SET NOT NULL');
        const bySchema: Record<string, string[]> = {};
        for (const t of TABLES) bySchema[getTableConfig(t).name] = await compare(tx, t);
        found = bySchema;
        throw new Error('roll back the scratch changes');
      }),
    );
    assert.ok(found, 'the comparison ran inside the scratch transaction');
    const diffs = found as Record<string, string[]>;
    assert.ok(diffs.nodes!.includes('column metadata: declared, missing in the database'), diffs.nodes!.join('\n'));
    assert.ok(diffs.nodes!.some((d) => d.startsWith('checks:')), diffs.nodes!.join('\n'));
    assert.ok(diffs.nodes!.some((d) => d.startsWith('values allowed in status:')), diffs.nodes!.join('\n'));
    assert.ok(diffs.saved_views!.some((d) => d.startsWith('unique:')), diffs.saved_views!.join('\n'));
    assert.ok(diffs.dashboard_users!.includes('column email.notNull: declared false, database true'), diffs.dashboard_users!.join('\n'));
    assert.deepEqual(diffs.api_keys, []);
    // Rolled back: the real tables match again.
    assert.deepEqual(await compare(m.db, nodes), []);
  });
});
