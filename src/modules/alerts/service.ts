/**
 * Alerting services: rules (CRUD, snooze, mute, enable), the evaluation round,
 * the service alert sink (probes' state changes), acknowledgement and manual
 * resolution, silences and maintenance windows. Framework-free; routes are thin.
 *
 * Every write of alert state (evaluation, sink, ack, resolve) runs in one
 * transaction under one advisory lock, so processes sharing a database write
 * one set of transitions, and a transition and the notices it causes
 * (AlertNotifier.enqueue, in the same transaction) commit together.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError, type FieldIssue } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from '../auth/users.ts';
import { checkRule, conditionSchema, type Condition, type RuleInput } from './conditions.ts';
import type { AlertNotice, AlertNotifier, AlertSeverity, ConditionObserver, ProbeStateSource, ServiceAlertSink, ServiceStateChange } from './contracts.ts';
import { observe, type ObserveContext, type Observation } from './evaluate.ts';
import { isValidTimeZone, silenceMatches, windowActive, windowCovers } from './mutes.ts';
import type { AlertEventRow, AlertEventTransitionRow, AlertMaintenanceWindowRow, AlertRuleRow, AlertSilenceRow, EscalationStep, EventStatus, MutedBy, NoDataPolicy, Recurrence, SilenceMatcher } from './schema.ts';
import { dueNotices, transition, type OpenEvent, type RuleTiming, type Seen } from './state.ts';

/** Repeat interval of service alerts (no rule names one): the seed's 30-minute cooldown. */
export const SERVICE_REPEAT_SECONDS = 1800;

/** Advisory lock key of alert state writes (one writer at a time across processes). */
export const ALERT_STATE_LOCK = '7226510118472380161';

export interface AlertsOptions {
  db: Database;
  clock: Clock;
  logger?: Logger | undefined;
  notifier?: AlertNotifier | null | undefined;
  probes?: ProbeStateSource | null | undefined;
  /** Observers of condition kinds other modules own (DNSBL, warm-up, home-lab …), by kind. */
  observers?: Readonly<Record<string, ConditionObserver>> | undefined;
  /** Channels told about service events of the sink (no rule names them). */
  serviceChannels?: readonly number[] | undefined;
  /** A service that goes down again within this many minutes of its previous event of the same type: a new event, no new notice (the seed's dedup window). */
  serviceDedupMinutes?: number | undefined;
}

// ---------------------------------------------------------------- rules

export interface AlertRule {
  id: number;
  name: string;
  description: string;
  severity: AlertSeverity;
  condition: Condition;
  forSeconds: number;
  scope: { kind: AlertRuleRow['scope_kind']; values: string[] };
  noDataPolicy: NoDataPolicy;
  channels: number[];
  escalation: EscalationStep[];
  repeatIntervalSeconds: number;
  labels: Record<string, string>;
  enabled: boolean;
  muted: boolean;
  snoozedUntil: string | null;
  isDefault: boolean;
  lastEvaluatedAt: string | null;
  lastEvaluation: Record<string, unknown> | null;
  createdAt: string;
  updatedAt: string;
}

const toRule = (r: AlertRuleRow): AlertRule => ({
  id: r.id,
  name: r.name,
  description: r.description,
  severity: r.severity,
  condition: r.condition as Condition,
  forSeconds: r.for_seconds,
  scope: { kind: r.scope_kind, values: r.scope_values },
  noDataPolicy: r.no_data_policy,
  channels: r.channels,
  escalation: r.escalation,
  repeatIntervalSeconds: r.repeat_interval_seconds,
  labels: r.labels,
  enabled: r.enabled,
  muted: r.muted,
  snoozedUntil: r.snoozed_until?.toISOString() ?? null,
  isDefault: r.is_default,
  lastEvaluatedAt: r.last_evaluated_at?.toISOString() ?? null,
  lastEvaluation: r.last_evaluation ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const ruleNotFound = (id: number) => new NotFoundError('ALERT_RULE_NOT_FOUND', `no alert rule ${id}`);
const invalidRule = (issues: FieldIssue[]) => new InvalidError('ALERT_RULE_INVALID', `the rule is invalid: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);

export function validateRule(input: RuleInput): void {
  const issues = checkRule(input);
  if (issues.length) throw invalidRule(issues);
}

// ---------------------------------------------------------------- events

export interface AlertEvent {
  id: number;
  ruleId: number | null;
  serviceName: string | null;
  fingerprint: string;
  alertType: string;
  alertName: string;
  severity: AlertSeverity;
  status: EventStatus;
  message: string;
  details: Record<string, unknown>;
  labels: Record<string, string>;
  nodeId: string | null;
  value: number | null;
  createdAt: string;
  firedAt: string | null;
  acknowledgedAt: string | null;
  acknowledgedBy: string | null;
  resolvedAt: string | null;
  notified: boolean;
  lastNotifiedAt: string | null;
  escalationLevel: number;
  mutedBy: MutedBy[];
}

export interface AlertTransition {
  from: EventStatus | null;
  to: EventStatus;
  at: string;
  actor: string;
  reason: string;
}

const isoOrNull = (d: Date | null) => d?.toISOString() ?? null;
export const toEvent = (r: AlertEventRow): AlertEvent => ({
  id: r.id,
  ruleId: r.rule_id,
  serviceName: r.service_name,
  fingerprint: r.fingerprint,
  alertType: r.alert_type,
  alertName: r.alert_name,
  severity: r.severity,
  status: r.status,
  message: r.message,
  details: r.details,
  labels: r.labels,
  nodeId: r.node_id,
  value: r.value,
  createdAt: r.created_at.toISOString(),
  firedAt: isoOrNull(r.fired_at),
  acknowledgedAt: isoOrNull(r.acknowledged_at),
  acknowledgedBy: r.acknowledged_by,
  resolvedAt: isoOrNull(r.resolved_at),
  notified: r.notified,
  lastNotifiedAt: isoOrNull(r.last_notified_at),
  escalationLevel: r.escalation_level,
  mutedBy: r.muted_by,
});

/** Stable identity of an alert: its source and the labels of its series (sorted), hashed. */
export function fingerprintOf(source: string | number, series: Record<string, string>, variant = ''): string {
  const sorted = Object.keys(series)
    .sort()
    .map((k) => [k, series[k]]);
  return createHash('sha256').update(JSON.stringify([source, sorted, variant])).digest('hex').slice(0, 32);
}

export interface EventFilters {
  status?: EventStatus[] | undefined;
  severity?: AlertSeverity[] | undefined;
  node?: string | undefined;
  service?: string | undefined;
  ruleId?: number | undefined;
}

export interface CreateEventData {
  serviceName?: string | null;
  ruleId?: number | null;
  alertType: string;
  alertName?: string;
  severity: AlertSeverity;
  status?: Exclude<EventStatus, 'resolved'>;
  message?: string;
  details?: Record<string, unknown>;
  labels?: Record<string, string>;
  nodeId?: string | null;
  fingerprint?: string;
  at: Date;
}

/**
 * The alert_events functions of the service-health seed (create, latest by
 * service, list with filters, delete older than N days, findRecentByService),
 * on Opsdeck's one events table.
 */
export class AlertEventStore {
  constructor(private readonly db: Database) {}

  async create(d: CreateEventData, tx: Queryable = this.db): Promise<AlertEvent> {
    if (!d.serviceName && !d.ruleId) throw new InvalidError('ALERT_EVENT_INVALID', 'an event needs a rule or a service name', [{ path: 'serviceName', message: 'required without a rule' }]);
    const status = d.status ?? 'firing';
    const labels = d.labels ?? {};
    const fp = d.fingerprint ?? fingerprintOf(d.ruleId ?? `service:${d.serviceName}`, { ...labels, alert_type: d.alertType });
    const row = await tx.queryOne<AlertEventRow>(
      `INSERT INTO alert_events (rule_id, service_name, fingerprint, alert_type, alert_name, severity, status, message, details, labels, node_id, created_at, fired_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::text::jsonb, $10::text::jsonb, $11, $12, CASE WHEN $7 = 'firing' THEN $12::timestamptz END) RETURNING *`,
      [d.ruleId ?? null, d.serviceName ?? null, fp, d.alertType, d.alertName ?? d.serviceName ?? d.alertType, d.severity, status, d.message ?? '', JSON.stringify(d.details ?? {}), JSON.stringify(labels), d.nodeId ?? null, d.at.toISOString()],
    );
    await recordTransition(tx, row!.id, null, status, d.at, 'system', 'created');
    return toEvent(row!);
  }

  async latestByService(serviceName: string): Promise<AlertEvent | null> {
    const r = await this.db.queryOne<AlertEventRow>('SELECT * FROM alert_events WHERE service_name = $1 ORDER BY created_at DESC, id DESC LIMIT 1', [serviceName]);
    return r ? toEvent(r) : null;
  }

  /** The newest event of this type for the service created within the last `withinMinutes` before `now` (the dedup window). */
  async findRecentByService(serviceName: string, alertType: string, withinMinutes: number, now: Date, tx: Queryable = this.db): Promise<AlertEvent | null> {
    const r = await tx.queryOne<AlertEventRow>(
      `SELECT * FROM alert_events WHERE service_name = $1 AND alert_type = $2 AND created_at > $3::timestamptz - make_interval(mins => $4) AND created_at <= $3::timestamptz
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [serviceName, alertType, now.toISOString(), withinMinutes],
    );
    return r ? toEvent(r) : null;
  }

  /** Newest first; limit 100 unless given. */
  async findAll(filters: EventFilters = {}, opts: { limit?: number; offset?: number } = {}): Promise<AlertEvent[]> {
    const { where, params } = eventWhere(filters);
    const rows = await this.db.queryMany<AlertEventRow>(`SELECT * FROM alert_events ${where} ORDER BY created_at DESC, id DESC LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, opts.limit ?? 100, opts.offset ?? 0]);
    return rows.map(toEvent);
  }

  async page(filters: EventFilters, page: number, pageSize: number): Promise<Page<AlertEvent>> {
    const { where, params } = eventWhere(filters);
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM alert_events ${where}`, params))?.n ?? 0;
    return pageResult(await this.findAll(filters, { limit: pageSize, offset: (page - 1) * pageSize }), total, page, pageSize);
  }

  async get(id: number): Promise<AlertEvent & { transitions: AlertTransition[] }> {
    const r = await this.db.queryOne<AlertEventRow>('SELECT * FROM alert_events WHERE id = $1', [id]);
    if (!r) throw new NotFoundError('ALERT_NOT_FOUND', `no alert ${id}`);
    const t = await this.db.queryMany<AlertEventTransitionRow>('SELECT * FROM alert_event_transitions WHERE event_id = $1 ORDER BY at, id', [id]);
    return { ...toEvent(r), transitions: t.map((x) => ({ from: x.from_status, to: x.to_status, at: x.at.toISOString(), actor: x.actor, reason: x.reason })) };
  }

  /** Deletes resolved events resolved more than `days` before `now`; returns how many. */
  async deleteOlderThan(days: number, now: Date): Promise<number> {
    const r = await this.db.query(`DELETE FROM alert_events WHERE status = 'resolved' AND resolved_at < $1::timestamptz - make_interval(days => $2)`, [now.toISOString(), days]);
    return r.rowCount;
  }
}

function eventWhere(f: EventFilters): { where: string; params: unknown[] } {
  const params: unknown[] = [];
  const conds: string[] = [];
  const add = (sql: (n: number) => string, v: unknown) => {
    params.push(v);
    conds.push(sql(params.length));
  };
  if (f.status?.length) add((n) => `status = ANY($${n}::text[])`, f.status);
  if (f.severity?.length) add((n) => `severity = ANY($${n}::text[])`, f.severity);
  if (f.node) add((n) => `node_id = $${n}`, f.node);
  if (f.service) add((n) => `service_name = $${n}`, f.service);
  if (f.ruleId) add((n) => `rule_id = $${n}`, f.ruleId);
  return { where: conds.length ? `WHERE ${conds.join(' AND ')}` : '', params };
}

async function recordTransition(tx: Queryable, eventId: number, from: EventStatus | null, to: EventStatus, at: Date, actor: string, reason: string): Promise<void> {
  await tx.query('INSERT INTO alert_event_transitions (event_id, from_status, to_status, at, actor, reason) VALUES ($1, $2, $3, $4, $5, $6)', [eventId, from, to, at.toISOString(), actor, reason]);
}

// ---------------------------------------------------------------- mutes

interface MuteState {
  silences: AlertSilenceRow[];
  windows: AlertMaintenanceWindowRow[];
  nodesInMaintenance: Set<string>;
}

async function loadMutes(tx: Queryable, now: Date): Promise<MuteState> {
  const silences = await tx.queryMany<AlertSilenceRow>('SELECT * FROM alert_silences WHERE starts_at <= $1::timestamptz AND ends_at > $1::timestamptz ORDER BY id', [now.toISOString()]);
  const windows = await tx.queryMany<AlertMaintenanceWindowRow>('SELECT * FROM alert_maintenance_windows WHERE starts_at <= $1::timestamptz AND (ends_at IS NULL OR ends_at > $1::timestamptz) ORDER BY id', [now.toISOString()]);
  const nodes = await tx.queryMany<{ id: string }>(`SELECT id FROM nodes WHERE status = 'maintenance'`);
  return { silences, windows: windows.filter((w) => windowActive(w, now)), nodesInMaintenance: new Set(nodes.map((n) => n.id)) };
}

function mutesOf(m: MuteState, ev: AlertEventRow, rule: AlertRuleRow | null, now: Date): MutedBy[] {
  const at = now.toISOString();
  const out: MutedBy[] = [];
  if (rule?.muted) out.push({ kind: 'rule_muted', id: rule.id, at });
  if (rule?.snoozed_until && rule.snoozed_until.getTime() > now.getTime()) out.push({ kind: 'rule_snoozed', id: rule.id, at });
  for (const s of m.silences) if (silenceMatches(s.matchers, ev.labels)) out.push({ kind: 'silence', id: s.id, at });
  for (const w of m.windows) if (windowCovers(w, ev.node_id, ev.service_name)) out.push({ kind: 'maintenance', id: w.id, at });
  if (ev.node_id && m.nodesInMaintenance.has(ev.node_id)) out.push({ kind: 'maintenance', at });
  return out;
}

// ---------------------------------------------------------------- the service

export interface RoundSummary {
  at: string;
  rules: number;
  series: number;
  transitions: number;
  notices: number;
  muted: number;
  errors: { ruleId: number; error: string }[];
}

interface RoundCounters {
  transitions: number;
  notices: number;
  muted: number;
}

export class AlertsService implements ServiceAlertSink {
  readonly events: AlertEventStore;
  private readonly db: Database;
  private readonly clock: Clock;

  constructor(private readonly opts: AlertsOptions) {
    this.db = opts.db;
    this.clock = opts.clock;
    this.events = new AlertEventStore(opts.db);
  }

  // ------------------------------------------------------------ rules

  async listRules(page: number, pageSize: number): Promise<Page<AlertRule>> {
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_rules'))?.n ?? 0;
    const rows = await this.db.queryMany<AlertRuleRow>('SELECT * FROM alert_rules ORDER BY id LIMIT $1 OFFSET $2', [pageSize, (page - 1) * pageSize]);
    return pageResult(rows.map(toRule), total, page, pageSize);
  }

  async getRule(id: number): Promise<AlertRule> {
    const r = await this.db.queryOne<AlertRuleRow>('SELECT * FROM alert_rules WHERE id = $1', [id]);
    if (!r) throw ruleNotFound(id);
    return toRule(r);
  }

  async createRule(input: RuleInput, opts: { isDefault?: boolean; tx?: Queryable } = {}): Promise<AlertRule> {
    validateRule(input);
    const tx = opts.tx ?? this.db;
    try {
      const r = await tx.queryOne<AlertRuleRow>(
        `INSERT INTO alert_rules (name, description, severity, condition, for_seconds, scope_kind, scope_values, no_data_policy, channels, escalation, repeat_interval_seconds, labels, enabled, is_default)
         VALUES ($1, $2, $3, $4::text::jsonb, $5, $6, $7::text[], $8, $9::int[], $10::text::jsonb, $11, $12::text::jsonb, $13, $14) RETURNING *`,
        [...ruleParams(input), opts.isDefault ?? false],
      );
      return toRule(r!);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('ALERT_RULE_NAME_TAKEN', `an alert rule named ${JSON.stringify(input.name)} exists`);
      throw err;
    }
  }

  async replaceRule(id: number, input: RuleInput): Promise<AlertRule> {
    validateRule(input);
    try {
      const r = await this.db.queryOne<AlertRuleRow>(
        `UPDATE alert_rules SET name = $1, description = $2, severity = $3, condition = $4::text::jsonb, for_seconds = $5, scope_kind = $6, scope_values = $7::text[], no_data_policy = $8,
           channels = $9::int[], escalation = $10::text::jsonb, repeat_interval_seconds = $11, labels = $12::text::jsonb, enabled = $13, updated_at = now()
         WHERE id = $14 RETURNING *`,
        [...ruleParams(input), id],
      );
      if (!r) throw ruleNotFound(id);
      return toRule(r);
    } catch (err) {
      if (isUniqueViolation(err)) throw new ConflictError('ALERT_RULE_NAME_TAKEN', `an alert rule named ${JSON.stringify(input.name)} exists`);
      throw err;
    }
  }

  /** Deletes the rule; its open events resolve (actor: who deleted it), its history stays (rule_id set to null). */
  async deleteRule(id: number, actor: string): Promise<void> {
    await this.stateTx(async (tx, now) => {
      const open = await tx.queryMany<AlertEventRow>(`SELECT * FROM alert_events WHERE rule_id = $1 AND status <> 'resolved' FOR UPDATE`, [id]);
      const rule = await tx.queryOne<AlertRuleRow>('SELECT * FROM alert_rules WHERE id = $1', [id]);
      if (!rule) throw ruleNotFound(id);
      const mutes = await loadMutes(tx, now);
      for (const ev of open) await this.resolveEvent(tx, ev, rule, now, actor, 'the rule was deleted', mutes, { transitions: 0, notices: 0, muted: 0 });
      await tx.query('DELETE FROM alert_rules WHERE id = $1', [id]);
    });
  }

  async setRuleFlags(id: number, change: { enabled?: boolean; muted?: boolean; snoozeSeconds?: number | null }): Promise<AlertRule> {
    const sets: string[] = [];
    const params: unknown[] = [id];
    if (change.enabled !== undefined) sets.push(`enabled = $${params.push(change.enabled)}`);
    if (change.muted !== undefined) sets.push(`muted = $${params.push(change.muted)}`);
    if (change.snoozeSeconds !== undefined) {
      sets.push(`snoozed_until = $${params.push(change.snoozeSeconds === null ? null : new Date(this.clock.now().getTime() + change.snoozeSeconds * 1000).toISOString())}::timestamptz`);
    }
    const r = await this.db.queryOne<AlertRuleRow>(`UPDATE alert_rules SET ${sets.join(', ')}, updated_at = now() WHERE id = $1 RETURNING *`, params);
    if (!r) throw ruleNotFound(id);
    return toRule(r);
  }

  // ------------------------------------------------------------ evaluation

  /** Runs fn in a transaction holding the alert-state lock; `now` is read once the lock is held. */
  private async stateTx<T>(fn: (tx: Queryable, now: Date) => Promise<T>): Promise<T> {
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [ALERT_STATE_LOCK]);
      return fn(tx, this.clock.now());
    });
  }

  /** One evaluation round over every rule, at the clock's now. */
  async evaluate(): Promise<RoundSummary> {
    return this.stateTx(async (tx, now) => {
      const rules = await tx.queryMany<AlertRuleRow>('SELECT * FROM alert_rules ORDER BY id');
      const mutes = await loadMutes(tx, now);
      const ctx: ObserveContext = { probes: this.opts.probes ?? null, ...(this.opts.observers ? { observers: this.opts.observers } : {}) };
      const counters: RoundCounters = { transitions: 0, notices: 0, muted: 0 };
      const errors: RoundSummary['errors'] = [];
      let series = 0;
      for (const rule of rules) {
        if (!rule.enabled) {
          const open = await tx.queryMany<AlertEventRow>(`SELECT * FROM alert_events WHERE rule_id = $1 AND status <> 'resolved' FOR UPDATE`, [rule.id]);
          for (const ev of open) await this.resolveEvent(tx, ev, rule, now, 'evaluator', 'the rule was disabled', mutes, counters);
          continue;
        }
        try {
          const n = await tx.savepoint((sp) => this.evaluateRule(sp, rule, now, mutes, ctx, counters));
          series += n;
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          errors.push({ ruleId: rule.id, error: message });
          this.opts.logger?.error({ ruleId: rule.id, err }, 'alert rule evaluation failed');
          await tx.query('UPDATE alert_rules SET last_evaluated_at = $2, last_evaluation = $3::text::jsonb WHERE id = $1', [rule.id, now.toISOString(), JSON.stringify({ state: 'error', error: message })]);
        }
      }
      // Service alerts (no rule): a fired notice a mute held back goes out once the mute ends; repeats while firing.
      const serviceOpen = await tx.queryMany<AlertEventRow>(`SELECT * FROM alert_events WHERE rule_id IS NULL AND service_name IS NOT NULL AND status = 'firing' ORDER BY id FOR UPDATE`);
      for (const ev of serviceOpen) await this.sendDue(tx, ev, null, now, mutes, counters);
      return { at: now.toISOString(), rules: rules.length, series, ...counters, errors };
    });
  }

  private async evaluateRule(tx: Queryable, rule: AlertRuleRow, now: Date, mutes: MuteState, ctx: ObserveContext, counters: RoundCounters): Promise<number> {
    const condition = conditionSchema.parse(rule.condition);
    const outcome = await observe(tx, condition, { kind: rule.scope_kind, values: rule.scope_values }, now, ctx);
    const open = await tx.queryMany<AlertEventRow>(`SELECT * FROM alert_events WHERE rule_id = $1 AND status <> 'resolved' FOR UPDATE`, [rule.id]);
    const openByFp = new Map(open.map((e) => [e.fingerprint, e]));
    if (outcome.state === 'unavailable') {
      await tx.query('UPDATE alert_rules SET last_evaluated_at = $2, last_evaluation = $3::text::jsonb WHERE id = $1', [rule.id, now.toISOString(), JSON.stringify({ state: 'no_data_yet', message: outcome.message })]);
      return 0;
    }
    let obs = outcome.observations;
    const ruleLevelNoData = obs.length === 0;
    // Grafana: a query that returns nothing is "no data" for the rule as a whole.
    if (ruleLevelNoData) obs = [{ series: {}, nodeId: null, serviceName: null, holds: null, recovered: true, value: null, message: `${rule.name}: the query returned no series`, details: {} }];

    interface Want { seen: Seen; obs: Observation; nodata: boolean }
    const wanted = new Map<string, Want>();
    const policy = rule.no_data_policy;
    for (const o of obs) {
      const fp = fingerprintOf(rule.id, o.series);
      if (o.holds !== null) {
        wanted.set(fp, { seen: { holds: o.holds, recovered: o.recovered }, obs: o, nodata: false });
        continue;
      }
      if (policy === 'ok') wanted.set(fp, { seen: { holds: false, recovered: true }, obs: o, nodata: false });
      else if (policy === 'alerting') wanted.set(fp, { seen: { holds: true, recovered: false }, obs: o, nodata: false });
      else {
        wanted.set(fp, { seen: 'keep', obs: o, nodata: false });
        if (policy === 'nodata') wanted.set(fingerprintOf(rule.id, o.series, 'nodata'), { seen: { holds: true, recovered: false }, obs: o, nodata: true });
      }
    }
    const keepMissing = ruleLevelNoData && (policy === 'keep_state' || policy === 'nodata');
    const timing: RuleTiming = { forSeconds: rule.for_seconds, repeatIntervalSeconds: rule.repeat_interval_seconds, escalation: rule.escalation };
    const fps = new Set([...wanted.keys(), ...openByFp.keys()]);
    let firing = 0;
    for (const fp of fps) {
      const ev = openByFp.get(fp) ?? null;
      const want = wanted.get(fp);
      const seen: Seen = want ? want.seen : keepMissing ? 'keep' : 'absent';
      const t = transition(ev ? openOf(ev) : null, seen, timing, now);
      let current: AlertEventRow | null = ev;
      if (t.kind === 'open') {
        current = await this.openEvent(tx, rule, fp, want!, t.status, now, counters);
      } else if (t.kind === 'fire' && ev) {
        current = await this.setStatus(tx, ev, 'firing', now, 'evaluator', `held for ${rule.for_seconds} s`, counters, want?.obs);
      } else if (t.kind === 'resolve' && ev) {
        await this.resolveEvent(tx, ev, rule, now, 'evaluator', t.reason, mutes, counters, want?.obs);
        current = null;
      } else if (t.kind === 'stay' && ev && want && want.seen !== 'keep') {
        current = await this.refresh(tx, ev, rule, want.obs, want.nodata);
      }
      if (current && current.status !== 'pending') {
        firing++;
        await this.sendDue(tx, current, rule, now, mutes, counters);
      }
    }
    await tx.query('UPDATE alert_rules SET last_evaluated_at = $2, last_evaluation = $3::text::jsonb WHERE id = $1', [
      rule.id,
      now.toISOString(),
      JSON.stringify({ state: ruleLevelNoData ? 'no_data' : 'ok', series: outcome.observations.length, noData: outcome.observations.filter((o) => o.holds === null).length, open: firing }),
    ]);
    return outcome.observations.length;
  }

  private labelsFor(rule: AlertRuleRow, o: Observation, nodata: boolean): Record<string, string> {
    return nodata
      ? { ...rule.labels, alertname: 'DatasourceNoData', rulename: rule.name, severity: rule.severity, ...o.series }
      : { ...rule.labels, alertname: rule.name, severity: rule.severity, ...o.series };
  }

  private async openEvent(tx: Queryable, rule: AlertRuleRow, fp: string, want: { obs: Observation; nodata: boolean }, status: 'pending' | 'firing', now: Date, counters: RoundCounters): Promise<AlertEventRow> {
    const o = want.obs;
    const condition = rule.condition as Condition;
    const row = await tx.queryOne<AlertEventRow>(
      `INSERT INTO alert_events (rule_id, fingerprint, alert_type, alert_name, severity, status, message, details, labels, node_id, service_name, value, created_at, fired_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9::text::jsonb, $10, $11, $12, $13, CASE WHEN $6 = 'firing' THEN $13::timestamptz END) RETURNING *`,
      [
        rule.id,
        fp,
        want.nodata ? 'nodata' : condition.kind,
        want.nodata ? `${rule.name} (no data)` : rule.name,
        rule.severity,
        status,
        o.message,
        JSON.stringify(o.details),
        JSON.stringify(this.labelsFor(rule, o, want.nodata)),
        o.nodeId,
        o.serviceName,
        typeof o.value === 'number' ? o.value : null,
        now.toISOString(),
      ],
    );
    await recordTransition(tx, row!.id, null, status, now, 'evaluator', status === 'firing' ? (rule.for_seconds === 0 ? 'the condition holds (no for duration)' : 'the condition holds') : `the condition holds; firing after ${rule.for_seconds} s`);
    counters.transitions++;
    return row!;
  }

  private async refresh(tx: Queryable, ev: AlertEventRow, rule: AlertRuleRow, o: Observation, nodata: boolean): Promise<AlertEventRow> {
    return (await tx.queryOne<AlertEventRow>(
      `UPDATE alert_events SET message = $2, details = $3::text::jsonb, labels = $4::text::jsonb, value = $5, severity = $6 WHERE id = $1 RETURNING *`,
      [ev.id, o.message, JSON.stringify(o.details), JSON.stringify(this.labelsFor(rule, o, nodata)), typeof o.value === 'number' ? o.value : null, rule.severity],
    ))!;
  }

  private async setStatus(tx: Queryable, ev: AlertEventRow, to: EventStatus, now: Date, actor: string, reason: string, counters: RoundCounters, o?: Observation): Promise<AlertEventRow> {
    const row = await tx.queryOne<AlertEventRow>(
      `UPDATE alert_events SET status = $2,
         fired_at = CASE WHEN $2 = 'firing' AND fired_at IS NULL THEN $3::timestamptz ELSE fired_at END,
         acknowledged_at = CASE WHEN $2 = 'acknowledged' THEN $3::timestamptz ELSE acknowledged_at END,
         acknowledged_by = CASE WHEN $2 = 'acknowledged' THEN $4 ELSE acknowledged_by END,
         resolved_at = CASE WHEN $2 = 'resolved' THEN $3::timestamptz ELSE resolved_at END,
         message = COALESCE($5, message), details = COALESCE($6::text::jsonb, details), value = CASE WHEN $7::boolean THEN $8 ELSE value END
       WHERE id = $1 RETURNING *`,
      [ev.id, to, now.toISOString(), actor, o?.message ?? null, o ? JSON.stringify(o.details) : null, o !== undefined, typeof o?.value === 'number' ? o.value : null],
    );
    await recordTransition(tx, ev.id, ev.status, to, now, actor, reason);
    counters.transitions++;
    return row!;
  }

  private async resolveEvent(tx: Queryable, ev: AlertEventRow, rule: AlertRuleRow | null, now: Date, actor: string, reason: string, mutes: MuteState, counters: RoundCounters, o?: Observation): Promise<void> {
    const row = await this.setStatus(tx, ev, 'resolved', now, actor, reason, counters, o);
    // Alertmanager sends "resolved" only for alerts it told people about.
    if (ev.last_notified_at === null) return;
    const reached = (rule?.escalation ?? []).slice(0, ev.escalation_level).flatMap((s) => s.channelIds);
    const channels = [...new Set([...(rule ? rule.channels : await this.channelsOfService(ev.service_name)), ...reached])];
    await this.notify(tx, row, rule, now, mutes, counters, { reason: 'resolved' }, channels);
  }

  /** Channels told about a service alert: those configured for every service, and those its monitor names now. */
  private async channelsOfService(serviceName: string | null): Promise<number[]> {
    const own = serviceName && this.opts.probes ? ((await this.opts.probes.states()).find((s) => s.serviceName === serviceName)?.channelIds ?? []) : [];
    return [...new Set([...(this.opts.serviceChannels ?? []), ...own])];
  }

  /** Notices due for a firing event; without a rule (a service alert): the service channels, repeated every SERVICE_REPEAT_SECONDS, no escalation. */
  private async sendDue(tx: Queryable, ev: AlertEventRow, rule: AlertRuleRow | null, now: Date, mutes: MuteState, counters: RoundCounters): Promise<void> {
    const timing: RuleTiming = rule
      ? { forSeconds: rule.for_seconds, repeatIntervalSeconds: rule.repeat_interval_seconds, escalation: rule.escalation }
      : { forSeconds: 0, repeatIntervalSeconds: SERVICE_REPEAT_SECONDS, escalation: [] };
    for (const due of dueNotices(openOf(ev), timing, now)) {
      const channels = due.reason === 'escalation' ? due.step.channelIds : rule ? rule.channels : await this.channelsOfService(ev.service_name);
      const sent = await this.notify(tx, ev, rule, now, mutes, counters, due.reason === 'escalation' ? { reason: 'escalation', level: due.level } : { reason: due.reason }, channels);
      if (!sent && due.reason === 'escalation') break;
    }
  }

  /** Enqueues one notice unless something mutes it (then the event records what did). Returns whether it was enqueued. */
  private async notify(
    tx: Queryable,
    ev: AlertEventRow,
    rule: AlertRuleRow | null,
    now: Date,
    mutes: MuteState,
    counters: RoundCounters,
    what: { reason: 'fired' | 'repeat' | 'resolved' } | { reason: 'escalation'; level: number },
    channels: readonly number[],
    extraMutes: MutedBy[] = [],
  ): Promise<boolean> {
    const by = [...extraMutes, ...mutesOf(mutes, ev, rule, now)];
    if (by.length) {
      const known = new Set(ev.muted_by.map((m) => `${m.kind}:${m.id ?? ''}`));
      const fresh = by.filter((m) => !known.has(`${m.kind}:${m.id ?? ''}`));
      if (fresh.length) await tx.query(`UPDATE alert_events SET muted_by = muted_by || $2::text::jsonb WHERE id = $1`, [ev.id, JSON.stringify(fresh)]);
      counters.muted++;
      return false;
    }
    const notice: AlertNotice = {
      eventId: ev.id,
      fingerprint: ev.fingerprint,
      status: what.reason === 'resolved' ? 'resolved' : 'firing',
      reason: what.reason,
      ...(what.reason === 'escalation' ? { escalationLevel: what.level } : {}),
      alertName: ev.alert_name,
      severity: ev.severity,
      message: ev.message,
      labels: ev.labels,
      details: ev.details,
      startsAt: ev.fired_at ?? ev.created_at,
      endsAt: ev.resolved_at,
      ruleId: ev.rule_id,
      nodeId: ev.node_id,
      serviceName: ev.service_name,
    };
    if (this.opts.notifier) await this.opts.notifier.enqueue(tx, notice, channels);
    counters.notices++;
    if (what.reason === 'escalation') await tx.query('UPDATE alert_events SET notified = true, escalation_level = GREATEST(escalation_level, $2) WHERE id = $1', [ev.id, what.level]);
    else await tx.query('UPDATE alert_events SET notified = true, last_notified_at = $2 WHERE id = $1', [ev.id, now.toISOString()]);
    return true;
  }

  // ------------------------------------------------------------ people

  /** firing → acknowledged: no more repeats or escalation; it still resolves by itself. */
  async acknowledge(id: number, actor: string): Promise<AlertEvent & { transitions: AlertTransition[] }> {
    await this.stateTx(async (tx, now) => {
      const ev = await tx.queryOne<AlertEventRow>('SELECT * FROM alert_events WHERE id = $1 FOR UPDATE', [id]);
      if (!ev) throw new NotFoundError('ALERT_NOT_FOUND', `no alert ${id}`);
      if (ev.status === 'resolved') throw new ConflictError('ALERT_ALREADY_RESOLVED', `alert ${id} is resolved; there is nothing to acknowledge`);
      if (ev.status === 'pending') throw new ConflictError('ALERT_NOT_FIRING', `alert ${id} is pending; only a firing alert can be acknowledged`);
      if (ev.status === 'acknowledged') return;
      await this.setStatus(tx, ev, 'acknowledged', now, actor, 'acknowledged', { transitions: 0, notices: 0, muted: 0 });
    });
    return this.events.get(id);
  }

  /** Resolves by hand (the evaluator opens a new event if the condition still holds). */
  async resolve(id: number, actor: string): Promise<AlertEvent & { transitions: AlertTransition[] }> {
    await this.stateTx(async (tx, now) => {
      const ev = await tx.queryOne<AlertEventRow>('SELECT * FROM alert_events WHERE id = $1 FOR UPDATE', [id]);
      if (!ev) throw new NotFoundError('ALERT_NOT_FOUND', `no alert ${id}`);
      if (ev.status === 'resolved') throw new ConflictError('ALERT_ALREADY_RESOLVED', `alert ${id} is already resolved`);
      const rule = ev.rule_id ? await tx.queryOne<AlertRuleRow>('SELECT * FROM alert_rules WHERE id = $1', [ev.rule_id]) : null;
      await this.resolveEvent(tx, ev, rule, now, actor, 'resolved by hand', await loadMutes(tx, now), { transitions: 0, notices: 0, muted: 0 });
    });
    return this.events.get(id);
  }

  // ------------------------------------------------------------ service sink

  async serviceStateChanged(change: ServiceStateChange): Promise<void> {
    await this.stateTx(async (tx, now) => {
      const mutes = await loadMutes(tx, now);
      const counters: RoundCounters = { transitions: 0, notices: 0, muted: 0 };
      const wantType = change.to === 'down' ? 'service_down' : change.to === 'degraded' ? 'service_degraded' : null;
      const open = await tx.queryMany<AlertEventRow>(`SELECT * FROM alert_events WHERE service_name = $1 AND rule_id IS NULL AND status <> 'resolved' FOR UPDATE`, [change.serviceName]);
      for (const ev of open) {
        if (ev.alert_type === wantType) continue;
        await this.resolveEvent(tx, ev, null, change.at, 'probe', change.to === 'healthy' ? 'recovery' : `the service is ${change.to} now`, mutes, counters);
      }
      if (!wantType) return;
      const fp = fingerprintOf(`service:${change.serviceName}`, { service: change.serviceName, alert_type: wantType });
      const labels = { ...change.labels, alertname: wantType === 'service_down' ? 'ServiceDown' : 'ServiceDegraded', service: change.serviceName, severity: change.to === 'down' ? 'critical' : 'warning' };
      const existing = open.find((e) => e.alert_type === wantType);
      if (existing) {
        await tx.query('UPDATE alert_events SET message = $2, details = $3::text::jsonb WHERE id = $1', [existing.id, change.message, JSON.stringify(change.details)]);
        return;
      }
      const recent = await this.events.findRecentByService(change.serviceName, wantType, this.opts.serviceDedupMinutes ?? 10, now, tx);
      const row = (await tx.queryOne<AlertEventRow>(
        `INSERT INTO alert_events (service_name, fingerprint, alert_type, alert_name, severity, status, message, details, labels, created_at, fired_at)
         VALUES ($1, $2, $3, $4, $5, 'firing', $6, $7::text::jsonb, $8::text::jsonb, $9, $9) RETURNING *`,
        [change.serviceName, fp, wantType, `${change.serviceName} ${change.to}`, labels.severity, change.message, JSON.stringify(change.details), JSON.stringify(labels), change.at.toISOString()],
      ))!;
      await recordTransition(tx, row.id, null, 'firing', change.at, 'probe', `${change.from ?? 'unknown'} → ${change.to}`);
      const dedup: MutedBy[] = recent ? [{ kind: 'dedup', id: recent.id, at: now.toISOString() }] : [];
      const channels = [...new Set([...(this.opts.serviceChannels ?? []), ...(change.channelIds ?? [])])];
      const sent = await this.notify(tx, row, null, now, mutes, counters, { reason: 'fired' }, channels, dedup);
      // A deduplicated event counts as told: the earlier event's notice covered it, so its recovery is announced.
      if (!sent && recent) await tx.query('UPDATE alert_events SET last_notified_at = $2 WHERE id = $1', [row.id, now.toISOString()]);
    });
  }

  // ------------------------------------------------------------ silences

  async listSilences(page: number, pageSize: number, activeOnly: boolean): Promise<Page<Silence>> {
    const now = this.clock.now().toISOString();
    const where = activeOnly ? 'WHERE ends_at > $3::timestamptz' : 'WHERE $3::text IS NOT NULL';
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM alert_silences ${where.replace('$3', '$1')}`, [now]))?.n ?? 0;
    const rows = await this.db.queryMany<AlertSilenceRow>(`SELECT * FROM alert_silences ${where} ORDER BY starts_at DESC, id DESC LIMIT $1 OFFSET $2`, [pageSize, (page - 1) * pageSize, now]);
    return pageResult(rows.map(toSilence), total, page, pageSize);
  }

  async getSilence(id: number): Promise<Silence> {
    const r = await this.db.queryOne<AlertSilenceRow>('SELECT * FROM alert_silences WHERE id = $1', [id]);
    if (!r) throw new NotFoundError('SILENCE_NOT_FOUND', `no silence ${id}`);
    return toSilence(r);
  }

  async createSilence(input: SilenceInput, author: string): Promise<Silence> {
    const v = this.checkSilence(input);
    const r = await this.db.queryOne<AlertSilenceRow>(
      'INSERT INTO alert_silences (matchers, starts_at, ends_at, created_by, comment, created_at) VALUES ($1::text::jsonb, $2, $3, $4, $5, $6) RETURNING *',
      [JSON.stringify(input.matchers), v.startsAt.toISOString(), v.endsAt.toISOString(), author, input.comment ?? '', this.clock.now().toISOString()],
    );
    return toSilence(r!);
  }

  async replaceSilence(id: number, input: SilenceInput): Promise<Silence> {
    const v = this.checkSilence(input);
    const r = await this.db.queryOne<AlertSilenceRow>('UPDATE alert_silences SET matchers = $2::text::jsonb, starts_at = $3, ends_at = $4, comment = $5 WHERE id = $1 RETURNING *', [
      id,
      JSON.stringify(input.matchers),
      v.startsAt.toISOString(),
      v.endsAt.toISOString(),
      input.comment ?? '',
    ]);
    if (!r) throw new NotFoundError('SILENCE_NOT_FOUND', `no silence ${id}`);
    return toSilence(r);
  }

  async deleteSilence(id: number): Promise<void> {
    const r = await this.db.queryOne('DELETE FROM alert_silences WHERE id = $1 RETURNING id', [id]);
    if (!r) throw new NotFoundError('SILENCE_NOT_FOUND', `no silence ${id}`);
  }

  private checkSilence(input: SilenceInput): { startsAt: Date; endsAt: Date } {
    const issues: FieldIssue[] = [];
    input.matchers.forEach((m, i) => {
      if (m.op === '=~' || m.op === '!~') {
        try {
          new RegExp(`^(?:${m.value})$`);
        } catch (err) {
          issues.push({ path: `matchers.${i}.value`, message: `not a regular expression: ${(err as Error).message}` });
        }
      }
    });
    if (!issues.length && input.matchers.every((m) => (m.op === '=' && m.value === '') || (m.op === '=~' && new RegExp(`^(?:${m.value})$`).test('')))) {
      issues.push({ path: 'matchers', message: 'the matchers match every alert; at least one must need a non-empty label' });
    }
    const startsAt = input.startsAt ? new Date(input.startsAt) : this.clock.now();
    const endsAt = new Date(input.endsAt);
    if (endsAt.getTime() <= startsAt.getTime()) issues.push({ path: 'endsAt', message: 'must be after startsAt' });
    if (issues.length) throw new InvalidError('SILENCE_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
    return { startsAt, endsAt };
  }

  // ------------------------------------------------------------ maintenance windows

  async listWindows(page: number, pageSize: number): Promise<Page<MaintenanceWindow>> {
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM alert_maintenance_windows'))?.n ?? 0;
    const rows = await this.db.queryMany<AlertMaintenanceWindowRow>('SELECT * FROM alert_maintenance_windows ORDER BY id LIMIT $1 OFFSET $2', [pageSize, (page - 1) * pageSize]);
    const now = this.clock.now();
    return pageResult(rows.map((r) => toWindow(r, now)), total, page, pageSize);
  }

  async getWindow(id: number): Promise<MaintenanceWindow> {
    const r = await this.db.queryOne<AlertMaintenanceWindowRow>('SELECT * FROM alert_maintenance_windows WHERE id = $1', [id]);
    if (!r) throw new NotFoundError('MAINTENANCE_WINDOW_NOT_FOUND', `no maintenance window ${id}`);
    return toWindow(r, this.clock.now());
  }

  async createWindow(input: WindowInput, author: string): Promise<MaintenanceWindow> {
    checkWindow(input);
    const r = await this.db.queryOne<AlertMaintenanceWindowRow>(
      `INSERT INTO alert_maintenance_windows (name, node_ids, services, recurrence, starts_at, ends_at, start_time, duration_minutes, weekdays, time_zone, created_by, comment, created_at)
       VALUES ($1, $2::text[], $3::text[], $4, $5, $6, $7, $8, $9::int[], $10, $11, $12, $13) RETURNING *`,
      [...windowParams(input), author, input.comment ?? '', this.clock.now().toISOString()],
    );
    return toWindow(r!, this.clock.now());
  }

  async replaceWindow(id: number, input: WindowInput): Promise<MaintenanceWindow> {
    checkWindow(input);
    const r = await this.db.queryOne<AlertMaintenanceWindowRow>(
      `UPDATE alert_maintenance_windows SET name = $1, node_ids = $2::text[], services = $3::text[], recurrence = $4, starts_at = $5, ends_at = $6, start_time = $7, duration_minutes = $8,
         weekdays = $9::int[], time_zone = $10, comment = $11 WHERE id = $12 RETURNING *`,
      [...windowParams(input), input.comment ?? '', id],
    );
    if (!r) throw new NotFoundError('MAINTENANCE_WINDOW_NOT_FOUND', `no maintenance window ${id}`);
    return toWindow(r, this.clock.now());
  }

  async deleteWindow(id: number): Promise<void> {
    const r = await this.db.queryOne('DELETE FROM alert_maintenance_windows WHERE id = $1 RETURNING id', [id]);
    if (!r) throw new NotFoundError('MAINTENANCE_WINDOW_NOT_FOUND', `no maintenance window ${id}`);
  }
}

const openOf = (e: AlertEventRow): OpenEvent => ({
  status: e.status as OpenEvent['status'],
  createdAt: e.created_at,
  firedAt: e.fired_at,
  lastNotifiedAt: e.last_notified_at,
  escalationLevel: e.escalation_level,
});

function ruleParams(i: RuleInput): unknown[] {
  return [
    i.name,
    i.description,
    i.severity,
    JSON.stringify(i.condition),
    i.forSeconds,
    i.scope.kind,
    i.scope.values,
    i.noDataPolicy,
    i.channels,
    JSON.stringify(i.escalation),
    i.repeatIntervalSeconds,
    JSON.stringify(i.labels),
    i.enabled,
  ];
}

export interface SilenceInput {
  matchers: SilenceMatcher[];
  startsAt?: string | undefined;
  endsAt: string;
  comment?: string | undefined;
}

export interface Silence {
  id: number;
  matchers: SilenceMatcher[];
  startsAt: string;
  endsAt: string;
  createdBy: string;
  comment: string;
  createdAt: string;
}

const toSilence = (r: AlertSilenceRow): Silence => ({
  id: r.id,
  matchers: r.matchers,
  startsAt: r.starts_at.toISOString(),
  endsAt: r.ends_at.toISOString(),
  createdBy: r.created_by,
  comment: r.comment,
  createdAt: r.created_at.toISOString(),
});

export interface WindowInput {
  name: string;
  nodeIds: string[];
  services: string[];
  recurrence: Recurrence;
  startsAt: string;
  endsAt?: string | null | undefined;
  startTime?: string | null | undefined;
  durationMinutes?: number | null | undefined;
  weekdays: number[];
  timeZone: string;
  comment?: string | undefined;
}

export interface MaintenanceWindow extends Omit<WindowInput, 'endsAt' | 'startTime' | 'durationMinutes' | 'comment'> {
  id: number;
  endsAt: string | null;
  startTime: string | null;
  durationMinutes: number | null;
  comment: string;
  createdBy: string;
  createdAt: string;
  /** In force now (the server clock). */
  active: boolean;
}

function checkWindow(w: WindowInput): void {
  const issues: FieldIssue[] = [];
  if (!w.nodeIds.length && !w.services.length) issues.push({ path: 'nodeIds', message: 'name at least one node or service' });
  if (!isValidTimeZone(w.timeZone)) issues.push({ path: 'timeZone', message: `unknown time zone ${JSON.stringify(w.timeZone)}` });
  if (w.endsAt && new Date(w.endsAt).getTime() <= new Date(w.startsAt).getTime()) issues.push({ path: 'endsAt', message: 'must be after startsAt' });
  if (w.recurrence === 'none') {
    if (!w.endsAt) issues.push({ path: 'endsAt', message: 'a one-off window needs an end' });
  } else {
    if (!w.startTime) issues.push({ path: 'startTime', message: `a ${w.recurrence} window needs a start time (HH:MM in its time zone)` });
    if (!w.durationMinutes) issues.push({ path: 'durationMinutes', message: `a ${w.recurrence} window needs a duration` });
    if (w.recurrence === 'weekly' && !w.weekdays.length) issues.push({ path: 'weekdays', message: 'a weekly window needs weekdays (0 = Sunday … 6)' });
  }
  if (issues.length) throw new InvalidError('MAINTENANCE_WINDOW_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

const windowParams = (w: WindowInput): unknown[] => [
  w.name,
  w.nodeIds,
  w.services,
  w.recurrence,
  new Date(w.startsAt).toISOString(),
  w.endsAt ? new Date(w.endsAt).toISOString() : null,
  w.recurrence === 'none' ? null : (w.startTime ?? null),
  w.recurrence === 'none' ? null : (w.durationMinutes ?? null),
  w.recurrence === 'weekly' ? w.weekdays : [],
  w.timeZone,
];

const toWindow = (r: AlertMaintenanceWindowRow, now: Date): MaintenanceWindow => ({
  id: r.id,
  name: r.name,
  nodeIds: r.node_ids,
  services: r.services,
  recurrence: r.recurrence,
  startsAt: r.starts_at.toISOString(),
  endsAt: isoOrNull(r.ends_at),
  startTime: r.start_time,
  durationMinutes: r.duration_minutes,
  weekdays: r.weekdays,
  timeZone: r.time_zone,
  comment: r.comment,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  active: windowActive(r, now),
});
