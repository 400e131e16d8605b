/**
 * Sending IPs (`/mail/ips`): the registry in address order, keyset-paged from the API as the
 * list scrolls and rendered windowed (only the rows in view are in the DOM), filtered by
 * status, node, listing and text; operators pause or resume a selection in bulk. One IP
 * (`/mail/ips/:ip`): verdict and reasons, warm-up progress, DNSBL listings with delisting
 * links, PTR and rates — the API's reputation overview.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, can } from '../../api.ts';
import { useActions } from '../../components/action.ts';
import { errorsOf, errorText, Field, inputValue, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { tick, useData } from '../../data.ts';
import { formatNumber, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import { useStore } from '../../store.ts';
import type { PageProps } from '../index.ts';
import { isIp, isNodeId, MailNav, pct, SafeLink, Stat } from './common.tsx';

/** The API's sending IP and reputation overview: the services' own types. */
export type { SendingIp } from '../../../../src/modules/sending-ips/service.ts';
import type { SendingIp } from '../../../../src/modules/sending-ips/service.ts';
import type { Reputation } from '../../../../src/modules/sending-ips/reputation.ts';
interface Page {
  items: SendingIp[];
  total: number;
  next: string | null;
}
interface Plan {
  id: number;
  name: string;
  days: number;
}
/** The sending-IP statuses, in the API's order. */
export const STATUSES = ['active', 'warming', 'paused', 'blacklisted', 'retired'] as const;
/** Every row has this height (CSS .ip-table tr.row), so the rows in view follow from the scroll position. */
export const ROW_HEIGHT = 36;
const PAGE = 500;
const OVERSCAN = 10;

function StatusBadge({ status }: { status: string }) {
  return <span class={`badge ip-${status}`}>{status}</span>;
}

/** Warm-up progress of a row: day / plan length, today's allowance and what was sent. */
function WarmupCell({ ip, plans }: { ip: SendingIp; plans: Map<number, Plan> }) {
  if (ip.warmupPlanId === null) return <span class="hint">–</span>;
  const plan = plans.get(ip.warmupPlanId);
  const days = plan?.days ?? 0;
  return (
    <span class="warmup-cell" title={plan?.name}>
      day {ip.warmupDay}/{days || '?'} · {formatNumber(ip.currentDailySent)}/{ip.dailyLimit === null ? '∞' : formatNumber(ip.dailyLimit)}
      {days > 0 && <span class="bar"><span style={{ width: `${Math.min(100, (ip.warmupDay / days) * 100)}%` }} /></span>}
    </span>
  );
}

interface ListState {
  rows: SendingIp[];
  total: number;
  next: string | null;
  loading: boolean;
  problem: unknown;
  /** The filters `total` counts (the list's first page for them has come). */
  of: string | null;
}

/** The keyset-paged list for the filters: the first page at once, the next when asked. */
function useIpList(filter: string): [ListState, () => void] {
  const n = useStore(tick);
  const [state, setState] = useState<ListState>({ rows: [], total: 0, next: null, loading: true, problem: null, of: null });
  const gen = useRef(0);
  const busy = useRef(false);
  const load = (after: string | null, g: number) => {
    busy.current = true;
    setState((s) => ({ ...s, loading: true }));
    api<Page>(`/api/v1/ips?${filter}${filter ? '&' : ''}limit=${PAGE}${after ? `&after=${encodeURIComponent(after)}` : ''}`).then(
      (p) => {
        if (g !== gen.current) return;
        busy.current = false;
        setState((s) => ({ rows: after ? [...s.rows, ...p.items] : p.items, total: p.total, next: p.next, loading: false, problem: null, of: filter }));
      },
      (err: unknown) => {
        if (g !== gen.current) return;
        busy.current = false;
        setState((s) => ({ ...s, rows: after ? s.rows : [], total: after ? s.total : 0, loading: false, problem: err, of: after ? s.of : null }));
      },
    );
  };
  useEffect(() => {
    const g = ++gen.current;
    load(null, g);
  }, [filter, n]);
  return [state, () => !busy.current && state.next && load(state.next, gen.current)];
}

/** The list's filters kept in the page URL (the API's query names). */
const FILTER_KEYS = ['status', 'nodeId', 'subnet', 'listed', 'search', 'pool'] as const;

/** An address range such as 192.0.2.0/24 or 2001:db8::/48. */
export function isCidr(v: string): boolean {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(v);
  if (!m || !isIp(m[1]!)) return false;
  return Number(m[2]) <= (m[1]!.includes(':') ? 128 : 32);
}

/** The URL's filters as the body filter of POST /api/v1/ips/bulk-action (`listed` a boolean there). */
function bulkFilter(query: URLSearchParams): Record<string, string | boolean> {
  const out: Record<string, string | boolean> = {};
  for (const k of FILTER_KEYS) {
    const v = query.get(k);
    if (v) out[k] = k === 'listed' ? v === 'true' : v;
  }
  return out;
}

/** The filters in words, for the confirmation of an action on every matching IP. */
function describeFilter(f: Record<string, string | boolean>): string {
  const words: Record<string, (v: string | boolean) => string> = {
    status: (v) => `status ${String(v)}`,
    nodeId: (v) => `node ${String(v)}`,
    subnet: (v) => `in ${String(v)}`,
    listed: (v) => (v ? 'listed on a DNSBL' : 'not listed'),
    search: (v) => `containing “${String(v)}”`,
    pool: (v) => (v === '-' ? 'in no pool' : `in pool ${String(v)}`),
  };
  return Object.entries(f).map(([k, v]) => words[k]?.(v) ?? `${k}=${String(v)}`).join(', ');
}

function IpFilters({ query, apiErrors }: { query: URLSearchParams; apiErrors: FieldErrors }) {
  const pools = useData((signal) => api<{ items: { name: string }[] }>('/api/v1/ip-pools', { signal }).then((a) => a.items.map((p) => p.name)), []).data ?? [];
  const [node, setNode] = useState(query.get('nodeId') ?? '');
  const [subnet, setSubnet] = useState(query.get('subnet') ?? '');
  const [search, setSearch] = useState(query.get('search') ?? '');
  const form = useSubmit({
    check: () => {
      const p: FieldErrors = {};
      if (node.trim() && !isNodeId(node.trim())) p.nodeId = 'a node id: letters, digits and . _ : @ - (starting with a letter or digit)';
      if (subnet.trim() && !isCidr(subnet.trim())) p.subnet = 'an address range: address/prefix, e.g. 192.0.2.0/24';
      if (search.trim().length > 100) p.search = 'at most 100 characters';
      return p;
    },
    send: () => setQuery({ nodeId: node.trim() || null, subnet: subnet.trim() || null, search: search.trim() || null }),
  });
  const errors = { ...apiErrors, ...form.errors };
  return (
    <form class="mail-filters" noValidate onSubmit={form.onSubmit}>
      <Field class="mail-field" label="Status" path="status" errors={errors}>
        <select name="status" value={query.get('status') ?? ''} onChange={(e) => setQuery({ status: inputValue(e) || null })}>
          <option value="">Every status</option>
          {STATUSES.map((s) => <option value={s}>{s}</option>)}
        </select>
      </Field>
      <Field class="mail-field" label="Listed" path="listed" errors={errors}>
        <select name="listed" value={query.get('listed') ?? ''} onChange={(e) => setQuery({ listed: inputValue(e) || null })}>
          <option value="">Listed or not</option>
          <option value="true">Listed on a DNSBL</option>
          <option value="false">Not listed</option>
        </select>
      </Field>
      <Field class="mail-field" label="Pool" path="pool" errors={errors}>
        <select name="pool" value={query.get('pool') ?? ''} onChange={(e) => setQuery({ pool: inputValue(e) || null })}>
          <option value="">Any pool</option>
          <option value="-">In no pool</option>
          {pools.map((p) => <option value={p}>{p}</option>)}
          {query.get('pool') && query.get('pool') !== '-' && !pools.includes(query.get('pool')!) && <option value={query.get('pool')!}>{query.get('pool')}</option>}
        </select>
      </Field>
      <Field class="mail-field" label="Node" path="nodeId" errors={errors}>
        <input name="nodeId" placeholder="mx-1" value={node} aria-invalid={errors.nodeId ? 'true' : undefined} onInput={(e) => setNode(inputValue(e))} />
      </Field>
      <Field class="mail-field" label="Range" path="subnet" errors={errors}>
        <input name="subnet" placeholder="192.0.2.0/24" value={subnet} aria-invalid={errors.subnet ? 'true' : undefined} onInput={(e) => setSubnet(inputValue(e))} />
      </Field>
      <Field class="mail-field" label="Search" path="search" errors={errors}>
        <input name="search" type="search" placeholder="address, PTR, notes" value={search} aria-invalid={errors.search ? 'true' : undefined} onInput={(e) => setSearch(inputValue(e))} />
      </Field>
      <div class="mail-filter-actions"><button type="submit" class="primary">Apply</button></div>
    </form>
  );
}

/**
 * "Pause / Resume all N matching": the action on every IP the filters match (N is the
 * list's total), not only on the rows loaded; a confirmation names N and the filters, and
 * the API gets the filters, never a list of addresses.
 */
function AllMatching({ query, total, onDone }: { query: URLSearchParams; total: number; onDone: (message: string) => void }) {
  const filter = bulkFilter(query);
  const [asked, setAsked] = useState<'pause' | 'resume' | null>(null);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const key = JSON.stringify(filter);
  useEffect(() => setAsked(null), [key]);
  if (Object.keys(filter).length === 0 || total === 0) return null;
  const run = async (action: 'pause' | 'resume') => {
    setBusy(true);
    setProblem(null);
    try {
      const r = await api<{ changed: string[]; unchanged: number }>('/api/v1/ips/bulk-action', { method: 'POST', body: { action, filter, reason: 'from the dashboard (all matching)' } });
      setAsked(null);
      onDone(`${action === 'pause' ? 'Paused' : 'Resumed'} ${formatNumber(r.changed.length)} of the IPs ${describeFilter(filter)}; unchanged ${formatNumber(r.unchanged)}.`);
    } catch (err) {
      setProblem(errorText(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" data-action="pause-all" onClick={() => setAsked('pause')}>Pause all {formatNumber(total)} matching</button>
      <button type="button" data-action="resume-all" onClick={() => setAsked('resume')}>Resume all {formatNumber(total)} matching</button>
      {asked && (
        <div class="confirm" role="alertdialog" aria-label="Confirm" data-confirm={asked}>
          <p>{asked === 'pause' ? 'Pause' : 'Resume'} all <strong data-confirm-count>{formatNumber(total)}</strong> IPs {describeFilter(filter)}? {asked === 'pause' ? 'Retired and already paused ones stay as they are.' : 'Only paused and blacklisted ones change.'}</p>
          <button type="button" class="primary" data-action="confirm" disabled={busy} onClick={() => void run(asked)}>{asked === 'pause' ? 'Pause' : 'Resume'} {formatNumber(total)} IPs</button>
          <button type="button" data-action="cancel" disabled={busy} onClick={() => setAsked(null)}>Cancel</button>
          {problem && <p class="error" role="alert">{problem}</p>}
        </div>
      )}
    </>
  );
}

export function IpsPage({ user, time, query }: PageProps) {
  const f = new URLSearchParams();
  for (const k of FILTER_KEYS) {
    const v = query.get(k);
    if (v) f.set(k, v);
  }
  const filter = f.toString();
  const [list, more] = useIpList(filter);
  const plans = useData((signal) => api<{ items: Plan[] }>('/api/v1/warmup-plans', { signal }).then((a) => new Map(a.items.map((p) => [p.id, p]))), []);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [message, setMessage] = useState<string | null>(null);
  const [scroll, setScroll] = useState({ top: 0, height: 600 });
  const box = useRef<HTMLDivElement>(null);
  const operator = can(user, 'operator');
  useEffect(() => {
    // New filters: a new list from its start.
    setSelected(new Set());
    box.current?.scrollTo(0, 0);
    setScroll((s) => ({ ...s, top: 0 }));
  }, [filter]);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setScroll((s) => ({ ...s, height: el.clientHeight })));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const count = list.total;
  const inView = Math.ceil(scroll.height / ROW_HEIGHT);
  const first = Math.max(0, Math.min(Math.floor(scroll.top / ROW_HEIGHT), count - inView) - OVERSCAN);
  const last = Math.min(count, Math.ceil((scroll.top + scroll.height) / ROW_HEIGHT) + OVERSCAN);
  const visible = list.rows.slice(first, Math.min(last, list.rows.length));
  useEffect(() => {
    if (last > list.rows.length - OVERSCAN * 2 && list.next && !list.loading) more();
  }, [last, list.rows.length, list.next, list.loading]);

  const toggle = (ip: string) => {
    const s = new Set(selected);
    if (s.has(ip)) s.delete(ip);
    else s.add(ip);
    setSelected(s);
  };
  const bulk = async (action: 'pause' | 'resume') => {
    setMessage(null);
    try {
      const r = await api<{ changed: string[]; unchanged: number; unknown: string[] }>('/api/v1/ips/bulk-action', { method: 'POST', body: { action, ips: [...selected], reason: 'from the dashboard' } });
      setMessage(`${action === 'pause' ? 'Paused' : 'Resumed'} ${r.changed.length}${r.changed.length ? `: ${r.changed.slice(0, 10).join(', ')}${r.changed.length > 10 ? ' …' : ''}` : ''}; unchanged ${r.unchanged}${r.unknown.length ? `; unknown ${r.unknown.length}` : ''}.`);
      setSelected(new Set());
    } catch (err) {
      setMessage(errorText(err));
    }
    tick.set(tick.get() + 1);
  };
  const apiErrors = errorsOf(list.problem);
  const cols = operator ? 11 : 10;

  return (
    <section class="page mail ips">
      <h1>Sending IPs</h1>
      <MailNav current="ips" />
      <IpFilters query={query} apiErrors={apiErrors} />
      {apiErrors[''] && <p class="error">{apiErrors['']}</p>}
      <div class="toolbar">
        <span class="hint" data-total>{list.loading && list.rows.length === 0 ? 'Loading…' : `${formatNumber(count)} IPs${filter ? ' match' : ''}`}</span>
        {operator && (
          <>
            <button type="button" data-action="select-loaded" disabled={list.rows.length === 0} onClick={() => setSelected(selected.size ? new Set() : new Set(list.rows.map((r) => r.ip)))}>{selected.size ? 'Clear selection' : `Select ${formatNumber(list.rows.length)} loaded`}</button>
            <button type="button" data-action="pause" disabled={selected.size === 0} onClick={() => void bulk('pause')}>Pause {selected.size ? `(${selected.size})` : ''}</button>
            <button type="button" data-action="resume" disabled={selected.size === 0} onClick={() => void bulk('resume')}>Resume {selected.size ? `(${selected.size})` : ''}</button>
            {list.of === filter && (
              <AllMatching query={query} total={count} onDone={(m) => {
                setMessage(m);
                setSelected(new Set());
                tick.set(tick.get() + 1);
              }} />
            )}
          </>
        )}
      </div>
      {message && <p class="notice" role="status">{message}</p>}
      {!list.loading && count === 0 && !filter && (
        <div class="empty-state">
          <p>No sending IP is registered. Add one address or a whole range (operators; API keys with the admin scope):</p>
          <pre>{`curl -s -X POST ${window.location.origin}/api/v1/ips/range -H "authorization: Bearer $TOKEN" \\
  -H 'content-type: application/json' -d '{"cidr":"192.0.2.0/24","nodeId":"mx-1"}'`}</pre>
        </div>
      )}
      <div class="ip-scroll" ref={box} onScroll={(e) => setScroll({ top: (e.target as HTMLDivElement).scrollTop, height: (e.target as HTMLDivElement).clientHeight })}>
        <table class="table ip-table">
          <thead>
            <tr>
              {operator && <th><span class="sr">Select</span></th>}
              <th>IP</th>
              <th>Status</th>
              <th>Node</th>
              <th>PTR</th>
              <th class="num">Listed on</th>
              <th class="num" title="Reputation score, 0–100">Score</th>
              <th>Pool</th>
              <th>Warm-up (sent / limit today)</th>
              <th>Last DNSBL check</th>
              <th>Notes</th>
            </tr>
          </thead>
          <tbody>
            {first > 0 && <tr class="spacer" style={{ height: `${first * ROW_HEIGHT}px` }}><td colSpan={cols} /></tr>}
            {visible.map((ip) => (
              <tr class="row" data-ip={ip.ip}>
                {operator && <td><input type="checkbox" aria-label={`Select ${ip.ip}`} checked={selected.has(ip.ip)} onChange={() => toggle(ip.ip)} /></td>}
                <td><Link href={`/mail/ips/${encodeURIComponent(ip.ip)}`}>{ip.ip}</Link></td>
                <td title={ip.statusReason ?? undefined}><StatusBadge status={ip.status} /></td>
                <td>{ip.nodeId ?? <span class="hint">–</span>}</td>
                <td>{ip.ptrRecord ?? <span class="hint">none</span>} {ip.ptrConfirmed === true ? '✓' : ip.ptrConfirmed === false ? '✗' : ''}</td>
                <td class={`num${ip.blacklistCount > 0 ? ' bad' : ''}`}>{ip.blacklistCount}</td>
                <td class={`num${ip.reputationScore < 50 ? ' bad' : ''}`} data-col="score">{ip.reputationScore}</td>
                <td data-col="pool">{ip.pool ?? <span class="hint">–</span>}</td>
                <td><WarmupCell ip={ip} plans={plans.data ?? new Map()} /></td>
                <td>{formatTime(ip.lastBlacklistCheck, time.tz)}</td>
                <td class="notes">{ip.notes ?? ''}</td>
              </tr>
            ))}
            {count > first + visible.length && <tr class="spacer" style={{ height: `${(count - first - visible.length) * ROW_HEIGHT}px` }}><td colSpan={cols}>{list.loading ? 'Loading…' : ''}</td></tr>}
          </tbody>
        </table>
      </div>
    </section>
  );
}

export function IpPage({ user, time, params }: PageProps) {
  const ip = params.ip ?? '';
  const rep = useData((signal) => api<Reputation>(`/api/v1/ips/${encodeURIComponent(ip)}/reputation`, { signal }), [ip]);
  const row = useData((signal) => api<SendingIp>(`/api/v1/ips/${encodeURIComponent(ip)}`, { signal }), [ip]);
  const { message, act } = useActions();
  const operator = can(user, 'operator');
  const r = rep.data;
  const w = r?.warmup;
  const status = row.data?.status ?? r?.status.status;
  return (
    <section class="page mail ip">
      <h1>{ip}</h1>
      <MailNav current="ips" />
      <p><Link href="/mail/ips">‹ All sending IPs</Link> · <Link href={`/mail?sendingIp=${encodeURIComponent(ip)}`}>delivery from this IP</Link></p>
      {(rep.error ?? row.error) && <p class="error">{rep.error ?? row.error}</p>}
      {message && <p class="notice" role="status">{message}</p>}
      {operator && status && (
        <div class="toolbar">
          {status !== 'paused' && status !== 'retired' && <button type="button" data-action="pause" onClick={() => void act('Paused', () => api('/api/v1/ips/bulk-action', { method: 'POST', body: { action: 'pause', ips: [ip], reason: 'from the dashboard' } }))}>Pause</button>}
          {(status === 'paused' || status === 'blacklisted') && <button type="button" data-action="resume" onClick={() => void act('Resumed', () => api('/api/v1/ips/bulk-action', { method: 'POST', body: { action: 'resume', ips: [ip] } }))}>Resume</button>}
          <button type="button" data-action="check" onClick={() => void act('Checked against every enabled DNSBL zone and its PTR', () => api(`/api/v1/ips/${encodeURIComponent(ip)}/check`, { method: 'POST' }))}>Check now</button>
        </div>
      )}
      {r && (
        <>
          <div class="stats">
            <Stat label="Verdict" value={r.verdict} tone={r.verdict === 'ok' ? 'ok' : r.verdict === 'bad' ? 'bad' : 'warn'} />
            <Stat label="Reputation score" value={`${r.score.score}/100`} tone={r.score.score >= 80 ? 'ok' : r.score.score >= 50 ? 'warn' : 'bad'} sub={row.data?.pool ? `pool ${row.data.pool}` : 'in no pool'} />
            <Stat label="Status" value={r.status.status} sub={r.status.reason ?? undefined} />
            <Stat label="Listed on" value={`${r.dnsbl.listed} of ${r.dnsbl.zones}`} tone={r.dnsbl.listed ? 'bad' : undefined} sub={`last check ${formatTime(r.dnsbl.lastCheckedAt, time.tz)}`} />
            <Stat label="Bounce rate 24 h" value={pct(r.rates.last24h.bounceRate === null ? null : r.rates.last24h.bounceRate / 100)} sub={`${formatNumber(r.rates.last24h.attempts)} attempts`} tone={(r.rates.last24h.bounceRate ?? 0) >= 5 ? 'bad' : undefined} />
            <Stat label="Bounce rate 7 d" value={pct(r.rates.last7d.bounceRate === null ? null : r.rates.last7d.bounceRate / 100)} sub={`${formatNumber(r.rates.last7d.attempts)} attempts`} />
          </div>
          {r.reasons.length > 0 && <ul class="reasons">{r.reasons.map((x) => <li>{x}</li>)}</ul>}
          <p class="hint" data-score-terms>
            Score: 100{r.score.deductions.map((d) => ` − ${d.points} (${d.term.replace(/_/g, ' ')}${d.value !== null ? ` ${d.value}` : ''})`).join('')} = {r.score.score}
            {r.score.notEvaluated.length > 0 && `; not evaluated: ${r.score.notEvaluated.map((t) => t.replace(/_/g, ' ')).join(', ')}`}
          </p>
          <h2>Warm-up</h2>
          {w ? (
            <div class="warmup" data-warmup>
              <p>
                <strong>{w.plan?.name ?? 'no plan'}</strong>: day {w.day} of {w.plan?.days ?? '?'}{w.completed ? ' (completed)' : ''}; today {formatNumber(w.sentToday)} sent of {w.todayAllowance === null ? 'no limit' : formatNumber(w.todayAllowance)}{w.remainingToday !== null ? `, ${formatNumber(w.remainingToday)} remaining` : ''}.
              </p>
              {w.plan && <span class="bar wide"><span style={{ width: `${Math.min(100, (w.day / Math.max(1, w.plan.days)) * 100)}%` }} /></span>}
              {w.held && <p class="error" data-held>Held: {w.heldReason}</p>}
            </div>
          ) : <p class="hint">Not on a warm-up plan (<code>PUT /api/v1/ips/{ip}/warmup</code> with a plan id puts it on one from day 1).</p>}
          <h2>DNSBL listings</h2>
          <div class="table-wrap">
            <table class="table" data-table="listings">
              <thead><tr><th>Zone</th><th>Tier</th><th>Since</th><th>Answer</th><th>Reason</th><th>Delisting</th></tr></thead>
              <tbody>
                {r.listings.length === 0 && <tr><td colSpan={6} class="hint">Not listed on any of the {r.dnsbl.zones} zones checked ({r.dnsbl.clean} clean).</td></tr>}
                {r.listings.map((l) => (
                  <tr data-zone={l.zone}>
                    <td>{l.zone}</td>
                    <td>{l.tier}</td>
                    <td>{formatTime(l.since, time.tz)}</td>
                    <td>{l.response ?? '–'}</td>
                    <td class="msg">{l.reason ?? '–'}</td>
                    <td><SafeLink href={l.delistUrl}>{l.delistUrl ? 'delisting form' : '–'}</SafeLink></td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {r.dnsbl.errors.length > 0 && <p class="error">Checks that failed at their last run: {r.dnsbl.errors.map((e) => `${e.zone} (${e.error ?? 'error'})`).join(', ')}</p>}
          <h2>PTR</h2>
          <dl class="facts">
            <dt>Record</dt><dd>{r.ptr.record ?? 'none'}</dd>
            <dt>Points back</dt><dd>{r.ptr.confirmed === null ? 'not checked' : r.ptr.confirmed ? 'yes' : 'no'}</dd>
            <dt>Checked</dt><dd>{formatTime(r.ptr.checkedAt, time.tz)}</dd>
            {r.ptr.error && <><dt>Error</dt><dd>{r.ptr.error}</dd></>}
            {row.data?.notes && <><dt>Notes</dt><dd>{row.data.notes}</dd></>}
          </dl>
        </>
      )}
    </section>
  );
}
