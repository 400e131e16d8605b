/**
 * The warm-up gate and the per-IP warm-up state, over email_events.
 *
 * Figures (the same definitions everywhere: gate, /warmup, /reputation, alerts):
 * - attempts: events of the IP (sending_ip or sending_ip_v6) of type delivered,
 *   bounced, deferred or rejected — each is a receiver judging the IP (the
 *   cluster's bounce-rate alert rules use the same denominator);
 * - bounce rate = bounced / attempts, in percent;
 * - complaint rate = complaint events (feedback-loop reports sent to Opsdeck as
 *   email_events of type `complaint`) / attempts, in percent;
 * - sent today: attempts since 00:00 UTC of the clock's day (`current_daily_sent`).
 *
 * Once per UTC day (the first run of the `sending-ips-warmup` job after
 * midnight) each warming IP's last 24 hours are judged against its plan: with at
 * least `min_daily_events` attempts, a bounce rate below `max_bounce_percent` and
 * a complaint rate below `max_complaint_percent`, it advances one day (its limit
 * becomes the plan's next day; past the last day it is `active` without a limit);
 * otherwise it is held at its day, and the reason and the evidence are recorded.
 */
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { EMAIL_EVENT_TYPES } from '../email-events/stream.ts';
import type { AlertObservation, ConditionObserver } from '../alerts/contracts.ts';
import { compare, type Comparison } from '../alerts/conditions.ts';
import { canonicalIp } from './service.ts';
import { NotFoundError } from '../../domain/errors.ts';

export const ATTEMPT_TYPES = ['delivered', 'bounced', 'deferred', 'rejected'] as const;
/** Whether email_events can tell complaints (a `complaint` event type). */
export const COMPLAINTS_MEASURED = (EMAIL_EVENT_TYPES as readonly string[]).includes('complaint');

export interface Rates {
  from: string;
  to: string;
  attempts: number;
  bounced: number;
  complaints: number | null;
  /** Percent; null without attempts. */
  bounceRate: number | null;
  /** Percent; null without attempts or when complaints are not measured. */
  complaintRate: number | null;
}

const round = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Attempts, bounced and complaint events of each IP in [from, to): one pass over the
 * window by `sending_ip` (its index) and, for IPv6 addresses, one by `sending_ip_v6`;
 * an event counts for each registered address it names.
 */
export async function countsByIp(db: Queryable, ips: readonly string[], from: Date, to: Date): Promise<Map<string, { attempts: number; bounced: number; complaints: number }>> {
  const out = new Map<string, { attempts: number; bounced: number; complaints: number }>();
  if (ips.length === 0) return out;
  const v6 = ips.filter((ip) => ip.includes(':'));
  const branch = (col: string, p: string) =>
    `SELECT ${col} AS ip, event_type FROM email_events WHERE ${col} = ANY(${p}::inet[]) AND time >= $2 AND time < $3 AND (event_type = ANY($4::text[]) OR event_type = 'complaint')`;
  const rows = await db.queryMany<{ ip: string; attempts: number; bounced: number; complaints: number }>(
    `SELECT host(e.ip) AS ip, count(*) FILTER (WHERE e.event_type = ANY($4::text[]))::int AS attempts,
            count(*) FILTER (WHERE e.event_type = 'bounced')::int AS bounced,
            count(*) FILTER (WHERE e.event_type = 'complaint')::int AS complaints
       FROM (${branch('sending_ip', '$1')}${v6.length ? ` UNION ALL ${branch('sending_ip_v6', '$5')} AND sending_ip IS DISTINCT FROM sending_ip_v6` : ''}) e
      GROUP BY e.ip`,
    v6.length ? [ips, from.toISOString(), to.toISOString(), ATTEMPT_TYPES, v6] : [ips, from.toISOString(), to.toISOString(), ATTEMPT_TYPES],
  );
  for (const r of rows) out.set(r.ip, { attempts: r.attempts, bounced: r.bounced, complaints: r.complaints });
  return out;
}

/** Attempts, bounces (and complaints) of IPs in [from, to), by IP, with the rates. */
export async function ratesByIp(db: Queryable, ips: readonly string[], from: Date, to: Date): Promise<Map<string, Rates>> {
  const out = new Map<string, Rates>();
  const by = await countsByIp(db, ips, from, to);
  for (const ip of ips) out.set(ip, ratesOf(by.get(ip) ?? { attempts: 0, bounced: 0, complaints: 0 }, from, to));
  return out;
}

/** The rates of one IP's counts over [from, to). */
export function ratesOf(r: { attempts: number; bounced: number; complaints: number }, from: Date, to: Date): Rates {
  return {
    from: from.toISOString(),
    to: to.toISOString(),
    attempts: r.attempts,
    bounced: r.bounced,
    complaints: COMPLAINTS_MEASURED ? r.complaints : null,
    bounceRate: r.attempts > 0 ? round((100 * r.bounced) / r.attempts) : null,
    complaintRate: COMPLAINTS_MEASURED && r.attempts > 0 ? round((100 * r.complaints) / r.attempts) : null,
  };
}

const utcMidnight = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));

export interface GateResult {
  passed: boolean;
  reason: 'bounce_rate' | 'complaint_rate' | 'too_little_traffic' | null;
  message: string;
  evidence: Rates & { maxBouncePercent: number; maxComplaintPercent: number; minDailyEvents: number; complaintGate: 'applied' | 'not measured' };
}

/** Pure: the gate of one day. */
export function judgeDay(r: Rates, plan: { max_bounce_percent: number; max_complaint_percent: number; min_daily_events: number }): GateResult {
  const maxB = Number(plan.max_bounce_percent);
  const maxC = Number(plan.max_complaint_percent);
  const evidence = { ...r, maxBouncePercent: maxB, maxComplaintPercent: maxC, minDailyEvents: plan.min_daily_events, complaintGate: (COMPLAINTS_MEASURED ? 'applied' : 'not measured') as 'applied' | 'not measured' };
  if (r.attempts < plan.min_daily_events) return { passed: false, reason: 'too_little_traffic', message: `${r.attempts} delivery attempts in the last 24 h, fewer than the plan's ${plan.min_daily_events}`, evidence };
  if (r.bounceRate !== null && r.bounceRate >= maxB) return { passed: false, reason: 'bounce_rate', message: `bounce rate ${r.bounceRate} % (${r.bounced} of ${r.attempts}) in the last 24 h is not below ${maxB} %`, evidence };
  if (r.complaintRate !== null && r.complaintRate >= maxC) return { passed: false, reason: 'complaint_rate', message: `complaint rate ${r.complaintRate} % (${r.complaints} of ${r.attempts}) in the last 24 h is not below ${maxC} %`, evidence };
  return { passed: true, reason: null, message: `bounce rate ${r.bounceRate ?? 0} % below ${maxB} %${COMPLAINTS_MEASURED ? `, complaint rate ${r.complaintRate ?? 0} % below ${maxC} %` : ' (complaints not measured)'}`, evidence };
}

interface WarmRow {
  ip: string;
  warmup_day: number;
  warmup_start: string;
  schedule: number[];
  max_bounce_percent: number;
  max_complaint_percent: number;
  min_daily_events: number;
}

export class WarmupService {
  constructor(private readonly o: { db: Database; clock: Clock }) {}

  /** Today's attempts of every IP that is not retired → current_daily_sent. */
  async refreshDailySent(db: Queryable = this.o.db): Promise<number> {
    const now = this.o.clock.now();
    const ips = (await db.queryMany<{ ip: string }>(`SELECT host(ip) AS ip FROM sending_ips WHERE status <> 'retired'`)).map((r) => r.ip);
    const counts = await countsByIp(db, ips, utcMidnight(now), now);
    const r = await db.query(
      `UPDATE sending_ips s SET current_daily_sent = u.n FROM unnest($1::inet[], $2::int[]) AS u(ip, n) WHERE s.ip = u.ip AND s.current_daily_sent <> u.n`,
      [ips, ips.map((ip) => counts.get(ip)?.attempts ?? 0)],
    );
    return r.rowCount;
  }

  /** The daily gate for every warming IP not yet judged today (see the module comment). */
  async advanceDue(): Promise<{ advanced: string[]; held: string[]; completed: string[] }> {
    const now = this.o.clock.now();
    const today = now.toISOString().slice(0, 10);
    return this.o.db.transaction(async (tx) => {
      const due = await tx.queryMany<WarmRow>(
        `SELECT host(s.ip) AS ip, s.warmup_day, s.warmup_start::text AS warmup_start, p.schedule, p.max_bounce_percent, p.max_complaint_percent, p.min_daily_events
           FROM sending_ips s JOIN warmup_plans p ON p.id = s.warmup_plan_id
          WHERE s.status = 'warming' AND s.warmup_start < $1::date AND (s.warmup_evaluated_on IS NULL OR s.warmup_evaluated_on < $1::date)
          ORDER BY s.ip FOR UPDATE OF s`,
        [today],
      );
      const rates = await ratesByIp(tx, due.map((d) => d.ip), new Date(now.getTime() - 86_400_000), now);
      const out = { advanced: [] as string[], held: [] as string[], completed: [] as string[] };
      for (const d of due) {
        const g = judgeDay(rates.get(d.ip)!, d);
        const gate = JSON.stringify({ at: now.toISOString(), day: d.warmup_day, passed: g.passed, reason: g.reason, message: g.message, ...g.evidence });
        if (!g.passed) {
          await tx.query(`UPDATE sending_ips SET warmup_held = true, warmup_held_reason = $2, warmup_gate = $3::text::jsonb, warmup_evaluated_on = $4::date, updated_at = $5 WHERE ip = $1::inet`, [d.ip, `${g.reason}: ${g.message}`, gate, today, now.toISOString()]);
          out.held.push(d.ip);
          continue;
        }
        const next = d.warmup_day + 1;
        if (next > d.schedule.length) {
          await tx.query(
            `UPDATE sending_ips SET warmup_day = $2, daily_limit = NULL, status = 'active', status_reason = 'warm-up plan completed', status_changed_at = $5,
               warmup_held = false, warmup_held_reason = NULL, warmup_gate = $3::text::jsonb, warmup_evaluated_on = $4::date, updated_at = $5 WHERE ip = $1::inet`,
            [d.ip, next, gate, today, now.toISOString()],
          );
          out.completed.push(d.ip);
        } else {
          await tx.query(
            `UPDATE sending_ips SET warmup_day = $2, daily_limit = $6, warmup_held = false, warmup_held_reason = NULL, warmup_gate = $3::text::jsonb, warmup_evaluated_on = $4::date, updated_at = $5 WHERE ip = $1::inet`,
            [d.ip, next, gate, today, now.toISOString(), d.schedule[next - 1]],
          );
          out.advanced.push(d.ip);
        }
      }
      await this.refreshDailySent(tx);
      return out;
    });
  }

  /** Plan, day, today's allowance, sent today, held or not and why — for one IP or every IP on a plan. */
  async state(ipIn?: string): Promise<WarmupState[]> {
    const now = this.o.clock.now();
    const params: unknown[] = [];
    let where = 's.warmup_plan_id IS NOT NULL';
    if (ipIn !== undefined) {
      params.push(canonicalIp(ipIn, 'ip'));
      where = `s.ip = $${params.length}::inet`;
    }
    const rows = await this.o.db.queryMany<{
      ip: string; status: string; node_id: string | null; plan_id: number | null; plan_name: string | null; schedule: number[] | null; warmup_start: string | null; warmup_day: number;
      daily_limit: number | null; warmup_held: boolean; warmup_held_reason: string | null; warmup_gate: Record<string, unknown> | null;
    }>(
      `SELECT host(s.ip) AS ip, s.status, s.node_id, p.id AS plan_id, p.name AS plan_name, p.schedule, s.warmup_start::text AS warmup_start, s.warmup_day, s.daily_limit,
              s.warmup_held, s.warmup_held_reason, s.warmup_gate
         FROM sending_ips s LEFT JOIN warmup_plans p ON p.id = s.warmup_plan_id WHERE ${where} ORDER BY s.ip`,
      params,
    );
    if (ipIn !== undefined && rows.length === 0) throw new NotFoundError('IP_NOT_FOUND', `sending IP ${ipIn} is not registered`);
    const today = await countsByIp(this.o.db, rows.map((r) => r.ip), utcMidnight(now), now);
    return rows.map((r) => {
      const sentToday = today.get(r.ip)?.attempts ?? 0;
      const warming = r.status === 'warming' && r.schedule !== null;
      const allowance = warming ? r.daily_limit : null;
      return {
        ip: r.ip,
        nodeId: r.node_id,
        status: r.status,
        plan: r.plan_id === null ? null : { id: r.plan_id, name: r.plan_name!, days: r.schedule!.length },
        warmupStart: r.warmup_start,
        day: r.warmup_day,
        completed: r.schedule !== null && r.warmup_day > r.schedule.length,
        todayAllowance: allowance,
        sentToday,
        remainingToday: allowance === null ? null : Math.max(0, allowance - sentToday),
        held: r.warmup_held,
        heldReason: r.warmup_held_reason,
        lastGate: r.warmup_gate,
      };
    });
  }
}

export interface WarmupState {
  ip: string;
  nodeId: string | null;
  status: string;
  plan: { id: number; name: string; days: number } | null;
  warmupStart: string | null;
  day: number;
  completed: boolean;
  /** The plan's limit for today; null when the IP is not warming (no warm-up limit). */
  todayAllowance: number | null;
  sentToday: number;
  remainingToday: number | null;
  held: boolean;
  heldReason: string | null;
  lastGate: Record<string, unknown> | null;
}

/** `warmup_held`: one series per warming IP; fires while its daily gate holds it for its bounce or complaint rate. */
export const warmupHeldObserver: ConditionObserver = {
  async observe(db) {
    const rows = await db.queryMany<{ ip: string; node_id: string | null; warmup_day: number; warmup_held: boolean; warmup_held_reason: string | null; warmup_gate: Record<string, unknown> | null }>(
      `SELECT host(ip) AS ip, node_id, warmup_day, warmup_held, warmup_held_reason, warmup_gate FROM sending_ips WHERE status = 'warming' AND warmup_plan_id IS NOT NULL ORDER BY sending_ips.ip`,
    );
    if (rows.length === 0) return [{ series: {}, nodeId: null, serviceName: null, holds: false, recovered: true, value: 0, message: 'no sending IP is warming up', details: {} }];
    return rows.map((r): AlertObservation => {
      const breach = r.warmup_held && /^(bounce_rate|complaint_rate):/.test(r.warmup_held_reason ?? '');
      return {
        series: { ip: r.ip },
        nodeId: r.node_id,
        serviceName: null,
        holds: breach,
        recovered: !breach,
        value: r.warmup_day,
        message: breach ? `warm-up of ${r.ip} held at day ${r.warmup_day}: ${r.warmup_held_reason}` : `warm-up of ${r.ip} at day ${r.warmup_day}${r.warmup_held ? ` (held: ${r.warmup_held_reason})` : ''}`,
        details: { ip: r.ip, day: r.warmup_day, gate: r.warmup_gate },
      };
    });
  },
};

/** `warmup_bounce`: the bounce rate (percent of attempts) of each warming IP over the rule's window. */
export const warmupBounceObserver: ConditionObserver = {
  async observe(db, condition, _scope, now) {
    const c = condition as unknown as { comparison: Comparison; threshold: number; windowSeconds: number };
    const ips = await db.queryMany<{ ip: string; node_id: string | null }>(`SELECT host(ip) AS ip, node_id FROM sending_ips WHERE status = 'warming' ORDER BY sending_ips.ip`);
    if (ips.length === 0) return [{ series: {}, nodeId: null, serviceName: null, holds: false, recovered: true, value: null, message: 'no sending IP is warming up', details: {} }];
    const rates = await ratesByIp(db, ips.map((i) => i.ip), new Date(now.getTime() - c.windowSeconds * 1000), now);
    return ips.map((i): AlertObservation => {
      const r = rates.get(i.ip)!;
      // No attempt in the window is no bounce, not missing data: an idle warming IP raises nothing.
      const holds = r.bounceRate === null ? false : compare(r.bounceRate, c.comparison, c.threshold);
      return {
        series: { ip: i.ip },
        nodeId: i.node_id,
        serviceName: null,
        holds,
        recovered: holds !== true,
        value: r.bounceRate,
        message: r.bounceRate === null ? `${i.ip} made no delivery attempt in the last ${c.windowSeconds} s` : `${i.ip} (warming) bounce rate ${r.bounceRate} % (${r.bounced} of ${r.attempts})`,
        details: { ...r },
      };
    });
  },
};
