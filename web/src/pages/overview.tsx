/** Overview: cluster health, key figures of the last hour, throughput and bounce-rate charts, node health grid, recent alerts. */
import { api } from '../api.ts';
import { Chart, type Series } from '../chart.tsx';
import { useData } from '../data.ts';
import { formatAge, formatNumber, formatPercent, formatTime } from '../format.ts';
import { Link } from '../link.tsx';
import type { PageProps } from './index.ts';
import { SeverityBadge, type AlertEvent } from './alerts.tsx';

export interface ClusterNode {
  id: string;
  hostname: string | null;
  role: string | null;
  status: string;
  health: 'ok' | 'stale' | 'unknown';
  labels: Record<string, unknown>;
  lastSeen: string | null;
  ageSeconds: number | null;
  families: Record<string, Record<string, string | number | boolean | null>[]>;
}
export interface ClusterStatus {
  items: ClusterNode[];
  summary: { total: number; ok: number; stale: number; unknown: number; byRole: Record<string, number> };
}
interface StatsBucket {
  bucket: string;
  sent: number;
  delivered: number;
  bounced: number;
  deferred: number;
  rejected: number;
  outcomes: number;
  bouncedRate: number | null;
}
interface Stats {
  buckets: StatsBucket[];
}

const HOUR = 3600_000;

/** The latest numeric value of a field over a node's series of a family. */
export function latest(node: ClusterNode, family: string, field: string): number | null {
  const v = node.families[family]?.[0]?.[field];
  return typeof v === 'number' ? v : null;
}

/** The agent command for a new node: a key with the ingest scope, then system metrics pushed as JSON. */
export function AgentHint() {
  const origin = window.location.origin;
  return (
    <div class="empty-state">
      <p>No node has reported yet. Opsdeck records its own host when self-monitoring is on (<code>OPSDECK_SELF_MONITOR</code>); other hosts push their metrics with an API key that has the <code>ingest</code> scope:</p>
      <pre>{`curl -s -X POST ${origin}/api/v1/api-keys -H "authorization: Bearer $TOKEN" \\
  -H 'content-type: application/json' -d '{"name":"node agent","scopes":["ingest"]}'
curl -s -X POST ${origin}/api/v1/metrics -H "authorization: Bearer odk_…" \\
  -H 'content-type: application/json' \\
  -d '{"type":"system","data":{"nodeId":"mta-1","cpuPercent":12.5,"ramPercent":40}}'`}</pre>
      <p>The mail-cluster agent and home-lab collection over SSH are described in the README and docs/homelab.md.</p>
    </div>
  );
}

function Stat(props: { label: string; value: string; tone?: 'ok' | 'warn' | 'bad' | undefined; sub?: string | undefined; href?: string }) {
  const body = (
    <div class={`stat ${props.tone ?? ''}`} data-stat={props.label}>
      <span class="label">{props.label}</span>
      <span class="value">{props.value}</span>
      {props.sub && <span class="sub">{props.sub}</span>}
    </div>
  );
  return props.href ? <Link href={props.href} class="stat-link">{body}</Link> : body;
}

export function OverviewPage({ time }: PageProps) {
  const cluster = useData((signal) => api<ClusterStatus>('/api/v1/cluster/status?pageSize=500', { signal }), []);
  // The key figures are of the last hour until now, whatever range the charts show.
  const now = Date.now();
  const lastHour = useData((signal) => api<Stats>(`/api/v1/email/stats?from=${new Date(now - HOUR).toISOString()}&to=${new Date(now).toISOString()}&resolution=auto`, { signal }), [Math.floor(now / 60_000)]);
  const range = useData((signal) => api<Stats>(`/api/v1/email/stats?from=${time.from.toISOString()}&to=${time.to.toISOString()}&resolution=auto`, { signal }), [time.from.getTime(), time.to.getTime()]);
  const alerts = useData((signal) => api<{ items: AlertEvent[]; total: number }>('/api/v1/alerts?status=firing,acknowledged&pageSize=5', { signal }), []);
  const ips = useData(
    async (signal) => {
      const [listed, all] = await Promise.all([api<{ total: number }>('/api/v1/ips?listed=true&limit=1', { signal }), api<{ total: number }>('/api/v1/ips?limit=1', { signal })]);
      return { listed: listed.total, total: all.total };
    },
    [],
  );

  const c = cluster.data;
  const hour = (lastHour.data?.buckets ?? []).reduce((a, b) => ({ sent: a.sent + b.sent, delivered: a.delivered + b.delivered, bounced: a.bounced + b.bounced, outcomes: a.outcomes + b.outcomes }), { sent: 0, delivered: 0, bounced: 0, outcomes: 0 });
  const deliveredRate = hour.outcomes ? (hour.delivered / hour.outcomes) * 100 : null;
  const bounceRate = hour.outcomes ? (hour.bounced / hour.outcomes) * 100 : null;
  const queue = c ? c.items.reduce((n, node) => n + (latest(node, 'zonemta', 'queueQueued') ?? 0) + (latest(node, 'zonemta', 'queueDeferred') ?? 0), 0) : null;
  const hasQueue = c ? c.items.some((node) => node.families.zonemta) : false;
  const firing = alerts.data?.items.filter((a) => a.status === 'firing') ?? [];
  const critical = firing.some((a) => a.severity === 'critical');
  const health = !c ? null : critical || (c.summary.total > 0 && c.summary.ok === 0) ? 'CRITICAL' : c.summary.stale > 0 || (alerts.data?.total ?? 0) > 0 ? 'WARNING' : 'OK';

  const buckets = range.data?.buckets ?? [];
  const t = buckets.map((b) => new Date(b.bucket).getTime());
  const throughput: Series[] = [
    { label: 'delivered', time: t, values: buckets.map((b) => b.delivered) },
    { label: 'bounced', time: t, values: buckets.map((b) => b.bounced) },
    { label: 'deferred', time: t, values: buckets.map((b) => b.deferred) },
  ];
  const bounce: Series[] = [{ label: 'bounce rate', time: t, values: buckets.map((b) => (b.bouncedRate === null ? null : b.bouncedRate * 100)) }];
  const error = cluster.error ?? lastHour.error ?? alerts.error ?? ips.error;

  return (
    <section class="page overview">
      <h1>Overview</h1>
      {error && <p class="error">{error}</p>}
      <div class="stats">
        <Stat label="Cluster health" value={health ?? '…'} tone={health === 'OK' ? 'ok' : health === 'WARNING' ? 'warn' : health ? 'bad' : undefined} />
        <Stat label="Nodes online" value={c ? `${c.summary.ok}/${c.summary.total}` : '…'} tone={c && c.summary.ok < c.summary.total ? 'warn' : undefined} href="/nodes" />
        <Stat label="Emails sent (1h)" value={formatNumber(hour.sent)} />
        <Stat label="Delivered (1h)" value={formatPercent(deliveredRate)} sub={`${formatNumber(hour.delivered)} delivered`} />
        <Stat label="Bounce rate (1h)" value={formatPercent(bounceRate)} tone={bounceRate !== null && bounceRate > 5 ? 'bad' : undefined} />
        <Stat label="Queue size" value={hasQueue ? formatNumber(queue) : '–'} tone={queue !== null && queue > 10_000 ? 'warn' : undefined} sub={hasQueue ? undefined : 'no ZoneMTA node'} />
        <Stat label="Blacklisted IPs" value={ips.data ? `${ips.data.listed}/${ips.data.total}` : '…'} tone={ips.data && ips.data.listed > 0 ? 'bad' : undefined} />
        <Stat label="Active alerts" value={alerts.data ? String(alerts.data.total) : '…'} tone={alerts.data && alerts.data.total > 0 ? 'bad' : 'ok'} href="/alerts" />
      </div>
      <div class="grid2">
        <Chart title="Email throughput" unit="messages" series={throughput} tz={time.tz} from={time.from} to={time.to} fill />
        <Chart title="Bounce rate" unit="percent" series={bounce} tz={time.tz} from={time.from} to={time.to} threshold={5} />
      </div>
      {buckets.length === 0 && range.data && <p class="hint">No email events in this range. Mail events arrive from the ZoneMTA plugin (<code>POST /api/v1/events/ingest</code>), the GELF receiver or <code>POST /api/v1/events/email</code> (docs/integrations.md).</p>}
      <h2>Node health</h2>
      {c && c.items.length === 0 && <AgentHint />}
      <div class="health-grid">
        {c?.items.map((n) => (
          <Link href={`/nodes/${encodeURIComponent(n.id)}`} class={`cell ${n.health}`} title={`${n.id}: ${n.health}, last seen ${formatAge(n.ageSeconds)}`}>
            <strong>{n.id}</strong>
            <span>{n.role ?? '—'}</span>
            <span>CPU {formatPercent(latest(n, 'system', 'cpuPercent'), 0)}</span>
          </Link>
        ))}
      </div>
      <h2>Recent alerts</h2>
      {alerts.data && alerts.data.items.length === 0 && <p class="hint">No active alerts.</p>}
      <ul class="alert-list">
        {alerts.data?.items.map((a) => (
          <li>
            <SeverityBadge severity={a.severity} /> <span class="msg">{a.alertName}: {a.message}</span> <time>{formatTime(a.firedAt ?? a.createdAt, time.tz)}</time>
          </li>
        ))}
      </ul>
    </section>
  );
}
