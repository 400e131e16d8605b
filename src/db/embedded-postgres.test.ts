/**
 * The embedded PostgreSQL launcher on its own (no Opsdeck around it): refusals
 * with a message that says what to do, and recovery after crashes. The real
 * `opsdeck serve` on it is covered by test/e2e/serve.test.ts and
 * test/faults/embedded-server.test.ts. Runs once, whatever TEST_BACKENDS says.
 */
import { spawn, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import postgres from 'postgres';
import { DataDirError } from './data-dir.ts';
import { alive, EmbeddedPostgresError, reachableBinaries, startEmbeddedPostgres, traversableBy, type EmbeddedPostgres, type EmbeddedPostgresOptions } from './embedded-postgres.ts';
import { connectionTarget, PostgresDatabase } from './postgres-driver.ts';

const root = process.getuid?.() === 0;

/** A data folder and (as root) the cluster's home, both temporary; options for a quick test server. */
function folders(name = 'opsdeck-emb-'): { dataDir: string; home: string; opts: EmbeddedPostgresOptions; cleanup(): void } {
  const dataDir = mkdtempSync(join(tmpdir(), name));
  const rootClusterHome = `${dataDir}-cluster`;
  return {
    dataDir,
    home: root ? rootClusterHome : join(dataDir, 'postgres'),
    opts: { dataDir, rootClusterHome, initdbFlags: ['--no-sync'], settings: { fsync: 'off' } },
    cleanup() {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(rootClusterHome, { recursive: true, force: true });
    },
  };
}

function client(server: EmbeddedPostgres): postgres.Sql {
  const t = connectionTarget(server.url);
  return postgres(t.url, { max: 1, onnotice: () => {}, ...(t.host ? { host: t.host, port: t.port } : {}) });
}

/** The process and every descendant (read from /proc). */
function tree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      /* gone */
    }
  }
  const found = [pid];
  for (let i = 0; i < found.length; i++) for (const [p, pp] of parent) if (pp === found[i]) found.push(p);
  return found;
}

/** SIGKILL; a process that already exited (a short-lived backend of the snapshot) is fine. */
function kill9(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

async function waitGone(pids: number[]): Promise<void> {
  for (let i = 0; i < 600 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(pids.filter(alive), [], 'processes still alive');
}

function capture(): { logger: pino.Logger; lines: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += String(chunk);
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines: () => text };
}

test('a cluster made by another PostgreSQL major version is refused with what to do, and left untouched', { timeout: 60_000 }, async () => {
  const f = folders();
  try {
    mkdirSync(join(f.home, 'data'), { recursive: true });
    writeFileSync(join(f.home, 'data', 'PG_VERSION'), '16\n');
    await assert.rejects(startEmbeddedPostgres(f.opts), (err: unknown) => {
      assert.ok(err instanceof EmbeddedPostgresError, String(err));
      assert.equal(err.code, 'VERSION_MISMATCH');
      assert.match(err.message, /made by PostgreSQL 16, but this Opsdeck runs PostgreSQL 17/);
      assert.match(err.message, /pg_upgrade/);
      assert.match(err.message, /pg_dumpall/);
      return true;
    });
    assert.deepEqual(readdirSync(join(f.home, 'data')), ['PG_VERSION']);
    assert.equal(readFileSync(join(f.home, 'data', 'PG_VERSION'), 'utf8'), '16\n');
    assert.equal(existsSync(join(f.dataDir, 'opsdeck.lock')), false, 'the lock is released after a refusal');
  } finally {
    f.cleanup();
  }
});

test('a TCP port in use (the test server) is refused as such', { timeout: 60_000 }, async () => {
  const f = folders();
  const blocker: Server = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const addr = blocker.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  try {
    await assert.rejects(startEmbeddedPostgres({ ...f.opts, tcpPort: port }), (err: unknown) => {
      assert.ok(err instanceof EmbeddedPostgresError, String(err));
      assert.equal(err.code, 'PORT_IN_USE');
      assert.match(err.message, new RegExp(`port ${port} is already in use`));
      return true;
    });
  } finally {
    blocker.close();
    f.cleanup();
  }
});

test('a socket path over the 107-byte limit falls back to a short folder under /tmp, says so, and Opsdeck\'s driver connects there', { timeout: 60_000 }, async () => {
  const f = folders(`opsdeck-emb-${'x'.repeat(90)}-`);
  const log = capture();
  let server: EmbeddedPostgres | undefined;
  try {
    server = await startEmbeddedPostgres({ ...f.opts, logger: log.logger });
    assert.match(server.socketDir, /^\/tmp\/opsdeck-\d+-[0-9a-f]{12}$/);
    assert.match(log.lines(), /would be longer than 107 bytes/);
    // Opsdeck's own driver on the server's URL: the socket folder travels as `?host=`.
    assert.match(server.url, /\?host=%2Ftmp%2Fopsdeck-/);
    const db = new PostgresDatabase({ url: server.url, max: 2 });
    assert.deepEqual(await db.queryOne('SELECT 1 AS one'), { one: 1 });
    await db.close();
  } finally {
    const dir = server?.socketDir;
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    f.cleanup();
  }
});

test('after a crash of everything (kill -9 of Opsdeck, watchdog and server) the next start cleans the stale postmaster.pid and keeps the data', { timeout: 120_000 }, async () => {
  const f = folders();
  try {
    const first = await startEmbeddedPostgres(f.opts);
    let sql = client(first);
    await sql`CREATE TABLE kept (n int)`;
    await sql`INSERT INTO kept VALUES (1), (2), (3)`;
    await sql.end();
    const all = tree(first.processIds().watchdog!);
    assert.ok(all.length >= 3, `watchdog, server and its workers: ${all.join(' ')}`);
    for (const pid of all) kill9(pid);
    await waitGone(all);
    assert.ok(existsSync(join(first.clusterDir, 'postmaster.pid')), 'a crash leaves postmaster.pid behind');

    const second = await startEmbeddedPostgres(f.opts);
    sql = client(second);
    assert.deepEqual([...(await sql`SELECT count(*)::int AS n FROM kept`)], [{ n: 3 }]);
    await sql.end();
    await second.close();
    assert.equal(existsSync(join(second.clusterDir, 'postmaster.pid')), false, 'a clean stop removes postmaster.pid');

    // The killed server above may linger as a zombie here (Opsdeck removes its pid file then). A pid
    // file naming a process that is really gone is PostgreSQL's own business: it starts anyway.
    const gone = spawnSync('true').pid!;
    await waitGone([gone]);
    writeFileSync(join(second.clusterDir, 'postmaster.pid'), `${gone}\n${second.clusterDir}\n1764000000\n5432\n\n\n  5432001    123\nready   \n`);
    const third = await startEmbeddedPostgres(f.opts);
    sql = client(third);
    assert.deepEqual([...(await sql`SELECT count(*)::int AS n FROM kept`)], [{ n: 3 }]);
    await sql.end();
    await third.close();
  } finally {
    f.cleanup();
  }
});

test('a server left running without its Opsdeck (watchdog killed) is stopped at the next start, which then serves the same data', { timeout: 120_000 }, async () => {
  const f = folders();
  const log = capture();
  try {
    const first = await startEmbeddedPostgres(f.opts);
    let sql = client(first);
    await sql`CREATE TABLE kept (n int)`;
    await sql`INSERT INTO kept VALUES (7)`;
    await sql.end();
    // Opsdeck and the watchdog killed (the watchdog's pipe reader too): only the server's tree remains.
    const { watchdog, postmaster } = first.processIds();
    const server = tree(postmaster!);
    const others = tree(watchdog!).filter((p) => !server.includes(p));
    for (const pid of others) kill9(pid);
    await waitGone(others);
    assert.ok(alive(postmaster!), 'the server outlived its watchdog');

    const second = await startEmbeddedPostgres({ ...f.opts, logger: log.logger });
    assert.equal(alive(postmaster!), false, 'the orphaned server was stopped');
    assert.match(log.lines(), /left running by an earlier Opsdeck/);
    sql = client(second);
    assert.deepEqual([...(await sql`SELECT n FROM kept`)], [{ n: 7 }]);
    await sql.end();
    await second.close();
  } finally {
    f.cleanup();
  }
});

test('a data folder this user cannot write is refused with a clear message', { timeout: 60_000 }, async (t) => {
  if (root) {
    t.skip('root writes any folder; test/faults/embedded-server.test.ts runs Opsdeck as nobody for this case');
    return;
  }
  const f = folders();
  try {
    chmodSync(f.dataDir, 0o500);
    await assert.rejects(startEmbeddedPostgres(f.opts), (err: unknown) => {
      assert.ok(err instanceof DataDirError, String(err));
      assert.match(err.message, new RegExp(`the data folder ${f.dataDir} is not writable by this user`));
      return true;
    });
  } finally {
    chmodSync(f.dataDir, 0o700);
    f.cleanup();
  }
});

test('a socket folder whose lock names another live server is refused as such', { timeout: 60_000 }, async () => {
  const f = folders();
  // A live process of the server's own account: PostgreSQL takes a lock naming one of another
  // account for stale (it cannot signal it), so as root the stand-in runs as nobody too.
  const other = spawn('sleep', ['60'], { stdio: 'ignore', ...(root ? { uid: 65534, gid: 65534 } : {}) });
  try {
    const first = await startEmbeddedPostgres(f.opts);
    await first.close();
    writeFileSync(join(first.socketDir, '.s.PGSQL.5432.lock'), `${other.pid}\n${first.clusterDir}\n1764000000\n5432\n${first.socketDir}\n`);
    if (root) spawnSync('chown', ['65534:65534', join(first.socketDir, '.s.PGSQL.5432.lock')]);
    await assert.rejects(startEmbeddedPostgres(f.opts), (err: unknown) => {
      assert.ok(err instanceof EmbeddedPostgresError, String(err));
      assert.equal(err.code, 'SOCKET_IN_USE');
      assert.match(err.message, new RegExp(`the socket folder ${first.socketDir} is in use by another PostgreSQL server \\(pid ${other.pid}\\)`));
      return true;
    });
  } finally {
    other.kill('SIGKILL');
    f.cleanup();
  }
});

test('traversableBy: an account reaches a path only through folders it may search', () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-trav-'));
  try {
    mkdirSync(join(dir, 'inner'));
    chmodSync(dir, 0o700);
    // Owner-only folder of this user: another account (uid/gid that own nothing here) cannot pass.
    assert.equal(traversableBy(join(dir, 'inner'), 54321, 54321), false);
    chmodSync(dir, 0o711);
    assert.equal(traversableBy(join(dir, 'inner'), 54321, 54321), true);
    assert.equal(traversableBy(join(dir, 'missing'), 54321, 54321), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('binaries the server account cannot reach (a project under /root) are copied where it can run them', { timeout: 120_000 }, async (t) => {
  if (!root) {
    t.skip('only a root-run Opsdeck runs the server as another account');
    return;
  }
  const { postgres: pkgPostgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const pkgDir = join(pkgPostgres, '..', '..', '..');
  // A project folder nobody may enter (like /root/project): a 0700 folder holding the package.
  const project = mkdtempSync(join(tmpdir(), 'opsdeck-private-'));
  const base = mkdtempSync(join(tmpdir(), 'opsdeck-binbase-'));
  chmodSync(base, 0o755);
  try {
    cpSync(pkgDir, join(project, 'pkg'), { recursive: true, verbatimSymlinks: true });
    const native = join(project, 'pkg', 'native');
    const bin = { native, initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
    const nobodyRuns = (file: string) => spawnSync(file, ['--version'], { uid: 65534, gid: 65534, encoding: 'utf8' });
    assert.notEqual(nobodyRuns(bin.postgres).status, 0, 'nobody cannot run the binaries in the private folder');
    const log = capture();
    const copied = reachableBinaries(bin, 65534, 65534, 17, log.logger, join(base, 'opsdeck'));
    assert.ok(copied.postgres.startsWith(join(base, 'opsdeck', 'bin-17-')), copied.postgres);
    assert.match(log.lines(), /cannot reach the PostgreSQL binaries/);
    for (const file of [copied.postgres, copied.initdb]) {
      const r = nobodyRuns(file);
      assert.equal(r.status, 0, `${file}: ${r.stderr}`);
      assert.match(r.stdout, /\(PostgreSQL\) 17\./);
    }
  } finally {
    rmSync(project, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  }
});
