/**
 * The peer of B.2: the same metrics_system rows loaded into VictoriaMetrics (the
 * Debian package `victoria-metrics`, when installed) as Influx line protocol over
 * HTTP, with the same batch size and connections as Opsdeck's HTTP batches.
 * One line per row: measurement `metrics_system`, tags node_id and node_role, the
 * other 18 columns as fields (VictoriaMetrics stores each field as one sample).
 *
 * Timed like B.2: from the first request to the last acknowledgement, bodies built
 * before the clock starts. VictoriaMetrics acknowledges a write once it is parsed
 * into its in-memory buffers (it makes it durable within about a second); the bench
 * also times a forced flush after the load and checks the stored sample count, so the
 * figure is not the rate of a write that was lost.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { freePort } from '../test/support/pg-server.ts';
import { rowsRange, type DataShape, type SystemRow } from './lib/gen.ts';
import { runPool } from './lib/util.ts';

export interface VictoriaResult {
  binary: string;
  version: string;
  rows: number;
  samples: number;
  seconds: number;
  rowsPerSec: number;
  samplesPerSec: number;
  flushSeconds: number;
  /** Samples VictoriaMetrics reports stored after the flush (should equal `samples`). */
  storedSamples: number | null;
}

/** The VictoriaMetrics binary: BENCH_VICTORIA_BIN, else the Debian package's path or PATH; null when absent. */
export function findVictoria(): string | null {
  const candidates = [process.env.BENCH_VICTORIA_BIN, '/usr/bin/victoria-metrics', '/usr/local/bin/victoria-metrics', '/usr/bin/victoria-metrics-prod'];
  for (const c of candidates) if (c && existsSync(c)) return c;
  return null;
}

const FIELDS: (keyof SystemRow)[] = [
  'cpuPercent',
  'cpuIowaitPercent',
  'ramUsedBytes',
  'ramTotalBytes',
  'swapUsedBytes',
  'diskUsedBytes',
  'diskTotalBytes',
  'diskReadBytesSec',
  'diskWriteBytesSec',
  'netRxBytesSec',
  'netTxBytesSec',
  'load1m',
  'load5m',
  'load15m',
  'tcpEstablished',
  'tcpTimeWait',
  'openFiles',
];

/** Influx line protocol for rows (nanosecond timestamps). */
export function lineProtocol(rows: readonly SystemRow[]): string {
  let out = '';
  for (const r of rows) {
    let fields = '';
    for (const f of FIELDS) fields += `${fields ? ',' : ''}${f}=${r[f]}`;
    out += `metrics_system,node_id=${r.nodeId},node_role=${r.nodeRole} ${fields} ${Date.parse(r.timestamp)}000000\n`;
  }
  return out;
}

function debianVersion(): string | null {
  try {
    return `${execFileSync('dpkg-query', ['-W', '-f=${Version}', 'victoria-metrics'], { encoding: 'utf8' }).trim()} (Debian package)`;
  } catch {
    return null;
  }
}

function http(port: number, method: string, path: string, body?: Buffer): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false, headers: body ? { 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function waitHealthy(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`victoria-metrics exited with ${child.exitCode}`);
    try {
      if ((await http(port, 'GET', '/health')).status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('victoria-metrics did not become healthy within 30 s');
}

export async function runVictoria(binary: string, shape: DataShape, rows: number, batchRows: number, connections: number): Promise<VictoriaResult> {
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-vm-'));
  const port = await freePort();
  const child = spawn(binary, [`-storageDataPath=${dir}`, `-httpListenAddr=127.0.0.1:${port}`, '-retentionPeriod=100y', '-loggerLevel=ERROR', '-search.latencyOffset=0s'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString('utf8')).slice(-4000);
  });
  try {
    await waitHealthy(port, child);
    const metrics = await http(port, 'GET', '/metrics');
    // the Debian build reports an empty version: ask dpkg then
    const version = /vm_app_version\{[^}]*version="([^"]+)"/.exec(metrics.text)?.[1] ?? debianVersion() ?? 'unknown';
    const bodies: Buffer[] = [];
    for (let k = 0; k < rows; k += batchRows) bodies.push(Buffer.from(lineProtocol(rowsRange(shape, k, Math.min(rows, k + batchRows)))));
    const t0 = performance.now();
    await runPool(bodies.length, connections, async (i) => {
      const r = await http(port, 'POST', '/write', bodies[i]);
      if (r.status !== 204 && r.status !== 200) throw new Error(`victoria-metrics /write answered ${r.status}: ${r.text.slice(0, 200)}`);
    });
    const seconds = (performance.now() - t0) / 1000;
    const f0 = performance.now();
    await http(port, 'GET', '/internal/force_flush');
    const flushSeconds = (performance.now() - f0) / 1000;
    const samples = rows * FIELDS.length;
    let storedSamples: number | null = null;
    try {
      // rows per field summed over the series, over a window that covers the data set
      const q = encodeURIComponent(`sum(count_over_time({__name__=~"metrics_system_.*"}[${Math.ceil((shape.ticks * 15) / 60) + 10}m]))`);
      const r = await http(port, 'GET', `/api/v1/query?query=${q}&time=${Math.ceil(shape.endMs / 1000) + 1}`);
      const v = (JSON.parse(r.text) as { data?: { result?: { value?: [number, string] }[] } }).data?.result?.[0]?.value?.[1];
      storedSamples = v === undefined ? null : Number(v);
    } catch {
      storedSamples = null;
    }
    return {
      binary,
      version,
      rows,
      samples,
      seconds: Math.round(seconds * 100) / 100,
      rowsPerSec: Math.round(rows / seconds),
      samplesPerSec: Math.round(samples / seconds),
      flushSeconds: Math.round(flushSeconds * 1000) / 1000,
      storedSamples,
    };
  } catch (err) {
    throw new Error(`${(err as Error).message}; victoria-metrics stderr: ${stderr}`, { cause: err });
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
    rmSync(dir, { recursive: true, force: true });
  }
}

// `node --import tsx bench/victoria.ts [rows]`: the peer alone, for development.
if (import.meta.url === `file://${process.argv[1]}`) {
  const bin = findVictoria();
  if (!bin) {
    console.error('victoria-metrics not found (apt-get install victoria-metrics, or BENCH_VICTORIA_BIN)');
    process.exit(2);
  }
  const rows = Number(process.argv[2] ?? 200_000);
  const shape: DataShape = { nodes: 100, ticks: Math.ceil(rows / 100), endMs: Math.floor(Date.now() / 15_000) * 15_000 };
  console.log(JSON.stringify(await runVictoria(bin, shape, rows, 5000, 4), null, 2));
}
