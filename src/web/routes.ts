/** GET / (the dashboard's index.html) and GET /assets/:name (its hashed JS and CSS). Public: the pages hold no data; the API calls they make carry the user's token. */
import { z } from 'zod';
import type { RouteModule } from '../http/app.ts';
import { HttpError } from '../http/problem.ts';
import { assetOf, sendAsset, sendPage, type Dashboard } from './dashboard.ts';

export function dashboardRoutes(dashboard: Dashboard): RouteModule {
  return (app) => {
    app.get('/', { config: { access: 'public' }, schema: { hide: true } }, async (req, reply) => sendPage(dashboard, req, reply));
    app.get(
      '/assets/:name',
      { config: { access: 'public' }, schema: { hide: true, params: z.object({ name: z.string().max(200) }) } },
      async (req, reply) => {
        const asset = assetOf(dashboard, req.params.name);
        if (!asset) throw new HttpError(404, 'NOT_FOUND', `no dashboard asset ${req.params.name}`);
        return sendAsset(req, reply, asset);
      },
    );
  };
}
