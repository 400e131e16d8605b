/**
 * Optional CPU profiling of one benchmark phase in the current process
 * (BENCH_CPU_PROF=1): V8's sampling profiler through node:inspector. Writes a
 * .cpuprofile (open it in Chrome DevTools) and returns a summary of where the
 * time went: self time by function and by package/area.
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Self time by area: src/<dir>, node_modules/<package>, node internals, GC, idle. */
  byArea: { area: string; ms: number; pct: number }[];
  /** Top functions by self time. */
  topFunctions: { fn: string; where: string; ms: number; pct: number }[];
}

function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return '(program: native/unattributed)';
  if (!url) return 'native';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm:${nm[1]}`;
  const src = /\/(src|bench|test)\/(.*?)\/?[^/]*$/.exec(url);
  if (src) return `${src[1]}/${src[2]!.split('/')[0] ?? ''}`;
  if (url.startsWith('node:')) return 'node internals';
  return url.split('/').slice(-2).join('/');
}

function summarize(profile: CpuProfile, file: string): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + (deltas[i] ?? 0) / 1000);
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const areas = new Map<string, number>();
  const fns = new Map<string, { where: string; ms: number }>();
  for (const [id, ms] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + ms);
    const name = functionName || '(anonymous)';
    const where = url ? `${url.replace(/^.*?(node_modules|src|bench)\//, '$1/')}:${lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const e = fns.get(key) ?? { where, ms: 0 };
    e.ms += ms;
    fns.set(key, e);
  }
  const r = (x: number) => Math.round(x);
  const p = (x: number) => Math.round((x / totalMs) * 1000) / 10;
  return {
    file,
    totalMs: r(totalMs),
    byArea: [...areas.entries()].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([a, ms]) => ({ area: a, ms: r(ms), pct: p(ms) })),
    topFunctions: [...fns.entries()]
      .sort((a, b) => b[1].ms - a[1].ms)
      .slice(0, 25)
      .map(([k, v]) => ({ fn: k.split('@')[0]!, where: v.where, ms: r(v.ms), pct: p(v.ms) })),
  };
}

/** Runs `fn` under the CPU profiler when `file` is given; otherwise just runs it. */
export async function profiled<T>(file: string | null, fn: () => Promise<T>): Promise<{ value: T; profile: ProfileSummary | null }> {
  if (!file) return { value: await fn(), profile: null };
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  try {
    const value = await fn();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    writeFileSync(file, JSON.stringify(profile));
    return { value, profile: summarize(profile, file) };
  } finally {
    session.disconnect();
  }
}
