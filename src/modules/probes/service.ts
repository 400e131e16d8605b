/**
 * Monitored services (the `monitors` table), their checks
 * (`service_health_checks`, the service-health seed's model: create with
 * validation, latest by service, list with filters, delete older than N days),
 * the confirmed state kept on the monitor row, heartbeats, uptime and latency
 * statistics and the health overview. Framework-free; domain errors only.
 *
 * Every write is a short transaction: the scheduler (scheduler.ts) holds no
 * transaction while a probe waits on the network.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError, RateLimitedError, type FieldIssue } from '../../domain/errors.ts';
import { FailureWindow, type LimitRule } from '../../domain/failure-window.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from '../auth/users.ts';
import type { ProbeStateSource, ServiceStateChange } from '../alerts/contracts.ts';
import { MONITOR_NAME_MAX, SERVICE_STATUSES, type DnsRecordType, type MonitorKind, type MonitorRow, type ServiceHealthCheckRow, type ServiceStatus } from './schema.ts';
import { nextState, type ProbeState } from './state.ts';
import { targetIssues } from './targets.ts';

/** Checks older than this many days are deleted by the retention job. */
export const CHECK_RETENTION_DAYS = 30;
/** Default and largest page of the check list. */
export const CHECKS_DEFAULT_LIMIT = 100;
export const CHECKS_MAX_LIMIT = 1000;
/**
 * A check is stored at most this long after its probe ran (the probe timeout
 * is at most 60 s): range queries on `checked_at` are also bounded on
 * `created_at` by it, so they use the (service_name, created_at) index.
 */
export const CHECK_STORE_LAG_MS = 5 * 60_000;

/** The configuration of a monitored service, as the API takes it. */
export interface MonitorInput {
  name: string;
  kind: MonitorKind;
  target?: string | undefined;
  intervalSeconds?: number | undefined;
  timeoutMs?: number | undefined;
  enabled?: boolean | undefined;
  labels?: Record<string, string> | undefined;
  acceptedStatuses?: string | undefined;
  maxRedirects?: number | undefined;
  bodyKeyword?: string | null | undefined;
  jsonPath?: string | null | undefined;
  jsonValue?: string | null | undefined;
  degradedAboveMs?: number | null | undefined;
  dnsRecordType?: DnsRecordType | null | undefined;
  dnsExpected?: string | null | undefined;
  dnsServer?: string | null | undefined;
  certMinDays?: number | null | undefined;
  tlsAllowSelfSigned?: boolean | undefined;
  heartbeatGraceSeconds?: number | undefined;
  /** Notification channels told about this service's alerts. */
  channelIds?: readonly number[] | undefined;
  failureThreshold?: number | undefined;
  successThreshold?: number | undefined;
}

export interface Monitor {
  id: number;
  name: string;
  kind: MonitorKind;
  target: string;
  intervalSeconds: number;
  timeoutMs: number;
  enabled: boolean;
  labels: Record<string, string>;
  acceptedStatuses: string;
  maxRedirects: number;
  bodyKeyword: string | null;
  jsonPath: string | null;
  jsonValue: string | null;
  degradedAboveMs: number | null;
  dnsRecordType: DnsRecordType | null;
  dnsExpected: string | null;
  dnsServer: string | null;
  certMinDays: number | null;
  tlsAllowSelfSigned: boolean;
  heartbeatGraceSeconds: number;
  channelIds: number[];
  failureThreshold: number;
  successThreshold: number;
  state: {
    status: ServiceStatus | 'unknown';
    since: string | null;
    consecutiveFailures: number;
    consecutiveSuccesses: number;
    lastCheckedAt: string | null;
    lastPingAt: string | null;
  };
  createdAt: string;
  updatedAt: string;
}

/** A monitor as created or with a new heartbeat token: the token is shown this once. */
export interface MonitorWithToken extends Monitor {
  heartbeatToken?: string;
}

export interface HealthCheck {
  id: string;
  serviceName: string;
  status: ServiceStatus;
  latencyMs: number | null;
  checkedAt: string;
  errorMessage: string | null;
  probeDetails: Record<string, unknown> | null;
  createdAt: string;
}

/** The seed's CreateHealthCheckData. */
export interface CreateHealthCheckData {
  serviceName: string;
  status: ServiceStatus;
  latencyMs?: number | null | undefined;
  checkedAt?: Date | undefined;
  errorMessage?: string | null | undefined;
  probeDetails?: Record<string, unknown> | null | undefined;
}

/** What one probe run found. */
export interface ProbeResult {
  status: ServiceStatus;
  latencyMs: number | null;
  error: string | null;
  details: Record<string, unknown>;
}

export interface UptimeStats {
  serviceName: string;
  from: string;
  to: string;
  checks: number;
  healthy: number;
  degraded: number;
  down: number;
  /** Share of checks that were not down, in percent; null without checks. */
  uptimePercent: number | null;
  /** Over the checks that were not down (a failed probe's time says little about the service's speed). */
  latencyMs: { avg: number | null; p50: number | null; p95: number | null; p99: number | null };
}

export interface OverviewEntry {
  id: number;
  name: string;
  kind: MonitorKind;
  enabled: boolean;
  labels: Record<string, string>;
  status: ServiceStatus | 'unknown';
  since: string | null;
  uptime: { h24: number | null; d7: number | null; d30: number | null };
  lastCheck: HealthCheck | null;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);
const notFound = (id: number) => new NotFoundError('MONITOR_NOT_FOUND', `no monitored service ${id}`);
const nameTaken = (name: string) => new ConflictError('MONITOR_NAME_TAKEN', `a monitored service named ${JSON.stringify(name)} exists already`);

export function toMonitor(r: MonitorRow): Monitor {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    target: r.target,
    intervalSeconds: r.interval_seconds,
    timeoutMs: r.timeout_ms,
    enabled: r.enabled,
    labels: r.labels,
    acceptedStatuses: r.accepted_statuses,
    maxRedirects: r.max_redirects,
    bodyKeyword: r.body_keyword,
    jsonPath: r.json_path,
    jsonValue: r.json_value,
    degradedAboveMs: r.degraded_above_ms,
    dnsRecordType: r.dns_record_type,
    dnsExpected: r.dns_expected,
    dnsServer: r.dns_server,
    certMinDays: r.cert_min_days,
    tlsAllowSelfSigned: r.tls_allow_self_signed,
    heartbeatGraceSeconds: r.heartbeat_grace_seconds,
    channelIds: r.channel_ids,
    failureThreshold: r.failure_threshold,
    successThreshold: r.success_threshold,
    state: {
      status: r.status ?? 'unknown',
      since: iso(r.status_since),
      consecutiveFailures: r.consecutive_failures,
      consecutiveSuccesses: r.consecutive_successes,
      lastCheckedAt: iso(r.last_checked_at),
      lastPingAt: iso(r.last_ping_at),
    },
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

interface CheckRowOut extends ServiceHealthCheckRow {
  created_us?: string;
}

export function toCheck(r: CheckRowOut): HealthCheck {
  return {
    id: r.id,
    serviceName: r.service_name,
    status: r.status,
    latencyMs: r.latency_ms,
    checkedAt: (r.checked_at ?? r.created_at ?? new Date(0)).toISOString(),
    errorMessage: r.error_message,
    probeDetails: r.probe_details,
    createdAt: (r.created_at ?? r.checked_at ?? new Date(0)).toISOString(),
  };
}

/** Heartbeat tokens: `hb_` + 32 random bytes (256 bits), base64url; only their SHA-256 is stored. */
export const HEARTBEAT_TOKEN_PATTERN = /^hb_[A-Za-z0-9_-]{43}$/;
const newHeartbeatToken = (): string => `hb_${randomBytes(32).toString('base64url')}`;
const tokenHash = (token: string): string => createHash('sha256').update(token).digest('hex');

/** The monitor's configuration columns from an input, with the kind's defaults. */
function columnsOf(input: MonitorInput): Record<string, unknown> {
  const heartbeat = input.kind === 'heartbeat';
  return {
    name: input.name,
    kind: input.kind,
    target: heartbeat ? (input.target ?? 'push') : input.target,
    interval_seconds: input.intervalSeconds ?? 60,
    timeout_ms: input.timeoutMs ?? 10_000,
    enabled: input.enabled ?? true,
    labels: JSON.stringify(input.labels ?? {}),
    accepted_statuses: input.acceptedStatuses ?? '200-299',
    max_redirects: input.maxRedirects ?? 5,
    body_keyword: input.bodyKeyword ?? null,
    json_path: input.jsonPath ?? null,
    json_value: input.jsonValue ?? null,
    degraded_above_ms: input.degradedAboveMs ?? null,
    dns_record_type: input.dnsRecordType ?? null,
    dns_expected: input.dnsExpected ?? null,
    dns_server: input.dnsServer ?? null,
    cert_min_days: input.certMinDays ?? null,
    tls_allow_self_signed: input.tlsAllowSelfSigned ?? false,
    heartbeat_grace_seconds: input.heartbeatGraceSeconds ?? 0,
    channel_ids: `{${[...new Set(input.channelIds ?? [])].join(',')}}`,
    // A heartbeat's window is its tolerance already: one missed window is down, one ping is up again.
    failure_threshold: input.failureThreshold ?? (heartbeat ? 1 : 3),
    success_threshold: input.successThreshold ?? (heartbeat ? 1 : 2),
  };
}

function validate(input: MonitorInput): void {
  const issues: FieldIssue[] = [];
  const name = input.name.trim();
  if (name.length === 0 || name.length > MONITOR_NAME_MAX) issues.push({ path: 'name', message: `1 to ${MONITOR_NAME_MAX} characters` });
  if (input.kind !== 'heartbeat' && !input.target) issues.push({ path: 'target', message: `a ${input.kind} monitor needs a target` });
  if (input.intervalSeconds !== undefined && input.intervalSeconds < 10) issues.push({ path: 'intervalSeconds', message: 'at least 10 seconds' });
  if (issues.length === 0 && (input.kind === 'heartbeat' || input.target))
    issues.push(
      ...targetIssues({
        kind: input.kind,
        target: input.target ?? 'push',
        acceptedStatuses: input.acceptedStatuses,
        jsonPath: input.jsonPath,
        jsonValue: input.jsonValue,
        dnsRecordType: input.dnsRecordType,
        dnsServer: input.dnsServer,
        intervalSeconds: input.intervalSeconds ?? 60,
        timeoutMs: input.timeoutMs ?? 10_000,
      }),
    );
  if (issues.length) throw new InvalidError('MONITOR_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

const stateOf = (r: MonitorRow): ProbeState => ({
  status: r.status,
  since: r.status_since,
  consecutiveFailures: r.consecutive_failures,
  consecutiveSuccesses: r.consecutive_successes,
  lastResult: r.last_result,
  resultStreak: r.result_streak,
});

/** When a heartbeat monitor must next be looked at: the end of its window, or one interval from now when that has passed. */
function heartbeatDue(r: Pick<MonitorRow, 'last_ping_at' | 'created_at' | 'interval_seconds' | 'heartbeat_grace_seconds'>, now: Date): Date {
  const end = (r.last_ping_at ?? r.created_at).getTime() + (r.interval_seconds + r.heartbeat_grace_seconds) * 1000 + 1;
  return new Date(end > now.getTime() ? end : now.getTime() + r.interval_seconds * 1000);
}

/** A heartbeat monitor's result at `now`: healthy while the last ping (or the creation) is within interval + grace. */
export function heartbeatResult(r: Pick<MonitorRow, 'last_ping_at' | 'created_at' | 'interval_seconds' | 'heartbeat_grace_seconds'>, now: Date): ProbeResult {
  const windowMs = (r.interval_seconds + r.heartbeat_grace_seconds) * 1000;
  const last = r.last_ping_at;
  const ageMs = last ? now.getTime() - last.getTime() : null;
  if (last && ageMs !== null && ageMs <= windowMs) return { status: 'healthy', latencyMs: null, error: null, details: { lastPingAt: last.toISOString(), windowSeconds: windowMs / 1000 } };
  const error = last ? `no heartbeat for ${Math.round((ageMs ?? 0) / 1000)} s (window ${windowMs / 1000} s)` : `no heartbeat received since the monitor was created (window ${windowMs / 1000} s)`;
  return { status: 'down', latencyMs: null, error, details: { lastPingAt: iso(last), windowSeconds: windowMs / 1000 } };
}

export interface ProbeStoreOptions {
  db: Database;
  clock: Clock;
  /** Unknown heartbeat tokens one client address may send before it is refused for a while (default 30 in 10 minutes). */
  heartbeatFailures?: LimitRule | undefined;
}

/** Heartbeat tokens are credentials on a public route: a client that keeps guessing is refused before any database work. */
export const DEFAULT_HEARTBEAT_FAILURES: LimitRule = { max: 30, windowMs: 10 * 60_000 };

export class ProbeStore implements ProbeStateSource {
  private readonly db: Database;
  private readonly clock: Clock;
  private readonly heartbeatFailures: FailureWindow;

  constructor(opts: ProbeStoreOptions) {
    this.db = opts.db;
    this.clock = opts.clock;
    this.heartbeatFailures = new FailureWindow(opts.heartbeatFailures ?? DEFAULT_HEARTBEAT_FAILURES, 100_000, () => this.clock.now().getTime());
  }

  // ---- monitors ----

  async list(opts: { page: number; pageSize: number; kind?: MonitorKind | undefined }): Promise<Page<Monitor>> {
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM monitors WHERE ($1::text IS NULL OR kind = $1)', [opts.kind ?? null]))?.n ?? 0;
    const rows = await this.db.queryMany<MonitorRow>('SELECT * FROM monitors WHERE ($1::text IS NULL OR kind = $1) ORDER BY name, id LIMIT $2 OFFSET $3', [
      opts.kind ?? null,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return pageResult(rows.map(toMonitor), total, opts.page, opts.pageSize);
  }

  async row(id: number, q: Queryable = this.db, lock = false): Promise<MonitorRow> {
    const r = await q.queryOne<MonitorRow>(`SELECT * FROM monitors WHERE id = $1${lock ? ' FOR UPDATE' : ''}`, [id]);
    if (!r) throw notFound(id);
    return r;
  }

  async get(id: number): Promise<Monitor> {
    return toMonitor(await this.row(id));
  }

  async create(input: MonitorInput): Promise<MonitorWithToken> {
    validate(input);
    const cols = columnsOf({ ...input, name: input.name.trim() });
    const now = this.clock.now();
    const token = input.kind === 'heartbeat' ? newHeartbeatToken() : null;
    const names = Object.keys(cols);
    const values = Object.values(cols);
    try {
      const row = await this.db.transaction(async (tx) => {
        const r = await tx.queryOne<MonitorRow>(
          `INSERT INTO monitors (${names.join(', ')}, heartbeat_token_hash, created_at, updated_at)
           VALUES (${names.map((n, i) => (n === 'labels' ? `$${i + 1}::text::jsonb` : n === 'channel_ids' ? `$${i + 1}::text::integer[]` : `$${i + 1}`)).join(', ')}, $${names.length + 1}, $${names.length + 2}, $${names.length + 2})
           RETURNING *`,
          [...values, token ? tokenHash(token) : null, now.toISOString()],
        );
        // A heartbeat monitor is first looked at when its first window ends (or at its first ping).
        if (r!.kind === 'heartbeat') return (await tx.queryOne<MonitorRow>('UPDATE monitors SET next_due_at = $2 WHERE id = $1 RETURNING *', [r!.id, heartbeatDue(r!, now).toISOString()]))!;
        return r!;
      });
      return token ? { ...toMonitor(row), heartbeatToken: token } : toMonitor(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(cols.name as string);
      throw err;
    }
  }

  /**
   * Replaces the configuration. The confirmed state and its counters stay
   * (a changed target is probed at the next scheduler run); a rename renames
   * the service's stored checks too. A monitor that becomes a heartbeat
   * monitor gets a new token (returned this once); one that stops being one
   * loses its token.
   */
  async replace(id: number, input: MonitorInput): Promise<MonitorWithToken> {
    validate(input);
    const cols = columnsOf({ ...input, name: input.name.trim() });
    const now = this.clock.now();
    try {
      const { row, token } = await this.db.transaction(async (tx) => {
        const old = await this.row(id, tx, true);
        const token = input.kind === 'heartbeat' && !old.heartbeat_token_hash ? newHeartbeatToken() : null;
        const names = Object.keys(cols);
        const sets = names.map((n, i) => `${n} = ${n === 'labels' ? `$${i + 2}::text::jsonb` : n === 'channel_ids' ? `$${i + 2}::text::integer[]` : `$${i + 2}`}`);
        const p = names.length + 2;
        const r = await tx.queryOne<MonitorRow>(
          `UPDATE monitors SET ${sets.join(', ')}, updated_at = $${p}, next_due_at = NULL, heartbeat_token_hash = $${p + 1}
           WHERE id = $1 RETURNING *`,
          // A monitor that stops being a heartbeat monitor loses its token (it does not come back with the kind).
          [id, ...Object.values(cols), now.toISOString(), input.kind !== 'heartbeat' ? null : token ? tokenHash(token) : old.heartbeat_token_hash],
        );
        if (old.name !== r!.name) {
          await tx.query('UPDATE service_health_checks SET service_name = $2 WHERE service_name = $1', [old.name, r!.name]);
          await tx.query('UPDATE service_health_hourly SET service_name = $2 WHERE service_name = $1', [old.name, r!.name]);
        }
        const row = r!.kind === 'heartbeat' ? (await tx.queryOne<MonitorRow>('UPDATE monitors SET next_due_at = $2 WHERE id = $1 RETURNING *', [id, heartbeatDue(r!, now).toISOString()]))! : r!;
        return { row, token };
      });
      return token ? { ...toMonitor(row), heartbeatToken: token } : toMonitor(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(cols.name as string);
      throw err;
    }
  }

  /** Deletes the monitor and its stored checks (a new monitor of the same name starts with an empty history). */
  async remove(id: number): Promise<void> {
    await this.db.transaction(async (tx) => {
      const r = await tx.queryOne<{ name: string }>('DELETE FROM monitors WHERE id = $1 RETURNING name', [id]);
      if (!r) throw notFound(id);
      await tx.query('DELETE FROM service_health_checks WHERE service_name = $1', [r.name]);
      await tx.query('DELETE FROM service_health_hourly WHERE service_name = $1', [r.name]);
    });
  }

  /** A new heartbeat token for a heartbeat monitor; the previous one stops working at once. */
  async rotateHeartbeatToken(id: number): Promise<MonitorWithToken> {
    const token = newHeartbeatToken();
    const row = await this.db.transaction(async (tx) => {
      const m = await this.row(id, tx, true);
      if (m.kind !== 'heartbeat') throw new ConflictError('MONITOR_NOT_HEARTBEAT', `monitored service ${id} is a ${m.kind} monitor; only heartbeat monitors have a token`);
      return (await tx.queryOne<MonitorRow>('UPDATE monitors SET heartbeat_token_hash = $2, updated_at = $3 WHERE id = $1 RETURNING *', [id, tokenHash(token), this.clock.now().toISOString()]))!;
    });
    return { ...toMonitor(row), heartbeatToken: token };
  }

  /**
   * A heartbeat ping. A monitor that is down (or has no state yet) is looked
   * at by the next scheduler run, so it comes back without waiting a window.
   */
  /** Records a heartbeat. `client` (the client address) counts unknown tokens: too many → RateLimitedError, before any lookup. */
  async ping(token: string, client: string | null = null): Promise<{ serviceName: string; receivedAt: string }> {
    const wait = client === null ? 0 : this.heartbeatFailures.retryAfterSeconds(client);
    if (wait > 0) throw new RateLimitedError('HEARTBEAT_RATE_LIMITED', `too many unknown heartbeat tokens from this address; retry in ${wait} s`, wait);
    const now = this.clock.now();
    const r = HEARTBEAT_TOKEN_PATTERN.test(token)
      ? await this.db.queryOne<{ name: string }>(
          `UPDATE monitors SET last_ping_at = $2,
             next_due_at = CASE WHEN status IS DISTINCT FROM 'healthy' THEN $2 ELSE next_due_at END
           WHERE heartbeat_token_hash = $1 AND kind = 'heartbeat' RETURNING name`,
          [tokenHash(token), now.toISOString()],
        )
      : null;
    if (!r) {
      if (client !== null) this.heartbeatFailures.fail(client);
      throw new NotFoundError('HEARTBEAT_NOT_FOUND', 'no heartbeat monitor has this token');
    }
    return { serviceName: r.name, receivedAt: now.toISOString() };
  }

  /** ProbeStateSource: the confirmed state of every enabled monitor. */
  async states(): Promise<{ serviceName: string; status: ServiceStatus | 'unknown'; since: Date | null; labels: Record<string, string>; channelIds: number[] }[]> {
    const rows = await this.db.queryMany<Pick<MonitorRow, 'name' | 'status' | 'status_since' | 'labels' | 'channel_ids'>>(
      'SELECT name, status, status_since, labels, channel_ids FROM monitors WHERE enabled ORDER BY name',
    );
    return rows.map((r) => ({ serviceName: r.name, status: r.status ?? 'unknown', since: r.status_since, labels: r.labels, channelIds: r.channel_ids }));
  }

  // ---- scheduling ----

  /**
   * Claims the enabled monitors due at `now` (one short transaction): each
   * gets its next due time, so another run does not pick it again. Heartbeat
   * monitors are due at the end of their window.
   */
  async claimDue(now: Date, limit: number): Promise<MonitorRow[]> {
    return this.db.transaction(async (tx) => {
      const due = await tx.queryMany<MonitorRow>(
        `SELECT * FROM monitors WHERE enabled AND (next_due_at IS NULL OR next_due_at <= $1)
         ORDER BY next_due_at NULLS FIRST, id LIMIT $2 FOR UPDATE SKIP LOCKED`,
        [now.toISOString(), limit],
      );
      for (const m of due) {
        // Heartbeat monitors get the end of their window when their result is recorded.
        await tx.query('UPDATE monitors SET next_due_at = $2 WHERE id = $1', [m.id, new Date(now.getTime() + m.interval_seconds * 1000).toISOString()]);
      }
      return due;
    });
  }

  /**
   * Records one probe result of a monitor (one short transaction): the check
   * row, the hourly counts and the monitor's state and counters. A heartbeat
   * monitor's result is decided here, on the locked row, so a ping that
   * arrived meanwhile counts. Returns the stored check and the confirmed
   * change, if any (the caller tells the alert sink after the commit).
   */
  async recordResult(monitorId: number, result: ProbeResult | null, checkedAt: Date): Promise<{ check: HealthCheck; change: ServiceStateChange | null } | null> {
    const now = this.clock.now();
    return this.db.transaction(async (tx) => {
      const m = await tx.queryOne<MonitorRow>('SELECT * FROM monitors WHERE id = $1 FOR UPDATE', [monitorId]);
      if (!m) return null; // deleted while its probe ran
      const r = m.kind === 'heartbeat' ? heartbeatResult(m, checkedAt) : result;
      if (!r) return null;
      const check = await this.insertCheck(tx, { serviceName: m.name, status: r.status, latencyMs: r.latencyMs, checkedAt, errorMessage: r.error, probeDetails: r.details }, now);
      const t = nextState(stateOf(m), r.status, checkedAt, { failureThreshold: m.failure_threshold, successThreshold: m.success_threshold });
      const s = t.state;
      const nextDue = m.kind === 'heartbeat' ? heartbeatDue(m, checkedAt) : null;
      await tx.query(
        `UPDATE monitors SET status = $2, status_since = $3, consecutive_failures = $4, consecutive_successes = $5,
           last_result = $6, result_streak = $7, last_checked_at = $8, next_due_at = COALESCE($9, next_due_at)
         WHERE id = $1`,
        [m.id, s.status, iso(s.since), s.consecutiveFailures, s.consecutiveSuccesses, s.lastResult, s.resultStreak, checkedAt.toISOString(), iso(nextDue)],
      );
      const change: ServiceStateChange | null = t.changed
        ? { serviceName: m.name, from: t.changed.from, to: t.changed.to, at: checkedAt, message: r.error ?? `${m.name} is ${t.changed.to}`, details: { ...r.details, latencyMs: r.latencyMs, kind: m.kind, target: m.target }, labels: m.labels, channelIds: m.channel_ids }
        : null;
      return { check, change };
    });
  }

  // ---- checks (the seed's HealthCheckModel) ----

  /** Stores a check after validating it (service name 1–100 characters, a known status, checked_at not after now and at most CHECK_STORE_LAG_MS before). */
  async createCheck(data: CreateHealthCheckData): Promise<HealthCheck> {
    return this.db.transaction((tx) => this.insertCheck(tx, data, this.clock.now()));
  }

  private async insertCheck(tx: Queryable, data: CreateHealthCheckData, now: Date): Promise<HealthCheck> {
    const issues: FieldIssue[] = [];
    if (data.serviceName.trim().length === 0 || data.serviceName.length > MONITOR_NAME_MAX) issues.push({ path: 'serviceName', message: `1 to ${MONITOR_NAME_MAX} characters` });
    if (!(SERVICE_STATUSES as readonly string[]).includes(data.status)) issues.push({ path: 'status', message: `one of ${SERVICE_STATUSES.join(', ')}` });
    if (data.latencyMs != null && !(Number.isInteger(data.latencyMs) && data.latencyMs >= 0 && data.latencyMs <= 2_147_483_647)) issues.push({ path: 'latencyMs', message: 'a whole number of milliseconds ≥ 0' });
    const checkedAt = data.checkedAt ?? now;
    if (checkedAt.getTime() > now.getTime() || now.getTime() - checkedAt.getTime() > CHECK_STORE_LAG_MS)
      issues.push({ path: 'checkedAt', message: `when the probe ran: not after now and at most ${CHECK_STORE_LAG_MS / 60_000} minutes before` });
    if (issues.length) throw new InvalidError('HEALTH_CHECK_INVALID', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
    const row = await tx.queryOne<ServiceHealthCheckRow>(
      `INSERT INTO service_health_checks (service_name, status, latency_ms, checked_at, error_message, probe_details, created_at)
       VALUES ($1, $2, $3, $4, $5, $6::text::jsonb, $7) RETURNING *`,
      [data.serviceName, data.status, data.latencyMs ?? null, checkedAt.toISOString(), data.errorMessage ?? null, data.probeDetails ? JSON.stringify(data.probeDetails) : null, now.toISOString()],
    );
    await tx.query(
      `INSERT INTO service_health_hourly (service_name, hour, ${data.status}) VALUES ($1, date_trunc('hour', $2::timestamptz), 1)
       ON CONFLICT (service_name, hour) DO UPDATE SET ${data.status} = service_health_hourly.${data.status} + 1`,
      [data.serviceName, checkedAt.toISOString()],
    );
    return toCheck(row!);
  }

  /**
   * The latest check of a service by checked_at (when the probe ran), or null.
   * A check is stored at most CHECK_STORE_LAG_MS after it ran, so only the
   * checks stored that long before the newest one can be it: the
   * (service_name, created_at) index finds them.
   */
  async latestByService(serviceName: string): Promise<HealthCheck | null> {
    const r = await this.db.queryOne<ServiceHealthCheckRow>(
      `SELECT * FROM service_health_checks
       WHERE service_name = $1
         AND created_at >= (SELECT max(created_at) FROM service_health_checks WHERE service_name = $1) - $2 * interval '1 millisecond'
       ORDER BY checked_at DESC, created_at DESC LIMIT 1`,
      [serviceName, CHECK_STORE_LAG_MS],
    );
    return r ? toCheck(r) : null;
  }

  /**
   * Checks of a service, newest first (by created_at, then id), with optional
   * status and checked_at range filters; `limit` (default 100) per page and an
   * opaque `cursor` for the next page.
   */
  async listChecks(
    serviceName: string,
    f: { status?: ServiceStatus | undefined; from?: Date | undefined; to?: Date | undefined; limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<{ items: HealthCheck[]; next: string | null }> {
    const limit = Math.min(f.limit ?? CHECKS_DEFAULT_LIMIT, CHECKS_MAX_LIMIT);
    let after: { us: string; id: string } | null = null;
    if (f.cursor) {
      const m = /^(\d{1,16}):([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/.exec(Buffer.from(f.cursor, 'base64url').toString());
      if (!m) throw new InvalidError('INVALID_CURSOR', 'the cursor (query parameter `cursor`) is not one this list returned');
      after = { us: m[1]!, id: m[2]! };
    }
    const rows = await this.db.queryMany<CheckRowOut>(
      `SELECT *, (extract(epoch FROM created_at) * 1000000)::bigint::text AS created_us FROM service_health_checks
       WHERE service_name = $1
         AND ($2::text IS NULL OR status = $2)
         AND ($3::timestamptz IS NULL OR (checked_at >= $3 AND created_at >= $3))
         AND ($4::timestamptz IS NULL OR (checked_at < $4 AND created_at < $4::timestamptz + $7 * interval '1 millisecond'))
         AND ($5::bigint IS NULL OR (created_at, id) < (to_timestamp($5::bigint / 1000000.0), $6::uuid))
       ORDER BY created_at DESC, id DESC LIMIT $8`,
      [serviceName, f.status ?? null, iso(f.from ?? null), iso(f.to ?? null), after?.us ?? null, after?.id ?? null, CHECK_STORE_LAG_MS, limit + 1],
    );
    const more = rows.length > limit;
    const page = more ? rows.slice(0, limit) : rows;
    const last = page[page.length - 1];
    return { items: page.map(toCheck), next: more && last ? Buffer.from(`${last.created_us}:${last.id}`).toString('base64url') : null };
  }

  /** Checks of one monitor (404 for an unknown id). */
  async checksOf(id: number, f: Parameters<ProbeStore['listChecks']>[1]): Promise<{ items: HealthCheck[]; next: string | null }> {
    const m = await this.row(id);
    return this.listChecks(m.name, f);
  }

  /**
   * Deletes checks stored more than `days` days before now, in batches of
   * `batch` rows (each its own statement, so no single statement holds
   * locks on a whole day of checks), and the hourly counts older than that.
   */
  async deleteOlderThan(days: number, batch = 10_000): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - days * 86_400_000).toISOString();
    let deleted = 0;
    for (;;) {
      const r = await this.db.query(
        'DELETE FROM service_health_checks WHERE id IN (SELECT id FROM service_health_checks WHERE created_at < $1 ORDER BY created_at LIMIT $2)',
        [cutoff, batch],
      );
      deleted += r.rowCount ?? 0;
      if ((r.rowCount ?? 0) < batch) break;
    }
    await this.db.query("DELETE FROM service_health_hourly WHERE hour < date_trunc('hour', $1::timestamptz)", [cutoff]);
    return deleted;
  }

  // ---- statistics ----

  /**
   * Uptime and latency of one service over [from, to) by checked_at — the
   * documented query of docs/probes.md. Uptime is the share of checks that
   * were not down (degraded is up, slower); latency percentiles are nearest
   * rank (`percentile_disc`, an observed value) over the checks that were not
   * down and carry a latency. Default range: the 24 hours before now.
   */
  async uptime(id: number, fromIn?: Date, toIn?: Date): Promise<UptimeStats> {
    const to = toIn ?? this.clock.now();
    const from = fromIn ?? new Date(to.getTime() - 86_400_000);
    if (to.getTime() <= from.getTime()) throw new InvalidError('INVALID_RANGE', 'the query parameter `to` must be after `from`');
    const m = await this.row(id);
    const r = await this.db.queryOne<{ total: number; healthy: number; degraded: number; down: number; avg_ms: number | null; pcts: number[] | null }>(
      `SELECT count(*)::int AS total,
              count(*) FILTER (WHERE status = 'healthy')::int AS healthy,
              count(*) FILTER (WHERE status = 'degraded')::int AS degraded,
              count(*) FILTER (WHERE status = 'down')::int AS down,
              (avg(latency_ms) FILTER (WHERE status <> 'down'))::float8 AS avg_ms,
              percentile_disc(ARRAY[0.5, 0.95, 0.99]) WITHIN GROUP (ORDER BY latency_ms) FILTER (WHERE status <> 'down') AS pcts
       FROM service_health_checks
       WHERE service_name = $1 AND checked_at >= $2 AND checked_at < $3
         AND created_at >= $2 AND created_at < $3::timestamptz + $4 * interval '1 millisecond'`,
      [m.name, from.toISOString(), to.toISOString(), CHECK_STORE_LAG_MS],
    );
    const c = r ?? { total: 0, healthy: 0, degraded: 0, down: 0, avg_ms: null, pcts: null };
    const p = c.pcts ?? [];
    return {
      serviceName: m.name,
      from: from.toISOString(),
      to: to.toISOString(),
      checks: c.total,
      healthy: c.healthy,
      degraded: c.degraded,
      down: c.down,
      uptimePercent: uptimePercent(c),
      latencyMs: { avg: c.avg_ms === null ? null : Math.round(c.avg_ms * 100) / 100, p50: p[0] ?? null, p95: p[1] ?? null, p99: p[2] ?? null },
    };
  }

  /**
   * Every monitored service with its confirmed state, uptime over the last
   * 24 h, 7 d and 30 d (from the hourly counts: the current hour and the 23,
   * 167, 719 before it) and its latest check.
   */
  async overview(): Promise<OverviewEntry[]> {
    const now = this.clock.now().toISOString();
    const rows = await this.db.queryMany<
      MonitorRow & { h24: Counts; d7: Counts; d30: Counts; last: ServiceHealthCheckRow | null }
    >(
      `SELECT m.*,
         json_build_object('healthy', coalesce(h.h24_up, 0), 'degraded', 0, 'down', coalesce(h.h24_down, 0)) AS h24,
         json_build_object('healthy', coalesce(h.d7_up, 0), 'degraded', 0, 'down', coalesce(h.d7_down, 0)) AS d7,
         json_build_object('healthy', coalesce(h.d30_up, 0), 'degraded', 0, 'down', coalesce(h.d30_down, 0)) AS d30,
         (SELECT row_to_json(c) FROM (SELECT * FROM service_health_checks c
            WHERE c.service_name = m.name
              AND c.created_at >= (SELECT max(created_at) FROM service_health_checks WHERE service_name = m.name) - $2 * interval '1 millisecond'
            ORDER BY c.checked_at DESC, c.created_at DESC LIMIT 1) c) AS last
       FROM monitors m
       LEFT JOIN LATERAL (
         SELECT sum(healthy + degraded) FILTER (WHERE hour > t.now - interval '24 hours')::int AS h24_up,
                sum(down) FILTER (WHERE hour > t.now - interval '24 hours')::int AS h24_down,
                sum(healthy + degraded) FILTER (WHERE hour > t.now - interval '7 days')::int AS d7_up,
                sum(down) FILTER (WHERE hour > t.now - interval '7 days')::int AS d7_down,
                sum(healthy + degraded)::int AS d30_up,
                sum(down)::int AS d30_down
         FROM (SELECT date_trunc('hour', $1::timestamptz) AS now) t, service_health_hourly s
         WHERE s.service_name = m.name AND s.hour > t.now - interval '30 days' AND s.hour <= t.now
       ) h ON true
       ORDER BY m.name`,
      [now, CHECK_STORE_LAG_MS],
    );
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      kind: r.kind,
      enabled: r.enabled,
      labels: r.labels,
      status: r.status ?? 'unknown',
      since: iso(r.status_since),
      uptime: { h24: uptimePercent(r.h24), d7: uptimePercent(r.d7), d30: uptimePercent(r.d30) },
      lastCheck: r.last ? toCheck(jsonCheck(r.last)) : null,
    }));
  }
}

interface Counts {
  healthy: number;
  degraded: number;
  down: number;
}

/** Percent of checks that were not down, rounded to 3 decimals; null without checks. */
export function uptimePercent(c: Counts): number | null {
  const total = c.healthy + c.degraded + c.down;
  return total === 0 ? null : Math.round(((c.healthy + c.degraded) / total) * 100_000) / 1000;
}

/** A check row that came back through row_to_json (timestamps as text). */
function jsonCheck(r: ServiceHealthCheckRow): ServiceHealthCheckRow {
  const t = (v: unknown) => (v === null || v === undefined ? null : new Date(v as string));
  return { ...r, checked_at: t(r.checked_at), created_at: t(r.created_at) };
}
