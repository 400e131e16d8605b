/**
 * The mail-cluster agent's endpoints (see compat.ts):
 *   POST /api/v1/nodes            — node registration (an upsert; `ingest` keys may call it)
 *   POST /api/v1/metrics/{family} — `{ type, data }` or the bare row; `time` for the timestamp
 * System rows go to metrics_system (their process list to node_processes), replication
 * events to mongodb_events, MongoDB / Redis / ZoneMTA / Rspamd rows to their families
 * with their counter totals turned into increases (counters.ts); all or nothing and
 * answered after commit.
 */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { nodeIdParam } from '../../http/params.ts';
import { InvalidError, NotFoundError } from '../../domain/errors.ts';
import { batchRows, IgnoredFields, rowOrRows } from '../../http/batch.ts';
import { ingestMetrics } from '../metrics/service.ts';
import { registerNode, replaceProcesses, type ProcessReport } from '../nodes/service.ts';
import { AGENT_MAPS, AGENT_TYPES, fromAgentCounterRow, fromAgentMongodbEvent, fromAgentSystemRow } from './compat.ts';
import { ingestWithCounters } from './counters.ts';
import type { CounterAgentType } from './schema.ts';

const registration = z.looseObject({
  nodeId: nodeIdParam,
  hostname: z.string().max(255).nullable().optional(),
  ipAddress: z.string().max(64).nullable().optional(),
  role: z.string().max(64).nullable().optional(),
  metadata: z
    .record(z.string().max(128), z.unknown())
    .refine((m) => Object.keys(m).length <= 64 && Buffer.byteLength(JSON.stringify(m)) <= 16_384, 'at most 64 keys and 16 KiB as JSON')
    .optional(),
});

const processList = z
  .array(
    z.looseObject({
      name: z.string().min(1).max(128),
      running: z.boolean(),
      pid: z.number().int().min(0).max(2_147_483_647).nullable().optional(),
      cpuPercent: z.number().min(0).max(1e6).nullable().optional(),
      memoryMB: z.number().min(0).max(1e12).nullable().optional(),
    }),
  )
  .max(500);

const answer = z.object({
  family: z.string(),
  received: z.number().int(),
  inserted: z.number().int(),
  duplicates: z.number().int(),
  ignoredFields: z.array(z.string()),
});

export const mailAgentRoutes: RouteModule = (app, deps) => {
  app.post(
    '/api/v1/nodes',
    {
      config: { access: { role: 'operator', scope: 'ingest' } },
      schema: {
        tags: ['nodes'],
        summary: 'Register a node (the mail-cluster agent at start-up)',
        description:
          'Upsert of the node `nodeId`: hostname and role replaced when given, `ipAddress` (when it is an IP address) kept in `addresses.ip`, `metadata` merged key by key. An operator-set status and labels are kept. Other fields are not stored and are listed in `ignoredFields`.',
        body: registration,
        response: { 200: z.object({ node: z.record(z.string(), z.unknown()), ignoredFields: z.array(z.string()) }) },
      },
    },
    async (req) => {
      const known = new Set(['nodeId', 'hostname', 'ipAddress', 'role', 'metadata']);
      const ignored = new IgnoredFields();
      ignored.add(Object.keys(req.body).filter((k) => !known.has(k)));
      const node = await registerNode(deps.db, req.body);
      return { node: node as unknown as Record<string, unknown>, ignoredFields: ignored.report(deps.metrics, req.log, 'nodes_register') };
    },
  );

  app.post(
    '/api/v1/metrics/:family',
    {
      config: { access: { role: 'operator', scope: 'ingest' }, audit: false },
      schema: {
        tags: ['metrics'],
        summary: 'Ingest the mail-cluster agent\'s metrics of one type',
        description:
          'The agent\'s format: `{ "type": "system", "data": {…} }` (or the bare row, or an array), `time` for the timestamp, its field names (docs/integrations.md). ' +
          'Types: `system` (into metrics_system; `processes` into the node\'s process list), `mongodb-events` (into mongodb_events), `mongodb`, `redis`, `zonemta` (zone `all`) and `rspamd` (into their metrics tables; counters sent as totals since the server started are stored as increases since the node\'s previous sample). ' +
          'Fields with no column of the same meaning are not stored and are listed in `ignoredFields`. All rows or none; 200 after commit.',
        params: z.object({ family: z.string().min(1).max(64).describe('The agent\'s metrics type (`system`, `mongodb-events`, …)') }),
        body: rowOrRows,
        response: { 200: answer, 404: z.any(), 413: z.any() },
      },
    },
    async (req) => {
      const type = req.params.family.replace(/-/g, '_');
      if (!(AGENT_TYPES as readonly string[]).includes(type)) {
        throw new NotFoundError('UNKNOWN_FAMILY', `unknown metrics type ${JSON.stringify(req.params.family)}`, { known: AGENT_TYPES.map((t) => t.replace(/_/g, '-')) });
      }
      const body = req.body as Record<string, unknown> | unknown[];
      const wrapped = !Array.isArray(body) && typeof body.type === 'string' && 'data' in body;
      if (wrapped && String(body.type).replace(/-/g, '_') !== type) {
        throw new InvalidError('TYPE_MISMATCH', `the body's type ${JSON.stringify(body.type)} is not the path's ${JSON.stringify(req.params.family)}`, [{ path: 'type', message: 'differs from the path' }]);
      }
      const data = wrapped ? (body as { data: unknown }).data : body;
      const ignored = new IgnoredFields();
      if (type !== 'system' && type !== 'mongodb_events') {
        const map = AGENT_MAPS[type as CounterAgentType];
        const rows = batchRows(data, deps.config.maxBatchRows).map((r) => {
          const m = fromAgentCounterRow(map, r);
          ignored.add(m.ignored);
          return { row: m.row, totals: m.totals };
        });
        const r = await ingestWithCounters(deps, type as CounterAgentType, map, rows);
        deps.metrics.rowsIngested.inc({ family: map.family }, r.inserted);
        return { family: r.family, received: r.received, inserted: r.inserted, duplicates: r.duplicates, ignoredFields: ignored.report(deps.metrics, req.log, `metrics_${type}`) };
      }
      const mapped = batchRows(data, deps.config.maxBatchRows).map((r) => {
        const m = type === 'system' ? fromAgentSystemRow(r) : fromAgentMongodbEvent(r);
        ignored.add(m.ignored);
        return m;
      });
      let result: { received: number; inserted: number; duplicates: number };
      let family: string;
      if (type === 'system') {
        // validate the process lists before anything is stored
        const lists = mapped.map((m, i) => {
          if (m.processes === undefined || m.processes === null) return null;
          const p = processList.safeParse(m.processes);
          if (!p.success) {
            const issue = p.error.issues[0]!;
            throw new InvalidError('VALIDATION_FAILED', `row ${i}: processes.${issue.path.join('.')}: ${issue.message}`, [{ path: `data.${i}.processes.${issue.path.join('.')}`, message: issue.message }]);
          }
          return p.data as ProcessReport[];
        });
        result = await ingestMetrics(deps, 'system', mapped.map((m) => m.row));
        family = 'system';
        // the newest list per node replaces the node's process list (the node row exists: ingest registered it)
        const latest = new Map<string, { at: Date; list: ProcessReport[] }>();
        mapped.forEach((m, i) => {
          const list = lists[i];
          const row = m.row as { nodeId: string; timestamp?: string };
          if (!list) return;
          const at = row.timestamp ? new Date(row.timestamp) : new Date();
          const prev = latest.get(row.nodeId);
          if (!prev || at >= prev.at) latest.set(row.nodeId, { at, list });
        });
        for (const [node, { at, list }] of latest) await deps.db.transaction((tx) => replaceProcesses(tx, node, at, list));
      } else {
        const r = await deps.streams.ingest('mongodb', mapped.map((m) => m.row));
        deps.metrics.rowsIngested.inc({ family: 'mongodb_events' }, r.inserted);
        result = r;
        family = 'mongodb_events';
      }
      return { family, received: result.received, inserted: result.inserted, duplicates: result.duplicates, ignoredFields: ignored.report(deps.metrics, req.log, `metrics_${type}`) };
    },
  );
};
