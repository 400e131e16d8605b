/** /api/v1/saved-views: the caller's own named dashboard configurations. */
import { z } from 'zod';
import type { App, AppDeps } from '../../http/app.ts';
import { problemSchema } from '../../http/problem.ts';
import { requireUser, USER_ONLY } from '../auth/routes.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { idParams } from '../../http/params.ts';
import { MAX_CONFIG_BYTES, MAX_VIEWS_PER_USER, type SavedViewStore } from './service.ts';


const savedView = z.object({
  id: z.number().int(),
  name: z.string(),
  config: z.record(z.string(), z.unknown()),
  isDefault: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const viewBody = z.strictObject({
  name: z.string().trim().min(1).max(100),
  config: z
    .record(z.string(), z.unknown())
    .describe(`Free-form JSON object (panels, filters, time range, …), at most ${MAX_CONFIG_BYTES} bytes as JSON (413 SAVED_VIEW_TOO_LARGE)`),
  isDefault: z.boolean().default(false).describe('Make this the default view; the previous default stops being one'),
});

const ACCESS = { role: 'viewer', scope: 'read' } as const;

export function savedViewRoutes(app: App, _deps: AppDeps, views: SavedViewStore): void {
  app.get(
    '/api/v1/saved-views',
    {
      config: { access: ACCESS },
      schema: { tags: ['saved-views'], summary: 'Your saved views (default first)', description: USER_ONLY, querystring: pageQuery, response: { 200: pageOf(savedView) } },
    },
    async (req) => views.list(requireUser(req).userId, req.query),
  );

  app.post(
    '/api/v1/saved-views',
    {
      config: { access: ACCESS },
      schema: {
        tags: ['saved-views'],
        summary: 'Save a view',
        description: `Names are unique per user (409 SAVED_VIEW_NAME_TAKEN); at most ${MAX_VIEWS_PER_USER} views per user (409 SAVED_VIEW_LIMIT). ${USER_ONLY}`,
        body: viewBody,
        response: { 201: savedView, 409: problemSchema, 413: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await views.create(requireUser(req).userId, req.body)),
  );

  app.get(
    '/api/v1/saved-views/:id',
    {
      config: { access: ACCESS },
      schema: { tags: ['saved-views'], summary: 'One of your saved views', description: `Another user's view answers 404. ${USER_ONLY}`, params: idParams, response: { 200: savedView, 404: problemSchema } },
    },
    async (req) => views.get(requireUser(req).userId, req.params.id),
  );

  app.put(
    '/api/v1/saved-views/:id',
    {
      config: { access: ACCESS },
      schema: {
        tags: ['saved-views'],
        summary: 'Replace one of your saved views',
        description: USER_ONLY,
        params: idParams,
        body: viewBody,
        response: { 200: savedView, 404: problemSchema, 409: problemSchema, 413: problemSchema },
      },
    },
    async (req) => views.replace(requireUser(req).userId, req.params.id, req.body),
  );

  app.delete(
    '/api/v1/saved-views/:id',
    {
      config: { access: ACCESS },
      schema: { tags: ['saved-views'], summary: 'Delete one of your saved views', description: USER_ONLY, params: idParams, response: { 204: z.null().describe('No content'), 404: problemSchema } },
    },
    async (req, reply) => {
      await views.remove(requireUser(req).userId, req.params.id);
      return reply.code(204).send(null);
    },
  );
}
