/**
 * POST /api/v1/metrics            — ingest one family's rows (all or nothing, idempotent)
 * GET  /api/v1/metrics/{family}   — a family's rows over a time range at a resolution
 * GET  /api/v1/metrics            — the families and their fields
 * The contract comes from mongodb-metrics-fix-and-cluster-status.md; field names come from each family declaration.
 */
import { pipeline, Readable } from 'node:stream';
import { constants as zlibConstants, createGzip } from 'node:zlib';
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { acceptsEncoding } from '../../http/encoding.ts';
import { csvParam, nodeIdListParam } from '../../http/params.ts';
import { batchRows, rowOrRows } from '../../http/batch.ts';
import { ingestBatch, ingestMetrics } from './service.ts';
import { scanIngestBody, type ScannedIngest } from './scan-body.ts';
import { ANSWER_FORMATS } from '../../timeseries/answer.ts';
import { DEFAULT_AUTO_POINTS } from '../../timeseries/query.ts';

const ingestBody = z.object({
  type: z.string().min(1).max(64).describe('Family key, e.g. system, mongodb, redis, zonemta, rspamd'),
  data: rowOrRows.describe('One row object or an array of rows (camelCase fields of the family; `timestamp` optional → server time)'),
});

const ingestResponse = z.object({
  family: z.string(),
  received: z.number().int(),
  inserted: z.number().int().describe('Rows stored by this request'),
  duplicates: z.number().int().describe('Rows already stored (same identity and time): not stored twice'),
});

const queryString = z.object({
  from: z.iso.datetime({ offset: true }).optional().describe('Start (inclusive), ISO 8601; default: `to` − 1 h'),
  to: z.iso.datetime({ offset: true }).optional().describe('End (exclusive), ISO 8601; default: now'),
  nodeId: nodeIdListParam.describe("Node id(s), comma-separated or repeated: rows whose node field (the family's `node` in GET /api/v1/metrics) is one of them; 400 NODE_FILTER_UNSUPPORTED for a family without a node field"),
  resolution: z.enum(['raw', '5m', '1h', '1d', 'auto']).default('auto'),
  fields: csvParam((f) => /^[A-Za-z][A-Za-z0-9]{0,63}$/.test(f), 'field name').describe('Fields to return (camelCase), comma-separated; default all'),
  points: z.coerce.number().int().min(1).max(10_000).optional().describe(`Desired points per series for resolution=auto (default ${DEFAULT_AUTO_POINTS}, as Prometheus's range/250 step)`),
  cursor: z
    .string()
    .max(2048)
    .regex(/^[A-Za-z0-9_-]+$/, 'the `next` value of an answer')
    .optional()
    .describe('`next` of a truncated answer: repeat the same query with it to get the following rows'),
  format: z
    .enum(ANSWER_FORMATS)
    .default('rows')
    .describe('`rows` (default): `points`, one object per row. `columns`: `series`, one entry per identity with its times once (epoch ms) and one array per field — a third to a half of the bytes, faster to write and to parse (ADR 0012)'),
});

const value = z.union([z.string(), z.number(), z.boolean(), z.null()]);
const point = z.record(z.string(), value);
const answerHead = {
  family: z.string(),
  resolution: z.enum(['raw', '5m', '1h', '1d']).describe('Resolution used'),
  requestedResolution: z.enum(['raw', '5m', '1h', '1d', 'auto']),
  from: z.string(),
  to: z.string(),
  truncated: z.boolean().describe('More rows than one answer carries (OPSDECK_QUERY_MAX_POINTS, or the cell budget of 500,000 timestamps, identity and value fields)'),
  next: z.string().optional().describe('Present when truncated: pass it as `cursor` with the same query (either format) to continue'),
};
const rowsAnswer = z
  .object({
    ...answerHead,
    points: z.array(point).describe('Rows: timestamp, identity fields, value fields; rollups add `samples`. Series by series (identity), each in time order'),
  })
  .describe('format=rows (default)');
const columnsAnswer = z
  .object({
    ...answerHead,
    series: z
      .array(
        z.object({
          identity: z.record(z.string(), z.string()).describe('The identity fields of the series, e.g. {"nodeId": "mx-1"}'),
          time: z.array(z.number().int()).describe('Row times, milliseconds since the epoch, ascending'),
          fields: z.record(z.string(), z.array(value)).describe('One array per selected field, index by index with `time`'),
          samples: z.array(z.number().int()).optional().describe('Rollups only: raw rows in each bucket, index by index with `time`'),
        }),
      )
      .describe('One entry per identity, in the order of the row form. A truncated answer may end inside a series: the next answer starts with the rest of it, under the same identity'),
  })
  .describe('format=columns');
const queryResponse = z.union([rowsAnswer, columnsAnswer]);

const familiesResponse = z.object({
  items: z.array(
    z.object({
      key: z.string(),
      table: z.string(),
      title: z.string(),
      sampleInterval: z.string(),
      identity: z.array(z.string()),
      node: z.string().nullable().describe('The identity field naming the node (nodes.id) a row comes from; null when the rows belong to no node'),
      fields: z.array(z.object({ field: z.string(), column: z.string(), type: z.string(), unit: z.string(), rollup: z.string(), description: z.string() })),
      rollups: z.record(z.string(), z.string()),
    }),
  ),
});

export const metricsRoutes: RouteModule = (app, deps) => {
  // Bodies read by scan-body.ts, by request: the route's schema sees { type, data: [] } for them.
  const scanned = new WeakMap<object, ScannedIngest>();
  app.post(
    '/api/v1/metrics',
    {
      config: {
        access: { role: 'operator', scope: 'ingest' },
        audit: false,
        scanBody: (body, req) => {
          const s = scanIngestBody(deps.store, body, deps.config.maxBatchRows);
          if (s === null) return null;
          scanned.set(req, s);
          return { type: s.type, data: [] };
        },
      },
      schema: {
        tags: ['metrics'],
        summary: 'Ingest metric rows of one family',
        description:
          'Up to OPSDECK_MAX_BATCH_ROWS rows (default 10,000) or OPSDECK_BODY_LIMIT bytes after decompression (gzip/deflate accepted). All rows or none are stored; a retried batch stores nothing twice; 200 only after commit.',
        body: ingestBody,
        response: { 200: ingestResponse, 404: z.any(), 413: z.any(), 415: z.any() },
      },
    },
    async (req) => {
      const s = scanned.get(req);
      if (s) return ingestBatch(deps, s.type, s.batch);
      return ingestMetrics(deps, req.body.type, batchRows(req.body.data, deps.config.maxBatchRows));
    },
  );

  app.get(
    '/api/v1/metrics',
    { config: { access: { role: 'viewer', scope: 'read' } }, schema: { tags: ['metrics'], summary: 'List metric families and their fields', response: { 200: familiesResponse } } },
    async () => ({
      items: deps.store.families().map((f) => ({
        key: f.key,
        table: f.table,
        title: f.decl.title,
        sampleInterval: f.decl.sampleInterval,
        identity: [...f.identityFields],
        node: f.nodeField,
        fields: f.columns.map((c) => ({ field: c.field, column: c.name, type: c.type, unit: c.unit, rollup: c.agg, description: c.description })),
        rollups: { ...f.decl.rollups },
      })),
    }),
  );

  app.get(
    '/api/v1/metrics/:family',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['metrics'],
        summary: "A family's rows over a time range",
        description:
          'format=rows (default) answers `points`, one object per row; format=columns answers `series`, one per identity, with the times once (epoch ms) and one array per field. Both are streamed as they are read (chunked transfer encoding), gzip-compressed as they stream when the request accepts gzip: an error after the first bytes ends the response early, so a body that is not complete JSON is a failed answer. resolution=auto picks the coarsest rollup that still gives `points` buckets over the range; rollups include the newest, not yet materialized rows. The range must satisfy to > from and stay within OPSDECK_QUERY_MAX_SPAN_DAYS; an explicit resolution whose expected answer exceeds OPSDECK_QUERY_MAX_POINTS is refused. An answer carries at most OPSDECK_QUERY_MAX_POINTS points and 500,000 cells (points × (timestamp + identity + fields + samples)), whatever the real sampling rate: a longer one says `truncated: true` and gives `next`, to pass as `cursor` with the same query.',
        params: z.object({ family: z.string().min(1).max(64).regex(/^[a-z][a-z0-9_]*$/, 'lowercase family key') }),
        querystring: queryString,
        response: { 200: queryResponse, 404: z.any() },
      },
    },
    // The answer is written by typed code from the family declaration as the rows arrive from a
    // database cursor (ADR 0012): the schema above documents it, nothing re-validates 10^5 points.
    // A refusal before the first chunk is a problem+json answer; an error after it ends the
    // chunked response without its terminating chunk (the client sees truncated JSON).
    async (req, reply) => {
      const to = req.query.to ? new Date(req.query.to) : new Date();
      const from = req.query.from ? new Date(req.query.from) : new Date(to.getTime() - 3_600_000);
      const text = await deps.store.queryText(
        req.params.family,
        { from, to, nodeIds: req.query.nodeId, resolution: req.query.resolution, fields: req.query.fields, points: req.query.points, cursor: req.query.cursor },
        req.query.format,
      );
      const body = Readable.from(text, { objectMode: false });
      reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (!acceptsEncoding(req.headers['accept-encoding'], 'gzip')) return reply.send(body as never);
      // Compressed as it streams (JSON of numbers shrinks ~4-6× at the fastest level); a client that
      // goes away destroys the gzip stream, which ends the pipeline and so the database cursor.
      const gzip = createGzip({ level: zlibConstants.Z_BEST_SPEED });
      pipeline(body, gzip, () => undefined);
      return reply.header('content-encoding', 'gzip').send(gzip as never);
    },
  );
};
