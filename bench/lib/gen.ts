/**
 * Deterministic, stateless generator of realistic metrics_system rows.
 *
 * Every value is a pure function of (node index, time index, end time), so the
 * benchmark process, the HTTP load worker and the COPY loader produce exactly
 * the same rows without shipping them between processes. Rows are time-major:
 * each 15 s tick carries one row per node, as a fleet of agents would send them.
 */
import { insertColumns } from '../../src/timeseries/ingest.ts';
import { metricsSystem } from '../../src/modules/system-metrics/family.ts';

export const STEP_MS = 15_000;
const GIB = 1024 ** 3;
const ROLES = ['mongodb', 'redis', 'zonemta', 'wildduck', 'rspamd', 'host'] as const;

/** The camelCase ingest row of metrics_system (what agents POST). */
export interface SystemRow {
  timestamp: string;
  nodeId: string;
  nodeRole: string;
  cpuPercent: number;
  cpuIowaitPercent: number;
  ramUsedBytes: number;
  ramTotalBytes: number;
  swapUsedBytes: number;
  diskUsedBytes: number;
  diskTotalBytes: number;
  diskReadBytesSec: number;
  diskWriteBytesSec: number;
  netRxBytesSec: number;
  netTxBytesSec: number;
  load1m: number;
  load5m: number;
  load15m: number;
  tcpEstablished: number;
  tcpTimeWait: number;
  openFiles: number;
}

/** Last tick (a multiple of 15 s) not after `now`. */
export function alignedEnd(now = Date.now()): number {
  return Math.floor(now / STEP_MS) * STEP_MS;
}

export function nodeId(n: number, prefix = 'node'): string {
  return `${prefix}-${String(n).padStart(3, '0')}`;
}

/** A uniform pseudo-random number in [0, 1) from three integers (no state). */
export function noise(a: number, b: number, c: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x632be5ab, 0xc2b2ae35) ^ Math.imul(c + 0x27d4eb2f, 0x165667b1);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  h = Math.imul(h, 0x297a2d39);
  h ^= h >>> 15;
  return (h >>> 0) / 4294967296;
}

const r2 = (x: number) => Math.round(x * 100) / 100;

/**
 * Row of node `n` at time index `i` of a series whose last tick (index total-1) is `endMs`.
 * Daily sine pattern + per-node bias + noise; totals are constant per node; disk usage grows slowly.
 */
export function systemRow(n: number, timeMs: number, prefix = 'node'): SystemRow {
  const tick = Math.floor(timeMs / STEP_MS);
  const day = Math.sin((2 * Math.PI * (timeMs % 86_400_000)) / 86_400_000);
  const bias = noise(n, 0, 1);
  const u = noise(n, tick, 2);
  const v = noise(n, tick, 3);
  const cores = 2 ** (1 + (n % 4)); // 2..16
  const cpu = Math.min(100, Math.max(0, 10 + 35 * bias + 15 * day + 20 * u));
  const ramTotal = [8, 16, 32, 64][n % 4]! * GIB;
  const diskTotal = [250, 500, 1000, 2000][(n >> 2) % 4]! * GIB;
  const load1 = (cpu / 100) * cores * (0.8 + 0.4 * v);
  return {
    timestamp: new Date(timeMs).toISOString(),
    nodeId: nodeId(n, prefix),
    nodeRole: ROLES[n % ROLES.length]!,
    cpuPercent: r2(cpu),
    cpuIowaitPercent: r2(5 * u * v),
    ramUsedBytes: Math.round(ramTotal * (0.35 + 0.3 * bias + 0.1 * day + 0.05 * v)),
    ramTotalBytes: ramTotal,
    swapUsedBytes: Math.round(256 * 1024 * 1024 * bias * v),
    diskUsedBytes: Math.round(diskTotal * (0.3 + 0.4 * bias) + (tick % 1_000_000) * 4096),
    diskTotalBytes: diskTotal,
    diskReadBytesSec: r2(5e6 * u * u + 1e4 * v),
    diskWriteBytesSec: r2(8e6 * v * v + 2e4 * u),
    netRxBytesSec: r2(2e7 * (0.5 + 0.5 * day) * u + 1e5),
    netTxBytesSec: r2(1e7 * (0.5 + 0.5 * day) * v + 5e4),
    load1m: r2(load1),
    load5m: r2(load1 * 0.9 + 0.1 * cores * bias),
    load15m: r2(load1 * 0.8 + 0.2 * cores * bias),
    tcpEstablished: Math.round(50 + 3000 * bias * (0.6 + 0.4 * day) + 200 * u),
    tcpTimeWait: Math.round(400 * u * v),
    openFiles: Math.round(2000 + 30_000 * bias + 1000 * v),
  };
}

/** Geometry of a generated data set: `nodes` rows per tick, `ticks` ticks ending at `endMs`. */
export interface DataShape {
  nodes: number;
  ticks: number;
  endMs: number;
  prefix?: string;
}

export function shapeForRows(rows: number, nodes: number, endMs: number): DataShape {
  return { nodes, ticks: Math.ceil(rows / nodes), endMs };
}

export const firstTime = (s: DataShape) => s.endMs - (s.ticks - 1) * STEP_MS;

/** Row number `k` (time-major) of a data set. */
export function rowAt(s: DataShape, k: number): SystemRow {
  const tickIndex = Math.floor(k / s.nodes);
  return systemRow(k % s.nodes, firstTime(s) + tickIndex * STEP_MS, s.prefix);
}

/** Rows [from, to) of a data set. */
export function rowsRange(s: DataShape, from: number, to: number): SystemRow[] {
  const out = new Array<SystemRow>(to - from);
  for (let k = from; k < to; k++) out[k - from] = rowAt(s, k);
  return out;
}

/** Column order of the COPY statement: the same order as the family's insert path. */
export const COPY_COLUMNS = insertColumns(metricsSystem);
const COPY_FIELDS = COPY_COLUMNS.map((c) => (c === 'time' ? 'timestamp' : c === 'node_id' ? 'nodeId' : metricsSystem.columns.find((x) => x.name === c)!.field));

export const COPY_SQL = `COPY ${metricsSystem.table} (${COPY_COLUMNS.join(', ')}) FROM STDIN`;

/** PostgreSQL COPY text format for rows (values here never contain tabs, newlines or backslashes). */
export function copyText(rows: readonly SystemRow[]): string {
  let out = '';
  for (const r of rows) {
    const rec = r as unknown as Record<string, string | number | null | undefined>;
    let line = '';
    for (let i = 0; i < COPY_FIELDS.length; i++) {
      const v = rec[COPY_FIELDS[i]!];
      line += (i ? '\t' : '') + (v === null || v === undefined ? '\\N' : String(v));
    }
    out += `${line}\n`;
  }
  return out;
}

/** Yields COPY text chunks of `chunkRows` rows for a whole data set, generated on the fly. */
export function* copyChunks(s: DataShape, chunkRows = 5000): Generator<Buffer> {
  const total = s.nodes * s.ticks;
  for (let k = 0; k < total; k += chunkRows) yield Buffer.from(copyText(rowsRange(s, k, Math.min(total, k + chunkRows))));
}
