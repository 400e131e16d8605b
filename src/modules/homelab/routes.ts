/**
 * Home-lab API (docs/homelab.md): devices under /api/v1/devices, the collection audit,
 * performance and analysis under /api/v1/collection, the cache under /api/v1/cache.
 * Conventions: lists are Opsdeck's page envelope (`items`, `total` — the document's
 * `total_count` —, `page`, `pageSize`, `totalPages`); single results and actions are the
 * document's APIResponse (`success`, `data`, `message`); time ranges take `from` and `to`
 * (the document's start_time/end_time; to after from, else 400 INVALID_TIME_RANGE).
 */
import { z } from 'zod';
import type { App, AppDeps } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { nodeIdParam } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import type { Collector } from './collector.ts';
import type { DeviceRegistry } from './devices.ts';
import type { HomelabQueries } from './queries.ts';
import { COLLECTION_STATUSES, DATA_TYPES, IO_KINDS } from './streams.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
const OPERATE = { role: 'operator', scope: 'admin' } as const;
const ADMIN = { role: 'admin', scope: 'admin' } as const;
const INGEST = { role: 'operator', scope: 'ingest' } as const;

const apiResponse = <T extends z.ZodType>(data: T) => z.object({ success: z.boolean(), data: data.nullable(), message: z.string().nullable() });
const ok = <T>(data: T, message: string | null = null) => ({ success: true, data, message });

const device = z.object({
  id: z.string(),
  hostname: z.string().nullable(),
  deviceType: z.string().nullable(),
  metadata: z.record(z.string(), z.unknown()),
  address: z.string(),
  port: z.number(),
  username: z.string(),
  authKind: z.enum(['uploaded', 'generated']),
  publicKey: z.string().describe('The public half, for the device\'s authorized_keys'),
  hostKey: z.object({ state: z.enum(['unpinned', 'pinned', 'mismatch']), sha256: z.string().nullable(), pinnedAt: z.string().nullable(), presentedSha256: z.string().nullable(), presentedAt: z.string().nullable() }),
  configPaths: z.array(z.string()),
  enabled: z.boolean(),
  lastCollectionAt: z.string().nullable(),
  lastSuccessfulCollection: z.string().nullable().describe('The document\'s last_successful_collection'),
  lastCollectionStatus: z.enum(['success', 'failed', 'partial']).nullable().describe('The document\'s last_collection_status'),
  lastError: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const operation = z.object({
  operationId: z.string(),
  dataType: z.enum(DATA_TYPES),
  method: z.enum(['ssh', 'push']),
  status: z.enum(COLLECTION_STATUSES),
  cacheHit: z.boolean(),
  durationMs: z.number(),
  commands: z.number(),
  bytes: z.number(),
  recordsCreated: z.number(),
  error: z.string().nullable(),
  warnings: z.array(z.string()),
});

const RANGE_SHAPE = {
  from: z.iso.datetime({ offset: true }).optional().describe('Start of the range (the document\'s start_time)'),
  to: z.iso.datetime({ offset: true }).optional().describe('End of the range (end_time); must be after from, else 400 INVALID_TIME_RANGE'),
};
/** The document's TimeRangeParams as Opsdeck spells them (from/to), plus the route's own fields; the service checks to > from. */
const timeRangeWith = <S extends z.ZodRawShape>(shape: S) => z.object({ ...RANGE_SHAPE, ...shape });
const timeRange = timeRangeWith({});
const range = (q: { from?: string | undefined; to?: string | undefined }) => ({ start: q.from ? new Date(q.from) : undefined, end: q.to ? new Date(q.to) : undefined });
const id = z.object({ id: nodeIdParam });
const maxText = (n: number) => z.string().max(n);

export interface HomelabRouteServices {
  registry: DeviceRegistry;
  collector: Collector;
  queries: HomelabQueries;
}

export function homelabRoutes(app: App, _deps: AppDeps, s: HomelabRouteServices): void {
  const must = async (deviceId: string) => s.registry.mustGet(deviceId);

  app.post(
    '/api/v1/devices',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['devices'],
        summary: 'Register a home-lab device (a node) for agentless collection over SSH',
        body: z.strictObject({
          id: nodeIdParam.describe('Node id of the device'),
          hostname: maxText(255).nullable().optional(),
          address: z.string().min(1).max(255).describe('Host name or IP address (private addresses are fine; link-local/metadata ones are refused)'),
          port: z.number().int().default(22).describe('1-65535'),
          username: z.string().min(1).max(64),
          privateKey: z.string().max(16_384).optional().describe('OpenSSH or PEM private key (stored sealed, never returned)'),
          passphrase: z.string().max(1024).optional(),
          generate: z.boolean().optional().describe('Opsdeck makes an ed25519 pair; put the answer\'s publicKey in the device\'s authorized_keys'),
          deviceType: maxText(50).nullable().optional(),
          metadata: z.record(z.string().max(128), z.unknown()).optional(),
          configPaths: z.array(z.string().max(2048)).max(100).optional().describe('Absolute paths of configuration files to track (read over SFTP)'),
          schedules: z.partialRecord(z.enum(DATA_TYPES), z.number().int().min(10).max(86_400)).optional().describe('Collection interval per data type in seconds'),
        }),
        response: { 201: apiResponse(device), 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(ok(await s.registry.register(req.body), 'registered: add publicKey to the device\'s authorized_keys')),
  );

  app.get(
    '/api/v1/devices',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: 'Home-lab devices with their last collection',
        querystring: pageQuery.extend({ device_type: maxText(50).optional(), status: z.enum(['success', 'failed', 'partial']).optional() }),
        response: { 200: pageOf(device) },
      },
    },
    async (req) => s.registry.list({ page: req.query.page, pageSize: req.query.pageSize, deviceType: req.query.device_type, status: req.query.status }),
  );

  app.get(
    '/api/v1/devices/:id',
    { config: { access: READ }, schema: { tags: ['devices'], summary: 'One device (APIResponse)', params: id, response: { 200: apiResponse(device), 404: problemSchema } } },
    async (req) => ok(await must(req.params.id)),
  );

  app.patch(
    '/api/v1/devices/:id',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['devices'],
        summary: 'Change a device: address, port, user, key (uploaded or generated), type, metadata, config paths, scheduled collection on/off',
        description:
          'Absent fields stay as they are. The pinned host key stays: a new address that is another machine presents another key, which stops collection until an admin accepts it. A new key replaces the sealed one; the answer shows its public half. Invalid fields: 400 naming them, nothing changed.',
        params: id,
        body: z.strictObject({
          hostname: maxText(255).nullable().optional(),
          address: z.string().min(1).max(255).optional(),
          port: z.number().int().optional().describe('1-65535'),
          username: z.string().min(1).max(64).optional(),
          privateKey: z.string().max(16_384).optional().describe('A new private key (stored sealed, never returned)'),
          passphrase: z.string().max(1024).optional(),
          generate: z.boolean().optional().describe('A new ed25519 pair made by Opsdeck'),
          deviceType: maxText(50).nullable().optional(),
          metadata: z.record(z.string().max(128), z.unknown()).optional(),
          configPaths: z.array(z.string().max(2048)).max(100).optional(),
          enabled: z.boolean().optional().describe('false: no scheduled collection (collect now and push still work)'),
        }),
        response: { 200: apiResponse(device), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => ok(await s.registry.update(req.params.id, req.body)),
  );

  app.delete(
    '/api/v1/devices/:id',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['devices'],
        summary: 'Stop collecting from a device and forget its SSH target (address, sealed key, pinned host key), schedules and cache; the node and its data stay',
        params: id,
        response: { 204: z.null(), 404: problemSchema },
      },
    },
    async (req, reply) => {
      await s.registry.remove(req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/devices/:id/host-key/accept',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['devices'],
        summary: 'Accept the host key the device presented after a change (re-pin); collection resumes',
        params: id,
        body: z.strictObject({ sha256: z.string().max(100).optional().describe('The fingerprint you checked on the device (ssh-keygen -lf); refused when the device presented another') }).optional(),
        response: { 200: apiResponse(device), 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => ok(await s.registry.acceptHostKey(req.params.id, req.body?.sha256), 'host key pinned'),
  );

  const schedule = z.object({ dataType: z.enum(DATA_TYPES), intervalSeconds: z.number(), enabled: z.boolean(), nextDueAt: z.string(), lastRunAt: z.string().nullable() });
  app.put(
    '/api/v1/devices/:id/schedules',
    {
      config: { access: OPERATE },
      schema: {
        tags: ['devices'],
        summary: 'Change the collection interval (10-86400 s) or enabled flag per data type',
        params: id,
        body: z.partialRecord(z.enum(DATA_TYPES), z.strictObject({ intervalSeconds: z.number().int().min(10).max(86_400).optional(), enabled: z.boolean().optional() })),
        response: { 200: apiResponse(z.array(schedule)), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => ok(await s.registry.setSchedules(req.params.id, req.body)),
  );

  app.get(
    '/api/v1/devices/:id/schedules',
    { config: { access: READ }, schema: { tags: ['devices'], summary: 'The collection schedule per data type', params: id, response: { 200: apiResponse(z.array(schedule)), 404: problemSchema } } },
    async (req) => ok(await s.registry.schedules(req.params.id)),
  );

  app.post(
    '/api/v1/devices/:id/collect',
    {
      config: { access: OPERATE, audit: false },
      schema: {
        tags: ['devices'],
        summary: 'Collect now (recorded in the collection audit like a scheduled run)',
        params: id,
        body: z.strictObject({ dataTypes: z.array(z.enum(DATA_TYPES)).min(1).max(4).optional(), force_refresh: z.boolean().default(false) }).optional(),
        response: { 200: apiResponse(z.array(operation)), 404: problemSchema },
      },
    },
    async (req) => {
      await must(req.params.id);
      return ok(await s.collector.collect(req.params.id, { dataTypes: req.body?.dataTypes, forceRefresh: req.body?.force_refresh ?? false, source: 'api' }));
    },
  );

  app.post(
    '/api/v1/devices/:id/push',
    {
      config: { access: INGEST, audit: false },
      bodyLimit: 8 * 1024 * 1024,
      schema: {
        tags: ['devices'],
        summary: 'Push the outputs of the collection commands for a device SSH cannot reach (audited as collection_method push)',
        params: id,
        body: z.strictObject({
          system: z.strictObject({ stat: maxText(1 << 20), meminfo: maxText(1 << 20), loadavg: maxText(4096), netdev: maxText(1 << 20), diskstats: maxText(1 << 20), df: maxText(1 << 20) }).optional(),
          containers: z.strictObject({ dockerPs: maxText(4 << 20).optional(), dockerStats: maxText(4 << 20).optional(), podmanPs: maxText(4 << 20).optional() }).optional(),
          drives: z.array(z.strictObject({ name: maxText(128), smartctl: maxText(1 << 20) })).max(64).optional(),
          configFiles: z
            .array(z.strictObject({ path: maxText(1024).refine((p) => p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0'), 'an absolute path without ..'), content: maxText(256 * 1024), modifiedAt: z.iso.datetime({ offset: true }).optional() }))
            .max(100)
            .optional(),
        }),
        response: { 200: apiResponse(z.array(operation)), 404: problemSchema },
      },
    },
    async (req) => {
      await must(req.params.id);
      return ok(await s.collector.push(req.params.id, req.body));
    },
  );

  app.get(
    '/api/v1/devices/:id/containers',
    { config: { access: READ }, schema: { tags: ['devices'], summary: 'The containers of the latest snapshot', params: id, response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 404: problemSchema } } },
    async (req) => {
      await must(req.params.id);
      return ok(await s.queries.currentContainers(req.params.id));
    },
  );

  app.get(
    '/api/v1/devices/:id/containers/history',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: 'Container snapshots over a time range (default the last 24 h)',
        params: id,
        querystring: timeRangeWith({ container_id: maxText(128).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
        response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => {
      await must(req.params.id);
      return ok(await s.queries.containerHistory(req.params.id, range(req.query), req.query.container_id, req.query.limit));
    },
  );

  app.get(
    '/api/v1/devices/:id/io',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: 'Per-disk, per-interface and per-filesystem breakdown: each name\'s latest row, or the series when from/to is given (default range the last 24 h)',
        params: id,
        querystring: timeRangeWith({ kind: z.enum(IO_KINDS).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
        response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => {
      await must(req.params.id);
      return ok(await s.queries.deviceIo(req.params.id, req.query.kind, range(req.query), req.query.limit));
    },
  );

  app.get(
    '/api/v1/devices/:id/drives',
    { config: { access: READ }, schema: { tags: ['devices'], summary: 'Each drive\'s latest SMART data', params: id, response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 404: problemSchema } } },
    async (req) => {
      await must(req.params.id);
      return ok(await s.queries.currentDrives(req.params.id));
    },
  );

  app.get(
    '/api/v1/devices/:id/drives/history',
    {
      config: { access: READ },
      schema: {
        tags: ['devices'],
        summary: 'SMART history over a time range (default the last 30 days)',
        params: id,
        querystring: timeRangeWith({ drive: maxText(128).optional(), limit: z.coerce.number().int().min(1).max(10_000).default(1000) }),
        response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => {
      await must(req.params.id);
      return ok(await s.queries.driveHistory(req.params.id, range(req.query), req.query.drive, req.query.limit));
    },
  );

  app.get(
    '/api/v1/collection/audit',
    {
      config: { access: READ },
      schema: {
        tags: ['collection'],
        summary: 'Collection operations (data_collection_audit), newest first',
        querystring: timeRangeWith({ ...pageQuery.shape, device_id: nodeIdParam.optional(), data_type: z.enum(DATA_TYPES).optional(), status: z.enum(COLLECTION_STATUSES).optional() }),
        response: { 200: pageOf(z.record(z.string(), z.unknown())), 400: problemSchema },
      },
    },
    async (req) => s.queries.audit({ ...range(req.query), page: req.query.page, pageSize: req.query.pageSize, deviceId: req.query.device_id, dataType: req.query.data_type, status: req.query.status }),
  );

  app.get(
    '/api/v1/collection/performance',
    { config: { access: READ }, schema: { tags: ['collection'], summary: 'The collector measured per minute (service_performance_metrics)', querystring: timeRange, response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema } } },
    async (req) => ok(await s.queries.performance(range(req.query))),
  );

  app.get(
    '/api/v1/collection/analysis/collection-performance',
    { config: { access: READ }, schema: { tags: ['collection'], summary: 'Collection performance per device and data type (operations, success rate, durations, bytes)', querystring: timeRange, response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema } } },
    async (req) => ok(await s.queries.collectionPerformance(range(req.query))),
  );

  app.get(
    '/api/v1/collection/analysis/service-metrics',
    { config: { access: READ }, schema: { tags: ['collection'], summary: 'The collector\'s metrics per hour', querystring: timeRange, response: { 200: apiResponse(z.array(z.record(z.string(), z.unknown()))), 400: problemSchema } } },
    async (req) => ok(await s.queries.serviceMetrics(range(req.query))),
  );

  app.get(
    '/api/v1/cache',
    { config: { access: READ }, schema: { tags: ['collection'], summary: 'Cache entries of the collector (cache_metadata)', querystring: pageQuery.extend({ device_id: nodeIdParam.optional() }), response: { 200: pageOf(z.record(z.string(), z.unknown())) } } },
    async (req) => s.queries.cache({ page: req.query.page, pageSize: req.query.pageSize, deviceId: req.query.device_id }),
  );

  app.post(
    '/api/v1/cache/invalidate',
    {
      config: { access: OPERATE },
      schema: {
        tags: ['collection'],
        summary: 'Invalidate cache entries (by device, data type or key; none: all): the next collection runs the commands',
        body: z.strictObject({ device_id: nodeIdParam.optional(), data_type: z.enum(DATA_TYPES).optional(), cache_key: maxText(255).optional(), reason: maxText(100).optional() }),
        response: { 200: apiResponse(z.object({ invalidated: z.number() })) },
      },
    },
    async (req) => ok({ invalidated: await s.queries.invalidate({ deviceId: req.body.device_id, dataType: req.body.data_type, cacheKey: req.body.cache_key, reason: req.body.reason }) }),
  );

}
