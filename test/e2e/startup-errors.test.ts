/**
 * A start whose database cannot be reached: `opsdeck serve` and `opsdeck db
 * migrate` print one line that says what failed and what to check, no stack
 * trace, and exit non-zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../support/pg-server.ts';

function run(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/opsdeck.mjs', ...args], { env: { ...process.env, LOG_LEVEL: 'warn', OPSDECK_SELF_MONITOR: 'false', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += String(d)));
  child.stderr.on('data', (d) => (stderr += String(d)));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stdout, stderr })));
}

for (const args of [['serve'], ['db', 'migrate']]) {
  test(`opsdeck ${args.join(' ')} with an unreachable DATABASE_URL: one clear line, exit 1`, { timeout: 120_000 }, async () => {
    // A port nothing listens on: the connection is refused.
    const port = await freePort();
    const r = await run(args, { DATABASE_URL: `postgres://opsdeck:s3cret-pw@127.0.0.1:${port}/opsdeck`, PORT: String(await freePort()) });
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line, not a stack trace:\n${r.stderr}`);
    assert.match(lines[0]!, /^opsdeck: cannot reach the database/);
    assert.match(lines[0]!, new RegExp(`127\\.0\\.0\\.1:${port}`), 'names the server');
    assert.match(lines[0]!, /ECONNREFUSED/, 'says why');
    assert.match(lines[0]!, /check DATABASE_URL/, 'says what to check');
    assert.doesNotMatch(r.stderr, /s3cret-pw/, 'the password is not printed');
    assert.doesNotMatch(r.stdout, /listening on/);
  });
}

test('a data folder holding only the PGlite database of an earlier Opsdeck: refused with what to set, nothing created', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-oldpglite-'));
  try {
    chmodSync(dir, 0o700);
    mkdirSync(join(dir, 'pglite'), { mode: 0o700 });
    writeFileSync(join(dir, 'pglite', 'PG_VERSION'), '17\n');
    const env = { OPSDECK_DATA_DIR: dir, PORT: String(await freePort()), DATABASE_URL: '' };
    const r = await run(['serve'], env);
    assert.equal(r.code, 1, `${r.stdout}${r.stderr}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0]!, /PGlite database of an earlier Opsdeck/);
    assert.match(lines[0]!, /OPSDECK_EMBEDDED=pglite/);
    assert.deepEqual(readdirSync(dir).sort(), ['pglite'], 'no PostgreSQL cluster was created beside it');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
