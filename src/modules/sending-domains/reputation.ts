/**
 * "Is my mail OK?" for one sending domain: its DNS authentication state with the records read,
 * and figures of the last 24 hours and 7 days from email_events by from_domain.
 *
 * Windows are whole 5-minute buckets: from the first bucket that starts at or after now − 24 h
 * (now − 7 d) up to now, so the rollup and the raw rows count the same events. Volumes and
 * bounces come from the rollup email_stats_5m (it carries from_domain and event_type); hard
 * bounces and the authentication pass rates come from the raw events of the domain in the window
 * (no rollup carries bounce_type, and the rollups count passes but not the events that carry a
 * result at all), read through the from_domain index and bounded by the window.
 *
 * Complaints are email_events of type `complaint` (feedback-loop reports sent to Opsdeck like any
 * other event), counted by the same rollup; the complaint rate is complaints / delivered, the
 * mailbox providers' measure. The §11.3 `any_ip_blacklisted` term: the sending IPs this domain's
 * mail left from in the last 24 h (the rollup email_stats_5m carries from_domain and sending_ip)
 * that are listed on a DNSBL zone at their last check (the sending-IPs module's `listed()`, passed
 * in; without it the term is not evaluated).
 */
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { SendingDomain, SendingDomainStore } from './service.ts';
import { toDomain } from './service.ts';

const BUCKET_MS = 300_000;
const ATTEMPTS = ['delivered', 'bounced', 'deferred', 'rejected'] as const;

export interface WindowFigures {
  from: string;
  to: string;
  /** Events of type sent (accepted for delivery). */
  sent: number;
  delivered: number;
  bounced: number;
  deferred: number;
  rejected: number;
  /** Delivery attempts with an outcome: delivered + bounced + deferred + rejected. */
  attempts: number;
  /** bounced / attempts, in percent; null without attempts. */
  bounceRate: number | null;
  hardBounces: number;
  /** Hard bounces / attempts, in percent; null without attempts. */
  hardBounceRate: number | null;
  /** Feedback-loop reports (events of type complaint). */
  complaints: number;
  /** complaints / delivered, in percent; null without deliveries. */
  complaintRate: number | null;
  /** Average delivery time of delivered events (ms); null without one that carries it. */
  avgDeliveryMs: number | null;
  /** Passes among delivered events that carry a result for the method, in percent; null when none does. */
  dkimPassRate: number | null;
  spfPassRate: number | null;
  dmarcPassRate: number | null;
}

export interface HealthScore {
  /** 0–100; null when there were no delivery attempts in the last 24 h. */
  score: number | null;
  /** The domain's sending IPs of the last 24 h that are on a DNSBL zone; null when not known. */
  blacklistedIps: string[] | null;
  deductions: { term: string; points: number; value: number | null }[];
  /** §11.3 terms without data in Opsdeck, or without data for this window. */
  notEvaluated: string[];
}

export interface DomainReputation {
  domain: string;
  at: string;
  /** What stands out, for people; empty when nothing does. */
  problems: string[];
  authentication: Pick<SendingDomain, 'spfConfigured' | 'dkimConfigured' | 'dmarcConfigured' | 'dmarcPolicy' | 'dkimSelectors' | 'lastCheckedAt' | 'lastCheckOutcome' | 'consecutiveCheckErrors' | 'lastCheck'>;
  last24h: WindowFigures;
  last7d: WindowFigures;
  health: HealthScore;
}

const pct = (n: number, d: number): number | null => (d > 0 ? (100 * n) / d : null);
const windowStart = (now: Date, ms: number) => new Date(Math.ceil((now.getTime() - ms) / BUCKET_MS) * BUCKET_MS);

interface RollupRow {
  event_type: string;
  n24: number | null;
  n7: number | null;
  dsum24: number | null;
  dcount24: number | null;
  dsum7: number | null;
  dcount7: number | null;
}
interface RawRow {
  hard24: number;
  hard7: number;
  [k: string]: number;
}

const RAW_SQL = (() => {
  const cols: string[] = [];
  for (const w of ['24', '7']) {
    const inW = w === '24' ? 'time >= $2' : 'true';
    cols.push(`count(*) FILTER (WHERE ${inW} AND event_type = 'bounced' AND bounce_type = 'hard')::int AS hard${w}`);
    for (const m of ['dkim', 'spf', 'dmarc']) {
      cols.push(`count(*) FILTER (WHERE ${inW} AND event_type = 'delivered' AND ${m}_result IS NOT NULL)::int AS ${m}_n${w}`);
      cols.push(`count(*) FILTER (WHERE ${inW} AND event_type = 'delivered' AND ${m}_result = 'pass')::int AS ${m}_pass${w}`);
    }
  }
  return `SELECT ${cols.join(', ')} FROM email_events WHERE from_domain = $1 AND time >= $3 AND time < $4 AND event_type IN ('delivered', 'bounced')`;
})();

export async function domainReputation(db: Database, store: SendingDomainStore, clock: Clock, domain: string, listedIps?: () => Promise<string[]>): Promise<DomainReputation> {
  const d = toDomain(await store.row(domain));
  const now = clock.now();
  const from24 = windowStart(now, 86_400_000);
  const from7 = windowStart(now, 7 * 86_400_000);
  const rollup = await db.queryMany<RollupRow>(
    `SELECT event_type,
            sum(event_count) FILTER (WHERE bucket >= $2) AS n24, sum(event_count) AS n7,
            sum(avg_delivery_ms_sum) FILTER (WHERE bucket >= $2 AND event_type = 'delivered') AS dsum24,
            sum(avg_delivery_ms_count) FILTER (WHERE bucket >= $2 AND event_type = 'delivered') AS dcount24,
            sum(avg_delivery_ms_sum) FILTER (WHERE event_type = 'delivered') AS dsum7,
            sum(avg_delivery_ms_count) FILTER (WHERE event_type = 'delivered') AS dcount7
       FROM email_stats_5m WHERE from_domain = $1 AND bucket >= $3 AND bucket < $4 GROUP BY event_type`,
    [domain, from24, from7, now],
  );
  const raw = (await db.queryOne<RawRow>(RAW_SQL, [domain, from24, from7, now]))!;

  const figures = (w: '24' | '7', from: Date): WindowFigures => {
    const n = (type: string) => Number(rollup.find((r) => r.event_type === type)?.[w === '24' ? 'n24' : 'n7'] ?? 0);
    const delivered = rollup.find((r) => r.event_type === 'delivered');
    const dsum = Number(delivered?.[w === '24' ? 'dsum24' : 'dsum7'] ?? 0);
    const dcount = Number(delivered?.[w === '24' ? 'dcount24' : 'dcount7'] ?? 0);
    const attempts = ATTEMPTS.reduce((s, t) => s + n(t), 0);
    const hard = Number(raw[`hard${w}`] ?? 0);
    const rate = (m: string) => pct(Number(raw[`${m}_pass${w}`] ?? 0), Number(raw[`${m}_n${w}`] ?? 0));
    return {
      from: from.toISOString(),
      to: now.toISOString(),
      sent: n('sent'),
      delivered: n('delivered'),
      bounced: n('bounced'),
      deferred: n('deferred'),
      rejected: n('rejected'),
      attempts,
      bounceRate: pct(n('bounced'), attempts),
      hardBounces: hard,
      hardBounceRate: pct(hard, attempts),
      complaints: n('complaint'),
      complaintRate: pct(n('complaint'), n('delivered')),
      avgDeliveryMs: dcount > 0 ? dsum / dcount : null,
      dkimPassRate: rate('dkim'),
      spfPassRate: rate('spf'),
      dmarcPassRate: rate('dmarc'),
    };
  };
  const last24h = figures('24', from24);
  const last7d = figures('7', from7);
  let blacklisted: string[] | null = null;
  if (listedIps) {
    const listed = new Set(await listedIps());
    const used = await db.queryMany<{ ip: string }>(
      'SELECT DISTINCT host(sending_ip) AS ip FROM email_stats_5m WHERE from_domain = $1 AND bucket >= $2 AND bucket < $3 AND sending_ip IS NOT NULL ORDER BY 1',
      [domain, from24, now],
    );
    blacklisted = used.map((r) => r.ip).filter((ip) => listed.has(ip));
  }
  const health = healthScore(last24h, blacklisted);

  const problems: string[] = [];
  if (!d.spfConfigured) problems.push('SPF is not configured (or does not authorise every sending IP)');
  if (!d.dkimConfigured) problems.push('DKIM is not configured for every selector');
  if (!d.dmarcConfigured) problems.push('no valid DMARC record');
  else if (d.dmarcPolicy === 'none') problems.push('DMARC policy is none (monitoring only)');
  if (d.lastCheckedAt === null) problems.push('DNS records not checked yet');
  else if (d.lastCheckOutcome === 'error') problems.push(`the last check could not read DNS (${d.consecutiveCheckErrors} in a row); the flags are from the last check DNS answered`);
  if (last24h.bounceRate !== null && last24h.bounceRate > 5) problems.push(`bounce rate ${last24h.bounceRate.toFixed(1)} % in 24 h (over 5 %)`);
  if (last24h.hardBounceRate !== null && last24h.hardBounceRate > 2) problems.push(`hard bounce rate ${last24h.hardBounceRate.toFixed(1)} % in 24 h (over 2 %)`);
  if (blacklisted?.length) problems.push(`sending IPs of the last 24 h on a blocklist: ${blacklisted.join(', ')}`);

  const { spfConfigured, dkimConfigured, dmarcConfigured, dmarcPolicy, dkimSelectors, lastCheckedAt, lastCheckOutcome, consecutiveCheckErrors, lastCheck } = d;
  return {
    domain,
    at: now.toISOString(),
    problems,
    authentication: { spfConfigured, dkimConfigured, dmarcConfigured, dmarcPolicy, dkimSelectors, lastCheckedAt, lastCheckOutcome, consecutiveCheckErrors, lastCheck },
    last24h,
    last7d,
    health,
  };
}

/**
 * The requirements' §11.3 domain health score over the last 24 h:
 *   100 − (bounce rate > 5 % ? 20 : bounce rate × 3) − (hard bounce rate > 2 % ? 15 : 0)
 *       − (DKIM pass < 99 % ? 10 : 0) − (SPF pass < 99 % ? 10 : 0) − (DMARC pass < 95 % ? 10 : 0)
 *       − (average delivery time > 10 s ? 10 : 0),
 * rates in percent, clamped to 0–100 and rounded to one decimal. `spam_reports × 5` counts the
 * complaint events of the 24 h; `any_ip_blacklisted ? 15` deducts when one of the domain's sending
 * IPs of the 24 h is listed (`blacklisted`; null: not known, the term is not evaluated); a pass-rate
 * or delivery-time term without data deducts nothing and is listed in notEvaluated. No attempts in
 * 24 h: no score.
 */
export function healthScore(w: WindowFigures, blacklisted: readonly string[] | null = null): HealthScore {
  const notEvaluated = blacklisted === null ? ['any_ip_blacklisted'] : [];
  const blacklistedIps = blacklisted === null ? null : [...blacklisted];
  if (w.attempts === 0 || w.bounceRate === null) return { score: null, blacklistedIps, deductions: [], notEvaluated: ['every term: no delivery attempts in the last 24 h'] };
  const deductions: HealthScore['deductions'] = [];
  const take = (term: string, points: number, value: number | null) => points > 0 && deductions.push({ term, points, value });
  take('bounce_rate_24h', w.bounceRate > 5 ? 20 : w.bounceRate * 3, w.bounceRate);
  take('hard_bounce_rate', (w.hardBounceRate ?? 0) > 2 ? 15 : 0, w.hardBounceRate);
  take('spam_reports', w.complaints * 5, w.complaints);
  if (blacklisted !== null) take('any_ip_blacklisted', blacklisted.length > 0 ? 15 : 0, blacklisted.length);
  const passTerm = (term: string, rate: number | null, min: number) => (rate === null ? notEvaluated.push(term) : take(term, rate < min ? 10 : 0, rate));
  passTerm('dkim_pass', w.dkimPassRate, 99);
  passTerm('spf_pass', w.spfPassRate, 99);
  passTerm('dmarc_pass', w.dmarcPassRate, 95);
  if (w.avgDeliveryMs === null) notEvaluated.push('avg_delivery_time');
  else take('avg_delivery_time', w.avgDeliveryMs > 10_000 ? 10 : 0, w.avgDeliveryMs);
  const total = deductions.reduce((s, x) => s + x.points, 0);
  return { score: Math.round(Math.min(100, Math.max(0, 100 - total)) * 10) / 10, blacklistedIps, deductions, notEvaluated };
}
