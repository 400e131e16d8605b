/**
 * Shared pieces of the mail pages: the filters kept in the page URL and their client-side
 * rules, the outcome columns of the analytics answers, the empty-state hint and the mail
 * sub-navigation. Fields and their errors are components/form.tsx's (look: `mail-field`).
 */
import type { ComponentChildren } from 'preact';
import { formatNumber, formatPercent } from '../../format.ts';
import { Link } from '../../link.tsx';
import type { TimeView } from '../../time.ts';
import './mail.css';

/** The outcome counts and rates every analytics answer carries (docs/mail.md "Outcomes and rates"): the service's own type. */
export type { Outcomes } from '../../../../src/modules/mail-analytics/service.ts';
import type { Outcomes } from '../../../../src/modules/mail-analytics/service.ts';

/** The analytics filters the pages offer, with the client-side rule of each (the API's rules, for a message before sending). */
export const FILTERS = [
  { key: 'fromDomain', label: 'Sender domain', placeholder: 'shop.example' },
  { key: 'toDomain', label: 'Recipient domain', placeholder: 'gmail.com' },
  { key: 'mtaNode', label: 'Node', placeholder: 'mx-1' },
  { key: 'sendingIp', label: 'Sending IP', placeholder: '192.0.2.10' },
] as const;
export type FilterKey = (typeof FILTERS)[number]['key'];

const HOST = /^[A-Za-z0-9_.-]{1,253}$/;
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;

export function isIp(v: string): boolean {
  return IPV4.test(v) || (v.includes(':') && IPV6.test(v));
}
export function isNodeId(v: string): boolean {
  return NODE_ID.test(v);
}
/** A host name of two or more labels (the sending-domain rule). */
export function isDomain(v: string): boolean {
  return v.length <= 253 && /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+(?=[a-z0-9-]*[a-z])[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(v.toLowerCase().replace(/\.$/, ''));
}

/** The message for a filter value that the API would refuse, or null. */
export function filterProblem(key: FilterKey, v: string): string | null {
  if (!v) return null;
  if (key === 'sendingIp') return isIp(v) ? null : 'an IPv4 or IPv6 address, e.g. 192.0.2.10';
  if (key === 'mtaNode') return isNodeId(v) ? null : 'a node id: letters, digits and . _ : @ - (starting with a letter or digit)';
  return HOST.test(v) ? null : 'a host name: letters, digits, dots, hyphens and underscores';
}

/** The filters of the page URL, as query parameters of an analytics call. */
export function filtersOf(query: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of FILTERS) {
    const v = query.get(f.key);
    if (v) out[f.key] = v;
  }
  return out;
}

/** A query string of the time range and the given parameters (empty values left out). */
export function qs(time: Pick<TimeView, 'from' | 'to'> | null, params: Record<string, string | number | null | undefined> = {}): string {
  const q = new URLSearchParams();
  if (time) {
    q.set('from', time.from.toISOString());
    q.set('to', time.to.toISOString());
  }
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v));
  return q.toString();
}

/** Rates of the API are fractions (0–1); shown in percent. */
export const pct = (v: number | null | undefined, digits = 1) => formatPercent(v === null || v === undefined ? null : v * 100, digits);

/** The mail pages' tabs. */
export function MailNav({ current }: { current: 'delivery' | 'destinations' | 'trace' | 'ips' | 'pools' | 'domains' }) {
  const tabs = [
    ['delivery', '/mail', 'Delivery'],
    ['destinations', '/mail/destinations', 'Destinations'],
    ['trace', '/mail/trace', 'Message trace'],
    ['ips', '/mail/ips', 'Sending IPs'],
    ['pools', '/mail/pools', 'IP pools'],
    ['domains', '/mail/domains', 'Domains'],
  ] as const;
  // The analytics filters follow between the delivery and destination pages.
  const f = qs(null, filtersOf(new URLSearchParams(window.location.search)));
  return (
    <nav class="mail-nav" aria-label="Mail">
      {tabs.map(([k, href, label]) => <Link href={f && (k === 'delivery' || k === 'destinations') ? `${href}?${f}` : href} class={k === current ? 'active' : ''}>{label}</Link>)}
    </nav>
  );
}

/** How mail events get into Opsdeck: shown where a mail page has nothing to show. */
export function MailEventsHint() {
  const origin = window.location.origin;
  return (
    <div class="empty-state" data-empty="mail">
      <p>No email events in this range. Events come from the ZoneMTA plugin (<code>POST /api/v1/events/ingest</code>), the GELF receiver, or any sender with an API key that has the <code>ingest</code> scope (docs/integrations.md, docs/mail.md):</p>
      <pre>{`curl -s -X POST ${origin}/api/v1/events/email -H "authorization: Bearer odk_…" \\
  -H 'content-type: application/json' \\
  -d '[{"eventType":"delivered","messageId":"<a1@shop.example>","mtaNode":"mx-1",
        "fromDomain":"shop.example","toDomain":"gmail.com","sendingIp":"192.0.2.10",
        "statusCode":250,"statusMessage":"250 2.0.0 OK"}]'`}</pre>
    </div>
  );
}

/** Counts and rates of one row of an analytics answer, as table cells (in the order of OUTCOME_HEADERS). */
export function OutcomeCells({ o }: { o: Outcomes }) {
  return (
    <>
      <td class="num" data-col="events">{formatNumber(o.events)}</td>
      <td class="num" data-col="delivered">{formatNumber(o.delivered)}</td>
      <td class="num" data-col="bounced">{formatNumber(o.bounced)}</td>
      <td class="num" data-col="deferred">{formatNumber(o.deferred)}</td>
      <td class="num" data-col="rejected">{formatNumber(o.rejected)}</td>
      <td class="num" data-col="deliveredRate">{pct(o.deliveredRate)}</td>
      <td class={`num${(o.bouncedRate ?? 0) > 0.05 ? ' bad' : ''}`} data-col="bouncedRate">{pct(o.bouncedRate)}</td>
    </>
  );
}
export const OUTCOME_HEADERS = [
  ['events', 'Events'],
  ['delivered', 'Delivered'],
  ['bounced', 'Bounced'],
  ['deferred', 'Deferred'],
  ['rejected', 'Rejected'],
  [null, 'Delivered %'],
  ['bounceRate', 'Bounce %'],
] as const;

/** Only http(s) links from stored data become links (a stored `javascript:` URL stays text). */
export function SafeLink({ href, children }: { href: string | null | undefined; children: ComponentChildren }) {
  if (!href || !/^https?:\/\//i.test(href)) return <>{children}</>;
  return <a href={href} target="_blank" rel="noopener noreferrer">{children}</a>;
}

export function Stat(props: { label: string; value: string; sub?: string | undefined; tone?: 'ok' | 'warn' | 'bad' | undefined }) {
  return (
    <div class={`stat ${props.tone ?? ''}`} data-stat={props.label}>
      <span class="label">{props.label}</span>
      <span class="value">{props.value}</span>
      {props.sub && <span class="sub">{props.sub}</span>}
    </div>
  );
}
