/**
 * Drizzle declarations of the access-control tables created by
 * src/db/migrations/0007_access_control.sql (and 0009_auth_hardening.sql). They give the row types used by
 * the services (`$inferSelect`); src/modules/tables.test.ts compares them with the migrated
 * database so the two cannot drift. Property names are the column names, so a
 * raw `SELECT *` row has exactly the `$inferSelect` shape.
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, foreignKey, index, integer, pgTable, text, uniqueIndex, uuid, type AnyPgColumn } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { ROLES, SCOPES, type Scope } from '../../domain/access.ts';



export const dashboardUsers = pgTable(
  'dashboard_users',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    username: text().notNull(),
    password_hash: text().notNull(),
    role: text({ enum: ROLES }).notNull(),
    email: text(),
    telegram_id: bigint({ mode: 'number' }),
    disabled: boolean().notNull().default(false),
    must_change_password: boolean().notNull().default(false),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
    password_changed_at: tstz().notNull().defaultNow(),
    last_login_at: tstz(),
    /** Incremented on disable/enable, role change and password change; access tokens carry it (claim `tv`). */
    token_version: integer().notNull().default(0),
  },
  (t) => [
    uniqueIndex('dashboard_users_username_key').on(sql`lower(${t.username})`),
    check('dashboard_users_username_check', sql`length(${t.username}) BETWEEN 1 AND 64`),
    check('dashboard_users_role_check', sql`${t.role} IN (${sqlList(ROLES)})`),
    check('dashboard_users_username_canonical', sql`${t.username} ~ '^[a-z0-9][a-z0-9._@-]{0,63}$'`),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull(),
    prefix: text().notNull().unique(),
    key_hash: text().notNull(),
    scopes: text({ enum: SCOPES }).array().notNull().$type<Scope[]>(),
    created_by: integer().references(() => dashboardUsers.id, { onDelete: 'set null' }),
    created_at: tstz().notNull().defaultNow(),
    expires_at: tstz(),
    revoked_at: tstz(),
    last_used_at: tstz(),
  },
  (t) => [
    check('api_keys_name_check', sql`length(${t.name}) BETWEEN 1 AND 100`),
    check('api_keys_scopes_check', sql`cardinality(${t.scopes}) > 0 AND ${t.scopes} <@ ARRAY[${sqlList(SCOPES)}]::text[]`),
  ],
);

export const refreshTokens = pgTable(
  'refresh_tokens',
  {
    id: bigint({ mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    user_id: integer()
      .notNull()
      .references(() => dashboardUsers.id, { onDelete: 'cascade' }),
    family_id: uuid().notNull(),
    token_hash: text().notNull().unique(),
    created_at: tstz().notNull().defaultNow(),
    expires_at: tstz().notNull(),
    revoked_at: tstz(),
    revoked_reason: text(),
    replaced_by: bigint({ mode: 'number' }),
  },
  (t) => [
    foreignKey({ columns: [t.replaced_by], foreignColumns: [t.id] as [AnyPgColumn] }).onDelete('set null'),
    index('refresh_tokens_family_idx').on(t.family_id),
    index('refresh_tokens_user_idx').on(t.user_id, t.expires_at),
  ],
);

export type DashboardUserRow = typeof dashboardUsers.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type RefreshTokenRow = typeof refreshTokens.$inferSelect;
