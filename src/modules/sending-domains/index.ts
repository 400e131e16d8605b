/**
 * The sending-domains module: sending_domains and their DNS authentication checks
 * (SPF, DKIM, DMARC), the `sending-domain-checks` job, the `domain_auth` alert observer and the
 * per-domain reputation overview. src/runtime.ts composes it with the database, a Clock, the
 * resolver settings and the source of the sending IPs (sending_ips).
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { RouteModule } from '../../http/app.ts';
import { JobFailedError, type JobDefinition } from '../../jobs/runner.ts';
import type { ConditionObserver } from '../alerts/contracts.ts';
import { DomainChecker, type SendingIpsSource } from './checker.ts';
import type { DnsLookup, ResolverOptions } from './dns-check.ts';
import { domainAuthObserver } from './observer.ts';
import { sendingDomainRoutes } from './routes.ts';
import { CHECK_HISTORY_DAYS, SendingDomainStore } from './service.ts';

export interface SendingDomainsModule {
  store: SendingDomainStore;
  checker: DomainChecker;
  routes: RouteModule;
  /** `sending-domain-checks` (every minute, under a lease, outside any transaction) and `sending-domain-check-retention` (hourly). */
  jobs: JobDefinition[];
  /** For createAlertsModule({ observers }). */
  observers: { domain_auth: ConditionObserver };
}

export interface SendingDomainsModuleOptions {
  db: Database;
  /** The email_events stream: the reputation overview reads its sender-health rollups. */
  streams: StreamStore;
  clock: Clock;
  resolver: ResolverOptions;
  /** How often each domain is checked (ms). */
  checkEveryMs: number;
  /** The cluster's sending IPs; until wired, SPF is judged on the record alone. */
  sendingIps?: SendingIpsSource | undefined;
  /** The sending IPs listed on a DNSBL zone; until wired, the health score's any_ip_blacklisted term is not evaluated. */
  listedIps?: SendingIpsSource | undefined;
  lookup?: () => DnsLookup;
  logger?: Logger | undefined;
}

/** How often the job looks for domains that are due. */
export const DOMAIN_CHECK_TICK_MS = 60_000;

export function createSendingDomainsModule(o: SendingDomainsModuleOptions): SendingDomainsModule {
  const store = new SendingDomainStore({ db: o.db, clock: o.clock });
  const checker = new DomainChecker({
    db: o.db,
    store,
    clock: o.clock,
    resolver: o.resolver,
    sendingIps: o.sendingIps ?? (async () => []),
    logger: o.logger,
    ...(o.lookup ? { lookup: o.lookup } : {}),
  });
  const jobs: JobDefinition[] = [
    {
      name: 'sending-domain-checks',
      description: 'Reads the SPF, DKIM and DMARC records of the sending domains that are due and stores each check',
      intervalMs: DOMAIN_CHECK_TICK_MS,
      transaction: false,
      run: async ({ signal }) => {
        const s = await checker.runDue(o.checkEveryMs, signal);
        if (s.failed > 0) throw new JobFailedError(`${s.failed} domain checks could not be stored`, { ...s });
        return { ...s };
      },
    },
    {
      name: 'sending-domain-check-retention',
      description: `Deletes sending-domain checks older than ${CHECK_HISTORY_DAYS} days, in batches`,
      intervalMs: 3_600_000,
      transaction: false,
      run: async () => ({ deleted: await store.deleteChecksOlderThan(CHECK_HISTORY_DAYS) }),
    },
  ];
  return {
    store,
    checker,
    routes: (app) => sendingDomainRoutes(app, { db: o.db, streams: o.streams, store, checker, clock: o.clock, listedIps: o.listedIps }),
    jobs,
    observers: { domain_auth: domainAuthObserver },
  };
}
