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
 * Only fields whose meaning is the same on both sides are mapped. A field
 * Opsdeck has no column for yet — or one whose meaning differs (the agent's
 * counters are totals since the server started, Opsdeck's family columns hold
 * per-interval deltas) — is not stored and is reported (docs/adr/0009-unknown-fields.md).
 */

/** Agent type → how Opsdeck takes it. */
export const AGENT_TYPES = ['system', 'mongodb_events', 'mongodb', 'redis', 'zonemta', 'rspamd'] as const;
export type AgentType = (typeof AGENT_TYPES)[number];

/** The types whose rows Opsdeck cannot store faithfully yet, and why. */
export const UNSUPPORTED_AGENT_TYPES: Readonly<Partial<Record<AgentType, string>>> = {
  mongodb: "the agent sends opcounters as totals since the server started; Opsdeck's metrics_mongodb holds per-interval deltas",
  redis: "the agent sends evicted keys as a total and hit rate as a percentage; Opsdeck's metrics_redis holds per-interval deltas",
  zonemta: "the agent reports one row per node with totals; Opsdeck's metrics_zonemta holds per-zone queue sizes and per-interval outcomes",
  rspamd: "the agent sends totals since Rspamd started; Opsdeck's metrics_rspamd holds per-interval deltas",
};

/** System metrics: agent field → Opsdeck field (same unit and meaning). */
const SYSTEM_FIELDS: Readonly<Record<string, string>> = {
  time: 'timestamp',
  timestamp: 'timestamp',
  nodeId: 'nodeId',
  nodeRole: 'nodeRole',
  cpuPercent: 'cpuPercent',
  ramUsedBytes: 'ramUsedBytes',
  diskReadBytesSec: 'diskReadBytesPerSec',
  diskWriteBytesSec: 'diskWriteBytesPerSec',
  netRxBytesSec: 'netRxBytesPerSec',
  netTxBytesSec: 'netTxBytesPerSec',
  load1m: 'load1m',
  load5m: 'load5m',
  load15m: 'load15m',
  tcpEstablished: 'tcpEstablished',
  tcpTimeWait: 'tcpTimeWait',
  openFiles: 'openFiles',
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
  return mapFields(input, SYSTEM_FIELDS, (k, v, out) => {
    if (k !== 'processes') return false;
    out.processes = v;
    return true;
  });
}

export function fromAgentMongodbEvent(input: unknown): MappedRow {
  return mapFields(input, MONGODB_EVENT_FIELDS);
}
