/**
 * "Is my mail OK?" for one sending domain: its DNS authentication state with the records read,
 * and figures of the last 24 hours and 7 days from email_events by from_domain.
 *
 * Windows are whole 5-minute buckets: from the first bucket that starts at or after now − 24 h
 * (now − 7 d) up to now. Every figure comes from the sender-health rollups
 * (email_stats_sender_health_5m/_1h/_1d: per sender domain and event type, the counts, the
 * delivery time's sum and count, hard bounces, and for each of DKIM, SPF and DMARC how many events
 * carry a result and how many pass), read through the stats planner: whole days from the daily
 * rollup, whole hours from the hourly one, the edges from the 5-minute one — a few hundred rows
 * for a week, where a domain that sends a third of a cluster's mail at 100 events/s has 20 million
 * events.
 *
 * Complaints are email_events of type `complaint` (feedback-loop reports sent to Opsdeck like any
 * other event); the complaint rate is complaints / delivered, the mailbox providers' measure. The
 * §11.3 `any_ip_blacklisted` term: the sending IPs listed on a DNSBL zone at their last check (the
 * sending-IPs module's `listed()`, passed in; without it the term is not evaluated) that this
 * domain's mail left from in the last 24 h — one indexed probe of the raw events per listed IP.
 */
import type { Database } from '../../db/database.ts';
import { bucketStartAtOrAfter } from '../../timeseries/family.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { Clock } from '../../domain/clock.ts';
import type { SendingDomain, SendingDomainStore } from './service.ts';
import { toDomain } from './service.ts';

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
/** The window's start: the first 5-minute bucket that starts at or after `now − ms`. */
const windowStart = (now: Date, ms: number) => new Date(bucketStartAtOrAfter(now.getTime() - ms, '5m'));

/** The measures the sender-health rollups keep (email-events/stream.ts), as the stats planner names them. */
const MEASURES = ['eventCount', 'avgDeliveryMs', 'hardBounces', 'dkimResults', 'dkimPass', 'spfResults', 'spfPass', 'dmarcResults', 'dmarcPass'] as const;
type Row = Record<(typeof MEASURES)[number], number | null> & { eventType: string };

export async function domainReputation(
  db: Database,
  streams: StreamStore,
  store: SendingDomainStore,
  clock: Clock,
  domain: string,
  listedIps?: () => Promise<string[]>,
): Promise<DomainReputation> {
  const d = toDomain(await store.row(domain));
  const now = clock.now();
  const from24 = windowStart(now, 86_400_000);
  const from7 = windowStart(now, 7 * 86_400_000);
  // Whole days of the window from the daily rollup, whole hours from the hourly one, the
  // 5-minute edges from the finest (the stats planner's stitch): a few hundred rows for 7 days.
  const read = async (from: Date): Promise<Row[]> =>
    (
      await streams.stats('email', { from, to: now, resolution: '5m', collapse: true, groupBy: ['fromDomain', 'eventType'], filters: { fromDomain: [d.domain] }, measures: [...MEASURES] })
    ).buckets as unknown as Row[];
  const [rows24, rows7] = await Promise.all([read(from24), read(from7)]);

  const figures = (rows: readonly Row[], from: Date): WindowFigures => {
    const of = (type: string) => rows.find((r) => r.eventType === type);
    const n = (type: string) => Number(of(type)?.eventCount ?? 0);
    const delivered = of('delivered');
    const attempts = ATTEMPTS.reduce((s, t) => s + n(t), 0);
    const hard = Number(of('bounced')?.hardBounces ?? 0);
    // passes among the delivered events that carry a result for the method
    const rate = (pass: number | null | undefined, carried: number | null | undefined) => pct(Number(pass ?? 0), Number(carried ?? 0));
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
      avgDeliveryMs: delivered?.avgDeliveryMs ?? null,
      dkimPassRate: rate(delivered?.dkimPass, delivered?.dkimResults),
      spfPassRate: rate(delivered?.spfPass, delivered?.spfResults),
      dmarcPassRate: rate(delivered?.dmarcPass, delivered?.dmarcResults),
    };
  };
  const last24h = figures(rows24, from24);
  const last7d = figures(rows7, from7);
  let blacklisted: string[] | null = null;
  if (listedIps) {
    // The listed IPs (few, often none) this domain's mail left from in the 24 h: one indexed probe each.
    const listed = [...new Set(await listedIps())];
    blacklisted =
      listed.length === 0
        ? []
        : (
            await db.queryMany<{ ip: string }>(
              `SELECT host(l.ip) AS ip FROM unnest($2::inet[]) AS l(ip)
                WHERE EXISTS (SELECT 1 FROM email_events e WHERE e.sending_ip = l.ip AND e.from_domain = $1 AND e.time >= $3 AND e.time < $4)
                ORDER BY l.ip`,
              [d.domain, listed, from24, now],
            )
          ).map((r) => r.ip);
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
