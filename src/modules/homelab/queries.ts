/**
 * Reads of the home-lab tables for the API: containers and drives per device (current and
 * history), the collection audit, the collector's performance, the cache (list and
 * invalidate) and the document's analysis queries. Time ranges: `end` must be after `start`.
 */
import type { Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { InvalidError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import type { DataType, IoKind } from './streams.ts';

export interface TimeRange {
  start?: Date | undefined;
  end?: Date | undefined;
}

/** The document's TimeRangeParams (Opsdeck's from/to): to after from (400 INVALID_TIME_RANGE naming `to`), default the last 24 h. */
export function resolveRange(r: TimeRange, now: Date, defaultSeconds = 86_400): { start: Date; end: Date } {
  const end = r.end ?? now;
  const start = r.start ?? new Date(end.getTime() - defaultSeconds * 1000);
  if (!(end.getTime() > start.getTime())) throw new InvalidError('INVALID_TIME_RANGE', '`to` must be after `from`', [{ path: 'to', message: 'must be after `from`' }]);
  return { start, end };
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

export type ContainerView = {
  time: string;
  containerId: string;
  name: string | null;
  image: string | null;
  status: string | null;
  state: string | null;
  runtime: string | null;
  cpuPercent: number | null;
  memoryUsageBytes: number | null;
  memoryLimitBytes: number | null;
};

interface ContainerDbRow {
  time: Date;
  container_id: string;
  name: string | null;
  image: string | null;
  status: string | null;
  state: string | null;
  runtime: string | null;
  cpu_percent: number | null;
  memory_usage_bytes: number | null;
  memory_limit_bytes: number | null;
}

const containerView = (r: ContainerDbRow): ContainerView => ({
  time: r.time.toISOString(),
  containerId: r.container_id,
  name: r.name,
  image: r.image,
  status: r.status,
  state: r.state,
  runtime: r.runtime,
  cpuPercent: r.cpu_percent,
  memoryUsageBytes: r.memory_usage_bytes,
  memoryLimitBytes: r.memory_limit_bytes,
});

export type DriveView = {
  time: string;
  driveName: string;
  model: string | null;
  serialNumber: string | null;
  protocol: string | null;
  smartAttributes: unknown;
  temperatureCelsius: number | null;
  powerOnHours: number | null;
  isHealthy: boolean | null;
  reallocatedSectors: number | null;
  pendingSectors: number | null;
};

interface DriveDbRow {
  time: Date;
  drive_name: string;
  model: string | null;
  serial_number: string | null;
  protocol: string | null;
  smart_attributes: unknown;
  temperature_celsius: number | null;
  power_on_hours: number | null;
  is_healthy: boolean | null;
  reallocated_sectors: number | null;
  pending_sectors: number | null;
}

const driveView = (r: DriveDbRow): DriveView => ({
  time: r.time.toISOString(),
  driveName: r.drive_name,
  model: r.model,
  serialNumber: r.serial_number,
  protocol: r.protocol,
  smartAttributes: r.smart_attributes,
  temperatureCelsius: r.temperature_celsius,
  powerOnHours: r.power_on_hours,
  isHealthy: r.is_healthy,
  reallocatedSectors: r.reallocated_sectors,
  pendingSectors: r.pending_sectors,
});

export type DeviceIoView = {
  time: string;
  kind: string;
  name: string;
  readBytesPerSec: number | null;
  writeBytesPerSec: number | null;
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  rxErrors: number | null;
  txErrors: number | null;
  sizeBytes: number | null;
  usedBytes: number | null;
  usedPercent: number | null;
};

interface DeviceIoDbRow {
  time: Date;
  kind: string;
  name: string;
  read_bytes_per_sec: number | null;
  write_bytes_per_sec: number | null;
  rx_bytes_per_sec: number | null;
  tx_bytes_per_sec: number | null;
  rx_errors: number | null;
  tx_errors: number | null;
  size_bytes: number | null;
  used_bytes: number | null;
  used_percent: number | null;
}

const num = (v: number | string | null) => (v === null ? null : Number(v));
const deviceIoView = (r: DeviceIoDbRow): DeviceIoView => ({
  time: r.time.toISOString(),
  kind: r.kind,
  name: r.name,
  readBytesPerSec: num(r.read_bytes_per_sec),
  writeBytesPerSec: num(r.write_bytes_per_sec),
  rxBytesPerSec: num(r.rx_bytes_per_sec),
  txBytesPerSec: num(r.tx_bytes_per_sec),
  rxErrors: num(r.rx_errors),
  txErrors: num(r.tx_errors),
  sizeBytes: num(r.size_bytes),
  usedBytes: num(r.used_bytes),
  usedPercent: num(r.used_percent),
});

export class HomelabQueries {
  constructor(private readonly o: { db: Queryable; clock: Clock }) {}

  /** The containers of the device's latest container snapshot. */
  async currentContainers(nodeId: string): Promise<ContainerView[]> {
    const rows = await this.o.db.queryMany<ContainerDbRow>(
      `SELECT * FROM container_snapshots WHERE node_id = $1 AND time = (SELECT max(time) FROM container_snapshots WHERE node_id = $1) ORDER BY name, container_id`,
      [nodeId],
    );
    return rows.map(containerView);
  }

  async containerHistory(nodeId: string, range: TimeRange, containerId: string | undefined, limit: number): Promise<ContainerView[]> {
    const { start, end } = resolveRange(range, this.o.clock.now());
    const rows = await this.o.db.queryMany<ContainerDbRow>(
      `SELECT * FROM container_snapshots WHERE node_id = $1 AND time >= $2 AND time < $3 AND ($4::text IS NULL OR container_id = $4) ORDER BY time DESC, container_id LIMIT $5`,
      [nodeId, start, end, containerId ?? null, limit],
    );
    return rows.map(containerView);
  }

  /**
   * The device's disk / interface / filesystem breakdown (device_io): without a range, each
   * name's latest row (kind, name order); with `from` or `to`, the rows of the range (default
   * the last 24 h), oldest first.
   */
  async deviceIo(nodeId: string, kind: IoKind | undefined, range: TimeRange, limit: number): Promise<DeviceIoView[]> {
    if (range.start === undefined && range.end === undefined) {
      const rows = await this.o.db.queryMany<DeviceIoDbRow>(
        `SELECT DISTINCT ON (kind, name) * FROM device_io WHERE node_id = $1 AND ($2::text IS NULL OR kind = $2) ORDER BY kind, name, time DESC LIMIT $3`,
        [nodeId, kind ?? null, limit],
      );
      return rows.map(deviceIoView);
    }
    const { start, end } = resolveRange(range, this.o.clock.now());
    const rows = await this.o.db.queryMany<DeviceIoDbRow>(
      `SELECT * FROM device_io WHERE node_id = $1 AND ($2::text IS NULL OR kind = $2) AND time >= $3 AND time < $4 ORDER BY time, kind, name LIMIT $5`,
      [nodeId, kind ?? null, start, end, limit],
    );
    return rows.map(deviceIoView);
  }

  /** Each drive's latest row. */
  async currentDrives(nodeId: string): Promise<DriveView[]> {
    const rows = await this.o.db.queryMany<DriveDbRow>(
      `SELECT DISTINCT ON (drive_name) * FROM drive_health WHERE node_id = $1 ORDER BY drive_name, time DESC`,
      [nodeId],
    );
    return rows.map(driveView);
  }

  async driveHistory(nodeId: string, range: TimeRange, driveName: string | undefined, limit: number): Promise<DriveView[]> {
    const { start, end } = resolveRange(range, this.o.clock.now(), 30 * 86_400);
    const rows = await this.o.db.queryMany<DriveDbRow>(
      `SELECT * FROM drive_health WHERE node_id = $1 AND time >= $2 AND time < $3 AND ($4::text IS NULL OR drive_name = $4) ORDER BY time DESC, drive_name LIMIT $5`,
      [nodeId, start, end, driveName ?? null, limit],
    );
    return rows.map(driveView);
  }

  async audit(q: TimeRange & { page: number; pageSize: number; deviceId?: string | undefined; dataType?: DataType | undefined; status?: string | undefined }): Promise<Page<Record<string, unknown>>> {
    const { start, end } = resolveRange(q, this.o.clock.now());
    const where = `time >= $1 AND time < $2 AND ($3::text IS NULL OR node_id = $3) AND ($4::text IS NULL OR data_type = $4) AND ($5::text IS NULL OR status = $5)`;
    const params = [start, end, q.deviceId ?? null, q.dataType ?? null, q.status ?? null];
    const total = (await this.o.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM data_collection_audit WHERE ${where}`, params))?.n ?? 0;
    const rows = await this.o.db.queryMany<Record<string, unknown> & { time: Date }>(
      `SELECT * FROM data_collection_audit WHERE ${where} ORDER BY time DESC, operation_id LIMIT $6 OFFSET $7`,
      [...params, q.pageSize, (q.page - 1) * q.pageSize],
    );
    return pageResult(
      rows.map((r) => ({
        time: r.time.toISOString(),
        deviceId: r.node_id,
        operationId: r.operation_id,
        dataType: r.data_type,
        collectionMethod: r.collection_method,
        collectionSource: r.collection_source,
        forceRefresh: r.force_refresh,
        cacheHit: r.cache_hit,
        durationMs: r.duration_ms,
        sshCommandCount: r.ssh_command_count,
        dataSizeBytes: r.data_size_bytes,
        status: r.status,
        errorMessage: r.error_message,
        warnings: r.warnings ?? [],
        recordsCreated: r.records_created,
        recordsUpdated: r.records_updated,
        freshnessThreshold: r.freshness_threshold,
      })),
      total,
      q.page,
      q.pageSize,
    );
  }

  async performance(range: TimeRange): Promise<Record<string, unknown>[]> {
    const { start, end } = resolveRange(range, this.o.clock.now());
    const rows = await this.o.db.queryMany<Record<string, unknown> & { time: Date }>(
      'SELECT * FROM service_performance_metrics WHERE time >= $1 AND time < $2 ORDER BY time DESC, service_name LIMIT 10000',
      [start, end],
    );
    return rows.map((r) => ({
      time: r.time.toISOString(),
      serviceName: r.service_name,
      operationsTotal: r.operations_total,
      operationsSuccessful: r.operations_successful,
      operationsFailed: r.operations_failed,
      operationsCached: r.operations_cached,
      avgDurationMs: r.avg_duration_ms,
      maxDurationMs: r.max_duration_ms,
      minDurationMs: r.min_duration_ms,
      sshConnectionsCreated: r.ssh_connections_created,
      sshConnectionsReused: r.ssh_connections_reused,
      sshCommandsExecuted: r.ssh_commands_executed,
      cacheHitRatio: r.cache_hit_ratio,
      cacheSizeEntries: r.cache_size_entries,
      cacheEvictions: r.cache_evictions,
      dataCollectedBytes: r.data_collected_bytes,
      databaseWrites: r.database_writes,
      errorTypes: r.error_types,
      topErrors: r.top_errors,
    }));
  }

  /** The document's "collection performance" analysis: per device and data type over the range. */
  async collectionPerformance(range: TimeRange): Promise<Record<string, unknown>[]> {
    const { start, end } = resolveRange(range, this.o.clock.now());
    const rows = await this.o.db.queryMany<Record<string, number | string | null>>(
      `SELECT node_id, data_type, count(*)::int AS operations,
         count(*) FILTER (WHERE status IN ('success', 'partial'))::int AS successful,
         count(*) FILTER (WHERE status = 'failed')::int AS failed,
         count(*) FILTER (WHERE cache_hit)::int AS cached,
         round(avg(duration_ms)::numeric, 2)::float8 AS avg_duration_ms,
         max(duration_ms)::int AS max_duration_ms,
         coalesce(sum(ssh_command_count), 0)::int AS ssh_commands,
         coalesce(sum(data_size_bytes), 0)::float8 AS data_bytes,
         coalesce(sum(records_created), 0)::int AS records_created
       FROM data_collection_audit WHERE time >= $1 AND time < $2
       GROUP BY node_id, data_type ORDER BY node_id, data_type`,
      [start, end],
    );
    return rows.map((r) => ({
      deviceId: r.node_id,
      dataType: r.data_type,
      operations: r.operations,
      successful: r.successful,
      failed: r.failed,
      cached: r.cached,
      successRate: Number(r.operations) > 0 ? Math.round((10_000 * Number(r.successful)) / Number(r.operations)) / 100 : null,
      avgDurationMs: r.avg_duration_ms,
      maxDurationMs: r.max_duration_ms,
      sshCommands: r.ssh_commands,
      dataBytes: r.data_bytes,
      recordsCreated: r.records_created,
    }));
  }

  /** The document's "service metrics" analysis: the collector's buckets summed per hour. */
  async serviceMetrics(range: TimeRange): Promise<Record<string, unknown>[]> {
    const { start, end } = resolveRange(range, this.o.clock.now());
    const rows = await this.o.db.queryMany<Record<string, number | string | Date | null>>(
      `SELECT date_trunc('hour', time) AS hour, service_name,
         sum(operations_total)::int AS operations_total, sum(operations_failed)::int AS operations_failed, sum(operations_cached)::int AS operations_cached,
         CASE WHEN sum(operations_total) > 0 THEN (sum(duration_sum_ms) / sum(operations_total))::float8 END AS avg_duration_ms,
         sum(ssh_connections_created)::int AS ssh_connections_created, sum(ssh_connections_reused)::int AS ssh_connections_reused,
         sum(ssh_commands_executed)::int AS ssh_commands_executed, sum(data_collected_bytes)::float8 AS data_collected_bytes, sum(database_writes)::int AS database_writes
       FROM service_performance_metrics WHERE time >= $1 AND time < $2 GROUP BY 1, 2 ORDER BY 1 DESC, 2`,
      [start, end],
    );
    return rows.map((r) => ({
      hour: (r.hour as Date).toISOString(),
      serviceName: r.service_name,
      operationsTotal: r.operations_total,
      operationsFailed: r.operations_failed,
      operationsCached: r.operations_cached,
      cacheHitRatio: Number(r.operations_total) > 0 ? Math.round((10_000 * Number(r.operations_cached)) / Number(r.operations_total)) / 100 : null,
      avgDurationMs: r.avg_duration_ms,
      sshConnectionsCreated: r.ssh_connections_created,
      sshConnectionsReused: r.ssh_connections_reused,
      sshCommandsExecuted: r.ssh_commands_executed,
      dataCollectedBytes: r.data_collected_bytes,
      databaseWrites: r.database_writes,
    }));
  }

  async cache(q: { page: number; pageSize: number; deviceId?: string | undefined }): Promise<Page<Record<string, unknown>>> {
    const now = this.o.clock.now();
    const total = (await this.o.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM cache_metadata WHERE ($1::text IS NULL OR node_id = $1)', [q.deviceId ?? null]))?.n ?? 0;
    const rows = await this.o.db.queryMany<Record<string, unknown> & { created_at: Date; last_accessed: Date; expires_at: Date; invalidated_at: Date | null }>(
      'SELECT * FROM cache_metadata WHERE ($1::text IS NULL OR node_id = $1) ORDER BY node_id, data_type LIMIT $2 OFFSET $3',
      [q.deviceId ?? null, q.pageSize, (q.page - 1) * q.pageSize],
    );
    return pageResult(
      rows.map((r) => ({
        cacheKey: r.cache_key,
        deviceId: r.node_id,
        dataType: r.data_type,
        createdAt: r.created_at.toISOString(),
        lastAccessed: r.last_accessed.toISOString(),
        expiresAt: r.expires_at.toISOString(),
        accessCount: r.access_count,
        dataSizeBytes: r.data_size_bytes,
        ttlSeconds: r.ttl_seconds,
        invalidated: r.invalidated,
        invalidatedAt: iso(r.invalidated_at),
        invalidationReason: r.invalidation_reason,
        collectionMethod: r.collection_method,
        commandHash: r.command_hash,
        fresh: !r.invalidated && r.expires_at.getTime() > now.getTime(),
      })),
      total,
      q.page,
      q.pageSize,
    );
  }

  /** Invalidates matching entries (a device, a data type, one key); returns how many. */
  async invalidate(q: { deviceId?: string | undefined; dataType?: DataType | undefined; cacheKey?: string | undefined; reason?: string | undefined }): Promise<number> {
    const r = await this.o.db.query(
      `UPDATE cache_metadata SET invalidated = true, invalidated_at = $1, invalidation_reason = $2
       WHERE NOT invalidated AND ($3::text IS NULL OR node_id = $3) AND ($4::text IS NULL OR data_type = $4) AND ($5::text IS NULL OR cache_key = $5)`,
      [this.o.clock.now(), (q.reason ?? 'api').slice(0, 100), q.deviceId ?? null, q.dataType ?? null, q.cacheKey ?? null],
    );
    return r.rowCount ?? 0;
  }
}
