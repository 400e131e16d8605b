/**
 * Fault suite: the real `opsdeck serve` on its default embedded PostgreSQL
 * server (no DATABASE_URL), on a data folder of the test's own.
 *   - killed (SIGKILL) in the middle of ingestion: its PostgreSQL server stops
 *     with it (the watchdog), and a restart on the same data folder serves every
 *     row that was acknowledged with 2xx;
 *   - a data folder it cannot write: one clear line, exit code 1;
 *   - a second Opsdeck on the same data folder: refused clearly, the first one
 *     keeps working.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { freePort } from '../support/pg-server.ts';
import { ADMIN_PASSWORD, credentialsOver, httpRequest, ingestBody, REPO_ROOT, skipUnlessServer, sleep, spawnServe, type ServeProcess } from './support.ts';

const ROWS = 50;
const root = process.getuid?.() === 0;
/** No DATABASE_URL: the default embedded server. */
const EMBEDDED = { DATABASE_URL: '' };

/** Where the cluster of `dataDir` lives: recorded there when Opsdeck runs as root, else in it. */
function clusterHome(dataDir: string): string {
  const note = join(dataDir, 'postgres.location');
  return existsSync(note) ? readFileSync(note, 'utf8').trim() : join(dataDir, 'postgres');
}

const dataDirs: string[] = [];
function newDataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'opsdeck-fault-emb-'));
  dataDirs.push(d);
  return d;
}

/** rows of metrics_system per node, read over the embedded server's socket. */
async function storedByNode(dataDir: string): Promise<Map<string, number>> {
  const sql = postgres({ host: join(clusterHome(dataDir), 'run'), port: 5432, user: 'opsdeck', database: 'postgres', max: 1, onnotice: () => {} });
  try {
    const rows = await sql<{ node_id: string; n: number }[]>`SELECT node_id, count(*)::int AS n FROM metrics_system GROUP BY node_id`;
    return new Map(rows.map((r) => [r.node_id, r.n]));
  } finally {
    await sql.end();
  }
}

function run(args: string[], env: Record<string, string>, as?: { uid: number; gid: number }): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['bin/opsdeck.mjs', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'warn', OPSDECK_SELF_MONITOR: 'false', OPSDECK_ADMIN_PASSWORD: ADMIN_PASSWORD, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(as ?? {}),
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += String(d)));
  child.stderr.on('data', (d) => (err += String(d)));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, out, err })));
}

describe('fault: opsdeck serve on its embedded PostgreSQL server', { skip: skipUnlessServer }, () => {
  const running: ServeProcess[] = [];
  after(async () => {
    for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
    await sleep(500);
    for (const d of dataDirs) {
      if (existsSync(join(d, 'postgres.location'))) rmSync(clusterHome(d), { recursive: true, force: true });
      rmSync(d, { recursive: true, force: true });
    }
  });

  test('SIGKILL in the middle of ingestion: the server stops with Opsdeck; restarted on the same data folder, every acknowledged row is there', { timeout: 240_000 }, async () => {
    const dataDir = newDataDir();
    const first = await spawnServe({ ...EMBEDDED, OPSDECK_DATA_DIR: dataDir }, await freePort(), 120_000);
    running.push(first);
    const { key } = await credentialsOver(first.base, ['ingest']);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const acknowledged: string[] = [];
    let stop = false;
    let seq = 0;
    const worker = async (w: number) => {
      while (!stop) {
        const nodeId = `kill-w${w}-b${seq++}`;
        try {
          const res = await httpRequest(first.base, {
            method: 'POST',
            path: '/api/v1/metrics',
            headers: { authorization: key, 'content-type': 'application/json' },
            body: ingestBody(nodeId, ROWS),
            agent,
            timeoutMs: 15_000,
          });
          if (res.statusCode >= 200 && res.statusCode < 300) acknowledged.push(nodeId);
        } catch {
          return; // the process is gone: nothing more is acknowledged
        }
      }
    };
    const workers = [0, 1, 2].map(worker);
    while (acknowledged.length < 15) await sleep(10);
    const postmaster = Number(readFileSync(join(clusterHome(dataDir), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    first.child.kill('SIGKILL');
    await first.exited;
    stop = true;
    await Promise.all(workers);
    agent.destroy();

    // The watchdog saw its pipe close and asked for a fast shutdown, which removes postmaster.pid.
    const pidFile = join(clusterHome(dataDir), 'data', 'postmaster.pid');
    for (let i = 0; i < 600 && existsSync(pidFile); i++) await sleep(100);
    assert.equal(existsSync(pidFile), false, `the embedded server (pid ${postmaster}) stopped after Opsdeck was killed`);

    const second = await spawnServe({ ...EMBEDDED, OPSDECK_DATA_DIR: dataDir }, await freePort(), 120_000);
    running.push(second);
    const stored = await storedByNode(dataDir);
    const missing = acknowledged.filter((n) => stored.get(n) !== ROWS);
    assert.deepEqual(missing, [], `${acknowledged.length} acknowledged batches of ${ROWS} rows; these are not complete after the restart`);
    second.child.kill('SIGTERM');
    assert.equal((await second.exited).code, 0, second.output());
  });

  test('Ctrl-C in a terminal (SIGINT to Opsdeck\'s process group) reaches Opsdeck only; it drains, closes its pool, then stops the server: exit 0', { timeout: 180_000 }, async () => {
    const dataDir = newDataDir();
    const port = await freePort();
    // A terminal's foreground job: Opsdeck leads a process group of its own.
    const child = spawn(process.execPath, ['bin/opsdeck.mjs', 'serve'], {
      cwd: REPO_ROOT,
      detached: true,
      env: { ...process.env, ...EMBEDDED, OPSDECK_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info', OPSDECK_SELF_MONITOR: 'false', OPSDECK_ADMIN_PASSWORD: ADMIN_PASSWORD },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    try {
      for (let i = 0; i < 1200 && !out.includes('listening on') && child.exitCode === null; i++) await sleep(100);
      assert.match(out, /listening on/);
      const pgid = (pid: number) => {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      };
      const postmaster = Number(readFileSync(join(clusterHome(dataDir), 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      assert.equal(pgid(child.pid!), child.pid, 'Opsdeck leads its process group');
      assert.notEqual(pgid(postmaster), child.pid, 'the embedded server is outside Opsdeck\'s process group');
      process.kill(-child.pid!, 'SIGINT');
      assert.equal(await exited, 0, out);
      assert.match(out, /"msg":"stopped"/);
      assert.doesNotMatch(out, /terminating connection due to administrator command|error during shutdown/);
      assert.equal(existsSync(join(clusterHome(dataDir), 'data', 'postmaster.pid')), false, 'the server stopped after Opsdeck');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  test('a data folder Opsdeck cannot write: one clear line, exit code 1', { timeout: 120_000 }, async () => {
    const dataDir = newDataDir();
    // Root writes anywhere: as root, Opsdeck runs as nobody on a folder nobody owns but may not write.
    const as = root ? { uid: 65534, gid: 65534 } : undefined;
    if (as) chownSync(dataDir, as.uid, as.gid);
    chmodSync(dataDir, 0o500);
    const r = await run(['serve'], { ...EMBEDDED, OPSDECK_DATA_DIR: dataDir, PORT: String(await freePort()) }, as);
    assert.equal(r.code, 1, `${r.out}${r.err}`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `one line, not a stack trace:\n${r.err}`);
    assert.match(lines[0]!, new RegExp(`^opsdeck: the data folder ${dataDir} is not writable by this user`));
    assert.doesNotMatch(r.out, /listening on/);
    chmodSync(dataDir, 0o700);
  });

  test('a second Opsdeck on the same data folder is refused clearly; the first keeps working', { timeout: 240_000 }, async () => {
    const dataDir = newDataDir();
    const first = await spawnServe({ ...EMBEDDED, OPSDECK_DATA_DIR: dataDir }, await freePort(), 120_000);
    running.push(first);
    const { key } = await credentialsOver(first.base, ['ingest']);

    const r = await run(['serve'], { ...EMBEDDED, OPSDECK_DATA_DIR: dataDir, PORT: String(await freePort()) });
    assert.equal(r.code, 1, `${r.out}${r.err}`);
    assert.match(r.err, new RegExp(`^opsdeck: another Opsdeck \\(pid ${first.child.pid}\\) is using the data folder ${dataDir}`));
    assert.doesNotMatch(r.out, /listening on/);
    // `opsdeck db migrate` opens the same database: refused the same way while serve runs.
    const m = await run(['db', 'migrate'], { ...EMBEDDED, OPSDECK_DATA_DIR: dataDir });
    assert.equal(m.code, 1, `${m.out}${m.err}`);
    assert.match(m.err, /another Opsdeck \(pid \d+\) is using the data folder/);

    const res = await httpRequest(first.base, {
      method: 'POST',
      path: '/api/v1/metrics',
      headers: { authorization: key, 'content-type': 'application/json' },
      body: ingestBody('after-second', ROWS),
    });
    assert.equal(res.statusCode, 200, res.body);
    assert.equal((await storedByNode(dataDir)).get('after-second'), ROWS);
    first.child.kill('SIGTERM');
    assert.equal((await first.exited).code, 0, first.output());

    // Once the first has stopped, the CLI opens the same database.
    const status = await run(['db', 'migrate', 'status'], { ...EMBEDDED, OPSDECK_DATA_DIR: dataDir });
    assert.equal(status.code, 0, `${status.out}${status.err}`);
    assert.match(status.out, /core/);
  });
});
