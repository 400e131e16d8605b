/**
 * POST /api/v1/events/ingest — the mail-cluster system's ZoneMTA plugin posts its
 * delivery events here (its own backend's path). Mapped to email_events by
 * zonemta-plugin.ts, then stored like POST /api/v1/events/email: all events or none,
 * 200 only after commit (the plugin's own backend answered 202 before storing).
 */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { batchRows, IgnoredFields, rowOrRows } from '../../http/batch.ts';
import { fromPluginEvent } from './zonemta-plugin.ts';

export const emailPluginRoutes: RouteModule = (app, deps) => {
  app.post(
    '/api/v1/events/ingest',
    {
      config: { access: { role: 'operator', scope: 'ingest' }, audit: false },
      schema: {
        tags: ['events'],
        summary: 'Ingest email events in the ZoneMTA plugin format',
        description:
          'One event or an array, as the mail-cluster ZoneMTA plugin (tino-zonemta-delivery-tracker) sends them with `X-API-Key`: camelCase or the requirements\' §5.8 snake_case names, `time` for the timestamp. ' +
          'from_user / from_domain / to_domain are derived from the addresses when absent; ZoneMTA bounce categories are mapped (docs/integrations.md). Fields email_events does not have are not stored and are listed in `ignoredFields`. ' +
          'Then exactly like POST /api/v1/events/email: every event validated first (400 names `<index>.<field>`, nothing stored), idempotent, 200 after commit.',
        body: rowOrRows,
        response: {
          200: z.object({
            stream: z.string(),
            received: z.number().int(),
            inserted: z.number().int(),
            duplicates: z.number().int(),
            ignoredFields: z.array(z.string()).describe('Names of fields that were not stored (email_events has no such field), each once'),
          }),
          413: z.any(),
        },
      },
    },
    async (req) => {
      const ignored = new IgnoredFields();
      const events = batchRows(req.body, deps.config.maxBatchRows, 'events').map((e) => {
        const m = fromPluginEvent(e);
        ignored.add(m.ignored);
        return m.event;
      });
      const r = await deps.streams.ingest('email', events);
      deps.metrics.rowsIngested.inc({ family: 'email_events' }, r.inserted);
      return { ...r, ignoredFields: ignored.report(deps.metrics, req.log, 'events_ingest') };
    },
  );
};
