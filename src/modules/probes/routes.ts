/**
 * Monitored services and their health: /api/v1/monitors (CRUD, checks,
 * uptime, check-now, heartbeat token), /api/v1/health/overview and the public
 * heartbeat endpoint /api/v1/heartbeat/{token}. The seeds reserve `services`
 * for logical groupings of workloads (mission-control), so monitored services
 * live under /api/v1/monitors.
 */
import { z } from 'zod';
import type { App, AppDeps } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { idParams } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import type { ProbeScheduler } from './scheduler.ts';
import { DNS_RECORD_TYPES, MAX_INTERVAL_SECONDS, MAX_TIMEOUT_MS, MIN_INTERVAL_SECONDS, MIN_TIMEOUT_MS, MONITOR_KINDS, MONITOR_NAME_MAX, SERVICE_STATUSES } from './schema.ts';
import { CHECK_RETENTION_DAYS, CHECKS_DEFAULT_LIMIT, CHECKS_MAX_LIMIT, type ProbeStore } from './service.ts';

const READ = { role: 'viewer', scope: 'read' } as const;
/** Changing what Opsdeck probes (and making it probe now) is configuration: operator role, or an API key with the admin scope. */
const WRITE = { role: 'operator', scope: 'admin' } as const;

const LABELS_MAX = 32;
const labels = z
  .record(z.string().min(1).max(64).regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a label name: letters, digits and _ (not first)'), z.string().max(256))
  .refine((v) => Object.keys(v).length <= LABELS_MAX, `at most ${LABELS_MAX} labels`)
  .describe('Labels passed to alerting with every state change (silences, routing)');

const monitorBody = z.strictObject({
  name: z.string().trim().min(1).max(MONITOR_NAME_MAX).describe('Unique; the `service_name` of its checks'),
  kind: z.enum(MONITOR_KINDS),
  target: z
    .string()
    .trim()
    .min(1)
    .max(2048)
    .optional()
    .describe('http: an http(s) URL; tcp: host:port; tls: host[:port] (443); dns: the name to look up; heartbeat: not used. A target that is not one for its kind is 400 MONITOR_INVALID naming `target`'),
  intervalSeconds: z.number().int().min(MIN_INTERVAL_SECONDS).max(MAX_INTERVAL_SECONDS).default(60).describe(`Seconds between probes (≥ ${MIN_INTERVAL_SECONDS}); for heartbeat monitors, the expected time between pings`),
  timeoutMs: z.number().int().min(MIN_TIMEOUT_MS).max(MAX_TIMEOUT_MS).default(10_000).describe('Probe timeout; not longer than the interval'),
  enabled: z.boolean().default(true),
  labels: labels.default({}),
  acceptedStatuses: z.string().max(200).default('200-299').describe('http: accepted status codes and ranges, e.g. `200-299,301`'),
  maxRedirects: z.number().int().min(0).max(10).default(5).describe('http: redirects followed (each target checked against the outbound rules)'),
  bodyKeyword: z.string().min(1).max(1024).nullable().default(null).describe('http: text the body must contain (searched in its first 1 MiB)'),
  jsonPath: z.string().min(1).max(256).nullable().default(null).describe('http: a path such as `$.status` or `$.checks[0].state`; with jsonValue'),
  jsonValue: z.string().max(1024).nullable().default(null).describe('http: the value at jsonPath (strings as they are, other JSON values as JSON text)'),
  degradedAboveMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).nullable().default(null).describe('http, tcp, tls, dns: a result slower than this is `degraded`'),
  dnsRecordType: z.enum(DNS_RECORD_TYPES).nullable().default(null).describe('dns: record type to ask for (required for dns)'),
  dnsExpected: z.string().min(1).max(1024).nullable().default(null).describe('dns: an answer that must be among the answers (MX: `10 mail.example.com` or the exchange alone); unset: any answer'),
  dnsServer: z.string().min(1).max(260).nullable().default(null).describe('dns: the server to ask, host or host:port (53); required for dns'),
  certMinDays: z.number().int().min(0).max(3650).nullable().default(null).describe('tls, https: fewer days of certificate validity left is `degraded` (expired is `down`)'),
  tlsAllowSelfSigned: z.boolean().default(false).describe('tls, https: accept a certificate that does not verify (self-signed) and still check its dates'),
  heartbeatGraceSeconds: z.number().int().min(0).max(MAX_INTERVAL_SECONDS).default(0).describe('heartbeat: extra seconds after the interval before a missing ping is `down`'),
  channelIds: z.array(z.number().int().positive().max(2_147_483_647)).max(20).default([]).describe('Notification channels told when this service goes down or degraded and when it recovers (ids of /api/v1/notification-channels)'),
  failureThreshold: z.number().int().min(1).max(100).optional().describe('Consecutive failed results before `down` (default 3; heartbeat 1)'),
  successThreshold: z.number().int().min(1).max(100).optional().describe('Consecutive successful results before up again (default 2; heartbeat 1)'),
});

const statusOrUnknown = z.enum([...SERVICE_STATUSES, 'unknown']);

const monitor = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(MONITOR_KINDS),
  target: z.string(),
  intervalSeconds: z.number().int(),
  timeoutMs: z.number().int(),
  enabled: z.boolean(),
  labels: z.record(z.string(), z.string()),
  acceptedStatuses: z.string(),
  maxRedirects: z.number().int(),
  bodyKeyword: z.string().nullable(),
  jsonPath: z.string().nullable(),
  jsonValue: z.string().nullable(),
  degradedAboveMs: z.number().int().nullable(),
  dnsRecordType: z.enum(DNS_RECORD_TYPES).nullable(),
  dnsExpected: z.string().nullable(),
  dnsServer: z.string().nullable(),
  certMinDays: z.number().int().nullable(),
  tlsAllowSelfSigned: z.boolean(),
  heartbeatGraceSeconds: z.number().int(),
  channelIds: z.array(z.number().int()),
  failureThreshold: z.number().int(),
  successThreshold: z.number().int(),
  state: z.object({
    status: statusOrUnknown.describe('Confirmed status (after the thresholds); unknown before the first result'),
    since: z.string().nullable(),
    consecutiveFailures: z.number().int(),
    consecutiveSuccesses: z.number().int(),
    lastCheckedAt: z.string().nullable(),
    lastPingAt: z.string().nullable(),
  }),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const monitorWithToken = monitor.extend({
  heartbeatToken: z.string().optional().describe('Heartbeat monitors: the token of POST /api/v1/heartbeat/{token}, shown only in this answer (only its hash is stored)'),
});

const check = z.object({
  id: z.string(),
  serviceName: z.string(),
  status: z.enum(SERVICE_STATUSES),
  latencyMs: z.number().int().nullable(),
  checkedAt: z.string().describe('When the probe ran'),
  errorMessage: z.string().nullable(),
  probeDetails: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.string().describe('When the check was stored'),
});

const dateTime = z.iso.datetime({ offset: true });

export function probeRoutes(app: App, _deps: AppDeps, store: ProbeStore, scheduler: ProbeScheduler): void {
  app.get(
    '/api/v1/monitors',
    {
      config: { access: READ },
      schema: { tags: ['monitors'], summary: 'Monitored services (by name)', querystring: pageQuery.extend({ kind: z.enum(MONITOR_KINDS).optional() }), response: { 200: pageOf(monitor) } },
    },
    async (req) => store.list(req.query),
  );

  app.post(
    '/api/v1/monitors',
    {
      config: { access: WRITE },
      schema: {
        tags: ['monitors'],
        summary: 'Add a monitored service',
        description: 'Names are unique (409 MONITOR_NAME_TAKEN). A heartbeat monitor\'s answer carries its token, once.',
        body: monitorBody,
        response: { 201: monitorWithToken, 400: problemSchema, 409: problemSchema },
      },
    },
    async (req, reply) => reply.code(201).send(await store.create(req.body)),
  );

  app.get(
    '/api/v1/monitors/:id',
    { config: { access: READ }, schema: { tags: ['monitors'], summary: 'One monitored service with its confirmed state', params: idParams, response: { 200: monitor, 404: problemSchema } } },
    async (req) => store.get(req.params.id),
  );

  app.put(
    '/api/v1/monitors/:id',
    {
      config: { access: WRITE },
      schema: {
        tags: ['monitors'],
        summary: 'Replace a monitored service\'s configuration',
        description: 'The confirmed state and its counters stay; a renamed service keeps its checks under the new name.',
        params: idParams,
        body: monitorBody,
        response: { 200: monitorWithToken, 400: problemSchema, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => store.replace(req.params.id, req.body),
  );

  app.delete(
    '/api/v1/monitors/:id',
    {
      config: { access: WRITE },
      schema: { tags: ['monitors'], summary: 'Delete a monitored service and its checks', params: idParams, response: { 204: z.null().describe('No content'), 404: problemSchema } },
    },
    async (req, reply) => {
      await store.remove(req.params.id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/monitors/:id/heartbeat-token',
    {
      config: { access: WRITE },
      schema: {
        tags: ['monitors'],
        summary: 'A new heartbeat token',
        description: 'The previous token stops working at once. 409 MONITOR_NOT_HEARTBEAT for other kinds.',
        params: idParams,
        response: { 200: monitorWithToken, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => store.rotateHeartbeatToken(req.params.id),
  );

  app.get(
    '/api/v1/monitors/:id/checks',
    {
      config: { access: READ },
      schema: {
        tags: ['monitors'],
        summary: 'Checks of a monitored service, newest first',
        description: `Filters: status, and a checked_at range [from, to). Pages of \`limit\` (default ${CHECKS_DEFAULT_LIMIT}); \`next\` continues. Checks are kept ${CHECK_RETENTION_DAYS} days.`,
        params: idParams,
        querystring: z.object({
          status: z.enum(SERVICE_STATUSES).optional(),
          from: dateTime.optional().describe('checked_at ≥ from'),
          to: dateTime.optional().describe('checked_at < to'),
          limit: z.coerce.number().int().min(1).max(CHECKS_MAX_LIMIT).default(CHECKS_DEFAULT_LIMIT),
          cursor: z.string().max(200).optional().describe('`next` of the previous page'),
        }),
        response: { 200: z.object({ items: z.array(check), next: z.string().nullable() }), 400: problemSchema, 404: problemSchema },
      },
    },
    async (req) => {
      const q = req.query;
      return store.checksOf(req.params.id, { status: q.status, from: q.from ? new Date(q.from) : undefined, to: q.to ? new Date(q.to) : undefined, limit: q.limit, cursor: q.cursor });
    },
  );

  app.get(
    '/api/v1/monitors/:id/uptime',
    {
      config: { access: READ },
      schema: {
        tags: ['monitors'],
        summary: 'Uptime and latency percentiles over a range',
        description:
          'Over the checks whose checked_at is in [from, to) (default: the 24 hours before now). Uptime: percent of checks not down (degraded counts as up). Latency: average and nearest-rank p50/p95/p99 over the checks not down.',
        params: idParams,
        querystring: z.object({ from: dateTime.optional(), to: dateTime.optional() }),
        response: {
          200: z.object({
            serviceName: z.string(),
            from: z.string(),
            to: z.string(),
            checks: z.number().int(),
            healthy: z.number().int(),
            degraded: z.number().int(),
            down: z.number().int(),
            uptimePercent: z.number().nullable(),
            latencyMs: z.object({ avg: z.number().nullable(), p50: z.number().nullable(), p95: z.number().nullable(), p99: z.number().nullable() }),
          }),
          400: problemSchema,
          404: problemSchema,
        },
      },
    },
    async (req) => store.uptime(req.params.id, req.query.from ? new Date(req.query.from) : undefined, req.query.to ? new Date(req.query.to) : undefined),
  );

  app.post(
    '/api/v1/monitors/:id/check-now',
    {
      config: { access: WRITE, audit: false },
      schema: {
        tags: ['monitors'],
        summary: 'Probe a monitored service now',
        description: 'Runs its probe at once (same outbound rules as scheduled probes: internal addresses only when allow-listed) and stores the check like a scheduled one.',
        params: idParams,
        response: { 200: check, 404: problemSchema },
      },
    },
    async (req) => scheduler.checkNow(req.params.id),
  );

  app.get(
    '/api/v1/health/overview',
    {
      config: { access: READ },
      schema: {
        tags: ['monitors'],
        summary: 'Every monitored service: confirmed state, uptime (24 h, 7 d, 30 d), latest check',
        description: 'Uptime windows are whole hours: the current hour and the 23 (167, 719) before it.',
        response: {
          200: z.object({
            items: z.array(
              z.object({
                id: z.number().int(),
                name: z.string(),
                kind: z.enum(MONITOR_KINDS),
                enabled: z.boolean(),
                labels: z.record(z.string(), z.string()),
                status: statusOrUnknown,
                since: z.string().nullable(),
                uptime: z.object({ h24: z.number().nullable(), d7: z.number().nullable(), d30: z.number().nullable() }),
                lastCheck: check.nullable(),
              }),
            ),
          }),
        },
      },
    },
    async () => ({ items: await store.overview() }),
  );

  app.post(
    '/api/v1/heartbeat/:token',
    {
      config: { access: 'public', audit: false },
      schema: {
        tags: ['monitors'],
        summary: 'A heartbeat ping',
        description: 'For heartbeat monitors: the token (shown when the monitor was created or its token rotated) is the credential. Unknown token: 404 HEARTBEAT_NOT_FOUND; after 30 unknown tokens from one client address in 10 minutes that address gets 429 HEARTBEAT_RATE_LIMITED with Retry-After. A body, if any, is ignored.',
        params: z.object({ token: z.string().max(128) }),
        response: { 200: z.object({ serviceName: z.string(), receivedAt: z.string() }), 404: problemSchema, 429: problemSchema },
      },
    },
    async (req) => store.ping(req.params.token, req.ip),
  );
}
