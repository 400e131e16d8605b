/**
 * Reads a sending domain's DNS authentication records and judges them:
 *
 * - SPF (RFC 7208): the domain's TXT records starting `v=spf1` — none is "not configured", two or
 *   more is a permerror (§4.5) — then, for every sending IP, the record evaluated as `check_host()`
 *   would: `ip4:`/`ip6:` with CIDR lengths, `a` and `mx` (resolved, with their CIDR lengths, at
 *   most 10 MX names), `include:` followed recursively, `redirect=` when no mechanism matched,
 *   `all` with its qualifier, and the limit of 10 DNS-querying terms (include, a, mx, ptr, exists,
 *   redirect) per evaluation. `ptr`, `exists` and macros (`%{…}`) are not evaluated: an IP whose
 *   evaluation reaches one before a match gets the result `unknown`. SPF is configured when
 *   exactly one valid record gives `pass` for every sending IP.
 * - DKIM (RFC 6376): `<selector>._domainkey.<domain>` TXT for each configured selector: a key
 *   record (`v=DKIM1` first, or no `v=` and a `p=` tag); an empty `p=` is a revoked key. DKIM is
 *   configured when every configured selector has a key (and at least one selector is configured).
 * - DMARC (RFC 7489): `_dmarc.<domain>` TXT starting `v=DMARC1`; exactly one (several = none,
 *   §6.6.3); `p=` (a missing or invalid p with a valid rua counts as none, §6.6.3), `sp=`, `pct=`,
 *   `rua=`. With no record at the domain, the organisational domain's record applies (§6.6.3 step 3):
 *   the domain one label below its public suffix by the Public Suffix List (ICANN and private
 *   sections, as the list file that DMARC receivers load holds both; the `tldts` package), its `sp=`
 *   (or `p=`) being the policy. Several records at the domain end the discovery (§6.6.3 step 5).
 *
 * A lookup that gets no answer (timeout, SERVFAIL, refused) makes that part `error`: nothing is
 * concluded about it. NXDOMAIN and "no records of that type" are answers.
 */
import { Resolver } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import type { DmarcPolicy, PartState } from './schema.ts';

/** A DNS question that got no answer (timeout, SERVFAIL, REFUSED, connection refused …). */
export class DnsUnansweredError extends Error {
  constructor(
    readonly qname: string,
    readonly rrtype: string,
    readonly code: string,
  ) {
    super(`${rrtype} ${qname}: no answer (${code})`);
    this.name = 'DnsUnansweredError';
  }
}

/** The lookups the checker makes. `[]` = the name has none of that type (NXDOMAIN or NODATA). */
export interface DnsLookup {
  txt(name: string): Promise<string[]>;
  a(name: string): Promise<string[]>;
  aaaa(name: string): Promise<string[]>;
  mx(name: string): Promise<{ exchange: string; priority: number }[]>;
}

export interface ResolverOptions {
  /** Servers (`ip` or `ip:port`); empty: the system's resolvers. */
  servers: readonly string[];
  /** Per try (node's Resolver `timeout`). */
  timeoutMs: number;
  tries: number;
}

const EMPTY_CODES = new Set(['ENOTFOUND', 'ENODATA']);

/** A DnsLookup over node's Resolver (c-ares). Answers are memoised for the lookup's lifetime (one check). */
export function createDnsLookup(o: ResolverOptions): DnsLookup {
  const resolver = new Resolver({ timeout: o.timeoutMs, tries: o.tries });
  if (o.servers.length > 0) resolver.setServers([...o.servers]);
  const memo = new Map<string, Promise<unknown>>();
  const ask = <T>(rrtype: string, name: string, fn: () => Promise<T>, empty: T): Promise<T> => {
    const key = `${rrtype} ${name.toLowerCase()}`;
    let p = memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = fn().catch((e: unknown) => {
        const code = (e as { code?: string }).code ?? 'EUNKNOWN';
        if (EMPTY_CODES.has(code)) return empty;
        throw new DnsUnansweredError(name, rrtype, code);
      });
      memo.set(key, p);
    }
    return p;
  };
  return {
    txt: (name) => ask('TXT', name, async () => (await resolver.resolveTxt(name)).map((chunks) => chunks.join('')), [] as string[]),
    a: (name) => ask('A', name, () => resolver.resolve4(name), [] as string[]),
    aaaa: (name) => ask('AAAA', name, () => resolver.resolve6(name), [] as string[]),
    mx: (name) => ask('MX', name, () => resolver.resolveMx(name), [] as { exchange: string; priority: number }[]),
  };
}

// ---------------------------------------------------------------- evidence

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror' | 'unknown';

export interface SpfEvidence {
  state: PartState;
  reason: string;
  /** The domain's TXT records that start with v=spf1. */
  records: string[];
  /** The top record's `all` mechanism with its qualifier (`-all`, `~all`, `?all`, `+all`), null without one. */
  all: string | null;
  /** Each sending IP's check_host() result. */
  ips: { ip: string; result: SpfResult; lookups: number; detail: string }[];
  error?: string;
}
export type DkimSelectorState = 'configured' | 'missing' | 'revoked' | 'invalid' | 'error';
export interface DkimEvidence {
  state: PartState;
  reason: string;
  selectors: { selector: string; name: string; state: DkimSelectorState; record: string | null; keyType: string | null; error?: string }[];
}
export interface DmarcEvidence {
  state: PartState;
  reason: string;
  /** The TXT records that start with v=DMARC1, at `_dmarc.<domain>` or, when it has none, at `_dmarc.<organisational domain>`. */
  records: string[];
  /** Where the record applied was found: the domain itself, or its organisational domain (then `policy` is that record's `sp`, or its `p`). */
  source: 'domain' | 'organizational' | null;
  /** The organisational domain by the Public Suffix List (null: the domain is one, or has no registrable part). */
  organizationalDomain: string | null;
  policy: DmarcPolicy | null;
  subdomainPolicy: DmarcPolicy | null;
  pct: number | null;
  rua: string[];
  error?: string;
}
export interface CheckEvidence {
  spf: SpfEvidence;
  dkim: DkimEvidence;
  dmarc: DmarcEvidence;
  /** The sending IPs SPF was evaluated for. */
  sendingIps: string[];
}

// ---------------------------------------------------------------- SPF

/** RFC 7208 §4.6.4: at most 10 terms that cause DNS queries per check_host(). */
export const SPF_LOOKUP_LIMIT = 10;
const MX_LIMIT = 10;

type Qualifier = '+' | '-' | '~' | '?';
type Mechanism =
  | { kind: 'all'; q: Qualifier }
  | { kind: 'include' | 'exists' | 'ptr'; q: Qualifier; domain: string | null }
  | { kind: 'a' | 'mx'; q: Qualifier; domain: string | null; cidr4: number; cidr6: number }
  | { kind: 'ip4' | 'ip6'; q: Qualifier; addr: string; bits: number };
interface SpfRecord {
  mechanisms: Mechanism[];
  redirect: string | null;
}

class SpfPermError extends Error {}
class SpfUnevaluated extends Error {}

const QUALIFIER_RESULT: Record<Qualifier, SpfResult> = { '+': 'pass', '-': 'fail', '~': 'softfail', '?': 'neutral' };
const DOMAIN_SPEC = /^[A-Za-z0-9_.%{}+=,/-]+$/;

export const isSpfRecord = (txt: string): boolean => /^v=spf1(\s|$)/i.test(txt);

function parseCidr(s: string | undefined, max: number, term: string): number {
  if (s === undefined) return max;
  if (!/^(0|[1-9][0-9]{0,2})$/.test(s) || Number(s) > max) throw new SpfPermError(`bad CIDR length in ${term}`);
  return Number(s);
}

/** Parses a whole record (RFC 7208 §4.6: a syntax error anywhere is a permerror). */
export function parseSpf(record: string): SpfRecord {
  const terms = record.trim().split(/\s+/).slice(1);
  const mechanisms: Mechanism[] = [];
  let redirect: string | null = null;
  for (const term of terms) {
    const mod = /^([A-Za-z][A-Za-z0-9_.-]*)=(.*)$/.exec(term);
    if (mod) {
      const name = mod[1]!.toLowerCase();
      if (name === 'redirect') {
        if (redirect !== null) throw new SpfPermError('two redirect= modifiers');
        if (!DOMAIN_SPEC.test(mod[2]!)) throw new SpfPermError(`bad domain in ${term}`);
        redirect = mod[2]!;
      }
      continue; // exp= and unknown modifiers are ignored (§6)
    }
    const m = /^([+\-~?]?)([A-Za-z0-9]+)(?::([^/]*))?((?:\/[^/]*)?(?:\/\/[^/]*)?)$/.exec(term);
    if (!m) throw new SpfPermError(`unknown term ${term}`);
    const q = (m[1] || '+') as Qualifier;
    const kind = m[2]!.toLowerCase();
    const arg = m[3];
    const cidrs = m[4] ?? '';
    const c = /^(?:\/([^/]*))?(?:\/\/(.*))?$/.exec(cidrs);
    const cidr4 = c?.[1];
    const cidr6 = c?.[2];
    const domainArg = (required: boolean): string | null => {
      if (arg === undefined) {
        if (required) throw new SpfPermError(`${kind} needs a domain`);
        return null;
      }
      if (arg === '' || !DOMAIN_SPEC.test(arg)) throw new SpfPermError(`bad domain in ${term}`);
      return arg;
    };
    switch (kind) {
      case 'all':
        if (arg !== undefined || cidrs) throw new SpfPermError(`bad term ${term}`);
        mechanisms.push({ kind: 'all', q });
        break;
      case 'include':
      case 'exists':
        if (cidrs) throw new SpfPermError(`bad term ${term}`);
        mechanisms.push({ kind, q, domain: domainArg(true) });
        break;
      case 'ptr':
        if (cidrs) throw new SpfPermError(`bad term ${term}`);
        mechanisms.push({ kind, q, domain: domainArg(false) });
        break;
      case 'a':
      case 'mx':
        mechanisms.push({ kind, q, domain: domainArg(false), cidr4: parseCidr(cidr4, 32, term), cidr6: parseCidr(cidr6, 128, term) });
        break;
      case 'ip4':
      case 'ip6': {
        const want = kind === 'ip4' ? 4 : 6;
        if (!arg || isIP(arg) !== want || cidr6 !== undefined) throw new SpfPermError(`bad address in ${term}`);
        mechanisms.push({ kind, q, addr: arg, bits: parseCidr(cidr4, want === 4 ? 32 : 128, term) });
        break;
      }
      default:
        throw new SpfPermError(`unknown mechanism ${term}`);
    }
  }
  return { mechanisms, redirect };
}

function inCidr(ip: string, net: string, bits: number): boolean {
  const v = isIP(ip);
  if (v === 0 || v !== isIP(net)) return false;
  const family = v === 4 ? 'ipv4' : 'ipv6';
  const list = new BlockList();
  list.addSubnet(net, bits, family);
  return list.check(ip, family);
}

interface Evaluation {
  lookups: number;
  trail: string[];
}

function count(ev: Evaluation, term: string) {
  ev.lookups++;
  if (ev.lookups > SPF_LOOKUP_LIMIT) throw new SpfPermError(`more than ${SPF_LOOKUP_LIMIT} DNS lookups (at ${term})`);
}

async function addressMatch(dns: DnsLookup, ip: string, host: string, cidr4: number, cidr6: number): Promise<boolean> {
  const v6 = isIP(ip) === 6;
  const addrs = v6 ? await dns.aaaa(host) : await dns.a(host);
  return addrs.some((a) => inCidr(ip, a, v6 ? cidr6 : cidr4));
}

async function spfRecordsOf(dns: DnsLookup, domain: string): Promise<string[]> {
  return (await dns.txt(domain)).filter(isSpfRecord);
}

/** RFC 7208 check_host(ip, domain) with the mechanisms listed in the module comment. */
async function checkHost(dns: DnsLookup, ip: string, domain: string, ev: Evaluation, depth: number): Promise<SpfResult> {
  if (depth > SPF_LOOKUP_LIMIT) throw new SpfPermError('include/redirect loop');
  const records = await spfRecordsOf(dns, domain);
  if (records.length === 0) return 'none';
  if (records.length > 1) throw new SpfPermError(`${domain} has ${records.length} SPF records`);
  const rec = parseSpf(records[0]!);
  for (const m of rec.mechanisms) {
    const label = `${m.q === '+' ? '' : m.q}${m.kind}${'domain' in m && m.domain ? `:${m.domain}` : ''}${'addr' in m ? `:${m.addr}/${m.bits}` : ''}`;
    let matched = false;
    switch (m.kind) {
      case 'all':
        matched = true;
        break;
      case 'ip4':
      case 'ip6':
        matched = inCidr(ip, m.addr, m.bits);
        break;
      case 'a': {
        count(ev, label);
        const host = m.domain ?? domain;
        if (host.includes('%')) throw new SpfUnevaluated(`macro in ${label}`);
        matched = await addressMatch(dns, ip, host, m.cidr4, m.cidr6);
        break;
      }
      case 'mx': {
        count(ev, label);
        const host = m.domain ?? domain;
        if (host.includes('%')) throw new SpfUnevaluated(`macro in ${label}`);
        const mxs = await dns.mx(host);
        if (mxs.length > MX_LIMIT) throw new SpfPermError(`${label}: more than ${MX_LIMIT} MX names`);
        for (const mx of mxs) {
          if (await addressMatch(dns, ip, mx.exchange, m.cidr4, m.cidr6)) {
            matched = true;
            break;
          }
        }
        break;
      }
      case 'include': {
        count(ev, label);
        if (m.domain!.includes('%')) throw new SpfUnevaluated(`macro in ${label}`);
        const r = await checkHost(dns, ip, m.domain!, ev, depth + 1);
        if (r === 'pass') matched = true;
        else if (r === 'temperror' || r === 'unknown') return r;
        else if (r === 'none') throw new SpfPermError(`${label}: ${m.domain} has no SPF record`);
        break;
      }
      case 'ptr':
      case 'exists':
        count(ev, label);
        throw new SpfUnevaluated(`${label} is not evaluated`);
    }
    if (matched) {
      ev.trail.push(`${domain}: ${label}`);
      return QUALIFIER_RESULT[m.q];
    }
  }
  if (rec.redirect !== null) {
    count(ev, `redirect=${rec.redirect}`);
    if (rec.redirect.includes('%')) throw new SpfUnevaluated(`macro in redirect=${rec.redirect}`);
    const r = await checkHost(dns, ip, rec.redirect, ev, depth + 1);
    if (r === 'none') throw new SpfPermError(`redirect=${rec.redirect}: no SPF record there`);
    return r;
  }
  ev.trail.push(`${domain}: no mechanism matched`);
  return 'neutral';
}

/** One IP's result, never throwing: permerror, temperror and unknown carry their reason in `detail`. */
export async function evaluateSpf(dns: DnsLookup, ip: string, domain: string): Promise<{ result: SpfResult; lookups: number; detail: string }> {
  const ev: Evaluation = { lookups: 0, trail: [] };
  try {
    const result = await checkHost(dns, ip, domain, ev, 0);
    return { result, lookups: ev.lookups, detail: ev.trail.at(-1) ?? '' };
  } catch (e) {
    if (e instanceof SpfPermError) return { result: 'permerror', lookups: ev.lookups, detail: e.message };
    if (e instanceof SpfUnevaluated) return { result: 'unknown', lookups: ev.lookups, detail: e.message };
    if (e instanceof DnsUnansweredError) return { result: 'temperror', lookups: ev.lookups, detail: e.message };
    throw e;
  }
}

export async function checkSpf(dns: DnsLookup, domain: string, sendingIps: readonly string[]): Promise<SpfEvidence> {
  let records: string[];
  try {
    records = await spfRecordsOf(dns, domain);
  } catch (e) {
    if (e instanceof DnsUnansweredError) return { state: 'error', reason: 'DNS did not answer', records: [], all: null, ips: [], error: e.message };
    throw e;
  }
  const base = { records, all: null as string | null, ips: [] as SpfEvidence['ips'] };
  if (records.length === 0) return { ...base, state: 'not_configured', reason: 'no SPF record (TXT v=spf1)' };
  if (records.length > 1) return { ...base, state: 'not_configured', reason: `${records.length} SPF records: a permerror (RFC 7208 §4.5); receivers treat the domain as having no valid SPF` };
  let parsed: SpfRecord;
  try {
    parsed = parseSpf(records[0]!);
  } catch (e) {
    if (e instanceof SpfPermError) return { ...base, state: 'not_configured', reason: `invalid SPF record: ${e.message}` };
    throw e;
  }
  const all = parsed.mechanisms.find((m) => m.kind === 'all');
  base.all = all ? `${all.q}all` : null;
  for (const ip of sendingIps) base.ips.push({ ip, ...(await evaluateSpf(dns, ip, domain)) });
  const temp = base.ips.find((x) => x.result === 'temperror');
  if (temp) return { ...base, state: 'error', reason: 'DNS did not answer while evaluating the record', error: temp.detail };
  const perm = base.ips.find((x) => x.result === 'permerror');
  if (perm) return { ...base, state: 'not_configured', reason: `the record is a permerror: ${perm.detail}` };
  const notPass = base.ips.filter((x) => x.result !== 'pass');
  if (notPass.length > 0) return { ...base, state: 'not_configured', reason: `does not authorise ${notPass.map((x) => `${x.ip} (${x.result})`).join(', ')}` };
  return { ...base, state: 'configured', reason: sendingIps.length ? `authorises every sending IP (${sendingIps.length})` : 'one valid record (no sending IPs known to evaluate)' };
}

// ---------------------------------------------------------------- DKIM and DMARC

/** `k=v; k2=v2` tag lists of DKIM and DMARC records (whitespace around tags and values ignored). */
export function parseTags(record: string): Map<string, string> | null {
  const tags = new Map<string, string>();
  for (const part of record.split(';')) {
    const t = part.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq <= 0) return null;
    const name = t.slice(0, eq).trim().toLowerCase();
    if (!/^[a-z][a-z0-9_]*$/.test(name) || tags.has(name)) return null;
    tags.set(name, t.slice(eq + 1).trim());
  }
  return tags;
}

const isDkimKey = (record: string): boolean => {
  const tags = parseTags(record);
  if (!tags) return /^v\s*=\s*DKIM1\s*(;|$)/i.test(record.trim());
  const first = record.trim().split(';')[0]!.split('=')[0]!.trim().toLowerCase();
  return tags.has('v') ? first === 'v' && tags.get('v') === 'DKIM1' : tags.has('p');
};

export async function checkDkim(dns: DnsLookup, domain: string, selectors: readonly string[]): Promise<DkimEvidence> {
  const out: DkimEvidence['selectors'] = [];
  for (const selector of selectors) {
    const name = `${selector}._domainkey.${domain}`;
    try {
      const keys = (await dns.txt(name)).filter(isDkimKey);
      if (keys.length === 0) {
        out.push({ selector, name, state: 'missing', record: null, keyType: null });
        continue;
      }
      const record = keys[0]!;
      const tags = parseTags(record);
      const p = tags?.get('p');
      const keyType = tags?.get('k') ?? 'rsa';
      if (!tags || p === undefined || keys.length > 1 || !/^[A-Za-z0-9+/=\s]*$/.test(p)) out.push({ selector, name, state: 'invalid', record, keyType });
      else if (p.replace(/\s/g, '') === '') out.push({ selector, name, state: 'revoked', record, keyType });
      else out.push({ selector, name, state: 'configured', record, keyType });
    } catch (e) {
      if (!(e instanceof DnsUnansweredError)) throw e;
      out.push({ selector, name, state: 'error', record: null, keyType: null, error: e.message });
    }
  }
  if (selectors.length === 0) return { state: 'not_configured', reason: 'no DKIM selectors configured for this domain', selectors: out };
  if (out.some((s) => s.state === 'error')) return { state: 'error', reason: 'DNS did not answer for some selectors', selectors: out };
  const bad = out.filter((s) => s.state !== 'configured');
  if (bad.length > 0) return { state: 'not_configured', reason: bad.map((s) => `${s.selector}: ${s.state}`).join(', '), selectors: out };
  return { state: 'configured', reason: `a key for every selector (${out.length})`, selectors: out };
}

const asPolicy = (v: string | undefined): DmarcPolicy | null => (v === 'none' || v === 'quarantine' || v === 'reject' ? v : null);

/** The organisational domain of a name (RFC 7489 §3.2) by the Public Suffix List, or null when the name is one itself. */
export async function organizationalDomain(domain: string): Promise<string | null> {
  // The suffix list is loaded on the first DMARC check (~1 MB of heap otherwise held from the start).
  const { getDomain } = await import('tldts');
  const org = getDomain(domain, { allowPrivateDomains: true });
  return org && org !== domain ? org : null;
}

async function dmarcRecords(dns: DnsLookup, domain: string): Promise<string[]> {
  return (await dns.txt(`_dmarc.${domain}`)).filter((t) => /^v\s*=\s*DMARC1\s*(;|$)/.test(t.trim()));
}

export async function checkDmarc(dns: DnsLookup, domain: string): Promise<DmarcEvidence> {
  const org = await organizationalDomain(domain);
  const base = { records: [] as string[], source: null as DmarcEvidence['source'], organizationalDomain: org, policy: null as DmarcPolicy | null, subdomainPolicy: null as DmarcPolicy | null, pct: null as number | null, rua: [] as string[] };
  let records: string[];
  let at = domain;
  try {
    records = await dmarcRecords(dns, domain);
    if (records.length === 0 && org !== null) {
      records = await dmarcRecords(dns, org);
      at = org;
    }
  } catch (e) {
    if (e instanceof DnsUnansweredError) return { ...base, state: 'error', reason: 'DNS did not answer', error: e.message };
    throw e;
  }
  base.records = records;
  if (records.length === 0) return { ...base, state: 'not_configured', reason: `no DMARC record (TXT v=DMARC1 at _dmarc.${domain}${org ? ` or at the organisational domain's _dmarc.${org}` : ''})` };
  if (records.length > 1) return { ...base, state: 'not_configured', reason: `${records.length} DMARC records at _dmarc.${at}: receivers apply none (RFC 7489 §6.6.3)` };
  const inherited = at !== domain;
  base.source = inherited ? 'organizational' : 'domain';
  const tags = parseTags(records[0]!);
  if (!tags) return { ...base, state: 'not_configured', reason: `the DMARC record at _dmarc.${at} is not a tag list` };
  base.rua = (tags.get('rua') ?? '').split(',').map((s) => s.trim()).filter((s) => /^mailto:\S+@\S+$/i.test(s) || /^https?:\/\/\S+$/i.test(s));
  let p = asPolicy(tags.get('p')?.toLowerCase());
  if (p === null) {
    if (base.rua.length === 0) return { ...base, state: 'not_configured', reason: `no valid p= (${tags.get('p') ?? 'missing'}) at _dmarc.${at}` };
    p = 'none'; // RFC 7489 §6.6.3: an invalid or missing p with a valid rua is p=none
  }
  const sp = asPolicy(tags.get('sp')?.toLowerCase()) ?? p;
  // Inherited from the organisational domain, this domain is one of its subdomains: sp is its policy.
  base.policy = inherited ? sp : p;
  base.subdomainPolicy = sp;
  const pct = tags.get('pct');
  base.pct = pct !== undefined && /^[0-9]{1,3}$/.test(pct) && Number(pct) <= 100 ? Number(pct) : 100;
  const from = inherited ? ` (inherited from ${org}: no record at _dmarc.${domain})` : '';
  return { ...base, state: 'configured', reason: `p=${base.policy}${base.pct < 100 ? ` on ${base.pct} %` : ''}${base.rua.length ? ', aggregate reports requested' : ', no aggregate reports (rua)'}${from}` };
}

/** Every part of one domain's check. Never throws for DNS failures: they are `error` parts. */
export async function checkDomainDns(dns: DnsLookup, domain: string, selectors: readonly string[], sendingIps: readonly string[]): Promise<CheckEvidence> {
  const [spf, dkim, dmarc] = await Promise.all([checkSpf(dns, domain, sendingIps), checkDkim(dns, domain, selectors), checkDmarc(dns, domain)]);
  return { spf, dkim, dmarc, sendingIps: [...sendingIps] };
}
