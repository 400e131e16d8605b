/** Operations endpoints: /health, /ready, /metrics, /api/v1/system/jobs, /api/v1/system/database. */
import { z } from 'zod';
import { UnavailableError } from '../../domain/errors.ts';
import type { RouteModule } from '../../http/app.ts';
import { migrationStatus } from '../../db/migrator.ts';
import { jobHistory } from '../../jobs/runner.ts';
import { databaseReport } from './database-status.ts';

const startedAt = Date.now();

export const systemRoutes: RouteModule = (app, deps) => {
  app.get(
    '/health',
    {
      config: { access: 'public' },
      schema: { tags: ['system'], summary: 'Liveness: the process is up', response: { 200: z.object({ status: z.literal('ok'), version: z.string(), uptimeSeconds: z.number() }) } },
    },
    async () => ({ status: 'ok' as const, version: deps.version, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
  );

  app.get(
    '/ready',
    {
      config: { access: 'public' },
      schema: {
        tags: ['system'],
        summary: 'Readiness: database reachable, migrations current, storage tier',
        response: {
          200: z.object({ status: z.literal('ready'), tier: z.string(), migrationVersion: z.number().int(), pendingMigrations: z.number().int() }),
        },
      },
    },
    async () => {
      if (!(await deps.db.healthCheck())) throw new UnavailableError('DATABASE_UNAVAILABLE', 'the database is not reachable', 5);
      const s = await migrationStatus(deps.db);
      if (s.pending > 0) throw new UnavailableError('MIGRATIONS_PENDING', `${s.pending} migration(s) pending`, 30, { pending: s.pending });
      return { status: 'ready' as const, tier: deps.store.tier, migrationVersion: s.currentVersion, pendingMigrations: 0 };
    },
  );

  app.get(
    '/metrics',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: { tags: ['system'], summary: 'Prometheus metrics (text exposition format)', produces: ['text/plain'], response: { 200: z.string() } },
    },
    async (_req, reply) => {
      reply.type(deps.metrics.registry.contentType);
      return deps.metrics.registry.metrics();
    },
  );

  app.get(
    '/api/v1/system/jobs',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: {
        tags: ['system'],
        summary: 'Periodic jobs of this process and their run history (all processes sharing the database)',
        querystring: z.object({ job: z.string().max(64).optional(), limit: z.coerce.number().int().min(1).max(500).default(50) }),
        response: {
          200: z.object({
            jobs: z.array(z.object({ name: z.string(), description: z.string(), intervalSeconds: z.number() })),
            runs: z.array(
              z.object({
                id: z.number(),
                job: z.string(),
                instance: z.string(),
                startedAt: z.string(),
                durationMs: z.number().nullable(),
                outcome: z.enum(['ok', 'error', 'skipped']),
                error: z.string().nullable(),
                details: z.record(z.string(), z.unknown()).nullable(),
              }),
            ),
          }),
        },
      },
    },
    async (req) => {
      const runs = await jobHistory(deps.db, { job: req.query.job, limit: req.query.limit });
      return {
        jobs: (deps.jobs?.list() ?? []).map((j) => ({ name: j.name, description: j.description, intervalSeconds: j.intervalMs / 1000 })),
        runs: runs.map((r) => ({
          id: r.id,
          job: r.job,
          instance: r.instance,
          startedAt: r.started_at.toISOString(),
          durationMs: r.duration_ms,
          outcome: r.outcome,
          error: r.error,
          details: r.details,
        })),
      };
    },
  );

  app.get(
    '/api/v1/system/database',
    {
      config: { access: { role: 'viewer', scope: 'read' } },
      schema: { tags: ['system'], summary: 'Database health: tier, versions, tables, chunks/partitions, rollups, compression, retention, jobs', response: { 200: z.record(z.string(), z.unknown()) } },
    },
    async () => databaseReport(deps.db, deps.store) as unknown as Record<string, unknown>,
  );
};
