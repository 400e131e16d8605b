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
