/**
 * Access tokens (JWT, HS256, algorithm pinned on verification), opaque refresh
 * tokens and API-key material.
 *
 * The access token's claims: iss `opsdeck`, aud `opsdeck-api`, sub = user id,
 * iat, exp, jti, `role` (informational — the authoritative role is re-read from
 * dashboard_users on every request) and `tv` (the user's token_version at issue
 * time: disabling, re-enabling, a role change and a password change increment
 * it, which invalidates every access token issued before). A token whose `iat`
 * lies more than MAX_CLOCK_SKEW_SECONDS in the future is refused.
 */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type { Queryable } from '../../db/database.ts';
import type { Role } from '../../domain/access.ts';

export const JWT_ISSUER = 'opsdeck';
export const JWT_AUDIENCE = 'opsdeck-api';
export const JWT_ALGORITHM = 'HS256';
/** Accepted clock difference for a token's `iat` lying in the future (another instance's clock). */
export const MAX_CLOCK_SKEW_SECONDS = 60;

export interface AccessClaims {
  userId: number;
  role: Role;
  /** token_version of the user when the token was issued. */
  tokenVersion: number;
  issuedAt: number;
  expiresAt: number;
}

export type VerifyFailure = 'expired' | 'invalid';

export class TokenSigner {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async sign(user: { id: number; role: Role; tokenVersion: number }): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ role: user.role, tv: user.tokenVersion })
      .setProtectedHeader({ alg: JWT_ALGORITHM, typ: 'JWT' })
      .setIssuer(JWT_ISSUER)
      .setAudience(JWT_AUDIENCE)
      .setSubject(String(user.id))
      .setIssuedAt(now)
      .setExpirationTime(now + this.ttlSeconds)
      .setJti(randomUUID())
      .sign(this.key);
  }

  async verify(token: string): Promise<AccessClaims | VerifyFailure> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: [JWT_ALGORITHM],
        issuer: JWT_ISSUER,
        audience: JWT_AUDIENCE,
        requiredClaims: ['sub', 'exp', 'iat'],
        clockTolerance: 5,
      });
      const userId = Number(payload.sub);
      const role = payload.role;
      const tv = payload.tv;
      if (!Number.isSafeInteger(userId) || userId <= 0 || typeof role !== 'string' || !Number.isSafeInteger(tv)) return 'invalid';
      // jose checks iat only against maxTokenAge: a token "issued" in the future would outlive its TTL.
      if (typeof payload.iat !== 'number' || payload.iat > Date.now() / 1000 + MAX_CLOCK_SKEW_SECONDS) return 'invalid';
      return { userId, role: role as Role, tokenVersion: tv as number, issuedAt: payload.iat, expiresAt: payload.exp! };
    } catch (err) {
      return err instanceof joseErrors.JWTExpired ? 'expired' : 'invalid';
    }
  }
}

/**
 * The HMAC secret: config.jwtSecret, else one generated on first start and kept
 * in opsdeck_settings (key jwt_secret) so tokens survive restarts and are shared
 * by every process on the database. Race-free: the first writer wins.
 */
export async function loadJwtSecret(db: Queryable, configured: string | undefined): Promise<string> {
  if (configured) return configured;
  const fresh = randomBytes(48).toString('base64url');
  await db.query(`INSERT INTO opsdeck_settings (key, value) VALUES ('jwt_secret', $1) ON CONFLICT (key) DO NOTHING`, [fresh]);
  const row = await db.queryOne<{ value: string }>(`SELECT value FROM opsdeck_settings WHERE key = 'jwt_secret'`);
  if (!row) throw new Error('jwt_secret setting missing after insert');
  return row.value;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function hashesEqual(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/** An opaque refresh token: 256 random bits. */
export function newRefreshToken(): string {
  return `odr_${randomBytes(32).toString('base64url')}`;
}

export const API_KEY_PATTERN = /^odk_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** A new API key `odk_<12-char prefix>_<43-char secret>`; the prefix is shown in lists. */
export function newApiKey(): { key: string; prefix: string } {
  const prefix = randomBytes(6).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { key: `odk_${prefix}_${secret}`, prefix };
}
