/**
 * The wire format of the mail-cluster system's metrics agent
 * (tinovn/tinomail-monitor packages/agent 0.5.4, commit ab918c1:
 * src/monitoring-agent.ts, src/transport/http-metrics-transport.ts,
 * packages/shared/src/types/system-metrics.ts), mapped to Opsdeck's rows.
 *
 * The agent POSTs `{ type, data }` to /api/v1/metrics/{type} (underscores as
 * hyphens) with `x-api-key`; `data` is one row (`time`, camelCase fields of the
 * requirements' §6.1 columns) or, for `mongodb_events`, an array of events.
 *
 * Every field the agent 0.5.4 sends has a column: the §6.1 columns under their
 * names, the MongoDB second-version fields, the process list (node_processes).
 * Counters the agent sends as totals since the server started land in Opsdeck's
 * per-interval columns as increases (counters.ts). A field Opsdeck does not know
 * is not stored and is reported (docs/adr/0009-unknown-fields.md).
 */

/** Agent type → how Opsdeck takes it. */
export const AGENT_TYPES = ['system', 'mongodb_events', 'mongodb', 'redis', 'zonemta', 'rspamd'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

const COMMON: Readonly<Record<string, string>> = { time: 'timestamp', timestamp: 'timestamp', nodeId: 'nodeId' };

/**
 * How the rows of one agent metrics type become rows of an Opsdeck family.
 * `fields`: agent field → Opsdeck field, stored as sent (same meaning and unit).
 * `counters`: agent field (a total since the server started) → the Opsdeck field
 * that holds its increase since the node's previous sample (counters.ts).
 * A field may be in both (ZoneMTA's totals are §6.1 columns and also give the
 * per-interval outcomes). `fixed`: fields the agent does not send.
 */
export interface AgentTypeMap {
  family: string;
  fields: Readonly<Record<string, string>>;
  counters: Readonly<Record<string, string>>;
  fixed?: Readonly<Record<string, unknown>>;
}

const same = (names: readonly string[]) => Object.fromEntries(names.map((n) => [n, n]));

export const AGENT_MAPS: Readonly<Record<Exclude<AgentType, 'mongodb_events'>, AgentTypeMap>> = {
  // packages/shared/src/types/system-metrics.ts SystemMetrics: every field is a §6.1 column
  system: {
    family: 'system',
    fields: {
      ...COMMON,
      ...same(['nodeRole', 'cpuPercent', 'ramPercent', 'ramUsedBytes', 'diskPercent', 'diskFreeBytes', 'diskReadBytesSec', 'diskWriteBytesSec', 'netRxBytesSec', 'netTxBytesSec', 'netRxErrors', 'netTxErrors']),
      ...same(['load1m', 'load5m', 'load15m', 'tcpEstablished', 'tcpTimeWait', 'openFiles']),
    },
    counters: {},
  },
  // MongodbMetrics: opcounters and two WiredTiger counters are serverStatus totals
  mongodb: {
    family: 'mongodb',
    fields: {
      ...COMMON,
      ...same(['role', 'connectionsCurrent', 'connectionsAvailable', 'replLagSeconds', 'dataSizeBytes', 'indexSizeBytes', 'storageSizeBytes', 'oplogWindowHours', 'wtCacheUsedBytes', 'wtCacheMaxBytes', 'wtCacheDirtyBytes']),
      ...same(['connAppImap', 'connAppSmtp', 'connAppInternal', 'connAppMonitoring', 'connAppOther']),
      ...same(['gridfsMessagesBytes', 'gridfsAttachFilesBytes', 'gridfsAttachChunksBytes', 'gridfsStorageFilesBytes', 'gridfsStorageChunksBytes']),
    },
    counters: same(['opsInsert', 'opsQuery', 'opsUpdate', 'opsDelete', 'opsCommand', 'wtCacheTimeoutCount', 'wtEvictionCalls']),
  },
  // RedisMetrics: evicted_keys is INFO's total; hitRate is over the server's lifetime
  redis: {
    family: 'redis',
    fields: { ...COMMON, ...same(['memoryUsedBytes', 'memoryMaxBytes', 'connectedClients', 'opsPerSec', 'hitRate', 'totalKeys']) },
    counters: { evictedKeys: 'evictedKeys' },
  },
  // ZonemtaMetrics: one row per node (all zones), Prometheus totals
  zonemta: {
    family: 'zonemta',
    fields: {
      ...COMMON,
      ...same(['mtaRole', 'queueSize', 'activeDeliveries', 'sentTotal', 'deliveredTotal', 'bouncedTotal', 'deferredTotal', 'rejectedTotal', 'connectionsActive', 'throughputPerSec']),
    },
    counters: { deliveredTotal: 'delivered', bouncedTotal: 'bounced', rejectedTotal: 'rejected' },
    fixed: { zone: 'all' },
  },
  // RspamdMetrics: /stat totals
  rspamd: {
    family: 'rspamd',
    fields: { ...COMMON },
    counters: same(['scanned', 'ham', 'spam', 'greylist', 'rejected', 'learnedHam', 'learnedSpam']),
  },
};

/** Replication events: agent field → mongodb_events field. */
const MONGODB_EVENT_FIELDS: Readonly<Record<string, string>> = {
  time: 'timestamp',
  timestamp: 'timestamp',
  nodeId: 'nodeId',
  eventType: 'eventType',
  oldRole: 'oldRole',
  newRole: 'newRole',
  details: 'details',
};

export interface AgentProcess {
  name: string;
  running: boolean;
  pid: number | null;
  cpuPercent: number | null;
  memoryMB: number | null;
}

export interface MappedRow {
  row: unknown;
  ignored: string[];
  /** System rows: the process list the agent attached (`processes`), when it is one. */
  processes?: unknown;
}

function mapFields(input: unknown, fields: Readonly<Record<string, string>>, extra: (key: string, value: unknown, out: MappedRow) => boolean = () => false): MappedRow {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { row: input, ignored: [] };
  const row: Record<string, unknown> = {};
  const out: MappedRow = { row, ignored: [] };
  for (const [k, v] of Object.entries(input as Record<string, unknown>)) {
    const f = fields[k];
    // the agent sends null for a value it could not read: absent in Opsdeck
    if (f !== undefined) {
      // `timestamp` (Opsdeck's name) wins over the agent's `time`
      if (v !== null && !(k === 'time' && 'timestamp' in (input as Record<string, unknown>))) row[f] = v;
    } else if (!extra(k, v, out)) out.ignored.push(k);
  }
  return out;
}

export function fromAgentSystemRow(input: unknown): MappedRow {
  return mapFields(input, AGENT_MAPS.system.fields, (k, v, out) => {
    if (k !== 'processes') return false;
    out.processes = v;
    return true;
  });
}

/** A row of a type with counters: `totals` holds the counter fields as sent (also mapped when in `fields`). */
export function fromAgentCounterRow(map: AgentTypeMap, input: unknown): MappedRow & { totals: Record<string, unknown> } {
  const totals: Record<string, unknown> = {};
  const m = mapFields(input, map.fields, (k, v) => {
    if (!(k in map.counters)) return false;
    totals[k] = v;
    return true;
  });
  if (typeof input === 'object' && input !== null && !Array.isArray(input)) {
    for (const k of Object.keys(map.counters)) if (k in map.fields && k in input) totals[k] = (input as Record<string, unknown>)[k];
    Object.assign(m.row as Record<string, unknown>, map.fixed ?? {});
  }
  return { ...m, totals };
}

export function fromAgentMongodbEvent(input: unknown): MappedRow {
  return mapFields(input, MONGODB_EVENT_FIELDS);
}
