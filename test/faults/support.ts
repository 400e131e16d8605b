/**
 * Helpers for the fault suite (test/faults/*.test.ts): runtimes on a database
 * of a server the test controls, metric batches with unique rows, counting
 * what really got stored, problem+json assertions, a raw HTTP client and the
 * real `opsdeck serve` process.
 *
 * The fault suite runs on the server tier only (TEST_BACKENDS must include
 * `postgres`): it is about a real PostgreSQL server going away, filling up or
 * being raced.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import type { LightMyRequestResponse } from 'fastify';
import pino from 'pino';
import postgres from 'postgres';
import { loadConfig, type Config } from '../../src/config.ts';
import { createRuntime, type Runtime } from '../../src/runtime.ts';
import { enabledBackends } from '../support/backends.ts';

/** Skip reason for the whole suite when the server tier is not being tested. */
export const skipUnlessServer: string | false = enabledBackends().includes('postgres') ? false : 'the fault suite needs the postgres backend (TEST_BACKENDS)';

export const ADMIN_PASSWORD = 'fault-suite-root-password';
export const JWT_SECRET = 'fault-suite-jwt-secret-0123456789abcdef01';
export const REPO_ROOT = new URL('../../', import.meta.url).pathname;

/** Creates an empty database on the server at `serverUrl`; returns its URL. */
export async function createDatabaseOn(serverUrl: string, prefix = 'opsdeck_f'): Promise<string> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function dropDatabaseOn(serverUrl: string, databaseUrl: string): Promise<void> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/**
 * The production runtime (it opens its own pool from config, like `opsdeck
 * serve`), migrated and seeded, on `databaseUrl`.
 */
export async function startRuntime(databaseUrl: string, overrides: Partial<Config> = {}): Promise<Runtime> {
  const config = loadConfig(
    {},
    {
      databaseUrl,
      logLevel: 'silent',
      selfMonitor: false,
      jobs: false,
      adminPassword: ADMIN_PASSWORD,
      jwtSecret: JWT_SECRET,
      ...overrides,
    },
  );
  const rt = await createRuntime(config, { logger: pino({ level: 'silent' }) });
  await rt.auth.seed();
  await rt.app.ready();
  return rt;
}

const FIFTEEN_S = 15_000;
/** A 15 s aligned instant about two days ago: inside raw retention, never in the future. */
export const BASE_TIME = Math.floor((Date.now() - 2 * 86_400_000) / FIFTEEN_S) * FIFTEEN_S;

/** `n` metrics_system rows of one node, 15 s apart from `start`: unique (node, time). */
export function systemRows(nodeId: string, n: number, start = BASE_TIME): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    rows.push({
      timestamp: new Date(start + i * FIFTEEN_S).toISOString(),
      nodeId,
      nodeRole: 'host',
      cpuPercent: (i * 7) % 100,
      ramUsedBytes: 1_000_000 + i,
      ramTotalBytes: 8_000_000_000,
      load1m: 0.5,
      tcpEstablished: i % 50,
      openFiles: 1000 + i,
    });
  }
  return rows;
}

export function ingestBody(nodeId: string, n: number, start = BASE_TIME): string {
  return JSON.stringify({ type: 'system', data: systemRows(nodeId, n, start) });
}

/** Rows stored in metrics_system per node, read with a client of its own (not the runtime's pool). */
export async function storedRows(databaseUrl: string): Promise<{ total: number; distinct: number; byNode: Map<string, number> }> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  try {
    const rows = await sql.unsafe<{ node_id: string; n: number; d: number }[]>(
      `SELECT node_id, count(*)::int AS n, count(DISTINCT time)::int AS d FROM metrics_system GROUP BY node_id`,
    );
    const byNode = new Map(rows.map((r) => [r.node_id, r.n]));
    return { total: rows.reduce((s, r) => s + r.n, 0), distinct: rows.reduce((s, r) => s + r.d, 0), byNode };
  } finally {
    await sql.end();
  }
}

interface ProblemLike {
  statusCode: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: string;
}

/** Asserts an application/problem+json answer with this status (and code); returns the body. */
export function assertProblem(res: ProblemLike | LightMyRequestResponse, status: number | number[], code?: string | RegExp): Record<string, unknown> {
  const statuses = Array.isArray(status) ? status : [status];
  assert.ok(statuses.includes(res.statusCode), `expected ${statuses.join('/')} but got ${res.statusCode}: ${res.body.slice(0, 500)}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/, `content-type of ${res.statusCode}: ${String(res.headers['content-type'])}`);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  assert.equal(body.status, res.statusCode);
  assert.equal(typeof body.code, 'string', res.body);
  assert.equal(typeof body.requestId, 'string', res.body);
  if (typeof code === 'string') assert.equal(body.code, code, res.body);
  else if (code) assert.match(body.code as string, code, res.body);
  return body;
}

/** Asserts a 503 that tells the client when to retry. */
export function assertRetryable503(res: ProblemLike | LightMyRequestResponse, code: string): void {
  assertProblem(res, 503, code);
  const ra = Number(res.headers['retry-after']);
  assert.ok(Number.isInteger(ra) && ra > 0, `Retry-After missing or invalid: ${String(res.headers['retry-after'])}`);
}

export interface HttpResult {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  ms: number;
}

/** One request over a real socket. The body may be a string/Buffer or a stream (sent chunked unless content-length is set). */
export function httpRequest(
  base: string,
  options: { method?: string; path: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer | Readable; agent?: http.Agent | false; timeoutMs?: number },
): Promise<HttpResult> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    let answered = false;
    const req = http.request(new URL(options.path, base), { method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      const done = () => resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), ms: performance.now() - started });
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', done);
      // The server may close the connection right after its answer (e.g. 413 while we still send).
      res.on('error', done);
    });
    // Once an answer arrived, a failed write of the rest of the body (EPIPE/ECONNRESET) is expected, not a failure.
    req.on('error', (e) => {
      if (!answered) reject(e);
    });
    if (options.timeoutMs) req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no answer within ${options.timeoutMs} ms`)));
    const body = options.body;
    if (body instanceof Readable) {
      body.on('error', (e) => req.destroy(e));
      // Once the server has answered, stop sending: it does not want the rest.
      req.on('response', () => body.unpipe(req));
      body.pipe(req);
    } else {
      req.end(body);
    }
  });
}

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  base: string;
  port: number;
  /** Everything the process printed so far (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns the real `node bin/opsdeck.mjs serve` and waits for its banner. */
export async function spawnServe(env: Record<string, string>, port: number, timeoutMs = 60_000): Promise<ServeProcess> {
  const child = spawn(process.execPath, ['bin/opsdeck.mjs', 'serve'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      OPSDECK_ADMIN_PASSWORD: ADMIN_PASSWORD,
      OPSDECK_SELF_MONITOR: 'false',
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = await Promise.race([
    new Promise<boolean>((resolve) => {
      const check = () => {
        if (/listening on http/.test(out)) {
          child.stdout.off('data', check);
          resolve(true);
        }
      };
      child.stdout.on('data', check);
      check();
    }),
    exited.then(() => false),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref()),
  ]);
  if (!ready) {
    child.kill('SIGKILL');
    throw new Error(`opsdeck serve did not start:\n${out}`);
  }
  return { child, base: `http://127.0.0.1:${port}`, port, output: () => out, exited };
}

/** Logs in as the seeded admin over HTTP and creates an API key; returns both Authorization values. */
export async function credentialsOver(base: string, scopes: string[] = ['ingest', 'read']): Promise<{ admin: string; key: string }> {
  const login = await httpRequest(base, {
    method: 'POST',
    path: '/api/v1/auth/login',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: ADMIN_PASSWORD }),
  });
  assert.equal(login.statusCode, 200, login.body);
  const admin = `Bearer ${(JSON.parse(login.body) as { accessToken: string }).accessToken}`;
  const created = await httpRequest(base, {
    method: 'POST',
    path: '/api/v1/api-keys',
    headers: { 'content-type': 'application/json', authorization: admin },
    body: JSON.stringify({ name: `fault suite ${randomBytes(3).toString('hex')}`, scopes }),
  });
  assert.equal(created.statusCode, 201, created.body);
  return { admin, key: `Bearer ${(JSON.parse(created.body) as { key: string }).key}` };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Collects unhandled rejections and uncaught exceptions while a test runs ("no crash"). */
export function watchCrashes(): { errors: unknown[]; stop(): void } {
  const errors: unknown[] = [];
  const onErr = (e: unknown) => errors.push(e);
  process.on('unhandledRejection', onErr);
  process.on('uncaughtException', onErr);
  return {
    errors,
    stop() {
      process.off('unhandledRejection', onErr);
      process.off('uncaughtException', onErr);
    },
  };
}
