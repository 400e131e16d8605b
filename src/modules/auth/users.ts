/**
 * dashboard_users: lookup, listing, creation and the admin changes (role,
 * disabled, email) with their rules — nobody raises their own role, the last
 * active admin cannot be demoted or disabled, and disabling a user ends their
 * sessions (refresh tokens revoked; access tokens fail the per-request check).
 */
import type { Database, Queryable } from '../../db/database.ts';
import { DatabaseQueryError } from '../../db/database.ts';
import { roleAtLeast, type Principal, type Role } from '../../http/access.ts';
import { HttpError } from '../../http/problem.ts';
import { hashPassword } from './passwords.ts';
import type { DashboardUserRow } from './schema.ts';
import { pageResult, type Page } from '../../http/pagination.ts';

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
}

export class UserStore {
  constructor(private readonly db: Database) {}

  findByUsername(username: string, db: Queryable = this.db): Promise<DashboardUserRow | null> {
    return db.queryOne<DashboardUserRow>('SELECT * FROM dashboard_users WHERE lower(username) = lower($1)', [username]);
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

  /** Creates a user; 409 USERNAME_TAKEN when the name exists in any letter case. */
  async create(u: NewUser): Promise<DashboardUserRow> {
    const hash = await hashPassword(u.password);
    const row = await this.insertHashed({ ...u, passwordHash: hash });
    if (!row) throw new HttpError(409, 'USERNAME_TAKEN', `a user named ${JSON.stringify(u.username)} already exists`);
    return row;
  }

  /** Inserts unless the username exists (then null). */
  async insertHashed(u: Omit<NewUser, 'password'> & { passwordHash: string }): Promise<DashboardUserRow | null> {
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
    return this.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [USERS_LOCK_KEY]);
      const target = await this.findById(id, tx);
      const actorIsAdmin = actor.kind === 'apiKey' ? actor.scopes.includes('admin') : actor.role === 'admin';
      const self = actor.kind === 'user' && actor.userId === id;
      if (!target) {
        if (actorIsAdmin) throw new HttpError(404, 'USER_NOT_FOUND', `no user ${id}`);
        throw new HttpError(403, 'FORBIDDEN', 'only admins can change other users');
      }
      if (patch.role !== undefined && self && !roleAtLeast(target.role, patch.role)) {
        throw new HttpError(403, 'CANNOT_RAISE_OWN_ROLE', 'users cannot raise their own role');
      }
      if (!actorIsAdmin) {
        if (!self) throw new HttpError(403, 'FORBIDDEN', 'only admins can change other users');
        if (patch.disabled !== undefined && patch.disabled !== target.disabled) {
          throw new HttpError(403, 'FORBIDDEN', 'only admins can disable or enable users');
        }
      }
      const losesAdmin = target.role === 'admin' && !target.disabled && ((patch.role !== undefined && patch.role !== 'admin') || patch.disabled === true);
      if (losesAdmin) {
        const others = await tx.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM dashboard_users WHERE role = 'admin' AND NOT disabled AND id <> $1`, [id]);
        if (!others?.n) throw new HttpError(409, 'LAST_ADMIN', 'this is the last active admin; make another user admin first');
      }
      const row = await tx.queryOne<DashboardUserRow>(
        `UPDATE dashboard_users SET
           role = coalesce($2, role),
           disabled = coalesce($3, disabled),
           email = CASE WHEN $4 THEN $5 ELSE email END,
           updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, patch.role ?? null, patch.disabled ?? null, patch.email !== undefined, patch.email ?? null],
      );
      if (patch.disabled === true && !target.disabled) {
        await tx.query(`UPDATE refresh_tokens SET revoked_at = now(), revoked_reason = 'user_disabled' WHERE user_id = $1 AND revoked_at IS NULL`, [id]);
      }
      return row!;
    });
  }
}
