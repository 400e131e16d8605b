/**
 * Address arithmetic for adding sending IPs by range, framework-free.
 *
 * - IPv4: a prefix of /24 or longer (at most 256 addresses). For /24 … /30 the
 *   network and broadcast addresses are left out (a /24 gives its 254 usable
 *   host addresses, .1 … .254); /31 (RFC 3021) and /32 give every address.
 * - IPv6: a prefix and an explicit `count` (1 … MAX_IPV6_COUNT) of addresses
 *   from the first one after the network address (the subnet-router anycast
 *   address ::0 is left out). A /64 holds 2^64 addresses and ZoneMTA sends from
 *   the few a pool names; every address added is also queried against every
 *   IPv6-capable DNSBL zone, so the count is explicit and small.
 */
import { isIP } from 'node:net';
import { expandIPv6 } from '../dnsbl/lookup.ts';

export const MAX_IPV4_RANGE_PREFIX = 24;
export const MAX_IPV6_COUNT = 64;

export interface ParsedCidr {
  version: 4 | 6;
  /** The network address (host bits cleared). */
  network: bigint;
  prefix: number;
  /** Canonical text: network/prefix. */
  text: string;
}

export function ipToBigInt(ip: string): bigint {
  if (isIP(ip) === 4) return ip.split('.').reduce((a, o) => (a << 8n) | BigInt(Number(o)), 0n);
  return BigInt(`0x${expandIPv6(ip)}`);
}

export function bigIntToIp(n: bigint, version: 4 | 6): string {
  if (version === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const hex = n.toString(16).padStart(32, '0');
  const groups = hex.match(/.{4}/g)!.map((g) => g.replace(/^0+(?=.)/, ''));
  // The shortest form (RFC 5952): the longest run of two or more zero groups becomes ::.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** Null when `s` is not address/prefix. */
export function parseCidr(s: string): ParsedCidr | null {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(s.trim());
  if (!m) return null;
  const v = isIP(m[1]!);
  if (v === 0) return null;
  const prefix = Number(m[2]);
  const bits = v === 4 ? 32 : 128;
  if (prefix > bits) return null;
  const mask = ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
  const network = ipToBigInt(m[1]!) & mask;
  const version = v as 4 | 6;
  return { version, network, prefix, text: `${bigIntToIp(network, version)}/${prefix}` };
}

/** The addresses a range adds (see the module comment). Throws RangeError naming the rule broken. */
export function rangeAddresses(c: ParsedCidr, count?: number): string[] {
  if (c.version === 4) {
    if (count !== undefined) throw new RangeError('count applies to IPv6 ranges only (an IPv4 range adds its host addresses)');
    if (c.prefix < MAX_IPV4_RANGE_PREFIX) throw new RangeError(`an IPv4 range is at most a /${MAX_IPV4_RANGE_PREFIX} (256 addresses)`);
    const size = 1n << BigInt(32 - c.prefix);
    const [from, to] = size <= 2n ? [c.network, c.network + size - 1n] : [c.network + 1n, c.network + size - 2n];
    const out: string[] = [];
    for (let n = from; n <= to; n++) out.push(bigIntToIp(n, 4));
    return out;
  }
  if (count === undefined) throw new RangeError(`an IPv6 range needs an explicit count (1 … ${MAX_IPV6_COUNT})`);
  const size = 1n << BigInt(128 - c.prefix);
  if (BigInt(count) > size - 1n && c.prefix < 128) throw new RangeError(`the /${c.prefix} holds fewer than ${count} addresses after its network address`);
  if (c.prefix === 128) return count === 1 ? [bigIntToIp(c.network, 6)] : (() => { throw new RangeError('a /128 is one address'); })();
  return Array.from({ length: count }, (_, i) => bigIntToIp(c.network + 1n + BigInt(i), 6));
}
