/**
 * End to end: the real `opsdeck serve` process on the embedded database —
 * banner, login, ingest, query, self-monitoring, SIGTERM; the data folder is
 * the owner's only; a start whose database cannot be reached says so in one line.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/pg-server.ts';

/** Every folder and file under `dir` (and `dir` itself) whose mode lets group or others in. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const walk = (p: string) => {
    const st = lstatSync(p);
    if ((st.mode & 0o077) !== 0) found.push(`${p} ${(st.mode & 0o777).toString(8)}`);
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(dir);
  return found;
}

/** Where the embedded PostgreSQL cluster of `dataDir` lives: recorded there when Opsdeck runs as root, else in it. */
export function clusterHomeOf(dataDir: string): string {
  const note = join(dataDir, 'postgres.location');
  return existsSync(note) ? readFileSync(note, 'utf8').trim() : join(dataDir, 'postgres');
}

for (const embedded of ['postgres', 'pglite'] as const) {
  test(`npm start path: opsdeck serve on the embedded ${embedded} serves, records itself, and stops on SIGTERM`, { timeout: 180_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-e2e-'));
    // An existing data folder open to others is tightened at start.
    chmodSync(dataDir, 0o755);
    const port = await freePort();
    const password = 'e2e-root-password-123';
    // Started with the common umask 022: what the process creates must still be the owner's only.
    const child = spawn('/bin/sh', ['-c', 'umask 022 && exec "$0" "$@"', process.execPath, 'bin/opsdeck.mjs', 'serve'], {
      env: {
        ...process.env,
        DATABASE_URL: '',
        // Unset means postgres: the default is tested without the variable.
        ...(embedded === 'pglite' ? { OPSDECK_EMBEDDED: 'pglite' } : {}),
        OPSDECK_DATA_DIR: dataDir,
        PORT: String(port),
        OPSDECK_ADMIN_PASSWORD: password,
        OPSDECK_SELF_MONITOR_INTERVAL: '1',
        OPSDECK_NODE_ID: 'e2e-host',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (out += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const started = Date.now();
      while (!out.includes('listening on') && Date.now() - started < 120_000 && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`listening on http://127\\.0\\.0\\.1:${port}`));
      assert.match(out, /API docs: +http:\/\/127\.0\.0\.1:\d+\/docs/);
      assert.match(out, new RegExp(`Dashboard: +http://127\\.0\\.0\\.1:${port}/`));
      assert.match(out, /Log in: +user "admin"/);
      assert.match(out, embedded === 'pglite' ? /Storage: +embedded PGlite/ : /Storage: +embedded PostgreSQL 17 in \//);
      const base = `http://127.0.0.1:${port}`;

      // The dashboard was bundled at start: its page names a script that is served.
      const page = await fetch(`${base}/`, { headers: { accept: 'text/html' } });
      assert.equal(page.status, 200);
      const script = /src="(\/assets\/main-[A-Z0-9]+\.js)"/.exec(await page.text());
      assert.ok(script, 'index.html names the bundled script');
      assert.equal((await fetch(`${base}${script[1]}`)).status, 200);

      const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
      assert.equal(login.status, 200);
      const { accessToken } = (await login.json()) as { accessToken: string };
      const auth = { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' };

      const now = Date.now();
      const data = Array.from({ length: 100 }, (_, i) => ({ nodeId: 'e2e-node', timestamp: new Date(now - i * 15_000).toISOString(), cpuPercent: i % 100 }));
      const ingest = await fetch(`${base}/api/v1/metrics`, { method: 'POST', headers: auth, body: JSON.stringify({ type: 'system', data }) });
      assert.equal(ingest.status, 200);
      assert.deepEqual(await ingest.json(), { family: 'system', received: 100, inserted: 100, duplicates: 0 });

      const q = await fetch(`${base}/api/v1/metrics/system?nodeId=e2e-node&from=${new Date(now - 2 * 3_600_000).toISOString()}&to=${new Date(now + 1000).toISOString()}`, { headers: auth });
      const answer = (await q.json()) as { resolution: string; points: unknown[] };
      assert.equal(answer.resolution, 'raw');
      assert.equal(answer.points.length, 100);

      // self-monitoring: the host's own samples, read from the OS
      let self: { points: { cpuPercent: number | null; ramTotalBytes: number | null }[] } = { points: [] };
      for (let i = 0; i < 50 && self.points.filter((p) => p.cpuPercent !== null).length === 0; i++) {
        await new Promise((r) => setTimeout(r, 200));
        self = (await (await fetch(`${base}/api/v1/metrics/system?nodeId=e2e-host&resolution=raw`, { headers: auth })).json()) as typeof self;
      }
      assert.ok(self.points.length >= 2, 'self-monitoring samples stored');
      assert.ok(self.points.some((p) => (p.ramTotalBytes ?? 0) > 0 && p.cpuPercent !== null && p.cpuPercent >= 0 && p.cpuPercent <= 100));

      // Exits by itself with 0 (a hang ends at the test timeout; the speed of shutdown belongs in the bench).
      child.kill('SIGTERM');
      const code = await exited;
      assert.equal(code, 0, out);

      const files = readdirSync(embedded === 'pglite' ? join(dataDir, 'pglite') : join(clusterHomeOf(dataDir), 'data'), { recursive: true });
      assert.ok(files.length > 100, `the embedded database was written (${files.length} entries)`);
      if (embedded === 'postgres') {
        // Stopped with Opsdeck: a server that shut down removes its pid file.
        assert.equal(existsSync(join(clusterHomeOf(dataDir), 'data', 'postmaster.pid')), false, 'the embedded PostgreSQL server stopped with Opsdeck');
      }
      assert.deepEqual(openToOthers(dataDir), [], 'every folder and file under the data folder is the owner\'s only (0700/0600)');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      if (existsSync(join(dataDir, 'postgres.location'))) rmSync(clusterHomeOf(dataDir), { recursive: true, force: true });
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
