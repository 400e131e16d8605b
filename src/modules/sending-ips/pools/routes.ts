/**
 * /api/v1/ip-pools (§10.4 of the mail-cluster requirements): IP pools, putting IPs into
 * them by list or by filter, and the ZoneMTA `pools` configuration of a node. Reading
 * needs the viewer role; changes the operator role (API keys: the admin scope), as for
 * the IPs themselves.
 */
import { z } from 'zod';
import type { App, AppDeps } from '../../../http/app.ts';
import { problemSchema } from '../../../http/problem.ts';
import { NODE_ID_PATTERN } from '../../../timeseries/family.ts';
import { POOL_NAME, poolsToml, type PoolService } from '../pools.ts';
import { ipFilterSchema, ipString, READ, WRITE } from '../routes.ts';

const poolName = z.string().regex(POOL_NAME, 'lower-case letters, digits, - and _ (at most 63), starting with a letter or digit');
const nameParams = z.object({ name: poolName });
const count = z.number().int();
const pool = z.object({
  name: z.string(),
  description: z.string(),
  ips: z.object({ total: count, active: count, warming: count, paused: count, blacklisted: count, retired: count }).describe('IPs in the pool by status'),
  createdAt: z.string(),
  updatedAt: z.string(),
});
const entry = z.object({ address: z.string(), name: z.string().optional(), ratio: z.number().optional() });

export function poolRoutes(app: App, _deps: AppDeps, pools: PoolService): void {
  app.get('/api/v1/ip-pools', { config: { access: READ }, schema: { tags: ['ips'], summary: 'IP pools with their IPs counted by status', response: { 200: z.object({ items: z.array(pool) }) } } }, async () => ({ items: await pools.list() }));

  app.post(
    '/api/v1/ip-pools',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Create an IP pool',
        body: z.strictObject({ name: poolName, description: z.string().max(500).optional() }),
        response: { 201: pool, 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await pools.create(req.body)),
  );

  app.get('/api/v1/ip-pools/:name', { config: { access: READ }, schema: { tags: ['ips'], summary: 'One IP pool', params: nameParams, response: { 200: pool, 404: problemSchema } } }, async (req) => pools.get(req.params.name));

  app.put(
    '/api/v1/ip-pools/:name',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Rename or describe an IP pool (its IPs follow a rename)',
        params: nameParams,
        body: z.strictObject({ name: poolName.optional(), description: z.string().max(500).optional() }),
        response: { 200: pool, 400: problemSchema, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => pools.update(req.params.name, req.body),
  );

  app.delete(
    '/api/v1/ip-pools/:name',
    { config: { access: WRITE }, schema: { tags: ['ips'], summary: 'Delete an empty IP pool (one with IPs is 409 POOL_NOT_EMPTY)', params: nameParams, response: { 204: z.null(), 404: problemSchema, 409: problemSchema } } },
    async (req, reply) => {
      await pools.remove(req.params.name);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/ip-pools/assign',
    {
      config: { access: WRITE },
      schema: {
        tags: ['ips'],
        summary: 'Put IPs into a pool (or out of any: pool null), by list or by filter',
        description: 'Give `ips` or `filter` (not both), as for /api/v1/ips/bulk-action. All or nothing: an address that is not registered is 400 naming it. A share set for an IP\'s old pool is dropped.',
        body: z
          .strictObject({ pool: poolName.nullable(), ips: z.array(ipString).min(1).max(10_000).optional(), filter: ipFilterSchema.optional() })
          .refine((b) => (b.ips === undefined) !== (b.filter === undefined), { message: 'give either ips or filter', path: ['ips'] }),
        response: { 200: z.object({ pool: z.string().nullable(), changed: z.array(z.string()), unchanged: count }), 400: problemSchema },
      },
    },
    async (req) => pools.assign(req.body.pool, { ips: req.body.ips, filter: req.body.filter }),
  );

  app.get(
    '/api/v1/ip-pools/zonemta',
    {
      config: { access: READ },
      schema: {
        tags: ['ips'],
        summary: 'ZoneMTA\'s `pools` configuration, for one node or for every IP',
        description:
          'Each pool lists the IPs (of `nodeId`, when given) that may send now; paused, blacklisted and retired IPs are left out and named in `excluded`. `name` is the PTR when forward-confirmed. `ratio`: set on the IP, or for a warming IP its warm-up limit as a share of the pool\'s last 24 h (see `ratios`). `format=toml` answers the same as TOML (`[[pools.<name>]]` tables) to paste into the ZoneMTA configuration.',
        querystring: z.object({ nodeId: z.string().min(1).max(128).regex(NODE_ID_PATTERN, 'a node id').optional(), format: z.enum(['json', 'toml']).default('json') }),
        response: {
          200: z.object({
            nodeId: z.string().nullable(),
            generatedAt: z.string(),
            pools: z.record(z.string(), z.array(entry)),
            ratios: z.array(z.object({ ip: z.string(), pool: z.string(), ratio: z.number().nullable(), basis: z.enum(['set', 'warmup', 'equal']), detail: z.string() })),
            excluded: z.array(z.object({ ip: z.string(), pool: z.string(), status: z.string(), reason: z.string().nullable() })),
            warnings: z.array(z.string()),
          }),
        },
      },
    },
    async (req, reply) => {
      const c = await pools.zonemta(req.query.nodeId ?? null);
      // A Buffer is sent as is, past the JSON serializer.
      if (req.query.format === 'toml') return reply.type('application/toml; charset=utf-8').send(Buffer.from(poolsToml(c)) as never);
      return c;
    },
  );
}
