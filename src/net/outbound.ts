/**
 * Outbound connections Opsdeck makes on a user's behalf: probes, webhooks,
 * Slack, Telegram, Alertmanager, SMTP and every "test" action. A user who may
 * configure a target must not be able to make Opsdeck reach what only Opsdeck
 * can reach (server-side request forgery), so every connection here:
 *
 * - resolves the host once and refuses it when ANY of its addresses is
 *   loopback, link-local (169.254.169.254, the cloud metadata service),
 *   private, unique-local, CGNAT, multicast, documentation or unspecified —
 *   unless the admin allow-list (OPSDECK_OUTBOUND_ALLOW) covers that address;
 *   IPv4 inside IPv6 (mapped, NAT64, 6to4) is judged by its IPv4 address;
 * - connects to exactly the address it checked (the socket's lookup answers
 *   with it), so a DNS answer that changes between the check and the connect
 *   (rebinding) cannot move the connection; Host, SNI and certificate checks
 *   still use the name;
 * - follows redirects itself, checking each hop like the first;
 * - caps the answer body and the total time.
 *
 * Infrastructure: imports nothing from src/modules.
 */
import * as net from 'node:net';
import { BlockList, isIP, type Socket } from 'node:net';
import * as tls from 'node:tls';
import * as http from 'node:http';
import * as https from 'node:https';
import { lookup as dnsLookup, Resolver } from 'node:dns/promises';
import { InvalidError } from '../domain/errors.ts';

/** Address ranges refused unless allow-listed, with the reason named in the error. */
const REFUSED_V4: readonly [string, number, string][] = [
  ['0.0.0.0', 8, 'unspecified ("this network")'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'carrier-grade NAT'],
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local (cloud metadata)'],
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'IETF protocol assignments'],
  ['192.0.2.0', 24, 'documentation'],
  ['192.88.99.0', 24, '6to4 relay'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'benchmarking'],
  ['198.51.100.0', 24, 'documentation'],
  ['203.0.113.0', 24, 'documentation'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'],
];
const REFUSED_V6: readonly [string, number, string][] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['100::', 64, 'discard'],
  ['2001:db8::', 32, 'documentation'],
  ['fc00::', 7, 'unique-local (private)'],
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'site-local (deprecated private)'],
  ['ff00::', 8, 'multicast'],
];

export interface OutboundAddress {
  address: string;
  family: 4 | 6;
}

/** A target Opsdeck will not connect to; `reason` says which range, `address` which address. */
export class OutboundRefusedError extends InvalidError {
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(
      'OUTBOUND_ADDRESS_REFUSED',
      `${host === address ? address : `${host} (${address})`} is a ${reason} address; Opsdeck does not connect there unless an admin allow-lists it (OPSDECK_OUTBOUND_ALLOW)`,
      [],
      { host, address, reason },
    );
  }
}

/** The peer could not be reached or answered outside the limits (DNS failure, refused, timeout, too many redirects). */
export class OutboundFailedError extends Error {
  constructor(
    readonly code: 'DNS_FAILED' | 'CONNECT_FAILED' | 'TIMEOUT' | 'TOO_MANY_REDIRECTS' | 'BAD_REDIRECT' | 'TLS_FAILED' | 'PROTOCOL_ERROR',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'OutboundFailedError';
  }
}

export type HostResolver = (host: string) => Promise<OutboundAddress[]>;

export interface OutboundOptions {
  /** Addresses or CIDR ranges the admin allows despite the refused ranges (`127.0.0.0/8`, `fd00::/8`, `10.1.2.3`). */
  allow?: readonly string[];
  /** Name resolution (default: the system resolver, every address). Tests inject one to play DNS tricks. */
  resolver?: HostResolver;
}

export interface TlsOptions {
  /** Verify the peer certificate (default true). A probe of a self-signed service turns it off and still reads the certificate. */
  rejectUnauthorized?: boolean;
  /** Extra trusted CA certificates (PEM). */
  ca?: string | readonly string[];
  /** SNI and certificate name (default: the host, when it is a name). */
  servername?: string;
}

export interface PeerCertificateInfo {
  subject: string;
  issuer: string;
  validFrom: Date;
  validTo: Date;
  /** Whether the chain and name verified (false with rejectUnauthorized=false and a self-signed certificate). */
  authorized: boolean;
  authorizationError: string | null;
  fingerprint256: string;
}

export interface FetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Whole exchange, redirects included (default 10 s). */
  timeoutMs?: number;
  /** Bytes of answer body kept; the rest is not read (default 1 MiB). */
  maxBodyBytes?: number;
  /** Redirects followed (default 5; 0 = answer the 3xx itself). Each hop is checked like the first. */
  maxRedirects?: number;
  tls?: TlsOptions;
  signal?: AbortSignal;
}

export interface FetchResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** The body was longer than maxBodyBytes and was cut there. */
  truncated: boolean;
  /** The URL that answered (after redirects). */
  url: string;
  /** The address connected to for that URL. */
  address: string;
  redirects: string[];
  /** Milliseconds from the start: name resolved, connected, TLS done, first byte, whole answer. */
  timings: { dns: number; connect: number; tls: number | null; firstByte: number; total: number };
  /** The peer certificate of an https answer. */
  certificate: PeerCertificateInfo | null;
}

export interface ConnectOptions {
  timeoutMs?: number;
  tls?: TlsOptions | boolean;
  signal?: AbortSignal;
}

export interface ConnectResult {
  socket: Socket;
  address: string;
  timings: { dns: number; connect: number; tls: number | null };
  certificate: PeerCertificateInfo | null;
}

export interface Outbound {
  /** Resolves `host` (a name or an address literal) and returns the address to connect to; OutboundRefusedError when refused. */
  resolve(host: string): Promise<OutboundAddress>;
  /** Null when `host` may be reached, else the refusal (for validating a configured target; resolves names). */
  check(host: string): Promise<OutboundRefusedError | null>;
  /** The refusal of an address literal, without resolving anything (null when permitted). */
  checkAddress(address: string): OutboundRefusedError | null;
  fetch(url: string | URL, options?: FetchOptions): Promise<FetchResult>;
  /** A TCP (or TLS) connection to host:port, pinned to the checked address. The caller ends the socket. */
  connect(host: string, port: number, options?: ConnectOptions): Promise<ConnectResult>;
  /** A DNS resolver that asks the server at host:port (the server's address checked and pinned). */
  dnsResolver(host: string, port?: number, options?: { timeoutMs?: number; tries?: number }): Promise<Resolver>;
}

function rangeList(ranges: readonly [string, number, string][], type: 'ipv4' | 'ipv6'): { list: BlockList; reasons: [BlockList, string][] } {
  const list = new BlockList();
  const reasons: [BlockList, string][] = [];
  for (const [net, bits, reason] of ranges) {
    list.addSubnet(net, bits, type);
    const one = new BlockList();
    one.addSubnet(net, bits, type);
    reasons.push([one, reason]);
  }
  return { list, reasons };
}

const V4 = rangeList(REFUSED_V4, 'ipv4');
const V6 = rangeList(REFUSED_V6, 'ipv6');

/** The IPv4 address carried inside an IPv6 one (mapped ::ffff:a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16), else null. */
export function embeddedIPv4(v6: string): string | null {
  const words = expandV6(v6);
  if (!words) return null;
  const v4 = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  const zero = (from: number, to: number) => words.slice(from, to).every((w) => w === 0);
  if (zero(0, 5) && words[5] === 0xffff) return v4(words[6]!, words[7]!); // ::ffff:0:0/96
  if (words[0] === 0x64 && words[1] === 0xff9b && zero(2, 6)) return v4(words[6]!, words[7]!); // 64:ff9b::/96
  if (words[0] === 0x2002) return v4(words[1]!, words[2]!); // 2002:AABB:CCDD::/48
  return null;
}

function expandV6(addr: string): number[] | null {
  let a = addr.split('%')[0]!;
  // A trailing dotted IPv4 part becomes two words.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (dotted) {
    const p = dotted[1]!.split('.').map(Number);
    a = a.slice(0, -dotted[1]!.length) + `${((p[0]! << 8) | p[1]!).toString(16)}:${((p[2]! << 8) | p[3]!).toString(16)}`;
  }
  const [head, tail] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined ? (tail ? tail.split(':') : []) : null;
  const words = t === null ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (words.length !== 8) return null;
  const out = words.map((w) => parseInt(w, 16));
  return out.some((w) => Number.isNaN(w)) ? null : out;
}

/** Why an address is refused (the range's name), or null when it is a public address. Ignores the allow-list. */
export function refusedRange(address: string): string | null {
  const v = isIP(address);
  if (v === 4) {
    for (const [l, reason] of V4.reasons) if (l.check(address, 'ipv4')) return reason;
    if (address === '255.255.255.255') return 'broadcast';
    return null;
  }
  if (v === 6) {
    const inner = embeddedIPv4(address);
    if (inner) return refusedRange(inner);
    const bare = address.split('%')[0]!;
    for (const [l, reason] of V6.reasons) if (l.check(bare, 'ipv6')) return reason;
    return null;
  }
  return 'malformed';
}

/** Parses the allow-list entries (address or CIDR) into a BlockList; throws on a malformed entry. */
export function allowList(entries: readonly string[]): BlockList {
  const list = new BlockList();
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    const [addr, bits, ...rest] = e.split('/');
    const v = addr ? isIP(addr) : 0;
    if (!v || rest.length || (bits !== undefined && !/^\d{1,3}$/.test(bits))) throw new Error(`not an address or CIDR range: ${e}`);
    const type = v === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) list.addAddress(addr!, type);
    else {
      const n = Number(bits);
      if (n > (v === 4 ? 32 : 128)) throw new Error(`prefix too long: ${e}`);
      list.addSubnet(addr!, n, type);
    }
  }
  return list;
}

const defaultResolver: HostResolver = async (host) => {
  const all = await dnsLookup(host, { all: true, verbatim: true });
  return all.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

function certInfo(socket: tls.TLSSocket): PeerCertificateInfo | null {
  const c = socket.getPeerCertificate();
  if (!c || !c.valid_to) return null;
  const name = (o: unknown) =>
    o && typeof o === 'object'
      ? Object.entries(o as Record<string, unknown>)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('+') : String(v)}`)
          .join(', ')
      : '';
  const err = socket.authorizationError as unknown;
  return {
    subject: name(c.subject),
    issuer: name(c.issuer),
    validFrom: new Date(c.valid_from),
    validTo: new Date(c.valid_to),
    authorized: socket.authorized,
    authorizationError: err ? String(err instanceof Error ? err.message : err) : null,
    fingerprint256: c.fingerprint256,
  };
}

function stripBrackets(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

export function createOutbound(options: OutboundOptions = {}): Outbound {
  const allowed = allowList(options.allow ?? []);
  const resolver = options.resolver ?? defaultResolver;

  function checkAddress(address: string, host = address): OutboundRefusedError | null {
    const v = isIP(address);
    if (!v) return new OutboundRefusedError(host, address, 'malformed');
    const bare = address.split('%')[0]!;
    if (allowed.check(bare, v === 4 ? 'ipv4' : 'ipv6')) return null;
    const inner = v === 6 ? embeddedIPv4(bare) : null;
    if (inner && allowed.check(inner, 'ipv4')) return null;
    const reason = refusedRange(bare);
    return reason ? new OutboundRefusedError(host, address, reason) : null;
  }

  async function resolve(hostIn: string): Promise<OutboundAddress> {
    const host = stripBrackets(hostIn);
    const literal = isIP(host);
    let addrs: OutboundAddress[];
    if (literal) addrs = [{ address: host, family: literal === 6 ? 6 : 4 }];
    else {
      try {
        addrs = await resolver(host);
      } catch (err) {
        throw new OutboundFailedError('DNS_FAILED', `cannot resolve ${host}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
      }
      if (addrs.length === 0) throw new OutboundFailedError('DNS_FAILED', `${host} has no address`);
    }
    // Every address must pass: a name that also points inside must not be usable by luck of the order.
    for (const a of addrs) {
      const refused = checkAddress(a.address, host);
      if (refused) throw refused;
    }
    return addrs[0]!;
  }

  async function check(host: string): Promise<OutboundRefusedError | null> {
    try {
      await resolve(host);
      return null;
    } catch (err) {
      if (err instanceof OutboundRefusedError) return err;
      throw err;
    }
  }

  /** A lookup function that answers with the pinned address whatever the name (Node calls it with all: true or not). */
  function pinnedLookup(pinned: OutboundAddress) {
    return (_hostname: string, opts: { all?: boolean }, cb: (...args: unknown[]) => void) => {
      if (opts?.all) cb(null, [{ address: pinned.address, family: pinned.family }]);
      else cb(null, pinned.address, pinned.family);
    };
  }

  async function fetchOnce(
    url: URL,
    opts: FetchOptions,
    t0: number,
    signal: AbortSignal,
  ): Promise<Omit<FetchResult, 'redirects' | 'url'>> {
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new OutboundFailedError('PROTOCOL_ERROR', `unsupported scheme ${url.protocol}`);
    const host = stripBrackets(url.hostname);
    const pinned = await resolve(host);
    const tDns = performance.now() - t0;
    const isHttps = url.protocol === 'https:';
    const maxBody = opts.maxBodyBytes ?? 1024 * 1024;
    return new Promise((resolveP, rejectP) => {
      let tConnect = 0;
      let tTls: number | null = null;
      let certificate: PeerCertificateInfo | null = null;
      const reqOpts: https.RequestOptions = {
        method: opts.method ?? 'GET',
        headers: { 'user-agent': 'Opsdeck', ...(opts.headers ?? {}) },
        lookup: pinnedLookup(pinned) as unknown as net.LookupFunction,
        signal,
        agent: false,
      };
      if (isHttps) {
        reqOpts.rejectUnauthorized = opts.tls?.rejectUnauthorized ?? true;
        if (opts.tls?.ca) reqOpts.ca = opts.tls.ca as string | string[];
        const sni = opts.tls?.servername ?? (isIP(host) ? undefined : host);
        if (sni) reqOpts.servername = sni;
      }
      const req = (isHttps ? https : http).request(url, reqOpts, (res) => {
        const tFirst = performance.now() - t0;
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        const finish = () =>
          resolveP({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            truncated,
            address: pinned.address,
            timings: { dns: tDns, connect: tConnect, tls: tTls, firstByte: tFirst, total: performance.now() - t0 },
            certificate,
          });
        res.on('data', (c: Buffer) => {
          if (truncated) return;
          if (size + c.length > maxBody) {
            chunks.push(c.subarray(0, maxBody - size));
            size = maxBody;
            truncated = true;
            finish();
            res.destroy();
            return;
          }
          chunks.push(c);
          size += c.length;
        });
        res.on('end', () => {
          if (!truncated) finish();
        });
        res.on('error', (err) => {
          if (!truncated) rejectP(mapError(err, url));
        });
      });
      req.on('socket', (s) => {
        s.once('connect', () => {
          tConnect = performance.now() - t0;
        });
        s.once('secureConnect', () => {
          tTls = performance.now() - t0;
          certificate = certInfo(s as tls.TLSSocket);
        });
      });
      req.on('error', (err) => rejectP(mapError(err, url)));
      if (opts.body !== undefined) req.end(opts.body);
      else req.end();
    });
  }

  function mapError(err: unknown, url: URL): Error {
    if (err instanceof OutboundRefusedError || err instanceof OutboundFailedError) return err;
    const e = err as NodeJS.ErrnoException;
    if (e.name === 'AbortError' || e.code === 'ABORT_ERR') return new OutboundFailedError('TIMEOUT', `${url.host}: no answer in time`, { cause: err });
    if (e.code && /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(e.code))
      return new OutboundFailedError('TLS_FAILED', `${url.host}: TLS failed: ${e.code}`, { cause: err });
    if (e.code === 'HPE_INVALID_CONSTANT' || e.code?.startsWith('HPE_')) return new OutboundFailedError('PROTOCOL_ERROR', `${url.host}: not HTTP: ${e.message}`, { cause: err });
    return new OutboundFailedError('CONNECT_FAILED', `${url.host}: ${e.code ?? e.message}`, { cause: err });
  }

  async function fetchChecked(input: string | URL, opts: FetchOptions = {}): Promise<FetchResult> {
    let url = new URL(input);
    const timeout = AbortSignal.timeout(opts.timeoutMs ?? 10_000);
    const signal = opts.signal ? AbortSignal.any([opts.signal, timeout]) : timeout;
    const t0 = performance.now();
    const redirects: string[] = [];
    const maxRedirects = opts.maxRedirects ?? 5;
    let method = opts.method;
    let body = opts.body;
    for (;;) {
      const r = await fetchOnce(url, { ...opts, method, body }, t0, signal);
      const location = r.headers.location;
      if (r.status >= 300 && r.status < 400 && location && maxRedirects > 0) {
        if (redirects.length >= maxRedirects) throw new OutboundFailedError('TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects from ${String(input)}`);
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new OutboundFailedError('BAD_REDIRECT', `${url.host} redirected to an invalid location`);
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') throw new OutboundFailedError('BAD_REDIRECT', `${url.host} redirected to ${next.protocol}`);
        redirects.push(next.toString());
        // 303, and 301/302 after POST, become GET without a body (as browsers and fetch do).
        if (r.status === 303 || ((r.status === 301 || r.status === 302) && method && method !== 'GET' && method !== 'HEAD')) {
          method = 'GET';
          body = undefined;
        }
        url = next;
        continue;
      }
      return { ...r, url: url.toString(), redirects };
    }
  }

  async function connect(hostIn: string, port: number, options: ConnectOptions = {}): Promise<ConnectResult> {
    const host = stripBrackets(hostIn);
    const t0 = performance.now();
    const pinned = await resolve(host);
    const tDns = performance.now() - t0;
    const timeoutMs = options.timeoutMs ?? 10_000;
    const tlsOpts: TlsOptions | null = options.tls === true ? {} : options.tls ? options.tls : null;
    return new Promise((resolveP, rejectP) => {
      let tConnect = 0;
      let done = false;
      const fail = (err: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        socket.destroy();
        rejectP(err);
      };
      const timer = setTimeout(() => fail(new OutboundFailedError('TIMEOUT', `${host}:${port}: no connection in ${timeoutMs} ms`)), timeoutMs);
      const onAbort = () => fail(new OutboundFailedError('TIMEOUT', `${host}:${port}: aborted`));
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let socket: Socket;
      if (tlsOpts) {
        const sni = tlsOpts.servername ?? (isIP(host) ? undefined : host);
        const s = tls.connect({
          host: pinned.address,
          port,
          ...(sni ? { servername: sni } : {}),
          rejectUnauthorized: tlsOpts.rejectUnauthorized ?? true,
          ...(tlsOpts.ca ? { ca: tlsOpts.ca as string | string[] } : {}),
          // Certificate names are checked against the name the user gave, not the address.
          checkServerIdentity: (_h, cert) => tls.checkServerIdentity(sni ?? host, cert),
        });
        socket = s;
        s.once('connect', () => {
          tConnect = performance.now() - t0;
        });
        s.once('secureConnect', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolveP({ socket: s, address: pinned.address, timings: { dns: tDns, connect: tConnect, tls: performance.now() - t0 }, certificate: certInfo(s) });
        });
      } else {
        socket = net.connect({ host: pinned.address, port });
        socket.once('connect', () => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolveP({ socket, address: pinned.address, timings: { dns: tDns, connect: performance.now() - t0, tls: null }, certificate: null });
        });
      }
      socket.once('error', (err: NodeJS.ErrnoException) => {
        const code = err.code ?? '';
        const tlsFailure = /^(ERR_TLS|CERT_|UNABLE_TO|DEPTH_ZERO|SELF_SIGNED|ERR_SSL|ERR_SOCKET)/.test(code) || err.message.includes('certificate');
        fail(new OutboundFailedError(tlsFailure ? 'TLS_FAILED' : 'CONNECT_FAILED', `${host}:${port}: ${code || err.message}`, { cause: err }));
      });
    });
  }

  async function dnsResolver(host: string, port = 53, opts: { timeoutMs?: number; tries?: number } = {}): Promise<Resolver> {
    const pinned = await resolve(host);
    const r = new Resolver({ timeout: opts.timeoutMs ?? 5000, tries: opts.tries ?? 1 });
    r.setServers([pinned.family === 6 ? `[${pinned.address}]:${port}` : `${pinned.address}:${port}`]);
    return r;
  }

  return {
    resolve,
    check,
    checkAddress: (address) => checkAddress(stripBrackets(address)),
    fetch: fetchChecked,
    connect,
    dnsResolver,
  };
}
