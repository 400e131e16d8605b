/**
 * Cluster status for a dashboard's landing page (GET /api/v1/cluster/status): every node
 * of the `nodes` table with its role, last_seen, health (ok / stale / unknown, the same
 * rule as the node inventory: nodeHealthSQL), and the latest sample of each family it
 * reports. Framework-free and family-agnostic: the SQL and the field names
 * come from the family declarations, so a new family shows up here without code.
 *
 * Per family with a node column (FamilyDecl.node; node_id in the shipped families), one
 * query: a LATERAL over the nodes reading the newest row per series inside a lookback
 * window (default 24 h) —
 *   families keyed by the node alone: WHERE (t.node_id, t.time) > (n.id, $1) AND (t.node_id, t.time) <= (n.id, $2)
 *                            AND t.time > $1 AND t.time <= $2
 *                          ORDER BY t.node_id DESC, t.time DESC LIMIT 1
 *     (the row comparison leaves the (node_id, time) primary key as the only usable index:
 *     one backward probe per partition/chunk in the window, also for the nodes that do not
 *     report the family; see mongodb/cluster-status.ts for the EXPLAIN numbers)
 *   more identity columns: SELECT DISTINCT ON (zone, …) … WHERE t.node_id = n.id AND <window>
 *                          ORDER BY zone, …, t.time DESC
 *     (reads the node's rows of the window and sorts them: fine for a few series per node)
 * A family without a node column describes no node and is left out.
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
  /** Family key → latest point of each series the node reports (one per node for node_id-only families, one per zone for zonemta, ...). Families the node did not report in the lookback window, and families without a node column, are absent. */
  families: Record<string, LatestPoint[]>;
}

export interface ClusterStatus {
  /** The nodes of this page, in id order. */
  nodes: ClusterNode[];
  /** Counts over every selected node (not only this page). */
  summary: { total: number; ok: number; stale: number; unknown: number; byRole: Record<string, number> };
  /** Paging (src/domain/paging.ts): selected nodes, page number, page size, pages. */
  total: number;
  page: number;
  pageSize: number;
  totalPages: number;
  generatedAt: string;
}

export interface ClusterStatusOptions {
  /** Reference time (default: now). Rows after it are ignored. */
  now?: Date;
  /** How far back to look for each family's latest row (default 24 h). */
  lookbackSeconds?: number;
  /** Only these nodes (default: every node). */
  nodeIds?: readonly string[];
  /** Page number (from 1) and nodes per page; without pageSize, one page with every selected node. */
  page?: number;
  pageSize?: number;
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

/** The latest-row-per-series query of one family with a node column. $1 = window start, $2 = now, $3 = node ids or null. */
export function latestSQL(f: Family): string {
  const node = f.nodeColumn;
  if (node === null) throw new Error(`family ${f.key} has no node column: it has no latest row per node`);
  const extra = f.identity.filter((c) => c !== node);
  const cols = ['time', ...f.identity, ...f.columns.map((c) => c.name)];
  const inner = extra.length
    ? `SELECT DISTINCT ON (${extra.map((c) => `t.${c}`).join(', ')}) ${cols.map((c) => `t.${c}`).join(', ')}
  FROM ${f.table} t
  WHERE t.${node} = n.id AND t.time > $1 AND t.time <= $2
  ORDER BY ${extra.map((c) => `t.${c}`).join(', ')}, t.time DESC`
    : `SELECT ${cols.map((c) => `t.${c}`).join(', ')}
  FROM ${f.table} t
  WHERE (t.${node}, t.time) > (n.id, $1) AND (t.${node}, t.time) <= (n.id, $2)
    AND t.time > $1 AND t.time <= $2
  ORDER BY t.${node} DESC, t.time DESC
  LIMIT 1`;
  return `SELECT l.*
FROM nodes n
CROSS JOIN LATERAL (
  ${inner}
) l
WHERE $3::text[] IS NULL OR n.id = ANY($3::text[])
ORDER BY ${[node, ...extra].map((c) => `l.${c}`).join(', ')}`;
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
  const page = opts.page ?? 1;
  const pageSize = opts.pageSize ?? null;

  // Summary over every selected node, in SQL: the page alone is read row by row.
  // Roles are client-chosen strings: counted in a Map, not an object literal (a role such as
  // "toString" or "constructor" read the inherited member of {} → a string count → 500).
  const counts = await db.queryMany<{ role: string | null; health: NodeHealth; n: number }>(
    `SELECT n.role, ${nodeHealthSQL('$2::timestamptz')} AS health, count(*)::int AS n
     FROM nodes n WHERE $1::text[] IS NULL OR n.id = ANY($1::text[]) GROUP BY 1, 2`,
    [ids, now.toISOString()],
  );
  const roleCounts = new Map<string, number>();
  const health = { ok: 0, stale: 0, unknown: 0 };
  let total = 0;
  for (const c of counts) {
    total += c.n;
    health[c.health] += c.n;
    roleCounts.set(c.role ?? 'unknown', (roleCounts.get(c.role ?? 'unknown') ?? 0) + c.n);
  }

  const nodeRows = await db.queryMany<NodeRow>(
    `SELECT n.id, n.hostname, n.role, n.status, n.labels, n.last_seen, n.expected_interval_seconds, ${nodeHealthSQL('$2::timestamptz')} AS health
     FROM nodes n WHERE $1::text[] IS NULL OR n.id = ANY($1::text[]) ORDER BY n.id
     LIMIT $3 OFFSET $4`,
    [ids, now.toISOString(), pageSize, pageSize === null ? 0 : (page - 1) * pageSize],
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

  // The latest rows of this page's nodes only.
  if (nodes.size > 0) {
    const params = [from.toISOString(), now.toISOString(), [...nodes.keys()]];
    for (const f of families) {
      if (f.nodeColumn === null) continue;
      const rows = await db.queryMany<Record<string, unknown>>(latestSQL(f), params);
      for (const r of rows) {
        const node = nodes.get(r[f.nodeColumn] as string);
        if (!node) continue;
        (node.families[f.key] ??= []).push(toPoint(f, r));
      }
    }
  }

  const size = pageSize ?? Math.max(1, total);
  return {
    nodes: [...nodes.values()],
    summary: { total, ...health, byRole: Object.fromEntries(roleCounts) },
    total,
    page,
    pageSize: size,
    totalPages: Math.max(1, Math.ceil(total / size)),
    generatedAt: now.toISOString(),
  };
}
