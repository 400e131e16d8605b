/**
 * Node inventory (nodes table: mail-cluster nodes, home-lab devices and
 * Mission Control hosts are one concept). Ingest registers nodes and keeps
 * last_seen; health is derived: `stale` after 3 missed sampling intervals.
 */
import type { Queryable } from '../../db/database.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import type { NodeRow, NodeStatus } from './schema.ts';

export const STALE_AFTER_INTERVALS = 3;

/** Derived health of a node: `stale` after STALE_AFTER_INTERVALS missed sampling intervals, `unknown` before its first sample. */
export const NODE_HEALTHS = ['ok', 'stale', 'unknown'] as const;
export type NodeHealth = (typeof NODE_HEALTHS)[number];

/** SQL expression for a node's health, relative to $now (parameter placeholder given). */
export function nodeHealthSQL(now: string, alias = 'n'): string {
  return `CASE WHEN ${alias}.last_seen IS NULL THEN 'unknown'
    WHEN ${alias}.last_seen < ${now} - make_interval(secs => ${STALE_AFTER_INTERVALS} * coalesce(${alias}.expected_interval_seconds, 60)) THEN 'stale'
    ELSE 'ok' END`;
}

export interface NodeView {
  id: string;
  hostname: string | null;
  role: string | null;
  status: NodeStatus;
  health: NodeHealth;
  addresses: Record<string, unknown>;
  labels: Record<string, unknown>;
  expectedIntervalSeconds: number | null;
  registeredAt: string;
  lastSeen: string | null;
}

/** The columns the inventory selects, plus the derived health. */
type NodeListRow = Omit<NodeRow, 'metadata' | 'updated_at'> & { health: NodeHealth };

const toView = (r: NodeListRow): NodeView => ({
  id: r.id,
  hostname: r.hostname,
  role: r.role,
  status: r.status,
  health: r.health,
  addresses: r.addresses,
  labels: r.labels,
  expectedIntervalSeconds: r.expected_interval_seconds,
  registeredAt: r.registered_at.toISOString(),
  lastSeen: r.last_seen?.toISOString() ?? null,
});

const COLUMNS = (now: string) =>
  `n.id, n.hostname, n.role, n.status, n.addresses, n.labels, n.expected_interval_seconds, n.registered_at, n.last_seen, ${nodeHealthSQL(now)} AS health`;


export async function listNodes(
  db: Queryable,
  opts: { page: number; pageSize: number; role?: string | undefined; health?: NodeView['health'] | undefined; now?: Date },
): Promise<Page<NodeView>> {
  const now = (opts.now ?? new Date()).toISOString();
  const where = `($2::text IS NULL OR n.role = $2) AND ($3::text IS NULL OR ${nodeHealthSQL('$1::timestamptz')} = $3)`;
  const params = [now, opts.role ?? null, opts.health ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM nodes n WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<NodeListRow>(
    `SELECT ${COLUMNS('$1::timestamptz')} FROM nodes n WHERE ${where} ORDER BY n.id LIMIT $4 OFFSET $5`,
    [...params, opts.pageSize, (opts.page - 1) * opts.pageSize],
  );
  return pageResult(rows.map(toView), total, opts.page, opts.pageSize);
}

export async function getNode(db: Queryable, id: string, now: Date = new Date()): Promise<NodeView | null> {
  const r = await db.queryOne<NodeListRow>(`SELECT ${COLUMNS('$2::timestamptz')} FROM nodes n WHERE n.id = $1`, [id, now.toISOString()]);
  return r ? toView(r) : null;
}

export interface NodeUpdate {
  hostname?: string | null | undefined;
  role?: string | null | undefined;
  status?: NodeView['status'] | undefined;
  addresses?: Record<string, unknown> | undefined;
  labels?: Record<string, unknown> | undefined;
}

/** Registers or updates a node's descriptive fields (ingest keeps last_seen). */
export async function upsertNode(db: Queryable, id: string, u: NodeUpdate): Promise<NodeView> {
  await db.query(
    `INSERT INTO nodes (id, hostname, role, status, addresses, labels)
     VALUES ($1, $2, $3, coalesce($4, 'active'), coalesce($5::text::jsonb, '{}'::jsonb), coalesce($6::text::jsonb, '{}'::jsonb))
     ON CONFLICT (id) DO UPDATE SET
       hostname = CASE WHEN $7 THEN EXCLUDED.hostname ELSE nodes.hostname END,
       role = CASE WHEN $8 THEN EXCLUDED.role ELSE nodes.role END,
       status = coalesce($4, nodes.status),
       addresses = coalesce($5::text::jsonb, nodes.addresses),
       labels = coalesce($6::text::jsonb, nodes.labels),
       updated_at = now()`,
    [
      id,
      u.hostname ?? null,
      u.role ?? null,
      u.status ?? null,
      u.addresses ? JSON.stringify(u.addresses) : null,
      u.labels ? JSON.stringify(u.labels) : null,
      u.hostname !== undefined,
      u.role !== undefined,
    ],
  );
  return (await getNode(db, id))!;
}
