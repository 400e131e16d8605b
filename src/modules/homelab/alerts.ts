/**
 * Alert condition kinds whose data the home-lab module owns (ConditionObserver, see
 * src/modules/alerts/contracts.ts); the alerts module evaluates them by kind in its round's
 * transaction, so silences, channels, repeat and escalation apply. Each observation says why.
 *
 * - device_host_key_changed: the device presented another host key than the pinned one.
 * - device_collection_failed: the device's last collection failed (with the reason).
 * - smart_failing: a drive's overall SMART self-assessment did not pass (latest row).
 * - smart_sectors_rising: reallocated or pending sectors of a drive rose within the window.
 * - smart_temperature: a drive's latest temperature is over the threshold.
 */
import type { Queryable } from '../../db/database.ts';
import type { AlertObservation, ConditionObserver } from '../alerts/contracts.ts';

type Scope = { kind: string; values: readonly string[] };

/** SQL filter of a node column by the rule's scope ($1 kind, $2 values). */
const scopeSQL = (col: string) => `($1::text = 'all' OR ($1::text = 'node' AND ${col} = ANY($2::text[])) OR ($1::text = 'role' AND EXISTS (SELECT 1 FROM nodes n WHERE n.id = ${col} AND n.role = ANY($2::text[]))))`;

const hostKeyChanged: ConditionObserver = {
  async observe(db: Queryable, _c, scope: Scope): Promise<AlertObservation[]> {
    const rows = await db.queryMany<{ node_id: string; host_key_state: string; host_key_sha256: string | null; presented_host_key_sha256: string | null }>(
      `SELECT node_id, host_key_state, host_key_sha256, presented_host_key_sha256 FROM device_ssh_targets WHERE ${scopeSQL('node_id')} ORDER BY node_id`,
      [scope.kind, [...scope.values]],
    );
    return rows.map((r) => {
      const holds = r.host_key_state === 'mismatch';
      return {
        series: { node: r.node_id },
        nodeId: r.node_id,
        serviceName: null,
        holds,
        recovered: !holds,
        value: holds ? r.presented_host_key_sha256 : r.host_key_sha256,
        message: holds
          ? `${r.node_id} presented SSH host key ${r.presented_host_key_sha256 ?? '?'} instead of the pinned ${r.host_key_sha256 ?? '?'}: collection stopped until an admin accepts it`
          : `${r.node_id}: host key ${r.host_key_state}`,
        details: { pinned: r.host_key_sha256, presented: r.presented_host_key_sha256 },
      };
    });
  },
};

const collectionFailed: ConditionObserver = {
  async observe(db: Queryable, _c, scope: Scope): Promise<AlertObservation[]> {
    const rows = await db.queryMany<{ node_id: string; last_collection_status: string | null; last_error: string | null; last_successful_collection: Date | null }>(
      `SELECT node_id, last_collection_status, last_error, last_successful_collection FROM device_ssh_targets WHERE enabled AND last_collection_status IS NOT NULL AND ${scopeSQL('node_id')} ORDER BY node_id`,
      [scope.kind, [...scope.values]],
    );
    return rows.map((r) => {
      const holds = r.last_collection_status === 'failed';
      return {
        series: { node: r.node_id },
        nodeId: r.node_id,
        serviceName: null,
        holds,
        recovered: !holds,
        value: r.last_collection_status,
        message: holds ? `collection from ${r.node_id} failed: ${r.last_error ?? 'no reason recorded'}` : `collection from ${r.node_id}: ${r.last_collection_status}`,
        details: { lastError: r.last_error, lastSuccessfulCollection: r.last_successful_collection?.toISOString() ?? null },
      };
    });
  },
};

interface LatestDrive {
  node_id: string;
  drive_name: string;
  model: string | null;
  is_healthy: boolean | null;
  temperature_celsius: number | null;
}

const latestDrives = (db: Queryable, scope: Scope, now: Date) =>
  db.queryMany<LatestDrive>(
    `SELECT DISTINCT ON (node_id, drive_name) node_id, drive_name, model, is_healthy, temperature_celsius
     FROM drive_health WHERE time > $3::timestamptz - interval '2 days' AND time <= $3 AND ${scopeSQL('node_id')}
     ORDER BY node_id, drive_name, time DESC`,
    [scope.kind, [...scope.values], now],
  );

const smartFailing: ConditionObserver = {
  async observe(db, _c, scope, now) {
    return (await latestDrives(db, scope, now))
      .filter((d) => d.is_healthy !== null)
      .map((d) => ({
        series: { node: d.node_id, drive: d.drive_name },
        nodeId: d.node_id,
        serviceName: null,
        holds: d.is_healthy === false,
        recovered: d.is_healthy === true,
        value: d.is_healthy ? 'PASSED' : 'FAILED',
        message: d.is_healthy ? `${d.drive_name} on ${d.node_id}: SMART overall assessment passed` : `${d.drive_name} (${d.model ?? 'unknown model'}) on ${d.node_id}: SMART overall-health self-assessment FAILED — back up and replace the drive`,
        details: { model: d.model },
      }));
  },
};

const smartTemperature: ConditionObserver = {
  async observe(db, c, scope, now) {
    const threshold = Number(c.threshold);
    return (await latestDrives(db, scope, now))
      .filter((d) => d.temperature_celsius !== null)
      .map((d) => {
        const holds = d.temperature_celsius! > threshold;
        return {
          series: { node: d.node_id, drive: d.drive_name },
          nodeId: d.node_id,
          serviceName: null,
          holds,
          recovered: !holds,
          value: d.temperature_celsius,
          message: holds ? `${d.drive_name} on ${d.node_id} is at ${d.temperature_celsius} °C, over ${threshold} °C` : `${d.drive_name} on ${d.node_id}: ${d.temperature_celsius} °C`,
          details: { threshold, model: d.model },
        };
      });
  },
};

const smartSectorsRising: ConditionObserver = {
  async observe(db, c, scope, now) {
    const column = c.attribute === 'pending' ? 'pending_sectors' : 'reallocated_sectors';
    const label = c.attribute === 'pending' ? 'pending' : 'reallocated';
    const windowSeconds = Number(c.windowSeconds);
    const rows = await db.queryMany<{ node_id: string; drive_name: string; first: number; last: number }>(
      `SELECT node_id, drive_name,
         (array_agg(${column} ORDER BY time))[1]::float8 AS first,
         (array_agg(${column} ORDER BY time DESC))[1]::float8 AS last
       FROM drive_health
       WHERE time > $3::timestamptz - make_interval(secs => $4) AND time <= $3 AND ${column} IS NOT NULL AND ${scopeSQL('node_id')}
       GROUP BY node_id, drive_name ORDER BY node_id, drive_name`,
      [scope.kind, [...scope.values], now, windowSeconds],
    );
    return rows.map((r) => {
      const holds = r.last > r.first;
      return {
        series: { node: r.node_id, drive: r.drive_name },
        nodeId: r.node_id,
        serviceName: null,
        holds,
        recovered: !holds,
        value: r.last,
        message: holds ? `${label} sectors of ${r.drive_name} on ${r.node_id} rose from ${r.first} to ${r.last} within ${windowSeconds} s: the drive is wearing out` : `${label} sectors of ${r.drive_name} on ${r.node_id}: ${r.last}, steady`,
        details: { attribute: label, from: r.first, to: r.last, windowSeconds },
      };
    });
  },
};

export function homelabObservers(): Record<string, ConditionObserver> {
  return {
    device_host_key_changed: hostKeyChanged,
    device_collection_failed: collectionFailed,
    smart_failing: smartFailing,
    smart_temperature: smartTemperature,
    smart_sectors_rising: smartSectorsRising,
  };
}
