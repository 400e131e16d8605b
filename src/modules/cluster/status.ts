/**
 * Cluster status for a dashboard's landing page (GET /api/v1/cluster/status): every node
 * of the `nodes` table with its role, last_seen, health (ok / stale / unknown, the same
 * rule as the node inventory: nodeHealthSQL), and the latest sample of each family it
 * reports. Framework-free and family-agnostic: the SQL and the field names
 * come from the family declarations, so a new family shows up here without code.
 *
 * Per family, one query: a LATERAL over the nodes reading the newest row per series
 * inside a lookback window (default 24 h) —
 *   node_id-only families: WHERE (t.node_id, t.time) > (n.id, $1) AND (t.node_id, t.time) <= (n.id, $2)
 *                            AND t.time > $1 AND t.time <= $2
 *                          ORDER BY t.node_id DESC, t.time DESC LIMIT 1
 *     (the row comparison leaves the (node_id, time) primary key as the only usable index:
 *     one backward probe per partition/chunk in the window, also for the nodes that do not
 *     report the family; see mongodb/cluster-status.ts for the EXPLAIN numbers)
 *   more identity columns: SELECT DISTINCT ON (zone, …) … WHERE t.node_id = n.id AND <window>
 *                          ORDER BY zone, …, t.time DESC
 *     (reads the node's rows of the window and sorts them: fine for a few series per node)
 */
import type { Queryable } from '../../db/database.ts';
import { camelCase, type Family } from '../../timeseries/family.ts';
import { nodeHealthSQL, type NodeView } from '../nodes/service.ts';

export type NodeHealth = NodeView['health'];

/** The latest sample of one series: the same shape as a raw point of GET /api/v1/metrics/{family}. */
export interface LatestPoint {
  timestamp: string;
  [field: string]: string | number | boolean | null;
}

/** Same field names and meanings as the node inventory (NodeView of GET /api/v1/nodes). */
export interface ClusterNode {
  id: string;
  hostname: string | null;
  role: string | null;
  /** nodes.status: active, maintenance or retired. */
  status: NodeView['status'];
  /** ok; stale after 3 expected intervals without data (nodes.expected_interval_seconds, 60 s when unknown); unknown when never seen. */
  health: NodeHealth;
  labels: Record<string, unknown>;
  lastSeen: string | null;
  expectedIntervalSeconds: number | null;
  /** Seconds between lastSeen and `now`. */
  ageSeconds: number | null;
  /** Family key → latest point of each series the node reports (one per node for node_id-only families, one per zone for zonemta, ...). Families the node did not report in the lookback window are absent. */
  families: Record<string, LatestPoint[]>;
}

export interface ClusterStatus {
  nodes: ClusterNode[];
  summary: { total: number; ok: number; stale: number; unknown: number; byRole: Record<string, number> };
  generatedAt: string;
}

export interface ClusterStatusOptions {
  /** Reference time (default: now). Rows after it are ignored. */
  now?: Date;
  /** How far back to look for each family's latest row (default 24 h). */
  lookbackSeconds?: number;
  /** Only these nodes (default: every node). */
  nodeIds?: readonly string[];
}

interface NodeRow {
  id: string;
  hostname: string | null;
  role: string | null;
  status: NodeView['status'];
  health: NodeHealth;
  labels: Record<string, unknown>;
  last_seen: Date | null;
  expected_interval_seconds: number | null;
}

/** The latest-row-per-series query of one family. $1 = window start, $2 = now, $3 = node ids or null. */
export function latestSQL(f: Family): string {
  const extra = f.identity.slice(1);
  const cols = ['time', ...f.identity, ...f.columns.map((c) => c.name)];
  const inner = extra.length
    ? `SELECT DISTINCT ON (${extra.map((c) => `t.${c}`).join(', ')}) ${cols.map((c) => `t.${c}`).join(', ')}
  FROM ${f.table} t
  WHERE t.node_id = n.id AND t.time > $1 AND t.time <= $2
  ORDER BY ${extra.map((c) => `t.${c}`).join(', ')}, t.time DESC`
    : `SELECT ${cols.map((c) => `t.${c}`).join(', ')}
  FROM ${f.table} t
  WHERE (t.node_id, t.time) > (n.id, $1) AND (t.node_id, t.time) <= (n.id, $2)
    AND t.time > $1 AND t.time <= $2
  ORDER BY t.node_id DESC, t.time DESC
  LIMIT 1`;
  return `SELECT l.*
FROM nodes n
CROSS JOIN LATERAL (
  ${inner}
) l
WHERE $3::text[] IS NULL OR n.id = ANY($3::text[])
ORDER BY ${['l.node_id', ...extra.map((c) => `l.${c}`)].join(', ')}`;
}

function toPoint(f: Family, r: Record<string, unknown>): LatestPoint {
  const p: LatestPoint = { timestamp: (r.time as Date).toISOString() };
  for (const id of f.identity) p[camelCase(id)] = r[id] as string;
  for (const c of f.columns) p[c.field] = (r[c.name] ?? null) as string | number | boolean | null;
  return p;
}

export async function getClusterStatus(db: Queryable, families: readonly Family[], opts: ClusterStatusOptions = {}): Promise<ClusterStatus> {
  const now = opts.now ?? new Date();
  const from = new Date(now.getTime() - (opts.lookbackSeconds ?? 86_400) * 1000);
  const ids = opts.nodeIds ? [...opts.nodeIds] : null;

  const nodeRows = await db.queryMany<NodeRow>(
    `SELECT n.id, n.hostname, n.role, n.status, n.labels, n.last_seen, n.expected_interval_seconds, ${nodeHealthSQL('$2::timestamptz')} AS health
     FROM nodes n WHERE $1::text[] IS NULL OR n.id = ANY($1::text[]) ORDER BY n.id`,
    [ids, now.toISOString()],
  );
  const nodes = new Map<string, ClusterNode>();
  for (const r of nodeRows) {
    const age = r.last_seen ? (now.getTime() - r.last_seen.getTime()) / 1000 : null;
    nodes.set(r.id, {
      id: r.id,
      hostname: r.hostname,
      role: r.role,
      status: r.status,
      health: r.health,
      labels: r.labels,
      lastSeen: r.last_seen ? r.last_seen.toISOString() : null,
      expectedIntervalSeconds: r.expected_interval_seconds,
      ageSeconds: age === null ? null : Math.round(age * 1000) / 1000,
      families: {},
    });
  }

  const params = [from.toISOString(), now.toISOString(), ids];
  for (const f of families) {
    const rows = await db.queryMany<Record<string, unknown>>(latestSQL(f), params);
    for (const r of rows) {
      const node = nodes.get(r.node_id as string);
      if (!node) continue;
      (node.families[f.key] ??= []).push(toPoint(f, r));
    }
  }

  const list = [...nodes.values()];
  // A Map, not an object literal: roles are client-chosen strings, and a role such as "toString"
  // or "constructor" read the inherited member of {} (→ a string count → response validation 500).
  const roleCounts = new Map<string, number>();
  for (const n of list) roleCounts.set(n.role ?? 'unknown', (roleCounts.get(n.role ?? 'unknown') ?? 0) + 1);
  const byRole: Record<string, number> = Object.fromEntries(roleCounts);
  return {
    nodes: list,
    summary: {
      total: list.length,
      ok: list.filter((n) => n.health === 'ok').length,
      stale: list.filter((n) => n.health === 'stale').length,
      unknown: list.filter((n) => n.health === 'unknown').length,
      byRole,
    },
    generatedAt: now.toISOString(),
  };
}
