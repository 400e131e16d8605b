/**
 * Silences (Alertmanager's: label matchers `=`, `!=`, `=~`, `!~` over a period)
 * and maintenance windows (per node or service, one-off or recurring daily or
 * weekly in a time zone). Both mute notifications only: events are kept, and
 * each records what muted it. Pure functions; the service reads the rows.
 */
import type { AlertMaintenanceWindowRow, SilenceMatcher } from './schema.ts';

/** Alertmanager's matching: a missing label is the empty string; regexes are anchored. */
export function matcherMatches(m: SilenceMatcher, labels: Readonly<Record<string, string>>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=': return v === m.value;
    case '!=': return v !== m.value;
    case '=~': return new RegExp(`^(?:${m.value})$`).test(v);
    case '!~': return !new RegExp(`^(?:${m.value})$`).test(v);
  }
}

export const silenceMatches = (matchers: readonly SilenceMatcher[], labels: Readonly<Record<string, string>>) => matchers.every((m) => matcherMatches(m, labels));

/** The date and time an instant shows in a time zone. */
export function zonedParts(t: Date, timeZone: string): { year: number; month: number; day: number; hour: number; minute: number; second: number } {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' }).formatToParts(t);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month'), day: get('day'), hour: get('hour'), minute: get('minute'), second: get('second') };
}

/** The instant a local wall-clock time names in a time zone (the earlier one across a DST fold; a gap moves forward). */
export function zonedToInstant(year: number, month: number, day: number, hour: number, minute: number, timeZone: string): Date {
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const offsetAt = (instant: number) => {
    const p = zonedParts(new Date(instant), timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - instant;
  };
  // The offsets a day before and after (a zone changes its offset at most once a day) give the candidates;
  // those that show the wall time back exist.
  const candidates = [...new Set([-86_400_000, 0, 86_400_000].map((d) => wall - offsetAt(wall + d)))];
  const shows = (instant: number) => {
    const p = zonedParts(new Date(instant), timeZone);
    return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute) === wall;
  };
  const valid = candidates.filter(shows);
  // A fold (the time happens twice): the first; a gap (it never happens): the later candidate, i.e. moved forward by the gap.
  return new Date(valid.length ? Math.min(...valid) : Math.max(...candidates));
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

type WindowTiming = Pick<AlertMaintenanceWindowRow, 'recurrence' | 'starts_at' | 'ends_at' | 'start_time' | 'duration_minutes' | 'weekdays' | 'time_zone'>;

/** Is the window in force at t? One-off: starts_at ≤ t < ends_at. Recurring: an occurrence covers t, within starts_at … ends_at. */
export function windowActive(w: WindowTiming, t: Date): boolean {
  const ms = t.getTime();
  if (ms < w.starts_at.getTime() || (w.ends_at && ms >= w.ends_at.getTime())) return false;
  if (w.recurrence === 'none') return true;
  if (!w.start_time || !w.duration_minutes) return false;
  const [h, m] = w.start_time.split(':').map(Number) as [number, number];
  const local = zonedParts(t, w.time_zone);
  const durationDays = Math.ceil(w.duration_minutes / 1440);
  for (let back = 0; back <= durationDays; back++) {
    const d = new Date(Date.UTC(local.year, local.month - 1, local.day - back));
    if (w.recurrence === 'weekly' && !w.weekdays.includes(d.getUTCDay())) continue;
    const start = zonedToInstant(d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), h, m, w.time_zone).getTime();
    if (start <= ms && ms < start + w.duration_minutes * 60_000) return true;
  }
  return false;
}

export function windowCovers(w: Pick<AlertMaintenanceWindowRow, 'node_ids' | 'services'>, nodeId: string | null, serviceName: string | null): boolean {
  return (nodeId !== null && w.node_ids.includes(nodeId)) || (serviceName !== null && w.services.includes(serviceName));
}
