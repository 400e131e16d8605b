/**
 * The ledger's inventory: hosts (which ARE Opsdeck's nodes — one inventory;
 * a host's type and cluster are the node labels `type` and `cluster`), services
 * (logical groupings of workloads) and workloads (deployments, pods, VMs, LXCs,
 * containers on a node). Every change is audited in its transaction.
 */
import type { Database, Queryable } from '../../db/database.ts';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from '../auth/users.ts';
import { recordAudit, type Actor } from './audit.ts';
import type { WorkloadKind, WorkloadRow, WorkloadStatus } from './schema.ts';

export interface HostInput {
  name: string;
  type?: string | undefined;
  cluster?: string | undefined;
  hostname?: string | undefined;
  addresses?: Record<string, string> | undefined;
  labels?: Record<string, string> | undefined;
}

export interface Host {
  name: string;
  hostname: string | null;
  type: string | null;
  cluster: string | null;
  status: string;
  addresses: Record<string, unknown>;
  labels: Record<string, unknown>;
  registeredAt: string;
  lastSeen: string | null;
}

interface HostRow {
  id: string;
  hostname: string | null;
  status: string;
  addresses: Record<string, unknown>;
  labels: Record<string, unknown>;
  registered_at: Date;
  last_seen: Date | null;
}

const toHost = (r: HostRow): Host => ({
  name: r.id,
  hostname: r.hostname,
  type: typeof r.labels.type === 'string' ? r.labels.type : null,
  cluster: typeof r.labels.cluster === 'string' ? r.labels.cluster : null,
  status: r.status,
  addresses: r.addresses,
  labels: r.labels,
  registeredAt: r.registered_at.toISOString(),
  lastSeen: r.last_seen?.toISOString() ?? null,
});

const HOST_COLS = 'id, hostname, status, addresses, labels, registered_at, last_seen';

/** Registers a host as a node or updates it: labels and addresses are merged key by key; type and cluster become labels. */
export async function registerHost(db: Database, actor: Actor, h: HostInput): Promise<Host> {
  const labels = { ...(h.labels ?? {}), ...(h.type !== undefined ? { type: h.type } : {}), ...(h.cluster !== undefined ? { cluster: h.cluster } : {}) };
  return db.transaction(async (tx) => {
    const row = await tx.queryOne<HostRow>(
      `INSERT INTO nodes (id, hostname, addresses, labels) VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb)
       ON CONFLICT (id) DO UPDATE SET hostname = coalesce(EXCLUDED.hostname, nodes.hostname),
         addresses = nodes.addresses || EXCLUDED.addresses, labels = nodes.labels || EXCLUDED.labels, updated_at = now()
       RETURNING ${HOST_COLS}`,
      [h.name, h.hostname ?? null, JSON.stringify(h.addresses ?? {}), JSON.stringify(labels)],
    );
    await recordAudit(tx, { ...actor, action: 'host.register', targetType: 'node', targetId: h.name, summary: { type: h.type, cluster: h.cluster } });
    return toHost(row!);
  });
}

export async function listHosts(db: Queryable, f: { page: number; pageSize: number; type?: string | undefined; cluster?: string | undefined }): Promise<Page<Host>> {
  const where = `($1::text IS NULL OR labels->>'type' = $1) AND ($2::text IS NULL OR labels->>'cluster' = $2)`;
  const params = [f.type ?? null, f.cluster ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM nodes WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<HostRow>(`SELECT ${HOST_COLS} FROM nodes WHERE ${where} ORDER BY id LIMIT $3 OFFSET $4`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toHost), total, f.page, f.pageSize);
}

// ---------------------------------------------------------------- services

export interface Service {
  id: number;
  name: string;
  description: string | null;
  labels: Record<string, string>;
  workloads: number;
  createdAt: string;
  updatedAt: string;
}

interface ServiceRow {
  id: number;
  name: string;
  description: string | null;
  labels: Record<string, string>;
  workloads: number;
  created_at: Date;
  updated_at: Date;
}

const toService = (r: ServiceRow): Service => ({
  id: r.id,
  name: r.name,
  description: r.description,
  labels: r.labels,
  workloads: r.workloads,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const SERVICE_SELECT = `SELECT s.id, s.name, s.description, s.labels, s.created_at, s.updated_at,
  (SELECT count(*)::int FROM workloads w WHERE w.service_id = s.id) AS workloads FROM services s`;

const serviceNotFound = (id: number) => new NotFoundError('SERVICE_NOT_FOUND', `no service ${id}`);
const serviceNameTaken = (name: string) => new ConflictError('SERVICE_NAME_TAKEN', `a service named ${JSON.stringify(name)} exists`);

export async function createService(db: Database, actor: Actor, s: { name: string; description?: string | undefined; labels?: Record<string, string> | undefined }): Promise<Service> {
  try {
    return await db.transaction(async (tx) => {
      const r = await tx.queryOne<{ id: number }>(`INSERT INTO services (name, description, labels) VALUES ($1, $2, $3::text::jsonb) RETURNING id`, [
        s.name,
        s.description ?? null,
        JSON.stringify(s.labels ?? {}),
      ]);
      await recordAudit(tx, { ...actor, action: 'service.create', targetType: 'service', targetId: r!.id, summary: { name: s.name } });
      return toService((await tx.queryOne<ServiceRow>(`${SERVICE_SELECT} WHERE s.id = $1`, [r!.id]))!);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw serviceNameTaken(s.name);
    throw err;
  }
}

export async function updateService(
  db: Database,
  actor: Actor,
  id: number,
  u: { name?: string | undefined; description?: string | null | undefined; labels?: Record<string, string> | undefined },
): Promise<Service> {
  try {
    return await db.transaction(async (tx) => {
      const r = await tx.queryOne<{ id: number }>(
        `UPDATE services SET name = coalesce($2, name), description = CASE WHEN $3 THEN $4 ELSE description END,
           labels = coalesce($5::text::jsonb, labels), updated_at = now() WHERE id = $1 RETURNING id`,
        [id, u.name ?? null, u.description !== undefined, u.description ?? null, u.labels ? JSON.stringify(u.labels) : null],
      );
      if (!r) throw serviceNotFound(id);
      await recordAudit(tx, { ...actor, action: 'service.update', targetType: 'service', targetId: id, summary: { fields: Object.keys(u) } });
      return toService((await tx.queryOne<ServiceRow>(`${SERVICE_SELECT} WHERE s.id = $1`, [id]))!);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw serviceNameTaken(u.name ?? '');
    throw err;
  }
}

export async function listServices(db: Queryable, f: { page: number; pageSize: number; name?: string | undefined }): Promise<Page<Service>> {
  const where = `($1::text IS NULL OR s.name ILIKE '%' || $1 || '%')`;
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM services s WHERE ${where}`, [f.name ?? null]))?.n ?? 0;
  const rows = await db.queryMany<ServiceRow>(`${SERVICE_SELECT} WHERE ${where} ORDER BY s.name LIMIT $2 OFFSET $3`, [f.name ?? null, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toService), total, f.page, f.pageSize);
}

// ---------------------------------------------------------------- workloads

export interface Workload {
  id: number;
  kind: WorkloadKind;
  name: string;
  node: string | null;
  serviceId: number | null;
  status: WorkloadStatus;
  spec: Record<string, unknown>;
  labels: Record<string, string>;
  createdAt: string;
  updatedAt: string;
}

export interface WorkloadInput {
  kind: WorkloadKind;
  name: string;
  node?: string | null | undefined;
  serviceId?: number | null | undefined;
  status?: WorkloadStatus | undefined;
  spec?: Record<string, unknown> | undefined;
  labels?: Record<string, string> | undefined;
}

const toWorkload = (r: WorkloadRow): Workload => ({
  id: r.id,
  kind: r.kind,
  name: r.name,
  node: r.node_id,
  serviceId: r.service_id,
  status: r.status,
  spec: r.spec,
  labels: r.labels,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const workloadNotFound = (id: number) => new NotFoundError('WORKLOAD_NOT_FOUND', `no workload ${id}`);

/** Refuses a node or service that does not exist, naming the field (400), before anything is written. */
export async function checkRefs(tx: Queryable, refs: { node?: string | null | undefined; serviceId?: number | null | undefined; workloadId?: number | null | undefined }): Promise<void> {
  if (refs.node != null && !(await tx.queryOne('SELECT 1 FROM nodes WHERE id = $1', [refs.node]))) {
    throw new InvalidError('UNKNOWN_NODE', `no node ${JSON.stringify(refs.node)}; register the host first`, [{ path: 'node', message: 'no such node' }]);
  }
  if (refs.serviceId != null && !(await tx.queryOne('SELECT 1 FROM services WHERE id = $1', [refs.serviceId]))) {
    throw new InvalidError('UNKNOWN_SERVICE', `no service ${refs.serviceId}`, [{ path: 'serviceId', message: 'no such service' }]);
  }
  if (refs.workloadId != null && !(await tx.queryOne('SELECT 1 FROM workloads WHERE id = $1', [refs.workloadId]))) {
    throw new InvalidError('UNKNOWN_WORKLOAD', `no workload ${refs.workloadId}`, [{ path: 'workloadId', message: 'no such workload' }]);
  }
}

/** Registers a workload; the same kind and name again updates it (agents re-register on start). */
export async function registerWorkload(db: Database, actor: Actor, w: WorkloadInput): Promise<{ workload: Workload; created: boolean }> {
  return db.transaction(async (tx) => {
    await checkRefs(tx, { node: w.node, serviceId: w.serviceId });
    const r = await tx.queryOne<WorkloadRow & { inserted: boolean }>(
      `INSERT INTO workloads (kind, name, node_id, service_id, status, spec, labels)
       VALUES ($1, $2, $3, $4, coalesce($5, 'unknown'), $6::text::jsonb, $7::text::jsonb)
       ON CONFLICT (kind, name) DO UPDATE SET node_id = coalesce(EXCLUDED.node_id, workloads.node_id),
         service_id = coalesce(EXCLUDED.service_id, workloads.service_id), status = coalesce($5, workloads.status),
         spec = EXCLUDED.spec, labels = workloads.labels || EXCLUDED.labels, updated_at = now()
       RETURNING *, (xmax = 0) AS inserted`,
      [w.kind, w.name, w.node ?? null, w.serviceId ?? null, w.status ?? null, JSON.stringify(w.spec ?? {}), JSON.stringify(w.labels ?? {})],
    );
    await recordAudit(tx, { ...actor, action: r!.inserted ? 'workload.create' : 'workload.update', targetType: 'workload', targetId: r!.id, summary: { kind: w.kind, name: w.name, node: w.node, status: w.status } });
    return { workload: toWorkload(r!), created: r!.inserted };
  });
}

export async function updateWorkload(
  db: Database,
  actor: Actor,
  id: number,
  u: { node?: string | null | undefined; serviceId?: number | null | undefined; status?: WorkloadStatus | undefined; spec?: Record<string, unknown> | undefined; labels?: Record<string, string> | undefined },
): Promise<Workload> {
  return db.transaction(async (tx) => {
    await checkRefs(tx, { node: u.node, serviceId: u.serviceId });
    const r = await tx.queryOne<WorkloadRow>(
      `UPDATE workloads SET node_id = CASE WHEN $2 THEN $3 ELSE node_id END, service_id = CASE WHEN $4 THEN $5::int ELSE service_id END,
         status = coalesce($6, status), spec = coalesce($7::text::jsonb, spec), labels = coalesce($8::text::jsonb, labels), updated_at = now()
       WHERE id = $1 RETURNING *`,
      [id, u.node !== undefined, u.node ?? null, u.serviceId !== undefined, u.serviceId ?? null, u.status ?? null, u.spec ? JSON.stringify(u.spec) : null, u.labels ? JSON.stringify(u.labels) : null],
    );
    if (!r) throw workloadNotFound(id);
    await recordAudit(tx, { ...actor, action: 'workload.update', targetType: 'workload', targetId: id, summary: { fields: Object.keys(u), status: u.status } });
    return toWorkload(r);
  });
}

export async function listWorkloads(
  db: Queryable,
  f: { page: number; pageSize: number; kind?: WorkloadKind | undefined; node?: string | undefined; serviceId?: number | undefined; status?: WorkloadStatus | undefined },
): Promise<Page<Workload>> {
  const where = `($1::text IS NULL OR kind = $1) AND ($2::text IS NULL OR node_id = $2) AND ($3::int IS NULL OR service_id = $3) AND ($4::text IS NULL OR status = $4)`;
  const params = [f.kind ?? null, f.node ?? null, f.serviceId ?? null, f.status ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM workloads WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<WorkloadRow>(`SELECT * FROM workloads WHERE ${where} ORDER BY kind, name LIMIT $5 OFFSET $6`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toWorkload), total, f.page, f.pageSize);
}

export async function getWorkload(db: Queryable, id: number): Promise<Workload> {
  const r = await db.queryOne<WorkloadRow>('SELECT * FROM workloads WHERE id = $1', [id]);
  if (!r) throw workloadNotFound(id);
  return toWorkload(r);
}
