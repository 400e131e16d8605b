/**
 * /api/v1/notification-channels (CRUD, admin to change — channels hold secrets — viewer to
 * list), POST …/:id/test, GET /api/v1/notifications/deliveries (the delivery log) and
 * GET /api/v1/notifications/stream (server-sent events of in-app notices).
 */
import { z } from 'zod';
import { InvalidError } from '../../domain/errors.ts';
import type { FastifyReply } from 'fastify';
import type { App, RouteModule } from '../../http/app.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { idParam, idParams } from '../../http/params.ts';
import { problemSchema } from '../../http/problem.ts';
import { ALERT_SEVERITIES } from '../alerts/contracts.ts';
import { CHANNEL_CONFIG } from './channel-config.ts';
import { DEFAULTS, type ChannelStore } from './channels.ts';
import type { DeliveryService } from './delivery.ts';
import { listDeliveries } from './log.ts';
import { CHANNEL_KINDS, DELIVERY_STATUSES, NOTICE_REASONS } from './schema.ts';
import { formatPosition, parsePosition, type NoticeFeed, type StreamPosition } from './stream.ts';

export interface StreamSettings {
  /** How often a stream polls the deliveries table (ms). */
  pollMs: number;
  /** How often a comment line keeps idle connections open through proxies (ms). */
  heartbeatMs: number;
}

const READ = { role: 'viewer', scope: 'read' } as const;
const ADMIN = { role: 'admin', scope: 'admin' } as const;

const labelName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/, 'must be a label name');

const common = {
  name: z.string().trim().min(1).max(100),
  minSeverity: z.enum(ALERT_SEVERITIES).default(DEFAULTS.minSeverity).describe('Notices below this severity are recorded as muted'),
  groupBy: z
    .array(labelName)
    .max(16)
    .default([...DEFAULTS.groupBy])
    .describe('Labels whose values make a group: notices of one group go out as one message (Alertmanager group_by; [] = one group per channel)'),
  groupWaitSeconds: z.number().int().min(0).max(86400).default(DEFAULTS.groupWaitSeconds).describe('How long a new group waits for more notices before its first message'),
  groupIntervalSeconds: z.number().int().min(0).max(86400).default(DEFAULTS.groupIntervalSeconds).describe('After a message, how long later notices of its group wait'),
  repeatIntervalSeconds: z
    .number()
    .int()
    .min(0)
    .max(604800)
    .default(DEFAULTS.repeatIntervalSeconds)
    .describe('A `repeat` notice sooner than this after the alert was last sent here is muted'),
  sendResolved: z.boolean().default(DEFAULTS.sendResolved).describe('Send resolved notices'),
  enabled: z.boolean().default(DEFAULTS.enabled),
};

const secretValue = (s: z.ZodType) => s;
const channelBody = z.discriminatedUnion(
  'kind',
  CHANNEL_KINDS.map((kind) => {
    const spec = CHANNEL_CONFIG[kind];
    const secretShape = Object.fromEntries(Object.entries(spec.secrets.shape).map(([k, v]) => [k, secretValue((v as z.ZodType).nullable().optional())]));
    return z.strictObject({
      kind: z.literal(kind),
      config: (spec.config as z.ZodType).optional(),
      secrets: z
        .strictObject(secretShape)
        .optional()
        .describe('Secret settings: sealed when stored and never returned (the answer lists which are set). On PUT a key left out keeps its value, null clears it.'),
      ...common,
    });
  }) as unknown as [z.ZodObject, z.ZodObject, ...z.ZodObject[]],
);

const channelSchema = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(CHANNEL_KINDS),
  config: z.record(z.string(), z.unknown()),
  secretsSet: z.array(z.string()).describe('Which secret settings are set (never their values)'),
  minSeverity: z.enum(ALERT_SEVERITIES),
  groupBy: z.array(z.string()),
  groupWaitSeconds: z.number().int(),
  groupIntervalSeconds: z.number().int(),
  repeatIntervalSeconds: z.number().int(),
  sendResolved: z.boolean(),
  enabled: z.boolean(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

const noticeSchema = z.record(z.string(), z.unknown()).describe('The alert notice as enqueued (status, reason, alertName, severity, message, labels, details, startsAt, endsAt …)');

const deliverySchema = z.object({
  id: z.number().int(),
  eventId: z.number().int(),
  fingerprint: z.string(),
  channelId: z.number().int(),
  reason: z.enum(NOTICE_REASONS),
  escalationLevel: z.number().int(),
  repeatNumber: z.number().int().describe('1, 2 … for the repeats of one alert event on the channel; 0 for other reasons'),
  status: z.enum(DELIVERY_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  lastError: z.string().nullable(),
  responseStatus: z.number().int().nullable(),
  sentAt: z.string().nullable(),
  createdAt: z.string(),
  notice: noticeSchema,
});

const testResult = z.object({
  ok: z.boolean().describe('The peer accepted the notification'),
  peerStatus: z.number().int().nullable().describe('HTTP status (SMTP reply code for email) the peer answered, null when none came'),
  retryable: z.boolean().describe('Whether a delivery that failed like this would be tried again'),
  detail: z.string().describe('What the peer said, or why nothing was sent (a refused address, a timeout …)'),
});

type ChannelBody = z.output<typeof channelBody>;
const toInput = (b: ChannelBody) => b as unknown as Parameters<ChannelStore['create']>[0];

export function notificationRoutes(deps: { channels: ChannelStore; delivery: DeliveryService; feed: NoticeFeed; stream?: Partial<StreamSettings> | undefined }): RouteModule {
  const { channels, delivery, feed } = deps;
  const stream: StreamSettings = { pollMs: 1000, heartbeatMs: 15_000, ...deps.stream };
  return (app: App, appDeps) => {
    const tags = ['notifications'];
    app.get(
      '/api/v1/notification-channels',
      { config: { access: READ }, schema: { tags, summary: 'Notification channels (secrets never included)', querystring: pageQuery, response: { 200: pageOf(channelSchema) } } },
      async (req) => channels.list(req.query),
    );
    app.post(
      '/api/v1/notification-channels',
      {
        config: { access: ADMIN },
        schema: {
          tags,
          summary: 'Create a notification channel',
          description:
            'A URL or SMTP host on an address the outbound rules refuse (loopback, private, link-local …, unless OPSDECK_OUTBOUND_ALLOW covers it) is 400 OUTBOUND_ADDRESS_REFUSED naming the field. Names are unique (409 CHANNEL_NAME_TAKEN).',
          body: channelBody,
          response: { 201: channelSchema, 400: problemSchema, 409: problemSchema },
        },
      },
      async (req, reply) => reply.code(201).send(await channels.create(toInput(req.body))),
    );
    app.get(
      '/api/v1/notification-channels/:id',
      { config: { access: READ }, schema: { tags, summary: 'One notification channel', params: idParams, response: { 200: channelSchema, 404: problemSchema } } },
      async (req) => channels.get(req.params.id),
    );
    app.put(
      '/api/v1/notification-channels/:id',
      {
        config: { access: ADMIN },
        schema: {
          tags,
          summary: 'Replace a notification channel',
          description: 'Every setting is replaced except secrets left out of `secrets`, which keep their values. The kind cannot change (400 CHANNEL_KIND_CHANGED).',
          params: idParams,
          body: channelBody,
          response: { 200: channelSchema, 400: problemSchema, 404: problemSchema, 409: problemSchema },
        },
      },
      async (req) => channels.replace(req.params.id, toInput(req.body)),
    );
    app.delete(
      '/api/v1/notification-channels/:id',
      {
        config: { access: ADMIN },
        schema: { tags, summary: 'Delete a notification channel and its delivery log', params: idParams, response: { 204: z.null().describe('No content'), 404: problemSchema } },
      },
      async (req, reply) => {
        await channels.remove(req.params.id);
        return reply.code(204).send(null);
      },
    );
    app.post(
      '/api/v1/notification-channels/:id/test',
      {
        config: { access: ADMIN, audit: false },
        schema: {
          tags,
          summary: 'Send a test notification',
          description: 'Sends one firing `info` notice (alertname OpsdeckTestNotification) straight to the channel, through the same outbound rules, and answers what the peer said.',
          params: idParams,
          response: { 200: testResult, 404: problemSchema },
        },
      },
      async (req) => {
        const o = await delivery.testChannel(req.params.id);
        return { ok: o.ok, peerStatus: o.status, retryable: o.retryable, detail: o.detail };
      },
    );
    app.get(
      '/api/v1/notifications/deliveries',
      {
        config: { access: READ },
        schema: {
          tags,
          summary: 'The delivery log, newest first',
          querystring: pageQuery.extend({
            eventId: z.coerce.number().int().min(1).optional().describe('Alert event id'),
            channelId: idParam.optional(),
            status: z.enum(DELIVERY_STATUSES).optional(),
          }),
          response: { 200: pageOf(deliverySchema) },
        },
      },
      async (req) => listDeliveries(appDeps.db, req.query),
    );
    const open = new Set<() => void>();
    app.addHook('preClose', (done) => {
      for (const end of open) end();
      done();
    });
    app.get(
      '/api/v1/notifications/stream',
      {
        config: { access: READ },
        schema: {
          tags,
          summary: 'In-app notices as server-sent events',
          description: `\`text/event-stream\`: one \`notice\` event per notice sent to an in-app channel (data: JSON with deliveryId, channelId, sentAt, notice), in commit order across every Opsdeck process sharing the database. The event id resumes the stream: reconnect with \`Last-Event-ID\`. A comment line every ${stream.heartbeatMs / 1000} s keeps the connection open; the stream ends when Opsdeck shuts down.`,
          querystring: z.object({ channelId: idParam.optional().describe('Only this in-app channel (404 CHANNEL_NOT_FOUND, 400 CHANNEL_NOT_INAPP)') }),
          headers: z.object({ 'last-event-id': z.string().max(64).optional() }),
          produces: ['text/event-stream'],
          response: { 200: z.string().describe('An endless text/event-stream'), 400: problemSchema, 404: problemSchema },
        },
      },
      async (req, reply) => {
        if (req.query.channelId !== undefined) {
          const ch = await channels.get(req.query.channelId);
          if (ch.kind !== 'inapp') throw new InvalidError('CHANNEL_NOT_INAPP', `channel ${ch.id} is a ${ch.kind} channel; the stream carries in-app channels`, [{ path: 'channelId', message: 'must be an in-app channel' }]);
        }
        const from = parsePosition(req.headers['last-event-id']) ?? (await feed.head());
        serveStream(reply, from, req.query.channelId, feed, stream, open, (err) => req.log.warn({ err }, 'notice stream poll failed'));
      },
    );
  };
}

function serveStream(
  reply: FastifyReply,
  start: StreamPosition,
  channelId: number | undefined,
  feed: NoticeFeed,
  s: StreamSettings,
  open: Set<() => void>,
  onError: (err: unknown) => void,
): void {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.write('retry: 3000\n\n');
  let pos = start;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const end = () => {
    if (closed) return;
    closed = true;
    clearTimeout(timer);
    clearInterval(heartbeat);
    open.delete(end);
    res.end();
  };
  open.add(end);
  res.on('close', end);
  const heartbeat = setInterval(() => res.write(': heartbeat\n\n'), s.heartbeatMs);
  const poll = async () => {
    if (closed) return;
    try {
      for (;;) {
        const batch = await feed.after(pos, { channelId, limit: 100 });
        for (const n of batch) {
          if (closed) return;
          pos = n.position;
          res.write(`id: ${formatPosition(n.position)}\nevent: notice\ndata: ${JSON.stringify({ deliveryId: n.deliveryId, channelId: n.channelId, sentAt: n.sentAt, notice: n.notice })}\n\n`);
        }
        if (batch.length < 100) break;
      }
    } catch (err) {
      onError(err);
    }
    if (!closed) timer = setTimeout(() => void poll(), s.pollMs);
  };
  void poll();
}
