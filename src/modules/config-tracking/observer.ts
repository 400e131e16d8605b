/**
 * The `config_change` alert condition (src/modules/alerts/conditions.ts): one
 * series per device and file; it holds while the file has an unprocessed change
 * event at or above the rule's risk level, and recovers when every such event
 * is marked processed. Files whose qualifying events are all processed are
 * reported as recovered for RECOVERY_LOOKBACK_DAYS after their last one, so a
 * firing alert resolves with "recovered".
 */
import type { Queryable } from '../../db/database.ts';
import type { AlertObservation, ConditionObserver } from '../alerts/contracts.ts';
import { RISK_LEVELS, type RiskLevel } from './schema.ts';

export const RECOVERY_LOOKBACK_DAYS = 30;

interface Row {
  node_id: string;
  file_path: string;
  unprocessed: number;
  latest_id: string | null;
  latest_time: Date | null;
  latest_risk: RiskLevel | null;
  reasons: unknown;
}

export const configChangeObserver: ConditionObserver = {
  async observe(db: Queryable, condition, scope, now): Promise<AlertObservation[]> {
    const minRisk = (RISK_LEVELS as readonly string[]).includes(String(condition.minRisk)) ? (condition.minRisk as RiskLevel) : 'HIGH';
    const levels = RISK_LEVELS.slice(RISK_LEVELS.indexOf(minRisk));
    const since = new Date(now.getTime() - RECOVERY_LOOKBACK_DAYS * 86_400_000);
    const rows = await db.queryMany<Row>(
      `SELECT e.node_id, e.file_path,
              (count(*) FILTER (WHERE NOT coalesce(e.processed, false)))::int AS unprocessed,
              (array_agg(e.id::text ORDER BY e.time DESC) FILTER (WHERE NOT coalesce(e.processed, false)))[1] AS latest_id,
              max(e.time) FILTER (WHERE NOT coalesce(e.processed, false)) AS latest_time,
              (array_agg(e.risk_level ORDER BY e.time DESC) FILTER (WHERE NOT coalesce(e.processed, false)))[1] AS latest_risk,
              (array_agg(e.changes_summary -> 'rules' ORDER BY e.time DESC) FILTER (WHERE NOT coalesce(e.processed, false)))[1] AS reasons
         FROM configuration_change_events e
        WHERE e.risk_level = ANY($1::text[]) AND e.time <= $2
          AND (NOT coalesce(e.processed, false) OR e.time >= $3)
          AND ($4::text <> 'node' OR e.node_id = ANY($5::text[]))
        GROUP BY e.node_id, e.file_path
        ORDER BY e.node_id, e.file_path`,
      [levels, now.toISOString(), since.toISOString(), scope.kind, [...scope.values]],
    );
    return rows.map((r): AlertObservation => {
      const holds = r.unprocessed > 0;
      const rules = Array.isArray(r.reasons) ? (r.reasons as { risk?: string; reason?: string }[]).filter((x) => x.risk !== undefined && levels.includes(x.risk as RiskLevel)) : [];
      return {
        series: { node: r.node_id, file: r.file_path },
        nodeId: r.node_id,
        serviceName: null,
        holds,
        recovered: !holds,
        value: r.unprocessed,
        message: holds
          ? `${r.file_path} on ${r.node_id}: ${r.unprocessed} unprocessed ${minRisk === 'HIGH' ? 'HIGH' : `${minRisk} or higher`}-risk change${r.unprocessed === 1 ? '' : 's'}${rules.length ? ` — ${rules.map((x) => x.reason).join('; ')}` : ''}`
          : `${r.file_path} on ${r.node_id}: every change is processed`,
        details: holds ? { changeEventId: r.latest_id, changedAt: r.latest_time?.toISOString() ?? null, riskLevel: r.latest_risk, unprocessed: r.unprocessed } : { unprocessed: 0 },
      };
    });
  },
};
