/**
 * Fault suite item 5: three `opsdeck serve` processes started at once on the
 * same fresh database (the usual "three replicas come up together"). One
 * applies the migrations, all end on the same version, none fails — and the
 * rest of first start is race-free too: one admin user is created, and the
 * JWT secret generated in the database is the same for all three (a token
 * from one instance works on the others).
 *
 * The CLI form — three `opsdeck db migrate` at once — is already covered by
 * src/db/migrator.test.ts ("three processes migrating one fresh database"),
 * so it is not repeated here; this test adds the full serve start-up.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import postgres from 'postgres';
import { loadMigrations } from '../../src/db/migrator.ts';
import { createTestDatabase } from '../support/backends.ts';
import { freePort } from '../support/pg-server.ts';
import { ADMIN_PASSWORD, httpRequest, skipUnlessServer, spawnServe, type ServeProcess } from './support.ts';

describe('fault: three opsdeck serve processes start on one fresh database at once', { skip: skipUnlessServer }, () => {
  let url: string;
  let drop: () => Promise<void>;
  const procs: ServeProcess[] = [];

  before(async () => {
    const t = await createTestDatabase();
    url = t.url;
    drop = t.drop;
  });
  after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL');
    await drop?.();
  });

  test('one applies the migrations, all serve the same version, one admin, one JWT secret, all stop cleanly', { timeout: 120_000 }, async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    // No OPSDECK_JWT_SECRET: each process would generate one; the database must make them agree.
    const started = await Promise.allSettled(ports.map((port) => spawnServe({ DATABASE_URL: url, LOG_LEVEL: 'info', OPSDECK_JWT_SECRET: '' }, port, 90_000)));
    for (const s of started) if (s.status === 'fulfilled') procs.push(s.value);
    const failures = started.filter((s): s is PromiseRejectedResult => s.status === 'rejected').map((s) => String(s.reason));
    assert.deepEqual(failures, [], 'every process started');

    const latest = loadMigrations().at(-1)!.version;
    const count = loadMigrations().length;
    // Exactly one process logged the migrations it applied; the others found nothing to do.
    const appliedBy = procs.map((p) => (p.output().match(/"msg":"migration applied"/g) ?? []).length);
    assert.deepEqual(
      appliedBy.slice().sort((a, b) => a - b),
      [0, 0, count],
      `migrations applied per process: ${appliedBy.join(', ')}`,
    );
    // Exactly one created the admin.
    const creators = procs.filter((p) => /with the password from OPSDECK_ADMIN_PASSWORD/.test(p.output()));
    assert.equal(creators.length, 1, procs.map((p) => p.output().split('\n').find((l) => l.includes('Log in:'))).join('\n'));

    for (const p of procs) {
      const ready = await httpRequest(p.base, { path: '/ready' });
      assert.equal(ready.statusCode, 200, ready.body);
      assert.deepEqual(JSON.parse(ready.body), { status: 'ready', tier: 'postgres', migrationVersion: latest, pendingMigrations: 0 });
    }

    const sql = postgres(url, { max: 1, onnotice: () => {} });
    try {
      const versions = await sql<{ version: number; n: number }[]>`SELECT version, count(*)::int AS n FROM schema_migrations GROUP BY version ORDER BY version`;
      assert.equal(versions.length, count);
      assert.ok(versions.every((v) => v.n === 1));
      const admins = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM dashboard_users`;
      assert.equal(admins[0]!.n, 1, 'one user: the admin');
      const secrets = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM opsdeck_settings WHERE key = 'jwt_secret'`;
      assert.equal(secrets[0]!.n, 1);
    } finally {
      await sql.end();
    }

    // A token from any instance is accepted by every instance.
    for (const issuer of procs) {
      const login = await httpRequest(issuer.base, {
        method: 'POST',
        path: '/api/v1/auth/login',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      });
      assert.equal(login.statusCode, 200, login.body);
      const authorization = `Bearer ${(JSON.parse(login.body) as { accessToken: string }).accessToken}`;
      for (const p of procs) {
        const me = await httpRequest(p.base, { path: '/api/v1/auth/me', headers: { authorization } });
        assert.equal(me.statusCode, 200, `token of :${issuer.port} on :${p.port}: ${me.body}`);
      }
    }

    const exits = procs.map((p) => p.exited);
    for (const p of procs) p.child.kill('SIGTERM');
    const codes = await Promise.all(exits);
    assert.deepEqual(
      codes.map((c) => c.code),
      [0, 0, 0],
      procs.map((p) => p.output()).join('\n----\n'),
    );
  });
});
