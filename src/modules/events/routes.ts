/**
 * Routes of every event stream, derived from its declaration (src/modules/streams.ts):
 *   POST /api/v1/events/{key}        — one event or an array: all or nothing, idempotent, 200 after commit
 *   GET  /api/v1/events/{key}        — events of a time window, newest first, dimension filters, keyset pages
 *   GET  /api/v1/events/{key}/stats  — rollup buckets over a window, grouped and filtered by dimensions
 * Thin: validation comes from the declaration, rules from the StreamStore.
 */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { batchRows, rowOrRows } from '../../http/batch.ts';
import { ROLLUP_LEVELS } from '../../timeseries/family.ts';
import type { Stream } from '../../timeseries/stream.ts';

const dateTime = z.iso.datetime({ offset: true });
const value = z.union([z.string().max(1024), z.array(z.string().max(1024)).max(100)]);

/** The query parameters of a dimension filter: one value or repeated (any of them). */
function dimensionParams(s: Stream): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const c of s.dimensions) shape[c.field] = value.optional().describe(`${c.description} (equality; repeat for any of several values)`);
  return shape;
}

function filtersOf(s: Stream, query: Record<string, unknown>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const c of s.dimensions) {
    const v = query[c.field];
    if (v === undefined) continue;
    out[c.field] = Array.isArray(v) ? (v as string[]) : [v as string];
  }
  return out;
}

const ingestResponse = z.object({
  stream: z.string(),
  received: z.number().int(),
  inserted: z.number().int().describe('Events stored by this request'),
  duplicates: z.number().int().describe('Events already stored (same idempotency key and time): not stored twice'),
});

const record = z.record(z.string(), z.unknown());

export const eventRoutes: RouteModule = (app, deps) => {
  for (const s of deps.streams.streams()) {
    const base = `/api/v1/events/${s.key}`;
    const tag = 'events';
    const keyFields = s.decl.idempotencyKey.map((k) => s.byName.get(k)!.field).join(', ');

    if (s.decl.apiIngest !== false) {
      app.post(
        base,
        {
          config: { access: { role: 'operator', scope: 'ingest' }, audit: false },
          schema: {
            tags: [tag],
            summary: `Ingest ${s.decl.title.toLowerCase()}`,
            description:
              `One event object or an array of up to OPSDECK_MAX_BATCH_ROWS events (camelCase fields of \`${s.table}\`; \`timestamp\` optional → server time). ` +
              `Every event is validated first: one bad event → 400 naming \`<index>.<field>\`, nothing stored. Events are identified by (${keyFields}, timestamp): a retried batch stores nothing twice. 200 only after commit.`,
            body: rowOrRows,
            response: { 200: ingestResponse, 413: z.any() },
          },
        },
        async (req) => {
          const r = await deps.streams.ingest(s.key, batchRows(req.body, deps.config.maxBatchRows, 'events'));
          deps.metrics.rowsIngested.inc({ family: s.table }, r.inserted);
          return r;
        },
      );
    }

    app.get(
      base,
      {
        config: { access: { role: 'viewer', scope: 'read' } },
        schema: {
          tags: [tag],
          summary: `List ${s.decl.title.toLowerCase()}`,
          description: `Events with from ≤ timestamp < to (a window of at most ${s.decl.maxListWindow}), newest first, filtered by dimensions. A page carries \`limit\` events; \`next\` continues with the older ones.`,
          querystring: z.strictObject({
            from: dateTime.describe('Start (inclusive), ISO 8601; required'),
            to: dateTime.describe('End (exclusive), ISO 8601; required'),
            limit: z.coerce.number().int().min(1).max(deps.streams.limits.listMaxLimit).default(100),
            cursor: z.string().max(2048).optional().describe('`next` of the previous page of the same query'),
            ...dimensionParams(s),
          }),
          response: { 200: z.object({ stream: z.string(), from: z.string(), to: z.string(), items: z.array(record), next: z.string().optional() }) },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown> & { from: string; to: string; limit: number; cursor?: string };
        return deps.streams.list(s.key, { from: new Date(q.from), to: new Date(q.to), limit: q.limit, cursor: q.cursor, filters: filtersOf(s, q) });
      },
    );

    if (s.rollups.length === 0) continue;
    app.get(
      `${base}/stats`,
      {
        config: { access: { role: 'viewer', scope: 'read' } },
        schema: {
          tags: [tag],
          summary: `Statistics of ${s.decl.title.toLowerCase()} from the rollups`,
          description:
            `Buckets of one rollup (${s.rollups.map((r) => `\`${r.name}\` ${r.level}: ${r.groupBy.join(', ')}`).join('; ')}) over [from, to), grouped by \`groupBy\` (default ${s.decl.statsGroupBy.join(', ')}) and filtered by dimensions; ` +
            'measures (`measures`, default every one but the quantiles, which cost a histogram merge per row read) are merged exactly over the groups left out (counts and sums added, averages from sums and counts, quantiles from merged histograms). resolution=auto picks the finest level with at most 500 buckets in the window and, at that level, the rollup with the fewest dimensions that has every asked one. The newest, not yet materialized events are included.',
          querystring: z.strictObject({
            from: dateTime.describe('Start, ISO 8601 (rounded down to the bucket); required'),
            to: dateTime.describe('End (exclusive), ISO 8601; required'),
            resolution: z.enum([...ROLLUP_LEVELS, 'auto']).default('auto'),
            groupBy: z.string().max(512).optional().describe('Dimensions (camelCase) to group by, comma-separated; empty for none'),
            measures: z.string().max(512).optional().describe('Measures to compute, comma-separated (e.g. `eventCount,p95DeliveryMs`); default every measure of the rollup but quantiles'),
            ...dimensionParams(s),
          }),
          response: {
            200: z.object({
              stream: z.string(),
              rollup: z.string(),
              resolution: z.enum(ROLLUP_LEVELS),
              requestedResolution: z.enum([...ROLLUP_LEVELS, 'auto']),
              from: z.string(),
              to: z.string(),
              groupBy: z.array(z.string()),
              measures: z.array(z.string()),
              buckets: z.array(record),
              truncated: z.boolean(),
            }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown> & { from: string; to: string; resolution: (typeof ROLLUP_LEVELS)[number] | 'auto'; groupBy?: string; measures?: string };
        const list = (v: string | undefined) => (v === undefined ? undefined : v.split(',').map((x) => x.trim()).filter(Boolean));
        return deps.streams.stats(s.key, { from: new Date(q.from), to: new Date(q.to), resolution: q.resolution, groupBy: list(q.groupBy), measures: list(q.measures), filters: filtersOf(s, q) });
      },
    );
  }
};
