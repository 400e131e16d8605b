/**
 * Pure parsers for the Linux /proc files the host self-monitoring collector
 * reads, plus the pure delta arithmetic on their counters. No I/O here: every
 * function takes the file's text (or parsed values) and never throws; text it
 * cannot make sense of yields null (or an empty list), never a guess.
 */

// ---------- /proc/stat ----------

/** The aggregate "cpu" line of /proc/stat, in USER_HZ ticks since boot. */
export interface CpuTimes {
  user: number;
  nice: number;
  system: number;
  idle: number;
  iowait: number;
  irq: number;
  softirq: number;
  steal: number;
  /** Already included in `user` by the kernel; never added to the total. */
  guest: number;
  /** Already included in `nice` by the kernel; never added to the total. */
  guestNice: number;
}

const CPU_FIELDS = ['user', 'nice', 'system', 'idle', 'iowait', 'irq', 'softirq', 'steal', 'guest', 'guestNice'] as const;

/**
 * Parses the aggregate `cpu ` line (all cores) of /proc/stat. Fields missing on
 * older kernels (steal, guest, ...) are 0; fewer than the first four fields,
 * or no such line, gives null.
 */
export function parseProcStat(text: string): CpuTimes | null {
  for (const line of text.split('\n')) {
    if (!line.startsWith('cpu ')) continue;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    if (values.length < 4 || values.some((v) => !Number.isFinite(v) || v < 0)) return null;
    const times = {} as CpuTimes;
    CPU_FIELDS.forEach((f, i) => {
      times[f] = values[i] ?? 0;
    });
    return times;
  }
  return null;
}

/** Busy and iowait share of all CPU time between two /proc/stat samples, 0..100. */
export interface CpuPercentages {
  cpuPercent: number;
  cpuIowaitPercent: number;
}

/**
 * CPU percentages over the interval between two samples:
 * busy = 100 × (1 − (Δidle + Δiowait) / Δtotal), iowait = 100 × Δiowait / Δtotal,
 * where total is user+nice+system+idle+iowait+irq+softirq+steal (guest and
 * guest_nice are already counted in user and nice). A field that went
 * backwards (the kernel's iowait counter is known to) counts as 0. Null when
 * no tick elapsed.
 */
export function cpuPercentages(prev: CpuTimes, cur: CpuTimes): CpuPercentages | null {
  const d = (f: keyof CpuTimes) => Math.max(0, cur[f] - prev[f]);
  const idle = d('idle');
  const iowait = d('iowait');
  const total = d('user') + d('nice') + d('system') + idle + iowait + d('irq') + d('softirq') + d('steal');
  if (!(total > 0)) return null;
  return {
    cpuPercent: clampPercent(100 * (1 - (idle + iowait) / total)),
    cpuIowaitPercent: clampPercent((100 * iowait) / total),
  };
}

function clampPercent(v: number): number {
  return Math.min(100, Math.max(0, v));
}

// ---------- /proc/meminfo ----------

/** The /proc/meminfo values the collector uses, in bytes (null when absent). */
export interface MemInfo {
  memTotal: number | null;
  memAvailable: number | null;
  swapTotal: number | null;
  swapFree: number | null;
}

/** Parses /proc/meminfo; `kB` values are converted to bytes (× 1024). */
export function parseMeminfo(text: string): MemInfo {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+(kB))?\s*$/.exec(line);
    if (!m) continue;
    values.set(m[1]!, Number(m[2]) * (m[3] ? 1024 : 1));
  }
  const get = (k: string) => values.get(k) ?? null;
  return { memTotal: get('MemTotal'), memAvailable: get('MemAvailable'), swapTotal: get('SwapTotal'), swapFree: get('SwapFree') };
}

// ---------- /proc/diskstats ----------

/** One /proc/diskstats line: cumulative 512-byte sectors since boot. */
export interface DiskStat {
  major: number;
  minor: number;
  name: string;
  /** Field 6 of the line (third statistic). */
  sectorsRead: number;
  /** Field 10 of the line (seventh statistic). */
  sectorsWritten: number;
}

/** Parses /proc/diskstats (every device, partitions included); malformed lines are skipped. */
export function parseDiskstats(text: string): DiskStat[] {
  const out: DiskStat[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [major, minor, sectorsRead, sectorsWritten] = [f[0], f[1], f[5], f[9]].map(Number) as [number, number, number, number];
    if (![major, minor, sectorsRead, sectorsWritten].every((v) => Number.isFinite(v) && v >= 0)) continue;
    out.push({ major, minor, name: f[2]!, sectorsRead, sectorsWritten });
  }
  return out;
}

/**
 * Devices stacked on other block devices or not backed by a disk at all:
 * counting them would count the same I/O twice (device-mapper/LVM/LUKS, md
 * RAID) or count memory traffic (loop, ram, zram).
 */
const VIRTUAL_DEVICE = /^(loop|ram|zram|dm-|md)\d/;

/**
 * The whole physical disks among the devices: drops partitions and the
 * virtual devices above. A device is a partition when its parent is also
 * listed under the kernel's naming rule: parent + N when the parent's name
 * ends in a letter (sda → sda1, vdb → vdb2), parent + "p" + N when it ends in
 * a digit (nvme0n1 → nvme0n1p1, mmcblk0 → mmcblk0p1). This avoids guessing
 * from name patterns alone (loop10 is not a partition of loop1).
 */
export function wholeDisks(stats: readonly DiskStat[]): DiskStat[] {
  const names = new Set(stats.map((s) => s.name));
  const isPartition = (name: string): boolean => {
    // head = everything before the trailing digits, so it ends in a non-digit.
    const m = /^(.*\D)\d+$/.exec(name);
    if (!m) return false;
    const head = m[1]!;
    if (names.has(head)) return true; // sda1 → sda, sdp1 → sdp
    const parent = head.slice(0, -1); // nvme0n1p1 → nvme0n1
    return head.endsWith('p') && /\d$/.test(parent) && names.has(parent);
  };
  return stats.filter((s) => !VIRTUAL_DEVICE.test(s.name) && !isPartition(s.name));
}

// ---------- /proc/net/dev ----------

/** Cumulative byte counters of one interface in /proc/net/dev. */
export interface NetDevStat {
  name: string;
  rxBytes: number;
  txBytes: number;
  /** Receive / transmit errors since the interface came up (counters). */
  rxErrors: number;
  txErrors: number;
}

/**
 * Parses /proc/net/dev (the two header lines are skipped). Handles both
 * "eth0: 123 …" and the old "eth0:123 …" spacing; receive bytes are the first
 * statistic, transmit bytes the ninth.
 */
export function parseNetDev(text: string): NetDevStat[] {
  const out: NetDevStat[] = [];
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/);
    if (name === '' || f.length < 9) continue;
    const rxBytes = Number(f[0]);
    const txBytes = Number(f[8]);
    if (!Number.isFinite(rxBytes) || !Number.isFinite(txBytes) || rxBytes < 0 || txBytes < 0) continue;
    // receive: bytes packets errs ...; transmit (from field 8): bytes packets errs ...
    const rxErrors = Number(f[2]);
    const txErrors = Number(f[10]);
    out.push({ name, rxBytes, txBytes, rxErrors: Number.isFinite(rxErrors) && rxErrors >= 0 ? rxErrors : 0, txErrors: Number.isFinite(txErrors) && txErrors >= 0 ? txErrors : 0 });
  }
  return out;
}

// ---------- /proc/loadavg ----------

export interface LoadAvg {
  load1m: number;
  load5m: number;
  load15m: number;
}

/** Parses "0.24 0.17 0.10 1/82 3882" from /proc/loadavg. */
export function parseLoadavg(text: string): LoadAvg | null {
  const f = text.trim().split(/\s+/).slice(0, 3).map(Number);
  if (f.length < 3 || !f.every((v) => Number.isFinite(v) && v >= 0)) return null;
  return { load1m: f[0]!, load5m: f[1]!, load15m: f[2]! };
}

// ---------- /proc/net/tcp, /proc/net/tcp6 ----------

export interface TcpStateCounts {
  /** State 01 (TCP_ESTABLISHED). */
  established: number;
  /** State 06 (TCP_TIME_WAIT). */
  timeWait: number;
}

/**
 * Counts sockets by state in the text of /proc/net/tcp or /proc/net/tcp6 (same
 * layout: "sl local_address rem_address st …", state as two hex digits).
 * The header line and malformed lines are skipped.
 */
export function countTcpStates(text: string): TcpStateCounts {
  let established = 0;
  let timeWait = 0;
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/, 4);
    if (f.length < 4 || !/^\d+:$/.test(f[0]!)) continue;
    const st = f[3]!.toUpperCase();
    if (st === '01') established++;
    else if (st === '06') timeWait++;
  }
  return { established, timeWait };
}

// ---------- /proc/sys/fs/file-nr ----------

/** First field of /proc/sys/fs/file-nr: allocated file handles, system-wide. */
export function parseFileNr(text: string): number | null {
  const first = text.trim().split(/\s+/)[0];
  if (first === undefined || !/^\d+$/.test(first)) return null;
  return Number(first);
}

// ---------- counter deltas ----------

/**
 * Sum over keys of the increase of a cumulative counter between two samples
 * (maps from device/interface name to counter value). Keys absent from the
 * previous sample contribute nothing (no baseline yet), and a counter that went
 * down (device re-created, counter reset or wrapped) contributes 0 for this
 * interval: a missed interval is preferred over a false spike. Never negative.
 */
export function sumCounterDeltas(prev: ReadonlyMap<string, number>, cur: ReadonlyMap<string, number>): number {
  let sum = 0;
  for (const [key, value] of cur) {
    const before = prev.get(key);
    if (before !== undefined && value > before) sum += value - before;
  }
  return sum;
}
