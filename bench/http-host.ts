/**
 * Hosts the real Opsdeck app (createRuntime + app.listen, in this process) for
 * the HTTP benchmarks, and drives it from separate load processes
 * (bench/load-worker.ts). Runs in its own process, forked by bench/run.ts, so
 * its peak RSS is the server's alone: the benchmark process holds a million
 * generated rows that must not count as server memory. It runs as a bundle
 * (dist/bench-http-host.mjs, bin/bundle.mjs), without a TypeScript loader, as
 * `npm start` runs Opsdeck.
 *
 * Input: one JSON argument (HostTask). Output: one IPC message (HostResult).
 */
import { fork } from 'node:child_process';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import Fastify from 'fastify';
import { randomBytes } from 'node:crypto';
import { loadConfig } from '../src/config.ts';
import { rootPath } from '../src/paths.ts';
import type { Principal } from '../src/domain/access.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import type { EmailShape } from './lib/email-gen.ts';
import { STEP_MS, type DataShape } from './lib/gen.ts';
import { profiled, type ProfileSummary } from './lib/profile.ts';
import { PgCpuMeter, memoryMiB, nodeCpuSince, round } from './lib/util.ts';
import type { BatchResult, CaseServerCost, LoadResult, LoadTask, QueryCase, QueryResult, SingleResult } from './load-worker.ts';

export interface HostTask {
  tier: 'server' | 'embedded';
  /** Where the ingest items (2, 3) write: a fresh database. */
  ingestDb: { databaseUrl?: string; dataDir?: string };
  /** Where the query item (4) reads: the pre-loaded, rolled-up data set. */
  queryDb: { databaseUrl?: string; dataDir?: string; shape: DataShape } | null;
  batch: { shape: DataShape; rows: number; batchRows: number; connections: number } | null;
  single: { seconds: number; connections: number; endMs: number } | null;
  queryReps: number;
  rawQueryReps: number;
  /** auto: real credentials when the auth module offers them, else a marked stub; stub: always the stub. */
  authMode: 'auto' | 'stub';
  /** Server tier on this machine: also measure the PostgreSQL server's CPU. */
  localServer: boolean;
  /** Longest time spent repeating one query case (at least 3 repetitions). */
  queryCaseSeconds: number;
  /** BENCH_CPU_PROF=1: write a .cpuprofile per phase with this path prefix. */
  profilePrefix: string | null;
  /** email_events (E.2–E.4): ingest into a fresh database, stats queries over a loaded, rolled-up week. */
  events?: HostEventsTask | null;
  /**
   * Stop just before item 2 and just after it until the parent says go on (see `pause`): the parent
   * runs raw COPY of the same rows (and the peer) there, so item 2 is compared with a COPY measured
   * next to it rather than minutes before, when this shared machine may have run at another speed.
   */
  pauseAroundBatch?: boolean;
}

export interface HostEventsTask {
  ingestDb: { databaseUrl?: string; dataDir?: string };
  batch: { shape: EmailShape; batchEvents: number; connections: number } | null;
  single: { seconds: number; connections: number; endMs: number } | null;
  /** statementTimeoutMs: the stats app's statement timeout (the bench measures queries longer than the default 30 s). */
  statsDb: { databaseUrl?: string; dataDir?: string; cases: QueryCase[]; statementTimeoutMs?: number } | null;
}

export interface HostEventsResult {
  batch: (BatchResult & { storedRows: number; phase: PhaseStats }) | null;
  single: (SingleResult & { storedRows: number; phase: PhaseStats }) | null;
  stats: (QueryResult & { phase: PhaseStats }) | null;
}

export interface PhaseStats {
  seconds: number;
  nodeCpuSeconds: number;
  pgCpuSeconds: number | null;
  peakRssMiB: number;
  /** Server tier: write transactions (transaction ids consumed) during the phase, server-wide. */
  pgWriteTransactions: number | null;
  profile?: ProfileSummary | null;
}

export interface HostResult {
  tier: 'server' | 'embedded';
  auth: { method: string; note?: string };
  batch: (BatchResult & { storedRows: number; phase: PhaseStats }) | null;
  single: (SingleResult & { storedRows: number; phase: PhaseStats }) | null;
  /** B.3's load against a bare Fastify server (server tier only; see bareFloor). */
  singleFloor?: SingleFloor;
  /** After items 2–3, before any rollup refresh (jobs are off): the pending rollup work and queries that must read it. */
  pending: { invalidationRows: number; distinctBuckets: number; queries: QueryResult | null } | null;
  query: (QueryResult & { phase: PhaseStats; dataset: DataShape }) | null;
  events: HostEventsResult | null;
  memory: { peakRssMiB: number; vmHwmMiB: number; idleRssAfterStartMiB: number };
}

const ADMIN_PASSWORD = `bench-${randomBytes(9).toString('hex')}`;
const JWT_SECRET = randomBytes(32).toString('hex');

/** Tells the parent this host is at `name` and waits until the parent answers `{ resume: name }`. The app stays up, idle. */
function pause(name: string): Promise<void> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if ((m as { resume?: string } | null)?.resume !== name) return;
      process.off('message', onMessage);
      resolve();
    };
    process.on('message', onMessage);
    process.send!({ pause: name });
  });
}

let phasePeak = 0;
let overallPeak = 0;
setInterval(() => {
  const rss = process.memoryUsage().rss / 1024 / 1024;
  phasePeak = Math.max(phasePeak, rss);
  overallPeak = Math.max(overallPeak, rss);
}, 25).unref();

async function startApp(db: { databaseUrl?: string; dataDir?: string }, overrides: { statementTimeoutMs?: number; requestTimeoutMs?: number } = {}): Promise<{ rt: Runtime; base: string }> {
  const config = loadConfig(
    {},
    {
      port: 0,
      host: '127.0.0.1',
      jobs: false,
      selfMonitor: false,
      // The default log level (info), as `npm start` runs.
      databaseUrl: db.databaseUrl,
      ...(db.dataDir ? { dataDir: db.dataDir } : {}),
      adminPassword: ADMIN_PASSWORD,
      jwtSecret: JWT_SECRET,
      ...overrides,
    },
  );
  const rt = await createRuntime(config);
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = rt.app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return { rt, base: `http://127.0.0.1:${port}` };
}

/** Finds the first string in a JSON value whose key matches, or that matches a value pattern. */
function findString(v: unknown, keyRe: RegExp | null, valueRe: RegExp | null): string | null {
  if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x === 'string' && ((keyRe && keyRe.test(k)) || (valueRe && valueRe.test(x)))) return x;
    }
    for (const x of Object.values(v as Record<string, unknown>)) {
      const r = findString(x, keyRe, valueRe);
      if (r) return r;
    }
  }
  return null;
}

/**
 * AUTH STEP. The real path: log in as `admin`, create an API key with scopes
 * ingest+read (POST /api/v1/api-keys), use it as the Bearer credential.
 * While src/modules/auth is still the placeholder (no route accepts any
 * credential), the benchmark falls back to a STUB: the runtime's authenticator
 * accepts one random bench token as an API key. The stub skips the cost of
 * verifying a real credential; results say which method was used.
 */
async function credentials(rt: Runtime, base: string, mode: 'auto' | 'stub'): Promise<{ token: string; method: string; note?: string }> {
  let note = '';
  if (mode === 'auto') {
    try {
      const login = await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
      });
      if (login.ok) {
        const access = findString(await login.json(), /^(access_?token|accessToken|token)$/i, null);
        if (access) {
          const keyRes = await fetch(`${base}/api/v1/api-keys`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${access}` },
            body: JSON.stringify({ name: 'bench', scopes: ['ingest', 'read'] }),
          });
          const body = (await keyRes.json().catch(() => null)) as unknown;
          const key = keyRes.ok ? findString(body, /^(key|apiKey|secret|token)$/i, /^odk_/) : null;
          if (key) return { token: key, method: 'api-key (POST /api/v1/auth/login + POST /api/v1/api-keys)' };
          note = `api-key creation failed (HTTP ${keyRes.status}); using the admin access token`;
          return { token: access, method: 'user access token (admin)', note };
        }
        note = 'login answered without an access token';
      } else {
        note = `POST /api/v1/auth/login → HTTP ${login.status} (auth module not available yet)`;
      }
    } catch (err) {
      note = `login failed: ${String(err)}`;
    }
  }
  const token = `bench-stub-${randomBytes(16).toString('hex')}`;
  const authenticator = rt.auth.authenticator as { authenticate(h: string | undefined): Promise<Principal | null> };
  const original = authenticator.authenticate.bind(authenticator);
  const principal: Principal = { kind: 'apiKey', keyId: 0, name: 'bench-stub', scopes: ['ingest', 'read'] };
  authenticator.authenticate = async (h) => (h === `Bearer ${token}` ? principal : original(h));
  return { token, method: 'STUB authenticator (bench-only; real API-key verification not measured)', ...(note ? { note } : {}) };
}

function runWorker(task: LoadTask, onCaseMark?: (name: string | null) => void): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const child = fork(rootPath('bench', 'load-worker.ts'), [JSON.stringify(task)], {
      execArgv: ['--import', 'tsx', '--max-old-space-size=6144'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: LoadResult | null = null;
    child.on('message', (m) => {
      if (m !== null && typeof m === 'object' && 'caseMark' in m) onCaseMark?.((m as { caseMark: string | null }).caseMark);
      else result = m as LoadResult;
    });
    child.on('error', reject);
    child.on('exit', (code) => (result ? resolve(result) : reject(new Error(`load worker exited with ${code} and no result`))));
  });
}

/** The CPU meter of the database's processes, when they run on this machine. */
async function pgMeter(rt: Runtime, localServer: boolean): Promise<PgCpuMeter | null> {
  if (!localServer || rt.db.driver !== 'postgres') return null;
  const r = await rt.db.queryOne<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  const meter = r ? new PgCpuMeter(r.pid) : null;
  return meter?.available ? meter : null;
}

/**
 * What the server spends on each query case's timed requests, between the load worker's case
 * marks: this process's CPU, its garbage-collection pauses (by their start time) and the
 * database's CPU. Where a slow request's time goes (GC, Node, PostgreSQL) without a profiler.
 */
class CaseCosts {
  private readonly spans: { name: string; t0: number; t1: number; cpu: NodeJS.CpuUsage; cpuEnd: NodeJS.CpuUsage | null; pg0: Map<number, number> | null; pgCpuMs: number | null }[] = [];
  private readonly gcs: { start: number; duration: number; major: boolean }[] = [];
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.gcs.push({ start: e.startTime, duration: e.duration, major: ((e as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR });
  });

  constructor(private readonly meter: PgCpuMeter | null) {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  mark(name: string | null): void {
    const open = this.spans.at(-1);
    if (open && open.cpuEnd === null) {
      open.t1 = performance.now();
      open.cpuEnd = process.cpuUsage(open.cpu);
      if (open.pg0 && this.meter) open.pgCpuMs = Math.round(PgCpuMeter.delta(open.pg0, this.meter.snapshot()) * 1000);
    }
    if (name !== null) this.spans.push({ name, t0: performance.now(), t1: Infinity, cpu: process.cpuUsage(), cpuEnd: null, pg0: this.meter?.snapshot() ?? null, pgCpuMs: null });
  }

  /** Per case name; call after the worker ended (the observer's last entries arrive a tick later). */
  async results(): Promise<Map<string, CaseServerCost>> {
    await new Promise((r) => setImmediate(r));
    this.observer.disconnect();
    const out = new Map<string, CaseServerCost>();
    for (const sp of this.spans) {
      if (sp.cpuEnd === null) continue;
      const inside = this.gcs.filter((g) => g.start >= sp.t0 && g.start < sp.t1);
      out.set(sp.name, {
        nodeCpuMs: Math.round((sp.cpuEnd.user + sp.cpuEnd.system) / 1000),
        gcPauseMs: round(inside.reduce((a, g) => a + g.duration, 0), 1),
        majorGcs: inside.filter((g) => g.major).length,
        pgCpuMs: sp.pgCpuMs,
      });
    }
    return out;
  }
}

async function measured<T>(rt: Runtime, localServer: boolean, run: () => Promise<T>, profileFile: string | null): Promise<{ value: T; phase: PhaseStats }> {
  const meter = await pgMeter(rt, localServer);
  const before = meter ? meter.snapshot() : null;
  // txid_current() assigns (and so consumes) one transaction id itself.
  const xacts = async () => (rt.db.driver === 'postgres' ? Number((await rt.db.queryOne<{ n: number }>('SELECT txid_current() AS n'))?.n ?? NaN) : NaN);
  const x0 = await xacts();
  phasePeak = process.memoryUsage().rss / 1024 / 1024;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { value, profile } = await profiled(profileFile, run);
  const seconds = (performance.now() - t0) / 1000;
  const pgCpuSeconds = before && meter ? PgCpuMeter.delta(before, meter.snapshot()) : null;
  const x1 = await xacts();
  return {
    value,
    phase: {
      ...(profile ? { profile } : {}),
      pgWriteTransactions: Number.isFinite(x1 - x0) ? x1 - x0 - 1 : null,
      seconds: round(seconds, 2),
      nodeCpuSeconds: nodeCpuSince(cpu0),
      pgCpuSeconds,
      peakRssMiB: round(phasePeak),
    },
  };
}

async function storedRows(rt: Runtime): Promise<number> {
  const r = await rt.db.queryOne<{ n: number }>('SELECT count(*)::bigint AS n FROM metrics_system');
  return Number(r?.n ?? 0);
}

function queryCases(shape: DataShape, reps: number, rawReps: number, maxSeconds: number): QueryCase[] {
  const to = new Date(shape.endMs + STEP_MS);
  const spans: [string, number][] = [
    ['1h', 3_600_000],
    ['24h', 86_400_000],
    ['7d', 7 * 86_400_000],
    ['30d', 30 * 86_400_000],
  ];
  const cases: QueryCase[] = [];
  for (const resolution of ['auto', 'raw'] as const) {
    for (const [label, ms] of spans) {
      for (const scope of ['one node', 'all nodes'] as const) {
        // the compact columnar answer (format=columns): what a chart asks for
        const qs = new URLSearchParams({ from: new Date(to.getTime() - ms).toISOString(), to: to.toISOString(), resolution, format: 'columns' });
        if (scope === 'one node') qs.set('nodeId', `${shape.prefix ?? 'node'}-000`);
        cases.push({ name: `${resolution} ${label} ${scope}`, path: `/api/v1/metrics/system?${qs.toString()}`, reps: resolution === 'auto' ? reps : rawReps, maxSeconds });
      }
    }
  }
  // 30 days of one node raw, every page (an answer holds 20,000 rows of every field): what
  // reading the range raw costs, the other side of the rollups' speed-up
  const one = cases.find((c) => c.name === 'raw 30d one node');
  if (one) cases.push({ ...one, name: 'raw 30d one node, every page', allPages: true });
  // the 30-day all-nodes chart at 1 hour, two fields (one answer), columnar
  const chart = new URLSearchParams({ from: new Date(to.getTime() - 30 * 86_400_000).toISOString(), to: to.toISOString(), resolution: '1h', format: 'columns', fields: 'cpuPercent,ramUsedBytes' });
  cases.push({ name: '1h chart 30d all nodes (2 fields)', path: `/api/v1/metrics/system?${chart.toString()}`, reps, maxSeconds });
  // BENCH_QUERY_CASES (development): only the cases whose name matches, e.g. to profile one
  const only = process.env.BENCH_QUERY_CASES;
  return only ? cases.filter((c) => new RegExp(only).test(c.name)) : cases;
}

async function storedEvents(rt: Runtime): Promise<number> {
  const r = await rt.db.queryOne<{ n: number }>('SELECT count(*)::bigint AS n FROM email_events');
  return Number(r?.n ?? 0);
}

/** email_events over HTTP: batches and single events into a fresh database, then stats queries over the loaded week. */
async function runEvents(task: HostTask, e: HostEventsTask, out: HostResult): Promise<HostEventsResult> {
  const res: HostEventsResult = { batch: null, single: null, stats: null };
  const setAuth = (cred: { method: string; note?: string }) => {
    if (out.auth.method === 'none') out.auth = { method: cred.method, ...(cred.note ? { note: cred.note } : {}) };
  };
  if (e.batch || e.single) {
    const { rt, base } = await startApp(e.ingestDb);
    if (!out.memory.idleRssAfterStartMiB) out.memory.idleRssAfterStartMiB = memoryMiB().rss;
    const cred = await credentials(rt, base, task.authMode);
    setAuth(cred);
    if (e.batch) {
      const b = e.batch;
      const r = await measured(
        rt,
        task.localServer,
        () => runWorker({ mode: 'eventsBatch', base, token: cred.token, shape: b.shape, batchEvents: b.batchEvents, connections: b.connections }),
        task.profilePrefix && `${task.profilePrefix}-events-batch.cpuprofile`,
      );
      res.batch = { ...(r.value as BatchResult), storedRows: await storedEvents(rt), phase: r.phase };
    }
    if (e.single) {
      const s = e.single;
      const before = await storedEvents(rt);
      const r = await measured(
        rt,
        task.localServer,
        () => runWorker({ mode: 'eventsSingle', base, token: cred.token, seconds: s.seconds, connections: s.connections, endMs: s.endMs }),
        task.profilePrefix && `${task.profilePrefix}-events-single.cpuprofile`,
      );
      res.single = { ...(r.value as SingleResult), storedRows: (await storedEvents(rt)) - before, phase: r.phase };
    }
    await rt.close();
  }
  if (e.statsDb) {
    const q = e.statsDb;
    const { rt, base } = await startApp({ databaseUrl: q.databaseUrl, dataDir: q.dataDir }, q.statementTimeoutMs === undefined ? {} : { statementTimeoutMs: q.statementTimeoutMs, requestTimeoutMs: Math.max(60_000, q.statementTimeoutMs) });
    const cred = await credentials(rt, base, task.authMode);
    setAuth(cred);
    const r = await measured(rt, task.localServer, () => runWorker({ mode: 'query', base, token: cred.token, cases: q.cases }), task.profilePrefix && `${task.profilePrefix}-events-stats.cpuprofile`);
    res.stats = { ...(r.value as QueryResult), phase: r.phase };
    await rt.close();
  }
  return res;
}

/**
 * The floor of B.3: the same single-request load (same generator, bodies, connections and
 * time) against a bare Fastify server in this process that parses each JSON body and answers
 * 200 — no authentication, validation or database. What the HTTP stack and the generator
 * alone allow on this machine, beside Opsdeck's figure.
 */
async function bareFloor(s: { seconds: number; connections: number; endMs: number }): Promise<SingleFloor> {
  const app = Fastify({ logger: false });
  app.post('/api/v1/metrics', async (req) => ({ received: Array.isArray((req.body as { data?: unknown } | null)?.data) ? 1 : 0 }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const cpu0 = process.cpuUsage();
  try {
    const r = (await runWorker({ mode: 'single', base, token: 'floor', seconds: s.seconds, connections: s.connections, endMs: s.endMs })) as SingleResult;
    return { ...r, serverCpuSeconds: nodeCpuSince(cpu0) };
  } finally {
    await app.close();
  }
}

export type SingleFloor = SingleResult & { serverCpuSeconds: number };

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as HostTask;
  const out: HostResult = { tier: task.tier, auth: { method: 'none' }, batch: null, single: null, pending: null, query: null, events: null, memory: { peakRssMiB: 0, vmHwmMiB: 0, idleRssAfterStartMiB: 0 } };

  if (task.batch || task.single) {
    const { rt, base } = await startApp(task.ingestDb);
    out.memory.idleRssAfterStartMiB = memoryMiB().rss;
    const cred = await credentials(rt, base, task.authMode);
    out.auth = { method: cred.method, ...(cred.note ? { note: cred.note } : {}) };
    if (task.batch) {
      const b = task.batch;
      if (task.pauseAroundBatch) await pause('before-batch');
      const r = await measured(rt, task.localServer, () =>
        runWorker({ mode: 'batch', base, token: cred.token, shape: b.shape, rows: b.rows, batchRows: b.batchRows, connections: b.connections }),
        task.profilePrefix && `${task.profilePrefix}-batch.cpuprofile`,
      );
      out.batch = { ...(r.value as BatchResult), storedRows: await storedRows(rt), phase: r.phase };
      if (task.pauseAroundBatch) await pause('after-batch');
    }
    if (task.single) {
      const s = task.single;
      const before = await storedRows(rt);
      const r = await measured(rt, task.localServer, () =>
        runWorker({ mode: 'single', base, token: cred.token, seconds: s.seconds, connections: s.connections, endMs: s.endMs }),
        task.profilePrefix && `${task.profilePrefix}-single.cpuprofile`,
      );
      out.single = { ...(r.value as SingleResult), storedRows: (await storedRows(rt)) - before, phase: r.phase };
      if (task.tier === 'server') out.singleFloor = await bareFloor(s);
    }
    const inv = await rt.db.queryOne<{ n: number; b: number }>('SELECT count(*)::int AS n, count(DISTINCT bucket)::int AS b FROM opsdeck_rollup_invalidations');
    const shape = task.batch?.shape ?? { nodes: 100, ticks: 1, endMs: task.single?.endMs ?? Date.now() };
    const pendingCases = queryCases(shape, 3, 0, 5).filter((c) => c.name === 'auto 24h all nodes' || c.name === 'auto 7d all nodes');
    out.pending = {
      invalidationRows: inv?.n ?? 0,
      distinctBuckets: inv?.b ?? 0,
      queries: (await runWorker({ mode: 'query', base, token: cred.token, cases: pendingCases })) as QueryResult,
    };
    await rt.close();
  }

  if (task.queryDb) {
    const q = task.queryDb;
    const { rt, base } = await startApp(q);
    const cred = await credentials(rt, base, task.authMode);
    if (out.auth.method === 'none') out.auth = { method: cred.method, ...(cred.note ? { note: cred.note } : {}) };
    const costs = new CaseCosts(await pgMeter(rt, task.localServer));
    const r = await measured(
      rt,
      task.localServer,
      () => runWorker({ mode: 'query', base, token: cred.token, cases: queryCases(q.shape, task.queryReps, task.rawQueryReps, task.queryCaseSeconds) }, (name) => costs.mark(name)),
      task.profilePrefix && `${task.profilePrefix}-query.cpuprofile`,
    );
    const perCase = await costs.results();
    const value = r.value as QueryResult;
    out.query = { ...value, cases: value.cases.map((c) => ({ ...c, ...(perCase.has(c.name) ? { server: perCase.get(c.name)! } : {}) })), phase: r.phase, dataset: q.shape };
    await rt.close();
  }

  if (task.events) out.events = await runEvents(task, task.events, out);

  const m = memoryMiB();
  out.memory.peakRssMiB = round(overallPeak);
  out.memory.vmHwmMiB = m.hwm;
  await new Promise<void>((resolve) => process.send!(out, () => resolve()));
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`http host failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
