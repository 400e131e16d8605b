/**
 * The DNS authentication checker: reads a domain's SPF, DKIM and DMARC records over DNS while
 * holding no transaction and no pooled connection, then stores the result in one short
 * transaction (SendingDomainStore.recordCheck). Used by the `sending-domain-checks` job (a lease
 * job) and by POST /api/v1/domains/{domain}/check.
 */
import type { Logger } from 'pino';
import type { Database } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { checkDomainDns, createDnsLookup, type DnsLookup, type ResolverOptions } from './dns-check.ts';
import { domainNotFound, type DomainCheck, type SendingDomainStore } from './service.ts';

/** The addresses mail of the cluster leaves from (the lead wires it to sending_ips); SPF is evaluated for each. */
export type SendingIpsSource = () => Promise<string[]>;

export interface DomainCheckerOptions {
  db: Database;
  store: SendingDomainStore;
  clock: Clock;
  resolver: ResolverOptions;
  sendingIps: SendingIpsSource;
  /** A fresh DnsLookup per check (default: node's Resolver with `resolver`); answers are memoised within one check. */
  lookup?: () => DnsLookup;
  /** Domains checked at once (default 4). */
  concurrency?: number;
  logger?: Logger | undefined;
}

export interface CheckRunSummary {
  due: number;
  checked: number;
  /** Checks stored with outcome `error` (some lookup got no answer). */
  dnsErrors: number;
  /** Checks that could not be stored. */
  failed: number;
}

export class DomainChecker {
  constructor(private readonly o: DomainCheckerOptions) {}

  private lookup(): DnsLookup {
    return this.o.lookup ? this.o.lookup() : createDnsLookup(this.o.resolver);
  }

  /** Checks one domain now and stores the result. */
  async check(domain: string): Promise<DomainCheck> {
    if (this.o.db.inTransaction()) throw new Error('a domain check must not run inside a transaction: it waits on DNS');
    const row = await this.o.store.row(domain);
    const started = this.o.clock.now();
    const t0 = performance.now();
    const ips = await this.o.sendingIps();
    const evidence = await checkDomainDns(this.lookup(), domain, row.dkim_selectors, ips);
    const stored = await this.o.store.recordCheck(domain, evidence, started, performance.now() - t0);
    if (!stored) throw domainNotFound(domain);
    return stored;
  }

  /** The job body: checks every domain due at `now` (last check older than `everyMs`), `concurrency` at a time. */
  async runDue(everyMs: number, signal?: AbortSignal, limit = 500): Promise<CheckRunSummary> {
    const due = await this.o.store.due(this.o.clock.now(), everyMs, limit);
    const summary: CheckRunSummary = { due: due.length, checked: 0, dnsErrors: 0, failed: 0 };
    const queue = [...due];
    const worker = async () => {
      for (let d = queue.shift(); d !== undefined && !signal?.aborted; d = queue.shift()) {
        try {
          const c = await this.check(d);
          summary.checked++;
          if (c.outcome === 'error') summary.dnsErrors++;
        } catch (err) {
          if ((err as { code?: string }).code === 'DOMAIN_NOT_FOUND') continue;
          summary.failed++;
          this.o.logger?.error({ err, domain: d }, 'could not check a sending domain');
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency ?? 4, queue.length) }, worker));
    return summary;
  }
}
