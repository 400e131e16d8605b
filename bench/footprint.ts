/**
 * Idle memory of `npm start`: starts `node bin/opsdeck.mjs serve` on a fresh
 * temporary data folder (self-monitoring on, jobs on — the defaults), waits,
 * then prints the PSS (proportional set size, /proc/<pid>/smaps_rollup; in MiB) of every
 * process of its tree — Opsdeck, the embedded PostgreSQL watchdog and server
 * processes — and the total. PSS splits shared pages among the processes that
 * share them, so the sum is what the tree costs the machine.
 *
 *   node --import tsx bench/footprint.ts
 *   FOOTPRINT_SECONDS=60 node --import tsx bench/footprint.ts        (default 300)
 *   FOOTPRINT_EMBEDDED=pglite node --import tsx bench/footprint.ts   (default postgres)
 *   FOOTPRINT_JSON=1 …                                                 one JSON line instead of the table
 *
 * Linux only (reads /proc).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCommand } from './lib/start-flags.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const seconds = Number(process.env.FOOTPRINT_SECONDS ?? 300);
const embedded = process.env.FOOTPRINT_EMBEDDED ?? 'postgres';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** pid → parent pid of every process. */
function parents(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The command name may hold spaces and parentheses: the fields after the last ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      out.set(Number(name), ppid);
    } catch {
      /* gone */
    }
  }
  return out;
}

function tree(root: number): number[] {
  const pp = parents();
  const found = [root];
  for (let i = 0; i < found.length; i++) for (const [pid, ppid] of pp) if (ppid === found[i]) found.push(pid);
  return found;
}

function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

function command(pid: number): string {
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/[\0\s]+/g, ' ').trim().slice(0, 70);
}

const dataDir = mkdtempSync(join(tmpdir(), 'opsdeck-footprint-'));
const port = await freePort();
// As `npm start` runs it: with the start script's environment and Node flags.
const start = startCommand();
const child = spawn(process.execPath, [...start.flags, 'bin/opsdeck.mjs', 'serve'], {
  cwd: ROOT,
  env: { ...process.env, ...start.env, DATABASE_URL: '', OPSDECK_DATA_DIR: dataDir, OPSDECK_EMBEDDED: embedded, PORT: String(port), LOG_LEVEL: 'warn', OPSDECK_ADMIN_PASSWORD: 'footprint-idle-password-1' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
let out = '';
child.stdout.on('data', (d: Buffer) => (out += String(d)));
child.stderr.on('data', (d: Buffer) => (out += String(d)));
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
try {
  for (let i = 0; i < 1200 && !out.includes('listening on') && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
  if (!out.includes('listening on')) throw new Error(`opsdeck serve did not start:\n${out}`);
  process.stderr.write(`opsdeck serve (${embedded}) started; idling ${seconds} s…\n`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const rows = tree(child.pid!).map((pid) => ({ pid, pssMB: Math.round(pssKb(pid) / 102.4) / 10, command: command(pid) }));
  const totalMB = Math.round(rows.reduce((s, r) => s + r.pssMB, 0) * 10) / 10;
  if (process.env.FOOTPRINT_JSON) console.log(JSON.stringify({ embedded, seconds, totalMB, processes: rows }));
  else {
    for (const r of rows) console.log(`${String(r.pid).padStart(8)} ${r.pssMB.toFixed(1).padStart(8)} MiB  ${r.command}`);
    console.log(`${'total'.padStart(8)} ${totalMB.toFixed(1).padStart(8)} MiB  (PSS, ${rows.length} processes, embedded ${embedded}, after ${seconds} s idle)`);
  }
} finally {
  child.kill('SIGTERM');
  await exited;
  const note = join(dataDir, 'postgres.location');
  if (existsSync(note)) rmSync(readFileSync(note, 'utf8').trim(), { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
}
