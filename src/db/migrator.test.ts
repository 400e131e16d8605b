import { after, before, test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync, copyFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { forEachBackend, openDatabase, createTestDatabase, enabledBackends, serverUrl, EXPECTED_TIER, type TestDatabase } from '../../test/support/backends.ts';
import { MIGRATIONS_DIR, MigrationError, loadMigrations, migrate, migrationStatus, formatStatus, initDatabase, dropAll } from './migrator.ts';
import { chooseTier } from './tier.ts';

const run = promisify(execFile);

/** A copy of the real migrations plus extra files, in a temp folder. */
function migrationsWith(extra: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-mig-'));
  for (const f of readdirSync(MIGRATIONS_DIR)) copyFileSync(join(MIGRATIONS_DIR, f), join(dir, f));
  for (const [name, sql] of Object.entries(extra)) writeFileSync(join(dir, name), sql);
  return dir;
}

const latest = () => loadMigrations().at(-1)!.version;
const pad = (n: number) => String(n).padStart(4, '0');

forEachBackend('migrations', (kind) => {
  let t: TestDatabase;
  before(async () => {
    t = await openDatabase(kind);
  });
  after(async () => {
    await t.close();
  });

  test('status of a fresh database lists every migration as pending', async () => {
    const s = await migrationStatus(t.db);
    assert.equal(s.tier, null);
    assert.equal(s.currentVersion, 0);
    assert.equal(s.pending, loadMigrations().length);
    assert.match(formatStatus(s), /○ Pending \| Version 1 \| core/);
  });

  test('init applies everything on the detected tier; running again is a no-op', async () => {
    const r = await initDatabase(t.db);
    assert.equal(r.tier.tier, EXPECTED_TIER[kind]);
    assert.equal(r.currentVersion, latest());
    assert.equal(r.applied.length, loadMigrations().length);
    const again = await migrate(t.db);
    assert.deepEqual(again.applied, []);
    assert.equal(again.currentVersion, latest());
    const s = await migrationStatus(t.db);
    assert.equal(s.pending, 0);
    assert.equal(s.tier, EXPECTED_TIER[kind]);
    assert.match(formatStatus(s), /✓ Applied \| Version 2 \| metrics_system/);
    await assert.rejects(initDatabase(t.db), (e: unknown) => e instanceof MigrationError && e.code === 'MIGRATION_NOT_FRESH');
  });

  test('a failing migration is rolled back with a clear message; the ones before it stay', async () => {
    const v = latest();
    const dir = migrationsWith({
      [`${pad(v + 1)}_good_one.sql`]: 'CREATE TABLE mig_good (id int);',
      [`${pad(v + 2)}_bad_one.sql`]: 'CREATE TABLE mig_bad (id int);\nSELECT * FROM this_table_does_not_exist;',
    });
    await assert.rejects(
      migrate(t.db, { dir }),
      (e: unknown) => e instanceof MigrationError && e.code === 'MIGRATION_FAILED' && /bad_one failed and was rolled back: .*this_table_does_not_exist/.test(e.message),
    );
    const s = await migrationStatus(t.db, dir);
    assert.equal(s.currentVersion, v + 1);
    assert.equal(s.lines.at(-1)?.state, 'pending');
    assert.equal((await t.db.queryOne<{ t: string | null }>(`SELECT to_regclass('mig_bad')::text AS t`))?.t, null);
    assert.equal((await t.db.queryOne<{ t: string | null }>(`SELECT to_regclass('mig_good')::text AS t`))?.t, 'mig_good');
  });

  test('a changed checksum of an applied migration stops the run', async () => {
    const v = latest();
    const dir = migrationsWith({ [`${pad(v + 1)}_good_one.sql`]: 'CREATE TABLE mig_good (id int, changed int);' });
    await assert.rejects(
      migrate(t.db, { dir }),
      (e: unknown) => e instanceof MigrationError && e.code === 'MIGRATION_CHECKSUM_MISMATCH' && /good_one was changed after it was applied/.test(e.message),
    );
    const s = await migrationStatus(t.db, dir);
    assert.equal(s.lines.find((l) => l.name === 'good_one')?.state, 'changed');
  });

  test('dropAll then migrate rebuilds the schema', async () => {
    await dropAll(t.db);
    assert.equal((await migrationStatus(t.db)).currentVersion, 0);
    const r = await migrate(t.db);
    assert.equal(r.currentVersion, latest());
    // TimescaleDB cannot be re-created in the session that dropped it (the CLI reconnects
    // after the drop); this single-session PGlite falls back to the postgres tier, which
    // is itself the point: a database without a usable extension still migrates.
    assert.equal(r.tier.tier, kind === 'timescale' ? 'postgres' : EXPECTED_TIER[kind]);
  });
});

describe('storage tier decision', () => {
  test('timescale only with the timescale licence', () => {
    assert.equal(chooseTier({ preference: 'auto', extensionAvailable: true, license: 'timescale' }).tier, 'timescale');
    assert.equal(chooseTier({ preference: 'auto', extensionAvailable: true, license: 'apache' }).tier, 'postgres');
    assert.equal(chooseTier({ preference: 'auto', extensionAvailable: false, license: null }).tier, 'postgres');
    assert.equal(chooseTier({ preference: 'postgres', extensionAvailable: true, license: 'timescale' }).tier, 'postgres');
    assert.throws(() => chooseTier({ preference: 'timescale', extensionAvailable: true, license: 'apache' }), /apache/);
    assert.throws(() => chooseTier({ preference: 'timescale', extensionAvailable: false, license: null }), /not available/);
  });
});

test('chooseTier: TimescaleDB installed but not in shared_preload_libraries is never loaded', () => {
  // CREATE EXTENSION timescaledb answers FATAL there and ends the connection, so the decision is made before it.
  const fallback = chooseTier({ preference: 'auto', extensionAvailable: true, license: null, preloadMissing: true });
  assert.equal(fallback.tier, 'postgres');
  assert.equal(fallback.createExtension, false);
  assert.match(fallback.reason, /shared_preload_libraries/);
  assert.match(fallback.notice ?? '', /shared_preload_libraries = 'timescaledb'/);
  assert.match(fallback.notice ?? '', /restart/);
  assert.throws(
    () => chooseTier({ preference: 'timescale', extensionAvailable: true, license: null, preloadMissing: true }),
    /OPSDECK_STORAGE_TIER=timescale[\s\S]*shared_preload_libraries = 'timescaledb'/,
  );
  const fixed = chooseTier({ preference: 'postgres', extensionAvailable: true, license: null, preloadMissing: true });
  assert.deepEqual([fixed.tier, fixed.createExtension, fixed.notice], ['postgres', false, null]);
  const preloaded = chooseTier({ preference: 'auto', extensionAvailable: true, license: null, preloadMissing: false });
  assert.equal(preloaded.createExtension, true, 'preloaded: the extension may be created, then the licence decides');
});

if (enabledBackends().includes('postgres')) {
  describe('migrations from the CLI on a PostgreSQL server', () => {
    const cli = (args: string[], url: string) =>
      run(process.execPath, ['bin/opsdeck.mjs', ...args], { env: { ...process.env, DATABASE_URL: url, LOG_LEVEL: 'warn' }, timeout: 60_000 });

    test('three processes migrating one fresh database: one applies, all end on the same version', async () => {
      const { url, drop } = await createTestDatabase();
      try {
        const outs = await Promise.all([1, 2, 3].map(() => cli(['db', 'migrate'], url)));
        const appliers = outs.filter((o) => /migration\(s\) applied/.test(o.stdout));
        assert.equal(appliers.length, 1, outs.map((o) => o.stdout).join('\n---\n'));
        for (const o of outs) assert.match(o.stdout, new RegExp(`version ${latest()} \\(postgres tier\\)`));
        const status = await cli(['db', 'migrate', 'status'], url);
        assert.match(status.stdout, /Storage tier: postgres/);
        // Each applied migration as exactly `✓ Applied | Version N | name`, one per line.
        assert.equal((status.stdout.match(/^✓ Applied \| Version \d+ \| [a-z0-9_]+$/gm) ?? []).length, loadMigrations().length);
        assert.match(status.stdout, /^✓ Applied \| Version 1 \| core$/m);
        assert.match(status.stdout, /0 pending/);
      } finally {
        await drop();
      }
    });

    test('a database owner that is not a superuser migrates a fresh database (the README setup)', async () => {
      // The role owns its database and nothing more: no superuser, no pg_read_all_settings.
      const base = new URL(await serverUrl());
      const role = `opsdeck_owner_${randomBytes(4).toString('hex')}`;
      const dbName = `${role}_db`;
      const admin = postgres(base.toString(), { max: 1, onnotice: () => {} });
      await admin.unsafe(`CREATE ROLE ${role} LOGIN PASSWORD 'owner-secret-123' NOSUPERUSER NOCREATEDB NOCREATEROLE`);
      await admin.unsafe(`CREATE DATABASE ${dbName} OWNER ${role}`);
      try {
        const u = new URL(base);
        u.username = role;
        u.password = 'owner-secret-123';
        u.pathname = `/${dbName}`;
        const out = await cli(['db', 'migrate'], u.toString());
        assert.match(out.stdout, new RegExp(`version ${latest()} \\(postgres tier\\)`));
      } finally {
        await admin.unsafe(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
        await admin.unsafe(`DROP ROLE IF EXISTS ${role}`);
        await admin.end();
      }
    });

    test('status on a fresh database shows every migration pending', async () => {
      const { url, drop } = await createTestDatabase();
      try {
        const status = await cli(['db', 'migrate', 'status'], url);
        assert.match(status.stdout, /not yet chosen/);
        assert.equal((status.stdout.match(/○ Pending \| Version \d+ \|/g) ?? []).length, loadMigrations().length);
      } finally {
        await drop();
      }
    });

    test('db reset refuses in production without --force', async () => {
      const { url, drop } = await createTestDatabase();
      try {
        await assert.rejects(
          run(process.execPath, ['bin/opsdeck.mjs', 'db', 'reset'], { env: { ...process.env, DATABASE_URL: url, NODE_ENV: 'production' } }),
          (e: { code?: number; stderr?: string }) => e.code === 1 && /refusing to reset a production database/.test(e.stderr ?? ''),
        );
      } finally {
        await drop();
      }
    });
  });
}
