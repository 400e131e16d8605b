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
import type { Clock } from '../../domain/clock.ts';
import type { DnsblService } from '../dnsbl/service.ts';
import type { SendingIpService } from './service.ts';
import { ratesByIp, type Rates, type WarmupService, type WarmupState } from './warmup.ts';

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
}

export async function reputationOf(ipIn: string, deps: { ips: SendingIpService; dnsbl: DnsblService; warmup: WarmupService; clock: Clock }): Promise<Reputation> {
  const ip = await deps.ips.get(ipIn);
  const now = deps.clock.now();
  const [listings, dnsbl, warm, r24, r7] = await Promise.all([
    deps.dnsbl.listingsOf(ip.ip),
    deps.dnsbl.checkSummaryOf(ip.ip),
    ip.warmupPlanId === null ? Promise.resolve([]) : deps.warmup.state(ip.ip),
    ratesByIp(deps.ips.db, [ip.ip], new Date(now.getTime() - 86_400_000), now),
    ratesByIp(deps.ips.db, [ip.ip], new Date(now.getTime() - 7 * 86_400_000), now),
  ]);
  const ptrError = (await deps.ips.db.queryOne<{ ptr_error: string | null }>('SELECT ptr_error FROM sending_ips WHERE ip = $1::inet', [ip.ip]))?.ptr_error ?? null;
  const last24h = r24.get(ip.ip)!;
  const last7d = r7.get(ip.ip)!;
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
  };
}
