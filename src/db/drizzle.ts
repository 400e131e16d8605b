/** Helpers for the Drizzle table declarations of the modules (src/modules/tables.ts lists them). */
import { sql, type SQL } from 'drizzle-orm';
import { timestamp } from 'drizzle-orm/pg-core';

/** An enum tuple as a SQL list of literals ('a', 'b'), so a CHECK allows exactly the tuple's values. */
export const sqlList = (values: readonly string[]): SQL => sql.raw(values.map((v) => `'${v.replaceAll("'", "''")}'`).join(', '));

/** timestamptz */
export const tstz = () => timestamp({ withTimezone: true });
