/** Alerts: active alerts with acknowledge / silence / resolve (operators and admins), and the history. */
import { api, can } from '../api.ts';
import { useActions } from '../components/action.ts';
import { pageOf, Pager } from '../components/pager.tsx';
import { useData } from '../data.ts';
import { formatTime } from '../format.ts';
import { Link } from '../link.tsx';
import { setQuery } from '../router.ts';
import type { PageProps } from './index.ts';
import type { AlertEvent } from '../../../src/modules/alerts/service.ts';
import { AlertsTabs } from './ops/tabs.tsx';

export type { AlertEvent };

export function SeverityBadge({ severity }: { severity: string }) {
  return <span class={`badge sev-${severity}`}>{severity}</span>;
}

const SILENCE_HOURS = [1, 4, 24];

export function AlertsPage({ user, time, query }: PageProps) {
  const history = query.get('tab') === 'history';
  const page = pageOf(query);
  const status = history ? 'resolved' : 'pending,firing,acknowledged';
  const list = useData((signal) => api<{ items: AlertEvent[]; total: number; totalPages: number }>(`/api/v1/alerts?status=${status}&page=${page}&pageSize=50`, { signal }), [status, page]);
  const { message, act } = useActions();
  const mayChange = can(user, 'operator');
  const silence = (a: AlertEvent, hours: number) =>
    act(`Silenced for ${hours} h`, () =>
      api('/api/v1/silences', {
        method: 'POST',
        body: {
          matchers: Object.entries(a.labels).slice(0, 20).map(([name, value]) => ({ name, op: '=', value })),
          endsAt: new Date(Date.now() + hours * 3600_000).toISOString(),
          comment: `from the dashboard: ${a.alertName}`,
        },
      }),
    );

  return (
    <section class="page alerts">
      <h1>Alerts</h1>
      <AlertsTabs current="alerts" />
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={!history} onClick={() => setQuery({ tab: null, page: null })}>Active</button>
        <button type="button" role="tab" aria-selected={history} onClick={() => setQuery({ tab: 'history', page: null })}>History</button>
      </div>
      {message && <p class="notice" role="status">{message}</p>}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.items.length === 0 && <p class="hint">{history ? 'No resolved alerts kept.' : 'No active alerts. Alert rules are listed at GET /api/v1/alert-rules (docs/alerts.md).'}</p>}
      <table class="table">
        <thead>
          <tr>
            <th>Severity</th>
            <th>Status</th>
            <th>Alert</th>
            <th>Node / service</th>
            <th>{history ? 'Resolved' : 'Since'}</th>
            {!history && mayChange && <th>Actions</th>}
          </tr>
        </thead>
        <tbody>
          {list.data?.items.map((a) => (
            <tr data-alert={String(a.id)}>
              <td><SeverityBadge severity={a.severity} /></td>
              <td>{a.status}{a.acknowledgedBy ? ` by ${a.acknowledgedBy.replace(/^user:/, '')}` : ''}{a.mutedBy.length > 0 ? ' (muted)' : ''}</td>
              <td><strong>{a.alertName}</strong><div class="msg">{a.message}</div></td>
              <td>{a.nodeId ? <Link href={`/nodes/${encodeURIComponent(a.nodeId)}`}>{a.nodeId}</Link> : (a.serviceName ?? '—')}</td>
              <td><time>{formatTime(history ? a.resolvedAt : (a.firedAt ?? a.createdAt), time.tz)}</time></td>
              {!history && mayChange && (
                <td class="actions">
                  {a.status === 'firing' && <button type="button" data-action="acknowledge" onClick={() => act('Acknowledged', () => api(`/api/v1/alerts/${a.id}/acknowledge`, { method: 'POST' }))}>Acknowledge</button>}
                  {Object.keys(a.labels).length > 0 && (
                    <select aria-label="Silence" data-action="silence" value="" onChange={(e) => {
                      const h = Number((e.target as HTMLSelectElement).value);
                      if (h) void silence(a, h);
                    }}>
                      <option value="">Silence…</option>
                      {SILENCE_HOURS.map((h) => <option value={String(h)}>{h} h</option>)}
                    </select>
                  )}
                  <button type="button" data-action="resolve" onClick={() => act('Resolved', () => api(`/api/v1/alerts/${a.id}/resolve`, { method: 'POST' }))}>Resolve</button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
      <Pager page={page} totalPages={list.data?.totalPages} newest />
    </section>
  );
}
