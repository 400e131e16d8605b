/** Loading data for panels: refetched when the time range changes and on every auto-refresh tick. */
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from './api.ts';
import { createStore, useStore } from './store.ts';

/** Incremented by the auto-refresh timer and the refresh button: every panel reloads. */
export const tick = createStore(0);

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  /** The problem answer behind `error`, when it was one (its `errors[].path` name the fields). */
  problem?: ApiError | null;
  loading: boolean;
}

/** Runs `load` now, whenever `deps` change and on each refresh tick; keeps the last data while reloading. */
export function useData<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const n = useStore(tick);
  const [state, setState] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    const ctl = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    load(ctl.signal).then(
      (data) => !ctl.signal.aborted && setState({ data, error: null, loading: false }),
      (err: unknown) => {
        if (ctl.signal.aborted) return;
        setState((s) => ({ data: s.data, error: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err), problem: err instanceof ApiError ? err : null, loading: false }));
      },
    );
    return () => ctl.abort();
  }, [...deps, n]);
  return state;
}

export interface NodeSeries {
  identity: Record<string, string>;
  time: number[];
  fields: Record<string, (number | null)[]>;
}

interface ColumnsAnswer {
  resolution: string;
  truncated: boolean;
  next: string | null;
  series: NodeSeries[];
}

/**
 * A family's series over a range in the compact columnar form, at the API's `auto`
 * resolution; a truncated answer is continued with its cursor (a few pages at most)
 * and arrays of the same identity appended.
 */
export async function fetchSeries(family: string, opts: { nodeIds?: string[]; fields?: string[]; from: Date; to: Date; signal?: AbortSignal }): Promise<{ resolution: string; series: NodeSeries[] }> {
  const q = new URLSearchParams({ from: opts.from.toISOString(), to: opts.to.toISOString(), resolution: 'auto', format: 'columns' });
  if (opts.nodeIds?.length) q.set('nodeId', opts.nodeIds.join(','));
  if (opts.fields?.length) q.set('fields', opts.fields.join(','));
  const merged: NodeSeries[] = [];
  let resolution = 'raw';
  for (let page = 0; page < 8; page++) {
    const a = await api<ColumnsAnswer>(`/api/v1/metrics/${encodeURIComponent(family)}?${q}`, opts.signal ? { signal: opts.signal } : {});
    resolution = a.resolution;
    for (const s of a.series) {
      const last = merged[merged.length - 1];
      if (last && JSON.stringify(last.identity) === JSON.stringify(s.identity)) {
        last.time.push(...s.time);
        for (const [k, v] of Object.entries(s.fields)) (last.fields[k] ??= []).push(...v);
      } else merged.push({ identity: s.identity, time: [...s.time], fields: Object.fromEntries(Object.entries(s.fields).map(([k, v]) => [k, [...v]])) });
    }
    if (!a.truncated || !a.next) break;
    q.set('cursor', a.next);
  }
  return { resolution, series: merged };
}

export interface FamilyField {
  field: string;
  type: string;
  unit: string;
  description: string;
}
export interface FamilyInfo {
  key: string;
  title: string;
  node: string | null;
  identity: string[];
  fields: FamilyField[];
}

let familiesCache: Promise<FamilyInfo[]> | null = null;
/** The metric families and their fields (GET /api/v1/metrics), read once per page load. */
export function families(): Promise<FamilyInfo[]> {
  familiesCache ??= api<{ items: FamilyInfo[] }>('/api/v1/metrics').then((a) => a.items, (err: unknown) => {
    familiesCache = null;
    throw err;
  });
  return familiesCache;
}
