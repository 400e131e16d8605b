/**
 * Configuration tracking over HTTP (docs/config-tracking.md):
 *   GET  /api/v1/devices/{id}/configs                   tracked files of a device
 *   GET  /api/v1/devices/{id}/configs/snapshots         history (?path= one file), paged
 *   GET  /api/v1/devices/{id}/configs/snapshots/{sid}   one snapshot with its (masked) content
 *   GET  /api/v1/devices/{id}/configs/diff?from=&to=    diff between any two snapshots of one file
 *   GET  /api/v1/config-changes                         change events (device, risk, processed, time range)
 *   GET  /api/v1/config-changes/frequency               change frequency per device and file
 *   GET  /api/v1/config-changes/{id}                    one change event
 *   PUT  /api/v1/config-changes/{id}/processed          mark processed (operators)
 */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { nodeIdParam } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import { CHANGE_TYPES, CONFIG_TYPES, RISK_LEVELS } from './schema.ts';
import { changeFrequency, diffSnapshots, getChangeEvent, getSnapshot, listChangeEvents, listFiles, listSnapshots, pathProblem, setProcessed } from './service.ts';

const uuidParam = z.string().regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a UUID');
const filePath = z
  .string()
  .max(1024)
  .superRefine((v, ctx) => {
    const p = pathProblem(v);
    if (p) ctx.addIssue({ code: 'custom', message: p });
  })
  .describe('Absolute path of the file on the device (no . or .. segments)');
const isoTime = z.iso.datetime({ offset: true }).transform((s) => new Date(s));
const bool = z.enum(['true', 'false']).transform((v) => v === 'true');

const snapshotSummary = z.object({
  id: z.string(),
  nodeId: z.string(),
  time: z.string(),
  configType: z.enum(CONFIG_TYPES),
  filePath: z.string(),
  contentHash: z.string().describe('SHA-256 (hex) of the masked content'),
  fileSizeBytes: z.number().int().nullable().describe('Size of the file as read (before masking)'),
  changeType: z.enum(CHANGE_TYPES),
  previousHash: z.string().nullable(),
  fileModifiedTime: z.string().nullable(),
  collectionSource: z.string(),
  detectionLatencyMs: z.number().int().nullable().describe('From the file\'s mtime to its collection'),
  affectedServices: z.array(z.string()),
  requiresRestart: z.boolean(),
  riskLevel: z.enum(RISK_LEVELS),
});
const keyChange = z.object({
  key: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  old: z.string().nullable().optional(),
  new: z.string().nullable().optional(),
  masked: z.literal(true).optional().describe('A secret: the change is shown, its values are not'),
});
const ruleMatch = z.object({ rule: z.string(), risk: z.enum(RISK_LEVELS), reason: z.string(), keys: z.array(z.string()) });
const lineCounts = z.object({ added: z.number().int(), removed: z.number().int(), changed: z.number().int() });
const changeEvent = z.object({
  id: z.string(),
  nodeId: z.string(),
  snapshotId: z.string(),
  time: z.string(),
  configType: z.enum(CONFIG_TYPES),
  filePath: z.string(),
  changeType: z.enum(CHANGE_TYPES),
  affectedServices: z.array(z.string()),
  serviceDependencies: z.record(z.string(), z.array(z.string())),
  requiresRestart: z.boolean(),
  restartServices: z.array(z.string()),
  changesSummary: z.record(z.string(), z.unknown()).describe('lines, keyChanges, parsed, rules (risk + reason each), restart, confidence, unifiedDiff, truncated'),
  riskLevel: z.enum(RISK_LEVELS),
  confidenceScore: z.number().nullable(),
  processed: z.boolean(),
  notificationsSent: z.array(z.unknown()),
});

const READ = { role: 'viewer', scope: 'read' } as const;
const OPERATOR = { role: 'operator', scope: 'admin' } as const;
const TAGS = ['config-tracking'];
const deviceParams = z.object({ id: nodeIdParam });

export const configTrackingRoutes: RouteModule = (app, deps) => {
  app.get(
    '/api/v1/devices/:id/configs',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'Configuration files tracked on a device, with their latest snapshot',
        params: deviceParams,
        querystring: pageQuery,
        response: {
          200: pageOf(z.object({ filePath: z.string(), configType: z.enum(CONFIG_TYPES), snapshots: z.number().int(), changes: z.number().int(), firstSeen: z.string(), lastSnapshotId: z.string(), lastSnapshotAt: z.string(), contentHash: z.string(), riskLevel: z.enum(RISK_LEVELS) })),
          404: problemSchema,
        },
      },
    },
    async (req) => listFiles(deps.db, req.params.id, req.query),
  );
  app.get(
    '/api/v1/devices/:id/configs/snapshots',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'Snapshots of a device\'s configuration files (of one file with path), newest first',
        params: deviceParams,
        querystring: pageQuery.extend({ path: filePath.optional() }),
        response: { 200: pageOf(snapshotSummary), 404: problemSchema },
      },
    },
    async (req) => listSnapshots(deps.db, req.params.id, req.query),
  );
  app.get(
    '/api/v1/devices/:id/configs/snapshots/:snapshotId',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'One snapshot with its content and parsed data (secrets masked)',
        params: z.object({ id: nodeIdParam, snapshotId: uuidParam }),
        response: { 200: snapshotSummary.extend({ rawContent: z.string(), parsedData: z.unknown() }), 404: problemSchema },
      },
    },
    async (req) => getSnapshot(deps.db, req.params.id, req.params.snapshotId),
  );
  app.get(
    '/api/v1/devices/:id/configs/diff',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'Diff between any two snapshots of the same file: unified diff, line counts, key changes, risk rules',
        description: 'from and to are snapshot ids of this device; snapshots of different files → 400 CONFIG_DIFF_DIFFERENT_FILES; an unknown id → 404 CONFIG_SNAPSHOT_NOT_FOUND.',
        params: deviceParams,
        querystring: z.object({ from: uuidParam, to: uuidParam }),
        response: {
          200: z.object({
            filePath: z.string(),
            configType: z.enum(CONFIG_TYPES),
            from: snapshotSummary,
            to: snapshotSummary,
            identical: z.boolean(),
            lines: lineCounts,
            unifiedDiff: z.string(),
            truncated: z.boolean(),
            parsed: z.boolean(),
            keyChanges: z.array(keyChange),
            rules: z.array(ruleMatch),
            riskLevel: z.enum(RISK_LEVELS),
          }),
          400: problemSchema,
          404: problemSchema,
        },
      },
    },
    async (req) => diffSnapshots(deps.db, req.params.id, req.query.from, req.query.to),
  );
  app.get(
    '/api/v1/config-changes',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'Configuration change events, newest first',
        querystring: pageQuery
          .extend({
            nodeId: nodeIdParam.optional(),
            path: filePath.optional(),
            riskLevel: z.enum(RISK_LEVELS).optional().describe('Exactly this risk level'),
            minRisk: z.enum(RISK_LEVELS).optional().describe('This risk level or higher'),
            processed: bool.optional(),
            from: isoTime.optional(),
            to: isoTime.optional(),
          }),
        response: { 200: pageOf(changeEvent), 400: problemSchema },
      },
    },
    async (req) => listChangeEvents(deps.db, { ...req.query, filePath: req.query.path }, req.query),
  );
  app.get(
    '/api/v1/config-changes/frequency',
    {
      config: { access: READ },
      schema: {
        tags: TAGS,
        summary: 'Configuration change frequency per device and file over a time range (default: the last 30 days)',
        querystring: z.object({ from: isoTime.optional(), to: isoTime.optional(), nodeId: nodeIdParam.optional(), limit: z.coerce.number().int().min(1).max(500).default(100) }),
        response: {
          200: z.object({
            from: z.string(),
            to: z.string(),
            days: z.number(),
            items: z.array(z.object({ nodeId: z.string(), filePath: z.string(), configType: z.enum(CONFIG_TYPES), changes: z.number().int(), highRisk: z.number().int(), unprocessed: z.number().int(), firstChange: z.string(), lastChange: z.string(), changesPerDay: z.number() })),
          }),
          400: problemSchema,
        },
      },
    },
    async (req) => {
      const to = req.query.to ?? new Date();
      const from = req.query.from ?? new Date(to.getTime() - 30 * 86_400_000);
      return changeFrequency(deps.db, { from, to, nodeId: req.query.nodeId, limit: req.query.limit });
    },
  );
  app.get(
    '/api/v1/config-changes/:id',
    {
      config: { access: READ },
      schema: { tags: TAGS, summary: 'One configuration change event', params: z.object({ id: uuidParam }), response: { 200: changeEvent, 404: problemSchema } },
    },
    async (req) => getChangeEvent(deps.db, req.params.id),
  );
  app.put(
    '/api/v1/config-changes/:id/processed',
    {
      config: { access: OPERATOR },
      schema: {
        tags: TAGS,
        summary: 'Mark a change event processed (or not); a config_change alert over it resolves at the next evaluation',
        params: z.object({ id: uuidParam }),
        body: z.strictObject({ processed: z.boolean().default(true) }).default({ processed: true }),
        response: { 200: changeEvent, 404: problemSchema },
      },
    },
    async (req) => setProcessed(deps.db, req.params.id, req.body.processed),
  );
};
