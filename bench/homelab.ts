/**
 * Home-lab collection cost: one scheduled round over N devices (default 20) — system
 * metrics, containers and drives of each — and its database cost, on a throwaway
 * embedded PostgreSQL server (or BENCH_DATABASE_URL).
 *
 *   node --import tsx bench/homelab.ts        # BENCH_HOMELAB_DEVICES=20
 *
 * The devices are N rows pointing at ONE loopback sshd (test/support/ssh-server.ts, the
 * stand-ins print the recorded docker/podman/smartctl outputs; /proc is this machine's),
 * so the SSH side measures sessions and commands on one machine, not N machines' latency.
 * Reports: wall time of the round (the job path: claim due schedules, 4 devices at once),
 * operations, SSH connections created/reused, commands, rows written per table,
 * transactions committed and tuples inserted/updated (pg_stat_database deltas); then a
 * second round inside the TTLs (all cache hits). Not wired into bench/run.ts.
 */
import pino from 'pino';
import { PostgresDatabase } from '../src/db/postgres-driver.ts';
import { migrate } from '../src/db/migrator.ts';
import { SecretBox } from '../src/crypto/secrets.ts';
import { systemClock } from '../src/domain/clock.ts';
import { FAMILIES } from '../src/modules/families.ts';
import { STREAMS } from '../src/modules/streams.ts';
import { createHomelabModule } from '../src/modules/homelab/index.ts';
import { TimeseriesStore } from '../src/timeseries/store.ts';
import { StreamStore } from '../src/timeseries/stream-store.ts';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';
import { startSshServer } from '../test/support/ssh-server.ts';

const DEVICES = Number(process.env.BENCH_HOMELAB_DEVICES ?? 20);
const TABLES = ['metrics_system', 'container_snapshots', 'drive_health', 'data_collection_audit', 'cache_metadata', 'service_performance_metrics'];

async function main(): Promise<void> {
  let server: PgServer | null = null;
  const url = process.env.BENCH_DATABASE_URL ?? (server = await startPgServer()).url;
  const db = new PostgresDatabase({ url });
  const sshd = await startSshServer();
  try {
    const logger = pino({ level: 'silent' });
    const r = await migrate(db);
    const store = new TimeseriesStore({ db, tier: r.tier.tier, families: FAMILIES, logger });
    const streams = new StreamStore({ db, tier: r.tier.tier, streams: STREAMS, logger });
    const hl = createHomelabModule({ db, store, streams, secrets: new SecretBox(Buffer.alloc(32, 3)), clock: systemClock, logger });
    for (let i = 0; i < DEVICES; i++) {
      const d = await hl.registry.register({ id: `bench-dev-${String(i).padStart(2, '0')}`, address: sshd.host, port: sshd.port, username: 'root', generate: true });
      sshd.authorize(d.publicKey);
    }
    await db.query(`UPDATE device_collection_schedules SET enabled = (data_type <> 'config')`);
    const counts = async () => {
      const out: Record<string, number> = {};
      for (const t of TABLES) out[t] = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM ${t}`))!.n;
      return out;
    };
    const stat = async () =>
      (await db.queryOne<{ commits: number; ins: number; upd: number }>(
        `SELECT xact_commit::float8 AS commits, tup_inserted::float8 AS ins, tup_updated::float8 AS upd FROM pg_stat_database WHERE datname = current_database()`,
      ))!;
    const round = async (label: string) => {
      await db.exec('SELECT pg_stat_clear_snapshot()');
      const c0 = await counts();
      const s0 = await stat();
      const p0 = { ...hl.pool.counters };
      const t0 = performance.now();
      const summary = await hl.scheduler.runDue();
      const ms = performance.now() - t0;
      await new Promise((res) => setTimeout(res, 600)); // pg_stat_database is updated by the backends at most every 500 ms
      await db.exec('SELECT pg_stat_clear_snapshot()');
      const c1 = await counts();
      const s1 = await stat();
      const rows = Object.fromEntries(TABLES.map((t) => [t, c1[t]! - c0[t]!]));
      console.log(
        JSON.stringify({
          round: label,
          devices: summary.devices,
          operations: summary.operations,
          failed: summary.failed,
          wallMs: Math.round(ms),
          sshConnectionsCreated: hl.pool.counters.created - p0.created,
          sshConnectionsReused: hl.pool.counters.reused - p0.reused,
          sshCommands: hl.pool.counters.commands - p0.commands,
          rowsAdded: rows,
          transactionsCommitted: s1.commits - s0.commits,
          tuplesInserted: s1.ins - s0.ins,
          tuplesUpdated: s1.upd - s0.upd,
        }),
      );
    };
    await round('first (everything collected)');
    await db.query('UPDATE device_collection_schedules SET next_due_at = now() - interval \'1 second\'');
    await round('second (within the TTLs: cache hits)');
    hl.close();
  } finally {
    await sshd.close();
    await db.close();
    await server?.stop();
  }
}

await main();
