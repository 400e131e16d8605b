/**
 * The home-lab collector's time-keyed tables, as event streams (ADR 0008, ADR 0022):
 * container_snapshots (one row per container and collection), drive_health (one row per
 * drive and collection, SMART attributes as jsonb) and data_collection_audit (one row per
 * collection operation). They are streams, not families: their identities (container id,
 * drive name, operation id) are high-cardinality text/uuid, drive rows carry jsonb, and
 * only some columns mean something rolled up (container CPU/memory, drive temperature).
 */
import { z } from 'zod';
import { defineStream } from '../../timeseries/stream.ts';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../../timeseries/family.ts';

export const DATA_TYPES = ['system', 'containers', 'drives', 'config'] as const;
export type DataType = (typeof DATA_TYPES)[number];
export const COLLECTION_METHODS = ['ssh', 'push'] as const;
export const COLLECTION_STATUSES = ['success', 'failed', 'partial', 'cached'] as const;
export const CONTAINER_RUNTIMES = ['docker', 'podman'] as const;
/** A device name smartctl reported and the collector accepted (validated before any command uses it). */
export const DRIVE_NAME_PATTERN = /^\/dev\/[a-z0-9/_-]+$/;

const INT_MAX = 2_147_483_647;
const node = {
  type: 'text',
  required: true,
  dimension: true,
  maxLength: NODE_ID_MAX,
  pattern: NODE_ID_PATTERN,
  patternRule: NODE_ID_RULE,
  description: 'The device (nodes.id)',
} as const;

export const containerSnapshots = defineStream({
  table: 'container_snapshots',
  key: 'containers',
  title: 'Container snapshots',
  description: 'Every container of a home-lab device at each collection (docker ps / docker stats / podman ps), from SSH collection or the push API.',
  columns: {
    node_id: { ...node, source: 'the collector' },
    container_id: { type: 'text', required: true, dimension: true, maxLength: 128, description: 'Container id as the runtime reports it', source: 'docker ps .ID / podman ps .Id' },
    name: { type: 'text', maxLength: 255, description: 'Container name, stored as text (never used in a command)', source: 'docker ps .Names / podman ps .Names[0]' },
    image: { type: 'text', maxLength: 512, description: 'Image reference', source: 'docker ps .Image' },
    status: { type: 'text', maxLength: 128, description: 'Human status text (Up 3 minutes, Exited (0) …)', source: 'docker ps .Status' },
    state: { type: 'text', dimension: true, maxLength: 32, description: 'Machine state (running, exited, paused, created, restarting, dead)', source: 'docker ps .State' },
    runtime: { type: 'text', dimension: true, values: CONTAINER_RUNTIMES, description: 'docker or podman', source: 'the command that listed it' },
    cpu_percent: { type: 'double', min: 0, max: 100_000, unit: 'percent', description: 'CPU use (100 = one core; running containers only)', source: 'docker stats .CPUPerc' },
    memory_usage_bytes: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', description: 'Memory in use', source: 'docker stats .MemUsage (first part)' },
    memory_limit_bytes: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', description: 'Memory limit', source: 'docker stats .MemUsage (second part)' },
  },
  idempotencyKey: ['node_id', 'container_id'],
  indexes: [['node_id', 'container_id']],
  chunkInterval: '1 day',
  retention: '30 days',
  compressAfter: '2 days',
  segmentBy: 'node_id',
  statsGroupBy: ['node_id'],
  maxListWindow: '31 days',
  rollups: [
    {
      name: 'container_stats_5m',
      level: '5m',
      description: 'Container CPU and memory per 5 minutes, by device and container',
      groupBy: ['node_id', 'container_id'],
      measures: { samples: { fn: 'count' }, avg_cpu_percent: { fn: 'avg', column: 'cpu_percent' }, max_cpu_percent: { fn: 'max', column: 'cpu_percent' }, avg_memory_bytes: { fn: 'avg', column: 'memory_usage_bytes' }, max_memory_bytes: { fn: 'max', column: 'memory_usage_bytes' } },
      refreshEvery: '5 minutes',
      retention: '90 days',
    },
    {
      name: 'container_stats_1h',
      level: '1h',
      description: 'Container CPU and memory per hour, by device and container',
      groupBy: ['node_id', 'container_id'],
      measures: { samples: { fn: 'count' }, avg_cpu_percent: { fn: 'avg', column: 'cpu_percent' }, max_cpu_percent: { fn: 'max', column: 'cpu_percent' }, avg_memory_bytes: { fn: 'avg', column: 'memory_usage_bytes' }, max_memory_bytes: { fn: 'max', column: 'memory_usage_bytes' } },
      refreshEvery: '30 minutes',
      retention: '365 days',
    },
  ],
});

/** One SMART attribute as stored (ATA table rows; NVMe health-log fields as id 0 with their name). */
export const smartAttributeSchema = z.strictObject({
  id: z.number().int().min(0).max(255),
  name: z.string().max(64),
  value: z.number().int().nullable(),
  worst: z.number().int().nullable(),
  thresh: z.number().int().nullable(),
  raw: z.number().nullable(),
  whenFailed: z.string().max(32),
});
export type SmartAttribute = z.infer<typeof smartAttributeSchema>;

export const driveHealth = defineStream({
  table: 'drive_health',
  key: 'drives',
  title: 'Drive health',
  description: 'SMART data of every drive of a home-lab device at each collection (smartctl --json -a), from SSH collection or the push API.',
  columns: {
    node_id: { ...node, source: 'the collector' },
    drive_name: { type: 'text', required: true, dimension: true, maxLength: 128, pattern: DRIVE_NAME_PATTERN, patternRule: '/dev/ followed by lower-case letters, digits, / _ -', description: 'Device path', source: 'smartctl --scan-open .devices[].name' },
    model: { type: 'text', maxLength: 255, description: 'Model name', source: 'smartctl .model_name' },
    serial_number: { type: 'text', maxLength: 255, description: 'Serial number', source: 'smartctl .serial_number' },
    protocol: { type: 'text', dimension: true, maxLength: 32, description: 'ATA, NVMe, SCSI', source: 'smartctl .device.protocol' },
    smart_attributes: { type: 'jsonb', json: z.array(smartAttributeSchema).max(256), maxJsonBytes: 65_536, description: 'SMART attributes (ATA table; NVMe health log as named values)', source: 'smartctl .ata_smart_attributes.table / .nvme_smart_health_information_log' },
    temperature_celsius: { type: 'smallint', min: -100, max: 200, unit: '°C', description: 'Current temperature', source: 'smartctl .temperature.current' },
    power_on_hours: { type: 'integer', min: 0, max: INT_MAX, unit: 'hours', description: 'Power-on hours', source: 'smartctl .power_on_time.hours' },
    is_healthy: { type: 'boolean', description: 'Overall SMART self-assessment passed', source: 'smartctl .smart_status.passed' },
    reallocated_sectors: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'sectors', description: 'Reallocated sectors (ATA attribute 5 raw; NVMe: none)', source: 'smartctl attribute 5' },
    pending_sectors: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'sectors', description: 'Sectors pending reallocation (ATA attribute 197 raw)', source: 'smartctl attribute 197' },
  },
  idempotencyKey: ['node_id', 'drive_name'],
  indexes: [['node_id', 'drive_name']],
  chunkInterval: '7 days',
  retention: '730 days',
  compressAfter: '14 days',
  segmentBy: 'node_id',
  statsGroupBy: ['node_id'],
  maxListWindow: '366 days',
  rollups: [
    {
      name: 'drive_temperature_1h',
      level: '1h',
      description: 'Drive temperature per hour, by device and drive',
      groupBy: ['node_id', 'drive_name'],
      measures: { samples: { fn: 'count' }, avg_temperature: { fn: 'avg', column: 'temperature_celsius' }, max_temperature: { fn: 'max', column: 'temperature_celsius' } },
      refreshEvery: '30 minutes',
      retention: '1825 days',
    },
  ],
});

export const collectionAudit = defineStream({
  table: 'data_collection_audit',
  key: 'collection_audit',
  title: 'Data collection audit',
  description: 'One row per collection operation of the home-lab collector (a data type of a device, over SSH or pushed): how, how long, how much, what came of it.',
  columns: {
    node_id: { ...node, source: 'the collector' },
    operation_id: { type: 'uuid', required: true, dimension: true, description: 'The operation (a collection of one data type of one device)', source: 'the collector' },
    data_type: { type: 'text', required: true, dimension: true, values: DATA_TYPES, description: 'system, containers, drives or config', source: 'the collector' },
    collection_method: { type: 'text', required: true, dimension: true, values: COLLECTION_METHODS, description: 'ssh (collected) or push (sent through the API)', source: 'the collector' },
    collection_source: { type: 'text', maxLength: 100, description: 'What started it: schedule, api (POST …/collect), push', source: 'the collector' },
    force_refresh: { type: 'boolean', required: true, description: 'The cache was bypassed', source: 'the request' },
    cache_hit: { type: 'boolean', required: true, description: 'Answered from the cache (nothing run on the device)', source: 'cache_metadata' },
    duration_ms: { type: 'integer', min: 0, max: INT_MAX, unit: 'ms', description: 'Duration of the operation', source: 'the collector' },
    ssh_command_count: { type: 'integer', min: 0, max: 10_000, description: 'Commands run on the device', source: 'the collector' },
    data_size_bytes: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', description: 'Bytes of command output (or pushed data) read', source: 'the collector' },
    status: { type: 'text', required: true, dimension: true, values: COLLECTION_STATUSES, description: 'success, failed, partial (some parts failed), cached', source: 'the collector' },
    error_message: { type: 'text', maxLength: 2000, description: 'Why it failed', source: 'the collector' },
    warnings: { type: 'jsonb', json: z.array(z.string().max(500)).max(50), maxJsonBytes: 32_768, description: 'Non-fatal problems (a drive that did not answer, a file over the size cap)', source: 'the collector' },
    records_created: { type: 'integer', min: 0, max: INT_MAX, description: 'Rows written', source: 'the collector' },
    records_updated: { type: 'integer', min: 0, max: INT_MAX, description: 'Rows updated', source: 'the collector' },
    freshness_threshold: { type: 'integer', min: 0, max: INT_MAX, unit: 's', description: 'The cache TTL of the data type when it ran', source: 'the collector' },
  },
  idempotencyKey: ['node_id', 'operation_id'],
  indexes: [['node_id', 'data_type'], ['status']],
  chunkInterval: '1 day',
  retention: '90 days',
  compressAfter: '7 days',
  segmentBy: 'node_id',
  statsGroupBy: ['data_type', 'status'],
  maxListWindow: '31 days',
  // The audit of Opsdeck's own collections: written by the collector only (a push is audited by it too), read through the API.
  apiIngest: false,
  rollups: [],
});

export const IO_KINDS = ['disk', 'interface', 'filesystem'] as const;
export type IoKind = (typeof IO_KINDS)[number];
const RATE_MAX = 1e15;

/**
 * The per-disk, per-interface and per-filesystem breakdown of a system collection: one row per
 * whole disk (/proc/diskstats), non-loopback interface (/proc/net/dev) and filesystem (df) at
 * each collection. metrics_system keeps the device's totals (what alerts and charts read);
 * this stream keeps the parts they were summed from. Kept as long as metrics_system raw rows.
 */
export const deviceIo = defineStream({
  table: 'device_io',
  key: 'device_io',
  title: 'Device I/O breakdown',
  description: 'Per-disk read/write rates, per-interface traffic and errors, and per-filesystem usage of a home-lab device at each system collection (SSH or push).',
  columns: {
    node_id: { ...node, source: 'the collector' },
    kind: { type: 'text', required: true, dimension: true, values: IO_KINDS, description: 'disk, interface or filesystem', source: 'the collector' },
    name: { type: 'text', required: true, dimension: true, maxLength: 255, description: 'Disk name (sda, nvme0n1), interface name (eth0) or mount point (/srv)', source: '/proc/diskstats field 3 / /proc/net/dev / df -P mount' },
    read_bytes_per_sec: { type: 'double', min: 0, max: RATE_MAX, unit: 'bytes/s', description: 'Disk: bytes read per second since the previous collection (null for the first sample)', source: '/proc/diskstats sectors read delta × 512' },
    write_bytes_per_sec: { type: 'double', min: 0, max: RATE_MAX, unit: 'bytes/s', description: 'Disk: bytes written per second since the previous collection (null for the first sample)', source: '/proc/diskstats sectors written delta × 512' },
    rx_bytes_per_sec: { type: 'double', min: 0, max: RATE_MAX, unit: 'bytes/s', description: 'Interface: bytes received per second since the previous collection (null for the first sample)', source: '/proc/net/dev receive bytes delta' },
    tx_bytes_per_sec: { type: 'double', min: 0, max: RATE_MAX, unit: 'bytes/s', description: 'Interface: bytes sent per second since the previous collection (null for the first sample)', source: '/proc/net/dev transmit bytes delta' },
    rx_errors: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'Interface: receive errors since boot (counter)', source: '/proc/net/dev receive errs' },
    tx_errors: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, description: 'Interface: transmit errors since boot (counter)', source: '/proc/net/dev transmit errs' },
    size_bytes: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', description: 'Filesystem: size', source: 'df -P -B1 total' },
    used_bytes: { type: 'bigint', min: 0, max: Number.MAX_SAFE_INTEGER, unit: 'bytes', description: 'Filesystem: used space', source: 'df -P -B1 used' },
    used_percent: { type: 'double', min: 0, max: 100, unit: 'percent', description: 'Filesystem: used / size × 100', source: 'df -P -B1 used / total' },
  },
  idempotencyKey: ['node_id', 'kind', 'name'],
  indexes: [['node_id', 'kind', 'name']],
  chunkInterval: '1 day',
  retention: '90 days',
  compressAfter: '7 days',
  segmentBy: 'node_id',
  statsGroupBy: ['node_id', 'kind'],
  maxListWindow: '31 days',
  // The breakdown of Opsdeck's own collections: written by the collector (SSH and push), read through the API.
  apiIngest: false,
  rollups: [
    {
      name: 'device_io_1h',
      level: '1h',
      description: 'Disk and interface rates and filesystem use per hour, by device, kind and name',
      groupBy: ['node_id', 'kind', 'name'],
      measures: {
        samples: { fn: 'count' },
        avg_read_bytes_per_sec: { fn: 'avg', column: 'read_bytes_per_sec' },
        avg_write_bytes_per_sec: { fn: 'avg', column: 'write_bytes_per_sec' },
        avg_rx_bytes_per_sec: { fn: 'avg', column: 'rx_bytes_per_sec' },
        avg_tx_bytes_per_sec: { fn: 'avg', column: 'tx_bytes_per_sec' },
        max_used_percent: { fn: 'max', column: 'used_percent' },
      },
      refreshEvery: '30 minutes',
      retention: '365 days',
    },
  ],
});
