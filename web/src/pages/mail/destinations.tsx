/**
 * Destinations (`/mail/destinations`): recipient domains with their rates and p95 delivery
 * time, and the MX hosts; one domain (`/mail/destinations/:domain`): its SMTP reply codes,
 * MX hosts and sending IPs. The time range and the analytics filters of the URL apply.
 */
import { api } from '../../api.ts';
import { useData } from '../../data.ts';
import { formatNumber } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import { filtersOf, MailEventsHint, MailNav, OUTCOME_HEADERS, OutcomeCells, pct, qs, Stat, type Outcomes } from './common.tsx';

type Row = Outcomes & { p95DeliveryMs: number | null };
interface ListAnswer {
  total: number;
  items: (Row & { toDomain: string })[];
  rollup: string;
}
interface MxAnswer {
  items: (Row & { mxHost: string })[];
}
interface DomainAnswer {
  toDomain: string;
  summary: Row;
  byStatusCode: (Row & { statusCode: number | null })[];
  byMxHost: (Row & { mxHost: string | null })[];
  bySendingIp: (Row & { sendingIp: string | null })[];
}

const SORTS = ['events', 'delivered', 'bounced', 'deferred', 'rejected', 'bounceRate'];
const ms = (v: number | null) => (v === null ? '–' : v >= 10_000 ? `${formatNumber(v / 1000, 1)} s` : `${formatNumber(v)} ms`);

function Table(props: { name: string; label: string; rows: (Row & { key: string | null; href?: string | undefined })[]; sort?: string; onSort?: (key: string) => void; empty: string }) {
  return (
    <div class="table-wrap">
      <table class="table" data-table={props.name}>
        <thead>
          <tr>
            <th>{props.label}</th>
            {OUTCOME_HEADERS.map(([key, label]) => (
              <th class="num" aria-sort={key && key === props.sort ? 'descending' : undefined}>
                {key && props.onSort ? <button type="button" class="sort" data-sort={key} onClick={() => props.onSort!(key)}>{label}{key === props.sort ? ' ▼' : ''}</button> : label}
              </th>
            ))}
            <th class="num">p95 delivery</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 && <tr><td colSpan={9} class="hint">{props.empty}</td></tr>}
          {props.rows.map((r) => (
            <tr data-key={r.key ?? '(none)'}>
              <td>{r.key === null ? <span class="hint">none</span> : r.href ? <Link href={r.href}>{r.key}</Link> : r.key}</td>
              <OutcomeCells o={r} />
              <td class="num" data-col="p95">{ms(r.p95DeliveryMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DestinationsPage({ time, query }: PageProps) {
  const filters = filtersOf(query);
  const sort = SORTS.includes(query.get('sort') ?? '') ? query.get('sort')! : 'events';
  const deps = [time.from.getTime(), time.to.getTime(), JSON.stringify(filters)];
  const list = useData((signal) => api<ListAnswer>(`/api/v1/destinations?${qs(time, { sort, limit: 200, ...filters })}`, { signal }), [...deps, sort]);
  // MX hosts read raw events beyond their rollups' filters: at most 31 days.
  const mx = useData((signal) => api<MxAnswer>(`/api/v1/destinations/mx-hosts?${qs(time, { limit: 100, ...filters })}`, { signal }), deps);
  return (
    <section class="page mail destinations">
      <h1>Destinations</h1>
      <MailNav current="destinations" />
      {Object.keys(filters).length > 0 && <p class="notice">Filtered: {Object.entries(filters).map(([k, v]) => `${k} = ${v}`).join(', ')} <button type="button" class="link" onClick={() => setQuery({ fromDomain: null, toDomain: null, mtaNode: null, sendingIp: null })}>clear</button></p>}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.items.length === 0 && <MailEventsHint />}
      <h2>Recipient domains <small>{list.data ? `${formatNumber(list.data.total)} in range` : ''}</small></h2>
      <Table name="destinations" label="Domain" sort={sort} onSort={(k) => setQuery({ sort: k === 'events' ? null : k })} empty="No deliveries in this range." rows={(list.data?.items ?? []).map((i) => ({ ...i, key: i.toDomain, href: `/mail/destinations/${encodeURIComponent(i.toDomain)}` }))} />
      <p class="hint">p95: the 95th percentile of the delivery time of delivered events, from the rollups' histograms (within 4.4 %).</p>
      <h2>MX hosts</h2>
      {mx.error && <p class="error">{mx.error}</p>}
      <Table name="mx-hosts" label="MX host" empty="No delivery names an MX host in this range (the ZoneMTA plugin sends mxHost)." rows={(mx.data?.items ?? []).map((i) => ({ ...i, key: i.mxHost }))} />
    </section>
  );
}

export function DestinationPage({ time, query, params }: PageProps) {
  const filters = filtersOf(query);
  const domain = params.domain ?? '';
  const d = useData((signal) => api<DomainAnswer>(`/api/v1/destinations/${encodeURIComponent(domain)}?${qs(time, filters)}`, { signal }), [domain, time.from.getTime(), time.to.getTime(), JSON.stringify(filters)]);
  const s = d.data?.summary;
  return (
    <section class="page mail destination">
      <h1>{domain}</h1>
      <MailNav current="destinations" />
      <p><Link href="/mail/destinations">‹ All destinations</Link> · <Link href={`/mail?toDomain=${encodeURIComponent(domain)}`}>delivery over time</Link></p>
      {d.problem?.code === 'DESTINATION_NOT_FOUND' ? <p class="hint">No mail went to {domain} in this time range. Choose a longer range above.</p> : d.error && <p class="error">{d.error}</p>}
      {s && (
        <div class="stats">
          <Stat label="Attempts" value={formatNumber(s.outcomes)} />
          <Stat label="Delivered" value={pct(s.deliveredRate)} sub={`${formatNumber(s.delivered)} delivered`} />
          <Stat label="Bounced" value={pct(s.bouncedRate)} sub={`${formatNumber(s.bounced)} bounced`} tone={(s.bouncedRate ?? 0) > 0.05 ? 'bad' : undefined} />
          <Stat label="Deferred" value={pct(s.deferredRate)} sub={`${formatNumber(s.deferred)} deferred`} />
          <Stat label="p95 delivery" value={ms(s.p95DeliveryMs)} />
        </div>
      )}
      {d.data && (
        <>
          <h2>SMTP reply codes</h2>
          <Table name="codes" label="Code" empty="No replies." rows={d.data.byStatusCode.map((r) => ({ ...r, key: r.statusCode === null ? null : String(r.statusCode) }))} />
          <h2>MX hosts</h2>
          <Table name="mx" label="MX host" empty="No MX host recorded." rows={d.data.byMxHost.map((r) => ({ ...r, key: r.mxHost }))} />
          <h2>Sending IPs</h2>
          <Table name="ips" label="Sending IP" empty="No sending IP recorded." rows={d.data.bySendingIp.map((r) => ({ ...r, key: r.sendingIp, href: r.sendingIp ? `/mail/ips/${encodeURIComponent(r.sendingIp)}` : undefined }))} />
          <p class="hint">Codes, MX hosts and IPs are counted over the raw events (exact p95; a range of at most 31 days).</p>
        </>
      )}
    </section>
  );
}
