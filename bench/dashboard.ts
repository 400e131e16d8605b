/**
 * The web dashboard's download, first load and chart smoothness (docs/performance.md, "Dashboard").
 *
 *   node --import tsx bench/dashboard.ts [--runs 3] [--parts sizes,load,fleet,compare]
 *
 * sizes: bundles the pages as `opsdeck serve` does and prints each file's size plain,
 *   gzip and brotli.
 * load: starts the real app on an in-memory PGlite database with one node's hour of
 *   system metrics and loads the dashboard in headless Chromium (CHROMIUM_PATH, default
 *   /usr/bin/chromium) with an empty cache (a fresh browser context per run), on loopback
 *   and under network emulation ("slow 4G" below: 1.6 Mbit/s down, 750 kbit/s up, 150 ms
 *   round trip): bytes transferred until the login form shows, time to the login form,
 *   time from submitting the login to the overview with every figure loaded, and time and
 *   bytes to open the mail page from the sidebar (its chunk, when the bundle is split).
 *   The same file runs against an older checkout (only `loadDashboard().page/assets`).
 * fleet: starts an embedded PostgreSQL server, COPYs 100 nodes × 30 days of metrics_system
 *   at 5-minute spacing, refreshes the rollups, and opens /nodes over 30 days: time from
 *   navigation to the fleet chart drawn, the metrics answer's size and time, long tasks,
 *   and frame times (requestAnimationFrame deltas in the page) while the mouse sweeps the
 *   chart in 200 steps and while the window is resized; at the default auto budget and
 *   with OPSDECK_QUERY_AUTO_MAX_POINTS raised so auto reads the 1 h rollup; then the
 *   comparison page with 5 nodes × 30 days (`compare`: the same data set, that page only;
 *   it charts every system field from one request, so its CPU chart drawn = all drawn).
 */
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pino from 'pino';
import postgres from 'postgres';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { loadConfig, type Config } from '../src/config.ts';
import { memoryPGlite } from '../src/db/connect.ts';
import type { Database } from '../src/db/database.ts';
import { PostgresDatabase } from '../src/db/postgres-driver.ts';
import { createRuntime, type Runtime } from '../src/runtime.ts';
import { loadDashboard } from '../src/web/dashboard.ts';
import { COPY_SQL, copyText, systemRow } from './lib/gen.ts';
import { startPgServer } from '../test/support/pg-server.ts';

const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(arg('--runs')) || 3;
const parts = new Set((arg('--parts') ?? 'sizes,load,fleet').split(','));
const kb = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
const ms = (n: number) => `${Math.round(n)} ms`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const password = 'bench-dashboard-password-1';

/** "Slow 4G" as used here: 1.6 Mbit/s down, 750 kbit/s up, 150 ms round trip (CDP takes bytes per second). */
const SLOW_4G = { offline: false, latency: 150, downloadThroughput: (1.6e6 / 8) | 0, uploadThroughput: (750e3 / 8) | 0 };

function configOf(extra: Partial<Config> = {}): Config {
  return loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: password, jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789', secretKey: 'bench-secret-key-0123456789abcdef0123456789', ...extra });
}

async function serve(db: Database, extra: Partial<Config> = {}): Promise<{ rt: Runtime; base: string; token: string }> {
  const rt = await createRuntime(configOf(extra), { db, logger: pino({ level: 'silent' }) });
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
  const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) })).json()) as { accessToken: string };
  return { rt, base, token: login.accessToken };
}

function launch(): Promise<Browser> {
  return puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: [...(process.getuid?.() === 0 ? ['--no-sandbox'] : []), '--disable-dev-shm-usage'] });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]! : NaN;
};

// ---------------------------------------------------------------- sizes

if (parts.has('sizes')) {
  const t0 = performance.now();
  const dashboard = await loadDashboard();
  console.log(`bundled in ${ms(performance.now() - t0)}`);
  for (const [name, a] of [['index.html', dashboard.page] as const, ...dashboard.assets]) console.log(`${name.padEnd(22)} ${kb(a.identity.length).padStart(10)} plain ${kb(a.gzip.length).padStart(10)} gzip ${kb(a.br.length).padStart(10)} br`);
}

// ---------------------------------------------------------------- first load

if (parts.has('load')) {
  const db = await memoryPGlite();
  const { rt, base, token } = await serve(db);
  const now = Date.now();
  const data = Array.from({ length: 240 }, (_, i) => ({ nodeId: 'bench-1', timestamp: new Date(now - i * 15_000).toISOString(), cpuPercent: (i * 7) % 100, ramPercent: 40 }));
  await fetch(`${base}/api/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'system', data }) });
  const browser = await launch();
  try {
    for (const [label, network] of [['loopback', null], ['slow 4G', SLOW_4G]] as const) {
      const rows: number[][] = [];
      for (let run = 1; run <= runs; run++) {
        const ctx = await browser.createBrowserContext();
        const page = await ctx.newPage();
        page.setDefaultTimeout(180_000);
        await page.setViewport({ width: 1280, height: 800 });
        const cdp = await page.createCDPSession();
        await cdp.send('Network.enable');
        if (network) await cdp.send('Network.emulateNetworkConditions', network);
        let bytes = 0;
        cdp.on('Network.loadingFinished', (e) => (bytes += e.encodedDataLength));
        const start = performance.now();
        await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
        await page.waitForSelector('input[name=username]');
        const toLogin = performance.now() - start;
        const loginBytes = bytes;
        await page.type('input[name=username]', 'admin');
        await page.type('input[name=password]', password);
        const submitted = performance.now();
        await page.click('button[type=submit]');
        await page.waitForFunction(() => !!document.querySelector('.health-grid .cell') && !document.querySelector('.stats')?.textContent?.includes('…'));
        const toOverview = performance.now() - submitted;
        const before = bytes;
        const clicked = performance.now();
        await page.click('nav.sidebar a[href^="/mail"]');
        await page.waitForFunction(() => document.querySelector('main h1')?.textContent === 'Mail delivery');
        const toMail = performance.now() - clicked;
        // The mail page's own API calls finish after its heading: count only until then (the chunk and what preceded the heading).
        const mailBytes = bytes - before;
        rows.push([loginBytes, toLogin, toOverview, toMail, mailBytes]);
        console.log(`${label} run ${run}: ${kb(loginBytes)} to the login form in ${ms(toLogin)}; overview loaded ${ms(toOverview)} after logging in; mail page shown ${ms(toMail)} after the click (${kb(mailBytes)})`);
        await ctx.close();
      }
      const med = (i: number) => pct(rows.map((r) => r[i]!), 50);
      console.log(`${label} median: ${kb(med(0))} | login form ${ms(med(1))} | overview ${ms(med(2))} | mail page ${ms(med(3))} (${kb(med(4))})`);
    }
  } finally {
    await browser.close();
    await rt.close();
    await db.close();
  }
}

// ---------------------------------------------------------------- fleet chart smoothness

const NODES = 100;
const DAYS = 30;
const STEP = 5 * 60_000;

// Page scripts as strings: the bench runs through tsx, whose helpers (`__name`) do not exist in the page.
const START_FRAMES = `(() => {
  window.__deltas = [];
  window.__run = true;
  let last = 0;
  const loop = (t) => { window.__deltas.push(t - last); last = t; if (window.__run) requestAnimationFrame(loop); };
  requestAnimationFrame((t) => { last = t; requestAnimationFrame(loop); });
})()`;
const STOP_FRAMES = '(() => { window.__run = false; return window.__deltas; })()';
const OBSERVE_LONG_TASKS = `window.__long = [];
new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(e.duration))).observe({ type: 'longtask', buffered: true });`;

/** Collects requestAnimationFrame deltas in the page while `during` runs; returns them. */
async function frames<T>(page: Page, during: () => Promise<T>): Promise<{ result: T; deltas: number[] }> {
  await page.evaluate(START_FRAMES);
  const result = await during();
  const deltas = (await page.evaluate(STOP_FRAMES)) as number[];
  return { result, deltas };
}

/** Smooth: p95 of the frame intervals within one 60 Hz frame (16.7 ms, plus 0.5 ms of timestamp jitter; a dropped frame shows as 33 ms). */
const frameLine = (d: number[]) => `${d.length} frames, p50 ${pct(d, 50).toFixed(1)} ms, p95 ${pct(d, 95).toFixed(1)} ms, max ${Math.max(...d).toFixed(1)} ms → ${pct(d, 95) <= 17.2 ? 'smooth' : 'NOT smooth'}`;

/** Opens `path` logged in (token in sessionStorage is not how the app keeps it: log in through the form once per context). */
async function openLoggedIn(browser: Browser, base: string, path: string, ready: string): Promise<{ page: Page; close: () => Promise<void>; navMs: number; longTasks: () => Promise<number[]> }> {
  const ctx = await browser.createBrowserContext();
  const page = await ctx.newPage();
  page.setDefaultTimeout(300_000);
  await page.setViewport({ width: 1280, height: 800 });
  await page.goto(`${base}/`, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('input[name=username]');
  await page.type('input[name=username]', 'admin');
  await page.type('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('main h1');
  await page.evaluateOnNewDocument(OBSERVE_LONG_TASKS);
  const t0 = performance.now();
  await page.goto(`${base}${path}`, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction(ready, { polling: 'raf' });
  const navMs = performance.now() - t0;
  return { page, close: () => ctx.close(), navMs, longTasks: async () => (await page.evaluate('window.__long')) as number[] };
}

/** Where the main thread's time went while `during` ran (Chromium's own counters: script, layout, style, all tasks), and the wall time. */
async function busy(page: Page, during: () => Promise<unknown>): Promise<string> {
  const cdp = await page.createCDPSession();
  await cdp.send('Performance.enable');
  const read = async () => Object.fromEntries((await cdp.send('Performance.getMetrics')).metrics.map((m) => [m.name, m.value]));
  const a = await read();
  const t0 = performance.now();
  await during();
  const wall = performance.now() - t0;
  const b = await read();
  await cdp.detach();
  const d = (k: string) => Math.round(((b[k] ?? 0) - (a[k] ?? 0)) * 1000);
  return `main thread busy ${d('TaskDuration')} ms of ${Math.round(wall)} ms (script ${d('ScriptDuration')}, layout ${d('LayoutDuration')}, style ${d('RecalcStyleDuration')})`;
}

/** Frames of the page doing nothing for 2 s: the floor this machine and headless Chromium give. */
async function idleFrames(page: Page): Promise<number[]> {
  return (await frames(page, () => new Promise((r) => setTimeout(r, 2000)))).deltas;
}

async function sweep(page: Page, selector: string): Promise<number[]> {
  const box = (await (await page.$(selector))!.boundingBox())!;
  await page.mouse.move(box.x + 1, box.y + box.height / 2);
  let work = '';
  const { deltas } = await frames(page, async () => {
    work = await busy(page, async () => {
    for (let i = 0; i < 200; i++) {
      const x = box.x + 1 + ((box.width - 2) * i) / 199;
      const y = box.y + box.height * (0.2 + 0.6 * Math.abs(Math.sin(i / 15)));
      await page.mouse.move(x, y);
    }
    });
  });
  console.log(`  sweep: ${work}`);
  return deltas;
}

async function resize(page: Page): Promise<number[]> {
  let work = '';
  const { deltas } = await frames(page, async () => {
    work = await busy(page, async () => {
      for (let i = 0; i < 40; i++) {
        await page.setViewport({ width: 1280 - 10 * (i < 20 ? i : 40 - i), height: 800 });
        await new Promise((r) => setTimeout(r, 20));
      }
    });
  });
  console.log(`  resize: ${work}`);
  return deltas;
}

if (parts.has('fleet') || parts.has('compare')) {
  const server = await startPgServer();
  const db = new PostgresDatabase({ url: server.url });
  let rt: Runtime | null = null;
  const browser = await launch();
  try {
    let s = await serve(db);
    rt = s.rt;
    const end = Math.floor(Date.now() / STEP) * STEP - STEP;
    const ticks = (DAYS * 86_400_000) / STEP;
    const first = end - (ticks - 1) * STEP;
    await db.query('SELECT opsdeck_ensure_partitions($1, $2, $3)', ['metrics_system', new Date(first).toISOString(), new Date(end + STEP).toISOString()]);
    const t0 = performance.now();
    const sql = postgres(server.url, { max: 1, onnotice: () => {} });
    function* chunks(): Generator<Buffer> {
      for (let t = 0; t < ticks; t += 50) {
        const rows = [];
        for (let k = t; k < Math.min(ticks, t + 50); k++) for (let n = 0; n < NODES; n++) rows.push(systemRow(n, first + k * STEP, 'fleet'));
        yield Buffer.from(copyText(rows));
      }
    }
    await pipeline(Readable.from(chunks()), await sql.unsafe(COPY_SQL).writable());
    await sql.end();
    // COPY bypasses the store's write path, which records the 5-minute buckets the rollups must recompute: record them here.
    await db.query("INSERT INTO opsdeck_rollup_invalidations (family, bucket) SELECT 'metrics_system', b FROM generate_series($1::timestamptz, $2::timestamptz, interval '5 minutes') AS b", [new Date(first).toISOString(), new Date(end).toISOString()]);
    console.log(`fleet: COPY of ${NODES} nodes × ${ticks} rows (5-minute spacing, ${DAYS} days) in ${ms(performance.now() - t0)}`);
    // Registers the nodes (the inventory the Nodes page lists): their latest row through the API.
    const latest = Array.from({ length: NODES }, (_, n) => systemRow(n, end + STEP, 'fleet'));
    const posted = await fetch(`${s.base}/api/v1/metrics`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'system', data: latest }) });
    if (posted.status !== 200) throw new Error(`ingest: ${posted.status} ${await posted.text()}`);
    const t1 = performance.now();
    let buckets = 0;
    for (;;) {
      const r = await rt.store.refreshRollups('system', 200_000);
      buckets += r.buckets;
      if (!r.more) break;
    }
    console.log(`fleet: rollups refreshed (${buckets} 5-minute buckets) in ${ms(performance.now() - t1)}`);

    for (const [label, extra] of (parts.has('fleet') ? [['default auto budget (OPSDECK_QUERY_AUTO_MAX_POINTS=20000)', {}], ['auto budget 100000 (auto reads the 1 h rollup)', { queryAutoMaxPoints: 100_000 }]] as const : [])) {
      if (Object.keys(extra).length) {
        await rt.close();
        s = await serve(db, extra);
        rt = s.rt;
      }
      const api = `/api/v1/metrics/system?from=${new Date(end - DAYS * 86_400_000).toISOString()}&to=${new Date(end).toISOString()}&resolution=auto&format=columns&fields=cpuPercent`;
      const a0 = performance.now();
      const res = await fetch(`${s.base}${api}`, { headers: { authorization: `Bearer ${s.token}`, 'accept-encoding': 'identity' } });
      const body = await res.text();
      const a1 = performance.now() - a0;
      const answer = JSON.parse(body) as { resolution: string; truncated: boolean; series: { time: number[] }[] };
      console.log(`fleet [${label}]: API answer ${answer.resolution}, ${answer.series.length} series, ${answer.series.reduce((n, x) => n + x.time.length, 0)} points, ${kb(body.length)} JSON, ${ms(a1)} (from Node, loopback), truncated ${answer.truncated}`);
      for (let run = 1; run <= runs; run++) {
        const o = await openLoggedIn(browser, s.base, '/nodes?range=30d&tz=utc', 'document.querySelector(\'figure[data-chart="Fleet CPU"]\')?.getAttribute("data-series") === "100" && !!document.querySelector(\'figure[data-chart="Fleet CPU"] canvas\')');
        try {
          const res2 = (await o.page.evaluate("performance.getEntriesByType('resource').filter((e) => e.name.includes('/api/v1/metrics/system')).map((e) => ({ transfer: e.transferSize, duration: e.duration }))")) as { transfer: number; duration: number }[];
          const long = await o.longTasks();
          console.log(`  idle page (2 s, no input): ${frameLine(await idleFrames(o.page))}`);
          const sw = await sweep(o.page, 'figure[data-chart="Fleet CPU"] .u-over');
          const rs = await resize(o.page);
          console.log(`fleet [${label}] run ${run}: chart drawn ${ms(o.navMs)} after navigation; metrics request(s) ${res2.map((r) => `${kb(r.transfer)} in ${ms(r.duration)}`).join(', ')}; long tasks until drawn: ${long.length} (${long.map((d) => Math.round(d)).join(', ')} ms)`);
          console.log(`  sweep (200 mouse moves): ${frameLine(sw)}`);
          console.log(`  resize (40 steps): ${frameLine(rs)}`);
        } finally {
          await o.close();
        }
      }
    }
    // The comparison page: 5 nodes × 30 days, every system chart.
    const five = Array.from({ length: 5 }, (_, n) => `fleet-${String(n).padStart(3, '0')}`).join(',');
    for (let run = 1; run <= runs; run++) {
      const o = await openLoggedIn(browser, s.base, `/nodes/compare?nodes=${five}&range=30d&tz=utc`, '!!document.querySelector(\'figure[data-chart="CPU busy"] canvas\')');
      try {
        const long = await o.longTasks();
        const sw = await sweep(o.page, 'figure[data-chart="CPU busy"] .u-over');
        console.log(`compare 5 × 30 d run ${run}: charts drawn ${ms(o.navMs)} after navigation; long tasks ${long.length} (${long.map((d) => Math.round(d)).join(', ')} ms); sweep: ${frameLine(sw)}`);
      } finally {
        await o.close();
      }
    }
  } finally {
    await browser.close();
    await rt?.close();
    await db.close();
    await server.destroy();
  }
}
