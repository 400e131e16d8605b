/**
 * "Is my mail OK?" for one sending IP: its DNSBL listings, the state of its
 * checks, its warm-up, its bounce and complaint rates over 24 h and 7 days, its
 * PTR — each with the evidence it rests on — and a verdict with the reasons.
 *
 * Verdict: `bad` when the IP is listed on a critical-tier zone or is not sending
 * (paused, blacklisted, retired); `attention` when it is listed elsewhere, its
 * 24-hour bounce rate is 5 % or more (the requirements' "Bounce Rate Elevated"
 * level), its warm-up is held, its PTR is missing or does not point back, or its
 * last DNSBL checks failed; otherwise `ok`.
 */
import type { Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { DnsblTier } from '../dnsbl/zones.ts';
import type { DnsblService } from '../dnsbl/service.ts';
import type { SendingIpService } from './service.ts';
import { bucketStartAtOrAfter } from '../../timeseries/family.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import { ATTEMPT_TYPES, ratesByIp, ratesOf, type Rates, type WarmupService, type WarmupState } from './warmup.ts';

export const ELEVATED_BOUNCE_PERCENT = 5;

export interface Reputation {
  ip: string;
  checkedAt: string;
  verdict: 'ok' | 'attention' | 'bad';
  reasons: string[];
  status: { status: string; reason: string | null; since: string | null };
  listings: Awaited<ReturnType<DnsblService['listingsOf']>>;
  dnsbl: Awaited<ReturnType<DnsblService['checkSummaryOf']>>;
  warmup: WarmupState | null;
  rates: { last24h: Rates; last7d: Rates };
  ptr: { record: string | null; confirmed: boolean | null; checkedAt: string | null; error: string | null };
  /** The reputation score (0–100) as computed now, with its terms; `sending_ips.reputation_score` holds the last one the job stored. */
  score: IpScore;
}

export interface IpScore {
  score: number;
  deductions: { term: string; points: number; value: number | string | null }[];
  /** Terms without data: they deduct nothing. */
  notEvaluated: string[];
}

/** Points one listing costs, by the zone's tier. */
export const LISTING_POINTS: Record<DnsblTier, number> = { critical: 40, high: 20, medium: 10, low: 5 };

/**
 * An IP's reputation score, 0–100 (the requirements' `reputation_score`, the IP table's
 * "85/100"), built like the domain health score from terms with their evidence:
 *   100 − (bounce rate 24 h > 5 % ? 20 : bounce rate × 3)
 *       − (complaint rate 24 h ≥ 0.3 % ? 25 : ≥ 0.1 % ? 10 : 0)   (the mailbox providers' bulk-sender limits)
 *       − Σ listings (critical 40, high 20, medium 10, low 5 each)
 *       − (PTR checked and not forward-confirmed ? 10 : 0),
 * rates in percent, clamped to 0–100 and rounded to an integer (the column's type). An IP without
 * delivery attempts in 24 h is scored on its listings and PTR only (the rate terms are listed in
 * notEvaluated), so a listed IP that has not sent yet still scores low.
 */
export function ipScore(input: { last24h: Pick<Rates, 'attempts' | 'bounceRate' | 'complaintRate'>; listingTiers: readonly DnsblTier[]; ptr: { checked: boolean; confirmed: boolean | null } }): IpScore {
  const deductions: IpScore['deductions'] = [];
  const notEvaluated: string[] = [];
  const take = (term: string, points: number, value: number | string | null) => points > 0 && deductions.push({ term, points: Math.round(points * 1000) / 1000, value });
  const r = input.last24h;
  if (r.attempts === 0 || r.bounceRate === null) notEvaluated.push('bounce_rate_24h');
  else take('bounce_rate_24h', r.bounceRate > 5 ? 20 : r.bounceRate * 3, r.bounceRate);
  if (r.attempts === 0 || r.complaintRate === null) notEvaluated.push('complaint_rate_24h');
  else take('complaint_rate_24h', r.complaintRate >= 0.3 ? 25 : r.complaintRate >= 0.1 ? 10 : 0, r.complaintRate);
  for (const tier of ['critical', 'high', 'medium', 'low'] as const) {
    const n = input.listingTiers.filter((t) => t === tier).length;
    take(`listed_${tier}`, n * LISTING_POINTS[tier], n);
  }
  if (!input.ptr.checked) notEvaluated.push('ptr');
  else take('ptr', input.ptr.confirmed === true ? 0 : 10, input.ptr.confirmed === null ? 'missing' : String(input.ptr.confirmed));
  const total = deductions.reduce((s, x) => s + x.points, 0);
  return { score: Math.round(Math.min(100, Math.max(0, 100 - total))), deductions, notEvaluated };
}

/**
 * Computes every registered IP's score (all but retired) and stores the ones that changed:
 * one pass over the last 24 h of email_events by sending IP, one read of the listings and the
 * PTR state. Returns how many IPs were scored and updated.
 */
export async function refreshScores(db: Queryable, now: Date): Promise<{ scored: number; updated: number }> {
  const ips = await db.queryMany<{ ip: string; score: number; ptr_checked: boolean; ptr_confirmed: boolean | null; tiers: DnsblTier[] | null }>(
    `SELECT host(s.ip) AS ip, s.reputation_score AS score, s.ptr_checked_at IS NOT NULL AS ptr_checked, s.ptr_confirmed,
            (SELECT array_agg(z.tier) FROM dnsbl_listings l JOIN dnsbl_zones z ON z.zone = l.zone WHERE l.ip = s.ip AND l.listed AND z.enabled) AS tiers
       FROM sending_ips s WHERE s.status <> 'retired'`,
  );
  if (ips.length === 0) return { scored: 0, updated: 0 };
  const rates = await ratesByIp(db, ips.map((r) => r.ip), new Date(now.getTime() - 86_400_000), now);
  const changed: { ip: string; score: number }[] = [];
  for (const r of ips) {
    const s = ipScore({ last24h: rates.get(r.ip)!, listingTiers: r.tiers ?? [], ptr: { checked: r.ptr_checked, confirmed: r.ptr_confirmed } }).score;
    if (s !== r.score) changed.push({ ip: r.ip, score: s });
  }
  if (changed.length > 0) {
    await db.query(
      `UPDATE sending_ips s SET reputation_score = c.score, updated_at = $3 FROM unnest($1::inet[], $2::int[]) AS c(ip, score) WHERE s.ip = c.ip`,
      [changed.map((c) => c.ip), changed.map((c) => c.score), now.toISOString()],
    );
  }
  return { scored: ips.length, updated: changed.length };
}

/** The window's start: the first 5-minute bucket that starts at or after `now − ms`. */
const windowStart = (now: Date, ms: number) => new Date(bucketStartAtOrAfter(now.getTime() - ms, '5m'));

/**
 * Attempts, bounces and complaints of one IP from the first 5-minute bucket at or after the
 * window's start up to now, from the rollups by sending IP: whole days from the daily one, whole
 * hours from the hourly one, the edges from email_stats_5m (the stats planner's stitch) — a few
 * dozen rows for 7 days, where the raw events of a busy IP are millions. For an IPv6 address, the
 * events that name it only in sending_ip_v6 come from the raw events (no rollup keeps that column
 * by itself), through its index.
 */
export async function windowRates(streams: StreamStore, db: Queryable, ip: string, from: Date, now: Date): Promise<Rates> {
  const st = await streams.stats('email', { from, to: now, resolution: '5m', collapse: true, groupBy: ['sendingIp', 'eventType'], filters: { sendingIp: [ip] }, measures: ['eventCount'] });
  const byType = new Map<string, number>();
  const add = (type: string, n: number) => byType.set(type, (byType.get(type) ?? 0) + n);
  for (const b of st.buckets) add(b.eventType as string, Number(b.eventCount));
  if (ip.includes(':')) {
    const v6 = await db.queryMany<{ event_type: string; n: number }>(
      `SELECT event_type, count(*)::int AS n FROM email_events
        WHERE sending_ip_v6 = $1::inet AND sending_ip IS DISTINCT FROM sending_ip_v6 AND time >= $2 AND time < $3 GROUP BY 1`,
      [ip, from.toISOString(), now.toISOString()],
    );
    for (const r of v6) add(r.event_type, r.n);
  }
  const attempts = ATTEMPT_TYPES.reduce((s, t) => s + (byType.get(t) ?? 0), 0);
  return ratesOf({ attempts, bounced: byType.get('bounced') ?? 0, complaints: byType.get('complaint') ?? 0 }, from, now);
}

export async function reputationOf(ipIn: string, deps: { ips: SendingIpService; dnsbl: DnsblService; warmup: WarmupService; streams: StreamStore; clock: Clock }): Promise<Reputation> {
  const ip = await deps.ips.get(ipIn);
  const now = deps.clock.now();
  const [listings, dnsbl, warm, r24, r7] = await Promise.all([
    deps.dnsbl.listingsOf(ip.ip),
    deps.dnsbl.checkSummaryOf(ip.ip),
    ip.warmupPlanId === null ? Promise.resolve([]) : deps.warmup.state(ip.ip),
    windowRates(deps.streams, deps.ips.db, ip.ip, windowStart(now, 86_400_000), now),
    windowRates(deps.streams, deps.ips.db, ip.ip, windowStart(now, 7 * 86_400_000), now),
  ]);
  const ptrError = (await deps.ips.db.queryOne<{ ptr_error: string | null }>('SELECT ptr_error FROM sending_ips WHERE ip = $1::inet', [ip.ip]))?.ptr_error ?? null;
  const last24h = r24;
  const last7d = r7;
  const warmup = warm[0] ?? null;
  const bad: string[] = [];
  const attention: string[] = [];
  for (const l of listings) (l.tier === 'critical' ? bad : attention).push(`listed on ${l.zone} (${l.tier}) since ${l.since ?? 'unknown'}`);
  if (ip.status === 'paused' || ip.status === 'blacklisted' || ip.status === 'retired') bad.push(`status ${ip.status}${ip.statusReason ? ` (${ip.statusReason})` : ''}`);
  if (last24h.bounceRate !== null && last24h.bounceRate >= ELEVATED_BOUNCE_PERCENT) attention.push(`bounce rate ${last24h.bounceRate} % over 24 h (${last24h.bounced} of ${last24h.attempts})`);
  if (warmup?.held) attention.push(`warm-up held at day ${warmup.day}: ${warmup.heldReason}`);
  if (ip.ptrCheckedAt !== null && ip.ptrConfirmed !== true) attention.push(ip.ptrRecord ? `PTR ${ip.ptrRecord} does not resolve back to ${ip.ip}` : 'no PTR record');
  if (dnsbl.errors.length > 0) attention.push(`${dnsbl.errors.length} DNSBL checks failed at their last run (${dnsbl.errors.slice(0, 3).map((e) => e.zone).join(', ')}${dnsbl.errors.length > 3 ? ' …' : ''})`);
  return {
    ip: ip.ip,
    checkedAt: now.toISOString(),
    verdict: bad.length ? 'bad' : attention.length ? 'attention' : 'ok',
    reasons: [...bad, ...attention],
    status: { status: ip.status, reason: ip.statusReason, since: ip.statusChangedAt },
    listings,
    dnsbl,
    warmup,
    rates: { last24h, last7d },
    ptr: { record: ip.ptrRecord, confirmed: ip.ptrConfirmed, checkedAt: ip.ptrCheckedAt, error: ptrError },
    score: ipScore({ last24h, listingTiers: listings.map((l) => l.tier), ptr: { checked: ip.ptrCheckedAt !== null, confirmed: ip.ptrConfirmed } }),
  };
}
