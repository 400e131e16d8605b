/**
 * The network probes of monitored services, all through src/net/outbound.ts
 * (addresses checked against the admin allow-list, pinned, redirects
 * re-checked, bodies capped): http, tcp, tls, dns. A probe never throws:
 * every failure — a refused address included — is a `down` result whose
 * error says what happened. Heartbeat monitors have no network probe (their
 * result is decided from the pings; service.ts).
 */
import type { Clock } from '../../domain/clock.ts';
import { OutboundFailedError, OutboundRefusedError, type Outbound, type PeerCertificateInfo } from '../../net/outbound.ts';
import type { MonitorRow, ServiceStatus } from './schema.ts';
import type { ProbeResult } from './service.ts';
import type { ProbeExecutor } from './scheduler.ts';
import { jsonAt, jsonText, parseAcceptedStatuses, parseHostPort, parseJsonPath, statusAccepted } from './targets.ts';

/** Bytes of an HTTP answer body read for the keyword and JSON checks; the rest is not read. */
export const HTTP_BODY_LIMIT = 1024 * 1024;
const USER_AGENT = 'Opsdeck-Probe/1';
const DAY_MS = 86_400_000;

const round = (ms: number): number => Math.max(0, Math.round(ms));

function failure(err: unknown, latencyMs: number | null, details: Record<string, unknown> = {}): ProbeResult {
  if (err instanceof OutboundRefusedError) {
    return { status: 'down', latencyMs: null, error: err.message, details: { ...details, refused: true, code: err.code, address: err.address, reason: err.reason } };
  }
  if (err instanceof OutboundFailedError) return { status: 'down', latencyMs, error: err.message, details: { ...details, code: err.code } };
  const e = err as NodeJS.ErrnoException;
  return { status: 'down', latencyMs, error: e?.message ?? String(err), details: { ...details, ...(e?.code ? { code: e.code } : {}) } };
}

/** The certificate part of a result: days left, and what they mean against the monitor's minimum. */
function certificateVerdict(cert: PeerCertificateInfo, m: MonitorRow, now: Date): { status: ServiceStatus; error: string | null; details: Record<string, unknown> } {
  const daysLeft = Math.floor((cert.validTo.getTime() - now.getTime()) / DAY_MS);
  const details = {
    subject: cert.subject,
    issuer: cert.issuer,
    validFrom: cert.validFrom.toISOString(),
    validTo: cert.validTo.toISOString(),
    daysLeft,
    authorized: cert.authorized,
    authorizationError: cert.authorizationError,
    fingerprint256: cert.fingerprint256,
  };
  if (cert.validTo.getTime() <= now.getTime()) return { status: 'down', error: `the certificate expired on ${cert.validTo.toISOString()}`, details };
  if (cert.validFrom.getTime() > now.getTime()) return { status: 'down', error: `the certificate is not valid before ${cert.validFrom.toISOString()}`, details };
  if (m.cert_min_days !== null && daysLeft < m.cert_min_days)
    return { status: 'degraded', error: `the certificate expires in ${daysLeft} days (${cert.validTo.toISOString()}), fewer than the ${m.cert_min_days} expected`, details };
  return { status: 'healthy', error: null, details };
}

/** Worse of two statuses (down > degraded > healthy). */
const worse = (a: ServiceStatus, b: ServiceStatus): ServiceStatus => (a === 'down' || b === 'down' ? 'down' : a === 'degraded' || b === 'degraded' ? 'degraded' : 'healthy');

/** Degraded when the monitor sets a latency limit and the probe took longer. */
function latencyVerdict(m: MonitorRow, latencyMs: number): { status: ServiceStatus; error: string | null } {
  if (m.degraded_above_ms !== null && latencyMs > m.degraded_above_ms) return { status: 'degraded', error: `answered in ${latencyMs} ms, above the ${m.degraded_above_ms} ms expected` };
  return { status: 'healthy', error: null };
}

async function probeHttp(out: Outbound, m: MonitorRow, now: Date, signal?: AbortSignal): Promise<ProbeResult> {
  let r;
  try {
    r = await out.fetch(m.target, {
      method: 'GET',
      headers: { 'user-agent': USER_AGENT, accept: '*/*' },
      timeoutMs: m.timeout_ms,
      maxBodyBytes: HTTP_BODY_LIMIT,
      maxRedirects: m.max_redirects,
      tls: { rejectUnauthorized: !m.tls_allow_self_signed },
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    return failure(err, null, { url: m.target });
  }
  const latencyMs = round(r.timings.total);
  const details: Record<string, unknown> = {
    statusCode: r.status,
    url: r.url,
    address: r.address,
    redirects: r.redirects,
    bodyBytes: r.body.length,
    bodyTruncated: r.truncated,
    timings: Object.fromEntries(Object.entries(r.timings).map(([k, v]) => [k, v === null ? null : round(v)])),
  };
  const down = (error: string): ProbeResult => ({ status: 'down', latencyMs, error, details });
  const accepted = parseAcceptedStatuses(m.accepted_statuses) ?? [[200, 299]];
  if (!statusAccepted(r.status, accepted)) return down(`HTTP status ${r.status}, expected ${m.accepted_statuses}`);
  const text = r.body.toString('utf8');
  if (m.body_keyword !== null && !text.includes(m.body_keyword)) return down(`the body does not contain ${JSON.stringify(m.body_keyword)}${r.truncated ? ` (in its first ${HTTP_BODY_LIMIT} bytes)` : ''}`);
  if (m.json_path !== null && m.json_value !== null) {
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      return down(`the body is not JSON${r.truncated ? ` (cut at ${HTTP_BODY_LIMIT} bytes)` : ''}, so ${m.json_path} cannot be read`);
    }
    const v = jsonAt(doc, parseJsonPath(m.json_path) ?? []);
    details.jsonValue = v === undefined ? null : jsonText(v);
    if (v === undefined) return down(`${m.json_path} is missing from the body, expected ${JSON.stringify(m.json_value)}`);
    if (jsonText(v) !== m.json_value) return down(`${m.json_path} is ${JSON.stringify(jsonText(v))}, expected ${JSON.stringify(m.json_value)}`);
  }
  let status: ServiceStatus = 'healthy';
  const errors: string[] = [];
  if (r.certificate) {
    const c = certificateVerdict(r.certificate, m, now);
    details.certificate = c.details;
    status = worse(status, c.status);
    if (c.error) errors.push(c.error);
  }
  const l = latencyVerdict(m, latencyMs);
  status = worse(status, l.status);
  if (l.error) errors.push(l.error);
  return { status, latencyMs, error: errors.length ? errors.join('; ') : null, details };
}

async function probeConnect(out: Outbound, m: MonitorRow, now: Date, tls: boolean, signal?: AbortSignal): Promise<ProbeResult> {
  const hp = parseHostPort(m.target, tls ? 443 : undefined);
  if (!hp) return { status: 'down', latencyMs: null, error: `the target ${JSON.stringify(m.target)} is not host:port`, details: {} };
  let c;
  try {
    c = await out.connect(hp.host, hp.port, { timeoutMs: m.timeout_ms, ...(tls ? { tls: { rejectUnauthorized: !m.tls_allow_self_signed } } : {}), ...(signal ? { signal } : {}) });
  } catch (err) {
    return failure(err, null, { host: hp.host, port: hp.port });
  }
  c.socket.destroy();
  const latencyMs = round(c.timings.tls ?? c.timings.connect);
  const details: Record<string, unknown> = { host: hp.host, port: hp.port, address: c.address, timings: { dns: round(c.timings.dns), connect: round(c.timings.connect), tls: c.timings.tls === null ? null : round(c.timings.tls) } };
  let status: ServiceStatus = 'healthy';
  const errors: string[] = [];
  if (tls) {
    if (!c.certificate) return { status: 'down', latencyMs, error: 'the peer sent no certificate', details };
    const v = certificateVerdict(c.certificate, m, now);
    details.certificate = v.details;
    status = worse(status, v.status);
    if (v.error) errors.push(v.error);
  }
  const l = latencyVerdict(m, latencyMs);
  status = worse(status, l.status);
  if (l.error) errors.push(l.error);
  return { status, latencyMs, error: errors.length ? errors.join('; ') : null, details };
}

/** Answers of one record type as text: A/AAAA addresses, CNAME/NS names, MX `preference exchange`, TXT strings joined. */
async function lookup(resolver: Awaited<ReturnType<Outbound['dnsResolver']>>, name: string, type: string): Promise<string[]> {
  switch (type) {
    case 'A':
      return resolver.resolve4(name);
    case 'AAAA':
      return resolver.resolve6(name);
    case 'CNAME':
      return resolver.resolveCname(name);
    case 'NS':
      return resolver.resolveNs(name);
    case 'MX':
      return (await resolver.resolveMx(name)).map((r) => `${r.priority} ${r.exchange}`);
    case 'TXT':
      return (await resolver.resolveTxt(name)).map((parts) => parts.join(''));
    default:
      throw new Error(`unsupported record type ${type}`);
  }
}

const dnsNorm = (s: string): string => s.trim().toLowerCase().replace(/\.$/, '');

/** Whether `answer` is the expected one: equal ignoring case and a final dot; an MX answer also matches its exchange alone. */
export function dnsAnswerMatches(type: string, answer: string, expected: string): boolean {
  if (type === 'TXT') return answer === expected;
  const a = dnsNorm(answer);
  const e = dnsNorm(expected);
  if (a === e) return true;
  return type === 'MX' && a.split(' ')[1] === e;
}

async function probeDns(out: Outbound, m: MonitorRow, signal?: AbortSignal): Promise<ProbeResult> {
  const type = m.dns_record_type ?? 'A';
  const server = parseHostPort(m.dns_server ?? '', 53);
  if (!server) return { status: 'down', latencyMs: null, error: `the DNS server ${JSON.stringify(m.dns_server)} is not host or host:port`, details: {} };
  const details: Record<string, unknown> = { server: `${server.host}:${server.port}`, recordType: type, name: m.target };
  let resolver;
  try {
    resolver = await out.dnsResolver(server.host, server.port, { timeoutMs: m.timeout_ms, tries: 1 });
  } catch (err) {
    return failure(err, null, details);
  }
  const onAbort = () => resolver.cancel();
  signal?.addEventListener('abort', onAbort, { once: true });
  const t0 = performance.now();
  let answers: string[];
  try {
    answers = await lookup(resolver, m.target, type);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const latencyMs = round(performance.now() - t0);
    const what = e.code === 'ENOTFOUND' ? `${m.target} does not exist (NXDOMAIN)` : e.code === 'ENODATA' ? `${m.target} has no ${type} record` : e.code === 'ETIMEOUT' ? `no answer from ${details.server} in ${m.timeout_ms} ms` : e.message;
    return { status: 'down', latencyMs, error: what, details: { ...details, code: e.code ?? null } };
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
  const latencyMs = round(performance.now() - t0);
  details.answers = answers;
  if (m.dns_expected !== null && !answers.some((a) => dnsAnswerMatches(type, a, m.dns_expected!)))
    return { status: 'down', latencyMs, error: `${type} ${m.target} answered ${JSON.stringify(answers)}, expected ${JSON.stringify(m.dns_expected)}`, details };
  if (answers.length === 0) return { status: 'down', latencyMs, error: `${m.target} has no ${type} record`, details };
  const l = latencyVerdict(m, latencyMs);
  return { status: l.status, latencyMs, error: l.error, details };
}

/** The probe executor of the scheduler: one network probe per monitor kind, through `outbound`; the clock decides certificate days. */
export function createProbeExecutor(out: Outbound, clock: Clock): ProbeExecutor {
  return async (m, signal) => {
    const now = clock.now();
    try {
      switch (m.kind) {
        case 'http':
          return await probeHttp(out, m, now, signal);
        case 'tcp':
          return await probeConnect(out, m, now, false, signal);
        case 'tls':
          return await probeConnect(out, m, now, true, signal);
        case 'dns':
          return await probeDns(out, m, signal);
        case 'heartbeat':
          return { status: 'down', latencyMs: null, error: 'heartbeat monitors are decided from their pings, not probed', details: {} };
      }
    } catch (err) {
      return failure(err, null);
    }
  };
}
