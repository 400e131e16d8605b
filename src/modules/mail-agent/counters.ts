/**
 * Counters the mail-cluster agent sends as totals since the server started
 * (MongoDB opcounters, Redis evicted_keys, ZoneMTA's Prometheus counters, Rspamd's
 * /stat) stored the way Opsdeck stores every count: the increase since the previous
 * sample of the same node (and zone), so the rollups can sum it. Like Prometheus'
 * increase(): a total lower than the previous one means the server restarted and
 * counts from zero, so the increase is the new total itself; the first sample of a
 * node, and a sample older than the last one seen (a replay from the agent's
 * offline buffer), have no increase (null) — their totals are still stored where a
 * column holds them (ZoneMTA's *_total).
 *
 * The last totals per node, type and zone are kept in agent_counter_totals and
 * updated in the transaction that stores the rows: a batch is all or nothing, and
 * a retried sample finds its own time there, computes nothing and is not stored
 * twice. The row lock on agent_counter_totals serialises concurrent batches of the
 * same node.
 */
import type { Database, Queryable } from '../../db/database.ts';
import { IngestValidationError, type RowIssue } from '../../timeseries/ingest.ts';
import type { IngestResult, TimeseriesStore } from '../../timeseries/store.ts';
import type { AgentTypeMap } from './compat.ts';
import type { CounterAgentType } from './schema.ts';

export interface CounterRow {
  /** The Opsdeck row (camelCase fields of the family), without the increases yet; anything else is refused by validation. */
  row: unknown;
  /** Counter fields as the agent sent them (agent names). */
  totals: Record<string, unknown>;
}

export interface CounterIngestDeps {
  db: Database;
  store: TimeseriesStore;
}

interface Prev {
  time: number;
  totals: Record<string, number>;
}

/** The increase of a counter from `prev` to `cur`: a lower total means a restart (count from zero). */
export function increase(prev: number, cur: number): number {
  return cur >= prev ? cur - prev : cur;
}

/** Checks the totals: each absent, null, or a whole number from 0 to 2^53 − 1. */
function validTotals(rows: readonly CounterRow[]): Record<string, number>[] {
  const issues: RowIssue[] = [];
  const out = rows.map((r, index) => {
    const clean: Record<string, number> = {};
    for (const [k, v] of Object.entries(r.totals)) {
      if (v === null || v === undefined) continue;
      if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
        issues.push({ index, path: [k], message: 'a counter total: a whole number from 0 to 2^53 − 1, or null' });
        continue;
      }
      clean[k] = v;
    }
    return clean;
  });
  if (issues.length) throw new IngestValidationError(issues);
  return out;
}

const timeOf = (row: Record<string, unknown>, receivedAt: number): number => {
  const t = row.timestamp;
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    if (Number.isFinite(ms)) return ms;
  }
  return receivedAt;
};

/**
 * Validates and stores rows of an agent type with counters, all or nothing, in one
 * transaction; answers after commit.
 */
export async function ingestWithCounters(deps: CounterIngestDeps, type: CounterAgentType, map: AgentTypeMap, rows: readonly CounterRow[]): Promise<IngestResult> {
  const receivedAt = Date.now();
  const totals = validTotals(rows);
  // a row without a timestamp gets the time it was received, fixed once for both passes
  const isRow = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  // (a row that is not an object is left as sent: validation names it)
  const sent: unknown[] = rows.map((r) => (isRow(r.row) ? { ...r.row, timestamp: typeof r.row.timestamp === 'string' ? r.row.timestamp : new Date(receivedAt).toISOString() } : r.row));
  // every other field is checked before the transaction (errors name the row's own fields)
  deps.store.prepare(map.family, sent);
  const fixed = sent as Record<string, unknown>[];
  const seriesOf = (row: Record<string, unknown>) => (typeof row.zone === 'string' ? row.zone : '');
  const nodeOf = (row: Record<string, unknown>) => String(row.nodeId);
  try {
    const inserted = await deps.db.transaction(async (tx) => {
      const prev = await lockPrevious(tx, type, [...new Set(fixed.map(nodeOf))]);
      const order = fixed.map((_, i) => i).sort((a, b) => timeOf(fixed[a]!, receivedAt) - timeOf(fixed[b]!, receivedAt));
      const out: Record<string, unknown>[] = fixed.map((r) => ({ ...r }));
      const latest = new Map<string, { node: string; series: string; time: number; totals: Record<string, number> }>();
      for (const i of order) {
        const row = out[i]!;
        const key = `${nodeOf(row)}\u0000${seriesOf(row)}`;
        const t = timeOf(row, receivedAt);
        const p = latest.get(key) ?? prev.get(key);
        const newer = p === undefined || t > p.time;
        for (const [agentField, column] of Object.entries(map.counters)) {
          const cur = totals[i]![agentField];
          const before = p?.totals[agentField];
          if (newer && cur !== undefined && before !== undefined) row[column] = increase(before, cur);
          else delete row[column];
        }
        if (newer) latest.set(key, { node: nodeOf(row), series: seriesOf(row), time: t, totals: totals[i]! });
      }
      const batch = deps.store.prepare(map.family, out);
      const n = await deps.store.writeBatch(tx, map.family, batch);
      if (latest.size) await saveLatest(tx, type, [...latest.values()]);
      return n;
    });
    return { family: map.family, received: rows.length, inserted, duplicates: rows.length - inserted };
  } catch (err) {
    deps.store.forgetWrittenNodes();
    throw err;
  }
}

/** The last totals of these nodes, locked until the transaction ends. */
async function lockPrevious(tx: Queryable, type: CounterAgentType, nodes: string[]): Promise<Map<string, Prev>> {
  const rows = await tx.queryMany<{ node_id: string; series: string; sample_time: Date; totals: Record<string, number> }>(
    `SELECT node_id, series, sample_time, totals FROM agent_counter_totals
     WHERE agent_type = $1 AND node_id = ANY($2::text[]) ORDER BY node_id, series FOR UPDATE`,
    [type, nodes],
  );
  return new Map(rows.map((r) => [`${r.node_id}\u0000${r.series}`, { time: r.sample_time.getTime(), totals: r.totals }]));
}

async function saveLatest(tx: Queryable, type: CounterAgentType, latest: { node: string; series: string; time: number; totals: Record<string, number> }[]): Promise<void> {
  await tx.query(
    `INSERT INTO agent_counter_totals (node_id, agent_type, series, sample_time, totals)
     SELECT x.node, $1, x.series, x.t, x.totals FROM jsonb_to_recordset($2::text::jsonb) AS x(node text, series text, t timestamptz, totals jsonb)
     ON CONFLICT (node_id, agent_type, series) DO UPDATE SET sample_time = EXCLUDED.sample_time, totals = EXCLUDED.totals
     WHERE agent_counter_totals.sample_time < EXCLUDED.sample_time`,
    [type, JSON.stringify(latest.map((l) => ({ node: l.node, series: l.series, t: new Date(l.time).toISOString(), totals: l.totals })))],
  );
}
