/**
 * A sliding window of failure times per key, in memory: after `max` failures
 * inside `windowMs` a key is refused until the oldest of them leaves the
 * window. Bounded: at most `maxKeys` keys are held (a flood of distinct keys
 * drops the oldest). Used by the login limiter and the heartbeat route, where
 * only failures count, so legitimate use is never limited.
 */
export interface LimitRule {
  /** Failures allowed inside the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export class FailureWindow {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly rule: LimitRule,
    private readonly maxKeys = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  private live(key: string, now: number): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const cutoff = now - this.rule.windowMs;
    let i = 0;
    while (i < list.length && list[i]! <= cutoff) i++;
    if (i > 0) list.splice(0, i);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  /** Seconds until the key may try again, or 0 when it is not blocked. */
  retryAfterSeconds(key: string): number {
    const now = this.now();
    const list = this.live(key, now);
    if (list.length < this.rule.max) return 0;
    const oldestRelevant = list[list.length - this.rule.max]!;
    return Math.max(1, Math.ceil((oldestRelevant + this.rule.windowMs - now) / 1000));
  }

  fail(key: string): void {
    const now = this.now();
    if (this.failures.size >= this.maxKeys && !this.failures.has(key)) this.sweep(now);
    const list = this.live(key, now);
    list.push(now);
    // Keep no more than needed to answer retryAfterSeconds.
    if (list.length > this.rule.max) list.splice(0, list.length - this.rule.max);
    this.failures.set(key, list);
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  private sweep(now: number): void {
    for (const key of [...this.failures.keys()]) this.live(key, now);
    // Still full (a flood of distinct keys): drop the oldest entries.
    if (this.failures.size >= this.maxKeys) {
      const drop = this.failures.size - Math.floor(this.maxKeys * 0.9);
      let n = 0;
      for (const key of this.failures.keys()) {
        if (n++ >= drop) break;
        this.failures.delete(key);
      }
    }
  }
}

