/**
 * Sample data for a small mail cluster (`opsdeck db seed --sample`): a realistic week of
 * metrics so every endpoint has something to show.
 *
 * Topology (node ids are the service instances; the six hosts report system metrics
 * under the same ids):
 *   mongo-1 (primary), mongo-2, mongo-3 (secondaries)  — one replica set, one host each
 *   redis-1 (master, runs on host mta-1), redis-2 (replica, runs on host mta-2)
 *   mta-1, mta-2 — ZoneMTA with the sending zones `default` and `bulk`
 *   rspamd-1
 *   system metrics: mongo-1, mongo-2, mongo-3, mta-1, mta-2, rspamd-1
 *
 * Shapes: a business-hours curve (peak around 13:30 UTC, quieter weekends), noise, a
 * nightly backup on mongo-3 at 02:00–02:30 UTC (replication lag, disk reads), and a bulk
 * campaign on weekdays 09:00–10:30 UTC (bulk zone queue, deferrals, MTA CPU).
 *
 * Deterministic and idempotent: the values of a sample are a pure function of its series
 * and timestamp (hash-seeded PRNG, no sequential state), and timestamps are aligned to
 * the step, so re-running inserts nothing new (ingest is ON CONFLICT DO NOTHING) and a
 * later run only adds the steps that are new.
 *
 * Step: 60 s by default instead of the families' 15 s sample interval — a week is then
 * ~160k rows instead of ~650k, which loads in seconds. The per-interval counters (ops,
 * deliveries, scans) are per 60 s accordingly; the MongoDB cluster status divides them by
 * the real 60 s gap. Being static, the data looks stale to the status endpoints a minute
 * after loading.
 */
import type { Queryable } from '../../db/database.ts';
import type { TimeseriesStore } from '../../timeseries/store.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';

export interface SampleDataOptions {
  /** End of the generated range (default: now); the last sample is `now` rounded down to the step. */
  now?: Date;
  /** Days of data (default 7; at most 89, inside the 90-day raw retention). */
  days?: number;
  /** Seconds between samples (default 60). */
  stepSeconds?: number;
}

export interface SampleDataResult {
  from: string;
  to: string;
  stepSeconds: number;
  steps: number;
  received: number;
  inserted: number;
  families: Record<string, { received: number; inserted: number }>;
  nodes: string[];
}

const GB = 1e9;
const GIB = 1024 ** 3;
const MIB = 1024 ** 2;
const DAY = 86_400_000;
const BATCH = 5000;
/** Reference for slow growth (data sizes): values depend on the timestamp only. */
const EPOCH = Date.UTC(2025, 0, 1);

export const SAMPLE_TOPOLOGY = {
  mongodb: [
    { id: 'mongo-1', role: 'primary' },
    { id: 'mongo-2', role: 'secondary' },
    { id: 'mongo-3', role: 'secondary' },
  ],
  redis: [
    { id: 'redis-1', role: 'master', host: 'mta-1' },
    { id: 'redis-2', role: 'replica', host: 'mta-2' },
  ],
  zonemta: [
    { id: 'mta-1', zones: ['default', 'bulk'] },
    { id: 'mta-2', zones: ['default', 'bulk'] },
  ],
  rspamd: [{ id: 'rspamd-1' }],
  hosts: [
    { id: 'mongo-1', role: 'mongodb' },
    { id: 'mongo-2', role: 'mongodb' },
    { id: 'mongo-3', role: 'mongodb' },
    { id: 'mta-1', role: 'zonemta' },
    { id: 'mta-2', role: 'zonemta' },
    { id: 'rspamd-1', role: 'rspamd' },
  ],
} as const;

// ---------- deterministic noise ----------

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform [0, 1) for (series, time, channel): a pure function, no sequence state. */
function uniform(seriesSeed: number, t: number, channel: number): number {
  const step = Math.floor(t / 1000);
  const h = fmix(seriesSeed ^ fmix((step ^ Math.imul(channel + 1, 0x9e3779b1)) >>> 0) ^ Math.imul(Math.floor(step / 2 ** 32), 0x27d4eb2f));
  return h / 2 ** 32;
}

class Noise {
  private readonly seed: number;
  constructor(
    series: string,
    private readonly t: number,
  ) {
    this.seed = hashString(`opsdeck-sample:${series}`);
  }
  /** Uniform [0, 1). */
  u(channel: number): number {
    return uniform(this.seed, this.t, channel);
  }
  /** Roughly normal, mean 0, standard deviation ~1 (sum of three uniforms). */
  n(channel: number): number {
    return (this.u(channel * 3) + this.u(channel * 3 + 1) + this.u(channel * 3 + 2) - 1.5) * 2;
  }
}

// ---------- shapes ----------

const hourOfDay = (t: number) => (((t % DAY) + DAY) % DAY) / 3_600_000;
const isWeekend = (t: number) => {
  const d = new Date(t).getUTCDay();
  return d === 0 || d === 6;
};

/** Business-hours load factor in [~0.12, 1]: peak around 13:30 UTC, weekends at 55 %. */
export function loadFactor(t: number): number {
  const h = hourOfDay(t);
  const business = Math.exp(-((h - 13.5) ** 2) / (2 * 3.2 ** 2));
  return (0.22 + 0.78 * business) * (isWeekend(t) ? 0.55 : 1);
}

/** Progress (0..1) through the weekday bulk campaign at 09:00–10:30 UTC, or null outside it. */
function campaignProgress(t: number): number | null {
  if (isWeekend(t)) return null;
  const h = hourOfDay(t);
  return h >= 9 && h < 10.5 ? (h - 9) / 1.5 : null;
}

/** Hours since the last campaign ended (weekdays), for the deferred-queue decay. */
function hoursAfterCampaign(t: number): number | null {
  if (isWeekend(t)) return null;
  const h = hourOfDay(t);
  return h >= 10.5 ? h - 10.5 : null;
}

const inBackup = (t: number) => {
  const h = hourOfDay(t);
  return h >= 2 && h < 2.5;
};

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const int = (x: number) => Math.max(0, Math.round(x));
const r2 = (x: number) => Math.round(x * 100) / 100;

// ---------- rows per family ----------

export type SampleRow = Record<string, string | number | boolean | null>;
type Row = SampleRow;

function mongoRow(id: string, role: string, t: number, stepS: number): Row {
  const z = new Noise(`mongodb:${id}`, t);
  const load = loadFactor(t);
  const primary = role === 'primary';
  const rate = (base: number, ch: number) => int(base * load * stepS * (1 + 0.12 * z.n(ch)));
  const days = (t - EPOCH) / DAY;
  const dataSize = 182 * GB + 0.15 * GB * days + (primary ? 0 : -0.002 * GB);
  const backupLag = id === 'mongo-3' && inBackup(t);
  const lag = primary ? 0 : backupLag ? r2(18 + 20 * z.u(20)) : r2(clamp(0.25 + 1.1 * load * z.u(20) + 0.1 * z.n(21), 0, 60));
  const conns = int((primary ? 380 + 420 * load : 110 + 90 * load) * (1 + 0.05 * z.n(30)));
  const cacheMax = Math.round(7.5 * GIB);
  return {
    nodeId: id,
    timestamp: new Date(t).toISOString(),
    role,
    connectionsCurrent: conns,
    connectionsAvailable: 51_200 - conns,
    opsInsert: primary ? rate(120, 1) : 0,
    opsQuery: rate(primary ? 620 : 150, 2),
    opsUpdate: primary ? rate(180, 3) : 0,
    opsDelete: primary ? rate(25, 4) : 0,
    opsCommand: rate(primary ? 900 : 310, 5),
    replLagSeconds: lag,
    dataSizeBytes: Math.round(dataSize),
    indexSizeBytes: Math.round(dataSize * 0.11),
    storageSizeBytes: Math.round(dataSize * 0.46),
    oplogWindowHours: r2(clamp(58 - 16 * load + 1.5 * z.n(40), 12, 96)),
    wtCacheUsedBytes: Math.round(cacheMax * clamp(0.74 + 0.06 * load + 0.02 * z.n(50), 0.3, 0.95)),
    wtCacheMaxBytes: cacheMax,
    wtCacheDirtyBytes: Math.round(cacheMax * clamp(0.02 + 0.06 * load * z.u(51), 0, 0.3)),
    wtCacheTimeoutCount: z.u(52) < 0.01 ? 1 : 0,
    wtEvictionCalls: rate(primary ? 40 : 12, 53),
    connAppImap: int(conns * 0.45),
    connAppSmtp: int(conns * 0.3),
    connAppInternal: primary ? 6 : 3,
    connAppMonitoring: 2,
    connAppOther: Math.max(0, conns - int(conns * 0.45) - int(conns * 0.3) - (primary ? 6 : 3) - 2),
    // the agent reads the GridFS collections on the primary only
    gridfsMessagesBytes: primary ? Math.round(dataSize * 0.38) : null,
    gridfsAttachFilesBytes: primary ? Math.round(dataSize * 0.002) : null,
    gridfsAttachChunksBytes: primary ? Math.round(dataSize * 0.41) : null,
    gridfsStorageFilesBytes: primary ? Math.round(dataSize * 0.0005) : null,
    gridfsStorageChunksBytes: primary ? Math.round(dataSize * 0.04) : null,
  };
}

function redisRow(id: string, role: string, t: number, stepS: number): Row {
  const z = new Noise(`redis:${id}`, t);
  const load = loadFactor(t);
  const master = role === 'master';
  const ops = (master ? 1500 + 7000 * load : 200 + 650 * load) * (1 + 0.08 * z.n(1));
  const lookups = ops * stepS * 0.55;
  const hitRate = clamp(0.93 + 0.015 * z.n(2), 0.8, 0.995);
  const quarter = (hourOfDay(t) % 0.25) / 0.25; // RDB save every 15 minutes
  return {
    nodeId: id,
    timestamp: new Date(t).toISOString(),
    role,
    connectedClients: int((master ? 180 + 220 * load : 25 + 20 * load) * (1 + 0.05 * z.n(3))),
    blockedClients: master ? int(4 * load * z.u(4)) : 0,
    memoryUsedBytes: Math.round((1.35 * GB + 0.25 * GB * load) * (1 + 0.01 * z.n(5))),
    usedMemoryPeakBytes: Math.round(1.91 * GB),
    memoryMaxBytes: 4 * GIB,
    memFragmentationRatio: r2(clamp(1.12 + 0.04 * z.n(6), 1.0, 1.4)),
    opsPerSec: r2(ops),
    keyspaceHits: int(lookups * hitRate),
    keyspaceMisses: int(lookups * (1 - hitRate)),
    evictedKeys: z.u(7) < 0.003 ? int(50 * z.u(8)) : 0,
    expiredKeys: int((master ? 40 : 0) * stepS * (0.5 + load) * (1 + 0.1 * z.n(9))),
    totalKeys: Math.round(1_240_000 + 60_000 * load + 2_000 * z.n(10)),
    connectedReplicas: master ? 1 : 0,
    replOffsetLagBytes: int((master ? 600 : 900) * load * z.u(11)),
    masterLinkUp: master ? null : 1,
    rdbLastBgsaveOk: 1,
    rdbChangesSinceLastSave: int((master ? ops * 0.3 : 600 * load) * quarter * 900),
    aofEnabled: 1,
    aofLastWriteOk: 1,
    hitRate: r2(hitRate * 100),
  };
}

function zonemtaRow(id: string, zone: string, t: number, stepS: number): Row {
  const z = new Noise(`zonemta:${id}:${zone}`, t);
  const load = loadFactor(t);
  const perMin = stepS / 60;
  let delivered: number;
  let deferRate: number;
  let queued: number;
  let deferredQueue: number;
  let sending: number;
  if (zone === 'bulk') {
    const p = campaignProgress(t);
    const after = hoursAfterCampaign(t);
    delivered = p !== null ? 1600 * (0.6 + 0.4 * Math.sin(Math.PI * p)) : 4 * load;
    deferRate = p !== null ? 0.08 : 0.03;
    queued = p !== null ? 24_000 * (1 - p) + 300 * z.u(1) : 3 * z.u(1);
    deferredQueue = p !== null ? 400 + 2600 * p : after !== null ? 380 + 2620 * Math.exp(-after / 2) + 40 * z.u(2) : 380 + 40 * z.u(2);
    sending = p !== null ? 55 + 10 * z.u(3) : 2 * z.u(3);
  } else {
    delivered = 60 + 240 * load;
    deferRate = 0.04;
    queued = 2 + 20 * load * z.u(1);
    deferredQueue = 120 + 80 * load + 10 * z.n(2);
    sending = 4 + 16 * load * z.u(3);
  }
  const d = delivered * perMin * (1 + 0.1 * z.n(4));
  const bounced = d * 0.012 * (1 + 0.3 * z.n(5));
  // Counters since the MTA started (it restarts at midnight UTC in this sample), from the
  // zone's mean delivery rate: a pure function of the time, like every sample value.
  const upSeconds = (((t % DAY) + DAY) % DAY) / 1000;
  const meanPerSec = zone === 'bulk' ? (1600 * 0.85 * 1.5) / 24 / 60 : (60 + 240 * 0.45) / 60;
  const deliveredTotal = int(upSeconds * meanPerSec);
  const bouncedTotal = int(deliveredTotal * 0.012);
  const rejectedTotal = int(bouncedTotal * 0.7);
  const deferredTotal = int(deliveredTotal * deferRate);
  return {
    nodeId: id,
    zone,
    timestamp: new Date(t).toISOString(),
    queueQueued: int(queued),
    queueDeferred: int(deferredQueue),
    queueSending: int(sending),
    delivered: int(d),
    bounced: int(bounced),
    deferred: int(d * deferRate * (1 + 0.25 * z.n(6))),
    rejected: int(bounced * 0.7),
    mtaRole: 'outbound',
    queueSize: int(queued) + int(deferredQueue) + int(sending),
    activeDeliveries: int(queued) + int(sending),
    sentTotal: deliveredTotal + bouncedTotal,
    deliveredTotal,
    bouncedTotal,
    deferredTotal,
    rejectedTotal,
    connectionsActive: int(sending * 1.5),
    throughputPerSec: r2(d / stepS),
  };
}

function rspamdRow(id: string, t: number, stepS: number): Row {
  const z = new Noise(`rspamd:${id}`, t);
  const load = loadFactor(t);
  const scanned = int((90 + 420 * load) * (stepS / 60) * (1 + 0.1 * z.n(1)));
  const spamShare = clamp(0.28 + 0.04 * z.n(2), 0.1, 0.6);
  const reject = int(scanned * spamShare * 0.45);
  const addHeader = int(scanned * spamShare * 0.4);
  const rewrite = int(scanned * spamShare * 0.03);
  const softReject = int(scanned * 0.015 * z.u(3) * 2);
  const greylist = int(scanned * 0.05 * (1 + 0.2 * z.n(4)));
  const noAction = Math.max(0, scanned - reject - addHeader - rewrite - softReject - greylist);
  const spam = reject + addHeader + rewrite;
  const avg = clamp(110 + 260 * load + 15 * z.n(5), 40, 2000);
  const learned = z.u(6) < 0.05 ? 1 + int(2 * z.u(7)) : 0;
  const learnedSpam = learned > 0 && z.u(9) < 0.7 ? 1 : 0;
  return {
    nodeId: id,
    timestamp: new Date(t).toISOString(),
    scanned,
    ham: scanned - spam,
    spam,
    rejected: reject,
    actionSoftReject: softReject,
    actionRewriteSubject: rewrite,
    actionAddHeader: addHeader,
    greylist: greylist,
    actionNoAction: noAction,
    learned,
    connections: scanned + int(scanned * 0.02) + int(4 * (stepS / 60)),
    scanTimeAvgMs: r2(avg),
    scanTimeMaxMs: r2(avg * (4 + 3 * z.u(8))),
    learnedHam: learned - learnedSpam,
    learnedSpam,
  };
}

function systemRow(id: string, role: string, t: number): Row {
  const z = new Noise(`system:${id}`, t);
  const load = loadFactor(t);
  const campaign = role === 'zonemta' && campaignProgress(t) !== null;
  const backup = id === 'mongo-3' && inBackup(t);
  const profile =
    role === 'mongodb'
      ? { cpu: 12 + 38 * load, ram: 32 * GIB, used: 0.74, disk: 1000 * GB, diskUsed: 0.5, rx: 9e6, tx: 14e6, tcp: 420, files: 9_000 }
      : role === 'zonemta'
        ? { cpu: 8 + 45 * load, ram: 16 * GIB, used: 0.55, disk: 200 * GB, diskUsed: 0.35, rx: 4e6, tx: 11e6, tcp: 650, files: 14_000 }
        : { cpu: 15 + 60 * load, ram: 8 * GIB, used: 0.6, disk: 100 * GB, diskUsed: 0.3, rx: 3e6, tx: 1.5e6, tcp: 260, files: 4_000 };
  const cpu = clamp(profile.cpu + (campaign ? 25 : 0) + (backup ? 20 : 0) + 3 * z.n(1), 0.5, 100);
  const cores = role === 'rspamd' ? 4 : 8;
  const days = (t - EPOCH) / DAY;
  const diskUsed = profile.disk * profile.diskUsed + (role === 'mongodb' ? 0.07 * GB * days : 0.01 * GB * days);
  const l1 = clamp((cpu / 100) * cores * (1 + 0.15 * z.n(2)), 0.01, cores * 4);
  const ramUsed = Math.round(profile.ram * clamp(profile.used + 0.08 * load + 0.01 * z.n(4), 0.05, 0.98));
  const diskUsedBytes = Math.round(Math.min(diskUsed, profile.disk * 0.95));
  return {
    nodeId: id,
    timestamp: new Date(t).toISOString(),
    nodeRole: role,
    cpuPercent: r2(cpu),
    cpuIowaitPercent: r2(clamp((backup ? 8 : 1) + 3 * load * z.u(3), 0, 100)),
    ramUsedBytes: ramUsed,
    ramTotalBytes: profile.ram,
    swapUsedBytes: Math.round(MIB * (40 + 20 * z.u(5))),
    diskUsedBytes,
    diskTotalBytes: profile.disk,
    diskReadBytesSec: r2((backup ? 180e6 : 2e6 + 20e6 * load) * (1 + 0.2 * z.n(6)) ** 2),
    diskWriteBytesSec: r2((3e6 + 25e6 * load + (campaign ? 15e6 : 0)) * (1 + 0.2 * z.n(7)) ** 2),
    netRxBytesSec: r2(profile.rx * (0.2 + load) * (1 + 0.1 * z.n(8)) ** 2),
    netTxBytesSec: r2(profile.tx * (0.2 + load + (campaign ? 1.5 : 0)) * (1 + 0.1 * z.n(9)) ** 2),
    load1m: r2(l1),
    load5m: r2(l1 * 0.95),
    load15m: r2(l1 * 0.9),
    tcpEstablished: int(profile.tcp * (0.4 + load) * (1 + 0.05 * z.n(10))),
    tcpTimeWait: int(profile.tcp * 0.3 * (0.3 + load) * (1 + 0.1 * z.n(11)) + (campaign ? 800 : 0)),
    openFiles: int(profile.files * (0.8 + 0.3 * load) * (1 + 0.02 * z.n(12))),
    ramPercent: r2((100 * ramUsed) / profile.ram),
    diskPercent: r2((100 * diskUsedBytes) / profile.disk),
    diskFreeBytes: profile.disk - diskUsedBytes,
    // kernel counters since boot (the sample's hosts boot at EPOCH): a few errors a day
    netRxErrors: int(days * 3),
    netTxErrors: int(days * 0.5),
  };
}

/** Every sample row of one timestamp, by family key (ingest form): a pure function of `t` and the step. */
export function sampleRowsAt(t: number, stepSeconds: number): Record<string, Row[]> {
  const topo = SAMPLE_TOPOLOGY;
  return {
    system: topo.hosts.map((h) => systemRow(h.id, h.role, t)),
    mongodb: topo.mongodb.map((m) => mongoRow(m.id, m.role, t, stepSeconds)),
    redis: topo.redis.map((r) => redisRow(r.id, r.role, t, stepSeconds)),
    zonemta: topo.zonemta.flatMap((m) => m.zones.map((zone) => zonemtaRow(m.id, zone, t, stepSeconds))),
    rspamd: topo.rspamd.map((r) => rspamdRow(r.id, t, stepSeconds)),
  };
}

// ---------- loader ----------

async function registerNodes(db: Queryable): Promise<string[]> {
  const t = SAMPLE_TOPOLOGY;
  const nodes = new Map<string, { role: string; labels: Record<string, string> }>();
  for (const h of t.hosts) nodes.set(h.id, { role: h.role, labels: { sample: 'mail-cluster', host: h.id } });
  for (const r of t.redis) nodes.set(r.id, { role: 'redis', labels: { sample: 'mail-cluster', host: r.host } });
  const ids = [...nodes.keys()].sort();
  await db.query(
    `INSERT INTO nodes (id, hostname, role, labels)
     SELECT id, id || '.mail.example.net', role, labels::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS x(id, role, labels)
     ON CONFLICT (id) DO NOTHING`,
    [ids, ids.map((i) => nodes.get(i)!.role), ids.map((i) => JSON.stringify(nodes.get(i)!.labels))],
  );
  return ids;
}

/**
 * Loads `days` of sample metrics ending at `now` through the store (validated ingest, in
 * batches of at most 5000 rows). Idempotent: a second run with the same `now` inserts 0 rows.
 */
export async function loadSampleData(store: TimeseriesStore, opts: SampleDataOptions = {}): Promise<SampleDataResult> {
  const days = opts.days ?? 7;
  const stepS = opts.stepSeconds ?? 60;
  if (!Number.isInteger(days) || days < 1 || days > 89) throw new RangeError('days must be an integer from 1 to 89 (raw retention is 90 days)');
  if (!Number.isInteger(stepS) || stepS < 15 || 86_400 % stepS !== 0) throw new RangeError('stepSeconds must be an integer ≥ 15 that divides a day');
  const stepMs = stepS * 1000;
  const now = (opts.now ?? new Date()).getTime();
  const end = Math.floor(now / stepMs) * stepMs;
  const steps = (days * DAY) / stepMs;
  const first = end - (steps - 1) * stepMs;

  const nodes = await registerNodes(store.db);
  const buffers = new Map<string, Row[]>();
  const totals: Record<string, { received: number; inserted: number }> = {};
  const flush = async (key: string) => {
    const rows = buffers.get(key);
    if (!rows?.length) return;
    buffers.set(key, []);
    const r = await store.ingest(key, rows);
    const tot = (totals[key] ??= { received: 0, inserted: 0 });
    tot.received += r.received;
    tot.inserted += r.inserted;
  };
  const push = async (key: string, row: Row) => {
    let rows = buffers.get(key);
    if (!rows) buffers.set(key, (rows = []));
    rows.push(row);
    if (rows.length >= BATCH) await flush(key);
  };

  for (let t = first; t <= end; t += stepMs) {
    for (const [key, rows] of Object.entries(sampleRowsAt(t, stepS))) for (const row of rows) await push(key, row);
  }
  for (const key of [...buffers.keys()]) await flush(key);

  const received = Object.values(totals).reduce((a, b) => a + b.received, 0);
  const inserted = Object.values(totals).reduce((a, b) => a + b.inserted, 0);
  return { from: new Date(first).toISOString(), to: new Date(end).toISOString(), stepSeconds: stepS, steps, received, inserted, families: totals, nodes };
}

// ---------- email events ----------

/**
 * The sample cluster's mail traffic as `email_events` (what the ZoneMTA plugin would send):
 * per MTA node and minute a number of events from an hourly profile (events per minute
 * per node at scale 1, UTC hours 0–23; halved and rounded at weekends), plus the weekday
 * bulk campaign (09:00–10:30 UTC) from the `bulk` zone. At scale 1 a weekday has
 * 60 × 1,735 + 90 × 120 = 114,900 events per node and a weekend day 60 × 871 = 52,260:
 * 1,358,040 events a week for the two nodes, 1.1 events per second per node on average
 * (0.13/s at night, 2.5/s on weekday afternoons, up to 4.3/s during the campaign).
 *
 * Mix: ~90 % delivered (250), ~5 % deferred (4xx), ~3 % bounced (two thirds hard: 5xx with
 * user_unknown / policy / spam / other, one third soft: 4xx mailbox_full / other), 1 %
 * rejected on reception (554, spam), 1 % received; the campaign defers more (greylisting
 * of bulk mail). Delivery times log-normal (median ~450 ms) with a tail of slow MX hosts
 * (1 % take 10–60 s). DKIM/SPF/DMARC mostly pass.
 *
 * Deterministic and idempotent: every event is a pure function of (node, minute, index),
 * its event id included, so a re-run stores nothing twice.
 */
export const SAMPLE_EVENT_PROFILE = [12, 9, 8, 8, 9, 14, 30, 60, 100, 130, 140, 145, 150, 150, 145, 140, 125, 105, 80, 60, 45, 32, 22, 16] as const;
/**
 * Scale `opsdeck db seed --sample` uses: a week of ~681,000 events (0.56 events/s per node on
 * average, 1.25/s on weekday afternoons, up to 2.2/s during the campaign): the whole
 * `db seed --sample` took 2 min 12 s on a fresh embedded database (PGlite) on a busy 2-core
 * machine. Scale 1 doubles it.
 */
export const SAMPLE_SEED_EVENT_SCALE = 0.5;
/** Extra bulk-zone events per minute per node during the weekday campaign (09:00–10:30 UTC). */
export const SAMPLE_CAMPAIGN_PER_MINUTE = 120;

export const SAMPLE_MAIL = {
  /** Sending IPs per node and zone (RFC 5737 documentation addresses), IPv6 for the default zone. */
  ips: {
    'mta-1': { default: '192.0.2.11', bulk: '192.0.2.12', v6: '2001:db8:1::11' },
    'mta-2': { default: '192.0.2.21', bulk: '192.0.2.22', v6: '2001:db8:1::21' },
  } as Record<string, { default: string; bulk: string; v6: string }>,
  /** Transactional and personal mail (weights), and the bulk sender. */
  senders: [
    ['example.net', 40],
    ['shop.example.com', 20],
    ['billing.example.com', 12],
    ['support.example.net', 10],
    ['alerts.example.io', 10],
    ['team.example.org', 8],
  ] as [string, number][],
  bulkSender: 'news.example.org',
  recipients: [
    ['gmail.com', 30],
    ['outlook.com', 14],
    ['yahoo.com', 8],
    ['hotmail.com', 6],
    ['icloud.com', 6],
    ['gmx.de', 5],
    ['web.de', 4],
    ['proton.me', 3],
    ['aol.com', 2],
    ['example.org', 6],
    ['example.edu', 4],
    ['corp.example', 4],
    ['partner.example', 4],
    ['mail.example.co.uk', 2],
    ['posteo.de', 2],
  ] as [string, number][],
} as const;

const MINUTE = 60_000;

/** One email event in the ingest form of POST /api/v1/events/email. */
export type SampleEvent = Record<string, string | number | boolean | null | string[]>;

/** Events per minute of one node at time `t` (minute start) and `scale`. */
export function sampleEventCount(t: number, scale: number): number {
  const h = Math.floor(hourOfDay(t));
  const base = Math.round(SAMPLE_EVENT_PROFILE[h]! * scale * (isWeekend(t) ? 0.5 : 1));
  return base + (campaignProgress(t) !== null ? Math.round(SAMPLE_CAMPAIGN_PER_MINUTE * scale) : 0);
}

function weighted(list: readonly (readonly [string, number])[], u: number): string {
  const total = list.reduce((a, [, w]) => a + w, 0);
  let x = u * total;
  for (const [v, w] of list) {
    if (x < w) return v;
    x -= w;
  }
  return list.at(-1)![0];
}

/** A version-4-shaped UUID from four hashes (deterministic). */
function sampleUuid(h: readonly number[]): string {
  const x = h.map((v) => (v >>> 0).toString(16).padStart(8, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-4${x.slice(13, 16)}-${((parseInt(x[16]!, 16) & 3) | 8).toString(16)}${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

const BOUNCES_HARD: [number, string, string][] = [
  [550, 'user_unknown', '550 5.1.1 The email account that you tried to reach does not exist'],
  [550, 'user_unknown', '550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown'],
  [550, 'policy', '550 5.7.1 Message rejected due to local policy'],
  [554, 'spam', '554 5.7.1 Message rejected as spam by content filter'],
  [553, 'other', '553 5.1.3 Invalid recipient address syntax'],
];
const BOUNCES_SOFT: [number, string, string][] = [
  [452, 'mailbox_full', '452 4.2.2 The email account that you tried to reach is over quota'],
  [421, 'other', '421 4.4.2 Connection timed out while talking to the MX host'],
];
const DEFERRALS: [number, string][] = [
  [421, '421 4.7.0 Try again later, closing connection'],
  [450, '450 4.2.1 The user you are trying to contact is receiving mail too quickly'],
  [451, '451 4.7.1 Greylisted, please try again in 300 seconds'],
];
const SAMPLE_SYMBOLS = ['DKIM_SIGNED', 'R_SPF_ALLOW', 'DMARC_POLICY_ALLOW', 'BAYES_HAM', 'MIME_GOOD', 'RCVD_TLS_ALL', 'FROM_HAS_DN', 'MID_RHS_MATCH_FROM'];

/** The events of node `node` in the minute starting at `t`: a pure function of both and the scale. */
export function sampleEventsAt(node: string, t: number, scale = 1): SampleEvent[] {
  const n = sampleEventCount(t, scale);
  const out: SampleEvent[] = [];
  const seed = hashString(`opsdeck-sample:email:${node}`);
  const minute = Math.floor(t / MINUTE);
  const ips = SAMPLE_MAIL.ips[node]!;
  const baseCount = n - (campaignProgress(t) !== null ? Math.round(SAMPLE_CAMPAIGN_PER_MINUTE * scale) : 0);
  for (let i = 0; i < n; i++) {
    const h = (ch: number) => fmix(seed ^ fmix((minute ^ Math.imul(i + 1, 0x9e3779b1) ^ Math.imul(ch + 1, 0x85ebca6b)) >>> 0));
    const u = (ch: number) => h(ch) / 2 ** 32;
    const normal = (ch: number) => Math.sqrt(-2 * Math.log(1 - u(ch))) * Math.cos(2 * Math.PI * u(ch + 1));
    const bulk = i >= baseCount;
    const time = t + Math.floor(((i + u(0)) * MINUTE) / n);
    const fromDomain = bulk ? SAMPLE_MAIL.bulkSender : weighted(SAMPLE_MAIL.senders, u(1));
    const fromUser = bulk ? 'newsletter' : fromDomain === 'example.net' ? `user${Math.floor(u(2) * 250)}` : ['noreply', 'orders', 'info', 'notify'][Math.floor(u(2) * 4)]!;
    const toDomain = weighted(SAMPLE_MAIL.recipients, u(3));
    const toAddress = `r${Math.floor(u(4) * 20_000)}@${toDomain}`;
    const r = u(5);
    // transactional: 90 % delivered, 5 % deferred, 2 % hard and 1 % soft bounces, 1 % rejected, 1 % received;
    // bulk: 86 % delivered, 9 % deferred (greylisting), 3 % hard and 2 % soft bounces
    const type = bulk
      ? r < 0.86 ? 'delivered' : r < 0.95 ? 'deferred' : 'bounced'
      : r < 0.9 ? 'delivered' : r < 0.95 ? 'deferred' : r < 0.98 ? 'bounced' : r < 0.99 ? 'rejected' : 'received';
    const outbound = type === 'delivered' || type === 'deferred' || type === 'bounced';
    const hard = type === 'bounced' && (bulk ? u(6) < 0.6 : u(6) < 2 / 3);
    const bounce = type === 'bounced' ? (hard ? BOUNCES_HARD : BOUNCES_SOFT)[Math.floor(u(7) * (hard ? BOUNCES_HARD : BOUNCES_SOFT).length)]! : null;
    const deferral = type === 'deferred' ? DEFERRALS[bulk ? 2 : Math.floor(u(7) * DEFERRALS.length)]! : null;
    const status: [number, string] | null =
      type === 'delivered'
        ? [250, `250 2.0.0 OK ${(h(8) >>> 0).toString(36)} - gsmtp`]
        : deferral ?? (bounce ? [bounce[0], bounce[2].replace('{rcpt}', toAddress)] : type === 'rejected' ? [554, '554 5.7.1 Spam message rejected'] : null);
    // delivery: log-normal, median ~450 ms; 1 % of attempts wait on a slow MX for 10–60 s
    const slow = u(9) < 0.01;
    const delivery = outbound ? Math.round(slow ? 10_000 + 50_000 * u(10) : clamp(Math.exp(Math.log(450) + 0.8 * normal(11)), 40, 9_000)) : null;
    const queue = outbound ? Math.round(bulk ? 30_000 + 1_800_000 * u(13) : Math.exp(Math.log(80) + 1.2 * normal(14))) + (type === 'deferred' ? 300_000 : 0) : null;
    const size = Math.round(clamp(Math.exp(Math.log(bulk ? 60_000 : 18_000) + 1.0 * normal(16)), 800, 25_000_000));
    const attachments = !bulk && u(18) < 0.18 ? 1 + Math.floor(u(19) * 3) : 0;
    const spamScore = Math.round((type === 'rejected' ? 14 + 12 * u(20) : -3 + 5 * u(20) + (bulk ? 1.5 : 0)) * 100) / 100;
    const msgId = `${(h(21) >>> 0).toString(16).padStart(8, '0')}${(h(22) >>> 0).toString(16).padStart(8, '0')}`;
    const dkim = u(23);
    const spf = u(24);
    const dmarc = u(25);
    out.push({
      timestamp: new Date(time).toISOString(),
      eventId: sampleUuid([h(30), h(31), h(32), h(33)]),
      eventType: type,
      messageId: `<${msgId}@${fromDomain}>`,
      queueId: `${msgId.slice(0, 14)}${(i % 256).toString(16).padStart(2, '0')}`,
      fromAddress: `${fromUser}@${fromDomain}`,
      fromUser,
      fromDomain,
      toAddress,
      toDomain,
      mtaNode: node,
      sendingIp: outbound ? (bulk ? ips.bulk : ips.default) : null,
      sendingIpV6: outbound && !bulk && u(26) < 0.25 ? ips.v6 : null,
      mxHost: outbound ? `mx${1 + Math.floor(u(27) * 2)}.${toDomain}` : null,
      statusCode: status ? status[0] : null,
      statusMessage: status ? status[1] : null,
      deliveryTimeMs: delivery,
      queueTimeMs: queue,
      totalTimeMs: queue === null ? null : queue + (delivery ?? 0),
      bounceType: type === 'bounced' ? (hard ? 'hard' : 'soft') : null,
      bounceCategory: bounce ? bounce[1] : null,
      bounceMessage: bounce ? bounce[2].replace('{rcpt}', toAddress) : null,
      messageSize: size,
      hasAttachment: attachments > 0,
      attachmentCount: attachments,
      subjectHash: `sha256:${(h(28) >>> 0).toString(16).padStart(8, '0')}${(h(29) >>> 0).toString(16).padStart(8, '0')}`,
      dkimResult: dkim < 0.96 ? 'pass' : dkim < 0.985 ? 'none' : 'fail',
      spfResult: spf < 0.97 ? 'pass' : spf < 0.99 ? 'softfail' : 'fail',
      dmarcResult: dmarc < 0.95 ? 'pass' : dmarc < 0.985 ? 'none' : 'fail',
      spamScore,
      spamAction: type === 'rejected' ? 'reject' : spamScore > 2.5 ? 'add_header' : 'no_action',
      spamSymbols: SAMPLE_SYMBOLS.filter((_, k) => u(40 + k) < 0.6),
    });
  }
  return out;
}

export interface SampleEventsOptions {
  /** End of the generated range (default: now, rounded down to the minute; the last minute is the one before it). */
  now?: Date;
  /** Days of events (default 7; at most 60, well inside what email_events accepts). */
  days?: number;
  /** Multiplies the hourly profile (default 1; tests use less). */
  scale?: number;
}

export interface SampleEventsResult {
  from: string;
  to: string;
  received: number;
  inserted: number;
  /** Events per type, as generated. */
  byType: Record<string, number>;
}

/** Events are sent to the store in batches of this many (one transaction each). */
const EVENT_BATCH = 5000;

/**
 * Loads `days` of sample email events for the sample cluster's MTA nodes, minutes
 * [now − days, now), through StreamStore.ingest (the API's validation). Idempotent.
 */
export async function loadSampleEvents(streams: StreamStore, opts: SampleEventsOptions = {}): Promise<SampleEventsResult> {
  const days = opts.days ?? 7;
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(days) || days < 1 || days > 60) throw new RangeError('days must be an integer from 1 to 60');
  if (!(scale > 0 && scale <= 10)) throw new RangeError('scale must be above 0 and at most 10');
  const end = Math.floor((opts.now ?? new Date()).getTime() / MINUTE) * MINUTE;
  const start = end - days * DAY;
  const byType: Record<string, number> = {};
  let received = 0;
  let inserted = 0;
  let batch: SampleEvent[] = [];
  const flush = async () => {
    if (!batch.length) return;
    const r = await streams.ingest('email', batch);
    received += r.received;
    inserted += r.inserted;
    batch = [];
  };
  for (let t = start; t < end; t += MINUTE) {
    for (const m of SAMPLE_TOPOLOGY.zonemta) {
      for (const e of sampleEventsAt(m.id, t, scale)) {
        byType[e.eventType as string] = (byType[e.eventType as string] ?? 0) + 1;
        batch.push(e);
      }
    }
    if (batch.length >= EVENT_BATCH) await flush();
  }
  await flush();
  return { from: new Date(start).toISOString(), to: new Date(end).toISOString(), received, inserted, byType };
}
