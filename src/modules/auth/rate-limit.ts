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
import { FailureWindow, type LimitRule } from '../../domain/failure-window.ts';

export { FailureWindow, type LimitRule };

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
