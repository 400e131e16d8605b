/** GET /api/v1/cluster/status and GET /api/v1/mongodb/cluster-status: one call for a dashboard's landing page. */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { pageQuery } from '../../http/pagination.ts';
import { nodeIdListParam } from '../../http/params.ts';
import { NODE_STATUSES } from '../nodes/schema.ts';
import { NODE_HEALTHS } from '../nodes/service.ts';
import { getMongoClusterStatus, type MongoClusterStatus } from '../mongodb/cluster-status.ts';
import { getClusterStatus, type ClusterStatus } from './status.ts';

const n = z.number().nullable();
const point = z.object({ timestamp: z.string() }).catchall(z.union([z.string(), z.number(), z.boolean(), z.null()]));

// Typed against the service's interface: a field added there and not here fails typecheck.
const clusterStatus: z.ZodType<Omit<ClusterStatus, 'nodes'> & { items: ClusterStatus['nodes'] }> = z.object({
  items: z.array(
    z.object({
      id: z.string(),
      hostname: z.string().nullable(),
      role: z.string().nullable(),
      status: z.enum(NODE_STATUSES),
      health: z.enum(NODE_HEALTHS),
      labels: z.record(z.string(), z.unknown()),
      lastSeen: z.string().nullable(),
      expectedIntervalSeconds: n,
      ageSeconds: n,
      families: z.record(z.string(), z.array(point)).describe('Family key → latest point of each series the node reports'),
    }),
  ),
  summary: z
    .object({ total: z.number(), ok: z.number(), stale: z.number(), unknown: z.number(), byRole: z.record(z.string(), z.number()) })
    .describe('Counts over every selected node, not only this page'),
  total: z.number().int(),
  page: z.number().int(),
  pageSize: z.number().int(),
  totalPages: z.number().int(),
  generatedAt: z.string(),
});

const mongoStatus: z.ZodType<MongoClusterStatus> = z.object({
  nodes: z.array(
    z.object({
      nodeId: z.string(),
      hostname: z.string().nullable(),
      role: z.string().nullable(),
      status: z.enum(['ok', 'lagging', 'stale']),
      lastSample: z.string().nullable(),
      ageSeconds: n,
      replLagSeconds: n,
      opsPerSecond: n,
      opsIntervalSeconds: n,
      ops: z.object({ insert: n, query: n, update: n, delete: n, command: n }),
      connectionsUsed: n,
      connectionsAvailable: n,
      connectionsPercent: n,
      cacheUsedBytes: n,
      cacheMaxBytes: n,
      cachePercent: n,
      oplogWindowHours: n,
      dataSizeBytes: n,
      indexSizeBytes: n,
      storageSizeBytes: n,
    }),
  ),
  replicaSet: z.object({
    members: z.number(),
    primaryCount: z.number(),
    primaries: z.array(z.string()),
    hasPrimary: z.boolean(),
    multiplePrimaries: z.boolean(),
    staleCount: z.number(),
    laggingCount: z.number(),
    worstLagSeconds: n,
    worstLagNodeId: z.string().nullable(),
    shortestOplogWindowHours: n,
    status: z.enum(['ok', 'degraded', 'no_primary', 'multiple_primaries', 'no_data']),
    problems: z.array(z.string()),
  }),
  lagThresholdSeconds: z.number(),
  staleAfterSeconds: z.number(),
  generatedAt: z.string(),
});

export const clusterRoutes: RouteModule = (app, deps) => {
  app.get(
    '/api/v1/cluster/status',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['cluster'],
        summary: 'Every node with role, last_seen, health and the latest key figures of each family it reports',
        description: 'Paged in node id order (`page`, `pageSize`: default 50, at most 500) like every list; `summary` counts every selected node.',
        querystring: pageQuery.extend({ nodeId: nodeIdListParam }),
        response: { 200: clusterStatus },
      },
    },
    async (req) => {
      const { nodes, ...rest } = await getClusterStatus(deps.db, deps.store.families(), { nodeIds: req.query.nodeId, page: req.query.page, pageSize: req.query.pageSize });
      return { items: nodes, ...rest };
    },
  );
  app.get(
    '/api/v1/mongodb/cluster-status',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['cluster'],
        summary: 'Latest sample of every MongoDB member with status (ok / lagging / stale) and a replica-set summary',
        description: 'A member is `lagging` above OPSDECK_MONGO_LAG_THRESHOLD seconds (or `lagThresholdSeconds`), `stale` after 3 missed 15 s samples.',
        querystring: z.object({ nodeId: nodeIdListParam, lagThresholdSeconds: z.coerce.number().min(0).max(86_400).optional() }),
        response: { 200: mongoStatus },
      },
    },
    async (req) =>
      getMongoClusterStatus(deps.db, { lagThresholdSeconds: req.query.lagThresholdSeconds ?? deps.config.mongoLagThresholdSeconds, nodeIds: req.query.nodeId }),
  );
};
