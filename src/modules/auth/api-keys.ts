/**
 * API keys for agents and scripts: `odk_<prefix>_<secret>`, shown once at
 * creation. The row keeps the visible prefix (lookup) and the SHA-256 of the
 * whole key — the secret has 256 random bits, so a fast hash is as strong as a
 * slow one and keeps ingest cheap. last_used_at is written at most once a
 * minute per key (in-process throttle plus a conditional UPDATE, so several
 * processes do not write more often either).
 *
 * A key acts for the user who created it (created_by; a key made with another
 * key belongs to that key's creator): it is refused (401
 * API_KEY_OWNER_DISABLED) while that user is disabled or gone, and its
 * effective scopes are its stored scopes within SCOPES_OF_ROLE of the user's
 * current role (admin → read, ingest, admin; operator → read, ingest;
 * viewer → read).
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import { SCOPES_OF_ROLE, type Principal, type Role, type Scope } from '../../domain/access.ts';
import { ForbiddenError, InvalidError, NotFoundError, UnauthenticatedError } from '../../domain/errors.ts';
import type { ApiKeyRow } from './schema.ts';
import { API_KEY_PATTERN, hashesEqual, newApiKey, sha256Hex } from './tokens.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from './users.ts';

export const LAST_USED_THROTTLE_MS = 60_000;

/** How long a key row is reused before it is read again (see byPrefix). */
export const KEY_CACHE_MS = 5_000;

export type ApiKeyStatus = 'active' | 'expired' | 'revoked';

export interface ApiKeyView {
  id: number;
  name: string;
  prefix: string;
  scopes: Scope[];
  status: ApiKeyStatus;
  createdBy: number | null;
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

function status(r: ApiKeyRow, now = Date.now()): ApiKeyStatus {
  if (r.revoked_at) return 'revoked';
  if (r.expires_at && r.expires_at.getTime() <= now) return 'expired';
  return 'active';
}

const toView = (r: ApiKeyRow): ApiKeyView => ({
  id: r.id,
  name: r.name,
  prefix: r.prefix,
  scopes: r.scopes,
  status: status(r),
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
  expiresAt: r.expires_at?.toISOString() ?? null,
  revokedAt: r.revoked_at?.toISOString() ?? null,
  lastUsedAt: r.last_used_at?.toISOString() ?? null,
});

/** A key row with the current role and state of the user it acts for (null: no such user). */
type KeyWithOwner = ApiKeyRow & { owner_role: Role | null; owner_disabled: boolean | null };

const bearerError = (code: string, message: string) => new UnauthenticatedError(code, message, 'invalid_token');

export class ApiKeyStore {
  private readonly cache = new Map<string, { row: KeyWithOwner; at: number }>();
  /** Reads in flight by prefix: requests that find the entry expired together share one read. */
  private readonly reading = new Map<string, Promise<KeyWithOwner | null>>();
  /** Bumped by every change made here: a read begun before it does not fill the cache. */
  private generation = 0;
  private readonly lastTouched = new Map<number, number>();

  constructor(
    private readonly db: Database,
    private readonly logger: Logger,
  ) {}

  async create(actor: Principal, input: { name: string; scopes: Scope[]; expiresAt?: Date | null | undefined }): Promise<ApiKeyView & { key: string }> {
    if (input.expiresAt && input.expiresAt.getTime() <= Date.now()) {
      throw new InvalidError('VALIDATION_FAILED', 'expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }]);
    }
    const scopes = [...new Set(input.scopes)];
    // The key acts for a user: the calling user, or the user behind the calling key.
    const owner = actor.kind === 'user' ? actor.userId : (actor.ownerId ?? null);
    if (owner === null) throw new ForbiddenError('FORBIDDEN', 'an API key needs a user to act for');
    for (let attempt = 0; ; attempt++) {
      const { key, prefix } = newApiKey();
      try {
        const row = await this.db.queryOne<ApiKeyRow>(
          `INSERT INTO api_keys (name, prefix, key_hash, scopes, created_by, expires_at)
           VALUES ($1, $2, $3, $4::text[], $5, $6) RETURNING *`,
          [input.name, prefix, sha256Hex(key), scopes, owner, input.expiresAt ?? null],
        );
        return { ...toView(row!), key };
      } catch (err) {
        // A prefix collision (48 random bits) is astronomically rare; try a fresh key.
        if (isUniqueViolation(err) && attempt < 3) continue;
        throw err;
      }
    }
  }

  async list(opts: { page: number; pageSize: number; includeInactive: boolean }): Promise<Page<ApiKeyView>> {
    const where = '($1 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())))';
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE ${where}`, [opts.includeInactive]))?.n ?? 0;
    const rows = await this.db.queryMany<ApiKeyRow>(`SELECT * FROM api_keys WHERE ${where} ORDER BY id LIMIT $2 OFFSET $3`, [
      opts.includeInactive,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return pageResult(rows.map(toView), total, opts.page, opts.pageSize);
  }

  /** Revokes a key (idempotent: an already revoked key keeps its revocation time). */
  async revoke(id: number): Promise<void> {
    const r = await this.db.queryOne<{ id: number }>('UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING id', [id]);
    if (!r) throw new NotFoundError('API_KEY_NOT_FOUND', `no API key ${id}`);
    this.forgetReads();
    for (const [prefix, hit] of this.cache) if (hit.row.id === id) this.cache.delete(prefix);
  }

  /** Drops the cached keys a user created (their role or state changed in this process). */
  forgetOwner(userId: number): void {
    this.forgetReads();
    for (const [prefix, hit] of this.cache) if (hit.row.created_by === userId) this.cache.delete(prefix);
  }

  /** Reads in flight may predate a change: later requests read again, and those reads cache nothing. */
  private forgetReads(): void {
    this.generation++;
    this.reading.clear();
  }

  /**
   * The key row and its creator's role and state by prefix, cached for
   * KEY_CACHE_MS: agents send thousands of requests a second with the same key.
   * A revocation or a change of the creator in this process applies at once;
   * one made by another process sharing the database within KEY_CACHE_MS.
   */
  private async byPrefix(prefix: string): Promise<KeyWithOwner | null> {
    const now = Date.now();
    const hit = this.cache.get(prefix);
    if (hit && now - hit.at < KEY_CACHE_MS) return hit.row;
    // Many agents sharing a key find its entry expired at once: one read answers all of them.
    const pending = this.reading.get(prefix);
    if (pending) return pending;
    const generation = this.generation;
    const read = this.db
      .queryOne<KeyWithOwner>(
        `SELECT k.*, u.role AS owner_role, u.disabled AS owner_disabled
         FROM api_keys k LEFT JOIN dashboard_users u ON u.id = k.created_by
         WHERE k.prefix = $1`,
        [prefix],
      )
      .then((row) => {
        if (generation === this.generation) {
          if (row) {
            if (this.cache.size >= 10_000) this.cache.clear();
            this.cache.set(prefix, { row, at: now });
          } else this.cache.delete(prefix);
        }
        return row;
      })
      .finally(() => {
        if (this.reading.get(prefix) === read) this.reading.delete(prefix);
      });
    this.reading.set(prefix, read);
    return read;
  }

  /** Resolves a presented key; 401 for an unknown, wrong, revoked or expired key. */
  async authenticate(token: string): Promise<Principal> {
    const m = API_KEY_PATTERN.exec(token);
    if (!m) throw bearerError('INVALID_API_KEY', 'the API key is not valid');
    const row = await this.byPrefix(m[1]!);
    if (!row || !hashesEqual(row.key_hash, sha256Hex(token))) throw bearerError('INVALID_API_KEY', 'the API key is not valid');
    const s = status(row);
    if (s === 'revoked') throw bearerError('API_KEY_REVOKED', 'the API key was revoked');
    if (s === 'expired') throw bearerError('API_KEY_EXPIRED', 'the API key has expired');
    if (row.created_by === null || row.owner_role === null || row.owner_disabled !== false) {
      throw bearerError('API_KEY_OWNER_DISABLED', 'the user this API key acts for is disabled or no longer exists');
    }
    await this.touch(row);
    // Stored `admin` implies the other scopes; the creator's role then bounds them.
    const permitted = SCOPES_OF_ROLE[row.owner_role];
    const stored: readonly Scope[] = row.scopes.includes('admin') ? SCOPES_OF_ROLE.admin : row.scopes;
    const scopes = stored.filter((sc) => permitted.includes(sc));
    return { kind: 'apiKey', keyId: row.id, name: row.name, scopes, ownerId: row.created_by };
  }

  private async touch(row: ApiKeyRow): Promise<void> {
    const now = Date.now();
    const last = Math.max(this.lastTouched.get(row.id) ?? 0, row.last_used_at?.getTime() ?? 0);
    if (now - last < LAST_USED_THROTTLE_MS) return;
    this.lastTouched.set(row.id, now);
    try {
      await this.db.query(
        `UPDATE api_keys SET last_used_at = now()
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < now() - make_interval(secs => $2))`,
        [row.id, LAST_USED_THROTTLE_MS / 1000],
      );
    } catch (err) {
      // Bookkeeping only: never fail the request for it.
      this.logger.warn({ err: (err as Error).message, keyId: row.id }, 'could not record API key use');
    }
  }
}
