/**
 * Sending IPs, warm-up and DNSBL checks (src/modules/sending-ips, src/modules/dnsbl):
 * src/runtime.ts composes them with the database, a Clock, the stream store and the
 * DNSBL resolver settings; this gives back the routes, the jobs and the alert
 * condition observers (by kind) for the alerts module.
 */
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import type { RouteModule } from '../../http/app.ts';
import { JobFailedError, type JobDefinition } from '../../jobs/runner.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import type { ConditionObserver } from '../alerts/contracts.ts';
import { DnsblResolver } from '../dnsbl/lookup.ts';
import { dnsblRoutes } from '../dnsbl/routes.ts';
import { DnsblService, dnsblListedObserver, dnsblNodeIpsObserver } from '../dnsbl/service.ts';
import { poolRoutes } from './pools/routes.ts';
import { PoolService } from './pools.ts';
import { refreshScores } from './reputation.ts';
import { sendingIpRoutes } from './routes.ts';
import { SendingIpService } from './service.ts';
import { WarmupService, warmupBounceObserver, warmupHeldObserver } from './warmup.ts';

export interface SendingIpsModule {
  ips: SendingIpService;
  pools: PoolService;
  warmup: WarmupService;
  dnsbl: DnsblService;
  routes: RouteModule;
  /** `dnsbl-check` (every 60 s, lease, outside transactions) and `sending-ips-warmup` and `sending-ips-reputation` (every 5 min). */
  jobs: JobDefinition[];
  /** Alert condition observers by kind: dnsbl_listed, dnsbl_node_ips, warmup_bounce, warmup_held. */
  observers: Record<string, ConditionObserver>;
  /** Every address that sends or will send mail (all but retired): what SPF records must authorise. */
  addresses(): Promise<string[]>;
  /** Addresses listed on at least one DNSBL zone at their last check. */
  listed(): Promise<string[]>;
}

export interface SendingIpsModuleOptions {
  db: Database;
  clock: Clock;
  streams: StreamStore;
  dnsbl: { resolvers: readonly string[]; concurrency: number; timeoutMs: number; maxPerRound?: number };
}

export function createSendingIpsModule(o: SendingIpsModuleOptions): SendingIpsModule {
  const ips = new SendingIpService({ db: o.db, clock: o.clock });
  const warmup = new WarmupService({ db: o.db, clock: o.clock });
  const pools = new PoolService({ db: o.db, clock: o.clock });
  const resolver = new DnsblResolver({ servers: o.dnsbl.resolvers, timeoutMs: o.dnsbl.timeoutMs, tries: 2 });
  const dnsbl = new DnsblService({ db: o.db, clock: o.clock, streams: o.streams, resolver, concurrency: o.dnsbl.concurrency, ...(o.dnsbl.maxPerRound ? { maxPerRound: o.dnsbl.maxPerRound } : {}) });
  const jobs: JobDefinition[] = [
    {
      name: 'dnsbl-check',
      description: 'Checks the sending IPs whose tier interval has passed against the DNSBL zones and their PTR, records the results and auto-responses',
      intervalMs: 60_000,
      transaction: false,
      run: async ({ signal }) => {
        const r = await dnsbl.runRound({ signal });
        const details = { checked: r.checked, listed: r.listed, clean: r.clean, errors: r.errors, newlyListed: r.newlyListed.length, delisted: r.delisted.length, paused: r.paused, ptrChecked: r.ptrChecked };
        if (r.checked > 0 && r.errors === r.checked) throw new JobFailedError(`every DNSBL query of the round failed (${r.errors}); is the resolver reachable?`, details);
        return details;
      },
    },
    {
      name: 'sending-ips-warmup',
      description: 'Once a day advances or holds each warming IP by its plan\'s gates; refreshes today\'s sent counts',
      intervalMs: 300_000,
      run: async () => ({ ...(await warmup.advanceDue()) }),
    },
    {
      name: 'sending-ips-reputation',
      description: 'Scores every sending IP (bounce and complaint rates of 24 h, DNSBL listings by tier, PTR) and stores the scores that changed in reputation_score',
      intervalMs: 300_000,
      run: async () => ({ ...(await refreshScores(o.db, o.clock.now())) }),
    },
  ];
  return {
    ips,
    pools,
    warmup,
    dnsbl,
    routes: (app, deps) => {
      sendingIpRoutes(app, deps, { ips, warmup, dnsbl, streams: o.streams, clock: o.clock });
      poolRoutes(app, deps, pools);
      dnsblRoutes(app, deps, dnsbl);
    },
    jobs,
    observers: { dnsbl_listed: dnsblListedObserver, dnsbl_node_ips: dnsblNodeIpsObserver, warmup_bounce: warmupBounceObserver, warmup_held: warmupHeldObserver },
    addresses: () => ips.addresses(),
    listed: () => ips.listed(),
  };
}
