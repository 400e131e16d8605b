/**
 * Sessions: login, refresh-token rotation, logout, password change, and the
 * Authenticator that resolves `Authorization: Bearer …` for every request.
 *
 * Design:
 * - Access tokens are short-lived JWTs (config.accessTokenTtlSeconds, default
 *   15 min), but the token alone is not trusted for authorisation: every request
 *   re-reads the user row (one primary-key lookup), so disabling a user or
 *   changing a role takes effect on the next request, and tokens issued before
 *   a disable, re-enable, role change or password change stay dead (the `tv`
 *   claim must equal the user's token_version). A user who must change the
 *   password gets 403 PASSWORD_CHANGE_REQUIRED everywhere except the password
 *   change, logout and /auth/me (`authorize` in src/http/access.ts).
 * - Refresh tokens are opaque 256-bit values stored as SHA-256 hashes, one row
 *   per token, grouped in a family per login. Each use rotates the token;
 *   presenting an already-rotated token (a replay — someone else has a copy)
 *   revokes the whole family. Each rotation gives a fresh refresh TTL.
 * - Login answers the same 401 INVALID_CREDENTIALS for an unknown user, a wrong
 *   password and a disabled user, after the same argon2 work (a dummy hash when
 *   the user does not exist, also for a name that is not a valid username).
 *   Usernames are compared in canonical form (usernames.ts). Failures are
 *   rate-limited per (username, client address) pair with a per-address
 *   ceiling (rate-limit.ts); a limited attempt is refused before any lookup.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { Authenticator, Principal, Role } from '../../domain/access.ts';
import { ForbiddenError, InvalidError, RateLimitedError, UnauthenticatedError } from '../../domain/errors.ts';
import type { ApiKeyStore } from './api-keys.ts';
import { hashPassword, needsRehash, verifyPassword } from './passwords.ts';
import { assertPasswordAcceptable } from './password-policy.ts';
import { canonicalUsername, foldUsername } from './usernames.ts';
import type { LoginLimiter } from './rate-limit.ts';
import type { DashboardUserRow, RefreshTokenRow } from './schema.ts';
import { newRefreshToken, sha256Hex, type TokenSigner } from './tokens.ts';
import { toUserView, type UserStore, type UserView } from './users.ts';

export interface TokenResponse {
  accessToken: string;
  tokenType: 'Bearer';
  /** Seconds until the access token expires. */
  expiresIn: number;
  refreshToken: string;
  /** Seconds until the refresh token expires. */
  refreshExpiresIn: number;
  user: UserView;
}

const tokenError = (code: string, message: string) => new UnauthenticatedError(code, message, 'invalid_token');

const invalidCredentials = () => new UnauthenticatedError('INVALID_CREDENTIALS', 'invalid username or password');

export class Sessions implements Authenticator {
  constructor(
    private readonly deps: {
      db: Database;
      config: Config;
      logger: Logger;
      users: UserStore;
      apiKeys: ApiKeyStore;
      signer: TokenSigner;
      limiter: LoginLimiter;
      /** An argon2id hash of a random password, verified when the user does not exist. */
      dummyHash: string;
      /** Password verification (default: argon2 verifyPassword); injectable so tests can count the work. */
      verifyPassword?: (hash: string, password: string) => Promise<boolean>;
    },
  ) {}

  // ---- Authenticator -------------------------------------------------------

  async authenticate(authorization: string | undefined): Promise<Principal | null> {
    if (authorization === undefined || authorization === '') return null;
    const m = /^Bearer +(\S+) *$/i.exec(authorization);
    if (!m) throw new UnauthenticatedError('INVALID_AUTHORIZATION', 'expected Authorization: Bearer <access token or API key>', 'invalid_request');
    const token = m[1]!;
    if (token.startsWith('odk_')) return this.deps.apiKeys.authenticate(token);
    const claims = await this.deps.signer.verify(token);
    if (claims === 'expired') throw tokenError('TOKEN_EXPIRED', 'the access token has expired; refresh it or log in again');
    if (claims === 'invalid') throw tokenError('INVALID_TOKEN', 'the access token is not valid');
    const user = await this.deps.users.findById(claims.userId);
    if (!user || user.disabled) throw tokenError('INVALID_TOKEN', 'the access token is not valid: the user does not exist or is disabled');
    if (user.token_version !== claims.tokenVersion) {
      throw tokenError('TOKEN_REVOKED', 'the access token was issued before a change of password, role or account state; refresh it or log in again');
    }
    return { kind: 'user', userId: user.id, username: user.username, role: user.role, mustChangePassword: user.must_change_password };
  }

  // ---- login / refresh / logout -------------------------------------------

  async login(username: string, password: string, ip: string): Promise<TokenResponse> {
    const { limiter, users, dummyHash } = this.deps;
    const verify = this.deps.verifyPassword ?? verifyPassword;
    // One key for every spelling of a name ("Viewer2", full-width "ｖiewer2"); names outside the
    // username alphabet (such as "vİewer2") match no account but are limited all the same.
    const key = foldUsername(username).slice(0, 256);
    const wait = limiter.retryAfter(ip, key);
    if (wait > 0) throw rateLimited(wait);
    const canonical = canonicalUsername(username);
    const user = canonical === null ? null : await users.findByUsername(canonical);
    // Same argon2 work whether or not the user exists.
    const ok = await verify(user?.password_hash ?? dummyHash, password);
    if (!user || !ok || user.disabled) {
      limiter.failure(ip, key);
      throw invalidCredentials();
    }
    limiter.success(ip, key);
    const rehash = needsRehash(user.password_hash) ? await hashPassword(password) : null;
    const updated = await this.deps.db.queryOne<DashboardUserRow>(
      `UPDATE dashboard_users SET last_login_at = now(), password_hash = coalesce($2, password_hash) WHERE id = $1 RETURNING *`,
      [user.id, rehash],
    );
    // Housekeeping: this user's refresh tokens that expired more than a day ago.
    await this.deps.db.query(`DELETE FROM refresh_tokens WHERE user_id = $1 AND expires_at < now() - interval '1 day'`, [user.id]);
    return this.issue(updated ?? user, randomUUID());
  }

  async refresh(refreshToken: string): Promise<TokenResponse> {
    const { db, config } = this.deps;
    const hash = sha256Hex(refreshToken);
    const next = newRefreshToken();
    const outcome = await db.transaction(async (tx) => {
      const row = await tx.queryOne<RefreshTokenRow>('SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE', [hash]);
      if (!row) return { error: 'invalid' as const };
      if (row.revoked_at) {
        if (row.revoked_reason === 'rotated') {
          // A rotated token came back: someone else holds a copy. End the whole session family.
          await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'reuse_detected' WHERE family_id = $1 AND revoked_at IS NULL`, [row.family_id]);
          return { error: 'reused' as const, userId: row.user_id };
        }
        return { error: 'invalid' as const };
      }
      if (row.expires_at.getTime() <= Date.now()) return { error: 'invalid' as const };
      const user = await tx.queryOne<DashboardUserRow>('SELECT * FROM dashboard_users WHERE id = $1', [row.user_id]);
      if (!user || user.disabled) {
        await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'user_disabled' WHERE family_id = $1 AND revoked_at IS NULL`, [row.family_id]);
        return { error: 'invalid' as const };
      }
      const created = await tx.queryOne<{ id: number }>(
        `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4)) RETURNING id`,
        [user.id, row.family_id, sha256Hex(next), config.refreshTokenTtlSeconds],
      );
      await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'rotated', replaced_by = $2 WHERE id = $1`, [row.id, created!.id]);
      return { user };
    });
    if ('error' in outcome) {
      if (outcome.error === 'reused') {
        this.deps.logger.warn({ userId: outcome.userId }, 'refresh token reuse detected; session family revoked');
        throw tokenError('REFRESH_TOKEN_REUSED', 'this refresh token was already used; the session has been revoked, log in again');
      }
      throw tokenError('INVALID_REFRESH_TOKEN', 'the refresh token is not valid, expired or revoked');
    }
    return this.respond(outcome.user, next);
  }

  /** Ends the session of a refresh token (its whole family), or every session of the user. */
  async logout(userId: number, opts: { refreshToken?: string | undefined; allSessions?: boolean | undefined }): Promise<void> {
    if (opts.allSessions) {
      await this.revokeAll(userId, 'logout');
      return;
    }
    if (!opts.refreshToken) return;
    await this.deps.db.query(
      `UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'logout'
       WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND user_id = $2)`,
      [sha256Hex(opts.refreshToken), userId],
    );
  }

  /** Changes the user's own password; ends every other session and returns fresh tokens. */
  async changePassword(userId: number, current: string, next: string, ip: string): Promise<TokenResponse> {
    const { db, users, limiter } = this.deps;
    const user = await users.findById(userId);
    if (!user) throw tokenError('INVALID_TOKEN', 'the user no longer exists');
    const wait = limiter.retryAfter(ip, user.username);
    if (wait > 0) throw rateLimited(wait);
    if (!(await (this.deps.verifyPassword ?? verifyPassword)(user.password_hash, current))) {
      limiter.failure(ip, user.username);
      throw new ForbiddenError('INVALID_CURRENT_PASSWORD', 'the current password is not correct');
    }
    if (next === current) throw new InvalidError('PASSWORD_UNCHANGED', 'the new password must differ from the current one');
    assertPasswordAcceptable(next, user.username);
    const hash = await hashPassword(next);
    const updated = await db.transaction(async (tx) => {
      const row = await tx.queryOne<DashboardUserRow>(
        `UPDATE dashboard_users SET password_hash = $2, must_change_password = false, password_changed_at = now(),
           token_version = token_version + 1, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [userId, hash],
      );
      await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'password_changed' WHERE user_id = $1 AND revoked_at IS NULL`, [userId]);
      return row!;
    });
    return this.issue(updated, randomUUID());
  }

  async me(userId: number): Promise<UserView> {
    const user = await this.deps.users.findById(userId);
    if (!user) throw tokenError('INVALID_TOKEN', 'the user no longer exists');
    return toUserView(user);
  }

  /** Starts a session family for a user (login, password change; also test helpers). */
  async issue(user: DashboardUserRow, familyId: string = randomUUID()): Promise<TokenResponse> {
    const token = newRefreshToken();
    await this.deps.db.query(
      `INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4))`,
      [user.id, familyId, sha256Hex(token), this.deps.config.refreshTokenTtlSeconds],
    );
    return this.respond(user, token);
  }

  private async respond(user: DashboardUserRow, refreshToken: string): Promise<TokenResponse> {
    return {
      accessToken: await this.deps.signer.sign({ id: user.id, role: user.role as Role, tokenVersion: user.token_version }),
      tokenType: 'Bearer',
      expiresIn: this.deps.signer.ttlSeconds,
      refreshToken,
      refreshExpiresIn: this.deps.config.refreshTokenTtlSeconds,
      user: toUserView(user),
    };
  }

  private async revokeAll(userId: number, reason: string): Promise<void> {
    await this.deps.db.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = $2 WHERE user_id = $1 AND revoked_at IS NULL`, [userId, reason]);
  }
}

export function rateLimited(retryAfterSeconds: number): RateLimitedError {
  return new RateLimitedError('RATE_LIMITED', `too many failed login attempts; retry in ${retryAfterSeconds} s`, retryAfterSeconds);
}
