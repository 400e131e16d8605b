/** The time range of every panel, read from the page URL: `range` (a preset) or `from`/`to`, `refresh`, `tz`. */
import type { Location } from './router.ts';

export const PRESETS = { '15m': 15 * 60, '1h': 3600, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400, '30d': 30 * 86400 } as const;
export type Preset = keyof typeof PRESETS;
export const REFRESHES = { '15s': 15, '30s': 30, '1m': 60, '5m': 300, off: 0 } as const;
export type Refresh = keyof typeof REFRESHES;
export type Zone = 'local' | 'utc';

export interface TimeView {
  /** A preset, or null for a custom range. */
  preset: Preset | null;
  from: Date;
  to: Date;
  refresh: Refresh;
  tz: Zone;
}

const isPreset = (v: string | null): v is Preset => v !== null && v in PRESETS;
const isRefresh = (v: string | null): v is Refresh => v !== null && v in REFRESHES;

/** The view of a location at `now` (a preset ends now; a custom range is fixed). */
export function timeViewOf(loc: Location, now = Date.now()): TimeView {
  const q = loc.query;
  const tz: Zone = q.get('tz') === 'utc' ? 'utc' : 'local';
  const refresh: Refresh = isRefresh(q.get('refresh')) ? (q.get('refresh') as Refresh) : '30s';
  const from = q.get('from');
  const to = q.get('to');
  if (from && to) {
    const f = new Date(from);
    const t = new Date(to);
    if (!Number.isNaN(f.getTime()) && !Number.isNaN(t.getTime()) && t > f) return { preset: null, from: f, to: t, refresh: 'off', tz };
  }
  const preset: Preset = isPreset(q.get('range')) ? (q.get('range') as Preset) : '1h';
  return { preset, from: new Date(now - PRESETS[preset] * 1000), to: new Date(now), refresh, tz };
}

/** `datetime-local` input value of a date in the zone. */
export function toInputValue(d: Date, tz: Zone): string {
  const shifted = tz === 'utc' ? d : new Date(d.getTime() - d.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

/** A `datetime-local` value read in the zone. */
export function fromInputValue(v: string, tz: Zone): Date | null {
  if (!v) return null;
  const d = tz === 'utc' ? new Date(`${v}:00Z`) : new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}
