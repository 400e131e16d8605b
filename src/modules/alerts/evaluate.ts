/**
 * What each condition kind observes: one documented SQL query per kind (or the
 * injected ProbeStateSource / the MongoDB cluster status) and a pure function
 * that turns its rows into observations, one per series. Time is a parameter:
 * `now` is the caller's Clock reading, passed into the SQL (never the
 * database's now()), so a test moves time by hand and every process agrees.
 *
 * An observation says whether the condition holds for the series (`holds`),
 * whether a firing alert may resolve (`recovered`, the recovery threshold's
 * hysteresis) or that the series has no data in the window (`holds: null`).
 */
import type { Queryable } from '../../db/database.ts';
import type { Family } from '../../timeseries/family.ts';
import type { Stream } from '../../timeseries/stream.ts';
import { FAMILIES } from '../families.ts';
import { getMongoClusterStatus } from '../mongodb/cluster-status.ts';
import { STREAMS } from '../streams.ts';
import { compare, PENDING_SOURCES, streamNodeColumn, type Condition, type MetricCondition, type StreamCondition } from './conditions.ts';
import type { AlertObservation, ConditionObserver, ProbeStateSource } from './contracts.ts';
import type { ScopeKind } from './schema.ts';

export interface Scope {
  kind: ScopeKind;
  values: readonly string[];
}

export type Observation = AlertObservation;

export type Outcome =
  | { state: 'evaluated'; observations: Observation[] }
  /** The kind's data source does not exist yet (a later module brings it): no events either way. */
  | { state: 'unavailable'; message: string };

export interface ObserveContext {
  probes: ProbeStateSource | null;
  /** Observers of the kinds other modules own, by condition kind. */
  observers?: Readonly<Record<string, ConditionObserver>>;
  /** Probe states, read once per round. */
  probeStates?: Awaited<ReturnType<ProbeStateSource['states']>>;
}

const iso = (d: Date) => d.toISOString();
const fmt = (v: number | string | null) => (typeof v === 'number' ? String(Math.round(v * 1000) / 1000) : v === null ? 'no value' : JSON.stringify(v));

function family(key: string): Family {
  const f = FAMILIES.find((x) => x.key === key || x.table === key);
  if (!f) throw new Error(`unknown family ${key}`);
  return f;
}
function stream(key: string): Stream {
  const s = STREAMS.find((x) => x.key === key || x.table === key);
  if (!s) throw new Error(`unknown stream ${key}`);
  return s;
}

/** How far back a metric rule looks for the series it knows: a series with rows here but none in the window has no data. */
export const lookbackSeconds = (windowSeconds: number) => Math.max(2 * windowSeconds, windowSeconds + 900);

/**
 * metric: one row per series (the family's identity columns) with rows in the
 * lookback, its aggregate over the window and the number of values in the window.
 *   $1 window start, $2 now, $3 lookback start, $4 scope kind, $5 scope values
 * Only declared table and column names are interpolated (checked by checkRule).
 * predict_linear fits value over seconds relative to now (regr_slope/intercept)
 * and reads the line at now + horizon ($6).
 */
export function metricSQL(c: MetricCondition): string {
  const f = family(c.family);
  const node = f.nodeColumn;
  const v = c.divideBy ? `(m.${c.column}::double precision / NULLIF(m.${c.divideBy}, 0)::double precision)` : `m.${c.column}`;
  const num = c.divideBy ? v : `${v}::double precision`;
  const inWindow = `m.time > $1::timestamptz AND ${v} IS NOT NULL`;
  const x = `extract(epoch FROM (m.time - $2::timestamptz))::double precision`;
  const agg: Record<MetricCondition['aggregation'], string> = {
    avg: `avg(${num}) FILTER (WHERE ${inWindow})`,
    min: `min(${num}) FILTER (WHERE ${inWindow})`,
    max: `max(${num}) FILTER (WHERE ${inWindow})`,
    sum: `sum(${num}) FILTER (WHERE ${inWindow})`,
    count: `count(${v}) FILTER (WHERE ${inWindow})::double precision`,
    last: `(array_agg(${v} ORDER BY m.time DESC) FILTER (WHERE ${inWindow}))[1]`,
    predict_linear: `regr_intercept(${num}, ${x}) FILTER (WHERE ${inWindow}) + regr_slope(${num}, ${x}) FILTER (WHERE ${inWindow}) * $6::double precision`,
  };
  const ids = f.identity.map((i) => `m.${i}`);
  const scope = node
    ? `AND ($4::text = 'all' OR ($4::text = 'node' AND m.${node} = ANY($5::text[])) OR ($4::text = 'role' AND n.role = ANY($5::text[])))
  AND n.status IS DISTINCT FROM 'retired'`
    : '';
  return `SELECT ${ids.join(', ')}, ${agg[c.aggregation]} AS value,
  count(${v}) FILTER (WHERE ${inWindow})::int AS n, max(m.time) AS last_time
FROM ${f.table} m${node ? `\nLEFT JOIN nodes n ON n.id = m.${node}` : ''}
WHERE m.time > $3::timestamptz AND m.time <= $2::timestamptz
  ${scope}
GROUP BY ${ids.join(', ')}
ORDER BY ${ids.join(', ')}`;
}

interface MetricRow {
  value: number | string | null;
  n: number;
  last_time: Date;
  [identity: string]: unknown;
}

/** Pure: the observations of a metric rule from metricSQL's rows. */
export function metricObservations(c: MetricCondition, rows: readonly MetricRow[]): Observation[] {
  const f = family(c.family);
  return rows.map((r) => {
    const series: Record<string, string> = {};
    for (const id of f.identity) series[id === f.nodeColumn ? 'node' : id] = String(r[id]);
    const nodeId = f.nodeColumn ? String(r[f.nodeColumn]) : null;
    const value = r.n > 0 && r.value !== null && !(typeof r.value === 'number' && !Number.isFinite(r.value)) ? r.value : null;
    const what = `${f.key}.${c.column}${c.divideBy ? `/${c.divideBy}` : ''} ${c.aggregation}${c.aggregation === 'predict_linear' ? ` in ${c.horizonSeconds} s` : ''} over ${c.windowSeconds} s`;
    const details = { value, threshold: c.threshold, comparison: c.comparison, windowSeconds: c.windowSeconds, samples: r.n, lastSample: iso(r.last_time), ...(c.recoveryThreshold === undefined ? {} : { recoveryThreshold: c.recoveryThreshold }) };
    if (value === null) return { series, nodeId, serviceName: null, holds: null, recovered: true, value: null, message: `${what}: no data`, details };
    const holds = compare(value, c.comparison, c.threshold);
    const recovered = c.recoveryThreshold === undefined ? !holds : !compare(value, c.comparison, c.recoveryThreshold);
    return { series, nodeId, serviceName: null, holds, recovered, value, message: `${what} is ${fmt(value)} (${c.comparison} ${fmt(c.threshold)})${nodeId ? ` on ${nodeId}` : ''}`, details };
  });
}

/**
 * stream: events of the window counted straight from the stream's table (its
 * time index; exact for any window, where the 5-minute rollups would make a
 * 5-minute window hold 0–5 minutes of events).
 *   $1 window start, $2 now, $3 matched values, $4 denominator values (null: every event), $5 scope kind, $6 scope values
 * per node: GROUP BY the stream's node column; per cluster: one row, zero counts included.
 */
export function streamSQL(c: StreamCondition): string {
  const s = stream(c.stream);
  const nodeCol = streamNodeColumn(s)?.name;
  const perNode = c.per === 'node' && nodeCol;
  const of = c.of ? `e.${c.of.column} = ANY($4::text[])` : 'true';
  return `SELECT ${perNode ? `e.${nodeCol}` : 'NULL::text'} AS node_id,
  count(*) FILTER (WHERE e.${c.match.column} = ANY($3::text[]) AND ${of})::int AS matched,
  count(*) FILTER (WHERE ${of})::int AS total
FROM ${s.table} e${perNode ? `\nLEFT JOIN nodes n ON n.id = e.${nodeCol}` : ''}
WHERE e.time > $1::timestamptz AND e.time <= $2::timestamptz
  ${perNode ? `AND e.${nodeCol} IS NOT NULL AND ($5::text = 'all' OR ($5::text = 'node' AND e.${nodeCol} = ANY($6::text[])) OR ($5::text = 'role' AND n.role = ANY($6::text[])))` : 'AND $5::text IS NOT NULL AND $6::text[] IS NOT NULL'}
${perNode ? 'GROUP BY 1 ORDER BY 1' : ''}`;
}

/** Pure: the observations of a stream rule from streamSQL's rows. */
export function streamObservations(c: StreamCondition, rows: readonly { node_id: string | null; matched: number; total: number }[]): Observation[] {
  const s = stream(c.stream);
  return rows.map((r) => {
    const series: Record<string, string> = r.node_id ? { node: r.node_id } : {};
    const enough = r.total > 0 && r.total >= c.minEvents;
    const value = c.measure === 'count' ? r.matched : enough ? (r.matched / r.total) * 100 : null;
    const what = c.measure === 'ratio' ? `${s.key} ${c.match.column} in (${c.match.values.join(', ')}) ratio over ${c.windowSeconds} s` : `${s.key} ${c.match.column} in (${c.match.values.join(', ')}) events over ${c.windowSeconds} s`;
    const details = { value, matched: r.matched, total: r.total, threshold: c.threshold, comparison: c.comparison, windowSeconds: c.windowSeconds };
    if (value === null) return { series, nodeId: r.node_id, serviceName: null, holds: null, recovered: true, value: null, message: `${what}: ${r.total} events, fewer than ${Math.max(1, c.minEvents)}`, details };
    const holds = compare(value, c.comparison, c.threshold);
    const recovered = c.recoveryThreshold === undefined ? !holds : !compare(value, c.comparison, c.recoveryThreshold);
    return { series, nodeId: r.node_id, serviceName: null, holds, recovered, value, message: `${what} is ${fmt(value)}${c.measure === 'ratio' ? ' %' : ''} (${c.comparison} ${fmt(c.threshold)})${r.node_id ? ` on ${r.node_id}` : ''}`, details };
  });
}

/**
 * node_silence and role_down: the node inventory (retired nodes left out).
 *   $1 scope kind, $2 scope values
 * A node never seen counts from its registration.
 */
export const NODES_SQL = `SELECT n.id, n.role, n.status, n.last_seen, n.registered_at
FROM nodes n
WHERE n.status <> 'retired'
  AND ($1::text = 'all' OR ($1::text = 'node' AND n.id = ANY($2::text[])) OR ($1::text = 'role' AND n.role = ANY($2::text[])))
ORDER BY n.id`;

interface NodeRow {
  id: string;
  role: string | null;
  last_seen: Date | null;
  registered_at: Date;
}

const ageOf = (n: NodeRow, now: Date) => (now.getTime() - (n.last_seen ?? n.registered_at).getTime()) / 1000;

/** Pure: one series per node; fires when nothing arrived for longer than silentSeconds. */
export function nodeSilenceObservations(silentSeconds: number, nodes: readonly NodeRow[], now: Date): Observation[] {
  return nodes.map((n) => {
    const age = Math.max(0, ageOf(n, now));
    const holds = age > silentSeconds;
    const last = n.last_seen ? iso(n.last_seen) : null;
    return {
      series: { node: n.id },
      nodeId: n.id,
      serviceName: null,
      holds,
      recovered: !holds,
      value: Math.round(age),
      message: holds ? `${n.id} sent no metrics for ${Math.round(age)} s (last ${last ?? 'never'})` : `${n.id} reports (last ${last})`,
      details: { lastSeen: last, silentSeconds: Math.round(age), thresholdSeconds: silentSeconds, role: n.role },
    };
  });
}

/** Pure: one series for the role; fires when every node of it is silent, no data when it has no node. */
export function roleDownObservations(role: string, silentSeconds: number, nodes: readonly NodeRow[], now: Date): Observation[] {
  const of = nodes.filter((n) => n.role === role);
  const silent = of.filter((n) => ageOf(n, now) > silentSeconds);
  if (of.length === 0) return [{ series: { role }, nodeId: null, serviceName: null, holds: null, recovered: true, value: null, message: `no node has role ${role}`, details: { role, nodes: 0 } }];
  const holds = silent.length === of.length;
  return [
    {
      series: { role },
      nodeId: null,
      serviceName: null,
      holds,
      recovered: !holds,
      value: silent.length,
      message: holds ? `every ${role} node is down (${of.map((n) => n.id).join(', ')})` : `${of.length - silent.length} of ${of.length} ${role} nodes report`,
      details: { role, nodes: of.length, silent: silent.map((n) => n.id), thresholdSeconds: silentSeconds },
    },
  ];
}

export async function observe(db: Queryable, condition: Condition, scope: Scope, now: Date, ctx: ObserveContext): Promise<Outcome> {
  const c = condition;
  const external = ctx.observers?.[c.kind];
  if (external) return { state: 'evaluated', observations: await external.observe(db, c, scope, now) };
  const pending = PENDING_SOURCES[c.kind];
  if (pending !== undefined) {
    const r = await db.queryOne<{ present: boolean }>('SELECT to_regclass($1) IS NOT NULL AS present', [pending]);
    return { state: 'unavailable', message: r?.present ? `${c.kind} is not evaluated by this version of the alerts module yet` : `no data yet: ${pending} does not exist (its module is not installed)` };
  }
  const scopeValues = [...scope.values];
  switch (c.kind) {
    case 'metric': {
      const from = new Date(now.getTime() - c.windowSeconds * 1000);
      const back = new Date(now.getTime() - lookbackSeconds(c.windowSeconds) * 1000);
      const params: unknown[] = [iso(from), iso(now), iso(back), scope.kind, scopeValues];
      if (c.aggregation === 'predict_linear') params.push(c.horizonSeconds ?? 0);
      const rows = await db.queryMany<MetricRow>(metricSQL(c), params);
      return { state: 'evaluated', observations: metricObservations(c, rows) };
    }
    case 'stream': {
      const from = new Date(now.getTime() - c.windowSeconds * 1000);
      const rows = await db.queryMany<{ node_id: string | null; matched: number; total: number }>(streamSQL(c), [iso(from), iso(now), c.match.values, c.of?.values ?? null, scope.kind, scopeValues]);
      return { state: 'evaluated', observations: streamObservations(c, rows) };
    }
    case 'node_silence': {
      const rows = await db.queryMany<NodeRow>(NODES_SQL, [scope.kind, scopeValues]);
      return { state: 'evaluated', observations: nodeSilenceObservations(c.silentSeconds, rows, now) };
    }
    case 'role_down': {
      const rows = await db.queryMany<NodeRow>(NODES_SQL, ['role', [c.role]]);
      return { state: 'evaluated', observations: roleDownObservations(c.role, c.silentSeconds, rows, now) };
    }
    case 'mongodb_no_primary': {
      const st = await getMongoClusterStatus(db, { lagThresholdSeconds: 30, now });
      const rs = st.replicaSet;
      const holds = rs.status === 'no_data' ? null : rs.status === 'no_primary';
      return {
        state: 'evaluated',
        observations: [{ series: {}, nodeId: null, serviceName: null, holds, recovered: holds !== true, value: rs.primaryCount, message: holds === null ? 'no MongoDB member has reported' : holds ? `MongoDB replica set has no primary: ${rs.problems.join('; ')}` : `MongoDB primary: ${rs.primaries.join(', ')}`, details: { status: rs.status, members: rs.members, primaries: rs.primaries, problems: rs.problems } }],
      };
    }
    case 'probe': {
      if (!ctx.probes) return { state: 'unavailable', message: 'no data yet: no probe state source is wired (the probes module)' };
      ctx.probeStates ??= await ctx.probes.states();
      const obs: Observation[] = [];
      for (const s of ctx.probeStates) {
        if (scope.kind === 'service' && !scope.values.includes(s.serviceName)) continue;
        if (!Object.entries(c.match).every(([k, v]) => s.labels[k] === v)) continue;
        const holds = s.status === 'unknown' ? null : (c.statuses as readonly string[]).includes(s.status);
        obs.push({
          series: { service: s.serviceName },
          nodeId: null,
          serviceName: s.serviceName,
          holds,
          recovered: holds !== true,
          value: s.status,
          message: `${s.serviceName} is ${s.status}${s.since ? ` since ${iso(s.since)}` : ''}`,
          details: { status: s.status, since: s.since ? iso(s.since) : null, labels: s.labels },
        });
      }
      return { state: 'evaluated', observations: obs };
    }
  }
  return { state: 'unavailable', message: `${c.kind} has no evaluator` };
}
