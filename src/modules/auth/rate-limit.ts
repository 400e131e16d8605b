/**
 * Failed-login limiter: a sliding window of failure times per key. Two keys per
 * attempt:
 * - the (canonical username, client address) pair — 10 failures in 15 min block
 *   that client for that username only, so somebody guessing a password from
 *   one place cannot lock the owner (or `admin`) out from everywhere else;
 * - the client address alone — a ceiling of 50 failures in 15 min over all
 *   usernames, so one address cannot spray many usernames.
 * The client address is the socket peer, or the X-Forwarded-For client when
 * OPSDECK_TRUST_PROXY names the proxy (otherwise every client behind a TLS
 * proxy would share one address and one ceiling).
 *
 * In memory, per process — enough for the single-process server Opsdeck is;
 * several instances behind a balancer each keep their own counts (an attacker
 * then gets N × the budget, which is still bounded). Only failures count, so
 * legitimate users logging in often are never limited; a blocked key is
 * refused before any password work (no argon2 CPU burnt), the same way whether
 * or not the username exists.
 */
export interface LimitRule {
  /** Failures allowed inside the window; the next attempt is refused. */
  max: number;
  windowMs: number;
}

export interface LoginLimits {
  /** Failures per (username, client address) pair. */
  perPair: LimitRule;
  /** Failures per client address over all usernames. */
  perIp: LimitRule;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = {
  perPair: { max: 10, windowMs: 15 * 60_000 },
  perIp: { max: 50, windowMs: 15 * 60_000 },
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
  readonly byPair: FailureWindow;
  readonly byIp: FailureWindow;

  constructor(limits: LoginLimits = DEFAULT_LOGIN_LIMITS, now?: () => number) {
    this.byPair = new FailureWindow(limits.perPair, 100_000, now);
    this.byIp = new FailureWindow(limits.perIp, 100_000, now);
  }

  /** `username` must already be in canonical (folded) form. */
  private static pair(ip: string, username: string): string {
    return `${ip}\u0000${username}`;
  }

  /** Seconds to wait when the address or the (username, address) pair is blocked, else 0. */
  retryAfter(ip: string, username: string): number {
    return Math.max(this.byIp.retryAfterSeconds(ip), this.byPair.retryAfterSeconds(LoginLimiter.pair(ip, username)));
  }

  failure(ip: string, username: string): void {
    this.byIp.fail(ip);
    this.byPair.fail(LoginLimiter.pair(ip, username));
  }

  /** A successful login clears the pair's failures (not the address's). */
  success(ip: string, username: string): void {
    this.byPair.reset(LoginLimiter.pair(ip, username));
  }
}
