/**
 * Mail › Delivery (`/mail`): outcomes over time and their rates, the totals of the range, a
 * breakdown by sending IP / sender domain / node / recipient domain (sortable by the API's
 * `sort`), and the bounce analysis. Filters live in the page URL like the time range.
 */
import { useEffect, useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { Chart, type Series } from '../../chart.tsx';
import { useData } from '../../data.ts';
import { formatNumber } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import { errorsOf, Field, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { filterProblem, filtersOf, FILTERS, MailEventsHint, MailNav, OUTCOME_HEADERS, OutcomeCells, pct, qs, Stat, type FilterKey, type Outcomes } from './common.tsx';

interface Bucket extends Outcomes {
  bucket: string;
}
interface StatsAnswer {
  resolution: '5m' | '1h' | '1d';
  rollup: string;
  buckets: Bucket[];
}
type Dimension = 'sendingIp' | 'fromDomain' | 'mtaNode' | 'toDomain';
interface BreakdownAnswer {
  by: Dimension;
  total: number;
  items: (Outcomes & Record<string, unknown>)[];
}
interface Failed {
  bounced: number;
  deferred: number;
  rejected: number;
  total: number;
}
interface BounceAnswer {
  topDomains: { toDomain: string; bounced: number; outcomes: number; bouncedRate: number | null }[];
  byCodeClass: (Failed & { codeClass: string | null })[];
  byEnhancedStatus: (Failed & { enhancedStatus: string | null; statusClass: string | null })[];
  byCategory: (Failed & { bounceCategory: string | null })[];
}

const STEP: Record<string, number> = { '1m': 60_000, '5m': 300_000, '1h': 3_600_000, '1d': 86_400_000 };
const DIMENSIONS: [Dimension, string][] = [
  ['sendingIp', 'Sending IP'],
  ['fromDomain', 'Sender domain'],
  ['mtaNode', 'Node'],
  ['toDomain', 'Recipient domain'],
];
const SORTS = ['events', 'delivered', 'bounced', 'deferred', 'rejected', 'bounceRate'];

/** The answer's buckets on a regular grid over the range: a bucket without events is 0, not a line drawn across the gap. */
export function onGrid(a: StatsAnswer, from: Date, to: Date): { time: number[]; rows: (Bucket | null)[] } {
  const step = STEP[a.resolution] ?? 300_000;
  const by = new Map(a.buckets.map((b) => [new Date(b.bucket).getTime(), b]));
  const time: number[] = [];
  const rows: (Bucket | null)[] = [];
  for (let t = Math.floor(from.getTime() / step) * step; t < to.getTime(); t += step) {
    time.push(t);
    rows.push(by.get(t) ?? null);
  }
  return { time, rows };
}

function FilterForm({ query, apiErrors }: { query: URLSearchParams; apiErrors: FieldErrors }) {
  const initial = Object.fromEntries(FILTERS.map((f) => [f.key, query.get(f.key) ?? ''])) as Record<FilterKey, string>;
  const [values, setValues] = useState(initial);
  useEffect(() => setValues(initial), [query.toString()]);
  const form = useSubmit({
    check: () => {
      const problems: FieldErrors = {};
      for (const f of FILTERS) {
        const p = filterProblem(f.key, values[f.key].trim());
        if (p) problems[f.key] = p;
      }
      return problems;
    },
    send: () => setQuery(Object.fromEntries(FILTERS.map((f) => [f.key, values[f.key].trim() || null]))),
  });
  const errors = { ...apiErrors, ...form.errors };
  return (
    <form class="mail-filters" noValidate onSubmit={form.onSubmit}>
      {FILTERS.map((f) => (
        <Field class="mail-field" label={f.label} path={f.key} errors={errors}>
          <input name={f.key} placeholder={f.placeholder} value={values[f.key]} aria-invalid={errors[f.key] ? 'true' : undefined} onInput={(e) => setValues({ ...values, [f.key]: (e.target as HTMLInputElement).value })} />
        </Field>
      ))}
      <div class="mail-filter-actions">
        <button type="submit" class="primary">Apply</button>
        <button type="button" onClick={() => setQuery(Object.fromEntries(FILTERS.map((f) => [f.key, null])))}>Clear</button>
      </div>
    </form>
  );
}

function FailedTable(props: { title: string; label: string; rows: (Failed & { key: string | null; sub?: string | null })[]; name: string }) {
  return (
    <div class="table-wrap">
      <table class="table compact" data-table={props.name}>
        <caption>{props.title}</caption>
        <thead><tr><th>{props.label}</th><th class="num">Bounced</th><th class="num">Deferred</th><th class="num">Rejected</th><th class="num">Total</th></tr></thead>
        <tbody>
          {props.rows.length === 0 && <tr><td colSpan={5} class="hint">No failures in this range.</td></tr>}
          {props.rows.map((r) => (
            <tr data-key={r.key ?? '(none)'}>
              <td>{r.key ?? <span class="hint">no code</span>}{r.sub ? <small class="hint"> {r.sub}</small> : null}</td>
              <td class="num">{formatNumber(r.bounced)}</td>
              <td class="num">{formatNumber(r.deferred)}</td>
              <td class="num">{formatNumber(r.rejected)}</td>
              <td class="num">{formatNumber(r.total)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function DeliveryPage({ time, query }: PageProps) {
  const filters = filtersOf(query);
  const fkey = JSON.stringify(filters);
  const by = (DIMENSIONS.find(([d]) => d === query.get('by'))?.[0] ?? 'sendingIp') as Dimension;
  const sort = SORTS.includes(query.get('sort') ?? '') ? query.get('sort')! : 'events';
  const range = [time.from.getTime(), time.to.getTime(), fkey];
  const stats = useData((signal) => api<StatsAnswer>(`/api/v1/email/stats?${qs(time, { resolution: 'auto', ...filters })}`, { signal }), range);
  const breakdown = useData((signal) => api<BreakdownAnswer>(`/api/v1/email/breakdown?${qs(time, { by, sort, limit: 50, ...filters })}`, { signal }), [...range, by, sort]);
  const bounces = useData((signal) => api<BounceAnswer>(`/api/v1/email/bounce-analysis?${qs(time, { limit: 10, ...filters })}`, { signal }), range);

  const grid = stats.data ? onGrid(stats.data, time.from, time.to) : { time: [], rows: [] };
  const val = (k: keyof Outcomes) => grid.rows.map((r) => (r ? (r[k] as number) : 0));
  const rate = (k: keyof Outcomes) => grid.rows.map((r) => (r && r[k] !== null ? (r[k] as number) * 100 : null));
  const step = stats.data?.resolution ?? '5m';
  const outcomes: Series[] = (['delivered', 'bounced', 'deferred', 'rejected'] as const).map((k) => ({ label: k, time: grid.time, values: val(k) }));
  const rates: Series[] = ([['deliveredRate', 'delivered'], ['bouncedRate', 'bounced'], ['deferredRate', 'deferred'], ['rejectedRate', 'rejected']] as const).map(([k, label]) => ({ label, time: grid.time, values: rate(k) }));
  const tot = (stats.data?.buckets ?? []).reduce(
    (a, b) => ({ sent: a.sent + b.sent, delivered: a.delivered + b.delivered, bounced: a.bounced + b.bounced, deferred: a.deferred + b.deferred, rejected: a.rejected + b.rejected, outcomes: a.outcomes + b.outcomes, received: a.received + b.received }),
    { sent: 0, delivered: 0, bounced: 0, deferred: 0, rejected: 0, outcomes: 0, received: 0 },
  );
  const r = (n: number) => (tot.outcomes ? n / tot.outcomes : null);
  const apiErrors = errorsOf(stats.problem ?? breakdown.problem ?? bounces.problem);
  const error = stats.error ?? breakdown.error ?? bounces.error;
  const empty = stats.data && stats.data.buckets.length === 0;

  return (
    <section class="page mail delivery">
      <h1>Mail delivery</h1>
      <MailNav current="delivery" />
      <FilterForm query={query} apiErrors={apiErrors} />
      {error && <p class="error">{error}</p>}
      <div class="stats">
        <Stat label="Queued (sent)" value={formatNumber(tot.sent)} />
        <Stat label="Delivered" value={formatNumber(tot.delivered)} sub={pct(r(tot.delivered))} tone={tot.outcomes ? 'ok' : undefined} />
        <Stat label="Bounced" value={formatNumber(tot.bounced)} sub={pct(r(tot.bounced))} tone={(r(tot.bounced) ?? 0) > 0.05 ? 'bad' : undefined} />
        <Stat label="Deferred" value={formatNumber(tot.deferred)} sub={pct(r(tot.deferred))} tone={(r(tot.deferred) ?? 0) > 0.1 ? 'warn' : undefined} />
        <Stat label="Rejected" value={formatNumber(tot.rejected)} sub={pct(r(tot.rejected))} />
        <Stat label="Received" value={formatNumber(tot.received)} />
      </div>
      {empty && <MailEventsHint />}
      <div class="grid2">
        <Chart title="Delivery outcomes" unit={`events per ${step}`} series={outcomes} tz={time.tz} from={time.from} to={time.to} fill />
        <Chart title="Outcome rates" unit="percent" series={rates} tz={time.tz} from={time.from} to={time.to} threshold={5} />
      </div>
      <p class="hint">Rates are per delivery attempt: each outcome over delivered + bounced + deferred + rejected of its bucket (docs/mail.md). Buckets of {step}, read from {stats.data?.rollup ?? '…'}.</p>

      <h2>Breakdown</h2>
      <div class="tabs" role="tablist" aria-label="Break down by">
        {DIMENSIONS.map(([d, label]) => (
          <button type="button" role="tab" aria-selected={d === by} data-by={d} onClick={() => setQuery({ by: d === 'sendingIp' ? null : d })}>{label}</button>
        ))}
      </div>
      <div class="table-wrap">
        <table class="table" data-table="breakdown">
          <thead>
            <tr>
              <th>{DIMENSIONS.find(([d]) => d === by)![1]}</th>
              {OUTCOME_HEADERS.map(([key, label]) => (
                <th class="num" aria-sort={key && key === sort ? 'descending' : undefined}>
                  {key ? <button type="button" class="sort" data-sort={key} onClick={() => setQuery({ sort: key === 'events' ? null : key })}>{label}{key === sort ? ' ▼' : ''}</button> : label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {breakdown.data?.items.map((i) => {
              const v = String(i[by] ?? '');
              return (
                <tr data-value={v}>
                  <td>{by === 'toDomain' ? <Link href={`/mail/destinations/${encodeURIComponent(v)}`}>{v}</Link> : by === 'sendingIp' ? <Link href={`/mail/ips/${encodeURIComponent(v)}`}>{v}</Link> : v}</td>
                  <OutcomeCells o={i} />
                </tr>
              );
            })}
            {breakdown.data && breakdown.data.items.length === 0 && <tr><td colSpan={8} class="hint">No events with a {DIMENSIONS.find(([d]) => d === by)![1].toLowerCase()} in this range.</td></tr>}
          </tbody>
        </table>
      </div>
      {breakdown.data && breakdown.data.total > breakdown.data.items.length && <p class="hint">The first {breakdown.data.items.length} of {formatNumber(breakdown.data.total)} values by {sort}.</p>}

      <h2>Bounce analysis</h2>
      <div class="grid2 tables">
        <div class="table-wrap">
          <table class="table compact" data-table="top-domains">
            <caption>Top bouncing recipient domains</caption>
            <thead><tr><th>Domain</th><th class="num">Bounced</th><th class="num">Attempts</th><th class="num">Bounce %</th></tr></thead>
            <tbody>
              {bounces.data?.topDomains.length === 0 && <tr><td colSpan={4} class="hint">No bounces in this range.</td></tr>}
              {bounces.data?.topDomains.map((d) => (
                <tr data-key={d.toDomain}>
                  <td><Link href={`/mail/destinations/${encodeURIComponent(d.toDomain)}`}>{d.toDomain}</Link></td>
                  <td class="num">{formatNumber(d.bounced)}</td>
                  <td class="num">{formatNumber(d.outcomes)}</td>
                  <td class="num">{pct(d.bouncedRate)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <FailedTable title="SMTP reply code class" label="Class" name="code-class" rows={(bounces.data?.byCodeClass ?? []).map((c) => ({ ...c, key: c.codeClass }))} />
        <FailedTable title="Enhanced status codes (RFC 3463)" label="Code" name="enhanced-status" rows={(bounces.data?.byEnhancedStatus ?? []).map((c) => ({ ...c, key: c.enhancedStatus, sub: c.statusClass }))} />
        <FailedTable title="Bounce categories" label="Category" name="category" rows={(bounces.data?.byCategory ?? []).map((c) => ({ ...c, key: c.bounceCategory }))} />
      </div>
    </section>
  );
}
