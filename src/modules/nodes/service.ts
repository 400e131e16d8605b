/**
 * Node inventory (nodes table: mail-cluster nodes, home-lab devices and
 * Mission Control hosts are one concept). Ingest registers nodes and keeps
 * last_seen; health is derived: `stale` after 3 missed sampling intervals.
 */
import { isIP } from 'node:net';
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

/** What an agent reports when it starts (the mail-cluster agent's node registration). */
export interface NodeRegistration {
  nodeId: string;
  hostname?: string | null | undefined;
  /** An IPv4 or IPv6 address; anything else (the agent sends "unknown") is not stored. */
  ipAddress?: string | null | undefined;
  role?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/**
 * Registers a node or refreshes what its agent says about it: hostname, role, its
 * address (kept in `addresses.ip`), and metadata (merged key by key). The status an
 * operator set and the labels are kept; last_seen stays ingest's business.
 */
export async function registerNode(db: Queryable, r: NodeRegistration): Promise<NodeView> {
  const address = r.ipAddress && isIP(r.ipAddress) !== 0 ? JSON.stringify({ ip: r.ipAddress }) : null;
  await db.query(
    `INSERT INTO nodes (id, hostname, role, addresses, metadata)
     VALUES ($1, $2, $3, coalesce($4::text::jsonb, '{}'::jsonb), coalesce($5::text::jsonb, '{}'::jsonb))
     ON CONFLICT (id) DO UPDATE SET
       hostname = coalesce(EXCLUDED.hostname, nodes.hostname),
       role = coalesce(EXCLUDED.role, nodes.role),
       addresses = nodes.addresses || coalesce($4::text::jsonb, '{}'::jsonb),
       metadata = nodes.metadata || coalesce($5::text::jsonb, '{}'::jsonb),
       updated_at = now()`,
    [r.nodeId, r.hostname ?? null, r.role ?? null, address, r.metadata ? JSON.stringify(r.metadata) : null],
  );
  return (await getNode(db, r.nodeId))!;
}

export interface ProcessReport {
  name: string;
  running: boolean;
  pid?: number | null | undefined;
  cpuPercent?: number | null | undefined;
  memoryMB?: number | null | undefined;
}

export interface ProcessView {
  name: string;
  running: boolean;
  pid: number | null;
  cpuPercent: number | null;
  memoryMB: number | null;
  reportedAt: string;
}

/**
 * Replaces a node's process list with a report taken at `at`, in the caller's
 * transaction; a report older than the stored one changes nothing (reports may
 * arrive out of order from an agent's offline buffer).
 */
export async function replaceProcesses(db: Queryable, nodeId: string, at: Date, list: readonly ProcessReport[]): Promise<boolean> {
  const newer = await db.queryOne<{ stale: boolean }>(`SELECT bool_or(reported_at > $2::timestamptz) AS stale FROM node_processes WHERE node_id = $1`, [nodeId, at.toISOString()]);
  if (newer?.stale) return false;
  await db.query('DELETE FROM node_processes WHERE node_id = $1', [nodeId]);
  if (list.length === 0) return true;
  // one JSON parameter: the drivers encode arrays of booleans and nulls differently
  await db.query(
    `INSERT INTO node_processes (node_id, name, running, pid, cpu_percent, memory_mb, reported_at)
     SELECT $1::text, x.name, x.running, x.pid, x.cpu, x.mem, $3::timestamptz
     FROM jsonb_to_recordset($2::text::jsonb) AS x(name text, running boolean, pid integer, cpu double precision, mem double precision)
     ON CONFLICT (node_id, name) DO UPDATE SET running = EXCLUDED.running, pid = EXCLUDED.pid, cpu_percent = EXCLUDED.cpu_percent, memory_mb = EXCLUDED.memory_mb, reported_at = EXCLUDED.reported_at`,
    [nodeId, JSON.stringify(list.map((p) => ({ name: p.name, running: p.running, pid: p.pid ?? null, cpu: p.cpuPercent ?? null, mem: p.memoryMB ?? null }))), at.toISOString()],
  );
  return true;
}

export async function listProcesses(db: Queryable, nodeId: string): Promise<ProcessView[]> {
  const rows = await db.queryMany<{ name: string; running: boolean; pid: number | null; cpu_percent: number | null; memory_mb: number | null; reported_at: Date }>(
    'SELECT name, running, pid, cpu_percent, memory_mb, reported_at FROM node_processes WHERE node_id = $1 ORDER BY name',
    [nodeId],
  );
  return rows.map((r) => ({ name: r.name, running: r.running, pid: r.pid, cpuPercent: r.cpu_percent, memoryMB: r.memory_mb, reportedAt: r.reported_at.toISOString() }));
}
