/** One node: its inventory and charts of every family it reports (system metrics first). */
import { api } from '../api.ts';
import { Chart, hasValues, type Series } from '../chart.tsx';
import { families, fetchSeries, useData, type FamilyInfo, type NodeSeries } from '../data.ts';
import { formatAge, formatNumber, formatTime } from '../format.ts';
import type { TimeView } from '../time.ts';
import type { PageProps } from './index.ts';
/** A process as GET /api/v1/nodes/{id}/processes answers it (the service's view). */
import type { ProcessView as Process } from '../../../src/modules/nodes/service.ts';
import type { ClusterStatus } from './overview.tsx';

/** The system family's charts: fields drawn together share a unit. */
export const SYSTEM_CHARTS: { title: string; unit: string; fields: [string, string][] }[] = [
  { title: 'CPU', unit: 'percent', fields: [['cpuPercent', 'busy'], ['cpuIowaitPercent', 'iowait']] },
  { title: 'Memory', unit: 'percent', fields: [['ramPercent', 'used']] },
  { title: 'Disk space', unit: 'percent', fields: [['diskPercent', 'used']] },
  { title: 'Network', unit: 'bytes/s', fields: [['netRxBytesSec', 'received'], ['netTxBytesSec', 'sent']] },
  { title: 'Disk I/O', unit: 'bytes/s', fields: [['diskReadBytesSec', 'read'], ['diskWriteBytesSec', 'written']] },
  { title: 'Load', unit: 'load', fields: [['load1m', '1 min'], ['load5m', '5 min'], ['load15m', '15 min']] },
  { title: 'TCP connections', unit: 'connections', fields: [['tcpEstablished', 'established'], ['tcpTimeWait', 'time-wait']] },
];

function seriesOf(s: NodeSeries | undefined, field: string, label: string): Series {
  return { label, time: s?.time ?? [], values: s?.fields[field] ?? [] };
}

function FamilyCharts({ family, nodeId, time }: { family: FamilyInfo; nodeId: string; time: TimeView }) {
  const numeric = family.fields.filter((f) => f.type !== 'text' && f.type !== 'boolean' && f.unit !== 'label');
  const wanted = family.key === 'system' ? SYSTEM_CHARTS.flatMap((c) => c.fields.map(([f]) => f)) : numeric.slice(0, 12).map((f) => f.field);
  const data = useData((signal) => fetchSeries(family.key, { nodeIds: [nodeId], fields: wanted, from: time.from, to: time.to, signal }), [family.key, nodeId, time.from.getTime(), time.to.getTime()]);
  const series = data.data?.series ?? [];
  // A family may have several series per node (one per identity, e.g. per core or per zone).
  const label = (s: NodeSeries) => Object.entries(s.identity).filter(([k]) => k !== 'nodeId' && k !== family.node).map(([, v]) => v).join(' ') || nodeId;
  const charts = family.key === 'system'
    ? SYSTEM_CHARTS.map((c) => ({ title: c.title, unit: c.unit, series: c.fields.map(([f, l]) => seriesOf(series[0], f, l)) }))
    : numeric.slice(0, 12).map((f) => ({ title: f.field, unit: f.unit, series: series.length ? series.map((s) => seriesOf(s, f.field, label(s))) : [seriesOf(undefined, f.field, nodeId)] }));
  // Beyond the system charts, a field without any value in the range is named, not drawn.
  const shown = family.key === 'system' || !data.data ? charts : charts.filter((c) => hasValues(c.series));
  const blank = family.key === 'system' || !data.data ? [] : charts.filter((c) => !hasValues(c.series)).map((c) => c.title);
  return (
    <section class="family" data-family={family.key}>
      <h2>{family.title} <small>{family.key}{data.data ? ` · ${data.data.resolution}` : ''}</small></h2>
      {data.error && <p class="error">{data.error}</p>}
      <div class="grid2">
        {shown.map((c) => <Chart title={c.title} unit={c.unit} series={c.series} tz={time.tz} from={time.from} to={time.to} />)}
      </div>
      {blank.length > 0 && <p class="hint">No values in this range: {blank.join(', ')}.</p>}
    </section>
  );
}


/** The processes the node's agent watches (its latest report), or how to get them. */
function Processes({ nodeId, time }: { nodeId: string; time: TimeView }) {
  const list = useData((signal) => api<{ items: Process[] }>(`/api/v1/nodes/${encodeURIComponent(nodeId)}/processes`, { signal }), [nodeId, time.from.getTime()]);
  const items = list.data?.items ?? [];
  return (
    <section class="processes" data-panel="processes">
      <h2>Processes</h2>
      {list.error && <p class="error">{list.error}</p>}
      {list.data && items.length === 0 && (
        <p class="hint">No process list from this node. The agent sends one with its system metrics: a <code>processes</code> array (name, running, pid, cpuPercent, memoryMB) in the rows it posts to <code>/api/v1/metrics/system</code>.</p>
      )}
      {items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr><th>Process</th><th>State</th><th>PID</th><th>CPU</th><th>Memory</th><th>Reported</th></tr>
            </thead>
            <tbody>
              {items.map((p) => (
                <tr data-process={p.name}>
                  <td>{p.name}</td>
                  <td><span class={`badge ${p.running ? 'state-ok' : 'state-bad'}`}>{p.running ? 'running' : 'not running'}</span></td>
                  <td>{p.pid ?? '–'}</td>
                  <td>{p.cpuPercent === null ? '–' : `${formatNumber(p.cpuPercent, 1)} %`}</td>
                  <td>{p.memoryMB === null ? '–' : `${formatNumber(p.memoryMB, 0)} MB`}</td>
                  <td>{formatTime(p.reportedAt, time.tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

export function NodePage({ params, time }: PageProps) {
  const id = params.id!;
  const node = useData((signal) => api<{ id: string; hostname: string | null; role: string | null; status: string; health: string; addresses: Record<string, unknown>; labels: Record<string, unknown>; lastSeen: string | null; registeredAt: string }>(`/api/v1/nodes/${encodeURIComponent(id)}`, { signal }), [id]);
  const status = useData((signal) => api<ClusterStatus>(`/api/v1/cluster/status?nodeId=${encodeURIComponent(id)}`, { signal }), [id]);
  const fams = useData(() => families(), []);
  const reported = Object.keys(status.data?.items[0]?.families ?? {});
  const shown = (fams.data ?? []).filter((f) => reported.includes(f.key))
    // System metrics first, the others in the order GET /api/v1/metrics lists them (a stable sort).
    .sort((a, b) => Number(b.key === 'system') - Number(a.key === 'system'));
  const n = node.data;
  return (
    <section class="page node">
      <h1>{id}</h1>
      {node.error && <p class="error">{node.error}</p>}
      {n && (
        <dl class="facts">
          <dt>Health</dt><dd><span class={`dot ${n.health}`} /> {n.health} ({n.status})</dd>
          <dt>Role</dt><dd>{n.role ?? '—'}</dd>
          <dt>Host name</dt><dd>{n.hostname ?? '—'}</dd>
          <dt>Last seen</dt><dd>{formatTime(n.lastSeen, time.tz)} ({formatAge(status.data?.items[0]?.ageSeconds)})</dd>
          <dt>Registered</dt><dd>{formatTime(n.registeredAt, time.tz)}</dd>
          {Object.entries(n.labels).map(([k, v]) => <><dt>{k}</dt><dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd></>)}
        </dl>
      )}
      <Processes nodeId={id} time={time} />
      {status.data && shown.length === 0 && <p class="hint">This node has not reported any metric family yet.</p>}
      {shown.map((f) => <FamilyCharts family={f} nodeId={id} time={time} />)}
    </section>
  );
}
