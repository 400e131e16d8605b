/**
 * DNSBL round: 50 sending IPs × 25 zones (1,250 queries, plus the TXT query of each
 * listing and one PTR check per IP) against a local DNS server (dnsmasq on loopback,
 * test/support/dns-server.ts), twice:
 *   1. the resolver alone (DnsblResolver.check, BENCH_DNSBL_CONCURRENCY at a time);
 *   2. a full checker round (DnsblService.runRound: due pairs, queries, the recording
 *      transaction, the blacklist_checks rows) on an in-memory PGlite database.
 * One IP in ten is listed on one zone in five. Prints time and queries per second;
 * BENCH_DNSBL_JSON=1 prints one JSON line last (bench/run.ts reads it).
 *
 *   node --import tsx bench/dnsbl.ts      # BENCH_DNSBL_IPS=50 BENCH_DNSBL_ZONES=25 BENCH_DNSBL_CONCURRENCY=20
 */
import pino from 'pino';
import { memoryPGlite } from '../src/db/connect.ts';
import { migrate } from '../src/db/migrator.ts';
import { systemClock } from '../src/domain/clock.ts';
import { DnsblResolver, dnsblQueryName } from '../src/modules/dnsbl/lookup.ts';
import { DnsblService } from '../src/modules/dnsbl/service.ts';
import { STREAMS } from '../src/modules/streams.ts';
import { StreamStore } from '../src/timeseries/stream-store.ts';
import { startDnsServer } from '../test/support/dns-server.ts';

const IPS = Number(process.env.BENCH_DNSBL_IPS ?? 50);
const ZONES = Number(process.env.BENCH_DNSBL_ZONES ?? 25);
const CONCURRENCY = Number(process.env.BENCH_DNSBL_CONCURRENCY ?? 20);

async function main(): Promise<void> {
  const ips = Array.from({ length: IPS }, (_, i) => `198.51.100.${i + 1}`);
  const zones = Array.from({ length: ZONES }, (_, i) => `bl${i}.bench.test`);
  const a: Record<string, string[]> = {};
  const txt: Record<string, string[]> = {};
  let listings = 0;
  ips.forEach((ip, i) =>
    zones.forEach((z, k) => {
      if (i % 10 === 0 && k % 5 === 0) {
        const name = dnsblQueryName(ip, z);
        a[name] = ['127.0.0.2'];
        txt[name] = [`listed by ${z}`];
        listings++;
      }
    }),
  );
  const dns = await startDnsServer({ authoritative: [...zones, '100.51.198.in-addr.arpa'], a, txt });
  try {
    const resolver = new DnsblResolver({ servers: [dns.server], timeoutMs: 3000, tries: 2 });
    const pairs = ips.flatMap((ip) => zones.map((z) => [ip, z] as const));
    // 1. The resolver alone.
    let next = 0;
    const counts = { listed: 0, clean: 0, error: 0 };
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        for (let i = next++; i < pairs.length; i = next++) counts[(await resolver.check(pairs[i]![0], pairs[i]![1])).status]++;
      }),
    );
    const resolverMs = performance.now() - t0;
    const queries = pairs.length + counts.listed;

    // 2. A full round of the checker on PGlite.
    const db = await memoryPGlite();
    const logger = pino({ level: 'silent' });
    const m = await migrate(db);
    const streams = new StreamStore({ db, tier: m.tier.tier, streams: STREAMS, logger });
    await db.query('UPDATE dnsbl_zones SET enabled = false');
    await db.query(`INSERT INTO dnsbl_zones (zone, tier) SELECT z, 'medium' FROM unnest($1::text[]) AS z`, [zones]);
    await db.query(`INSERT INTO sending_ips (ip, ip_version) SELECT a::inet, 4 FROM unnest($1::text[]) AS a`, [ips]);
    const svc = new DnsblService({ db, clock: systemClock, streams, resolver, concurrency: CONCURRENCY });
    const t1 = performance.now();
    const round = await svc.runRound();
    const roundMs = performance.now() - t1;
    await db.close();
    const result = {
      ips: IPS,
      zones: ZONES,
      concurrency: CONCURRENCY,
      resolver: { ms: Math.round(resolverMs), queries, queriesPerSecond: Math.round((queries / resolverMs) * 1000), ...counts, expectedListed: listings },
      round: { ms: Math.round(roundMs), checked: round.checked, listed: round.listed, clean: round.clean, errors: round.errors, ptrChecked: round.ptrChecked, pairsPerSecond: Math.round((round.checked / roundMs) * 1000) },
    };
    console.log(`DNSBL ${IPS} IPs × ${ZONES} zones, concurrency ${CONCURRENCY}, local dnsmasq`);
    console.log(`  resolver: ${result.resolver.ms} ms, ${queries} queries (${counts.listed} listed + TXT, ${counts.clean} clean, ${counts.error} errors), ${result.resolver.queriesPerSecond} queries/s`);
    console.log(`  checker round (PGlite, recorded): ${result.round.ms} ms for ${round.checked} pairs + ${round.ptrChecked} PTR, ${result.round.pairsPerSecond} pairs/s (${round.listed} listed, ${round.errors} errors)`);
    if (process.env.BENCH_DNSBL_JSON === '1') console.log(JSON.stringify(result));
  } finally {
    await dns.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
