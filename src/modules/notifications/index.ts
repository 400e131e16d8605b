/**
 * The notifications module, composed: channels (ChannelStore), the outbox the alerts module
 * enqueues into (NotificationOutbox, an AlertNotifier), the delivery service and its lease job
 * (`notification-delivery`, no transaction while it waits on the network), the in-app feed and
 * the routes. src/runtime.ts creates it and registers the job and the routes.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import { systemClock, type Clock } from '../../domain/clock.ts';
import type { RouteModule } from '../../http/app.ts';
import type { JobDefinition } from '../../jobs/runner.ts';
import type { Outbound } from '../../net/outbound.ts';
import type { AlertNotifier } from '../alerts/contracts.ts';
import { ChannelStore, type Sealer } from './channels.ts';
import { DeliveryService, type DeliverySettings } from './delivery.ts';
import { NotificationOutbox } from './outbox.ts';
import { notificationRoutes, type StreamSettings } from './routes.ts';
import type { Sender } from './senders/http.ts';
import type { ChannelKind } from './schema.ts';
import { NoticeFeed } from './stream.ts';

export interface NotificationsOptions {
  db: Database;
  sealer: Sealer;
  outbound: Outbound;
  clock?: Clock;
  logger?: Logger | undefined;
  delivery?: Partial<DeliverySettings>;
  /** How often the delivery job runs (ms). */
  intervalMs?: number;
  stream?: Partial<StreamSettings>;
  random?: () => number;
  senders?: Partial<Record<ChannelKind, Sender>>;
}

export interface NotificationsModule {
  channels: ChannelStore;
  notifier: AlertNotifier;
  delivery: DeliveryService;
  feed: NoticeFeed;
  job: JobDefinition;
  routes: RouteModule;
}

export function createNotificationsModule(o: NotificationsOptions): NotificationsModule {
  const clock = o.clock ?? systemClock;
  const channels = new ChannelStore(o.db, o.sealer, o.outbound);
  const delivery = new DeliveryService({
    db: o.db,
    clock,
    outbound: o.outbound,
    channels,
    logger: o.logger,
    ...(o.delivery ? { settings: o.delivery } : {}),
    ...(o.random ? { random: o.random } : {}),
    ...(o.senders ? { senders: o.senders } : {}),
  });
  const feed = new NoticeFeed(o.db);
  const intervalMs = o.intervalMs ?? 5000;
  const job: JobDefinition = {
    name: 'notification-delivery',
    description: 'Sends due notification deliveries (webhook, email, Slack, Telegram, Alertmanager) with retries, and re-posts firing alerts to Alertmanager',
    intervalMs,
    transaction: false,
    // Longer than one run can take: a claimed batch's sends are bounded by the send timeout each.
    leaseMs: Math.max(60_000, 3 * intervalMs),
    // On shutdown the run stops between messages and hands the rest back.
    run: async (ctx) => ({ ...(await delivery.deliverDue(ctx.signal)) }),
  };
  return { channels, notifier: new NotificationOutbox(clock), delivery, feed, job, routes: notificationRoutes({ channels, delivery, feed, stream: o.stream }) };
}
