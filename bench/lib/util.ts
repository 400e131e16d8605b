/** Small helpers shared by the benchmark processes: statistics, timing, machine facts, CPU accounting. */
import { readFileSync, readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / Math.max(1, s.length);
  const r = (x: number) => Math.round(x * 100) / 100;
  return { n: s.length, p50: r(percentile(s, 50)), p95: r(percentile(s, 95)), p99: r(percentile(s, 99)), max: r(s.at(-1) ?? NaN), mean: r(mean) };
}

export function envInt(name: string, def: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v.replace(/_/g, ''));
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got ${v}`);
  return Math.floor(n);
}

export const envFlag = (name: string): boolean => ['1', 'true', 'yes'].includes((process.env[name] ?? '').toLowerCase());

export function log(msg: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${t}] ${msg}\n`);
}

/** Runs `count` jobs with at most `concurrency` in flight; returns per-job durations (ms). */
export async function runPool(count: number, concurrency: number, job: (i: number) => Promise<unknown>): Promise<number[]> {
  const durations = new Array<number>(count);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = performance.now();
      await job(i);
      durations[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return durations;
}

export interface MachineInfo {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  loadAverageAtStart: string;
}

export function machineInfo(): MachineInfo {
  let load = '';
  try {
    load = readFileSync('/proc/loadavg', 'utf8').trim();
  } catch {
    load = 'n/a';
  }
  return {
    nproc: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverageAtStart: load,
  };
}

const CLK_TCK = 100;

/** utime+stime of a process in seconds, or null when it is gone. */
function procCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  } catch {
    return null;
  }
}

function parentPid(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  }
}

/**
 * CPU seconds used by one PostgreSQL server (postmaster + all its children),
 * found from one backend pid. Works only when the server runs on this machine.
 */
export class PgCpuMeter {
  private readonly postmaster: number | null;
  constructor(backendPid: number) {
    this.postmaster = parentPid(backendPid);
  }

  get available(): boolean {
    return this.postmaster !== null && procCpuSeconds(this.postmaster) !== null;
  }

  /** pid → CPU seconds of the server's processes now. */
  snapshot(): Map<number, number> {
    const out = new Map<number, number>();
    if (this.postmaster === null) return out;
    for (const name of readdirSync('/proc')) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      if (pid !== this.postmaster && parentPid(pid) !== this.postmaster) continue;
      const c = procCpuSeconds(pid);
      if (c !== null) out.set(pid, c);
    }
    return out;
  }

  /** CPU seconds spent between two snapshots (processes that exited in between are not counted). */
  static delta(before: Map<number, number>, after: Map<number, number>): number {
    let s = 0;
    for (const [pid, c] of after) s += c - (before.get(pid) ?? 0);
    return Math.round(s * 100) / 100;
  }
}

/** CPU seconds of this Node process since `start` (process.cpuUsage()). */
export function nodeCpuSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return Math.round(((u.user + u.system) / 1e6) * 100) / 100;
}

/** Peak resident set size of this process (VmHWM) and current RSS, MiB. */
export function memoryMiB(): { rss: number; hwm: number } {
  let hwm = NaN;
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) hwm = Number(m[1]) / 1024;
  } catch {
    /* not Linux */
  }
  return { rss: Math.round((process.memoryUsage().rss / 1024 / 1024) * 10) / 10, hwm: Math.round(hwm * 10) / 10 };
}

export const round = (x: number, d = 1): number => Math.round(x * 10 ** d) / 10 ** d;

/** Machine-wide CPU busy fraction between calls (from /proc/stat), and the 1-minute load average: other processes share this machine. */
export class MachineLoad {
  private last = MachineLoad.read();
  readonly marks: { phase: string; at: string; loadAvg1m: number; machineBusyPct: number }[] = [];

  private static read(): { busy: number; total: number } {
    try {
      const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
      const idle = (f[3] ?? 0) + (f[4] ?? 0);
      const total = f.reduce((a, b) => a + b, 0);
      return { busy: total - idle, total };
    } catch {
      return { busy: 0, total: 0 };
    }
  }

  /** Records the machine load of the phase that just ended. */
  mark(phase: string): void {
    const now = MachineLoad.read();
    const dt = now.total - this.last.total;
    let load = NaN;
    try {
      load = Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
    } catch {
      /* not Linux */
    }
    this.marks.push({ phase, at: new Date().toISOString(), loadAvg1m: load, machineBusyPct: dt > 0 ? Math.round(((now.busy - this.last.busy) / dt) * 100) : NaN });
    this.last = now;
  }
}
