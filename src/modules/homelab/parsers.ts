/**
 * Pure parsers of the collector's command outputs (and of the same data pushed through
 * the API). Nothing here runs anything; every function takes text and returns rows.
 */
import { DRIVE_NAME_PATTERN, type SmartAttribute } from './streams.ts';
import { isSafeDriveName } from './commands.ts';

// ---------- system ----------

export interface CpuCounters {
  total: number;
  idle: number;
  iowait: number;
}

/** The aggregate `cpu` line of /proc/stat (jiffies: user nice system idle iowait irq softirq steal; guest is already in user). */
export function parseProcStat(text: string): CpuCounters {
  const line = text.split('\n').find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error('/proc/stat has no cpu line');
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (v.length < 4 || v.some((x) => !Number.isFinite(x))) throw new Error('/proc/stat cpu line is not numeric');
  const total = v.reduce((a, b) => a + b, 0);
  return { total, idle: v[3]!, iowait: v[4] ?? 0 };
}

/** CPU busy and iowait percent between two samples (null when the counters did not advance). */
export function cpuPercent(prev: CpuCounters, cur: CpuCounters): { busy: number; iowait: number } | null {
  const dt = cur.total - prev.total;
  if (!(dt > 0)) return null;
  const clamp = (x: number) => Math.min(100, Math.max(0, x));
  return { busy: clamp((100 * (dt - (cur.idle - prev.idle) - (cur.iowait - prev.iowait))) / dt), iowait: clamp((100 * (cur.iowait - prev.iowait)) / dt) };
}

export interface Memory {
  totalBytes: number;
  usedBytes: number;
  swapUsedBytes: number;
  percent: number;
}

export function parseMeminfo(text: string): Memory {
  const kb = new Map<string, number>();
  for (const l of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)/.exec(l);
    if (m) kb.set(m[1]!, Number(m[2]) * 1024);
  }
  const total = kb.get('MemTotal');
  if (total === undefined) throw new Error('/proc/meminfo has no MemTotal');
  const available = kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  const used = Math.max(0, total - available);
  return { totalBytes: total, usedBytes: used, swapUsedBytes: Math.max(0, (kb.get('SwapTotal') ?? 0) - (kb.get('SwapFree') ?? 0)), percent: total > 0 ? (100 * used) / total : 0 };
}

export function parseLoadavg(text: string): { load1: number; load5: number; load15: number } {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((x) => Number.isFinite(x))) throw new Error('/proc/loadavg is not three numbers');
  return { load1: a!, load5: b!, load15: c! };
}

export interface NetInterface {
  rxBytes: number;
  txBytes: number;
  rxErrors: number;
  txErrors: number;
}

/** /proc/net/dev per interface (loopback included; callers skip `lo`). */
export function parseNetDev(text: string): Record<string, NetInterface> {
  const out: Record<string, NetInterface> = {};
  for (const l of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(l);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    if (f.length < 16) continue;
    out[m[1]!] = { rxBytes: f[0]!, rxErrors: f[2]!, txBytes: f[8]!, txErrors: f[10]! };
  }
  return out;
}

export interface DiskCounters {
  readBytes: number;
  writeBytes: number;
}

/** /proc/diskstats per whole disk (partitions, loop and ram devices left out): sectors × 512. */
export function parseDiskstats(text: string): Record<string, DiskCounters> {
  const out: Record<string, DiskCounters> = {};
  for (const l of text.split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length < 10) continue;
    const name = f[2]!;
    if (/^(loop|ram|zram|dm-|sr)/.test(name)) continue;
    if (/^(sd[a-z]+|vd[a-z]+|xvd[a-z]+|hd[a-z]+)\d+$/.test(name) || /^(nvme\d+n\d+|mmcblk\d+)p\d+$/.test(name)) continue;
    out[name] = { readBytes: Number(f[5]) * 512, writeBytes: Number(f[9]) * 512 };
  }
  return out;
}

export interface Filesystem {
  source: string;
  mount: string;
  totalBytes: number;
  usedBytes: number;
  availableBytes: number;
}

/** `df -P -B1`: real filesystems (tmpfs, devtmpfs, overlay and other pseudo filesystems left out). */
export function parseDf(text: string): Filesystem[] {
  const out: Filesystem[] = [];
  for (const l of text.split('\n').slice(1)) {
    const f = l.trim().split(/\s+/);
    if (f.length < 6) continue;
    const [source, total, used, avail] = f;
    const mount = f.slice(5).join(' ');
    if (!source!.startsWith('/')) continue;
    if (/^\/dev\/loop/.test(source!)) continue;
    out.push({ source: source!, mount, totalBytes: Number(total), usedBytes: Number(used), availableBytes: Number(avail) });
  }
  return out;
}

export interface SystemSample {
  cpu: CpuCounters;
  memory: Memory;
  load: { load1: number; load5: number; load15: number };
  net: Record<string, NetInterface>;
  disks: Record<string, DiskCounters>;
  filesystems: Filesystem[];
  /** When the sample was taken (ms). */
  at: number;
}

export interface SystemOutputs {
  stat: string;
  meminfo: string;
  loadavg: string;
  netdev: string;
  diskstats: string;
  df: string;
}

export function parseSystem(o: SystemOutputs, at: number): SystemSample {
  return { cpu: parseProcStat(o.stat), memory: parseMeminfo(o.meminfo), load: parseLoadavg(o.loadavg), net: parseNetDev(o.netdev), disks: parseDiskstats(o.diskstats), filesystems: parseDf(o.df), at };
}

/** A metrics_system ingest row (camelCase fields) from a sample and the previous one (rates need two). */
export function systemMetricsRow(nodeId: string, cur: SystemSample, prev: SystemSample | null): Record<string, unknown> {
  const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (a: number, b: number) => (seconds > 0 && a >= b ? (a - b) / seconds : null);
  const sum = <T>(r: Record<string, T>, f: (v: T) => number, skip: (k: string) => boolean = () => false) =>
    Object.entries(r).reduce((s, [k, v]) => (skip(k) ? s : s + f(v)), 0);
  const lo = (k: string) => k === 'lo';
  const cpu = prev ? cpuPercent(prev.cpu, cur.cpu) : null;
  const fsTotal = cur.filesystems.reduce((s, f) => s + f.totalBytes, 0);
  const fsUsed = cur.filesystems.reduce((s, f) => s + f.usedBytes, 0);
  const fsFree = cur.filesystems.reduce((s, f) => s + f.availableBytes, 0);
  return {
    timestamp: new Date(cur.at).toISOString(),
    nodeId,
    nodeRole: 'homelab',
    cpuPercent: cpu?.busy ?? null,
    cpuIowaitPercent: cpu?.iowait ?? null,
    ramUsedBytes: cur.memory.usedBytes,
    ramTotalBytes: cur.memory.totalBytes,
    ramPercent: cur.memory.percent,
    swapUsedBytes: cur.memory.swapUsedBytes,
    diskUsedBytes: fsTotal > 0 ? fsUsed : null,
    diskTotalBytes: fsTotal > 0 ? fsTotal : null,
    diskFreeBytes: fsTotal > 0 ? fsFree : null,
    diskPercent: fsTotal > 0 ? Math.min(100, (100 * fsUsed) / fsTotal) : null,
    diskReadBytesSec: prev ? rate(sum(cur.disks, (d) => d.readBytes), sum(prev.disks, (d) => d.readBytes)) : null,
    diskWriteBytesSec: prev ? rate(sum(cur.disks, (d) => d.writeBytes), sum(prev.disks, (d) => d.writeBytes)) : null,
    netRxBytesSec: prev ? rate(sum(cur.net, (n) => n.rxBytes, lo), sum(prev.net, (n) => n.rxBytes, lo)) : null,
    netTxBytesSec: prev ? rate(sum(cur.net, (n) => n.txBytes, lo), sum(prev.net, (n) => n.txBytes, lo)) : null,
    netRxErrors: sum(cur.net, (n) => n.rxErrors, lo),
    netTxErrors: sum(cur.net, (n) => n.txErrors, lo),
    load1m: cur.load.load1,
    load5m: cur.load.load5,
    load15m: cur.load.load15,
  };
}

/**
 * The device_io ingest rows (camelCase fields) of a sample: one per whole disk, per interface
 * other than `lo` and per filesystem df listed. Disk and interface rates come from the previous
 * sample (null without one, or when a counter went backwards: a reboot or a wrapped counter);
 * interface errors are the counters of the sample, as in metrics_system.
 */
export function deviceIoRows(nodeId: string, cur: SystemSample, prev: SystemSample | null): Record<string, unknown>[] {
  const timestamp = new Date(cur.at).toISOString();
  const seconds = prev ? (cur.at - prev.at) / 1000 : 0;
  const rate = (a: number, b: number | undefined) => (seconds > 0 && b !== undefined && a >= b ? (a - b) / seconds : null);
  const rows: Record<string, unknown>[] = [];
  for (const [name, d] of Object.entries(cur.disks)) {
    const p = prev?.disks[name];
    rows.push({ timestamp, nodeId, kind: 'disk', name, readBytesPerSec: rate(d.readBytes, p?.readBytes), writeBytesPerSec: rate(d.writeBytes, p?.writeBytes) });
  }
  for (const [name, n] of Object.entries(cur.net)) {
    if (name === 'lo') continue;
    const p = prev?.net[name];
    rows.push({ timestamp, nodeId, kind: 'interface', name, rxBytesPerSec: rate(n.rxBytes, p?.rxBytes), txBytesPerSec: rate(n.txBytes, p?.txBytes), rxErrors: n.rxErrors, txErrors: n.txErrors });
  }
  const seen = new Set<string>();
  for (const f of cur.filesystems) {
    // A mount point listed twice (a bind mount over another filesystem) keeps its first df row: one row per name and time.
    if (seen.has(f.mount)) continue;
    seen.add(f.mount);
    rows.push({ timestamp, nodeId, kind: 'filesystem', name: f.mount, sizeBytes: f.totalBytes, usedBytes: f.usedBytes, usedPercent: f.totalBytes > 0 ? Math.min(100, (100 * f.usedBytes) / f.totalBytes) : null });
  }
  return rows.filter((r) => String(r.name).length <= 255);
}

// ---------- containers ----------

export interface ContainerRow {
  containerId: string;
  name: string | null;
  image: string | null;
  status: string | null;
  state: string | null;
  runtime: 'docker' | 'podman';
  cpuPercent: number | null;
  memoryUsageBytes: number | null;
  memoryLimitBytes: number | null;
}

const UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, tb: 1e12, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** "6.906MiB" → bytes (null when not a size). */
export function parseSize(text: string): number | null {
  const m = /^\s*([\d.]+)\s*([kmgt]?i?b)\s*$/i.exec(text);
  if (!m) return null;
  const unit = UNITS[m[2]!.toLowerCase()];
  const n = Number(m[1]);
  return unit && Number.isFinite(n) ? Math.round(n * unit) : null;
}

function jsonLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const l of text.split('\n')) {
    if (!l.trim()) continue;
    const v: unknown = JSON.parse(l);
    if (v && typeof v === 'object' && !Array.isArray(v)) out.push(v as Record<string, unknown>);
  }
  return out;
}

const str = (v: unknown, max = 512): string | null => (typeof v === 'string' ? v.slice(0, max) : null);

/** `docker ps --format '{{json .}}'` and `docker stats --no-stream --format '{{json .}}'` (joined by id, else name). */
export function parseDocker(psText: string, statsText: string): ContainerRow[] {
  const stats = jsonLines(statsText);
  return jsonLines(psText)
    .filter((p) => typeof p.ID === 'string' && p.ID)
    .map((p) => {
      const id = (p.ID as string).slice(0, 128);
      const name = str(p.Names, 255);
      const s = stats.find((x) => typeof x.ID === 'string' && (id.startsWith(x.ID) || x.ID.startsWith(id))) ?? stats.find((x) => name !== null && x.Name === name);
      const cpu = s && typeof s.CPUPerc === 'string' ? Number(s.CPUPerc.replace('%', '')) : NaN;
      const [usage, limit] = s && typeof s.MemUsage === 'string' ? s.MemUsage.split('/') : [];
      return {
        containerId: id,
        name,
        image: str(p.Image),
        status: str(p.Status, 128),
        state: str(p.State, 32),
        runtime: 'docker' as const,
        cpuPercent: Number.isFinite(cpu) ? cpu : null,
        memoryUsageBytes: usage ? parseSize(usage) : null,
        memoryLimitBytes: limit ? parseSize(limit) : null,
      };
    });
}

/** `podman ps -a --format json` (one JSON array). */
export function parsePodman(text: string): ContainerRow[] {
  if (!text.trim()) return [];
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v)) throw new Error('podman ps output is not a JSON array');
  return v
    .filter((c): c is Record<string, unknown> => !!c && typeof c === 'object' && typeof (c as Record<string, unknown>).Id === 'string')
    .map((c) => ({
      containerId: (c.Id as string).slice(0, 128),
      name: Array.isArray(c.Names) ? str(c.Names[0], 255) : str(c.Names, 255),
      image: str(c.Image),
      status: str(c.Status, 128),
      state: str(c.State, 32),
      runtime: 'podman' as const,
      cpuPercent: null,
      memoryUsageBytes: null,
      memoryLimitBytes: null,
    }));
}

// ---------- drives ----------

/** Drive paths from `smartctl --scan-open --json`: the safe ones, and the refused ones (for warnings). */
export function parseSmartScan(text: string): { drives: string[]; refused: string[] } {
  const v = JSON.parse(text) as { devices?: { name?: unknown }[] };
  const drives: string[] = [];
  const refused: string[] = [];
  for (const d of v.devices ?? []) {
    if (typeof d.name !== 'string') continue;
    (isSafeDriveName(d.name) ? drives : refused).push(d.name);
  }
  return { drives: [...new Set(drives)], refused };
}

export interface DriveRow {
  driveName: string;
  model: string | null;
  serialNumber: string | null;
  protocol: string | null;
  smartAttributes: SmartAttribute[];
  temperatureCelsius: number | null;
  powerOnHours: number | null;
  isHealthy: boolean | null;
  reallocatedSectors: number | null;
  pendingSectors: number | null;
}

const int = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null);

/** `smartctl --json -a <drive>`: model, serial, temperature, power-on hours, attributes, overall assessment. */
export function parseSmartctl(text: string, driveName: string): DriveRow {
  if (!DRIVE_NAME_PATTERN.test(driveName)) throw new Error(`refused drive name ${JSON.stringify(driveName)}`);
  const j = JSON.parse(text) as Record<string, unknown>;
  const table = ((j.ata_smart_attributes as { table?: unknown[] } | undefined)?.table ?? []) as Record<string, unknown>[];
  const attrs: SmartAttribute[] = table.slice(0, 255).map((a) => ({
    id: int(a.id) ?? 0,
    name: (str(a.name, 64) ?? '').slice(0, 64),
    value: int(a.value),
    worst: int(a.worst),
    thresh: int(a.thresh),
    raw: int((a.raw as { value?: unknown } | undefined)?.value),
    whenFailed: str(a.when_failed, 32) ?? '',
  }));
  const nvme = j.nvme_smart_health_information_log as Record<string, unknown> | undefined;
  if (nvme) {
    for (const [k, v] of Object.entries(nvme)) {
      if (typeof v === 'number' && attrs.length < 256) attrs.push({ id: 0, name: k.slice(0, 64), value: null, worst: null, thresh: null, raw: v, whenFailed: '' });
    }
  }
  const raw = (id: number) => attrs.find((a) => a.id === id)?.raw ?? null;
  const temp = int((j.temperature as { current?: unknown } | undefined)?.current);
  const passed = (j.smart_status as { passed?: unknown } | undefined)?.passed;
  return {
    driveName,
    model: str(j.model_name, 255),
    serialNumber: str(j.serial_number, 255),
    protocol: str((j.device as { protocol?: unknown } | undefined)?.protocol, 32),
    smartAttributes: attrs,
    temperatureCelsius: temp !== null && temp >= -100 && temp <= 200 ? temp : null,
    powerOnHours: int((j.power_on_time as { hours?: unknown } | undefined)?.hours),
    isHealthy: typeof passed === 'boolean' ? passed : null,
    reallocatedSectors: raw(5),
    pendingSectors: raw(197),
  };
}
