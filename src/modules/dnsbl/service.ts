/**
 * DNSBL zones and tiers (editable), the checker round and the current listings.
 *
 * A round (the `dnsbl-check` job, `transaction: false`): one short query picks the
 * due (IP, zone) pairs — every IP that is not retired × every enabled zone (IPv6
 * addresses only against zones marked ipv6) whose last check is older than its
 * tier's interval — oldest first, at most `maxPerRound`; the queries run with no
 * transaction or pooled connection held, `concurrency` at a time; then one short
 * transaction records the new state of each pair (dnsbl_listings), each IP's
 * blacklist_count and last_blacklist_check and the auto-responses, and the
 * checks are appended to the blacklist_checks stream. An error keeps the last
 * known listed/clean state: it is never taken for either.
 *
 * Auto-response: a pair that becomes listed on a zone whose tier says `pause`
 * pauses its IP (status paused, the reason recorded), once — an IP an operator
 * resumes while still listed is not paused again until it is delisted and listed anew.
 */
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { AlertObservation, ConditionObserver } from '../alerts/contracts.ts';
import { compare, type Comparison } from '../alerts/conditions.ts';
import { isHostname, type DnsblResolver, type ListingResult, type PtrCheck } from './lookup.ts';
import type { AutoResponse, DnsblTier } from './zones.ts';

export interface DnsblZone {
  zone: string;
  tier: DnsblTier;
  enabled: boolean;
  ipv6: boolean;
  delistUrl: string | null;
  description: string;
  createdAt: string;
  updatedAt: string;
}
export interface DnsblTierSettings {
  tier: DnsblTier;
  checkIntervalSeconds: number;
  autoResponse: AutoResponse;
}
export interface ZoneInput {
  zone: string;
  tier: DnsblTier;
  enabled?: boolean | undefined;
  ipv6?: boolean | undefined;
  delistUrl?: string | null | undefined;
  description?: string | undefined;
}

interface ZoneRow { zone: string; tier: DnsblTier; enabled: boolean; ipv6: boolean; delist_url: string | null; description: string; created_at: Date; updated_at: Date }
const zoneApi = (r: ZoneRow): DnsblZone => ({ zone: r.zone, tier: r.tier, enabled: r.enabled, ipv6: r.ipv6, delistUrl: r.delist_url, description: r.description, createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString() });

/** A zone name as stored (lower case, no trailing dot), or 400 naming `path`. */
export function normalizeZone(z: string, path = 'zone'): string {
  const s = z.trim().toLowerCase().replace(/\.$/, '');
  if (!isHostname(s)) throw new InvalidError('INVALID_ZONE', `${JSON.stringify(z)} is not a DNS zone name (a host name such as zen.spamhaus.org)`, [{ path, message: 'not a host name' }]);
  return s;
}

export interface RoundSummary {
  checked: number;
  listed: number;
  clean: number;
  errors: number;
  newlyListed: { ip: string; zone: string }[];
  delisted: { ip: string; zone: string }[];
  paused: string[];
  ptrChecked: number;
}

interface DuePair { ip: string; ip_version: number; node_id: string | null; zone: string; tier: DnsblTier; auto_response: AutoResponse }

export interface DnsblServiceOptions {
  db: Database;
  clock: Clock;
  streams: StreamStore;
  resolver: DnsblResolver;
  /** Queries in flight at once (default 20). */
  concurrency?: number;
  /** Pairs checked per round at most (default 5000). */
  maxPerRound?: number;
  /** PTR re-check interval (default 1 day). */
  ptrIntervalSeconds?: number;
}

export class DnsblService {
  readonly db: Database;
  private readonly clock: Clock;
  constructor(private readonly o: DnsblServiceOptions) {
    this.db = o.db;
    this.clock = o.clock;
  }

  // ---------- zones and tiers ----------

  async listZones(): Promise<DnsblZone[]> {
    return (await this.db.queryMany<ZoneRow>(`SELECT * FROM dnsbl_zones ORDER BY array_position(ARRAY['critical','high','medium','low'], tier), zone`)).map(zoneApi);
  }

  async getZone(zoneIn: string, db: Queryable = this.db): Promise<DnsblZone> {
    const zone = normalizeZone(zoneIn);
    const r = await db.queryOne<ZoneRow>('SELECT * FROM dnsbl_zones WHERE zone = $1', [zone]);
    if (!r) throw new NotFoundError('DNSBL_ZONE_NOT_FOUND', `DNSBL zone ${zone} is not configured`);
    return zoneApi(r);
  }

  async createZone(z: ZoneInput): Promise<DnsblZone> {
    const zone = normalizeZone(z.zone);
    return this.db.transaction(async (tx) => {
      if (await tx.queryOne('SELECT 1 FROM dnsbl_zones WHERE zone = $1', [zone])) throw new ConflictError('DNSBL_ZONE_EXISTS', `DNSBL zone ${zone} is already configured`);
      const now = this.clock.now().toISOString();
      await tx.query('INSERT INTO dnsbl_zones (zone, tier, enabled, ipv6, delist_url, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)', [zone, z.tier, z.enabled ?? true, z.ipv6 ?? false, z.delistUrl ?? null, z.description ?? '', now]);
      return this.getZone(zone, tx);
    });
  }

  async updateZone(zoneIn: string, z: Omit<ZoneInput, 'zone'>): Promise<DnsblZone> {
    const zone = normalizeZone(zoneIn);
    return this.db.transaction(async (tx) => {
      await this.getZone(zone, tx);
      await tx.query('UPDATE dnsbl_zones SET tier = $2, enabled = $3, ipv6 = $4, delist_url = $5, description = $6, updated_at = $7 WHERE zone = $1', [zone, z.tier, z.enabled ?? true, z.ipv6 ?? false, z.delistUrl ?? null, z.description ?? '', this.clock.now().toISOString()]);
      await this.recount(tx, null);
      return this.getZone(zone, tx);
    });
  }

  /** Removes a zone with its current listings (its history in blacklist_checks stays). */
  async deleteZone(zoneIn: string): Promise<void> {
    const zone = normalizeZone(zoneIn);
    await this.db.transaction(async (tx) => {
      await this.getZone(zone, tx);
      await tx.query('DELETE FROM dnsbl_zones WHERE zone = $1', [zone]);
      await this.recount(tx, null);
    });
  }

  async listTiers(): Promise<DnsblTierSettings[]> {
    const rows = await this.db.queryMany<{ tier: DnsblTier; check_interval_seconds: number; auto_response: AutoResponse }>(`SELECT * FROM dnsbl_tiers ORDER BY array_position(ARRAY['critical','high','medium','low'], tier)`);
    return rows.map((r) => ({ tier: r.tier, checkIntervalSeconds: r.check_interval_seconds, autoResponse: r.auto_response }));
  }

  async updateTier(tier: DnsblTier, s: { checkIntervalSeconds: number; autoResponse: AutoResponse }): Promise<DnsblTierSettings> {
    await this.db.query('UPDATE dnsbl_tiers SET check_interval_seconds = $2, auto_response = $3 WHERE tier = $1', [tier, s.checkIntervalSeconds, s.autoResponse]);
    return (await this.listTiers()).find((t) => t.tier === tier)!;
  }

  /** blacklist_count of the given IPs (null: every IP) from the current listings of enabled zones. */
  private async recount(tx: Queryable, ips: readonly string[] | null): Promise<void> {
    await tx.query(
      `UPDATE sending_ips s SET blacklist_count = c.n FROM (
         SELECT s2.ip, (SELECT count(*)::int FROM dnsbl_listings l JOIN dnsbl_zones z ON z.zone = l.zone WHERE l.ip = s2.ip AND l.listed AND z.enabled) AS n
           FROM sending_ips s2 WHERE $1::inet[] IS NULL OR s2.ip = ANY($1::inet[])) c
        WHERE s.ip = c.ip AND s.blacklist_count <> c.n`,
      [ips],
    );
  }

  // ---------- the checker ----------

  private async duePairs(now: Date, ips: readonly string[] | null, force: boolean): Promise<DuePair[]> {
    return this.db.queryMany<DuePair>(
      `SELECT host(s.ip) AS ip, s.ip_version, s.node_id, z.zone, z.tier, t.auto_response
         FROM sending_ips s CROSS JOIN dnsbl_zones z JOIN dnsbl_tiers t ON t.tier = z.tier
         LEFT JOIN dnsbl_listings l ON l.ip = s.ip AND l.zone = z.zone
        WHERE s.status <> 'retired' AND z.enabled AND (s.ip_version = 4 OR z.ipv6)
          AND ($2::inet[] IS NULL OR s.ip = ANY($2::inet[]))
          AND ($3 OR l.checked_at IS NULL OR l.checked_at <= $1::timestamptz - make_interval(secs => t.check_interval_seconds))
        ORDER BY l.checked_at NULLS FIRST, s.ip, z.zone
        LIMIT $4`,
      [now.toISOString(), ips, force, this.o.maxPerRound ?? 5000],
    );
  }

  /** Checks the due pairs (or, with `ips`, every zone of those IPs now) and records the results. */
  async runRound(opts: { ips?: readonly string[]; signal?: AbortSignal } = {}): Promise<RoundSummary> {
    const now = this.clock.now();
    const due = await this.duePairs(now, opts.ips ?? null, opts.ips !== undefined);
    const checked = await mapLimit(due, this.o.concurrency ?? 20, opts.signal, (p) => this.o.resolver.check(p.ip, p.zone));
    // Pairs a stopped round did not query are left as they were (still due), not recorded as checked.
    const pairs = due.filter((_, i) => checked[i] !== null);
    const results = checked.filter((r): r is ListingResult => r !== null);
    const ptrDue = await this.db.queryMany<{ ip: string; ip_version: number }>(
      `SELECT host(ip) AS ip, ip_version FROM sending_ips WHERE status <> 'retired' AND ($1::inet[] IS NULL OR ip = ANY($1::inet[]))
         AND ($2 OR ptr_checked_at IS NULL OR ptr_checked_at <= $3::timestamptz - make_interval(secs => $4)) ORDER BY ptr_checked_at NULLS FIRST, sending_ips.ip LIMIT 1000`,
      [opts.ips ?? null, opts.ips !== undefined, now.toISOString(), this.o.ptrIntervalSeconds ?? 86_400],
    );
    const ptrs = await mapLimit(ptrDue, this.o.concurrency ?? 20, opts.signal, (p) => this.o.resolver.confirmPtr(p.ip));
    const ptrDone = ptrDue.flatMap((p, i) => (ptrs[i] ? [{ ip: p.ip, ...ptrs[i] }] : []));
    const summary = await this.record(now, pairs, results, ptrDone);
    const rows = pairs.map((p, i) => {
      const r = results[i]!;
      return { timestamp: now.toISOString(), ip: p.ip, ipVersion: p.ip_version, nodeId: p.node_id, blacklist: p.zone, tier: p.tier, listed: r.status === 'error' ? null : r.status === 'listed', response: r.response?.slice(0, 512) ?? null, checkDurationMs: r.durationMs, reason: r.reason, error: r.error?.slice(0, 2000) ?? null };
    });
    for (let i = 0; i < rows.length; i += 5000) await this.o.streams.ingest('dnsbl', rows.slice(i, i + 5000), { now: now.getTime() });
    return summary;
  }

  private async record(now: Date, pairs: readonly DuePair[], results: readonly ListingResult[], ptrs: readonly ({ ip: string } & PtrResult)[]): Promise<RoundSummary> {
    const s: RoundSummary = { checked: pairs.length, listed: 0, clean: 0, errors: 0, newlyListed: [], delisted: [], paused: [], ptrChecked: ptrs.length };
    const at = now.toISOString();
    return this.db.transaction(async (tx) => {
      // The previous state of every pair, locked; then one upsert for the round.
      const prevRows = await tx.queryMany<{ ip: string; zone: string; listed: boolean | null }>(
        `SELECT host(l.ip) AS ip, l.zone, l.listed FROM dnsbl_listings l JOIN unnest($1::inet[], $2::text[]) AS p(ip, zone) ON l.ip = p.ip AND l.zone = p.zone FOR UPDATE OF l`,
        [pairs.map((p) => p.ip), pairs.map((p) => p.zone)],
      );
      const prev = new Map(prevRows.map((r) => [`${r.ip} ${r.zone}`, r.listed]));
      const listedNow: (boolean | null)[] = [];
      const pause = new Map<string, string>();
      for (let i = 0; i < pairs.length; i++) {
        const p = pairs[i]!;
        const r = results[i]!;
        s[r.status === 'error' ? 'errors' : r.status]++;
        const before = prev.get(`${p.ip} ${p.zone}`) ?? null;
        const listed = r.status === 'error' ? before : r.status === 'listed';
        listedNow.push(listed);
        if (listed === true && before !== true) {
          s.newlyListed.push({ ip: p.ip, zone: p.zone });
          if (p.auto_response === 'pause' && !pause.has(p.ip)) pause.set(p.ip, `auto-response: listed on ${p.zone} (${p.tier} tier)${r.reason ? `: ${r.reason.slice(0, 200)}` : ''}`);
        }
        if (listed === false && before === true) s.delisted.push({ ip: p.ip, zone: p.zone });
      }
      if (pairs.length) {
        await tx.query(
          `INSERT INTO dnsbl_listings AS l (ip, zone, listed, listed_since, last_status, response, reason, error, checked_at)
           SELECT u.ip, u.zone, u.listed::boolean, CASE WHEN u.listed::boolean THEN $8::timestamptz END, u.status, u.response, u.reason, u.error, $8::timestamptz
             FROM unnest($1::inet[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) AS u(ip, zone, listed, status, response, reason, error)
           ON CONFLICT (ip, zone) DO UPDATE SET listed = excluded.listed,
             listed_since = CASE WHEN excluded.listed IS NOT TRUE THEN NULL WHEN l.listed THEN l.listed_since ELSE $8::timestamptz END,
             delisted_at = CASE WHEN l.listed AND excluded.listed = false THEN $8::timestamptz WHEN excluded.listed THEN NULL ELSE l.delisted_at END,
             last_status = excluded.last_status, response = excluded.response,
             reason = CASE WHEN excluded.last_status = 'error' THEN l.reason ELSE excluded.reason END, error = excluded.error, checked_at = excluded.checked_at`,
          // Booleans travel as text: the drivers differ on boolean arrays.
          [pairs.map((p) => p.ip), pairs.map((p) => p.zone), listedNow.map((v) => (v === null ? null : String(v))), results.map((r) => r.status), results.map((r) => r.response), results.map((r) => r.reason), results.map((r) => r.error), at],
        );
      }
      if (pause.size) {
        const paused = await tx.queryMany<{ ip: string }>(
          `UPDATE sending_ips s SET status = 'paused', status_reason = u.reason, status_changed_at = $3, updated_at = $3
             FROM unnest($1::inet[], $2::text[]) AS u(ip, reason) WHERE s.ip = u.ip AND s.status NOT IN ('paused', 'retired') RETURNING host(s.ip) AS ip`,
          [[...pause.keys()], [...pause.values()], at],
        );
        const set = new Set(paused.map((r) => r.ip));
        s.paused.push(...[...pause.keys()].filter((ip) => set.has(ip)));
      }
      const ips = [...new Set(pairs.map((p) => p.ip))];
      if (ips.length) {
        await tx.query('UPDATE sending_ips SET last_blacklist_check = $2 WHERE ip = ANY($1::inet[])', [ips, at]);
        await this.recount(tx, ips);
      }
      for (const p of ptrs) {
        if (p.status === 'error') await tx.query('UPDATE sending_ips SET ptr_checked_at = $2, ptr_error = $3 WHERE ip = $1::inet', [p.ip, at, p.error]);
        else await tx.query('UPDATE sending_ips SET ptr_record = $2, ptr_confirmed = $3, ptr_checked_at = $4, ptr_error = $5 WHERE ip = $1::inet', [p.ip, p.name, p.status === 'confirmed', at, p.status === 'confirmed' ? null : p.error]);
      }
      return s;
    });
  }

  /** Current listings of an IP (listed pairs, with the zone's tier and delisting link). */
  async listingsOf(ip: string, db: Queryable = this.db): Promise<{ zone: string; tier: DnsblTier; since: string | null; response: string | null; reason: string | null; delistUrl: string | null; checkedAt: string }[]> {
    const rows = await db.queryMany<{ zone: string; tier: DnsblTier; listed_since: Date | null; response: string | null; reason: string | null; delist_url: string | null; checked_at: Date }>(
      `SELECT l.zone, z.tier, l.listed_since, l.response, l.reason, z.delist_url, l.checked_at FROM dnsbl_listings l JOIN dnsbl_zones z ON z.zone = l.zone
        WHERE l.ip = $1::inet AND l.listed AND z.enabled ORDER BY array_position(ARRAY['critical','high','medium','low'], z.tier), l.zone`,
      [ip],
    );
    return rows.map((r) => ({ zone: r.zone, tier: r.tier, since: r.listed_since ? new Date(r.listed_since).toISOString() : null, response: r.response, reason: r.reason, delistUrl: r.delist_url, checkedAt: new Date(r.checked_at).toISOString() }));
  }

  /** Check results of an IP: how many pairs were last clean, listed or an error, and the errors. */
  async checkSummaryOf(ip: string): Promise<{ zones: number; clean: number; listed: number; errors: { zone: string; error: string | null; checkedAt: string }[]; lastCheckedAt: string | null }> {
    const rows = await this.db.queryMany<{ zone: string; last_status: string; listed: boolean | null; error: string | null; checked_at: Date }>(
      `SELECT l.zone, l.last_status, l.listed, l.error, l.checked_at FROM dnsbl_listings l JOIN dnsbl_zones z ON z.zone = l.zone WHERE l.ip = $1::inet AND z.enabled ORDER BY l.zone`,
      [ip],
    );
    return {
      zones: rows.length,
      clean: rows.filter((r) => r.last_status === 'clean').length,
      listed: rows.filter((r) => r.listed === true).length,
      errors: rows.filter((r) => r.last_status === 'error').map((r) => ({ zone: r.zone, error: r.error, checkedAt: new Date(r.checked_at).toISOString() })),
      lastCheckedAt: rows.length ? new Date(Math.max(...rows.map((r) => new Date(r.checked_at).getTime()))).toISOString() : null,
    };
  }
}

export type PtrResult = PtrCheck;

/** Runs fn over items, at most `limit` at once, in order; once `signal` aborts no new one starts (null in their place). */
export async function mapLimit<T, R>(items: readonly T[], limit: number, signal: AbortSignal | undefined, fn: (t: T) => Promise<R>): Promise<(R | null)[]> {
  const out = new Array<R | null>(items.length).fill(null);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= items.length || signal?.aborted) return;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

const SEVERITY_TIERS: Record<'critical' | 'any', readonly DnsblTier[]> = { critical: ['critical'], any: ['critical', 'high', 'medium', 'low'] };

/**
 * `dnsbl_listed`: one series per listed (IP, zone) — of the critical tier or of any —
 * while it is listed; a pair delisted in the last day is observed clean (the alert
 * resolves as "delisted"). Nothing listed is one clean series, so the rule is not "no data".
 */
export const dnsblListedObserver: ConditionObserver = {
  async observe(db, condition, _scope, now) {
    const tiers = SEVERITY_TIERS[(condition as { lists?: 'critical' | 'any' }).lists ?? 'any'];
    const rows = await db.queryMany<{ ip: string; zone: string; tier: string; node_id: string | null; listed: boolean; listed_since: Date | null; response: string | null; reason: string | null; delist_url: string | null }>(
      `SELECT host(l.ip) AS ip, l.zone, z.tier, s.node_id, l.listed, l.listed_since, l.response, l.reason, z.delist_url
         FROM dnsbl_listings l JOIN dnsbl_zones z ON z.zone = l.zone JOIN sending_ips s ON s.ip = l.ip
        WHERE z.tier = ANY($1::text[]) AND z.enabled AND s.status <> 'retired'
          AND (l.listed OR (l.listed = false AND l.delisted_at > $2::timestamptz - interval '1 day'))
        ORDER BY l.ip, l.zone`,
      [tiers, now.toISOString()],
    );
    if (!rows.some((r) => r.listed)) {
      const clean: AlertObservation = { series: {}, nodeId: null, serviceName: null, holds: false, recovered: true, value: 0, message: `no sending IP is listed on a ${tiers.length === 1 ? 'critical ' : ''}DNSBL`, details: {} };
      return [clean, ...rows.map((r) => observation(r))];
    }
    return rows.map((r) => observation(r));
  },
};

function observation(r: { ip: string; zone: string; tier: string; node_id: string | null; listed: boolean; listed_since: Date | null; response: string | null; reason: string | null; delist_url: string | null }): AlertObservation {
  return {
    series: { ip: r.ip, zone: r.zone },
    nodeId: r.node_id,
    serviceName: null,
    holds: r.listed,
    recovered: !r.listed,
    value: r.listed ? r.response : null,
    message: r.listed ? `${r.ip} is listed on ${r.zone} (${r.tier})${r.reason ? `: ${r.reason}` : ''}` : `${r.ip} was delisted from ${r.zone}`,
    details: { ip: r.ip, zone: r.zone, tier: r.tier, since: r.listed_since ? new Date(r.listed_since).toISOString() : null, response: r.response, reason: r.reason, delistUrl: r.delist_url },
  };
}

/** `dnsbl_node_ips`: per node with sending IPs, the number of its IPs listed on any enabled zone. */
export const dnsblNodeIpsObserver: ConditionObserver = {
  async observe(db, condition) {
    const c = condition as unknown as { comparison: Comparison; threshold: number };
    const rows = await db.queryMany<{ node_id: string; ips: number; listed: number; listed_ips: string[] }>(
      `SELECT s.node_id, count(*)::int AS ips, count(*) FILTER (WHERE s.blacklist_count > 0)::int AS listed,
              coalesce(array_agg(host(s.ip) ORDER BY s.ip) FILTER (WHERE s.blacklist_count > 0), '{}') AS listed_ips
         FROM sending_ips s WHERE s.node_id IS NOT NULL AND s.status <> 'retired' GROUP BY s.node_id ORDER BY s.node_id`,
    );
    if (rows.length === 0) return [{ series: {}, nodeId: null, serviceName: null, holds: false, recovered: true, value: 0, message: 'no node has sending IPs', details: {} }];
    return rows.map((r): AlertObservation => {
      const holds = compare(r.listed, c.comparison, c.threshold);
      return { series: { node: r.node_id }, nodeId: r.node_id, serviceName: null, holds, recovered: !holds, value: r.listed, message: `${r.listed} of ${r.ips} sending IPs of ${r.node_id} are listed on a DNSBL`, details: { listedIps: r.listed_ips.slice(0, 50), ips: r.ips } };
    });
  },
};
