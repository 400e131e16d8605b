/** GET /api/v1/nodes, GET /api/v1/nodes/{id}, PUT /api/v1/nodes/{id}. */
import { z } from 'zod';
import { NotFoundError } from '../../domain/errors.ts';
import type { RouteModule } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { nodeIdParam } from '../../http/params.ts';
import { NODE_STATUSES } from './schema.ts';
import { getNode, listProcesses, listNodes, NODE_HEALTHS, upsertNode } from './service.ts';

export const nodeSchema = z.object({
  id: z.string(),
  hostname: z.string().nullable(),
  role: z.string().nullable(),
  status: z.enum(NODE_STATUSES).describe('Administrative status'),
  health: z.enum(NODE_HEALTHS).describe('stale: no sample for 3 sampling intervals'),
  addresses: z.record(z.string(), z.unknown()),
  labels: z.record(z.string(), z.unknown()),
  expectedIntervalSeconds: z.number().int().nullable(),
  registeredAt: z.string(),
  lastSeen: z.string().nullable(),
});

/** Bounds of a node's labels and addresses: without them one PUT stored megabytes of labels. */
export const NODE_MAP_LIMITS = { maxKeys: 64, maxKeyLength: 128, maxValueLength: 255, maxBytes: 16 * 1024 } as const;

/** A string → string map within NODE_MAP_LIMITS; a violation is a 400 naming the field (and the key). */
const boundedMap = (what: string) =>
  z
    .record(z.string().min(1).max(NODE_MAP_LIMITS.maxKeyLength), z.string().max(NODE_MAP_LIMITS.maxValueLength))
    .check((ctx) => {
      const keys = Object.keys(ctx.value).length;
      if (keys > NODE_MAP_LIMITS.maxKeys) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `at most ${NODE_MAP_LIMITS.maxKeys} ${what} (got ${keys})` });
        return;
      }
      const bytes = Buffer.byteLength(JSON.stringify(ctx.value));
      if (bytes > NODE_MAP_LIMITS.maxBytes) {
        ctx.issues.push({ code: 'custom', input: ctx.value, message: `${what} must be at most ${NODE_MAP_LIMITS.maxBytes} bytes as JSON (got ${bytes})` });
      }
    })
    .describe(
      `At most ${NODE_MAP_LIMITS.maxKeys} ${what}; keys 1-${NODE_MAP_LIMITS.maxKeyLength} characters, values up to ${NODE_MAP_LIMITS.maxValueLength}, at most ${NODE_MAP_LIMITS.maxBytes} bytes as JSON`,
    );

export const nodeRoutes: RouteModule = (app, deps) => {
  app.get(
    '/api/v1/nodes',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['nodes'],
        summary: 'Node inventory with last_seen and health',
        querystring: pageQuery.extend({ role: z.string().max(64).optional(), health: z.enum(NODE_HEALTHS).optional() }),
        response: { 200: pageOf(nodeSchema) },
      },
    },
    async (req) => listNodes(deps.db, req.query),
  );
  app.get(
    '/api/v1/nodes/:id',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: { tags: ['nodes'], summary: 'One node', params: z.object({ id: nodeIdParam }), response: { 200: nodeSchema, 404: z.any() } },
    },
    async (req) => {
      const n = await getNode(deps.db, req.params.id);
      if (!n) throw new NotFoundError('NODE_NOT_FOUND', `no node ${JSON.stringify(req.params.id)}`);
      return n;
    },
  );
  app.get(
    '/api/v1/nodes/:id/processes',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['nodes'],
        summary: "The processes an agent watches on the node (its latest report)",
        params: z.object({ id: nodeIdParam }),
        response: {
          200: z.object({
            items: z.array(z.object({ name: z.string(), running: z.boolean(), pid: z.number().nullable(), cpuPercent: z.number().nullable(), memoryMB: z.number().nullable(), reportedAt: z.string() })),
          }),
          404: z.any(),
        },
      },
    },
    async (req) => {
      if (!(await getNode(deps.db, req.params.id))) throw new NotFoundError('NODE_NOT_FOUND', `no node ${JSON.stringify(req.params.id)}`);
      return { items: await listProcesses(deps.db, req.params.id) };
    },
  );
  app.put(
    '/api/v1/nodes/:id',
    {
      config: { access: { role: 'operator', scope: 'admin' } },
      schema: {
        tags: ['nodes'],
        summary: 'Register a node or update its descriptive fields',
        params: z.object({ id: nodeIdParam }),
        body: z.strictObject({
          hostname: z.string().max(255).nullable().optional(),
          role: z.string().max(64).nullable().optional(),
          status: z.enum(NODE_STATUSES).optional(),
          addresses: boundedMap('addresses').optional(),
          labels: boundedMap('labels').optional(),
        }),
        response: { 200: nodeSchema },
      },
    },
    async (req) => upsertNode(deps.db, req.params.id, req.body),
  );
};
