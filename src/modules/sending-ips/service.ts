/**
 * Sending IPs: the registry (§6.2), adding by range, bulk pause/resume, warm-up
 * plans and the per-IP warm-up state. Framework-free; throws domain errors.
 * The daily warm-up gate is in ./warmup.ts, the DNSBL checker in ../dnsbl.
 */
import { isIP } from 'node:net';
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError, type FieldIssue } from '../../domain/errors.ts';
import { parseCidr, rangeAddresses } from './addresses.ts';
import type { IpStatus } from './schema.ts';

export const LIST_DEFAULT_LIMIT = 100;
export const LIST_MAX_LIMIT = 1000;

export interface SendingIp {
  ip: string;
  ipVersion: number;
  nodeId: string | null;
  subnet: string | null;
  ptrRecord: string | null;
  ptrConfirmed: boolean | null;
  ptrCheckedAt: string | null;
  status: IpStatus;
  statusReason: string | null;
  statusChangedAt: string | null;
  warmupPlanId: number | null;
  warmupStart: string | null;
  warmupDay: number;
  dailyLimit: number | null;
  currentDailySent: number;
  blacklistCount: number;
  reputationScore: number;
  /** The IP pool it belongs to (ip_pools.name), or null. */
  pool: string | null;
  /** Its share of the pool's connections when set by hand (0 < r ≤ 1); null: Opsdeck decides. */
  poolRatio: number | null;
  lastBlacklistCheck: string | null;
  notes: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface ListQuery {
  nodeId?: string | undefined;
  status?: IpStatus | undefined;
  subnet?: string | undefined;
  listed?: boolean | undefined;
  search?: string | undefined;
  pool?: string | undefined;
  /** Keyset cursor: the last IP of the previous page (answers start after it, in address order). */
  after?: string | undefined;
  limit?: number | undefined;
}

export interface IpFilter {
  nodeId?: string | undefined;
  status?: IpStatus | undefined;
  subnet?: string | undefined;
  listed?: boolean | undefined;
  search?: string | undefined;
  /** A pool's name; `-` for IPs in no pool. */
  pool?: string | undefined;
}

const iso = (d: Date | string | null): string | null => (d === null ? null : new Date(d).toISOString());
const day = (d: Date | string | null): string | null => (d === null ? null : typeof d === 'string' ? d.slice(0, 10) : d.toISOString().slice(0, 10));

export const IP_COLUMNS = `host(ip) AS ip, ip_version, node_id, subnet::text AS subnet, ptr_record, ptr_confirmed, ptr_checked_at, status, status_reason, status_changed_at,
  warmup_plan_id, warmup_start::text AS warmup_start, warmup_day, daily_limit, current_daily_sent, blacklist_count, reputation_score, pool, pool_ratio, last_blacklist_check, notes, created_at, updated_at`;

interface IpRow {
  ip: string;
  ip_version: number;
  node_id: string | null;
  subnet: string | null;
  ptr_record: string | null;
  ptr_confirmed: boolean | null;
  ptr_checked_at: Date | null;
  status: IpStatus;
  status_reason: string | null;
  status_changed_at: Date | null;
  warmup_plan_id: number | null;
  warmup_start: string | null;
  warmup_day: number;
  daily_limit: number | null;
  current_daily_sent: number;
  blacklist_count: number;
  reputation_score: number;
  pool: string | null;
  pool_ratio: number | null;
  last_blacklist_check: Date | null;
  notes: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toApi(r: IpRow): SendingIp {
  return {
    ip: r.ip,
    ipVersion: Number(r.ip_version),
    nodeId: r.node_id,
    subnet: r.subnet,
    ptrRecord: r.ptr_record,
    ptrConfirmed: r.ptr_confirmed,
    ptrCheckedAt: iso(r.ptr_checked_at),
    status: r.status,
    statusReason: r.status_reason,
    statusChangedAt: iso(r.status_changed_at),
    warmupPlanId: r.warmup_plan_id,
    warmupStart: day(r.warmup_start),
    warmupDay: r.warmup_day,
    dailyLimit: r.daily_limit,
    currentDailySent: r.current_daily_sent,
    blacklistCount: r.blacklist_count,
    reputationScore: r.reputation_score,
    pool: r.pool,
    poolRatio: r.pool_ratio === null ? null : Number(r.pool_ratio),
    lastBlacklistCheck: iso(r.last_blacklist_check),
    notes: r.notes,
    createdAt: iso(r.created_at)!,
    updatedAt: iso(r.updated_at)!,
  };
}

/** The IP in PostgreSQL's canonical text (host(inet)), or a 400 naming `path`. */
export function canonicalIp(ip: string, path: string, version?: 4 | 6): string {
  const v = isIP(ip);
  if (v === 0) throw new InvalidError('INVALID_IP', `${JSON.stringify(ip)} is not an IP address`, [{ path, message: 'not an IPv4 or IPv6 address' }]);
  if (version !== undefined && v !== version) throw new InvalidError('INVALID_IP', `${ip} is an IPv${v} address where an IPv${version} address is expected`, [{ path, message: `an IPv${version} address is expected` }]);
  return ip.toLowerCase();
}

/** The WHERE terms of a filter over sending_ips, their values appended to `params`. */
export function filterSQL(f: IpFilter, params: unknown[]): string[] {
  const p = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const where: string[] = [];
  if (f.nodeId !== undefined) where.push(`node_id = ${p(f.nodeId)}`);
  if (f.status !== undefined) where.push(`status = ${p(f.status)}`);
  if (f.subnet !== undefined) {
    const c = parseCidr(f.subnet);
    if (!c) throw new InvalidError('INVALID_CIDR', `${JSON.stringify(f.subnet)} is not a CIDR range`, [{ path: 'subnet', message: 'expected address/prefix, e.g. 192.0.2.0/24' }]);
    where.push(`ip <<= ${p(c.text)}::cidr`);
  }
  if (f.pool === '-') where.push('pool IS NULL');
  else if (f.pool !== undefined) where.push(`pool = ${p(f.pool)}`);
  if (f.listed === true) where.push('blacklist_count > 0');
  if (f.listed === false) where.push('blacklist_count = 0');
  if (f.search !== undefined && f.search !== '') {
    const like = `%${f.search.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
    const i = p(like);
    where.push(`(host(ip) LIKE ${i} OR ptr_record ILIKE ${i} OR notes ILIKE ${i} OR node_id ILIKE ${i})`);
  }
  return where;
}

export interface AddIpInput {
  ip: string;
  ipVersion?: 4 | 6 | undefined;
  nodeId?: string | null | undefined;
  subnet?: string | null | undefined;
  notes?: string | null | undefined;
  status?: 'active' | 'paused' | undefined;
  warmupPlanId?: number | undefined;
}

export interface AddRangeInput {
  cidr: string;
  count?: number | undefined;
  nodeId?: string | null | undefined;
  notes?: string | null | undefined;
  status?: 'active' | 'paused' | undefined;
  warmupPlanId?: number | undefined;
  /** fail (default): one address already registered refuses the whole range (409 naming them); skip: add the others. */
  onConflict?: 'fail' | 'skip' | undefined;
}

export interface WarmupPlan {
  id: number;
  name: string;
  description: string;
  schedule: number[];
  days: number;
  maxBouncePercent: number;
  maxComplaintPercent: number;
  minDailyEvents: number;
  builtin: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface PlanInput {
  name: string;
  description?: string | undefined;
  schedule: number[];
  maxBouncePercent?: number | undefined;
  maxComplaintPercent?: number | undefined;
  minDailyEvents?: number | undefined;
}

interface PlanRow {
  id: number;
  name: string;
  description: string;
  schedule: number[];
  max_bounce_percent: number;
  max_complaint_percent: number;
  min_daily_events: number;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

const planApi = (r: PlanRow): WarmupPlan => ({
  id: r.id,
  name: r.name,
  description: r.description,
  schedule: r.schedule.map(Number),
  days: r.schedule.length,
  maxBouncePercent: Number(r.max_bounce_percent),
  maxComplaintPercent: Number(r.max_complaint_percent),
  minDailyEvents: r.min_daily_events,
  builtin: r.builtin,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
});

/** A schedule is a list of daily limits that never decreases; the issue names the first day that does. */
export function scheduleIssues(schedule: readonly number[]): FieldIssue[] {
  for (let i = 1; i < schedule.length; i++) {
    if (schedule[i]! < schedule[i - 1]!) return [{ path: `schedule.${i}`, message: `day ${i + 1} allows ${schedule[i]}, fewer than day ${i} (${schedule[i - 1]}): a warm-up schedule never decreases` }];
  }
  return [];
}

export class SendingIpService {
  readonly db: Database;
  readonly clock: Clock;
  constructor(o: { db: Database; clock: Clock }) {
    this.db = o.db;
    this.clock = o.clock;
  }

  async list(q: ListQuery): Promise<{ items: SendingIp[]; total: number; next: string | null }> {
    const limit = q.limit ?? LIST_DEFAULT_LIMIT;
    const params: unknown[] = [];
    const where = filterSQL(q, params);
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM sending_ips${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params))!.n;
    if (q.after !== undefined) {
      params.push(canonicalIp(q.after, 'after'));
      where.push(`ip > $${params.length}::inet`);
    }
    params.push(limit + 1);
    const rows = await this.db.queryMany<IpRow>(`SELECT ${IP_COLUMNS} FROM sending_ips${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY sending_ips.ip LIMIT $${params.length}`, params);
    const more = rows.length > limit;
    const items = rows.slice(0, limit).map(toApi);
    return { items, total, next: more ? items.at(-1)!.ip : null };
  }

  /** Every address that sends or will send mail (all but retired): what SPF records must authorise. */
  async addresses(): Promise<string[]> {
    return (await this.db.queryMany<{ ip: string }>("SELECT host(s.ip) AS ip FROM sending_ips s WHERE s.status <> 'retired' ORDER BY s.ip")).map((r) => r.ip);
  }

  /** Addresses listed on at least one DNSBL zone at their last check (blacklist_count > 0). */
  async listed(): Promise<string[]> {
    return (await this.db.queryMany<{ ip: string }>('SELECT host(s.ip) AS ip FROM sending_ips s WHERE s.blacklist_count > 0 ORDER BY s.ip')).map((r) => r.ip);
  }

  async get(ipIn: string, db: Queryable = this.db): Promise<SendingIp> {
    const ip = canonicalIp(ipIn, 'ip');
    const r = await db.queryOne<IpRow>(`SELECT ${IP_COLUMNS} FROM sending_ips WHERE ip = $1::inet`, [ip]);
    if (!r) throw new NotFoundError('IP_NOT_FOUND', `sending IP ${ip} is not registered`);
    return toApi(r);
  }

  private async checkRefs(tx: Queryable, nodeId: string | null | undefined, planId: number | undefined, planPath = 'warmupPlanId'): Promise<PlanRow | null> {
    if (nodeId) {
      const n = await tx.queryOne('SELECT 1 FROM nodes WHERE id = $1', [nodeId]);
      if (!n) throw new InvalidError('UNKNOWN_NODE', `node ${nodeId} is not in the inventory`, [{ path: 'nodeId', message: 'no such node' }]);
    }
    if (planId === undefined) return null;
    const plan = await tx.queryOne<PlanRow>('SELECT * FROM warmup_plans WHERE id = $1', [planId]);
    if (!plan) throw new InvalidError('UNKNOWN_WARMUP_PLAN', `warm-up plan ${planId} does not exist`, [{ path: planPath, message: 'no such plan' }]);
    return plan;
  }

  private async insertMany(tx: Queryable, ips: readonly string[], version: 4 | 6, subnet: string | null, o: { nodeId?: string | null | undefined; notes?: string | null | undefined; status?: 'active' | 'paused' | undefined }, plan: PlanRow | null, skip: boolean): Promise<string[]> {
    const now = this.clock.now();
    const today = now.toISOString().slice(0, 10);
    const warming = plan !== null && o.status !== 'paused';
    const rows = await tx.queryMany<{ ip: string }>(
      `INSERT INTO sending_ips (ip, ip_version, node_id, subnet, notes, status, status_changed_at, warmup_plan_id, warmup_start, warmup_day, daily_limit, created_at, updated_at)
       SELECT a::inet, $2, $3, $4::cidr, $5, $6, $7, $8, $9::date, $10, $11, $7, $7 FROM unnest($1::text[]) AS a
       ${skip ? 'ON CONFLICT (ip) DO NOTHING' : ''}
       RETURNING host(ip) AS ip`,
      [ips, version, o.nodeId ?? null, subnet, o.notes ?? null, warming ? 'warming' : (o.status ?? 'active'), now.toISOString(), plan?.id ?? null, plan ? today : null, plan ? 1 : 0, plan ? plan.schedule[0] : null],
    );
    return rows.map((r) => r.ip);
  }

  async add(input: AddIpInput): Promise<SendingIp> {
    const ip = canonicalIp(input.ip, 'ip', input.ipVersion);
    const version = isIP(ip) as 4 | 6;
    let subnet: string | null = null;
    if (input.subnet) {
      const c = parseCidr(input.subnet);
      if (!c) throw new InvalidError('INVALID_CIDR', `${JSON.stringify(input.subnet)} is not a CIDR range`, [{ path: 'subnet', message: 'expected address/prefix' }]);
      if (c.version !== version) throw new InvalidError('INVALID_CIDR', `subnet ${c.text} is IPv${c.version}, the address IPv${version}`, [{ path: 'subnet', message: `an IPv${version} range is expected` }]);
      subnet = c.text;
    }
    return this.db.transaction(async (tx) => {
      const plan = await this.checkRefs(tx, input.nodeId, input.warmupPlanId);
      const exists = await tx.queryOne('SELECT 1 FROM sending_ips WHERE ip = $1::inet', [ip]);
      if (exists) throw new ConflictError('IP_EXISTS', `sending IP ${ip} is already registered`, { existing: [ip] });
      try {
        await this.insertMany(tx, [ip], version, subnet, input, plan, false);
      } catch (err) {
        if (/sending_ips_subnet_check/.test((err as Error).message)) throw new InvalidError('IP_OUTSIDE_SUBNET', `${ip} is not inside ${subnet}`, [{ path: 'subnet', message: 'the address is not inside this range' }]);
        throw err;
      }
      return this.get(ip, tx);
    });
  }

  /** Adds every address of a range in one statement: all of them or, with an address already registered, none (409) unless onConflict is skip. */
  async addRange(input: AddRangeInput): Promise<{ cidr: string; added: string[]; skipped: string[] }> {
    const c = parseCidr(input.cidr);
    if (!c) throw new InvalidError('INVALID_CIDR', `${JSON.stringify(input.cidr)} is not a CIDR range`, [{ path: 'cidr', message: 'expected address/prefix, e.g. 192.0.2.0/24 or 2001:db8::/64' }]);
    let addrs: string[];
    try {
      addrs = rangeAddresses(c, input.count);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      throw new InvalidError('INVALID_RANGE', err.message, [{ path: /count/.test(err.message) && c.version === 6 ? 'count' : /count/.test(err.message) ? 'count' : 'cidr', message: err.message }]);
    }
    return this.db.transaction(async (tx) => {
      const plan = await this.checkRefs(tx, input.nodeId, input.warmupPlanId);
      const existing = (await tx.queryMany<{ ip: string }>('SELECT host(ip) AS ip FROM sending_ips WHERE ip = ANY($1::inet[]) ORDER BY sending_ips.ip', [addrs])).map((r) => r.ip);
      const skip = input.onConflict === 'skip';
      if (existing.length > 0 && !skip) {
        throw new ConflictError('IP_EXISTS', `${existing.length} address${existing.length === 1 ? ' is' : 'es are'} already registered: ${existing.slice(0, 20).join(', ')}${existing.length > 20 ? ' …' : ''}`, { existing });
      }
      const added = await this.insertMany(tx, addrs, c.version, c.text, input, plan, skip);
      const addedSet = new Set(added);
      return { cidr: c.text, added, skipped: addrs.filter((a) => !addedSet.has(a)) };
    });
  }

  async update(ipIn: string, patch: { notes?: string | null | undefined; status?: IpStatus | undefined; nodeId?: string | null | undefined; pool?: string | null | undefined; poolRatio?: number | null | undefined }): Promise<SendingIp> {
    const ip = canonicalIp(ipIn, 'ip');
    return this.db.transaction(async (tx) => {
      const current = await this.get(ip, tx);
      await this.checkRefs(tx, patch.nodeId, undefined);
      if (patch.pool && !(await tx.queryOne('SELECT 1 FROM ip_pools WHERE name = $1', [patch.pool]))) throw new InvalidError('UNKNOWN_POOL', `IP pool ${patch.pool} does not exist`, [{ path: 'pool', message: 'no such pool' }]);
      const pool = patch.pool === undefined ? current.pool : patch.pool;
      if (pool === null && patch.poolRatio != null) throw new InvalidError('NOT_IN_POOL', `${ip} is in no pool: a ratio needs one`, [{ path: 'poolRatio', message: 'the IP is in no pool' }]);
      const sets: string[] = [];
      const params: unknown[] = [ip, this.clock.now().toISOString()];
      const set = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (patch.notes !== undefined) set('notes', patch.notes);
      if (patch.nodeId !== undefined) set('node_id', patch.nodeId);
      if (patch.pool !== undefined) set('pool', patch.pool);
      // Leaving a pool (or moving to another) drops a share set for the old one.
      if (patch.poolRatio !== undefined) set('pool_ratio', patch.poolRatio);
      else if (patch.pool !== undefined && patch.pool !== current.pool) set('pool_ratio', null);
      if (patch.status !== undefined) {
        set('status', patch.status);
        sets.push(`status_changed_at = CASE WHEN status IS DISTINCT FROM $${params.length} THEN $2::timestamptz ELSE status_changed_at END`);
        sets.push(`status_reason = CASE WHEN status IS DISTINCT FROM $${params.length} THEN 'set by a user' ELSE status_reason END`);
      }
      if (sets.length) await tx.query(`UPDATE sending_ips SET ${sets.join(', ')}, updated_at = $2 WHERE ip = $1::inet`, params);
      return this.get(ip, tx);
    });
  }

  /** DELETE retires: the row and its history stay; the checker and warm-up leave it alone. */
  async retire(ipIn: string): Promise<SendingIp> {
    return this.update(ipIn, { status: 'retired' });
  }

  /**
   * Pause or resume the IPs of a list or of a filter. Pausing skips retired IPs; resuming
   * applies to paused and blacklisted IPs only and puts each back to warming (a plan not
   * finished) or active.
   */
  async bulk(action: 'pause' | 'resume', target: { ips?: readonly string[] | undefined; filter?: IpFilter | undefined }, reason: string | null): Promise<{ action: string; changed: string[]; unchanged: number; unknown: string[] }> {
    return this.db.transaction(async (tx) => {
      const params: unknown[] = [];
      let where: string[];
      let unknown: string[] = [];
      if (target.ips) {
        const ips = target.ips.map((x, i) => canonicalIp(x, `ips.${i}`));
        const found = new Set((await tx.queryMany<{ ip: string }>('SELECT host(ip) AS ip FROM sending_ips WHERE ip = ANY($1::inet[])', [ips])).map((r) => r.ip));
        unknown = ips.filter((x) => !found.has(x));
        params.push(ips);
        where = ['ip = ANY($1::inet[])'];
      } else {
        where = filterSQL(target.filter ?? {}, params);
      }
      const matched = (await tx.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM sending_ips${where.length ? ` WHERE ${where.join(' AND ')}` : ''}`, params))!.n;
      params.push(this.clock.now().toISOString(), reason ?? (action === 'pause' ? 'paused by a user' : 'resumed by a user'));
      const now = `$${params.length - 1}`;
      const why = `$${params.length}`;
      const sql =
        action === 'pause'
          ? `UPDATE sending_ips SET status = 'paused', status_reason = ${why}, status_changed_at = ${now}, updated_at = ${now}
             WHERE status NOT IN ('paused', 'retired')${where.length ? ` AND ${where.join(' AND ')}` : ''} RETURNING host(ip) AS ip`
          : `UPDATE sending_ips s SET status = CASE WHEN s.warmup_plan_id IS NOT NULL AND s.daily_limit IS NOT NULL THEN 'warming' ELSE 'active' END,
               status_reason = ${why}, status_changed_at = ${now}, updated_at = ${now}
             WHERE status IN ('paused', 'blacklisted')${where.length ? ` AND ${where.join(' AND ')}` : ''} RETURNING host(ip) AS ip`;
      const changed = (await tx.queryMany<{ ip: string }>(`WITH c AS (${sql.replace('RETURNING host(ip) AS ip', 'RETURNING ip')}) SELECT host(ip) AS ip FROM c ORDER BY c.ip`, params)).map((r) => r.ip);
      return { action, changed, unchanged: matched - changed.length, unknown };
    });
  }

  // ---------- warm-up plans ----------

  async listPlans(): Promise<WarmupPlan[]> {
    return (await this.db.queryMany<PlanRow>('SELECT * FROM warmup_plans ORDER BY id')).map(planApi);
  }

  async getPlan(id: number, db: Queryable = this.db): Promise<WarmupPlan> {
    const r = await db.queryOne<PlanRow>('SELECT * FROM warmup_plans WHERE id = $1', [id]);
    if (!r) throw new NotFoundError('WARMUP_PLAN_NOT_FOUND', `warm-up plan ${id} does not exist`);
    return planApi(r);
  }

  private checkPlan(p: PlanInput): void {
    const issues = scheduleIssues(p.schedule);
    if (issues.length) throw new InvalidError('WARMUP_SCHEDULE_DECREASES', issues[0]!.message, issues);
  }

  async createPlan(p: PlanInput): Promise<WarmupPlan> {
    this.checkPlan(p);
    return this.db.transaction(async (tx) => {
      if (await tx.queryOne('SELECT 1 FROM warmup_plans WHERE name = $1', [p.name])) throw new ConflictError('WARMUP_PLAN_NAME_TAKEN', `a warm-up plan named ${p.name} exists`);
      const now = this.clock.now().toISOString();
      const r = await tx.queryOne<PlanRow>(
        `INSERT INTO warmup_plans (name, description, schedule, max_bounce_percent, max_complaint_percent, min_daily_events, created_at, updated_at)
         VALUES ($1, $2, $3::int[], $4, $5, $6, $7, $7) RETURNING *`,
        [p.name, p.description ?? '', p.schedule, p.maxBouncePercent ?? 2, p.maxComplaintPercent ?? 0.1, p.minDailyEvents ?? 1, now],
      );
      return planApi(r!);
    });
  }

  /** Replaces a plan; IPs on it keep their day and take the new day's limit at their next step. */
  async updatePlan(id: number, p: PlanInput): Promise<WarmupPlan> {
    this.checkPlan(p);
    return this.db.transaction(async (tx) => {
      await this.getPlan(id, tx);
      if (await tx.queryOne('SELECT 1 FROM warmup_plans WHERE name = $1 AND id <> $2', [p.name, id])) throw new ConflictError('WARMUP_PLAN_NAME_TAKEN', `a warm-up plan named ${p.name} exists`);
      const r = await tx.queryOne<PlanRow>(
        `UPDATE warmup_plans SET name = $2, description = $3, schedule = $4::int[], max_bounce_percent = $5, max_complaint_percent = $6, min_daily_events = $7, updated_at = $8 WHERE id = $1 RETURNING *`,
        [id, p.name, p.description ?? '', p.schedule, p.maxBouncePercent ?? 2, p.maxComplaintPercent ?? 0.1, p.minDailyEvents ?? 1, this.clock.now().toISOString()],
      );
      return planApi(r!);
    });
  }

  /** Puts an IP on a plan from day 1 (today's limit = the plan's first day). */
  async startWarmup(ipIn: string, planId: number): Promise<SendingIp> {
    const ip = canonicalIp(ipIn, 'ip');
    return this.db.transaction(async (tx) => {
      const cur = await this.get(ip, tx);
      const plan = (await this.checkRefs(tx, undefined, planId, 'planId'))!;
      if (cur.status === 'retired') throw new ConflictError('IP_RETIRED', `${ip} is retired`);
      const now = this.clock.now();
      await tx.query(
        `UPDATE sending_ips SET warmup_plan_id = $2, warmup_start = $3::date, warmup_day = 1, daily_limit = $4, warmup_held = false, warmup_held_reason = NULL,
           warmup_gate = NULL, warmup_evaluated_on = NULL, status = CASE WHEN status IN ('paused', 'blacklisted') THEN status ELSE 'warming' END,
           status_changed_at = $5, updated_at = $5 WHERE ip = $1::inet`,
        [ip, plan.id, now.toISOString().slice(0, 10), plan.schedule[0], now.toISOString()],
      );
      return this.get(ip, tx);
    });
  }
}
