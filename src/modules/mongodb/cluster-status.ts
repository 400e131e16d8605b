/**
 * MongoDB cluster status: the latest sample of every mongod, a status per member and a
 * replica-set summary a dashboard can show as one line. Framework-free: the HTTP layer
 * (GET /api/v1/mongodb/cluster-status) calls getMongoClusterStatus with a Queryable.
 *
 * Query shape: a LATERAL over the `nodes` table reading, per node, the two newest rows
 * of metrics_mongodb inside a lookback window (default 24 h). The node condition is
 * written as a row comparison on the primary key,
 *   WHERE (m.node_id, m.time) > (n.id, $1) AND (m.node_id, m.time) <= (n.id, $2)
 *     AND m.time > $1 AND m.time <= $2            -- the plain bounds prune partitions/chunks
 *   ORDER BY m.node_id DESC, m.time DESC LIMIT 2
 * so that the only usable index is the (node_id, time) primary key, scanned backward: one
 * probe per partition/chunk in the window, whether or not the node reports MongoDB. With
 * the plain `m.node_id = n.id … ORDER BY m.time DESC` the planner picks the (time DESC)
 * index and filters on node_id, which reads the whole window for every node that has no
 * MongoDB rows. EXPLAIN ANALYZE medians, 8 nodes of which 3 report MongoDB, sample data
 * at 60 s (postgres tier: 30 days on PostgreSQL 17; timescale tier: 7 days, 1 h chunks,
 * PGlite + TimescaleDB):
 *   24 h window      postgres 0.16 ms (plain 1.9 ms)    timescale 2.1 ms (plain 4.9 ms)
 *   89-day window    postgres 1.7 ms  (plain 92 ms)     timescale 14 ms  (plain 40 ms)
 *   DISTINCT ON (node_id) … ORDER BY node_id, time DESC over 24 h: 2.8 ms / 8.0 ms — it
 *   reads and sorts every row of the window, so it grows with the sampling rate.
 * The second row gives the real gap to the previous sample for ops/s.
 */
import type { Queryable } from '../../db/database.ts';
import { metricsMongodb } from './family.ts';

export type MongoMemberStatus = 'ok' | 'lagging' | 'stale';
export type ReplicaSetStatus = 'ok' | 'degraded' | 'no_primary' | 'multiple_primaries' | 'no_data';

export interface MongoClusterStatusOptions {
  /** A secondary whose replication lag exceeds this is `lagging`. */
  lagThresholdSeconds: number;
  /** Reference time (default: now). Rows after it are ignored. */
  now?: Date;
  /** A member without a sample in this many sample intervals (15 s each) is `stale` (default 3). */
  staleAfterIntervals?: number;
  /** How far back to look for a node's latest sample (default 24 h). Older members are listed only when nodes.role is 'mongodb'. */
  lookbackSeconds?: number;
  /** Only these nodes (default: every node with MongoDB samples in the window). */
  nodeIds?: readonly string[];
}

export interface MongoMember {
  nodeId: string;
  hostname: string | null;
  /** Member state of the latest sample (primary, secondary, arbiter, ...), null when unknown. */
  role: string | null;
  status: MongoMemberStatus;
  /** Time of the latest sample (ISO 8601), null when none in the lookback window. */
  lastSample: string | null;
  /** Seconds between the latest sample and `now`. */
  ageSeconds: number | null;
  replLagSeconds: number | null;
  /** Sum of the ops_* counts of the latest sample divided by opsIntervalSeconds. */
  opsPerSecond: number | null;
  /** The divisor of opsPerSecond: the real gap to the previous sample when there is one in the window, else the 15 s sample interval. */
  opsIntervalSeconds: number | null;
  ops: { insert: number | null; query: number | null; update: number | null; delete: number | null; command: number | null };
  connectionsUsed: number | null;
  connectionsAvailable: number | null;
  /** used / (used + available) × 100. */
  connectionsPercent: number | null;
  cacheUsedBytes: number | null;
  cacheMaxBytes: number | null;
  /** WiredTiger cache used / max × 100. */
  cachePercent: number | null;
  oplogWindowHours: number | null;
  dataSizeBytes: number | null;
  indexSizeBytes: number | null;
  storageSizeBytes: number | null;
}

export interface ReplicaSetSummary {
  members: number;
  /** Members whose latest sample is fresh and says primary (a stale member's last role is not trusted). */
  primaryCount: number;
  primaries: string[];
  hasPrimary: boolean;
  multiplePrimaries: boolean;
  staleCount: number;
  laggingCount: number;
  /** Highest replication lag among fresh members. */
  worstLagSeconds: number | null;
  worstLagNodeId: string | null;
  /** Shortest oplog window among fresh members: how long the most exposed member could be down and still catch up. */
  shortestOplogWindowHours: number | null;
  /**
   * no_data: no member; no_primary: no fresh primary; multiple_primaries: more than one;
   * degraded: one primary but a member is stale, lagging or in another state than
   * primary/secondary/arbiter; ok otherwise.
   */
  status: ReplicaSetStatus;
  /** Human-readable reasons for a status other than ok. */
  problems: string[];
}

export interface MongoClusterStatus {
  nodes: MongoMember[];
  replicaSet: ReplicaSetSummary;
  lagThresholdSeconds: number;
  staleAfterSeconds: number;
  generatedAt: string;
}

interface Row {
  node_id: string;
  hostname: string | null;
  time: Date | null;
  role: string | null;
  connections_current: number | null;
  connections_available: number | null;
  ops_insert: number | null;
  ops_query: number | null;
  ops_update: number | null;
  ops_delete: number | null;
  ops_command: number | null;
  repl_lag_seconds: number | null;
  data_size_bytes: number | null;
  index_size_bytes: number | null;
  storage_size_bytes: number | null;
  oplog_window_hours: number | null;
  wt_cache_used_bytes: number | null;
  wt_cache_max_bytes: number | null;
}

const DEFAULT_LOOKBACK_SECONDS = 86_400;
const HEALTHY_ROLES = new Set(['primary', 'secondary', 'arbiter']);

/** The latest-two-rows-per-node query (exported for the EXPLAIN check). $1 = window start, $2 = now, $3 = node ids or null. */
export function mongoClusterStatusSQL(): string {
  const f = metricsMongodb;
  const cols = f.columns.map((c) => c.name);
  return `SELECT n.id AS node_id, n.hostname, s.time, ${cols.map((c) => `s.${c}`).join(', ')}
FROM nodes n
LEFT JOIN LATERAL (
  SELECT m.time, ${cols.map((c) => `m.${c}`).join(', ')}
  FROM ${f.table} m
  WHERE (m.node_id, m.time) > (n.id, $1) AND (m.node_id, m.time) <= (n.id, $2)
    AND m.time > $1 AND m.time <= $2
  ORDER BY m.node_id DESC, m.time DESC
  LIMIT 2
) s ON true
WHERE n.status <> 'retired'
  AND (s.time IS NOT NULL OR n.role = 'mongodb')
  AND ($3::text[] IS NULL OR n.id = ANY($3::text[]))
ORDER BY n.id, s.time DESC NULLS LAST`;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

function percent(part: number | null, whole: number | null): number | null {
  if (part === null || whole === null || whole <= 0) return null;
  return round((part / whole) * 100);
}

export async function getMongoClusterStatus(db: Queryable, opts: MongoClusterStatusOptions): Promise<MongoClusterStatus> {
  const { lagThresholdSeconds } = opts;
  if (!Number.isFinite(lagThresholdSeconds) || lagThresholdSeconds < 0) throw new RangeError('lagThresholdSeconds must be a number ≥ 0');
  const now = opts.now ?? new Date();
  const staleAfterSeconds = (opts.staleAfterIntervals ?? 3) * metricsMongodb.sampleSeconds;
  const lookback = opts.lookbackSeconds ?? DEFAULT_LOOKBACK_SECONDS;
  const from = new Date(now.getTime() - lookback * 1000);
  const rows = await db.queryMany<Row>(mongoClusterStatusSQL(), [from.toISOString(), now.toISOString(), opts.nodeIds ? [...opts.nodeIds] : null]);

  const byNode = new Map<string, Row[]>();
  for (const r of rows) {
    const list = byNode.get(r.node_id) ?? [];
    list.push(r);
    byNode.set(r.node_id, list);
  }

  const nodes: MongoMember[] = [];
  for (const [nodeId, [latest, previous]] of byNode) {
    if (!latest) continue;
    const t = latest.time;
    const ageSeconds = t ? (now.getTime() - t.getTime()) / 1000 : null;
    const ops = [latest.ops_insert, latest.ops_query, latest.ops_update, latest.ops_delete, latest.ops_command];
    const known = ops.filter((v): v is number => v !== null);
    let opsInterval: number | null = null;
    let opsPerSecond: number | null = null;
    if (t && known.length) {
      const gap = previous?.time ? (t.getTime() - previous.time.getTime()) / 1000 : 0;
      opsInterval = gap > 0 ? gap : metricsMongodb.sampleSeconds;
      opsPerSecond = round(known.reduce((a, b) => a + b, 0) / opsInterval);
    }
    const stale = ageSeconds === null || ageSeconds > staleAfterSeconds;
    const lagging = !stale && latest.repl_lag_seconds !== null && latest.repl_lag_seconds > lagThresholdSeconds;
    const used = latest.connections_current;
    const avail = latest.connections_available;
    nodes.push({
      nodeId,
      hostname: latest.hostname,
      role: latest.role,
      status: stale ? 'stale' : lagging ? 'lagging' : 'ok',
      lastSample: t ? t.toISOString() : null,
      ageSeconds: ageSeconds === null ? null : round(ageSeconds, 3),
      replLagSeconds: latest.repl_lag_seconds,
      opsPerSecond,
      opsIntervalSeconds: opsInterval,
      ops: { insert: latest.ops_insert, query: latest.ops_query, update: latest.ops_update, delete: latest.ops_delete, command: latest.ops_command },
      connectionsUsed: used,
      connectionsAvailable: avail,
      connectionsPercent: used === null || avail === null ? null : percent(used, used + avail),
      cacheUsedBytes: latest.wt_cache_used_bytes,
      cacheMaxBytes: latest.wt_cache_max_bytes,
      cachePercent: percent(latest.wt_cache_used_bytes, latest.wt_cache_max_bytes),
      oplogWindowHours: latest.oplog_window_hours,
      dataSizeBytes: latest.data_size_bytes,
      indexSizeBytes: latest.index_size_bytes,
      storageSizeBytes: latest.storage_size_bytes,
    });
  }

  return { nodes, replicaSet: summarize(nodes), lagThresholdSeconds, staleAfterSeconds, generatedAt: now.toISOString() };
}

/** The replica-set line: pure, from the member list. */
export function summarize(nodes: readonly MongoMember[]): ReplicaSetSummary {
  const fresh = nodes.filter((n) => n.status !== 'stale');
  const primaries = fresh.filter((n) => n.role === 'primary').map((n) => n.nodeId);
  const stale = nodes.filter((n) => n.status === 'stale');
  const lagging = nodes.filter((n) => n.status === 'lagging');
  const oddState = fresh.filter((n) => !n.role || !HEALTHY_ROLES.has(n.role));
  let worst: MongoMember | null = null;
  for (const n of fresh) if (n.replLagSeconds !== null && (worst === null || n.replLagSeconds > worst.replLagSeconds!)) worst = n;
  const windows = fresh.map((n) => n.oplogWindowHours).filter((v): v is number => v !== null);

  const problems: string[] = [];
  if (nodes.length === 0) problems.push('no MongoDB member has reported');
  else if (primaries.length === 0) problems.push('no member reports itself primary');
  else if (primaries.length > 1) problems.push(`${primaries.length} members report themselves primary: ${primaries.join(', ')}`);
  for (const n of stale) problems.push(`${n.nodeId} is stale${n.lastSample ? ` (last sample ${n.lastSample})` : ' (no sample in the lookback window)'}`);
  for (const n of lagging) problems.push(`${n.nodeId} lags ${n.replLagSeconds} s behind the primary`);
  for (const n of oddState) problems.push(`${n.nodeId} is in state ${n.role ?? 'unknown'}`);

  const status: ReplicaSetStatus =
    nodes.length === 0
      ? 'no_data'
      : primaries.length === 0
        ? 'no_primary'
        : primaries.length > 1
          ? 'multiple_primaries'
          : problems.length > 0
            ? 'degraded'
            : 'ok';
  return {
    members: nodes.length,
    primaryCount: primaries.length,
    primaries,
    hasPrimary: primaries.length > 0,
    multiplePrimaries: primaries.length > 1,
    staleCount: stale.length,
    laggingCount: lagging.length,
    worstLagSeconds: worst?.replLagSeconds ?? null,
    worstLagNodeId: worst?.nodeId ?? null,
    shortestOplogWindowHours: windows.length ? Math.min(...windows) : null,
    status,
    problems,
  };
}
