/**
 * Probes: every monitored service with its confirmed state and uptime (GET
 * /api/v1/health/overview), and one service's page: its settings, uptime and latency
 * percentiles over the shell's time range (GET …/uptime) and charts of latency and
 * uptime drawn from its checks in that range (GET …/checks, followed page by page).
 */
import { api } from '../../api.ts';
import { Chart, type Series } from '../../chart.tsx';
import { useData } from '../../data.ts';
import { formatAge, formatPercent, formatTime } from '../../format.ts';
import { Pager } from '../../components/pager.tsx';
import { Link } from '../../link.tsx';
import type { PageProps } from '../index.ts';
import './ops.css';

interface Check { id: string; status: 'healthy' | 'degraded' | 'down'; latencyMs: number | null; checkedAt: string; errorMessage: string | null }
interface OverviewItem { id: number; name: string; kind: string; enabled: boolean; labels: Record<string, string>; status: string; since: string | null; uptime: { h24: number | null; d7: number | null; d30: number | null }; lastCheck: Check | null }
interface Monitor { id: number; name: string; kind: string; target: string; intervalSeconds: number; timeoutMs: number; enabled: boolean; labels: Record<string, string>; state: { status: string; since: string | null; lastCheckedAt: string | null } }
interface Uptime { checks: number; healthy: number; degraded: number; down: number; uptimePercent: number | null; latencyMs: { avg: number | null; p50: number | null; p95: number | null; p99: number | null } }

const STATUS_TEXT: Record<string, string> = { healthy: 'up', degraded: 'degraded', down: 'down', unknown: 'unknown' };
const statusClass = (s: string) => `status-${s === 'healthy' ? 'up' : s}`;

const PAGE_SIZE = 100;

export function ProbesPage({ time, query }: PageProps) {
  const overview = useData((signal) => api<{ items: OverviewItem[] }>('/api/v1/health/overview', { signal }), []);
  const items = overview.data?.items ?? [];
  // The overview answers every service at once; the table shows a page of them (down first), so thousands stay fast.
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const page = Math.min(pages, Math.max(1, Number(query.get('page')) || 1));
  const order: Record<string, number> = { down: 0, degraded: 1, unknown: 2, healthy: 3 };
  const shown = [...items].sort((a, b) => (order[a.status] ?? 4) - (order[b.status] ?? 4) || a.name.localeCompare(b.name)).slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const count = (s: string) => items.filter((i) => i.status === s).length;
  return (
    <section class="page probes">
      <h1>Probes</h1>
      {overview.error && <p class="error">{overview.error}</p>}
      {overview.data && items.length > 0 && (
        <div class="stats">
          <div class="stat ok" data-stat="Up"><span class="label">Up</span><span class="value">{count('healthy')}</span></div>
          <div class={`stat${count('down') ? ' bad' : ''}`} data-stat="Down"><span class="label">Down</span><span class="value">{count('down')}</span></div>
          <div class={`stat${count('degraded') ? ' warn' : ''}`} data-stat="Degraded"><span class="label">Degraded</span><span class="value">{count('degraded')}</span></div>
          <div class="stat" data-stat="Unknown"><span class="label">Unknown</span><span class="value">{count('unknown')}</span></div>
        </div>
      )}
      {overview.data && items.length === 0 && (
        <p class="empty-state">No monitored services. Add an HTTP, TCP, TLS, DNS or heartbeat probe with POST /api/v1/monitors, e.g. {'{"name": "website", "kind": "http", "target": "https://example.com/"}'} (docs/probes.md).</p>
      )}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Status</th><th>Service</th><th>Kind</th><th>Uptime 24 h</th><th>7 d</th><th>30 d</th><th>Latency</th><th>Last check</th></tr></thead>
            <tbody>
              {shown.map((i) => (
                <tr data-probe={i.name}>
                  <td class={statusClass(i.status)}>{STATUS_TEXT[i.status] ?? i.status}{i.enabled ? '' : ' (paused)'}</td>
                  <td class="wrap"><Link href={`/probes/${i.id}`}>{i.name}</Link></td>
                  <td>{i.kind}</td>
                  <td data-uptime="h24">{formatPercent(i.uptime.h24, 2)}</td>
                  <td>{formatPercent(i.uptime.d7, 2)}</td>
                  <td>{formatPercent(i.uptime.d30, 2)}</td>
                  <td>{i.lastCheck?.latencyMs !== null && i.lastCheck?.latencyMs !== undefined ? `${i.lastCheck.latencyMs} ms` : '–'}</td>
                  <td title={formatTime(i.lastCheck?.checkedAt, time.tz)}>{i.lastCheck ? formatAge((Date.now() - new Date(i.lastCheck.checkedAt).getTime()) / 1000) : 'never'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={page} totalPages={pages} />
    </section>
  );
}

/** The checks of a range, oldest first (at most `pages` pages of 1000). */
async function checksIn(id: string, from: Date, to: Date, signal: AbortSignal, pages = 10): Promise<{ checks: Check[]; complete: boolean }> {
  const out: Check[] = [];
  let cursor: string | null = null;
  for (let i = 0; i < pages; i++) {
    const q = new URLSearchParams({ from: from.toISOString(), to: to.toISOString(), limit: '1000' });
    if (cursor) q.set('cursor', cursor);
    const a: { items: Check[]; next: string | null } = await api(`/api/v1/monitors/${encodeURIComponent(id)}/checks?${q}`, { signal });
    out.push(...a.items);
    cursor = a.next;
    if (!cursor) return { checks: out.reverse(), complete: true };
  }
  return { checks: out.reverse(), complete: false };
}

/** Uptime per time bucket (percent of checks not down), about 60 buckets over the range. */
export function uptimeSeries(checks: Check[], from: Date, to: Date, buckets = 60): Series {
  const step = Math.max(1000, (to.getTime() - from.getTime()) / buckets);
  const time: number[] = [];
  const values: (number | null)[] = [];
  for (let t = from.getTime(); t < to.getTime(); t += step) {
    const inside = checks.filter((c) => {
      const at = new Date(c.checkedAt).getTime();
      return at >= t && at < t + step;
    });
    time.push(t + step / 2);
    values.push(inside.length ? (100 * inside.filter((c) => c.status !== 'down').length) / inside.length : null);
  }
  return { label: 'uptime', time, values };
}

export function ProbePage({ time, params }: PageProps) {
  const id = params.id ?? '';
  const monitor = useData((signal) => api<Monitor>(`/api/v1/monitors/${encodeURIComponent(id)}`, { signal }), [id]);
  const range = { from: time.from.toISOString(), to: time.to.toISOString() };
  const uptime = useData((signal) => api<Uptime>(`/api/v1/monitors/${encodeURIComponent(id)}/uptime?${new URLSearchParams(range)}`, { signal }), [id, range.from, range.to]);
  const checks = useData((signal) => checksIn(id, time.from, time.to, signal), [id, range.from, range.to]);
  const m = monitor.data;
  const u = uptime.data;
  const list = checks.data?.checks ?? [];
  const latency: Series = { label: 'latency', time: list.map((c) => new Date(c.checkedAt).getTime()), values: list.map((c) => (c.status === 'down' ? null : c.latencyMs)) };
  return (
    <section class="page probe">
      <div class="page-head">
        <h1>{m?.name ?? 'Probe'}</h1>
        <Link href="/probes">All probes</Link>
      </div>
      {monitor.error && <p class="error">{monitor.error}</p>}
      {m && (
        <dl class="facts">
          <dt>Status</dt><dd class={statusClass(m.state.status)} data-status>{STATUS_TEXT[m.state.status] ?? m.state.status}{m.state.since ? ` since ${formatTime(m.state.since, time.tz)}` : ''}</dd>
          <dt>Kind</dt><dd>{m.kind}</dd>
          <dt>Target</dt><dd>{m.target || '—'}</dd>
          <dt>Every</dt><dd>{m.intervalSeconds} s (timeout {m.timeoutMs} ms){m.enabled ? '' : ', paused'}</dd>
          {Object.keys(m.labels).length > 0 && <><dt>Labels</dt><dd>{Object.entries(m.labels).map(([k, v]) => `${k}=${v}`).join(', ')}</dd></>}
        </dl>
      )}
      {u && (
        <div class="stats" style={{ marginTop: '.8rem' }}>
          <div class={`stat ${u.uptimePercent === null ? '' : u.uptimePercent >= 99 ? 'ok' : u.uptimePercent >= 95 ? 'warn' : 'bad'}`} data-stat="Uptime"><span class="label">Uptime in range</span><span class="value">{formatPercent(u.uptimePercent, 2)}</span><span class="sub">{u.checks} checks, {u.down} down</span></div>
          <div class="stat" data-stat="p50"><span class="label">Latency p50</span><span class="value">{u.latencyMs.p50 === null ? '–' : `${Math.round(u.latencyMs.p50)} ms`}</span></div>
          <div class="stat" data-stat="p95"><span class="label">Latency p95</span><span class="value">{u.latencyMs.p95 === null ? '–' : `${Math.round(u.latencyMs.p95)} ms`}</span></div>
          <div class="stat" data-stat="p99"><span class="label">Latency p99</span><span class="value">{u.latencyMs.p99 === null ? '–' : `${Math.round(u.latencyMs.p99)} ms`}</span></div>
        </div>
      )}
      {checks.error && <p class="error">{checks.error}</p>}
      {checks.data && list.length === 0 && <p class="empty-state">No checks in this time range. Checks are stored as the probe runs (every {m?.intervalSeconds ?? '…'} s); POST /api/v1/monitors/{id}/check-now runs one at once.</p>}
      {checks.data && !checks.data.complete && <p class="hint">Showing the newest 10,000 checks of the range; pick a shorter range for all of them.</p>}
      {list.length > 0 && (
        <div class="grid2">
          <Chart title="Latency" unit="milliseconds" series={[latency]} tz={time.tz} from={time.from} to={time.to} />
          <Chart title="Uptime" unit="percent" series={[uptimeSeries(list, time.from, time.to)]} tz={time.tz} from={time.from} to={time.to} />
        </div>
      )}
    </section>
  );
}
