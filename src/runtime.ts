/**
 * Composition root: config → database → migrations → time-series store → jobs
 * → HTTP app. Dependencies are passed explicitly; tests build the same runtime
 * on their own database.
 */
import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import type { Config } from './config.ts';
import { connectDatabase } from './db/connect.ts';
import type { Database, Queryable } from './db/database.ts';
import { migrate } from './db/migrator.ts';
import { rootPath } from './paths.ts';
import type { TierInfo } from './db/tier.ts';
import { buildApp, type App, type AppState, type RouteModule } from './http/app.ts';
import { Metrics } from './http/metrics.ts';
import { JobRunner } from './jobs/runner.ts';
import { storageJobs } from './jobs/storage-jobs.ts';
import { createAuthModule, type AuthModule } from './modules/auth/index.ts';
import { metricsRoutes } from './modules/metrics/routes.ts';
import { clusterRoutes } from './modules/cluster/routes.ts';
import { nodeRoutes } from './modules/nodes/routes.ts';
import { systemRoutes } from './modules/system/routes.ts';
import { FAMILIES } from './modules/families.ts';
import { STREAMS } from './modules/streams.ts';
import { eventRoutes } from './modules/events/routes.ts';
import { emailPluginRoutes } from './modules/email-events/routes.ts';
import { mailAgentRoutes } from './modules/mail-agent/routes.ts';
import { ledgerRoutes } from './modules/ledger/routes.ts';
import { createConfigTrackingModule, type ConfigTrackingModule } from './modules/config-tracking/index.ts';
import { mailAnalyticsRoutes } from './modules/mail-analytics/routes.ts';
import { MailAnalytics } from './modules/mail-analytics/service.ts';
import { GelfReceiver } from './modules/gelf/receiver.ts';
import { recordAudit } from './modules/ledger/audit.ts';
import type { AuditSink } from './domain/audit.ts';
import { StreamStore } from './timeseries/stream-store.ts';
import { TimeseriesStore } from './timeseries/store.ts';
import type { Family } from './timeseries/family.ts';
import { WriteCoalescer } from './timeseries/coalescer.ts';
import { createAlertsModule, type AlertsModule, type AlertsModuleOptions } from './modules/alerts/index.ts';
import { createNotificationsModule, type NotificationsModule, type NotificationsOptions } from './modules/notifications/index.ts';
import { openSecretBox, type SecretBox } from './crypto/secrets.ts';
import { createOutbound, type Outbound } from './net/outbound.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import type { ServiceAlertSink } from './modules/alerts/contracts.ts';
import { createProbesModule, type ProbesModule } from './modules/probes/index.ts';
import { createSendingDomainsModule, type SendingDomainsModule } from './modules/sending-domains/index.ts';
import { createHomelabModule, type HomelabModule } from './modules/homelab/index.ts';
import type { ConfigFileSink } from './modules/config-tracking/contracts.ts';
import { createSendingIpsModule } from './modules/sending-ips/index.ts';
import { loadDashboard } from './web/dashboard.ts';
import { dashboardRoutes } from './web/routes.ts';

export const VERSION: string = (JSON.parse(readFileSync(rootPath('package.json'), 'utf8')) as { version: string }).version;

/**
 * Fields that hold credentials, censored wherever they appear in a log object (one or two
 * levels deep): what is logged must never carry a channel secret, a password or a token, and
 * this is the net under that rule.
 */
export const LOG_REDACT_PATHS: readonly string[] = ['password', 'secrets', 'botToken', 'hmacSecret', 'webhookUrl', 'authorization', 'token', 'secretKey', 'privateKey', 'passphrase', 'private_key_sealed'].flatMap((k) => [
  k,
  `*.${k}`,
  `*.*.${k}`,
]);

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  const options = { level: config.logLevel, base: { service: 'opsdeck' }, redact: { paths: [...LOG_REDACT_PATHS], censor: '[redacted]' } };
  return destination ? pino(options, destination) : pino(options);
}

export interface Runtime {
  config: Config;
  logger: Logger;
  db: Database;
  tier: TierInfo;
  store: TimeseriesStore;
  streams: StreamStore;
  jobs: JobRunner;
  metrics: Metrics;
  auth: AuthModule;
  alerts: AlertsModule;
  /** Seals secrets Opsdeck keeps to use again (src/crypto/secrets.ts). */
  secrets: SecretBox;
  /** The guarded way out for requests made on a user's behalf (src/net/outbound.ts). */
  outbound: Outbound;
  /** Notification channels, the outbox (an AlertNotifier) and the delivery job. */
  notifications: NotificationsModule;
  /** Monitored services, their probes and checks (src/modules/probes). */
  probes: ProbesModule;
  /** Sending domains and their SPF/DKIM/DMARC checks (src/modules/sending-domains). */
  domains: SendingDomainsModule;
  /** Configuration tracking: the sink home-lab collection hands configuration files to (src/modules/config-tracking). */
  configTracking: ConfigTrackingModule;
  /** Home-lab devices collected over SSH or by push (src/modules/homelab). */
  homelab: HomelabModule;
  app: App;
  state: AppState;
  /** Stops jobs, closes the HTTP server and the database. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: Logger;
  /** Use this database instead of connecting from config (tests). */
  db?: Database;
  extraRoutes?: RouteModule[];
  /** Settings of the notifications module (tests: a ManualClock, short stream intervals). */
  notifications?: Partial<Omit<NotificationsOptions, 'db' | 'sealer' | 'outbound'>>;
  /** Serve these time-series families instead of FAMILIES (tests: families declared in the test). */
  families?: readonly Family[];
  /** Where mutating requests write their audit entries (default: the ledger's audit trail; tests: a failing sink). */
  audit?: AuditSink;
  /** Alerting's clock, notifier and probe states (tests: a ManualClock and recording fakes). */
  alerts?: Pick<AlertsModuleOptions, 'clock' | 'notifier' | 'probes'>;
  /** Time for services that decide by elapsed time (default: the system clock; tests: a ManualClock). */
  clock?: Clock;
  /** Receives confirmed service state changes of the probes (the alerts module). */
  serviceAlertSink?: ServiceAlertSink;
  /** Where the home-lab collector hands configuration files (configuration tracking). */
  configSink?: ConfigFileSink;
}

export async function openDatabase(config: Config, logger: Logger): Promise<Database> {
  return connectDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    embedded: config.embedded,
    logger,
    poolMax: config.poolMax,
    poolWaitMs: config.poolWaitMs,
    statementTimeoutMs: config.statementTimeoutMs || undefined,
  });
}

export async function createRuntime(config: Config, options: RuntimeOptions = {}): Promise<Runtime> {
  const logger = options.logger ?? createLogger(config);
  const db = options.db ?? (await openDatabase(config, logger));
  try {
    return await assemble(config, options, logger, db);
  } catch (err) {
    // A failed start closes what it opened (the embedded server would otherwise keep the process alive).
    if (!options.db) await db.close().catch(() => undefined);
    throw err;
  }
}

async function assemble(config: Config, options: RuntimeOptions, logger: Logger, db: Database): Promise<Runtime> {
  const migrated = await migrate(db, { tierPreference: config.storageTier });
  for (const m of migrated.applied) logger.info({ version: m.version, name: m.name, durationMs: m.durationMs }, 'migration applied');
  if (migrated.tier.notice) logger.warn({ tier: migrated.tier.tier }, migrated.tier.notice);
  const store = new TimeseriesStore({
    db,
    tier: migrated.tier.tier,
    families: options.families ?? FAMILIES,
    logger,
    limits: { maxPoints: config.queryMaxPoints, autoMaxPoints: config.queryAutoMaxPoints, maxSpanSeconds: config.queryMaxSpanDays * 86400 },
  });
  const streams = new StreamStore({ db, tier: migrated.tier.tier, streams: STREAMS, logger });
  const metrics = new Metrics(db);
  const jobs = new JobRunner({
    db,
    logger,
    onRun: (r) => {
      metrics.jobRuns.inc({ job: r.job, outcome: r.outcome });
      if (r.outcome === 'error') metrics.jobFailures.inc({ job: r.job });
    },
  });
  for (const j of storageJobs(db, store, { streams })) jobs.register(j);
  const auth = await createAuthModule({ db, config, logger });
  const sealed = openSecretBox({ secretKey: config.secretKey, previousKeys: config.secretKeyPrevious, dataDir: config.dataDir });
  if (sealed.source === 'new-file') logger.warn({ path: sealed.path }, 'made a new secret key file: back it up with the database (sealed channel tokens and SSH keys need it)');
  const secrets = sealed.box;
  const outbound = createOutbound({ allow: config.outboundAllow });
  const clock = options.clock ?? systemClock;
  const notifications = createNotificationsModule({
    db,
    clock,
    sealer: secrets,
    outbound,
    logger,
    intervalMs: config.notifyIntervalSeconds * 1000,
    delivery: { maxAttempts: config.notifyMaxAttempts, retryBaseMs: config.notifyRetryBaseSeconds * 1000 },
    ...options.notifications,
  });
  jobs.register(notifications.job);
  // Probes tell alerting about confirmed state changes; alerting reads the probes' current states.
  let alertsModule: AlertsModule | null = null;
  const sink: ServiceAlertSink = options.serviceAlertSink ?? { serviceStateChanged: async (change) => alertsModule?.service.serviceStateChanged(change) };
  const probes = createProbesModule({ db, clock, outbound, sink, logger });
  for (const j of probes.jobs) jobs.register(j);
  // Sending IPs, warm-up and DNSBL checks; their alert kinds are evaluated by the module's observers.
  const sendingIps = createSendingIpsModule({ db, clock, streams, dnsbl: { resolvers: config.dnsblResolvers, concurrency: config.dnsblConcurrency, timeoutMs: config.dnsblTimeoutMs } });
  for (const j of sendingIps.jobs) jobs.register(j);
  // Sending domains: DNS checks outside transactions; their domain_auth rules are evaluated by the module's observer.
  // SPF is evaluated for each sending IP that is not retired.
  const domains = createSendingDomainsModule({
    sendingIps: () => sendingIps.addresses(),
    listedIps: () => sendingIps.listed(),
    db,
    streams,
    clock,
    logger,
    resolver: { servers: config.domainCheckDnsServers, timeoutMs: config.domainCheckDnsTimeoutMs, tries: config.domainCheckDnsTries },
    checkEveryMs: config.domainCheckIntervalMinutes * 60_000,
  });
  for (const j of domains.jobs) jobs.register(j);
  // Alert transitions queue their notices in the notifications outbox, in the same transaction.
  const configTracking = createConfigTrackingModule();
  // Home-lab collection hands every configuration file it reads to configuration tracking.
  const homelab = createHomelabModule({ db, store, streams, secrets, clock, sink: options.configSink ?? configTracking.sink, logger });
  for (const j of homelab.jobs) jobs.register(j);
  const alerts = createAlertsModule({ db, logger, clock, retentionDays: config.alertRetentionDays, notifier: notifications.notifier, probes: probes.states, observers: { ...sendingIps.observers, ...domains.observers, config_change: configTracking.observer, ...homelab.observers }, ...options.alerts });
  alertsModule = alerts;
  for (const j of alerts.jobs) jobs.register(j);
  await alerts.seedDefaults();
  // Two group commits in flight per family: under load, requests queue into larger groups.
  const writer = new WriteCoalescer(store, { maxInFlight: 2 });
    // Every mutating request's audit entry, in the request's transaction (src/http/app.ts), in the ledger's append-only trail.
  const audit: AuditSink = options.audit ?? { record: (tx, e) => recordAudit(tx as Queryable, e) };
  // The web dashboard, bundled in memory now (src/web; OPSDECK_DASHBOARD=false: the API only).
  const dashboard = config.dashboard ? await loadDashboard() : null;
  const deps = { config, db, store, writer, streams, tier: migrated.tier, logger, authenticator: auth.authenticator, jobs, metrics, version: VERSION, secrets, outbound, audit, dashboard };
  const { app, state } = await buildApp(deps, [systemRoutes, metricsRoutes, eventRoutes, emailPluginRoutes, mailAgentRoutes, nodeRoutes, clusterRoutes, auth.routes, alerts.routes, notifications.routes, probes.routes, homelab.routes, sendingIps.routes, domains.routes, ledgerRoutes(), configTracking.routes, mailAnalyticsRoutes({ analytics: new MailAnalytics({ db, streams, clock }) }), ...(dashboard ? [dashboardRoutes(dashboard)] : []), ...(options.extraRoutes ?? [])]);
  // The GELF receiver of mail events (off unless OPSDECK_GELF_PORT is set; docs/integrations.md).
  const gelf = config.gelfPort > 0 ? new GelfReceiver({ streams, host: config.gelfHost, port: config.gelfPort, allow: config.gelfAllow, registry: metrics.registry, logger }) : null;
  if (gelf) logger.info({ host: config.gelfHost, ...(await gelf.start()) }, 'GELF receiver listening');
  let closed = false;
  return {
    config,
    logger,
    db,
    tier: migrated.tier,
    store,
    streams,
    jobs,
    metrics,
    auth,
    alerts,
    secrets,
    outbound,
    notifications,
    probes,
    domains,
    configTracking,
    homelab,
    app,
    state,
    async close() {
      if (closed) return;
      closed = true;
      state.draining = true;
      await jobs.stop();
      await gelf?.stop();
      homelab.close();
      await app.close();
      if (!options.db) await db.close();
    },
  };
}
