/**
 * /api/v1/alert-rules, /api/v1/alerts, /api/v1/silences, /api/v1/maintenance-windows.
 * Reading: viewer (read scope). Changing rules, silences and maintenance windows,
 * acknowledging and resolving: operator (admin scope for API keys), like
 * changing a node (docs/api.md, test/http/access-matrix.test.ts).
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { csvParam, idParam, idParams, nodeIdParam } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import { conditionSchema, escalationStep, ruleInputSchema } from './conditions.ts';
import { ALERT_SEVERITIES } from './contracts.ts';
import { EVENT_STATUSES, NO_DATA_POLICIES, RECURRENCES, SCOPE_KINDS } from './schema.ts';
import type { AlertsService } from './service.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
const CHANGE = { role: 'operator', scope: 'admin' } as const;

const actorOf = (req: FastifyRequest): string => {
  const p = req.principal;
  if (!p) return 'unknown';
  return p.kind === 'user' ? `user:${p.username}` : `api-key:${p.name}`;
};

const iso = z.string();
const ruleSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  condition: conditionSchema,
  forSeconds: z.number().int(),
  scope: z.object({ kind: z.enum(SCOPE_KINDS), values: z.array(z.string()) }),
  noDataPolicy: z.enum(NO_DATA_POLICIES),
  channels: z.array(z.number().int()),
  escalation: z.array(escalationStep),
  repeatIntervalSeconds: z.number().int(),
  labels: z.record(z.string(), z.string()),
  enabled: z.boolean(),
  muted: z.boolean(),
  snoozedUntil: iso.nullable(),
  isDefault: z.boolean(),
  lastEvaluatedAt: iso.nullable(),
  lastEvaluation: z.record(z.string(), z.unknown()).nullable(),
  createdAt: iso,
  updatedAt: iso,
});

const mutedBy = z.object({ kind: z.string(), id: z.number().int().optional(), at: iso });
const eventSchema = z.object({
  id: z.number().int(),
  ruleId: z.number().int().nullable(),
  serviceName: z.string().nullable(),
  fingerprint: z.string(),
  alertType: z.string(),
  alertName: z.string(),
  severity: z.enum(ALERT_SEVERITIES),
  status: z.enum(EVENT_STATUSES),
  message: z.string(),
  details: z.record(z.string(), z.unknown()),
  labels: z.record(z.string(), z.string()),
  nodeId: z.string().nullable(),
  value: z.number().nullable(),
  createdAt: iso,
  firedAt: iso.nullable(),
  acknowledgedAt: iso.nullable(),
  acknowledgedBy: z.string().nullable(),
  resolvedAt: iso.nullable(),
  notified: z.boolean(),
  lastNotifiedAt: iso.nullable(),
  escalationLevel: z.number().int(),
  mutedBy: z.array(mutedBy),
});
const transitionSchema = z.object({ from: z.enum(EVENT_STATUSES).nullable(), to: z.enum(EVENT_STATUSES), at: iso, actor: z.string(), reason: z.string() });
const eventWithTransitions = eventSchema.extend({ transitions: z.array(transitionSchema) });

const matcher = z.strictObject({ name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a label name'), op: z.enum(['=', '!=', '=~', '!~']), value: z.string().max(1024) });
const silenceBody = z.strictObject({
  matchers: z.array(matcher).min(1).max(20).describe('All must match the alert\'s labels (a missing label is the empty string; =~ and !~ are anchored regular expressions)'),
  startsAt: z.iso.datetime({ offset: true }).optional().describe('Default: now'),
  endsAt: z.iso.datetime({ offset: true }),
  comment: z.string().max(2000).default(''),
});
const silenceSchema = z.object({ id: z.number().int(), matchers: z.array(matcher), startsAt: iso, endsAt: iso, createdBy: z.string(), comment: z.string(), createdAt: iso });

const windowBody = z.strictObject({
  name: z.string().trim().min(1).max(200),
  nodeIds: z.array(nodeIdParam).max(500).default([]),
  services: z.array(z.string().min(1).max(100)).max(500).default([]),
  recurrence: z.enum(RECURRENCES).default('none').describe('none: startsAt … endsAt; daily / weekly: from startTime for durationMinutes, in timeZone, within startsAt … endsAt'),
  startsAt: z.iso.datetime({ offset: true }),
  endsAt: z.iso.datetime({ offset: true }).nullable().optional(),
  startTime: z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'HH:MM').nullable().optional(),
  durationMinutes: z.number().int().min(1).max(10_080).nullable().optional(),
  weekdays: z.array(z.number().int().min(0).max(6)).max(7).default([]).describe('weekly: 0 = Sunday … 6 = Saturday'),
  timeZone: z.string().min(1).max(64).default('UTC').describe('IANA time zone, e.g. Europe/Berlin'),
  comment: z.string().max(2000).default(''),
});
const windowSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  nodeIds: z.array(z.string()),
  services: z.array(z.string()),
  recurrence: z.enum(RECURRENCES),
  startsAt: iso,
  endsAt: iso.nullable(),
  startTime: z.string().nullable(),
  durationMinutes: z.number().int().nullable(),
  weekdays: z.array(z.number().int()),
  timeZone: z.string(),
  comment: z.string(),
  createdBy: z.string(),
  createdAt: iso,
  active: z.boolean(),
});

const alertsQuery = pageQuery.extend({
  status: csvParam((s) => (EVENT_STATUSES as readonly string[]).includes(s), 'status').describe(`Comma-separated: ${EVENT_STATUSES.join(', ')}`),
  severity: csvParam((s) => (ALERT_SEVERITIES as readonly string[]).includes(s), 'severity').describe(`Comma-separated: ${ALERT_SEVERITIES.join(', ')}`),
  node: nodeIdParam.optional(),
  service: z.string().min(1).max(100).optional(),
  ruleId: idParam.optional(),
});

const noContent = z.null().describe('No content');
const tags = { rules: ['alerts'], alerts: ['alerts'], silences: ['alerts'] };

export function alertRoutes(app: App, alerts: AlertsService): void {
  // ---------------------------------------------------------------- rules
  app.get('/api/v1/alert-rules', { config: { access: READ }, schema: { tags: tags.rules, summary: 'Alert rules', querystring: pageQuery, response: { 200: pageOf(ruleSchema) } } }, async (req) =>
    alerts.listRules(req.query.page, req.query.pageSize),
  );
  app.post(
    '/api/v1/alert-rules',
    {
      config: { access: CHANGE },
      schema: {
        tags: tags.rules,
        summary: 'Create an alert rule',
        description: 'The condition is checked against the family and stream declarations: an unknown family or column, a text column compared with >, a threshold of the wrong type → 400 ALERT_RULE_INVALID naming the field (body.condition.column). Names are unique (409 ALERT_RULE_NAME_TAKEN).',
        body: ruleInputSchema,
        response: { 201: ruleSchema, 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await alerts.createRule(req.body)),
  );
  app.get('/api/v1/alert-rules/:id', { config: { access: READ }, schema: { tags: tags.rules, summary: 'One alert rule (with its last evaluation)', params: idParams, response: { 200: ruleSchema, 404: problemSchema } } }, async (req) =>
    alerts.getRule(req.params.id),
  );
  app.put(
    '/api/v1/alert-rules/:id',
    { config: { access: CHANGE }, schema: { tags: tags.rules, summary: 'Replace an alert rule', params: idParams, body: ruleInputSchema, response: { 200: ruleSchema, 400: problemSchema, 404: problemSchema, 409: problemSchema } } },
    async (req) => alerts.replaceRule(req.params.id, req.body),
  );
  app.delete(
    '/api/v1/alert-rules/:id',
    { config: { access: CHANGE }, schema: { tags: tags.rules, summary: 'Delete an alert rule', description: 'Its open alerts resolve; its history stays. A deleted default rule is not seeded again.', params: idParams, response: { 204: noContent, 404: problemSchema } } },
    async (req, reply) => {
      await alerts.deleteRule(req.params.id, actorOf(req));
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/api/v1/alert-rules/:id/snooze',
    {
      config: { access: CHANGE },
      schema: {
        tags: tags.rules,
        summary: 'Snooze a rule: its notifications are muted for 1, 4 or 24 hours (it keeps being evaluated)',
        params: idParams,
        body: z.strictObject({ duration: z.enum(['1h', '4h', '24h']) }),
        response: { 200: ruleSchema, 404: problemSchema },
      },
    },
    async (req) => alerts.setRuleFlags(req.params.id, { snoozeSeconds: Number.parseInt(req.body.duration, 10) * 3600 }),
  );
  const flag = (path: string, summary: string, change: Parameters<AlertsService['setRuleFlags']>[1]) =>
    app.post(`/api/v1/alert-rules/:id/${path}`, { config: { access: CHANGE }, schema: { tags: tags.rules, summary, params: idParams, response: { 200: ruleSchema, 404: problemSchema } } }, async (req) =>
      alerts.setRuleFlags(req.params.id, change),
    );
  flag('unsnooze', 'End a snooze now', { snoozeSeconds: null });
  flag('mute', 'Mute a rule: no notifications until unmuted (it keeps being evaluated; its alerts are recorded)', { muted: true });
  flag('unmute', 'Unmute a rule', { muted: false });
  flag('enable', 'Enable a rule', { enabled: true });
  flag('disable', 'Disable a rule: not evaluated; its open alerts resolve', { enabled: false });

  // ---------------------------------------------------------------- alerts
  app.get(
    '/api/v1/alerts',
    { config: { access: READ }, schema: { tags: tags.alerts, summary: 'Alert events, newest first', querystring: alertsQuery, response: { 200: pageOf(eventSchema) } } },
    async (req) => {
      const q = req.query;
      return alerts.events.page({ status: q.status as never, severity: q.severity as never, node: q.node, service: q.service, ruleId: q.ruleId }, q.page, q.pageSize);
    },
  );
  app.get('/api/v1/alerts/:id', { config: { access: READ }, schema: { tags: tags.alerts, summary: 'One alert event with its transitions', params: idParams, response: { 200: eventWithTransitions, 404: problemSchema } } }, async (req) =>
    alerts.events.get(req.params.id),
  );
  app.post(
    '/api/v1/alerts/:id/acknowledge',
    {
      config: { access: CHANGE },
      schema: {
        tags: tags.alerts,
        summary: 'Acknowledge a firing alert (stops repeats and escalation)',
        description: 'A resolved alert → 409 ALERT_ALREADY_RESOLVED; a pending one → 409 ALERT_NOT_FIRING; an acknowledged one is answered as it is.',
        params: idParams,
        response: { 200: eventWithTransitions, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => alerts.acknowledge(req.params.id, actorOf(req)),
  );
  app.post(
    '/api/v1/alerts/:id/resolve',
    {
      config: { access: CHANGE },
      schema: {
        tags: tags.alerts,
        summary: 'Resolve an alert by hand',
        description: 'If the condition still holds, the next evaluation opens a new alert. A resolved alert → 409 ALERT_ALREADY_RESOLVED.',
        params: idParams,
        response: { 200: eventWithTransitions, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => alerts.resolve(req.params.id, actorOf(req)),
  );

  // ---------------------------------------------------------------- silences
  app.get(
    '/api/v1/silences',
    { config: { access: READ }, schema: { tags: tags.silences, summary: 'Silences, newest first', querystring: pageQuery.extend({ active: z.enum(['true', 'false']).default('false').describe('Only those not yet ended') }), response: { 200: pageOf(silenceSchema) } } },
    async (req) => alerts.listSilences(req.query.page, req.query.pageSize, req.query.active === 'true'),
  );
  app.post(
    '/api/v1/silences',
    { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Create a silence (mutes the notifications of matching alerts)', body: silenceBody, response: { 201: silenceSchema, 400: problemSchema } } },
    async (req, reply) => reply.code(201).send(await alerts.createSilence(req.body, actorOf(req))),
  );
  app.get('/api/v1/silences/:id', { config: { access: READ }, schema: { tags: tags.silences, summary: 'One silence', params: idParams, response: { 200: silenceSchema, 404: problemSchema } } }, async (req) => alerts.getSilence(req.params.id));
  app.put(
    '/api/v1/silences/:id',
    { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Replace a silence', params: idParams, body: silenceBody, response: { 200: silenceSchema, 400: problemSchema, 404: problemSchema } } },
    async (req) => alerts.replaceSilence(req.params.id, req.body),
  );
  app.delete('/api/v1/silences/:id', { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Delete a silence', params: idParams, response: { 204: noContent, 404: problemSchema } } }, async (req, reply) => {
    await alerts.deleteSilence(req.params.id);
    return reply.code(204).send(null);
  });

  // ---------------------------------------------------------------- maintenance windows
  app.get('/api/v1/maintenance-windows', { config: { access: READ }, schema: { tags: tags.silences, summary: 'Maintenance windows', querystring: pageQuery, response: { 200: pageOf(windowSchema) } } }, async (req) =>
    alerts.listWindows(req.query.page, req.query.pageSize),
  );
  app.post(
    '/api/v1/maintenance-windows',
    { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Create a maintenance window (mutes notifications of alerts on its nodes and services)', body: windowBody, response: { 201: windowSchema, 400: problemSchema } } },
    async (req, reply) => reply.code(201).send(await alerts.createWindow(req.body, actorOf(req))),
  );
  app.get('/api/v1/maintenance-windows/:id', { config: { access: READ }, schema: { tags: tags.silences, summary: 'One maintenance window', params: idParams, response: { 200: windowSchema, 404: problemSchema } } }, async (req) =>
    alerts.getWindow(req.params.id),
  );
  app.put(
    '/api/v1/maintenance-windows/:id',
    { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Replace a maintenance window', params: idParams, body: windowBody, response: { 200: windowSchema, 400: problemSchema, 404: problemSchema } } },
    async (req) => alerts.replaceWindow(req.params.id, req.body),
  );
  app.delete(
    '/api/v1/maintenance-windows/:id',
    { config: { access: CHANGE }, schema: { tags: tags.silences, summary: 'Delete a maintenance window', params: idParams, response: { 204: noContent, 404: problemSchema } } },
    async (req, reply) => {
      await alerts.deleteWindow(req.params.id);
      return reply.code(204).send(null);
    },
  );
}
