/**
 * One DNSBL query and what its answer means, framework-free.
 *
 * - The query name is the address reversed under the zone: IPv4 octets
 *   (192.0.2.7 → 7.2.0.192.zen.spamhaus.org), IPv6 nibbles (32 hex digits,
 *   least significant first, RFC 5782 §2.4).
 * - An A answer inside 127.0.0.2 … 127.0.0.255 is a listing; its TXT record
 *   (asked only then) is the reason.
 * - NXDOMAIN (and NODATA: the name exists with no A record) is clean.
 * - 127.255.255.252 / .254 / .255 is Spamhaus refusing the query (a typo in the
 *   zone, a public or shared resolver, too many queries): an **error**, never a
 *   listing. Any other answer (127.0.0.1, 127.0.1.x, an address outside
 *   127/8) is an error too: Opsdeck does not guess what an unexpected code means.
 * - A timeout, SERVFAIL, REFUSED or an unreachable resolver is an error: the
 *   check is stored as such, never as clean or listed.
 */
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';

export type ListingStatus = 'listed' | 'clean' | 'error';

export interface ListingResult {
  status: ListingStatus;
  /** The A answers as received (comma-separated), null when there were none. */
  response: string | null;
  /** TXT reason of a listing (strings joined), null otherwise or when the TXT query failed. */
  reason: string | null;
  /** What went wrong, for `error`. */
  error: string | null;
  durationMs: number;
}

/** Spamhaus' "query refused" return codes (https://www.spamhaus.org/faqs/domain-blocklist/#291). */
export const SPAMHAUS_ERROR_CODES: Readonly<Record<string, string>> = {
  '127.255.255.252': 'Spamhaus refused the query: typing error in the DNSBL zone name',
  '127.255.255.254': 'Spamhaus refused the query: it came through a public or open resolver (configure your own resolver)',
  '127.255.255.255': 'Spamhaus refused the query: excessive number of queries',
};

/** The name to ask for `ip` under `zone`. Throws on a string that is not an IP address. */
export function dnsblQueryName(ip: string, zone: string): string {
  const v = isIP(ip);
  if (v === 4) return `${ip.split('.').reverse().join('.')}.${zone}`;
  if (v === 6) return `${expandIPv6(ip).split('').reverse().join('.')}.${zone}`;
  throw new Error(`not an IP address: ${ip}`);
}

/** The 32 hex digits of an IPv6 address (lower case, no colons). */
export function expandIPv6(ip: string): string {
  let s = ip.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (v4) {
    const o = v4[1]!.split('.').map(Number);
    s = s.slice(0, -v4[1]!.length) + `${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? s.split('::') as [string, string] : [s, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.map((g) => g.padStart(4, '0')).join('');
}

/** Pure: the meaning of the A answers of a DNSBL query. */
export function classifyAnswers(answers: readonly string[]): { status: ListingStatus; error: string | null } {
  if (answers.length === 0) return { status: 'clean', error: null };
  for (const a of answers) {
    const refused = SPAMHAUS_ERROR_CODES[a];
    if (refused) return { status: 'error', error: `${refused} (${a})` };
  }
  const odd = answers.filter((a) => !/^127\.0\.0\.(\d+)$/.test(a) || Number(a.split('.')[3]) < 2);
  if (odd.length) return { status: 'error', error: `unexpected DNSBL answer ${odd.join(', ')} (a listing is 127.0.0.2 … 127.0.0.255)` };
  return { status: 'listed', error: null };
}

export interface DnsblResolverOptions {
  /** `ip` or `ip:port` (`[v6]:port`) servers; empty: the system's resolvers. */
  servers?: readonly string[];
  /** Per-query timeout. */
  timeoutMs: number;
  /** Tries per server (1 = no retry). */
  tries?: number;
}

export type PtrCheck = { status: 'confirmed' | 'unconfirmed' | 'missing'; name: string | null; error: string | null } | { status: 'error'; name: null; error: string };

/** Asks DNSBL zones through one configured resolver. */
export class DnsblResolver {
  private readonly resolver: Resolver;
  constructor(readonly options: DnsblResolverOptions) {
    this.resolver = new Resolver({ timeout: options.timeoutMs, tries: options.tries ?? 1 });
    if (options.servers && options.servers.length > 0) this.resolver.setServers([...options.servers]);
  }

  async check(ip: string, zone: string): Promise<ListingResult> {
    const name = dnsblQueryName(ip, zone);
    const t0 = performance.now();
    const done = (r: Omit<ListingResult, 'durationMs'>): ListingResult => ({ ...r, durationMs: Math.round(performance.now() - t0) });
    let answers: string[];
    try {
      answers = await this.resolver.resolve4(name);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (code === 'ENOTFOUND' || code === 'ENODATA') return done({ status: 'clean', response: null, reason: null, error: null });
      const what = code === 'ETIMEOUT' ? `no answer within ${this.options.timeoutMs} ms` : code === 'ESERVFAIL' ? 'SERVFAIL' : code === 'EREFUSED' ? 'REFUSED' : code;
      return done({ status: 'error', response: null, reason: null, error: `DNS query ${name} failed: ${what}` });
    }
    const c = classifyAnswers(answers);
    const response = answers.join(',');
    if (c.status !== 'listed') return done({ status: c.status, response, reason: null, error: c.error });
    let reason: string | null = null;
    try {
      reason = (await this.resolver.resolveTxt(name)).map((parts) => parts.join('')).join(' | ').slice(0, 2000) || null;
    } catch {
      reason = null;
    }
    return done({ status: 'listed', response, reason, error: null });
  }

  /**
   * Forward-confirmed reverse DNS: the PTR names of `ip`, and whether one of them
   * resolves (A for IPv4, AAAA for IPv6) back to `ip`. No PTR record is `missing`;
   * a name that does not point back is `unconfirmed` (the first name is kept); a
   * query that fails is `error` (the stored state is left as it was).
   */
  async confirmPtr(ip: string): Promise<PtrCheck> {
    const v = isIP(ip);
    const same = (a: string) => (v === 4 ? a === ip : isIP(a) === 6 && expandIPv6(a) === expandIPv6(ip));
    let names: string[];
    try {
      names = await this.resolver.reverse(ip);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
      if (code === 'ENOTFOUND' || code === 'ENODATA') return { status: 'missing', name: null, error: `no PTR record for ${ip}` };
      return { status: 'error', name: null, error: `PTR query for ${ip} failed: ${code === 'ETIMEOUT' ? `no answer within ${this.options.timeoutMs} ms` : code}` };
    }
    if (names.length === 0) return { status: 'missing', name: null, error: `no PTR record for ${ip}` };
    const seen: string[] = [];
    for (const name of names.slice(0, 5)) {
      try {
        const addrs = v === 4 ? await this.resolver.resolve4(name) : await this.resolver.resolve6(name);
        if (addrs.some(same)) return { status: 'confirmed', name, error: null };
        seen.push(`${name} → ${addrs.join(', ')}`);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
        if (code !== 'ENOTFOUND' && code !== 'ENODATA') return { status: 'error', name: null, error: `${v === 4 ? 'A' : 'AAAA'} query for ${name} failed: ${code === 'ETIMEOUT' ? `no answer within ${this.options.timeoutMs} ms` : code}` };
        seen.push(`${name} → no ${v === 4 ? 'A' : 'AAAA'} record`);
      }
    }
    return { status: 'unconfirmed', name: names[0]!, error: `the PTR name does not resolve back to ${ip}: ${seen.join('; ')}` };
  }

  cancel(): void {
    this.resolver.cancel();
  }
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
/** A DNS host name of at least two labels (what a DNSBL zone is); lower-case expected. */
export function isHostname(s: string): boolean {
  if (s.length > 253 || !s.includes('.')) return false;
  return s.split('.').every((l) => LABEL.test(l)) && !/^\d+$/.test(s.split('.').at(-1)!);
}
