/**
 * dashboard_users: lookup, listing, creation and the admin changes (role,
 * disabled, email) with their rules — nobody raises their own role, the last
 * active admin cannot be demoted or disabled, and disabling a user ends their
 * sessions (refresh tokens revoked; access tokens fail the per-request check).
 */
import type { Database, Queryable } from '../../db/database.ts';
import { DatabaseQueryError } from '../../db/database.ts';
import { roleAtLeast, type Principal, type Role } from '../../domain/access.ts';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { hashPassword } from './passwords.ts';
import { assertPasswordAcceptable } from './password-policy.ts';
import { canonicalUsername, USERNAME_RULE } from './usernames.ts';
import type { DashboardUserRow } from './schema.ts';
import { pageResult, type Page } from '../../domain/paging.ts';

export interface UserView {
  id: number;
  username: string;
  role: Role;
  email: string | null;
  disabled: boolean;
  mustChangePassword: boolean;
  createdAt: string;
  updatedAt: string;
  passwordChangedAt: string;
  lastLoginAt: string | null;
  telegramId: number | null;
}


export const toUserView = (r: DashboardUserRow): UserView => ({
  id: r.id,
  username: r.username,
  role: r.role,
  email: r.email,
  disabled: r.disabled,
  mustChangePassword: r.must_change_password,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  passwordChangedAt: r.password_changed_at.toISOString(),
  lastLoginAt: r.last_login_at?.toISOString() ?? null,
  telegramId: r.telegram_id ?? null,
});

export function isUniqueViolation(err: unknown): boolean {
  return err instanceof DatabaseQueryError && err.sqlState === '23505';
}

/** Serialises changes to users so the "last active admin" rule holds under concurrency. */
const USERS_LOCK_KEY = 7_210_431_007;

export interface NewUser {
  username: string;
  password: string;
  role: Role;
  email?: string | null | undefined;
  mustChangePassword?: boolean | undefined;
}

export interface UserPatch {
  role?: Role | undefined;
  disabled?: boolean | undefined;
  email?: string | null | undefined;
  /** The user's Telegram user id (a Telegram notification channel may name the user instead of a chat). */
  telegramId?: number | null | undefined;
}

export class UserStore {
  /** Called after a user's role or disabled flag changed (the API-key cache drops that user's keys). */
  onAccessChanged: (userId: number) => void = () => {};

  constructor(private readonly db: Database) {}

  /** The user with this name in canonical form (see usernames.ts); null for a name that cannot exist. */
  findByUsername(username: string, db: Queryable = this.db): Promise<DashboardUserRow | null> {
    const canonical = canonicalUsername(username);
    if (canonical === null) return Promise.resolve(null);
    return db.queryOne<DashboardUserRow>('SELECT * FROM dashboard_users WHERE lower(username) = $1', [canonical]);
  }

  findById(id: number, db: Queryable = this.db): Promise<DashboardUserRow | null> {
    return db.queryOne<DashboardUserRow>('SELECT * FROM dashboard_users WHERE id = $1', [id]);
  }

  async count(): Promise<number> {
    return (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM dashboard_users'))?.n ?? 0;
  }

  async list(opts: { page: number; pageSize: number; role?: Role | undefined; disabled?: boolean | undefined }): Promise<Page<UserView>> {
    const where = '($1::text IS NULL OR role = $1) AND ($2::boolean IS NULL OR disabled = $2)';
    const params = [opts.role ?? null, opts.disabled ?? null];
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM dashboard_users WHERE ${where}`, params))?.n ?? 0;
    const rows = await this.db.queryMany<DashboardUserRow>(`SELECT * FROM dashboard_users WHERE ${where} ORDER BY id LIMIT $3 OFFSET $4`, [
      ...params,
      opts.pageSize,
      (opts.page - 1) * opts.pageSize,
    ]);
    return pageResult(rows.map(toUserView), total, opts.page, opts.pageSize);
  }

  /**
   * Creates a user under the canonical form of the name; 409 USERNAME_TAKEN when
   * it exists, 400 PASSWORD_TOO_WEAK when the password breaks the password rule.
   */
  async create(u: NewUser): Promise<DashboardUserRow> {
    const username = requireCanonical(u.username);
    assertPasswordAcceptable(u.password, username);
    const hash = await hashPassword(u.password);
    const row = await this.insertHashed({ ...u, username, passwordHash: hash });
    if (!row) throw new ConflictError('USERNAME_TAKEN', `a user named ${JSON.stringify(username)} already exists`);
    return row;
  }

  /** Inserts unless the username exists (then null). The password rule is the caller's (create, first admin). */
  async insertHashed(u: Omit<NewUser, 'password'> & { passwordHash: string }): Promise<DashboardUserRow | null> {
    u = { ...u, username: requireCanonical(u.username) };
    return this.db.queryOne<DashboardUserRow>(
      `INSERT INTO dashboard_users (username, password_hash, role, email, must_change_password)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT ((lower(username))) DO NOTHING
       RETURNING *`,
      [u.username, u.passwordHash, u.role, u.email ?? null, u.mustChangePassword ?? false],
    );
  }

  /**
   * PATCH /users/{id}. Admins (users with role admin, API keys with scope admin)
   * may change anyone; other users only their own record, and never to a higher
   * role or their own disabled flag.
   */
  async update(actor: Principal, id: number, patch: UserPatch): Promise<DashboardUserRow> {
    const { row, accessChanged } = await this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [USERS_LOCK_KEY]);
      const target = await this.findById(id, tx);
      const actorIsAdmin = actor.kind === 'apiKey' ? actor.scopes.includes('admin') : actor.role === 'admin';
      const self = actor.kind === 'user' && actor.userId === id;
      if (!target) {
        if (actorIsAdmin) throw new NotFoundError('USER_NOT_FOUND', `no user ${id}`);
        throw new ForbiddenError('FORBIDDEN', 'only admins can change other users');
      }
      if (patch.role !== undefined && self && !roleAtLeast(target.role, patch.role)) {
        throw new ForbiddenError('CANNOT_RAISE_OWN_ROLE', 'users cannot raise their own role');
      }
      if (!actorIsAdmin) {
        if (!self) throw new ForbiddenError('FORBIDDEN', 'only admins can change other users');
        if (patch.disabled !== undefined && patch.disabled !== target.disabled) {
          throw new ForbiddenError('FORBIDDEN', 'only admins can disable or enable users');
        }
      }
      const losesAdmin = target.role === 'admin' && !target.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
      if (losesAdmin) {
        const others = await tx.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM dashboard_users WHERE role = 'admin' AND NOT disabled AND id <> $1`, [id]);
        if (!others?.n) throw new ConflictError('LAST_ADMIN', 'this is the last active admin; make another user admin first');
      }
      const row = await tx.queryOne<DashboardUserRow>(
        `UPDATE dashboard_users SET
           role = coalesce($2, role),
           disabled = coalesce($3, disabled),
           email = CASE WHEN $4 THEN $5 ELSE email END,
           telegram_id = CASE WHEN $6 THEN $7::bigint ELSE telegram_id END,
           token_version = token_version + CASE WHEN coalesce($2, role) <> role OR coalesce($3, disabled) <> disabled THEN 1 ELSE 0 END,
           updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, patch.role ?? null, patch.disabled ?? null, patch.email !== undefined, patch.email ?? null, patch.telegramId !== undefined, patch.telegramId ?? null],
      );
      // Access tokens issued before a disable, re-enable or role change are dead (token_version).
      const accessChanged = row!.role !== target.role || row!.disabled !== target.disabled;
      if (patch.disabled === true && !target.disabled) {
        await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'user_disabled' WHERE user_id = $1 AND revoked_at IS NULL`, [id]);
      }
      return { row: row!, accessChanged };
    });
    // After the commit: the API keys this user created are re-read with the new role/state.
    if (accessChanged) this.onAccessChanged(id);
    return row;
  }
}

function requireCanonical(username: string): string {
  const canonical = canonicalUsername(username);
  if (canonical === null) {
    throw new InvalidError('VALIDATION_FAILED', `invalid username: ${USERNAME_RULE}`, [{ path: 'username', message: USERNAME_RULE }]);
  }
  return canonical;
}
