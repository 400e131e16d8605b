/**
 * Time as services see it. Services that decide by elapsed time (alert `for`
 * durations, probe intervals, dedup windows, escalation) take a Clock instead
 * of calling Date.now(), so tests move time themselves. The database's own
 * now() is not used for such decisions: the clock is passed into the SQL.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date | string | number = '2026-01-01T00:00:00Z') {
    this.t = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(at: Date | string | number): void {
    this.t = new Date(at).getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}
