/**
 * metrics_mongodb: one row per mongod every 15 s — exactly the column set settled in
 * mongodb-metrics-fix-and-cluster-status.md (the "Drizzle schema (correct)" row):
 * time, node_id, role, connections_current, connections_available, ops_insert,
 * ops_query, ops_update, ops_delete, ops_command, repl_lag_seconds, data_size_bytes,
 * index_size_bytes, storage_size_bytes, oplog_window_hours, wt_cache_used_bytes,
 * wt_cache_max_bytes. The ingest body is the flat camelCase form of those names
 * (nodeId, timestamp, role, connectionsCurrent, … wtCacheMaxBytes).
 *
 * Rollups (the seed's Step 4): AVG for connections, lag and cache; MAX for sizes;
 * SUM for the ops_* counts (the agent sends per-interval deltas, so a bucket's sum is
 * the number of operations in the bucket). The oplog window rolls up with MIN: what
 * matters for resync safety is the shortest window seen in the bucket — an average
 * would hide the burst of writes that squeezed it.
 *
 * The agent's second-version fields follow as columns: WiredTiger cache pressure
 * (dirty bytes; cache lock timeouts and eviction calls per interval, summed), client
 * connections by application, and the storage size of WildDuck's GridFS collections.
 *
 * No roleColumn: nodes.role holds the service role of a node (system metrics'
 * node_role: mongodb, redis, ...). The replica-set member state lives in this family's
 * `role` column and is read from there by cluster-status.ts.
 */
import { CEILING, defineFamily, METRICS_15S } from '../../timeseries/family.ts';

/**
 * Member states as reported by replSetGetStatus (members[].stateStr), plus `standalone` for a
 * mongod that is not part of a replica set. Stored lower-case; accepted in any case, so an
 * agent may forward `stateStr` as MongoDB reports it (`PRIMARY`, `SECONDARY`, ...).
 */
export const MONGODB_ROLES = ['primary', 'secondary', 'arbiter', 'recovering', 'startup', 'startup2', 'rollback', 'down', 'unknown', 'removed', 'standalone'] as const;
export type MongoRole = (typeof MONGODB_ROLES)[number];

const delta = 'Per-interval count: the agent sends the increase of the server counter since its previous sample (counter resets on restart are sent as the new value), so rollups sum it.';

export const metricsMongodb = defineFamily({
  table: 'metrics_mongodb',
  key: 'mongodb',
  title: 'MongoDB metrics',
  description: 'Connections, operation counts, replication lag, data/index/storage sizes, oplog window and WiredTiger cache of every mongod, sampled every 15 s.',
  identity: { node_id: { description: 'Node running the mongod (nodes.id)' } },
  ...METRICS_15S,
  rollups: { '5m': 'mongodb_stats_5m', '1h': 'mongodb_stats_1h', '1d': 'mongodb_stats_daily' },
  columns: {
    role: {
      type: 'text',
      unit: 'label',
      agg: 'last',
      values: MONGODB_ROLES,
      caseInsensitive: true,
      description:
        'Replica-set member state when sampled: primary, secondary, arbiter, recovering, startup, startup2, rollback, down, unknown, removed, or standalone outside a replica set. Accepted in any case (PRIMARY as MongoDB reports it), stored lower-case',
      source: 'replSetGetStatus: members[self].stateStr; standalone when not in a replica set',
    },
    connections_current: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Incoming client connections open', source: 'serverStatus: connections.current' },
    connections_available: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Incoming connections still available before the limit', source: 'serverStatus: connections.available' },
    ops_insert: { type: 'bigint', unit: 'operations', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Insert operations in the interval. ${delta}`, source: 'serverStatus: opcounters.insert (delta)' },
    ops_query: { type: 'bigint', unit: 'operations', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Query operations in the interval. ${delta}`, source: 'serverStatus: opcounters.query (delta)' },
    ops_update: { type: 'bigint', unit: 'operations', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Update operations in the interval. ${delta}`, source: 'serverStatus: opcounters.update (delta)' },
    ops_delete: { type: 'bigint', unit: 'operations', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Delete operations in the interval. ${delta}`, source: 'serverStatus: opcounters.delete (delta)' },
    ops_command: { type: 'bigint', unit: 'operations', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Commands in the interval. ${delta}`, source: 'serverStatus: opcounters.command (delta)' },
    repl_lag_seconds: {
      type: 'double',
      unit: 'seconds',
      agg: 'avg',
      min: 0,
      max: CEILING.seconds,
      description: 'How far this member’s applied oplog is behind the primary (0 on the primary, null on arbiters and standalones)',
      source: 'replSetGetStatus: primary optimeDate − members[self].optimeDate',
    },
    data_size_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Uncompressed size of the documents, all databases', source: 'dbStats: dataSize, summed over listDatabases' },
    index_size_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Size of all indexes, all databases', source: 'dbStats: indexSize, summed over listDatabases' },
    storage_size_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Space allocated for documents on disk (compressed), all databases', source: 'dbStats: storageSize, summed over listDatabases' },
    oplog_window_hours: {
      type: 'double',
      unit: 'hours',
      agg: 'min',
      min: 0,
      max: CEILING.hours,
      description: 'Time span covered by the oplog (newest − oldest entry): how long a member may be down and still catch up without a full resync. Rolls up with MIN: the shortest window in the bucket is the one that matters',
      source: 'local.oplog.rs: ts of the last entry − ts of the first entry (rs.printReplicationInfo "log length start to end")',
    },
    wt_cache_used_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Data held in the WiredTiger cache', source: 'serverStatus: wiredTiger.cache["bytes currently in the cache"]' },
    wt_cache_max_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Configured size of the WiredTiger cache', source: 'serverStatus: wiredTiger.cache["maximum bytes configured"]' },
    wt_cache_dirty_bytes: { type: 'bigint', unit: 'bytes', agg: 'avg', min: 0, max: CEILING.bytes, description: 'Modified data in the WiredTiger cache not yet written to disk (above ~20 % of the cache, application threads are made to evict)', source: 'serverStatus: wiredTiger.cache["tracked dirty bytes in the cache"]' },
    wt_cache_timeout_count: {
      type: 'bigint',
      unit: 'operations',
      agg: 'sum',
      min: 0,
      max: CEILING.perInterval,
      description: `Cache operations that timed out waiting for a lock in the interval. ${delta}`,
      source: 'serverStatus: wiredTiger.cache["cache timed out waiting for the lock requests"] (or "pages timed out while waiting for lock") (delta)',
    },
    wt_eviction_calls: { type: 'bigint', unit: 'calls', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Eviction calls in the interval. ${delta}`, source: 'serverStatus: wiredTiger.cache["eviction calls"] (delta)' },
    conn_app_imap: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Client connections from IMAP servers (appName matching wildduck…imap or dovecot)', source: '$currentOp (idleConnections) grouped by appName' },
    conn_app_smtp: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Client connections from SMTP servers (wildduck…smtp, Haraka, ZoneMTA, Postfix)', source: '$currentOp grouped by appName' },
    conn_app_internal: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Connections of MongoDB itself (replication, internal clients)', source: '$currentOp grouped by appName' },
    conn_app_monitoring: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Connections of monitoring agents (monitor, agent, Prometheus, Telegraf, Datadog)', source: '$currentOp grouped by appName' },
    conn_app_other: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Client connections of any other application', source: '$currentOp grouped by appName' },
    gridfs_messages_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Storage size of the WildDuck messages collection (primary only)', source: 'collStats wildduck.messages: storageSize' },
    gridfs_attach_files_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Storage size of attachments.files (primary only)', source: 'collStats wildduck-attachments.attachments.files: storageSize' },
    gridfs_attach_chunks_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Storage size of attachments.chunks (primary only)', source: 'collStats wildduck-attachments.attachments.chunks: storageSize' },
    gridfs_storage_files_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Storage size of storage.files (primary only)', source: 'collStats wildduck-attachments.storage.files: storageSize' },
    gridfs_storage_chunks_bytes: { type: 'bigint', unit: 'bytes', agg: 'max', min: 0, max: CEILING.bytes, description: 'Storage size of storage.chunks (primary only)', source: 'collStats wildduck-attachments.storage.chunks: storageSize' },
  },
});
