/**
 * Failed-login limiter: a sliding window of failure times per key (client IP,
 * username). In memory, per process — enough for the single-process server
 * Opsdeck is; several instances behind a balancer each keep their own counts
 * (an attacker then gets N × the budget, which is still bounded).
 *
 * Only failures count, so legitimate users logging in often are never limited;
 * a blocked key is refused before any password work (no argon2 CPU burnt).
 */
export interface LimitRule {
  /** Failures allowed inside the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export interface LoginLimits {
  perUsername: LimitRule;
  perIp: LimitRule;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perUsername: { max: 10, windowMs: 15 * 60_000 },
  perIp: { max: 30, windowMs: 15 * 60_000 },
};

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

export class LoginLimiter {
  readonly byUsername: FailureWindow;
  readonly byIp: FailureWindow;

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS, now?: () => number) {
    this.byUsername = new FailureWindow(limits.perUsername, 100_000, now);
    this.byIp = new FailureWindow(limits.perIp, 100_000, now);
  }

  /** Seconds to wait when either the IP or the username is blocked, else 0. */
  retryAfter(ip: string, username: string): number {
    return Math.max(this.byIp.retryAfterSeconds(ip), this.byUsername.retryAfterSeconds(username.toLowerCase()));
  }

  failure(ip: string, username: string): void {
    this.byIp.fail(ip);
    this.byUsername.fail(username.toLowerCase());
  }

  /** A successful login clears the username's failures (not the IP's). */
  success(username: string): void {
    this.byUsername.reset(username.toLowerCase());
  }
}
