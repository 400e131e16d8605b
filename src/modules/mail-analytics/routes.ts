/**
 * Mail delivery analytics (docs/mail.md):
 *   GET /api/v1/email/stats              outcome counts and rates over time (rollups)
 *   GET /api/v1/email/breakdown          totals per sending IP, sender domain, node, recipient domain or user
 *   GET /api/v1/email/bounce-analysis    top bouncing domains, SMTP code classes, enhanced codes, categories
 *   GET /api/v1/email/trace/{messageId}  every event of one Message-ID, in time order
 *   GET /api/v1/destinations             recipient domains: rates and p95 delivery time
 *   GET /api/v1/destinations/mx-hosts    MX hosts: rates and p95 delivery time
 *   GET /api/v1/destinations/{domain}    one recipient domain: SMTP codes, MX hosts, sending IPs
 * Thin: filters validated here against the stream declaration, the rest in MailAnalytics.
 */
import { z } from 'zod';
import type { RouteModule } from '../../http/app.ts';
import { ROLLUP_LEVELS } from '../../timeseries/family.ts';
import { streamColumnSchema } from '../../timeseries/stream-ingest.ts';
import type { Stream } from '../../timeseries/stream.ts';
import { BREAKDOWN_DIMENSIONS, BREAKDOWN_SORTS, MESSAGE_ID, MailAnalytics, type Filters } from './service.ts';

const DAY = 86_400;
const dateTime = z.iso.datetime({ offset: true });
const READ = { role: 'viewer', scope: 'read' } as const;
const HOST = /^(?=.{1,253}$)[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;

/** The rollup dimensions of email_events (camelCase): the filters every analytics answer accepts. */
function filterFields(s: Stream): string[] {
  const names = new Set(s.rollups.flatMap((r) => r.groupBy));
  return s.dimensions.filter((c) => names.has(c.name)).map((c) => c.field);
}

/** One query parameter per filterable dimension, each value checked by the column's own rule. */
function filterShape(s: Stream): Record<string, z.ZodType> {
  const shape: Record<string, z.ZodType> = {};
  for (const field of filterFields(s)) {
    const c = s.dimensions.find((d) => d.field === field)!;
    const schema = streamColumnSchema(c);
    const numeric = c.type === 'smallint' || c.type === 'integer' || c.type === 'bigint' || c.type === 'double';
    shape[field] = z
      .union([z.string().max(1024), z.array(z.string().max(1024)).max(100)])
      .optional()
      .transform((v, ctx) => {
        if (v === undefined) return undefined;
        const out: string[] = [];
        for (const raw of Array.isArray(v) ? v : [v]) {
          const r = schema.safeParse(numeric ? Number(raw) : raw);
          if (!r.success) {
            ctx.addIssue({ code: 'custom', message: r.error.issues[0]?.message ?? 'invalid value' });
            return z.NEVER;
          }
          out.push(String(r.data));
        }
        return out;
      })
      .describe(`${c.description} (equality; repeat for any of several values)`);
  }
  return shape;
}

/**
 * A query schema: the given parameters, the dimension filters, and a refusal naming each
 * unknown parameter (`querystring.<name>`) and a `to` that is not after `from`.
 */
function query(s: Stream, own: Record<string, z.ZodType>) {
  const known = filterFields(s);
  return z
    .object({ from: dateTime.optional().describe('Start (inclusive), ISO 8601'), to: dateTime.optional().describe('End (exclusive), ISO 8601'), ...own, ...filterShape(s) })
    .catchall(
      z.unknown().superRefine((_v, ctx) => {
        ctx.addIssue({ code: 'custom', message: `unknown parameter: not a filter of email analytics (filters: ${known.join(', ')})` });
      }),
    )
    .superRefine((q, ctx) => {
      if (typeof q.from === 'string' && typeof q.to === 'string' && !(Date.parse(q.to) > Date.parse(q.from))) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after `from`' });
    });
}

function filtersOf(s: Stream, q: Record<string, unknown>): Filters {
  const out: Record<string, string[]> = {};
  for (const f of filterFields(s)) if (Array.isArray(q[f])) out[f] = q[f] as string[];
  return out;
}

const date = (v: unknown) => (typeof v === 'string' ? new Date(v) : undefined);
const outcomeShape = {
  events: z.number().int().describe('Events of every type'),
  sent: z.number().int(),
  received: z.number().int(),
  delivered: z.number().int(),
  bounced: z.number().int(),
  deferred: z.number().int(),
  rejected: z.number().int(),
  outcomes: z.number().int().describe('delivered + bounced + deferred + rejected: the denominator of the rates'),
  deliveredRate: z.number().nullable(),
  bouncedRate: z.number().nullable(),
  deferredRate: z.number().nullable(),
  rejectedRate: z.number().nullable(),
};
const rawGroup = { ...outcomeShape, p95DeliveryMs: z.number().nullable().describe('Nearest-rank p95 of delivered events (raw events, exact)') };
const failedShape = { bounced: z.number().int(), deferred: z.number().int(), rejected: z.number().int(), total: z.number().int() };

export function mailAnalyticsRoutes(options: { analytics?: MailAnalytics } = {}): RouteModule {
  return (app, deps) => {
    const a = options.analytics ?? new MailAnalytics({ db: deps.db, streams: deps.streams, clock: { now: () => new Date() } });
    const s = a.stream;
    const tag = 'mail analytics';
    const limit = (max: number, def: number) => z.coerce.number().int().min(1).max(max).default(def);

    app.get(
      '/api/v1/email/stats',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'Delivery outcomes and rates over time',
          description:
            'Per bucket (and per `groupBy` value): events of each type, and the delivered / bounced / deferred / rejected rates over those four outcomes. Read from the email_events rollups; `resolution=auto` lets the stream planner pick the rollup and level (the finest with at most 500 buckets in the window). Window default: the last 24 hours; `from` is rounded down to the bucket.',
          querystring: query(s, { resolution: z.enum([...ROLLUP_LEVELS, 'auto']).default('auto'), groupBy: z.enum(BREAKDOWN_DIMENSIONS).optional() }),
          response: {
            200: z.object({
              rollup: z.string(),
              resolution: z.enum(ROLLUP_LEVELS),
              requestedResolution: z.enum([...ROLLUP_LEVELS, 'auto']),
              from: z.string(),
              to: z.string(),
              groupBy: z.string().nullable(),
              buckets: z.array(z.looseObject({ bucket: z.string(), ...outcomeShape })),
              truncated: z.boolean(),
            }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.timeline({ ...w, resolution: q.resolution as 'auto', groupBy: q.groupBy as undefined, filters: filtersOf(s, q) });
      },
    );

    app.get(
      '/api/v1/email/breakdown',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'Delivery outcomes per sending IP, sender domain, MTA node, recipient domain or user',
          description: 'Totals over the whole window per value of `by` (merged in SQL from the rollup the planner picks), sorted by `sort` (descending), at most `limit`. Window default: the last 24 hours.',
          querystring: query(s, { by: z.enum(BREAKDOWN_DIMENSIONS), sort: z.enum(BREAKDOWN_SORTS).default('events'), limit: limit(1000, 100) }),
          response: {
            200: z.object({ rollup: z.string(), resolution: z.enum(ROLLUP_LEVELS), from: z.string(), to: z.string(), by: z.string(), sort: z.string(), total: z.number().int(), items: z.array(z.looseObject(outcomeShape)), truncated: z.boolean() }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.breakdown({ ...w, by: q.by as 'toDomain', sort: q.sort as 'events', limit: q.limit as number, filters: filtersOf(s, q) });
      },
    );

    app.get(
      '/api/v1/email/bounce-analysis',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'Why mail bounced: domains, SMTP code classes, enhanced status codes, categories',
          description:
            'topDomains: recipient domains by bounced events (rollups). byCodeClass (4xx/5xx of the SMTP reply), byEnhancedStatus (RFC 3463 code read from the reply text, e.g. 5.1.1, and its class) and byCategory (bounce_category): over the raw bounced, deferred and rejected events of the window (at most 31 days). Window default: the last 24 hours.',
          querystring: query(s, { limit: limit(100, 20) }),
          response: {
            200: z.object({
              from: z.string(),
              to: z.string(),
              topDomains: z.array(z.object({ toDomain: z.string(), bounced: z.number().int(), outcomes: z.number().int(), bouncedRate: z.number().nullable() })),
              topDomainsRollup: z.string(),
              byCodeClass: z.array(z.object({ codeClass: z.string().nullable(), ...failedShape })),
              byEnhancedStatus: z.array(z.object({ enhancedStatus: z.string().nullable(), statusClass: z.string().nullable(), ...failedShape })),
              byCategory: z.array(z.object({ bounceCategory: z.string().nullable(), ...failedShape })),
            }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.bounceAnalysis({ ...w, limit: q.limit as number, filters: filtersOf(s, q) });
      },
    );

    app.get(
      '/api/v1/email/trace/:messageId',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'Trace one message: every event of a Message-ID across nodes, in time order',
          description: 'Events with this Message-ID (with angle brackets: `<left@right>`, URL-encoded) in [from, to) — default the last 7 days, at most 31 days — oldest first, with the SMTP replies (status code and text, MX host, sending IP, node). At most 1000 events.',
          params: z.object({ messageId: z.string().max(1000).regex(MESSAGE_ID, 'a Message-ID with angle brackets: <left@right>, no blanks') }),
          querystring: z.strictObject({ from: dateTime.optional(), to: dateTime.optional() }).superRefine((q, ctx) => {
            if (q.from && q.to && !(Date.parse(q.to) > Date.parse(q.from))) ctx.addIssue({ code: 'custom', path: ['to'], message: 'must be after `from`' });
          }),
          response: {
            200: z.object({ messageId: z.string(), from: z.string(), to: z.string(), nodes: z.array(z.string()), events: z.array(z.record(z.string(), z.unknown())), truncated: z.boolean() }),
          },
        },
      },
      async (req) => {
        const q = req.query as { from?: string; to?: string };
        return a.trace(req.params.messageId, a.window(date(q.from), date(q.to), 7 * DAY));
      },
    );

    app.get(
      '/api/v1/destinations',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'Recipient domains: delivered / bounced / deferred rates and p95 delivery time',
          description: 'Per recipient domain over the window (default the last 24 hours), from the hourly rollup email_stats_1h: outcome counts, rates, and the p95 delivery time of delivered events (merged histograms, within 4.4 %).',
          querystring: query(s, { sort: z.enum(BREAKDOWN_SORTS).default('events'), limit: limit(1000, 100) }),
          response: {
            200: z.object({ rollup: z.string(), from: z.string(), to: z.string(), sort: z.string(), total: z.number().int(), items: z.array(z.looseObject({ toDomain: z.string(), ...outcomeShape, p95DeliveryMs: z.number().nullable() })), truncated: z.boolean() }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.destinations({ ...w, sort: q.sort as 'events', limit: q.limit as number, filters: filtersOf(s, q) });
      },
    );

    app.get(
      '/api/v1/destinations/mx-hosts',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'MX hosts: delivered / bounced / deferred rates and p95 delivery time',
          description: 'Per MX host the deliveries went to, from the raw events of the window (default the last 24 hours, at most 31 days): outcome counts, rates, exact p95 delivery time.',
          querystring: query(s, { limit: limit(1000, 100) }),
          response: { 200: z.object({ from: z.string(), to: z.string(), items: z.array(z.object({ mxHost: z.string(), ...rawGroup })), truncated: z.boolean() }) },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.mxHosts({ ...w, limit: q.limit as number, filters: filtersOf(s, q) });
      },
    );

    app.get(
      '/api/v1/destinations/:domain',
      {
        config: { access: READ },
        schema: {
          tags: [tag],
          summary: 'One recipient domain: totals, SMTP reply codes, MX hosts and sending IPs',
          description: 'summary as in the list (hourly rollup); byStatusCode, byMxHost and bySendingIp from the raw events of the window (default the last 24 hours, at most 31 days), each with exact p95 delivery time. 404 when no event went to the domain in the window.',
          params: z.object({ domain: z.string().max(253).regex(HOST, 'a domain name') }),
          querystring: query(s, {}),
          response: {
            200: z.object({
              toDomain: z.string(),
              from: z.string(),
              to: z.string(),
              rollup: z.string(),
              summary: z.looseObject({ ...outcomeShape, p95DeliveryMs: z.number().nullable() }),
              byStatusCode: z.array(z.object({ statusCode: z.number().int().nullable(), ...rawGroup })),
              byMxHost: z.array(z.object({ mxHost: z.string().nullable(), ...rawGroup })),
              bySendingIp: z.array(z.object({ sendingIp: z.string().nullable(), ...rawGroup })),
            }),
          },
        },
      },
      async (req) => {
        const q = req.query as Record<string, unknown>;
        const w = a.window(date(q.from), date(q.to), DAY);
        return a.destination(req.params.domain, { ...w, filters: filtersOf(s, q) });
      },
    );
  };
}
