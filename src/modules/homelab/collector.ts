/**
 * The home-lab collector: one operation per (device, data type). An operation checks the
 * cache (cache_metadata, TTL per data type; `forceRefresh` bypasses it), runs the
 * allow-listed commands over a pooled SSH connection (or takes pushed outputs), parses
 * them, writes the rows (metrics_system through the family ingest path, device_io,
 * container_snapshots and drive_health through the stream store, config files through the ConfigFileSink),
 * records one data_collection_audit row, updates the device's last collection fields and
 * adds itself to service_performance_metrics. A failed operation writes no data (the
 * previous good rows stay) and records the failure. It never runs inside a transaction
 * while it waits on a device: every write is its own short transaction.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { DomainError } from '../../domain/errors.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';
import type { ConfigFileSink } from '../config-tracking/contracts.ts';
import { CONTAINER_COMMANDS, DRIVE_SCAN_COMMAND, SYSTEM_COMMANDS, commandHash, smartctlCommand } from './commands.ts';
import { DEFAULT_INTERVALS, type DeviceRegistry } from './devices.ts';
import { deviceIoRows, parseDocker, parsePodman, parseSmartctl, parseSmartScan, parseSystem, systemMetricsRow, type ContainerRow, type DriveRow, type SystemOutputs, type SystemSample } from './parsers.ts';
import { HostKeyMismatchError, type SshPool, type SshTarget } from './ssh.ts';
import { DATA_TYPES, type DataType } from './streams.ts';

export const SERVICE_NAME = 'homelab-collector';

export interface OperationResult {
  operationId: string;
  dataType: DataType;
  method: 'ssh' | 'push';
  status: 'success' | 'failed' | 'partial' | 'cached';
  cacheHit: boolean;
  durationMs: number;
  commands: number;
  bytes: number;
  recordsCreated: number;
  error: string | null;
  warnings: string[];
}

export interface CollectOptions {
  dataTypes?: readonly DataType[] | undefined;
  forceRefresh?: boolean | undefined;
  source?: string | undefined;
}

/** What a device pushes instead of being collected: the same outputs the commands print. */
export interface PushedData {
  system?: SystemOutputs | undefined;
  containers?: { dockerPs?: string | undefined; dockerStats?: string | undefined; podmanPs?: string | undefined } | undefined;
  drives?: { name: string; smartctl: string }[] | undefined;
  configFiles?: { path: string; content: string; modifiedAt?: string | undefined }[] | undefined;
}

export interface CollectorOptions {
  db: Database;
  store: TimeseriesStore;
  streams: StreamStore;
  registry: DeviceRegistry;
  pool: SshPool;
  clock: Clock;
  sink?: ConfigFileSink | undefined;
  logger?: Logger | undefined;
  /** Cache TTL per data type in seconds (default: DEFAULT_INTERVALS). */
  ttls?: Partial<Record<DataType, number>>;
  /** Largest configuration file read (bytes, default 256 KiB). */
  configMaxBytes?: number;
}

interface Work {
  /** Cache entries replaced after they expired or were invalidated. */
  evictions: number;
  commands: number;
  bytes: number;
  records: number;
  writes: number;
  warnings: string[];
}

class StopCollection extends Error {}

export class Collector {
  private readonly prevSystem = new Map<string, SystemSample>();

  constructor(private readonly o: CollectorOptions) {}

  ttl(t: DataType): number {
    return this.o.ttls?.[t] ?? DEFAULT_INTERVALS[t];
  }

  /** Collects the given data types of a device over SSH. */
  async collect(nodeId: string, opts: CollectOptions = {}): Promise<OperationResult[]> {
    if (this.o.db.inTransaction()) throw new Error('collect must not run inside a transaction: it waits on the network');
    const dev = await this.o.registry.target(nodeId);
    if (!dev) throw new Error(`no device ${nodeId}`);
    const results: OperationResult[] = [];
    let stop: string | null = null;
    const pool = this.o.pool;
    for (const dataType of opts.dataTypes ?? DATA_TYPES) {
      const started = this.o.clock.now();
      const t0 = performance.now();
      const operationId = randomUUID();
      const before = { ...pool.counters };
      const w: Work = { evictions: 0, commands: 0, bytes: 0, records: 0, writes: 0, warnings: [] };
      const hash = commandHash(dataType, dataType === 'config' ? dev.configPaths : []);
      const base = { operationId, dataType, method: 'ssh' as const };
      let result: OperationResult;
      if (!opts.forceRefresh && !stop && (await this.cacheHit(nodeId, dataType, hash, started))) {
        result = { ...base, status: 'cached', cacheHit: true, durationMs: Math.round(performance.now() - t0), commands: 0, bytes: 0, recordsCreated: 0, error: null, warnings: [] };
      } else if (stop || dev.state === 'mismatch') {
        stop ??= 'the device presented another host key than the pinned one: collection stopped until an admin accepts it (POST /api/v1/devices/{id}/host-key/accept)';
        result = { ...base, status: 'failed', cacheHit: false, durationMs: 0, commands: 0, bytes: 0, recordsCreated: 0, error: stop, warnings: [] };
      } else {
        try {
          await this.pinOnFirstContact(dev.target, dev.state);
          await this.runType(dev.target, dataType, dev.configPaths, operationId, w, 'ssh');
          w.evictions += await this.cacheStore(nodeId, dataType, hash, started, w.bytes, 'ssh');
          w.writes++;
          result = { ...base, status: w.warnings.length ? 'partial' : 'success', cacheHit: false, durationMs: Math.round(performance.now() - t0), commands: w.commands, bytes: w.bytes, recordsCreated: w.records, error: null, warnings: w.warnings };
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (err instanceof HostKeyMismatchError) {
            await this.o.db.query(`UPDATE device_ssh_targets SET host_key_state = 'mismatch', presented_host_key_sha256 = $2, presented_at = $3, updated_at = $3 WHERE node_id = $1`, [nodeId, err.presented, started]);
            dev.state = 'mismatch';
            stop = message;
          } else if (!(err instanceof StopCollection)) {
            // A device that went away (refused, reset, timed out) fails the remaining types quickly with the same reason.
            if (/ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|Timed out while waiting for handshake|connection closed/i.test(message)) stop = message;
          }
          this.o.logger?.warn({ nodeId, dataType, err: message }, 'home-lab collection failed');
          result = { ...base, status: 'failed', cacheHit: false, durationMs: Math.round(performance.now() - t0), commands: w.commands, bytes: w.bytes, recordsCreated: 0, error: message.slice(0, 2000), warnings: w.warnings };
        }
      }
      const conns = { created: pool.counters.created - before.created, reused: pool.counters.reused - before.reused };
      await this.finish(nodeId, result, started, opts, conns, w.writes, w.evictions);
      results.push(result);
    }
    return results;
  }

  /** Takes pushed outputs for a device: the same parsers, validation and writes; audited as 'push'. */
  async push(nodeId: string, data: PushedData, source = 'push'): Promise<OperationResult[]> {
    const results: OperationResult[] = [];
    const types = DATA_TYPES.filter((t) => (t === 'system' ? data.system : t === 'containers' ? data.containers : t === 'drives' ? data.drives : data.configFiles));
    for (const dataType of types) {
      const started = this.o.clock.now();
      const t0 = performance.now();
      const operationId = randomUUID();
      const w: Work = { evictions: 0, commands: 0, bytes: 0, records: 0, writes: 0, warnings: [] };
      const base = { operationId, dataType, method: 'push' as const };
      let result: OperationResult;
      try {
        await this.writeType(nodeId, dataType, data, operationId, w, 'push', started);
        result = { ...base, status: w.warnings.length ? 'partial' : 'success', cacheHit: false, durationMs: Math.round(performance.now() - t0), commands: 0, bytes: w.bytes, recordsCreated: w.records, error: null, warnings: w.warnings };
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        result = { ...base, status: 'failed', cacheHit: false, durationMs: Math.round(performance.now() - t0), commands: 0, bytes: w.bytes, recordsCreated: 0, error: message.slice(0, 2000), warnings: w.warnings };
      }
      await this.finish(nodeId, result, started, { source }, { created: 0, reused: 0 }, w.writes);
      results.push(result);
    }
    return results;
  }

  private async pinOnFirstContact(t: SshTarget, state: string): Promise<void> {
    if (state !== 'unpinned') return;
    await this.o.pool.connection(t);
    const presented = this.o.pool.presentedHostKey(t.nodeId);
    if (!presented) return;
    const now = this.o.clock.now();
    await this.o.db.query(
      `UPDATE device_ssh_targets SET host_key_state = 'pinned', host_key_sha256 = $2, host_key_pinned_at = $3, updated_at = $3 WHERE node_id = $1 AND host_key_state = 'unpinned'`,
      [t.nodeId, presented, now],
    );
    t.pinnedHostKey = presented;
  }

  private async run(t: SshTarget, command: string, w: Work, allowFailure = false): Promise<string> {
    const r = await this.o.pool.exec(t, command);
    w.commands++;
    w.bytes += Buffer.byteLength(r.stdout);
    if (r.code !== 0 && !allowFailure) throw new Error(`${command} exited with ${r.code}: ${r.stderr.trim().slice(0, 300)}`);
    return r.stdout;
  }

  /** Runs the commands of one data type over SSH and writes what they printed. */
  private async runType(t: SshTarget, dataType: DataType, configPaths: readonly string[], operationId: string, w: Work, method: 'ssh'): Promise<void> {
    const data: PushedData = {};
    if (dataType === 'system') {
      const out: Partial<SystemOutputs> = {};
      for (const [k, cmd] of Object.entries(SYSTEM_COMMANDS)) out[k as keyof SystemOutputs] = await this.run(t, cmd, w, k === 'df');
      data.system = out as SystemOutputs;
    } else if (dataType === 'containers') {
      const dockerPs = await this.o.pool.exec(t, CONTAINER_COMMANDS.dockerPs);
      w.commands++;
      w.bytes += Buffer.byteLength(dockerPs.stdout);
      const c: NonNullable<PushedData['containers']> = {};
      if (dockerPs.code === 0) {
        c.dockerPs = dockerPs.stdout;
        c.dockerStats = await this.run(t, CONTAINER_COMMANDS.dockerStats, w, true);
      } else w.warnings.push(`docker: ${dockerPs.stderr.trim().slice(0, 200) || `exit ${dockerPs.code}`}`);
      const podman = await this.o.pool.exec(t, CONTAINER_COMMANDS.podmanPs);
      w.commands++;
      w.bytes += Buffer.byteLength(podman.stdout);
      if (podman.code === 0) c.podmanPs = podman.stdout;
      if (c.dockerPs === undefined && c.podmanPs === undefined) throw new Error(`neither docker nor podman answered: ${w.warnings.join('; ')}`);
      if (c.podmanPs === undefined) w.warnings.length = 0; // a device with docker only is complete
      data.containers = c;
    } else if (dataType === 'drives') {
      const scan = parseSmartScan(await this.run(t, DRIVE_SCAN_COMMAND, w, true));
      for (const r of scan.refused) w.warnings.push(`refused drive name from the scan: ${JSON.stringify(r).slice(0, 200)}`);
      data.drives = [];
      for (const d of scan.drives) {
        // smartctl's exit status is a bit mask (bit 2+: SMART problems found): the JSON is read whatever it says.
        data.drives.push({ name: d, smartctl: await this.run(t, smartctlCommand(d), w, true) });
      }
    } else {
      data.configFiles = [];
      const max = this.o.configMaxBytes ?? 256 * 1024;
      for (const path of configPaths) {
        try {
          const f = await this.o.pool.readFile(t, path, max);
          w.commands++;
          w.bytes += f.content.length;
          if (f.truncated) {
            w.warnings.push(`${path}: larger than ${max} bytes, not recorded`);
            continue;
          }
          data.configFiles.push({ path, content: f.content.toString('utf8'), modifiedAt: f.mtime?.toISOString() });
        } catch (err) {
          w.warnings.push(`${path}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500));
        }
      }
    }
    await this.writeType(t.nodeId, dataType, data, operationId, w, method, this.o.clock.now());
  }

  /** Parses and writes one data type (shared by SSH collection and push). */
  private async writeType(nodeId: string, dataType: DataType, data: PushedData, operationId: string, w: Work, method: 'ssh' | 'push', at: Date): Promise<void> {
    const ts = at.toISOString();
    if (dataType === 'system' && data.system) {
      if (method === 'push') w.bytes += Object.values(data.system).reduce((s, v: string) => s + Buffer.byteLength(v), 0);
      const sample = parseSystem(data.system, at.getTime());
      const prev = this.prevSystem.get(nodeId) ?? null;
      const row = systemMetricsRow(nodeId, sample, prev);
      const r = await this.o.store.ingest('system', [row]);
      w.records += r.inserted;
      w.writes++;
      // The per-disk, per-interface and per-filesystem breakdown of the same sample (device_io).
      const io = deviceIoRows(nodeId, sample, prev);
      if (io.length) {
        const b = await this.o.streams.ingest('device_io', io);
        w.records += b.inserted;
        w.writes++;
      }
      this.prevSystem.set(nodeId, sample);
    } else if (dataType === 'containers' && data.containers) {
      const c = data.containers;
      if (method === 'push') w.bytes += Buffer.byteLength((c.dockerPs ?? '') + (c.dockerStats ?? '') + (c.podmanPs ?? ''));
      const rows: ContainerRow[] = [...(c.dockerPs !== undefined ? parseDocker(c.dockerPs, c.dockerStats ?? '') : []), ...(c.podmanPs !== undefined ? parsePodman(c.podmanPs) : [])];
      if (rows.length) {
        const r = await this.o.streams.ingest('containers', rows.map((x) => ({ timestamp: ts, nodeId, ...x })));
        w.records += r.inserted;
        w.writes++;
      }
    } else if (dataType === 'drives' && data.drives) {
      const rows: DriveRow[] = [];
      for (const d of data.drives) {
        if (method === 'push') w.bytes += Buffer.byteLength(d.smartctl);
        try {
          rows.push(parseSmartctl(d.smartctl, d.name));
        } catch (err) {
          w.warnings.push(`${d.name.slice(0, 128)}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500));
        }
      }
      if (rows.length) {
        const r = await this.o.streams.ingest('drives', rows.map((x) => ({ timestamp: ts, nodeId, ...x })));
        w.records += r.inserted;
        w.writes++;
      }
    } else if (dataType === 'config' && data.configFiles) {
      const sink = this.o.sink;
      if (!sink) {
        if (data.configFiles.length) w.warnings.push('configuration tracking is not available: files read but not recorded');
        return;
      }
      for (const f of data.configFiles) {
        if (method === 'push') w.bytes += Buffer.byteLength(f.content);
        let r: Awaited<ReturnType<ConfigFileSink['record']>>;
        try {
          r = await this.o.db.transaction((tx) =>
            sink.record(tx, {
              nodeId,
              filePath: f.path,
              content: Buffer.from(f.content, 'utf8'),
              fileModifiedTime: f.modifiedAt ? new Date(f.modifiedAt) : null,
              collectedAt: at,
              collectionSource: method,
              operationId,
            }),
          );
        } catch (err) {
          // One file configuration tracking refuses (binary, too large) does not lose the others.
          if (!(err instanceof DomainError)) throw err;
          w.warnings.push(`${f.path.slice(0, 256)}: ${err.message}`.slice(0, 500));
          continue;
        }
        if (r.changeType !== 'unchanged') {
          w.records++;
          w.writes++;
        }
      }
    }
  }

  // ---------- cache ----------

  private cacheKey(nodeId: string, dataType: DataType, hash: string): string {
    return `${nodeId}:${dataType}:${hash.slice(0, 32)}`;
  }

  private async cacheHit(nodeId: string, dataType: DataType, hash: string, now: Date): Promise<boolean> {
    const r = await this.o.db.queryOne<{ cache_key: string }>(
      `UPDATE cache_metadata SET access_count = access_count + 1, last_accessed = $2
       WHERE cache_key = $1 AND NOT invalidated AND expires_at > $2 RETURNING cache_key`,
      [this.cacheKey(nodeId, dataType, hash), now],
    );
    return r !== null;
  }

  /** Stores or renews the entry; returns 1 when it replaced one that had expired or was invalidated (an eviction). */
  private async cacheStore(nodeId: string, dataType: DataType, hash: string, now: Date, bytes: number, method: 'ssh' | 'push'): Promise<number> {
    const ttl = this.ttl(dataType);
    const old = await this.o.db.queryOne<{ stale: boolean }>('SELECT (invalidated OR expires_at <= $2) AS stale FROM cache_metadata WHERE cache_key = $1', [this.cacheKey(nodeId, dataType, hash), now]);
    await this.o.db.query(
      `INSERT INTO cache_metadata (cache_key, node_id, data_type, created_at, last_accessed, expires_at, access_count, data_size_bytes, ttl_seconds, collection_method, command_hash)
       VALUES ($1, $2, $3, $4, $4, $4::timestamptz + make_interval(secs => $5), 0, $6, $5, $7, $8)
       ON CONFLICT (cache_key) DO UPDATE SET created_at = $4, last_accessed = $4, expires_at = EXCLUDED.expires_at, access_count = 0, data_size_bytes = $6,
         ttl_seconds = $5, invalidated = false, invalidated_at = NULL, invalidation_reason = NULL, collection_method = $7`,
      [this.cacheKey(nodeId, dataType, hash), nodeId, dataType, now, ttl, Math.min(bytes, 2_147_483_647), method, hash],
    );
    return old?.stale ? 1 : 0;
  }

  // ---------- audit, device state, performance ----------

  private async finish(nodeId: string, r: OperationResult, started: Date, opts: CollectOptions, conns: { created: number; reused: number }, writes: number, evictions = 0): Promise<void> {
    await this.o.streams.ingest('collection_audit', [
      {
        timestamp: started.toISOString(),
        nodeId,
        operationId: r.operationId,
        dataType: r.dataType,
        collectionMethod: r.method,
        collectionSource: (opts.source ?? 'api').slice(0, 100),
        forceRefresh: !!opts.forceRefresh,
        cacheHit: r.cacheHit,
        durationMs: r.durationMs,
        sshCommandCount: r.commands,
        dataSizeBytes: r.bytes,
        status: r.status,
        errorMessage: r.error,
        warnings: r.warnings.slice(0, 50),
        recordsCreated: r.recordsCreated,
        recordsUpdated: 0,
        freshnessThreshold: this.ttl(r.dataType),
      },
    ]);
    if (r.status !== 'cached') {
      const ok = r.status !== 'failed';
      await this.o.db.query(
        `UPDATE device_ssh_targets SET last_collection_at = $2, last_collection_status = $3,
           last_successful_collection = CASE WHEN $4 THEN $2 ELSE last_successful_collection END,
           last_error = CASE WHEN $4 THEN NULL ELSE $5 END, updated_at = $2
         WHERE node_id = $1`,
        [nodeId, started, r.status, ok, r.error],
      );
      if (ok) await this.o.db.query('UPDATE nodes SET last_seen = greatest(last_seen, $2) WHERE id = $1', [nodeId, started]);
    }
    await this.recordPerformance(r, started, conns, writes + 2, evictions);
  }

  private async recordPerformance(r: OperationResult, at: Date, conns: { created: number; reused: number }, writes: number, evictions: number): Promise<void> {
    const bucket = new Date(Math.floor(at.getTime() / 60_000) * 60_000);
    await this.o.db.transaction(async (tx: Queryable) => {
      await tx.query('INSERT INTO service_performance_metrics (time, service_name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [bucket, SERVICE_NAME]);
      const row = await tx.queryOne<{ error_types: Record<string, number>; top_errors: { message: string; count: number }[] }>(
        'SELECT error_types, top_errors FROM service_performance_metrics WHERE time = $1 AND service_name = $2 FOR UPDATE',
        [bucket, SERVICE_NAME],
      );
      const errorTypes = { ...(row?.error_types ?? {}) };
      let top = [...(row?.top_errors ?? [])];
      if (r.status === 'failed' && r.error) {
        const type = errorType(r.error);
        errorTypes[type] = (errorTypes[type] ?? 0) + 1;
        const msg = r.error.slice(0, 300);
        const hit = top.find((e) => e.message === msg);
        if (hit) hit.count++;
        else top.push({ message: msg, count: 1 });
        top = top.sort((a, b) => b.count - a.count).slice(0, 5);
      }
      const cached = r.status === 'cached' ? 1 : 0;
      await tx.query(
        `UPDATE service_performance_metrics SET
           operations_total = operations_total + 1,
           operations_successful = operations_successful + $3,
           operations_failed = operations_failed + $4,
           operations_cached = operations_cached + $5,
           duration_sum_ms = duration_sum_ms + $6,
           avg_duration_ms = (duration_sum_ms + $6) / (operations_total + 1),
           max_duration_ms = greatest(max_duration_ms, $6::int),
           min_duration_ms = least(min_duration_ms, $6::int),
           ssh_connections_created = ssh_connections_created + $7,
           ssh_connections_reused = ssh_connections_reused + $8,
           ssh_commands_executed = ssh_commands_executed + $9,
           cache_hit_ratio = round(((operations_cached + $5) * 100.0 / (operations_total + 1))::numeric, 2)::float8,
           cache_size_entries = (SELECT count(*)::int FROM cache_metadata WHERE NOT invalidated AND expires_at > $1),
           cache_evictions = cache_evictions + $10,
           data_collected_bytes = data_collected_bytes + $11,
           database_writes = database_writes + $12,
           error_types = $13::text::jsonb,
           top_errors = $14::text::jsonb
         WHERE time = $1 AND service_name = $2`,
        [bucket, SERVICE_NAME, r.status === 'success' || r.status === 'partial' ? 1 : 0, r.status === 'failed' ? 1 : 0, cached, r.durationMs, conns.created, conns.reused, r.commands, evictions, r.bytes, writes, JSON.stringify(errorTypes), JSON.stringify(top)],
      );
    });
  }
}

/** A short class of an error message, for error_types. */
export function errorType(message: string): string {
  if (/host key/i.test(message)) return 'host_key_mismatch';
  if (/timed out/i.test(message)) return 'timeout';
  if (/ECONNREFUSED/.test(message)) return 'connection_refused';
  if (/authentication|All configured authentication methods failed/i.test(message)) return 'authentication';
  if (/refused to connect/i.test(message)) return 'address_refused';
  if (/ENOTFOUND|EAI_AGAIN/.test(message)) return 'dns';
  if (/exited with/.test(message)) return 'command_failed';
  if (/JSON|parse|not numeric|has no/i.test(message)) return 'parse';
  return 'other';
}
