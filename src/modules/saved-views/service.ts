/**
 * Saved views: per-user named JSON dashboard configurations, at most one
 * default per user. Every query is scoped by the owner, so another user's view
 * is simply "not found". Writes lock the owner's row, which serialises one
 * user's default switching (unset the old default, set the new one) without
 * touching other users — and makes the per-user count limit exact under
 * concurrent creates.
 *
 * Storage per user is bounded: at most MAX_VIEWS_PER_USER views (409
 * SAVED_VIEW_LIMIT) of at most MAX_CONFIG_BYTES of JSON config each (413
 * SAVED_VIEW_TOO_LARGE).
 */
import type { Database, Queryable } from '../../db/database.ts';
import { ConflictError, LimitExceededError, NotFoundError, TooLargeError, UnauthenticatedError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from '../auth/users.ts';
import type { SavedViewRow } from './schema.ts';

/** Most saved views one user may keep. */
export const MAX_VIEWS_PER_USER = 100;
/** Largest config of one view, serialised as JSON (bytes). */
export const MAX_CONFIG_BYTES = 64 * 1024;

export interface SavedView {
  id: number;
  name: string;
  config: Record<string, unknown>;
  isDefault: boolean;
  createdAt: string;
  updatedAt: string;
}

export interface SavedViewInput {
  name: string;
  config: Record<string, unknown>;
  isDefault?: boolean | undefined;
}

const toView = (r: SavedViewRow): SavedView => ({
  id: r.id,
  name: r.name,
  config: r.config,
  isDefault: r.is_default,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const notFound = (id: number) => new NotFoundError('SAVED_VIEW_NOT_FOUND', `no saved view ${id}`);
const tooLarge = (bytes: number) =>
  new TooLargeError('SAVED_VIEW_TOO_LARGE', `the view config is ${bytes} bytes as JSON; at most ${MAX_CONFIG_BYTES} are kept`, { maxBytes: MAX_CONFIG_BYTES });
const limitReached = () =>
  new LimitExceededError('SAVED_VIEW_LIMIT', `you already have ${MAX_VIEWS_PER_USER} saved views, the most one user may keep; delete one first`, { maxViews: MAX_VIEWS_PER_USER });

/** The config as JSON text, refused when over MAX_CONFIG_BYTES. */
function configJson(config: Record<string, unknown>): string {
  const text = JSON.stringify(config);
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_CONFIG_BYTES) throw tooLarge(bytes);
  return text;
}

const nameTaken = (name: string) => new ConflictError('SAVED_VIEW_NAME_TAKEN', `you already have a saved view named ${JSON.stringify(name)}`);

export class SavedViewStore {
  constructor(private readonly db: Database) {}

  async list(userId: number, opts: { page: number; pageSize: number }): Promise<Page<SavedView>> {
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM saved_views WHERE user_id = $1', [userId]))?.n ?? 0;
    const rows = await this.db.queryMany<SavedViewRow>(
      'SELECT * FROM saved_views WHERE user_id = $1 ORDER BY is_default DESC, name, id LIMIT $2 OFFSET $3',
      [userId, opts.pageSize, (opts.page - 1) * opts.pageSize],
    );
    return pageResult(rows.map(toView), total, opts.page, opts.pageSize);
  }

  async get(userId: number, id: number): Promise<SavedView> {
    const row = await this.db.queryOne<SavedViewRow>('SELECT * FROM saved_views WHERE id = $1 AND user_id = $2', [id, userId]);
    if (!row) throw notFound(id);
    return toView(row);
  }

  async create(userId: number, input: SavedViewInput): Promise<SavedView> {
    const config = configJson(input.config);
    return this.write(input.name, async (tx) => {
      // Counted under the owner's row lock (write), so concurrent creates cannot pass the limit.
      const n = (await tx.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM saved_views WHERE user_id = $1', [userId]))?.n ?? 0;
      if (n >= MAX_VIEWS_PER_USER) throw limitReached();
      if (input.isDefault) await this.clearDefault(tx, userId, null);
      const row = await tx.queryOne<SavedViewRow>(
        `INSERT INTO saved_views (user_id, name, config, is_default) VALUES ($1, $2, $3::text::jsonb, $4) RETURNING *`,
        [userId, input.name, config, input.isDefault ?? false],
      );
      return toView(row!);
    }, userId);
  }

  /** Replaces name, config and the default flag. */
  async replace(userId: number, id: number, input: SavedViewInput): Promise<SavedView> {
    const config = configJson(input.config);
    return this.write(input.name, async (tx) => {
      const existing = await tx.queryOne<{ id: number }>('SELECT id FROM saved_views WHERE id = $1 AND user_id = $2', [id, userId]);
      if (!existing) throw notFound(id);
      if (input.isDefault) await this.clearDefault(tx, userId, id);
      const row = await tx.queryOne<SavedViewRow>(
        `UPDATE saved_views SET name = $3, config = $4::text::jsonb, is_default = $5, updated_at = now()
         WHERE id = $1 AND user_id = $2 RETURNING *`,
        [id, userId, input.name, config, input.isDefault ?? false],
      );
      return toView(row!);
    }, userId);
  }

  async remove(userId: number, id: number): Promise<void> {
    const r = await this.db.queryOne<{ id: number }>('DELETE FROM saved_views WHERE id = $1 AND user_id = $2 RETURNING id', [id, userId]);
    if (!r) throw notFound(id);
  }

  private async clearDefault(tx: Queryable, userId: number, except: number | null): Promise<void> {
    await tx.query('UPDATE saved_views SET is_default = false, updated_at = now() WHERE user_id = $1 AND is_default AND id IS DISTINCT FROM $2', [userId, except]);
  }

  private async write<T>(name: string, fn: (tx: Queryable) => Promise<T>, userId: number): Promise<T> {
    try {
      return await this.db.transaction(async (tx) => {
        // Serialise this user's view writes (FOR NO KEY UPDATE does not block the FK checks of other writers).
        const owner = await tx.queryOne<{ id: number }>('SELECT id FROM dashboard_users WHERE id = $1 FOR NO KEY UPDATE', [userId]);
        if (!owner) throw new UnauthenticatedError('INVALID_TOKEN', 'the user no longer exists');
        return fn(tx);
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(name);
      throw err;
    }
  }
}
