/** Parameter schemas shared by routes: node ids (one rule, from the family module) and comma lists. */
import { z } from 'zod';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../timeseries/family.ts';

/** A path parameter holding one node id. */
export const nodeIdParam = z.string().min(1).max(NODE_ID_MAX).regex(NODE_ID_PATTERN, NODE_ID_RULE);

/** A query parameter given as `a,b` or repeated (`?x=a&x=b`); every item must pass `valid`. */
export const csvParam = (valid: (item: string) => boolean, what: string) =>
  z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const items = (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      for (const it of items) {
        if (!valid(it)) {
          ctx.addIssue({ code: 'custom', message: `invalid ${what}: ${JSON.stringify(it.slice(0, 64))}` });
          return z.NEVER;
        }
      }
      return items.length ? items : undefined;
    });

/** Node ids, comma-separated or repeated. */
export const nodeIdListParam = csvParam((id) => id.length <= NODE_ID_MAX && NODE_ID_PATTERN.test(id), 'node id');

/** Largest row id (the id columns are PostgreSQL `integer`). */
export const ID_MAX = 2_147_483_647;

/**
 * A numeric row id in a path: the canonical decimal form only (no sign, no
 * leading zero, no hex, exponent, fraction or blanks), 1 … ID_MAX. `z.coerce`
 * used to accept `0x1`, `1e0` or ` 1` as id 1.
 */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,9}$/, 'must be a positive decimal integer without sign or leading zeros')
  .transform(Number)
  .refine((n) => n <= ID_MAX, `must be at most ${ID_MAX}`);

/** `params` of a route whose path ends in `/:id`. */
export const idParams = z.object({ id: idParam });
