/** Numbers and times for people: units, and dates in the chosen time zone. */
import type { Zone } from './time.ts';

export function formatBytes(v: number | null | undefined, suffix = ''): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let x = Math.abs(v);
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return `${v < 0 ? '-' : ''}${x >= 100 || i === 0 ? x.toFixed(0) : x.toFixed(1)} ${units[i]}${suffix}`;
}

export function formatPercent(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '–' : `${v.toFixed(digits)} %`;
}

export function formatNumber(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** A value in its unit (the unit names of GET /api/v1/metrics). */
export function formatUnit(v: number | null | undefined, unit: string): string {
  if (unit === 'bytes') return formatBytes(v);
  if (unit === 'bytes/s') return formatBytes(v, '/s');
  if (unit === 'percent') return formatPercent(v);
  if (unit === 'seconds') return v === null || v === undefined ? '–' : `${formatNumber(v, 2)} s`;
  if (unit === 'milliseconds' || unit === 'ms') return v === null || v === undefined ? '–' : `${formatNumber(v, 1)} ms`;
  return formatNumber(v, 2);
}

export function formatTime(d: Date | string | null | undefined, tz: Zone): string {
  if (!d) return '–';
  const date = typeof d === 'string' ? new Date(d) : d;
  return date.toLocaleString('sv-SE', { timeZone: tz === 'utc' ? 'UTC' : undefined, hour12: false }) + (tz === 'utc' ? ' UTC' : '');
}

export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '–';
  if (seconds < 90) return `${Math.round(seconds)} s ago`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min ago`;
  if (seconds < 129600) return `${Math.round(seconds / 3600)} h ago`;
  return `${Math.round(seconds / 86400)} d ago`;
}
