/**
 * Drizzle declaration of saved_views (src/db/migrations/0007_access_control.sql);
 * gives the row type. Compared with the migrated database in
 * src/modules/tables.test.ts.
 */
import { sql } from 'drizzle-orm';
import { boolean, check, integer, jsonb, pgTable, text, unique, uniqueIndex } from 'drizzle-orm/pg-core';
import { tstz } from '../../db/drizzle.ts';
import { dashboardUsers } from '../auth/schema.ts';

export const savedViews = pgTable(
  'saved_views',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    user_id: integer()
      .notNull()
      .references(() => dashboardUsers.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    config: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    is_default: boolean().notNull().default(false),
    created_at: tstz().notNull().defaultNow(),
    updated_at: tstz().notNull().defaultNow(),
  },
  (t) => [
    check('saved_views_name_check', sql`length(${t.name}) BETWEEN 1 AND 100`),
    unique('saved_views_user_name_key').on(t.user_id, t.name),
    uniqueIndex('saved_views_one_default_idx').on(t.user_id).where(sql`${t.is_default}`),
  ],
);

export type SavedViewRow = typeof savedViews.$inferSelect;
