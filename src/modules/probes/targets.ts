/**
 * What a monitor's target and expectations must look like for its kind, and
 * the small parsers the probes share (host:port, accepted status lists, JSON
 * paths). Framework-free: the service turns the issues into InvalidError.
 */
import { isIP } from 'node:net';
import type { FieldIssue } from '../../domain/errors.ts';
import type { MonitorKind } from './schema.ts';

const HOST_LABEL = /^(?!-)[a-z0-9_-]{1,63}(?<!-)$/i;

/** A DNS host name (letters, digits, `-`, `_`; labels of 1–63; at most 253) or an IP address. */
export function isHost(host: string): boolean {
  if (isIP(host)) return true;
  const h = host.endsWith('.') ? host.slice(0, -1) : host;
  if (h.length === 0 || h.length > 253) return false;
  return h.split('.').every((l) => HOST_LABEL.test(l));
}

/** `host:port`, `[v6]:port`, or `host` alone when a default port is given. */
export function parseHostPort(s: string, defaultPort?: number): { host: string; port: number } | null {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (isIP(host) !== 6) return null;
  } else {
    const i = s.lastIndexOf(':');
    if (i >= 0 && s.indexOf(':') !== i) return null; // a bare IPv6 address needs brackets
    host = i >= 0 ? s.slice(0, i) : s;
    portText = i >= 0 ? s.slice(i + 1) : undefined;
    if (!isHost(host)) return null;
  }
  if (portText === undefined) return defaultPort === undefined ? null : { host, port: defaultPort };
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  return port >= 1 && port <= 65535 ? { host, port } : null;
}

/** An http(s) URL with a host. */
export function parseHttpUrl(s: string): URL | null {
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return null;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return null;
  const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
  return isHost(host) ? u : null;
}

/** `200-299,301,404` → ranges; null when malformed. */
export function parseAcceptedStatuses(s: string): [number, number][] | null {
  const out: [number, number][] = [];
  for (const part of s.split(',').map((p) => p.trim())) {
    const m = /^([1-5][0-9]{2})(?:-([1-5][0-9]{2}))?$/.exec(part);
    if (!m) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return null;
    out.push([lo, hi]);
  }
  return out.length ? out : null;
}

export function statusAccepted(status: number, ranges: readonly [number, number][]): boolean {
  return ranges.some(([lo, hi]) => status >= lo && status <= hi);
}

/**
 * A JSON path of the form `$.a.b[0].c` (or `a.b[0].c`): property names and
 * array indexes only, like Gatus' `[BODY].a.b[0].c`. Returns the steps, or
 * null when malformed.
 */
export function parseJsonPath(path: string): (string | number)[] | null {
  let p = path.trim();
  if (p.startsWith('$')) p = p.slice(1);
  const steps: (string | number)[] = [];
  const re = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\["([^"]*)"\]/y;
  if (p && !p.startsWith('.') && !p.startsWith('[')) p = `.${p}`;
  let i = 0;
  while (i < p.length) {
    re.lastIndex = i;
    const m = re.exec(p);
    if (!m) return null;
    steps.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : m[3]!));
    i = re.lastIndex;
  }
  return steps.length ? steps : null;
}

/** The value at `steps` in `doc`, or undefined when a step is missing. */
export function jsonAt(doc: unknown, steps: readonly (string | number)[]): unknown {
  let cur: unknown = doc;
  for (const s of steps) {
    if (typeof s === 'number') {
      if (!Array.isArray(cur) || s >= cur.length) return undefined;
      cur = cur[s];
    } else {
      if (cur === null || typeof cur !== 'object' || Array.isArray(cur) || !Object.hasOwn(cur, s)) return undefined;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}

/** The text a JSON value is compared as: strings as they are, everything else as JSON. */
export const jsonText = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

export interface TargetRules {
  kind: MonitorKind;
  target: string;
  acceptedStatuses?: string | undefined;
  jsonPath?: string | null | undefined;
  jsonValue?: string | null | undefined;
  dnsRecordType?: string | null | undefined;
  dnsServer?: string | null | undefined;
  intervalSeconds: number;
  timeoutMs: number;
}

/** What is wrong with a monitor's target and expectations for its kind (empty: nothing). */
export function targetIssues(m: TargetRules): FieldIssue[] {
  const issues: FieldIssue[] = [];
  switch (m.kind) {
    case 'http':
      if (!parseHttpUrl(m.target)) issues.push({ path: 'target', message: 'an http monitor needs an absolute http:// or https:// URL with a host' });
      break;
    case 'tcp':
      if (!parseHostPort(m.target)) issues.push({ path: 'target', message: 'a tcp monitor needs host:port (IPv6 as [address]:port)' });
      break;
    case 'tls':
      if (!parseHostPort(m.target, 443)) issues.push({ path: 'target', message: 'a tls monitor needs host or host:port (port 443 when omitted)' });
      break;
    case 'dns':
      if (!isHost(m.target) || isIP(m.target)) issues.push({ path: 'target', message: 'a dns monitor needs the host name to look up' });
      if (!m.dnsRecordType) issues.push({ path: 'dnsRecordType', message: 'a dns monitor needs the record type to ask for' });
      if (!m.dnsServer) issues.push({ path: 'dnsServer', message: 'a dns monitor needs the DNS server to ask (host or host:port)' });
      else if (!parseHostPort(m.dnsServer, 53)) issues.push({ path: 'dnsServer', message: 'the DNS server must be host or host:port (port 53 when omitted)' });
      break;
    case 'heartbeat':
      break;
  }
  if (m.kind !== 'dns') {
    if (m.dnsRecordType) issues.push({ path: 'dnsRecordType', message: 'only dns monitors ask for a record type' });
    if (m.dnsServer) issues.push({ path: 'dnsServer', message: 'only dns monitors ask a DNS server' });
  }
  if (m.acceptedStatuses !== undefined && !parseAcceptedStatuses(m.acceptedStatuses))
    issues.push({ path: 'acceptedStatuses', message: 'status codes and ranges separated by commas, e.g. 200-299,301' });
  if ((m.jsonPath == null) !== (m.jsonValue == null)) issues.push({ path: m.jsonPath == null ? 'jsonPath' : 'jsonValue', message: 'jsonPath and jsonValue go together' });
  if (m.jsonPath != null && !parseJsonPath(m.jsonPath)) issues.push({ path: 'jsonPath', message: 'a path such as $.status or $.checks[0].state' });
  if (m.kind !== 'heartbeat' && m.timeoutMs > m.intervalSeconds * 1000) issues.push({ path: 'timeoutMs', message: 'the timeout must not be longer than the interval' });
  return issues;
}
