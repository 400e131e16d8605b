/**
 * Host self-monitoring collector: reads this machine's OS metrics (Linux /proc,
 * statfs(2), node:os) and builds one row of the `system` metrics family per
 * collect() call, ready for the ingest API.
 *
 * Rates and CPU percentages are deltas between two calls: the first collect()
 * returns null for them (no baseline is taken in the constructor), and so does
 * any call after one whose source file could not be read. Every value field is
 * null when its source is unavailable (non-Linux, missing file); collect()
 * never throws for that.
 */
import { readFile, statfs } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../../timeseries/family.ts';
import {
  countTcpStates,
  cpuPercentages,
  parseDiskstats,
  parseFileNr,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  sumCounterDeltas,
  wholeDisks,
  type CpuTimes,
} from './proc-parsers.ts';

/** One row of the `system` metrics family (camelCase, exactly the ingest fields). */
export interface SystemSampleRow {
  nodeId: string;
  timestamp: string;
  nodeRole: string | null;
  cpuPercent: number | null;
  cpuIowaitPercent: number | null;
  ramUsedBytes: number | null;
  ramTotalBytes: number | null;
  swapUsedBytes: number | null;
  diskUsedBytes: number | null;
  diskTotalBytes: number | null;
  diskReadBytesSec: number | null;
  diskWriteBytesSec: number | null;
  netRxBytesSec: number | null;
  netTxBytesSec: number | null;
  load1m: number | null;
  load5m: number | null;
  load15m: number | null;
  tcpEstablished: number | null;
  tcpTimeWait: number | null;
  openFiles: number | null;
  ramPercent: number | null;
  diskPercent: number | null;
  diskFreeBytes: number | null;
  netRxErrors: number | null;
  netTxErrors: number | null;
}

export interface SystemCollectorOptions {
  /** Node id of the rows (default: os.hostname(), sanitized to the ingest rule). */
  nodeId?: string;
  /** Role of the rows (default 'opsdeck'). */
  nodeRole?: string | null;
  /** Path whose filesystem is measured with statfs (default: process.cwd() at construction). */
  diskPath?: string;
  /** Root of the proc filesystem (default '/proc'; tests point it at a fake tree). */
  procRoot?: string;
}

/** The ingest rule for node ids (src/timeseries/ingest.ts): 1..128 chars. */
const ROLE_MAX = 256;

/**
 * os.hostname() made acceptable as a node id: disallowed characters become
 * '-', leading non-alphanumerics are dropped, at most 128 characters; an
 * empty result becomes 'localhost'.
 */
export function sanitizeNodeId(raw: string): string {
  const id = raw
    .replace(/[^A-Za-z0-9._:@-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '')
    .slice(0, NODE_ID_MAX);
  return id === '' ? 'localhost' : id;
}

/** Counter readings kept from the previous call (each null when its file was unreadable). */
interface Baseline {
  timeMs: number;
  cpu: CpuTimes | null;
  diskRead: Map<string, number> | null;
  diskWritten: Map<string, number> | null;
  netRx: Map<string, number> | null;
  netTx: Map<string, number> | null;
}

export class SystemCollector {
  readonly nodeId: string;
  readonly nodeRole: string | null;
  readonly diskPath: string;
  readonly procRoot: string;
  private prev: Baseline | null = null;
  /** Serializes collect() calls so each one's deltas start at the previous one's readings. */
  private queue: Promise<unknown> = Promise.resolve();

  /** Throws TypeError when an explicit nodeId or nodeRole would be rejected by the ingest schema. */
  constructor(opts: SystemCollectorOptions = {}) {
    if (opts.nodeId !== undefined && (!NODE_ID_PATTERN.test(opts.nodeId) || opts.nodeId.length > NODE_ID_MAX)) {
      throw new TypeError(`nodeId ${JSON.stringify(opts.nodeId)}: ${NODE_ID_RULE}, at most ${NODE_ID_MAX} characters`);
    }
    if (typeof opts.nodeRole === 'string' && opts.nodeRole.length > ROLE_MAX) {
      throw new TypeError(`nodeRole: at most ${ROLE_MAX} characters`);
    }
    this.nodeId = opts.nodeId ?? sanitizeNodeId(hostname());
    this.nodeRole = opts.nodeRole === undefined ? 'opsdeck' : opts.nodeRole;
    this.diskPath = opts.diskPath ?? process.cwd();
    this.procRoot = opts.procRoot ?? '/proc';
  }

  /**
   * Reads every source and returns one row stamped `now` (default: when the
   * reading starts). Rates are per second of the time between the previous
   * call's `now` and this one's; they are null when that time is not positive.
   */
  collect(now?: Date): Promise<SystemSampleRow> {
    if (now !== undefined && Number.isNaN(now.getTime())) return Promise.reject(new RangeError('collect(now): invalid Date'));
    const run = this.queue.then(() => this.sample(now ?? new Date()));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async sample(now: Date): Promise<SystemSampleRow> {
    const [stat, meminfo, diskstats, netdev, loadavg, tcp4, tcp6, fileNr, fs] = await Promise.all([
      this.read('stat'),
      this.read('meminfo'),
      this.read('diskstats'),
      this.read('net/dev'),
      this.read('loadavg'),
      this.read('net/tcp'),
      this.read('net/tcp6'),
      this.read('sys/fs/file-nr'),
      statfs(this.diskPath).catch(() => null),
    ]);

    const cpu = stat === null ? null : parseProcStat(stat);
    const disks = diskstats === null ? null : wholeDisks(parseDiskstats(diskstats));
    const nets = netdev === null ? null : parseNetDev(netdev).filter((n) => n.name !== 'lo');
    const cur: Baseline = {
      timeMs: now.getTime(),
      cpu,
      diskRead: disks && new Map(disks.map((d) => [d.name, d.sectorsRead * 512])),
      diskWritten: disks && new Map(disks.map((d) => [d.name, d.sectorsWritten * 512])),
      netRx: nets && new Map(nets.map((n) => [n.name, n.rxBytes])),
      netTx: nets && new Map(nets.map((n) => [n.name, n.txBytes])),
    };
    const prev = this.prev;
    this.prev = cur;

    const elapsedSec = prev ? (cur.timeMs - prev.timeMs) / 1000 : 0;
    const rate = (pick: (b: Baseline) => Map<string, number> | null): number | null => {
      const before = prev && pick(prev);
      const after = pick(cur);
      if (!before || !after || !(elapsedSec > 0)) return null;
      return sumCounterDeltas(before, after) / elapsedSec;
    };
    const cpuPct = prev?.cpu && cpu ? cpuPercentages(prev.cpu, cpu) : null;

    const mem = meminfo === null ? null : parseMeminfo(meminfo);
    const load = loadavg === null ? null : parseLoadavg(loadavg);
    const tcp = [tcp4, tcp6].filter((t): t is string => t !== null).map(countTcpStates);
    const openFiles = fileNr === null ? null : parseFileNr(fileNr);

    return {
      nodeId: this.nodeId,
      timestamp: now.toISOString(),
      nodeRole: this.nodeRole,
      cpuPercent: cpuPct?.cpuPercent ?? null,
      cpuIowaitPercent: cpuPct?.cpuIowaitPercent ?? null,
      ramUsedBytes: mem?.memTotal != null && mem.memAvailable != null ? bytes(mem.memTotal - mem.memAvailable) : null,
      ramTotalBytes: mem?.memTotal != null ? bytes(mem.memTotal) : null,
      swapUsedBytes: mem?.swapTotal != null && mem.swapFree != null ? bytes(mem.swapTotal - mem.swapFree) : null,
      diskUsedBytes: fs ? bytes((fs.blocks - fs.bfree) * fs.bsize) : null,
      diskTotalBytes: fs ? bytes(fs.blocks * fs.bsize) : null,
      diskReadBytesSec: rate((b) => b.diskRead),
      diskWriteBytesSec: rate((b) => b.diskWritten),
      netRxBytesSec: rate((b) => b.netRx),
      netTxBytesSec: rate((b) => b.netTx),
      load1m: load?.load1m ?? null,
      load5m: load?.load5m ?? null,
      load15m: load?.load15m ?? null,
      tcpEstablished: tcp.length ? count(tcp.reduce((n, t) => n + t.established, 0)) : null,
      tcpTimeWait: tcp.length ? count(tcp.reduce((n, t) => n + t.timeWait, 0)) : null,
      openFiles: openFiles === null ? null : count(openFiles),
      ramPercent: mem?.memTotal && mem.memAvailable != null ? Math.min(100, Math.max(0, (100 * (mem.memTotal - mem.memAvailable)) / mem.memTotal)) : null,
      diskPercent: fs && fs.blocks > 0 ? (100 * (fs.blocks - fs.bfree)) / fs.blocks : null,
      diskFreeBytes: fs ? bytes(fs.bfree * fs.bsize) : null,
      netRxErrors: nets ? nets.reduce((n, x) => n + x.rxErrors, 0) : null,
      netTxErrors: nets ? nets.reduce((n, x) => n + x.txErrors, 0) : null,
    };
  }

  /** Text of a file under the proc root, or null when it cannot be read. */
  private async read(rel: string): Promise<string | null> {
    try {
      return await readFile(join(this.procRoot, rel), 'utf8');
    } catch {
      return null;
    }
  }
}

/** Bytes as a non-negative integer; null beyond 2^53 (the ingest bigint bound: some FUSE mounts report absurd sizes). */
function bytes(v: number): number | null {
  const n = Math.max(0, Math.round(v));
  return Number.isSafeInteger(n) ? n : null;
}

/** A count as a non-negative integer within the ingest integer (int4) bound, else null. */
function count(v: number): number | null {
  const n = Math.max(0, Math.round(v));
  return n <= 2147483647 ? n : null;
}
