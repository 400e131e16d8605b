/**
 * HTTP load generator, run as a separate process (child_process.fork) so it
 * never shares the server's event loop. Keep-alive connections through a
 * node:http Agent capped at the requested connection count.
 *
 * Input: one JSON argument (LoadTask). Output: one IPC message (LoadResult).
 */
import { Agent, request } from 'node:http';
import { emailEventAt, emailEventsRange, type EmailShape } from './lib/email-gen.ts';
import { rowsRange, systemRow, STEP_MS, type DataShape } from './lib/gen.ts';
import { postBytes, RawConnection } from './lib/raw-client.ts';
import { summarize, type LatencySummary } from './lib/util.ts';

export type LoadTask =
  | { mode: 'batch'; base: string; token: string; shape: DataShape; rows: number; batchRows: number; connections: number }
  | { mode: 'single'; base: string; token: string; seconds: number; connections: number; endMs: number }
  | { mode: 'query'; base: string; token: string; cases: QueryCase[] }
  /** email_events: arrays of `batchEvents` events POSTed to /api/v1/events/email over `connections` connections. */
  | { mode: 'eventsBatch'; base: string; token: string; shape: EmailShape; batchEvents: number; connections: number }
  /** email_events: one event per request, `connections` at a time, for `seconds`. */
  | { mode: 'eventsSingle'; base: string; token: string; seconds: number; connections: number; endMs: number };

export interface QueryCase {
  name: string;
  path: string;
  reps: number;
  /** Stop repeating after this long (but run at least 3 repetitions). */
  maxSeconds: number;
  /** A repetition reads every page of the answer (following `next` as `cursor`): its time is all of them together. */
  allPages?: boolean;
}

export interface BatchResult {
  mode: 'batch';
  rows: number;
  requests: number;
  seconds: number;
  rowsPerSec: number;
  latencyMs: LatencySummary;
  statuses: Record<string, number>;
  insertedReported: number;
  bodyMiB: number;
  prepareSeconds: number;
  firstError?: string;
}

export interface SingleResult {
  mode: 'single';
  requests: number;
  ok: number;
  seconds: number;
  requestsPerSec: number;
  okRowsPerSec: number;
  /** Requests not answered 2xx, transport errors included. */
  failed: number;
  latencyMs: LatencySummary;
  statuses: Record<string, number>;
  /** CPU the load generator itself used while sending (user + system). */
  generatorCpuSeconds: number;
  /** Requests built during the run because the prebuilt ones ran out. */
  builtLive: number;
  firstError?: string;
}

export interface QueryCaseResult {
  name: string;
  path: string;
  status: number;
  resolution: string | null;
  points: number | null;
  responseKiB: number;
  latencyMs: LatencySummary | null;
  error?: string;
  /** Pages read per repetition (cases that read every page). */
  pages?: number;
  /** What the server spent on the timed requests of this case (filled in by the host). */
  server?: CaseServerCost;
}

/** The server's costs over one query case's timed requests, in total (divide by latencyMs.n). */
export interface CaseServerCost {
  /** CPU of the server's Node process (its main thread and V8's helper threads). */
  nodeCpuMs: number;
  /** Pauses of the main thread for garbage collection (PerformanceObserver 'gc' entries); incremental marking steps are not among them. */
  gcPauseMs: number;
  majorGcs: number;
  /** CPU of every PostgreSQL process (null when the server is not on this machine). */
  pgCpuMs: number | null;
}

/** Tells the host which case's timed requests run now (null: none), so it can count what they cost it. */
function markCase(name: string | null): Promise<void> {
  return new Promise((resolve) => (process.send ? process.send({ caseMark: name }, () => resolve()) : resolve()));
}

export interface QueryResult {
  mode: 'query';
  cases: QueryCaseResult[];
}

export type LoadResult = BatchResult | SingleResult | QueryResult;

interface Reply {
  status: number;
  body: Buffer;
}

function makeClient(base: string, token: string, connections: number) {
  const u = new URL(base);
  const agent = new Agent({ keepAlive: true, maxSockets: connections, maxFreeSockets: connections });
  const send = (method: string, path: string, body?: Buffer): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { authorization: `Bearer ${token}`, accept: 'application/json' };
      if (body) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = body.length;
      }
      const req = request({ agent, host: u.hostname, port: u.port, method, path, headers }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  return { send, close: () => agent.destroy() };
}

const bump = (m: Record<string, number>, k: string | number) => {
  m[k] = (m[k] ?? 0) + 1;
};

async function batchLoad(t: Extract<LoadTask, { mode: 'batch' }>): Promise<BatchResult> {
  // Every body is encoded before the clock starts: the generator must not compete with the server for CPU.
  const p0 = performance.now();
  const bodies: Buffer[] = [];
  for (let k = 0; k < t.rows; k += t.batchRows) {
    bodies.push(Buffer.from(JSON.stringify({ type: 'system', data: rowsRange(t.shape, k, Math.min(t.rows, k + t.batchRows)) })));
  }
  return sendBatches(t, '/api/v1/metrics', bodies, t.rows, (performance.now() - p0) / 1000);
}

async function eventsBatchLoad(t: Extract<LoadTask, { mode: 'eventsBatch' }>): Promise<BatchResult> {
  const p0 = performance.now();
  const bodies: Buffer[] = [];
  for (let k = 0; k < t.shape.events; k += t.batchEvents) {
    bodies.push(Buffer.from(JSON.stringify(emailEventsRange(t.shape, k, Math.min(t.shape.events, k + t.batchEvents)))));
  }
  return sendBatches(t, '/api/v1/events/email', bodies, t.shape.events, (performance.now() - p0) / 1000);
}

/** POSTs pre-encoded bodies over `connections` keep-alive connections; counts statuses and the `inserted` the server reports. */
async function sendBatches(t: { base: string; token: string; connections: number }, path: string, bodies: readonly Buffer[], rows: number, prepareSeconds: number): Promise<BatchResult> {
  const client = makeClient(t.base, t.token, t.connections);
  const statuses: Record<string, number> = {};
  const lat: number[] = [];
  let inserted = 0;
  let firstError: string | undefined;
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: t.connections }, async () => {
      for (;;) {
        const i = next++;
        if (i >= bodies.length) return;
        const s = performance.now();
        try {
          const r = await client.send('POST', path, bodies[i]!);
          lat.push(performance.now() - s);
          bump(statuses, r.status);
          if (r.status === 200) inserted += (JSON.parse(r.body.toString()) as { inserted: number }).inserted;
          else firstError ??= `${r.status} ${r.body.toString().slice(0, 300)}`;
        } catch (err) {
          bump(statuses, 'error');
          firstError ??= String(err);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  client.close();
  return {
    mode: 'batch',
    rows,
    requests: bodies.length,
    seconds: Math.round(seconds * 100) / 100,
    rowsPerSec: Math.round(rows / seconds),
    latencyMs: summarize(lat),
    statuses,
    insertedReported: inserted,
    bodyMiB: Math.round(bodies.reduce((a, b) => a + b.length, 0) / 1024 / 1024),
    prepareSeconds: Math.round(prepareSeconds * 10) / 10,
    ...(firstError ? { firstError } : {}),
  };
}

async function singleLoad(t: Extract<LoadTask, { mode: 'single' }>): Promise<SingleResult> {
  const start = t.endMs - 86_400_000; // each connection is one agent sending forward in time from a day ago
  return sendSingles(t, '/api/v1/metrics', (c, k) => {
    const time = start + (k % 5760) * STEP_MS;
    return { type: 'system', data: systemRow(c, time, `single-${Math.floor(k / 5760)}`) };
  });
}

async function eventsSingleLoad(t: Extract<LoadTask, { mode: 'eventsSingle' }>): Promise<SingleResult> {
  // Connection c sends its own data set (seed 1000 + c): one event every 10 ms of event time, ending at endMs.
  const shape = (c: number): EmailShape => ({ events: 1_000_000, endMs: t.endMs, periodMs: 10, seed: 1000 + c });
  const shapes = Array.from({ length: t.connections }, (_, c) => shape(c));
  return sendSingles(t, '/api/v1/events/email', (c, k) => emailEventAt(shapes[c]!, k % 1_000_000));
}

/**
 * One JSON body per request from each of `connections` concurrent senders, for `seconds`;
 * counts non-2xx answers. The requests are encoded before the clock starts (up to
 * PREBUILT_PER_SECOND a second; beyond that they are built on the fly) and sent over raw
 * keep-alive sockets (lib/raw-client.ts): the generator shares the server's two cores, so
 * its CPU per request is kept small and reported (`generatorCpuSeconds`).
 */
const PREBUILT_PER_SECOND = 16_000;
async function sendSingles(t: { base: string; token: string; seconds: number; connections: number }, path: string, body: (connection: number, k: number) => unknown): Promise<SingleResult> {
  const u = new URL(t.base);
  const host = u.host;
  const encode = (c: number, k: number) => postBytes(host, path, t.token, Buffer.from(JSON.stringify(body(c, k))));
  const perConnection = Math.ceil((t.seconds * PREBUILT_PER_SECOND) / t.connections);
  const prebuilt = Array.from({ length: t.connections }, (_, c) => Array.from({ length: perConnection }, (_, k) => encode(c, k)));
  const conns = Array.from({ length: t.connections }, () => new RawConnection(u.hostname, Number(u.port)));
  const statuses: Record<string, number> = {};
  const lat: number[] = [];
  let ok = 0;
  let builtLive = 0;
  let firstError: string | undefined;
  const cpu0 = process.cpuUsage();
  const deadline = performance.now() + t.seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    conns.map(async (conn, c) => {
      for (let k = 0; performance.now() < deadline; k++) {
        let req = prebuilt[c]![k];
        if (req) prebuilt[c]![k] = EMPTY;
        else {
          req = encode(c, k);
          builtLive++;
        }
        const s = performance.now();
        try {
          const r = await conn.send(req);
          lat.push(performance.now() - s);
          bump(statuses, r.status);
          if (r.status >= 200 && r.status < 300) ok++;
          else firstError ??= `${r.status} ${r.body.toString().slice(0, 300)}`;
        } catch (err) {
          bump(statuses, 'error');
          firstError ??= String(err);
          return;
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  for (const conn of conns) conn.close();
  return {
    mode: 'single',
    requests: lat.length,
    ok,
    seconds: Math.round(seconds * 100) / 100,
    requestsPerSec: Math.round(lat.length / seconds),
    okRowsPerSec: Math.round(ok / seconds),
    failed: Object.values(statuses).reduce((a, b) => a + b, 0) - ok,
    latencyMs: summarize(lat),
    statuses,
    generatorCpuSeconds: Math.round((cpu.user + cpu.system) / 1e4) / 100,
    builtLive,
    ...(firstError ? { firstError } : {}),
  };
}
const EMPTY = Buffer.alloc(0);

async function queryLoad(t: Extract<LoadTask, { mode: 'query' }>): Promise<QueryResult> {
  const client = makeClient(t.base, t.token, 1);
  const cases: QueryCaseResult[] = [];
  // A case's request, or every page of its answer one after the other (the last page's status).
  const read = async (c: QueryCase): Promise<{ status: number; body: Buffer; pages: number; bytes: number; answers: Buffer[] }> => {
    const answers: Buffer[] = [];
    let bytes = 0;
    for (let path = c.path; ; ) {
      const r = await client.send('GET', path);
      bytes += r.body.length;
      answers.push(r.body);
      if (!c.allPages || r.status !== 200) return { status: r.status, body: r.body, pages: answers.length, bytes, answers };
      const next = (JSON.parse(r.body.toString()) as { next?: string }).next;
      if (next === undefined) return { status: r.status, body: r.body, pages: answers.length, bytes, answers };
      path = `${c.path}&cursor=${encodeURIComponent(next)}`;
    }
  };
  for (const c of t.cases) {
    // One warm-up request (also tells whether the query is allowed), then `reps` timed requests one at a time.
    const warm = await read(c);
    const base = { name: c.name, path: c.path, status: warm.status, responseKiB: Math.round(warm.bytes / 1024), ...(c.allPages ? { pages: warm.pages } : {}) };
    if (warm.status !== 200) {
      let error = warm.body.toString().slice(0, 300);
      try {
        const p = JSON.parse(warm.body.toString()) as { code?: string; detail?: string };
        error = `${p.code ?? ''}: ${p.detail ?? ''}`;
      } catch {
        /* not JSON */
      }
      cases.push({ ...base, resolution: null, points: null, latencyMs: null, error });
      continue;
    }
    // metrics answers carry `points`, event-stream stats answers `buckets`
    // (format=columns: `series` with one `time` array each)
    const answers = warm.answers.map((b) => JSON.parse(b.toString()) as { resolution: string; points?: unknown[]; buckets?: unknown[]; series?: { time: unknown[] }[] });
    const answer = answers[0]!;
    const lat: number[] = [];
    await markCase(c.name);
    const started = performance.now();
    for (let i = 0; i < c.reps && (i < 3 || performance.now() - started < c.maxSeconds * 1000); i++) {
      const s = performance.now();
      const r = await read(c);
      lat.push(performance.now() - s);
      if (r.status !== 200) throw new Error(`${c.name}: HTTP ${r.status} on repetition ${i}`);
    }
    await markCase(null);
    const points = answers.reduce((n, a) => n + (a.series ? a.series.reduce((k, x) => k + x.time.length, 0) : (a.points ?? a.buckets ?? []).length), 0);
    cases.push({ ...base, resolution: answer.resolution, points, latencyMs: summarize(lat) });
  }
  client.close();
  return { mode: 'query', cases };
}

async function main(): Promise<void> {
  const task = JSON.parse(process.argv[2] ?? '{}') as LoadTask;
  const result =
    task.mode === 'batch'
      ? await batchLoad(task)
      : task.mode === 'single'
        ? await singleLoad(task)
        : task.mode === 'eventsBatch'
          ? await eventsBatchLoad(task)
          : task.mode === 'eventsSingle'
            ? await eventsSingleLoad(task)
            : await queryLoad(task);
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`load worker failed: ${String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
