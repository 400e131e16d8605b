/**
 * metrics_system: host metrics every 15 s (mail-cluster-timescaledb-schema.md,
 * "20 columns: time, node_id, node_role, cpu/ram/disk/net metrics, load, tcp, open_files").
 *
 * Every column of the requirements' §6.1 metrics_system exists under its name and unit
 * (ram_percent, disk_percent, disk_free_bytes, disk_read_bytes_sec, ..., net_rx_errors);
 * Opsdeck's additional columns (cpu_iowait_percent, ram_total_bytes, swap_used_bytes,
 * disk_used_bytes, disk_total_bytes) carry what a percentage alone loses: the sizes
 * behind it, swap, and I/O wait. Rates are double precision where §6.1 says BIGINT
 * (a rate over 15 s is rarely a whole number). See docs/schema.md.
 */
import { CEILING, defineFamily, METRICS_15S } from '../../timeseries/family.ts';

export const metricsSystem = defineFamily({
  table: 'metrics_system',
  key: 'system',
  title: 'Host metrics',
  description: 'CPU, memory, swap, disk, disk I/O, network, load, TCP and open files of every node, sampled every 15 s.',
  identity: { node_id: { description: 'Node that reported the sample (nodes.id)' } },
  roleColumn: 'node_role',
  ...METRICS_15S,
  rollups: { '5m': 'system_stats_5m', '1h': 'system_stats_1h', '1d': 'system_stats_daily' },
  columns: {
    node_role: { type: 'text', unit: 'label', agg: 'last', description: 'Role of the node when sampled (mongodb, redis, zonemta, wildduck, rspamd, host, ...)', source: 'agent configuration' },
    cpu_percent: { type: 'double', unit: 'percent', agg: 'avg', min: 0, max: CEILING.percent, description: 'CPU busy time over the interval, all cores (100 = every core busy)', source: '/proc/stat (1 - idle - iowait delta / total delta)' },
    cpu_iowait_percent: { type: 'double', unit: 'percent', agg: 'avg', min: 0, max: CEILING.percent, description: 'CPU time waiting for I/O over the interval', source: '/proc/stat iowait delta' },
    ram_used_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Memory in use (total - available)', source: '/proc/meminfo MemTotal - MemAvailable' },
    ram_total_bytes: { type: 'bigint', unit: 'bytes', agg: 'last', min: 0, max: CEILING.bytes, description: 'Installed memory', source: '/proc/meminfo MemTotal' },
    swap_used_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Swap in use', source: '/proc/meminfo SwapTotal - SwapFree' },
    disk_used_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Used space on the data filesystem', source: 'statfs(2) of the data mount' },
    disk_total_bytes: { type: 'bigint', unit: 'bytes', agg: 'last', min: 0, max: CEILING.bytes, description: 'Size of the data filesystem', source: 'statfs(2) of the data mount' },
    disk_read_bytes_sec: { type: 'double', unit: 'bytes/s', agg: 'avg', min: 0, max: CEILING.bytesPerSecond, description: 'Bytes read from block devices per second over the interval', source: '/proc/diskstats sectors read delta × 512' },
    disk_write_bytes_sec: { type: 'double', unit: 'bytes/s', agg: 'avg', min: 0, max: CEILING.bytesPerSecond, description: 'Bytes written to block devices per second over the interval', source: '/proc/diskstats sectors written delta × 512' },
    net_rx_bytes_sec: { type: 'double', unit: 'bytes/s', agg: 'avg', min: 0, max: CEILING.bytesPerSecond, description: 'Bytes received per second, all non-loopback interfaces', source: '/proc/net/dev receive bytes delta' },
    net_tx_bytes_sec: { type: 'double', unit: 'bytes/s', agg: 'avg', min: 0, max: CEILING.bytesPerSecond, description: 'Bytes sent per second, all non-loopback interfaces', source: '/proc/net/dev transmit bytes delta' },
    load_1m: { type: 'double', unit: 'load', agg: 'avg', min: 0, max: CEILING.load, description: '1-minute load average', source: '/proc/loadavg' },
    load_5m: { type: 'double', unit: 'load', agg: 'avg', min: 0, max: CEILING.load, description: '5-minute load average', source: '/proc/loadavg' },
    load_15m: { type: 'double', unit: 'load', agg: 'avg', min: 0, max: CEILING.load, description: '15-minute load average', source: '/proc/loadavg' },
    tcp_established: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'TCP connections in ESTABLISHED state', source: '/proc/net/tcp + tcp6 state 01' },
    tcp_time_wait: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'TCP connections in TIME_WAIT state', source: '/proc/net/tcp + tcp6 state 06' },
    open_files: { type: 'integer', unit: 'files', agg: 'avg', min: 0, max: CEILING.int32, description: 'Open file handles, system-wide', source: '/proc/sys/fs/file-nr (first field)' },
    ram_percent: { type: 'double', unit: 'percent', agg: 'avg', min: 0, max: CEILING.percent, description: 'Memory in use as a percentage of installed memory', source: '/proc/meminfo (MemTotal - MemAvailable) / MemTotal × 100' },
    disk_percent: { type: 'double', unit: 'percent', agg: 'max', min: 0, max: CEILING.percent, description: 'Used space as a percentage of the size of the data filesystem(s); rolls up with MAX', source: 'statfs(2): used / size × 100' },
    disk_free_bytes: { type: 'bigint', unit: 'bytes', agg: 'min', min: 0, max: CEILING.bytes, description: 'Free space on the data filesystem(s); rolls up with MIN (the tightest moment of the bucket)', source: 'statfs(2): size - used' },
    net_rx_errors: {
      type: 'bigint',
      unit: 'errors',
      agg: 'last',
      min: 0,
      max: CEILING.counter,
      description: 'Receive errors counted by the kernel since the interface came up: a counter, not a per-interval count (its increase between two samples is the errors in between; it restarts at 0 on reboot)',
      source: '/proc/net/dev receive errs',
    },
    net_tx_errors: {
      type: 'bigint',
      unit: 'errors',
      agg: 'last',
      min: 0,
      max: CEILING.counter,
      description: 'Transmit errors counted by the kernel since the interface came up: a counter, like net_rx_errors',
      source: '/proc/net/dev transmit errs',
    },
  },
});
