/**
 * Mail delivery analytics over email_events: delivery outcomes and rates over time and
 * per group, bounce analysis, message tracing and destinations (recipient domains, MX
 * hosts). Time-bounded always. Two sources:
 * - the rollups, through StreamStore.stats (its planner picks the rollup and level from the
 *   dimensions asked and the window; nothing here chooses a rollup), for everything grouped
 *   by rollup dimensions (event type, sender and recipient domain, node, sending IP, MX host,
 *   reply code, enhanced status, bounce category); whole-window answers are stitched from
 *   daily and hourly buckets (ADR 0025);
 * - the raw events, for what no rollup keeps (one Message-ID, and any answer filtered by a
 *   dimension its rollups lack), over a window of at
 *   most the stream's list window (31 days), through the indexes on message_id, to_domain and
 *   event_type.
 * Framework-free; refusals are domain errors.
 */
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { InvalidError, NotFoundError } from '../../domain/errors.ts';
import { intervalSeconds, type RollupLevel } from '../../timeseries/family.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { Stream } from '../../timeseries/stream.ts';
import { microsIso } from '../../timeseries/ingest.ts';

export const OUTCOMES = ['delivered', 'bounced', 'deferred', 'rejected'] as const;
/** Rollup dimensions analytics may group by (every one is in at least one rollup). */
export const BREAKDOWN_DIMENSIONS = ['sendingIp', 'fromDomain', 'mtaNode', 'toDomain', 'fromUser'] as const;
export type BreakdownDimension = (typeof BREAKDOWN_DIMENSIONS)[number];
export const BREAKDOWN_SORTS = ['events', 'delivered', 'bounced', 'deferred', 'rejected', 'bounceRate'] as const;
export type BreakdownSort = (typeof BREAKDOWN_SORTS)[number];

export type Filters = Readonly<Record<string, readonly string[]>>;

/** A breakdown's p95 is merged in two halves of its page, side by side, from this many groups on. */
export const P95_SPLIT_GROUPS = 20;

/** Counts per event type of a group, and the outcome rates (null without outcomes). */
export interface Outcomes {
  events: number;
  sent: number;
  received: number;
  delivered: number;
  bounced: number;
  deferred: number;
  rejected: number;
  /** delivered + bounced + deferred + rejected: the denominator of the rates. */
  outcomes: number;
  deliveredRate: number | null;
  bouncedRate: number | null;
  deferredRate: number | null;
  rejectedRate: number | null;
}

function emptyCounts(): Record<string, number> {
  return { events: 0, sent: 0, received: 0, delivered: 0, bounced: 0, deferred: 0, rejected: 0 };
}

/** Adds the rates; rounding to 6 digits keeps answers stable across tiers. */
export function withRates(c: Record<string, number>): Outcomes {
  const outcomes = OUTCOMES.reduce((s, o) => s + (c[o] ?? 0), 0);
  const rate = (n: number) => (outcomes === 0 ? null : Math.round((n / outcomes) * 1e6) / 1e6);
  return {
    events: c.events ?? 0,
    sent: c.sent ?? 0,
    received: c.received ?? 0,
    delivered: c.delivered ?? 0,
    bounced: c.bounced ?? 0,
    deferred: c.deferred ?? 0,
    rejected: c.rejected ?? 0,
    outcomes,
    deliveredRate: rate(c.delivered ?? 0),
    bouncedRate: rate(c.bounced ?? 0),
    deferredRate: rate(c.deferred ?? 0),
    rejectedRate: rate(c.rejected ?? 0),
  };
}

/**
 * Adds a stats answer's rows (`eventCount` per `eventType`) into counts per group: `key` names a
 * row's group (undefined leaves the row out), `types` keeps only these event types.
 */
function tally<K>(rows: readonly Record<string, unknown>[], key: (b: Record<string, unknown>) => K | undefined, types?: readonly string[]): Map<K, Record<string, number>> {
  const groups = new Map<K, Record<string, number>>();
  for (const b of rows) {
    const type = b.eventType as string;
    if (types && !types.includes(type)) continue;
    const k = key(b);
    if (k === undefined) continue;
    let c = groups.get(k);
    if (!c) groups.set(k, (c = emptyCounts()));
    const n = Number(b.eventCount);
    c.events! += n;
    c[type] = (c[type] ?? 0) + n;
  }
  return groups;
}

/** rawGroups' order: most events first, then by value, no value last. */
function byEventsThenValue<K extends string | number | null>([a, x]: [K, Record<string, number>], [b, y]: [K, Record<string, number>]): number {
  return y.events! - x.events! || (a === null ? (b === null ? 0 : 1) : b === null ? -1 : a < b ? -1 : a > b ? 1 : 0);
}

export interface Window {
  from: Date;
  to: Date;
}

export interface TimelineQuery extends Window {
  resolution?: RollupLevel | 'auto';
  groupBy?: BreakdownDimension | undefined;
  filters?: Filters;
}

export interface BreakdownQuery extends Window {
  by: BreakdownDimension;
  filters?: Filters;
  sort?: BreakdownSort;
  limit?: number;
}

/** One group of a breakdown: the dimension's value under its field name, outcomes, and the p95 where asked. */
export type BreakdownItem = Outcomes & { p95DeliveryMs?: number | null } & Record<string, unknown>;

export type TraceEvent = {
  timestamp: string;
  eventId: string;
  eventType: string;
  mtaNode: string | null;
  queueId: string | null;
  fromAddress: string | null;
  toAddress: string | null;
  toDomain: string | null;
  mxHost: string | null;
  sendingIp: string | null;
  statusCode: number | null;
  statusMessage: string | null;
  bounceType: string | null;
  bounceCategory: string | null;
  bounceMessage: string | null;
  deliveryTimeMs: number | null;
};

/** A Message-ID as stored: `<left@right>`, no blanks or angle brackets inside. */
export const MESSAGE_ID = /^<[^<>\s@]{1,900}@[^<>\s@]{1,253}>$/;

const OUTCOME_SQL = (dt = 'delivery_time_ms') =>
  [
    'count(*)::bigint AS events',
    ...['sent', 'received', ...OUTCOMES].map((t) => `count(*) FILTER (WHERE event_type = '${t}')::bigint AS ${t}`),
    `percentile_disc(0.95) WITHIN GROUP (ORDER BY ${dt}) FILTER (WHERE event_type = 'delivered') AS p95_delivery_ms`,
  ].join(', ');

export interface MailAnalyticsOptions {
  db: Database;
  streams: StreamStore;
  clock: Clock;
}

export class MailAnalytics {
  private readonly db: Database;
  private readonly streams: StreamStore;
  readonly clock: Clock;
  readonly stream: Stream;
  /** Longest window read from the raw events (seconds). */
  readonly rawWindowSeconds: number;

  constructor(opts: MailAnalyticsOptions) {
    this.db = opts.db;
    this.streams = opts.streams;
    this.clock = opts.clock;
    this.stream = opts.streams.stream('email');
    this.rawWindowSeconds = intervalSeconds(this.stream.decl.maxListWindow);
  }

  /** The default window: the `days` before now (or before `to`). */
  window(from: Date | undefined, to: Date | undefined, defaultSeconds: number): Window {
    const end = to ?? (from ? new Date(from.getTime() + defaultSeconds * 1000) : this.clock.now());
    const start = from ?? new Date(end.getTime() - defaultSeconds * 1000);
    if (!(end.getTime() > start.getTime())) throw new InvalidError('INVALID_TIME_RANGE', '`to` must be after `from`', [{ path: 'to', message: 'must be after `from`' }]);
    return { from: start, to: end };
  }

  private rawWindow(w: Window): void {
    if (!(w.to.getTime() > w.from.getTime())) throw new InvalidError('INVALID_TIME_RANGE', '`to` must be after `from`', [{ path: 'to', message: 'must be after `from`' }]);
    if ((w.to.getTime() - w.from.getTime()) / 1000 > this.rawWindowSeconds) {
      const days = Math.round(this.rawWindowSeconds / 86400);
      throw new InvalidError('WINDOW_TOO_LARGE', `this answer reads raw events: a window of at most ${days} days`, [{ path: 'from', message: `window longer than ${days} days` }], { maxSeconds: this.rawWindowSeconds });
    }
  }

  /** Outcome counts and rates per bucket (and per group), from the rollup the stats planner picks. */
  async timeline(q: TimelineQuery) {
    const groupBy = q.groupBy ? [q.groupBy, 'eventType'] : ['eventType'];
    // One row per bucket (and group) with the count of each event type.
    const st = await this.streams.stats('email', { from: q.from, to: q.to, resolution: q.resolution ?? 'auto', groupBy, spread: 'eventType', measures: ['eventCount'], filters: q.filters ?? {} });
    const rows = st.buckets.map((b) => {
      const byType = b.eventCount as Record<string, number>;
      const counts = emptyCounts();
      for (const t in byType) {
        counts.events! += byType[t]!;
        counts[t] = (counts[t] ?? 0) + byType[t]!;
      }
      return { bucket: b.bucket as string, group: q.groupBy ? b[q.groupBy] : undefined, counts };
    });
    return {
      rollup: st.rollup,
      resolution: st.resolution,
      requestedResolution: st.requestedResolution,
      from: st.from,
      to: st.to,
      groupBy: q.groupBy ?? null,
      buckets: rows.map((e) => ({ bucket: e.bucket, ...(q.groupBy ? { [q.groupBy]: e.group ?? null } : {}), ...withRates(e.counts) })),
      truncated: st.truncated,
    };
  }

  /** Totals per value of one dimension over the whole window (merged in SQL), sorted, at most `limit`. */
  async breakdown(q: Omit<BreakdownQuery, 'by'> & { by: BreakdownDimension | 'mxHost'; p95?: boolean; resolution?: RollupLevel | 'auto' }) {
    const st = await this.streams.stats('email', {
      from: q.from,
      to: q.to,
      resolution: q.resolution ?? 'auto',
      groupBy: [q.by, 'eventType'],
      measures: ['eventCount'],
      filters: q.filters ?? {},
      collapse: true,
    });
    const groups = tally(st.buckets, (b) => (b[q.by] === null || b[q.by] === undefined ? undefined : String(b[q.by])));
    const sort = q.sort ?? 'events';
    const rows = [...groups.entries()].map(([value, g]) => ({ value, outcomes: withRates(g) }));
    const sortKey = (x: Outcomes) => (sort === 'bounceRate' ? (x.bouncedRate ?? -1) : x[sort]);
    rows.sort((a, b) => sortKey(b.outcomes) - sortKey(a.outcomes) || (a.value < b.value ? -1 : 1));
    const limit = q.limit ?? 100;
    const page = rows.slice(0, limit);
    // The p95 of the delivered events, for the groups of the page only: a histogram merge per
    // rollup row costs far more than a count, and most groups of a long tail are not shown.
    const p95 = new Map<string, number | null>();
    const types = q.filters?.eventType;
    if (q.p95 && page.length > 0 && (types === undefined || types.includes('delivered'))) {
      // In two halves of the page, asked together: each merge runs in its own database backend
      // (two cores instead of one; one after the other when the pool has one connection free).
      const values = page.map((r) => r.value);
      const halves = values.length >= P95_SPLIT_GROUPS ? [values.slice(0, Math.ceil(values.length / 2)), values.slice(Math.ceil(values.length / 2))] : [values];
      const answers = await Promise.all(
        halves.map((groups) =>
          this.streams.stats('email', {
            from: q.from,
            to: q.to,
            resolution: q.resolution ?? 'auto',
            groupBy: [q.by],
            measures: ['p95DeliveryMs'],
            filters: { ...q.filters, [q.by]: groups, eventType: ['delivered'] },
            collapse: true,
          }),
        ),
      );
      for (const d of answers) for (const b of d.buckets) p95.set(String(b[q.by]), (b.p95DeliveryMs ?? null) as number | null);
    }
    const items: BreakdownItem[] = page.map((r) => ({ [q.by]: r.value, ...r.outcomes, ...(q.p95 ? { p95DeliveryMs: p95.get(r.value) ?? null } : {}) }) as BreakdownItem);
    return {
      rollup: st.rollup,
      resolution: st.resolution,
      from: st.from,
      to: st.to,
      by: q.by,
      sort,
      total: rows.length,
      items,
      truncated: st.truncated,
    };
  }

  /** WHERE terms of dimension filters on the raw events (values already validated by the route). */
  private rawTerms(filters: Filters | undefined, p: (v: unknown) => string): string[] {
    const terms: string[] = [];
    for (const [field, values] of Object.entries(filters ?? {})) {
      const c = this.stream.dimensions.find((d) => d.field === field);
      if (!c) throw new InvalidError('UNKNOWN_DIMENSION', `${field} is not a dimension of email events`, [{ path: field, message: 'unknown dimension' }]);
      const type = c.type === 'double' ? 'double precision' : c.type;
      terms.push(`${c.name} = ANY(${p(values.map((v) => (c.lowercase ? v.toLowerCase() : v)))}::${type}[])`);
    }
    return terms;
  }

  /** Outcome counts and exact p95 delivery time per value of a raw SQL expression. */
  private async rawGroups(w: Window, expr: string, filters: Filters | undefined, extra: string[], values: unknown[], limit: number) {
    this.rawWindow(w);
    const params: unknown[] = [...values];
    const p = (v: unknown) => {
      params.push(v);
      return `$${params.length}`;
    };
    const where = [`time >= ${p(w.from.toISOString())}::timestamptz`, `time < ${p(w.to.toISOString())}::timestamptz`, ...extra, ...this.rawTerms(filters, p)];
    const rows = await this.db.queryMany<Record<string, unknown>>(
      `SELECT ${expr} AS g, ${OUTCOME_SQL()} FROM email_events WHERE ${where.join(' AND ')} GROUP BY 1 ORDER BY events DESC, 1 LIMIT ${limit + 1}`,
      params,
    );
    const truncated = rows.length > limit;
    if (truncated) rows.length = limit;
    return {
      truncated,
      groups: rows.map((r) => {
        const c = emptyCounts();
        for (const k of Object.keys(c)) c[k] = Number(r[k]);
        return { value: r.g as string | number | null, ...withRates(c), p95DeliveryMs: r.p95_delivery_ms === null || r.p95_delivery_ms === undefined ? null : Number(r.p95_delivery_ms) };
      }),
    };
  }

  /**
   * Why mail did not get through: the top recipient domains by bounces (rollups), and over
   * the raw bounced / deferred / rejected events, groups by SMTP code class (4xx, 5xx), by
   * enhanced status code (RFC 3463, read from the reply text) and by bounce category.
   */
  async bounceAnalysis(q: Window & { filters?: Filters; limit?: number }) {
    this.rawWindow(q);
    const limit = q.limit ?? 20;
    const failed = `event_type = ANY('{bounced,deferred,rejected}'::text[])`;
    // independent reads: in parallel on a pooled driver (PGlite runs them one after another)
    // from the failure rollups when every filter is one of their dimensions, else from the raw events
    const fromRollup = this.rollupFits(['statusCode', 'enhancedStatus', 'bounceCategory', 'eventType', ...Object.keys(q.filters ?? {})]);
    const [top, codeClass, enhanced, category] = await Promise.all([
      this.breakdown({ from: q.from, to: q.to, by: 'toDomain', filters: q.filters ?? {}, sort: 'bounced', limit }),
      fromRollup
        ? this.failureGroups(q, 'statusCode', (code) => (code === null ? null : `${Math.floor(Number(code) / 100)}xx`), 10)
        : this.rawGroups(q, `CASE WHEN status_code IS NULL THEN NULL ELSE (status_code / 100)::text || 'xx' END`, q.filters, [failed], [], 10),
      fromRollup ? this.failureGroups(q, 'enhancedStatus', (c) => (c === null ? null : String(c)), limit) : this.rawGroups(q, 'enhanced_status', q.filters, [failed], [], limit),
      fromRollup ? this.failureGroups(q, 'bounceCategory', (c) => (c === null ? null : String(c)), 20) : this.rawGroups(q, `bounce_category`, q.filters, [failed], [], 20),
    ]);
    const failedOnly = (x: { value: unknown; bounced: number; deferred: number; rejected: number }) => ({ bounced: x.bounced, deferred: x.deferred, rejected: x.rejected, total: x.bounced + x.deferred + x.rejected });
    return {
      from: q.from.toISOString(),
      to: q.to.toISOString(),
      topDomains: top.items.filter((i) => i.bounced > 0).map((i) => ({ toDomain: i.toDomain as string, bounced: i.bounced, outcomes: i.outcomes, bouncedRate: i.bouncedRate })),
      topDomainsRollup: top.rollup,
      byCodeClass: codeClass.groups.map((g) => ({ codeClass: g.value as string | null, ...failedOnly(g) })),
      byEnhancedStatus: enhanced.groups.map((g) => ({ enhancedStatus: g.value as string | null, statusClass: typeof g.value === 'string' ? `${g.value[0]}.x.x` : null, ...failedOnly(g) })),
      byCategory: category.groups.map((g) => ({ bounceCategory: g.value as string | null, ...failedOnly(g) })),
    };
  }

  /** Whether one rollup has every one of these dimensions (camelCase fields). */
  private rollupFits(fields: readonly string[]): boolean {
    const cols = fields.map((f) => this.stream.dimensions.find((d) => d.field === f)?.name);
    return cols.every((c) => c !== undefined) && this.stream.rollups.some((r) => cols.every((c) => r.groupBy.includes(c!)));
  }

  /**
   * Bounced, deferred and rejected counts over the window per value of `key(dimension)`, from
   * the rollups (merged over the window), in the order of rawGroups: most first, then by
   * value, no value last; at most `limit`.
   */
  private async failureGroups(q: Window & { filters?: Filters }, dimension: string, key: (v: unknown) => string | null, limit: number) {
    const st = await this.streams.stats('email', { from: q.from, to: q.to, groupBy: [dimension, 'eventType'], measures: ['eventCount'], filters: q.filters ?? {}, collapse: true });
    const groups = tally(st.buckets, (b) => key(b[dimension] ?? null), ['bounced', 'deferred', 'rejected']);
    const rows = [...groups.entries()].sort(byEventsThenValue);
    return { truncated: rows.length > limit, groups: rows.slice(0, limit).map(([value, c]) => ({ value, ...withRates(c), p95DeliveryMs: null })) };
  }

  /**
   * One recipient domain's events per value of `key` over the window, from the rollups (merged
   * over the window, stitched across levels): counts and rates of every group, in rawGroups'
   * order (most events first, then by value, no value last), at most `limit`; the p95 delivery
   * time from the merged histograms of the delivered events (within the histogram's bound).
   */
  private async detailGroups(q: Window & { filters?: Filters }, domain: string, fields: string[], key: (b: Record<string, unknown>) => string | number | null, limit: number) {
    const filters = { ...q.filters, toDomain: [domain] };
    const [counts, delivered] = await Promise.all([
      this.streams.stats('email', { from: q.from, to: q.to, groupBy: [...fields, 'eventType'], measures: ['eventCount'], filters, collapse: true }),
      q.filters?.eventType && !q.filters.eventType.includes('delivered')
        ? null
        : this.streams.stats('email', { from: q.from, to: q.to, groupBy: fields, measures: ['p95DeliveryMs'], filters: { ...filters, eventType: ['delivered'] }, collapse: true }),
    ]);
    const groups = tally(counts.buckets, key);
    const p95 = new Map<string | number | null, number | null>();
    for (const b of delivered?.buckets ?? []) p95.set(key(b), b.p95DeliveryMs === null || b.p95DeliveryMs === undefined ? null : Number(b.p95DeliveryMs));
    const rows = [...groups.entries()].sort(byEventsThenValue);
    return { truncated: rows.length > limit, groups: rows.slice(0, limit).map(([value, c]) => ({ value, ...withRates(c), p95DeliveryMs: p95.get(value) ?? null })) };
  }

  /** Every event of one Message-ID in [from, to), in time order, across nodes. */
  async trace(messageId: string, w: Window, limit = 1000) {
    if (!MESSAGE_ID.test(messageId)) throw new InvalidError('INVALID_MESSAGE_ID', 'not a Message-ID: <left@right>', [{ path: 'messageId', message: 'not a Message-ID' }]);
    this.rawWindow(w);
    // Planned with its values every time: a prepared statement's sixth run would build a generic
    // plan over every daily partition of the retention (180), ~120–290 ms once per connection.
    const rows = await this.db.transaction(async (tx) => {
      await tx.exec('SET LOCAL plan_cache_mode = force_custom_plan');
      return tx.queryMany<Record<string, unknown>>(
      `SELECT (extract(epoch FROM time) * 1000000)::bigint AS time_us, event_id::text AS event_id, event_type, mta_node, queue_id, from_address, to_address, to_domain, mx_host,
              host(coalesce(sending_ip, sending_ip_v6)) AS sending_ip, status_code, status_message, bounce_type, bounce_category, bounce_message, delivery_time_ms
         FROM email_events WHERE message_id = $1 AND time >= $2::timestamptz AND time < $3::timestamptz
        ORDER BY time, event_id LIMIT ${limit + 1}`,
      [messageId, w.from.toISOString(), w.to.toISOString()],
      );
    });
    const truncated = rows.length > limit;
    if (truncated) rows.length = limit;
    const n = (v: unknown) => (v === null || v === undefined ? null : Number(v));
    const s = (v: unknown) => (v === null || v === undefined ? null : String(v));
    const events: TraceEvent[] = rows.map((r) => ({
      timestamp: microsIso(Number(r.time_us)),
      eventId: String(r.event_id),
      eventType: String(r.event_type),
      mtaNode: s(r.mta_node),
      queueId: s(r.queue_id),
      fromAddress: s(r.from_address),
      toAddress: s(r.to_address),
      toDomain: s(r.to_domain),
      mxHost: s(r.mx_host),
      sendingIp: s(r.sending_ip),
      statusCode: n(r.status_code),
      statusMessage: s(r.status_message),
      bounceType: s(r.bounce_type),
      bounceCategory: s(r.bounce_category),
      bounceMessage: s(r.bounce_message),
      deliveryTimeMs: n(r.delivery_time_ms),
    }));
    return { messageId, from: w.from.toISOString(), to: w.to.toISOString(), nodes: [...new Set(events.map((e) => e.mtaNode).filter((x): x is string => x !== null))], events, truncated };
  }

  /** Recipient domains: outcomes, rates and p95 delivery time (hourly rollup, merged histograms). */
  async destinations(q: Window & { filters?: Filters; sort?: BreakdownSort; limit?: number }) {
    const r = await this.breakdown({ from: q.from, to: q.to, by: 'toDomain', filters: q.filters ?? {}, sort: q.sort ?? 'events', limit: q.limit ?? 100, p95: true, resolution: '1h' });
    const items = r.items.map((i) => ({ ...i, toDomain: String(i.toDomain), p95DeliveryMs: i.p95DeliveryMs ?? null }));
    return { rollup: r.rollup, from: r.from, to: r.to, sort: r.sort, total: r.total, items, truncated: r.truncated };
  }

  /** One recipient domain: its totals, and its SMTP codes, MX hosts and sending IPs (destination-detail rollups; raw events when a filter does not fit them). */
  async destination(domain: string, q: Window & { filters?: Filters }) {
    this.rawWindow(q);
    const d = domain.toLowerCase();
    const summary = await this.destinations({ from: q.from, to: q.to, filters: { ...q.filters, toDomain: [d] }, limit: 1 });
    const item = summary.items[0];
    if (!item) throw new NotFoundError('DESTINATION_NOT_FOUND', `no events to ${d} in [${q.from.toISOString()}, ${q.to.toISOString()})`);
    const dom = `to_domain = $1`;
    // From the destination-detail rollups (read by recipient domain) when every filter is one of
    // their dimensions; else from the raw events.
    const detail = (fields: string[], raw: string, key: (b: Record<string, unknown>) => string | number | null) =>
      this.rollupFits([...fields, 'toDomain', 'eventType', ...Object.keys(q.filters ?? {})])
        ? this.detailGroups(q, d, fields, key, 100)
        : this.rawGroups(q, raw, q.filters, [dom], [d], 100);
    const [codes, mx, ips] = await Promise.all([
      detail(['statusCode'], 'status_code', (b) => (b.statusCode === null || b.statusCode === undefined ? null : Number(b.statusCode))),
      detail(['mxHost'], 'mx_host', (b) => (b.mxHost ?? null) as string | null),
      detail(['sendingIp', 'sendingIpV6'], 'host(coalesce(sending_ip, sending_ip_v6))', (b) => (b.sendingIp ?? b.sendingIpV6 ?? null) as string | null),
    ]);
    const strip = ({ value: _v, ...rest }: { value: unknown } & Outcomes & { p95DeliveryMs: number | null }) => rest;
    return {
      toDomain: d,
      from: summary.from,
      to: summary.to,
      rollup: summary.rollup,
      summary: { ...item, toDomain: d },
      byStatusCode: codes.groups.map((g) => ({ statusCode: g.value === null ? null : Number(g.value), ...strip(g) })),
      byMxHost: mx.groups.map((g) => ({ mxHost: g.value as string | null, ...strip(g) })),
      bySendingIp: ips.groups.map((g) => ({ sendingIp: g.value as string | null, ...strip(g) })),
    };
  }

  /**
   * MX hosts: outcomes, rates and p95 delivery time per host — from the MX-host rollups
   * (p95 from merged histograms) when every filter is one of their dimensions, else from the
   * raw events (exact p95).
   */
  async mxHosts(q: Window & { filters?: Filters; limit?: number }) {
    const limit = q.limit ?? 100;
    if (this.rollupFits(['mxHost', 'eventType', ...Object.keys(q.filters ?? {})])) {
      const r = await this.breakdown({ from: q.from, to: q.to, by: 'mxHost', filters: q.filters ?? {}, sort: 'events', limit, p95: true });
      return { from: q.from.toISOString(), to: q.to.toISOString(), items: r.items.map((i) => ({ ...i, mxHost: String(i.mxHost), p95DeliveryMs: i.p95DeliveryMs ?? null })), truncated: r.total > limit };
    }
    const r = await this.rawGroups(q, 'mx_host', q.filters, ['mx_host IS NOT NULL'], [], limit);
    return { from: q.from.toISOString(), to: q.to.toISOString(), items: r.groups.map(({ value, ...rest }) => ({ mxHost: value as string, ...rest })), truncated: r.truncated };
  }
}
