/**
 * IP pools (§10.4 of the mail-cluster requirements): named groups of sending IPs
 * ("transactional", "marketing", "notification", …) that ZoneMTA's sending zones send
 * from, and the ZoneMTA `pools` configuration Opsdeck writes from them.
 *
 * The configuration of one node lists, for each pool, the IPs of that node in the pool
 * that may send now; paused, blacklisted and retired IPs are left out and named in
 * `excluded`, so pausing an IP (or a whole node: bulk pause by node) takes effect at
 * ZoneMTA's next configuration reload. Each entry's `name` (the EHLO name) is its PTR
 * when the PTR is forward-confirmed; otherwise ZoneMTA resolves the PTR itself.
 *
 * Shares (ZoneMTA's `ratio`: an entry with a ratio takes that share of the pool's
 * connections, the others split the rest equally): a ratio set on the IP is used as is;
 * a warming IP with today's limit L in a pool that sent V attempts over the last 24 h
 * gets min(L / V, 1 / n) for n entries, so the warm-up limit and ZoneMTA's rotation
 * agree; every other IP gets no ratio (an equal share).
 */
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { IP_STATUSES } from './schema.ts';
import { canonicalIp, filterSQL, type IpFilter } from './service.ts';
import { countsByIp } from './warmup.ts';

export interface IpPool {
  name: string;
  description: string;
  /** IPs in the pool by status (every status present, zeros included). */
  ips: { total: number; active: number; warming: number; paused: number; blacklisted: number; retired: number };
  createdAt: string;
  updatedAt: string;
}

export interface PoolEntry {
  address: string;
  name?: string;
  ratio?: number;
}

export interface ZoneMtaPools {
  nodeId: string | null;
  generatedAt: string;
  /** ZoneMTA's `pools` configuration value: pool name → its interfaces. */
  pools: Record<string, PoolEntry[]>;
  /** Why each entry's ratio is what it is. */
  ratios: { ip: string; pool: string; ratio: number | null; basis: 'set' | 'warmup' | 'equal'; detail: string }[];
  /** IPs of a pool that may not send now. */
  excluded: { ip: string; pool: string; status: string; reason: string | null }[];
  /** Pools without an IP that may send: ZoneMTA would send their zones from its default interface. */
  warnings: string[];
}

/** A pool member as the configuration needs it. */
interface PoolIpRow {
  ip: string;
  pool: string;
  status: string;
  status_reason: string | null;
  ptr_record: string | null;
  ptr_confirmed: boolean | null;
  pool_ratio: number | null;
  daily_limit: number | null;
}

const STATUS_KEYS = IP_STATUSES;
const SENDING = new Set(['active', 'warming']);
const iso = (d: Date | string) => new Date(d).toISOString();

export const POOL_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Path words of /api/v1/ip-pools/… that are not pools. */
const RESERVED = new Set(['assign', 'zonemta']);
const checkName = (name: string) => {
  if (RESERVED.has(name)) throw new InvalidError('POOL_NAME_RESERVED', `${name} is a reserved word of the pools API`, [{ path: 'name', message: 'reserved: choose another name' }]);
};

export class PoolService {
  constructor(private readonly o: { db: Database; clock: Clock }) {}

  /** The pools (or the one named), with their IPs counted by status. */
  async list(db: Queryable = this.o.db, name?: string): Promise<IpPool[]> {
    const rows = await db.queryMany<{ name: string; description: string; created_at: Date; updated_at: Date; counts: Record<string, number> | null }>(
      `SELECT p.name, p.description, p.created_at, p.updated_at,
              (SELECT jsonb_object_agg(status, n) FROM (SELECT status, count(*)::int AS n FROM sending_ips s WHERE s.pool = p.name GROUP BY status) c) AS counts
         FROM ip_pools p${name === undefined ? '' : ' WHERE p.name = $1'} ORDER BY p.name`,
      name === undefined ? [] : [name],
    );
    return rows.map((r) => {
      const c = r.counts ?? {};
      const ips = { total: 0, active: 0, warming: 0, paused: 0, blacklisted: 0, retired: 0 };
      for (const k of STATUS_KEYS) ips[k] = c[k] ?? 0;
      ips.total = STATUS_KEYS.reduce((t, k) => t + ips[k], 0);
      return { name: r.name, description: r.description, ips, createdAt: iso(r.created_at), updatedAt: iso(r.updated_at) };
    });
  }

  async get(name: string, db: Queryable = this.o.db): Promise<IpPool> {
    const p = (await this.list(db, name))[0];
    if (!p) throw new NotFoundError('POOL_NOT_FOUND', `IP pool ${name} does not exist`);
    return p;
  }

  async create(input: { name: string; description?: string | undefined }): Promise<IpPool> {
    checkName(input.name);
    return this.o.db.transaction(async (tx) => {
      if (await tx.queryOne('SELECT 1 FROM ip_pools WHERE name = $1', [input.name])) throw new ConflictError('POOL_EXISTS', `an IP pool named ${input.name} exists`);
      const now = this.o.clock.now().toISOString();
      await tx.query('INSERT INTO ip_pools (name, description, created_at, updated_at) VALUES ($1, $2, $3, $3)', [input.name, input.description ?? '', now]);
      return this.get(input.name, tx);
    });
  }

  /** Renames (IPs follow: ON UPDATE CASCADE) and/or describes a pool. */
  async update(name: string, patch: { name?: string | undefined; description?: string | undefined }): Promise<IpPool> {
    if (patch.name !== undefined) checkName(patch.name);
    return this.o.db.transaction(async (tx) => {
      await this.get(name, tx);
      const to = patch.name ?? name;
      if (to !== name && (await tx.queryOne('SELECT 1 FROM ip_pools WHERE name = $1', [to]))) throw new ConflictError('POOL_EXISTS', `an IP pool named ${to} exists`);
      await tx.query('UPDATE ip_pools SET name = $2, description = coalesce($3, description), updated_at = $4 WHERE name = $1', [name, to, patch.description ?? null, this.o.clock.now().toISOString()]);
      return this.get(to, tx);
    });
  }

  /** A pool that still has IPs (retired ones included: they keep their history) is 409 POOL_NOT_EMPTY. */
  async remove(name: string): Promise<void> {
    await this.o.db.transaction(async (tx) => {
      const pool = await this.get(name, tx);
      if (pool.ips.total > 0) throw new ConflictError('POOL_NOT_EMPTY', `IP pool ${name} still has ${pool.ips.total} IPs: move them to another pool or to none first`);
      await tx.query('DELETE FROM ip_pools WHERE name = $1', [name]);
    });
  }

  /**
   * Puts the IPs of a list (or every IP matching a filter, through `where`) into `pool`
   * (null: out of any pool). A share set for the old pool is dropped. All or nothing:
   * an address that is not registered is 400 naming it.
   */
  async assign(pool: string | null, target: { ips?: readonly string[] | undefined; filter?: IpFilter | undefined }): Promise<{ pool: string | null; changed: string[]; unchanged: number }> {
    return this.o.db.transaction(async (tx) => {
      if (pool !== null) await this.get(pool, tx).catch((e: unknown) => {
        throw e instanceof NotFoundError ? new InvalidError('UNKNOWN_POOL', `IP pool ${pool} does not exist`, [{ path: 'pool', message: 'no such pool' }]) : e;
      });
      let where: string[];
      let params: unknown[];
      if (target.ips) {
        const ips = target.ips.map((x, i) => canonicalIp(x, `ips.${i}`));
        const found = new Set((await tx.queryMany<{ ip: string }>('SELECT host(ip) AS ip FROM sending_ips WHERE ip = ANY($1::inet[])', [ips])).map((r) => r.ip));
        const unknown = ips.map((ip, i) => ({ ip, i })).filter((x) => !found.has(x.ip));
        if (unknown.length) throw new InvalidError('IP_NOT_FOUND', `${unknown.length} of the addresses are not registered: ${unknown.slice(0, 5).map((x) => x.ip).join(', ')}`, unknown.slice(0, 20).map((x) => ({ path: `ips.${x.i}`, message: 'not a registered sending IP' })));
        where = ['ip = ANY($1::inet[])'];
        params = [ips];
      } else {
        params = [];
        where = filterSQL(target.filter ?? {}, params);
      }
      const matched = (await tx.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM sending_ips${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params))!.n;
      params.push(pool, this.o.clock.now().toISOString());
      const changed = await tx.queryMany<{ ip: string }>(
        `UPDATE sending_ips SET pool = $${params.length - 1}, pool_ratio = NULL, updated_at = $${params.length}
          WHERE ${[...where, `pool IS DISTINCT FROM $${params.length - 1}`].join(' AND ')} RETURNING host(ip) AS ip`,
        params,
      );
      const ips = changed.map((r) => r.ip).sort(compareIp);
      return { pool, changed: ips, unchanged: matched - ips.length };
    });
  }

  /** ZoneMTA's `pools` for one node (its IPs), or for every IP when `nodeId` is null. */
  async zonemta(nodeId: string | null): Promise<ZoneMtaPools> {
    const now = this.o.clock.now();
    // Every IP of every pool: the node's are configured; all of them make a pool's volume of the last
    // 24 h (on every node), which a warming IP's limit is a share of.
    const [names, all] = await Promise.all([
      this.o.db.queryMany<{ name: string }>('SELECT name FROM ip_pools ORDER BY name'),
      this.o.db.queryMany<PoolIpRow & { node_id: string | null }>(
        'SELECT host(ip) AS ip, node_id, pool, status, status_reason, ptr_record, ptr_confirmed, pool_ratio, daily_limit FROM sending_ips WHERE pool IS NOT NULL ORDER BY pool, ip',
      ),
    ]);
    const counts = await countsByIp(this.o.db, all.map((r) => r.ip), new Date(now.getTime() - 86_400_000), now);
    const volume = new Map<string, number>();
    for (const r of all) volume.set(r.pool, (volume.get(r.pool) ?? 0) + (counts.get(r.ip)?.attempts ?? 0));
    return zonemtaPools(nodeId, now, names.map((n) => n.name), nodeId === null ? all : all.filter((r) => r.node_id === nodeId), volume);
  }
}

/** Orders addresses numerically (IPv4 before IPv6). */
export function compareIp(a: string, b: string): number {
  const key = (ip: string) => (ip.includes(':') ? `6${ip}` : `4${ip.split('.').map((o) => o.padStart(3, '0')).join('.')}`);
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

/** Pure: the configuration from the pools' rows (see the header for the rules). */
export function zonemtaPools(
  nodeId: string | null,
  now: Date,
  poolNames: readonly string[],
  rows: readonly PoolIpRow[],
  volume24h: ReadonlyMap<string, number>,
): ZoneMtaPools {
  const out: ZoneMtaPools = { nodeId, generatedAt: now.toISOString(), pools: {}, ratios: [], excluded: [], warnings: [] };
  for (const name of poolNames) {
    const members = rows.filter((r) => r.pool === name);
    const sending = members.filter((r) => SENDING.has(r.status)).sort((a, b) => compareIp(a.ip, b.ip));
    for (const r of members) if (!SENDING.has(r.status)) out.excluded.push({ ip: r.ip, pool: name, status: r.status, reason: r.status_reason });
    if (sending.length === 0) {
      if (members.length > 0 || nodeId === null) out.warnings.push(`pool ${name} has no IP that may send${nodeId ? ` on ${nodeId}` : ''}: ZoneMTA would send its zones from the default interface`);
      continue;
    }
    const n = sending.length;
    const v = volume24h.get(name) ?? 0;
    out.pools[name] = sending.map((r) => {
      const e: PoolEntry = { address: r.ip };
      if (r.ptr_confirmed === true && r.ptr_record) e.name = r.ptr_record;
      if (r.pool_ratio !== null) {
        e.ratio = Number(r.pool_ratio);
        out.ratios.push({ ip: r.ip, pool: name, ratio: e.ratio, basis: 'set', detail: 'set on the IP' });
      } else if (r.status === 'warming' && r.daily_limit !== null && v > 0) {
        e.ratio = Math.round(Math.min(r.daily_limit / v, 1 / n) * 10_000) / 10_000;
        out.ratios.push({ ip: r.ip, pool: name, ratio: e.ratio, basis: 'warmup', detail: `today's warm-up limit ${r.daily_limit} of the pool's ${v} attempts in 24 h, at most an equal share (1/${n})` });
      } else {
        out.ratios.push({ ip: r.ip, pool: name, ratio: null, basis: 'equal', detail: r.status === 'warming' ? 'warming without a limit today or without traffic in the pool: an equal share' : 'an equal share of what the set ratios leave' });
      }
      return e;
    });
  }
  return out;
}

/** The `pools` value as TOML (ZoneMTA's configuration files), under `[pools]`. */
export function poolsToml(c: ZoneMtaPools): string {
  const lines = [`# ZoneMTA IP pools, written by Opsdeck at ${c.generatedAt}${c.nodeId ? ` for node ${c.nodeId}` : ''}.`, '# Paste into the ZoneMTA configuration (or include the file); reload ZoneMTA to apply.'];
  for (const e of c.excluded) lines.push(`# left out: ${e.ip} (pool ${e.pool}) is ${e.status}${e.reason ? `: ${e.reason.replace(/[\r\n]+/g, ' ')}` : ''}`);
  for (const w of c.warnings) lines.push(`# warning: ${w}`);
  const q = (s: string) => JSON.stringify(s);
  for (const [name, entries] of Object.entries(c.pools)) {
    for (const e of entries) {
      lines.push('', `[[pools.${name}]]`, `address = ${q(e.address)}`);
      if (e.name !== undefined) lines.push(`name = ${q(e.name)}`);
      if (e.ratio !== undefined) lines.push(`ratio = ${e.ratio}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
