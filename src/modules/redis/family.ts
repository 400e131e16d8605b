/**
 * metrics_redis: one row per Redis (or Valkey) server every 15 s, from the sections of
 * the INFO command: clients, memory, stats, persistence, replication and keyspace.
 *
 * Server counters that only ever grow (keyspace_hits, keyspace_misses, evicted_keys,
 * expired_keys) are stored as per-interval deltas computed by the agent and summed by
 * the rollups; gauges are averaged, peaks take MAX, and the replica count takes MIN so
 * a bucket shows a replica that dropped out. Status flags keep the last value of the
 * bucket (alerting works on the raw rows).
 *
 * The requirements' §6.1 columns are here under their names and units: memory_used_bytes,
 * memory_max_bytes, connected_clients, ops_per_sec, hit_rate, evicted_keys, total_keys.
 * §6.1 does not say whether evicted_keys is a total or a count per sample; Opsdeck keeps
 * it per interval (what a sum over a bucket needs) and turns a sender's totals into
 * deltas (the mail-cluster agent: src/modules/mail-agent/counters.ts).
 */
import { CEILING, defineFamily, METRICS_15S } from '../../timeseries/family.ts';

const delta = 'Per-interval count: the agent sends the increase since its previous sample (after a restart, when the counter went down, the new value itself), so rollups sum it.';

export const metricsRedis = defineFamily({
  table: 'metrics_redis',
  key: 'redis',
  title: 'Redis metrics',
  description: 'Clients, memory, throughput, keyspace hits and misses, evictions and expirations, keys, replication and persistence of every Redis server, sampled every 15 s.',
  identity: { node_id: { description: 'Node running the Redis server (nodes.id)' } },
  ...METRICS_15S,
  rollups: { '5m': 'redis_stats_5m', '1h': 'redis_stats_1h', '1d': 'redis_stats_daily' },
  columns: {
    role: {
      type: 'text',
      unit: 'label',
      agg: 'last',
      values: ['master', 'replica'],
      description: 'Replication role: master, or replica (INFO reports a replica as "slave"; the agent sends "replica")',
      source: 'INFO replication: role',
    },
    connected_clients: { type: 'integer', unit: 'clients', agg: 'avg', min: 0, max: CEILING.int32, description: 'Client connections open (replicas excluded)', source: 'INFO clients: connected_clients' },
    blocked_clients: { type: 'integer', unit: 'clients', agg: 'max', min: 0, max: CEILING.int32, description: 'Clients waiting in a blocking call (BLPOP, BRPOP, XREAD BLOCK, WAIT, ...); rolls up with MAX to keep spikes', source: 'INFO clients: blocked_clients' },
    memory_used_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Memory allocated by Redis for data and buffers', source: 'INFO memory: used_memory' },
    used_memory_peak_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Highest memory_used_bytes since the server started', source: 'INFO memory: used_memory_peak' },
    memory_max_bytes: { type: 'bigint', unit: 'bytes', agg: 'last', min: 0, max: CEILING.bytes, description: 'Configured memory limit; 0 means no limit', source: 'INFO memory: maxmemory' },
    mem_fragmentation_ratio: { type: 'double', unit: 'ratio', agg: 'avg', min: 0, max: CEILING.ratio, description: 'Resident memory of the process divided by used_memory (> 1.5: fragmentation; < 1: swapping)', source: 'INFO memory: mem_fragmentation_ratio' },
    ops_per_sec: { type: 'double', unit: 'operations/s', agg: 'avg', min: 0, max: CEILING.perSecond, description: 'Commands processed per second, as measured by the server over its last samples', source: 'INFO stats: instantaneous_ops_per_sec' },
    keyspace_hits: { type: 'bigint', unit: 'lookups', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Successful key lookups in the interval. ${delta}`, source: 'INFO stats: keyspace_hits (delta)' },
    keyspace_misses: { type: 'bigint', unit: 'lookups', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Failed key lookups in the interval. ${delta}`, source: 'INFO stats: keyspace_misses (delta)' },
    evicted_keys: { type: 'bigint', unit: 'keys', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Keys evicted because of the maxmemory limit in the interval. ${delta}`, source: 'INFO stats: evicted_keys (delta)' },
    expired_keys: { type: 'bigint', unit: 'keys', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Keys removed on TTL expiry in the interval. ${delta}`, source: 'INFO stats: expired_keys (delta)' },
    total_keys: { type: 'bigint', unit: 'keys', agg: 'avg', min: 0, max: CEILING.count, description: 'Keys in all databases', source: 'INFO keyspace: keys=, summed over every dbN line' },
    connected_replicas: {
      type: 'integer',
      unit: 'replicas',
      agg: 'min',
      min: 0,
      max: CEILING.int32,
      description: 'Replicas connected to this server; rolls up with MIN so a replica that dropped out shows in the bucket',
      source: 'INFO replication: connected_slaves',
    },
    repl_offset_lag_bytes: {
      type: 'bigint',
      unit: 'bytes',
      agg: 'max',
      min: 0,
      max: CEILING.bytes,
      description: 'Replication backlog not yet applied: on a replica, master offset − own offset; on a master, master offset − offset of the slowest replica (0 without replicas)',
      source: 'INFO replication: master_repl_offset − slave_repl_offset (replica) / master_repl_offset − min(slaveN offset=) (master)',
    },
    master_link_up: {
      type: 'integer',
      unit: 'flag',
      agg: 'min',
      min: 0,
      max: 1,
      description: 'On a replica: 1 when the link to the master is up, 0 when down (null on a master); rolls up with MIN: 0 when the link was down in any sample of the bucket',
      source: 'INFO replication: master_link_status (up → 1, down → 0)',
    },
    rdb_last_bgsave_ok: {
      type: 'integer',
      unit: 'flag',
      agg: 'min',
      min: 0,
      max: 1,
      description: '1 when the last RDB snapshot succeeded, 0 when it failed; rolls up with MIN: 0 when a failure was seen in the bucket',
      source: 'INFO persistence: rdb_last_bgsave_status (ok → 1, err → 0)',
    },
    rdb_changes_since_last_save: { type: 'bigint', unit: 'changes', agg: 'max', min: 0, max: CEILING.count, description: 'Writes not yet in an RDB snapshot (what a crash would lose without AOF)', source: 'INFO persistence: rdb_changes_since_last_save' },
    aof_enabled: { type: 'integer', unit: 'flag', agg: 'min', min: 0, max: 1, description: '1 when the append-only file is on; rolls up with MIN: 1 only when it was on throughout the bucket', source: 'INFO persistence: aof_enabled' },
    aof_last_write_ok: {
      type: 'integer',
      unit: 'flag',
      agg: 'min',
      min: 0,
      max: 1,
      description: '1 when the last write to the AOF succeeded, 0 when it failed (null when AOF is off); rolls up with MIN',
      source: 'INFO persistence: aof_last_write_status (ok → 1, err → 0)',
    },
    hit_rate: {
      type: 'double',
      unit: 'percent',
      agg: 'avg',
      min: 0,
      max: CEILING.percent,
      description:
        'Key lookups that found their key, as a percentage, as the sender computed it: over the interval when it sends keyspace_hits/misses deltas, over the server’s lifetime for the mail-cluster agent. The hit rate of a bucket is best computed from its keyspace_hits and keyspace_misses sums',
      source: 'INFO stats: keyspace_hits / (keyspace_hits + keyspace_misses) × 100',
    },
  },
});
