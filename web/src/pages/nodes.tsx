/**
 * Nodes: every node with its latest CPU, RAM, disk, network and load; sortable, filterable;
 * 2–5 selected → comparison. Above the list, the fleet chart: one chosen metric with one
 * series per node of the (filtered) list over the shell's range, read in one columnar
 * request at the API's auto resolution.
 */
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Chart } from '../chart.tsx';
import { fetchSeries, useData } from '../data.ts';
import { formatAge, formatBytes, formatNumber, formatPercent } from '../format.ts';
import { Link } from '../link.tsx';
import { navigate, setQuery } from '../router.ts';
import type { PageProps } from './index.ts';
import { AgentHint, latest, type ClusterNode, type ClusterStatus } from './overview.tsx';
import { MongoPanel } from './mongodb.tsx';

interface Column {
  key: string;
  label: string;
  value: (n: ClusterNode) => number | string | null;
  render: (n: ClusterNode) => string;
}

const sys = (f: string) => (n: ClusterNode) => latest(n, 'system', f);

const COLUMNS: Column[] = [
  { key: 'id', label: 'Node', value: (n) => n.id, render: (n) => n.id },
  { key: 'role', label: 'Role', value: (n) => n.role ?? '', render: (n) => n.role ?? '—' },
  { key: 'cpu', label: 'CPU', value: sys('cpuPercent'), render: (n) => formatPercent(sys('cpuPercent')(n)) },
  { key: 'ram', label: 'RAM', value: sys('ramPercent'), render: (n) => formatPercent(sys('ramPercent')(n)) },
  { key: 'disk', label: 'Disk', value: sys('diskPercent'), render: (n) => formatPercent(sys('diskPercent')(n)) },
  { key: 'rx', label: 'Net ↓', value: sys('netRxBytesSec'), render: (n) => formatBytes(sys('netRxBytesSec')(n), '/s') },
  { key: 'tx', label: 'Net ↑', value: sys('netTxBytesSec'), render: (n) => formatBytes(sys('netTxBytesSec')(n), '/s') },
  { key: 'load', label: 'Load 1/5/15', value: sys('load1m'), render: (n) => [sys('load1m')(n), sys('load5m')(n), sys('load15m')(n)].map((v) => formatNumber(v, 2)).join(' / ') },
  { key: 'tcp', label: 'TCP', value: sys('tcpEstablished'), render: (n) => formatNumber(sys('tcpEstablished')(n)) },
  { key: 'seen', label: 'Last seen', value: (n) => n.ageSeconds, render: (n) => formatAge(n.ageSeconds) },
];

/** The metrics the fleet chart offers: field of the system family, label, unit. */
export const FLEET_METRICS = [
  { field: 'cpuPercent', label: 'CPU', unit: 'percent' },
  { field: 'ramPercent', label: 'RAM', unit: 'percent' },
  { field: 'diskPercent', label: 'Disk', unit: 'percent' },
  { field: 'load1m', label: 'Load 1 min', unit: 'load' },
] as const;

/** One metric of every node shown: a single request per range or metric change (never one per node); the filter only picks series. */
function FleetChart({ ids, time, metric }: { ids: string[]; time: PageProps['time']; metric: string }) {
  const m = FLEET_METRICS.find((x) => x.field === metric) ?? FLEET_METRICS[0];
  const data = useData((signal) => fetchSeries('system', { fields: [m.field], from: time.from, to: time.to, signal }), [m.field, time.from.getTime(), time.to.getTime()]);
  const byNode = new Map((data.data?.series ?? []).map((s) => [s.identity.nodeId ?? '', s]));
  const series = ids.filter((id) => byNode.has(id)).map((id) => ({ label: id, time: byNode.get(id)!.time, values: byNode.get(id)!.fields[m.field] ?? [] }));
  return (
    <section class="fleet" data-panel="fleet">
      <div class="toolbar">
        <select aria-label="Fleet metric" value={m.field} onChange={(e) => setQuery({ metric: (e.target as HTMLSelectElement).value })}>
          {FLEET_METRICS.map((x) => <option value={x.field}>{x.label}</option>)}
        </select>
        {data.data && <span class="hint">{series.length} node{series.length === 1 ? '' : 's'} · {data.data.resolution}</span>}
      </div>
      {data.error && <p class="error">{data.error}</p>}
      {data.data && <Chart title={`Fleet ${m.label}`} unit={m.unit} series={series} tz={time.tz} from={time.from} to={time.to} height={260} />}
    </section>
  );
}

function Bar({ pct }: { pct: number | null }) {
  if (pct === null) return null;
  return <span class={`bar ${pct > 90 ? 'bad' : pct > 75 ? 'warn' : ''}`}><span style={{ width: `${Math.min(100, Math.max(0, pct))}%` }} /></span>;
}

export function NodesPage({ query, time }: PageProps) {
  const cluster = useData((signal) => api<ClusterStatus>('/api/v1/cluster/status?pageSize=500', { signal }), []);
  const [selected, setSelected] = useState<string[]>([]);
  const sort = query.get('sort') ?? 'id';
  const dir = query.get('dir') === 'desc' ? -1 : 1;
  const text = query.get('q') ?? '';
  const role = query.get('role') ?? '';
  const nodes = cluster.data?.items ?? [];
  const roles = [...new Set(nodes.map((n) => n.role).filter((r): r is string => !!r))].sort();
  const col = COLUMNS.find((c) => c.key === sort) ?? COLUMNS[0]!;
  const shown = nodes
    .filter((n) => (!role || n.role === role) && (!text || `${n.id} ${n.hostname ?? ''} ${n.role ?? ''}`.toLowerCase().includes(text.toLowerCase())))
    .sort((a, b) => {
      const x = col.value(a);
      const y = col.value(b);
      if (x === y) return a.id < b.id ? -1 : 1;
      if (x === null) return 1;
      if (y === null) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  const toggle = (id: string) => setSelected(selected.includes(id) ? selected.filter((s) => s !== id) : [...selected, id]);

  return (
    <section class="page nodes">
      <h1>Nodes</h1>
      {cluster.error && <p class="error">{cluster.error}</p>}
      <div class="toolbar">
        <input type="search" placeholder="Filter by id, host or role" aria-label="Filter nodes" value={text} onInput={(e) => setQuery({ q: (e.target as HTMLInputElement).value })} />
        <select aria-label="Role" value={role} onChange={(e) => setQuery({ role: (e.target as HTMLSelectElement).value })}>
          <option value="">Every role</option>
          {roles.map((r) => <option value={r}>{r}</option>)}
        </select>
        <button type="button" class="primary" data-action="compare" disabled={selected.length < 2 || selected.length > 5} title="Select 2 to 5 nodes" onClick={() => navigate(`/nodes/compare?nodes=${selected.map(encodeURIComponent).join(',')}`)}>
          Compare {selected.length ? `(${selected.length})` : ''}
        </button>
      </div>
      {cluster.data && nodes.length === 0 && <AgentHint />}
      {cluster.data && shown.length > 0 && <FleetChart ids={shown.map((n) => n.id)} time={time} metric={query.get('metric') ?? 'cpuPercent'} />}
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr>
              <th><span class="sr">Select</span></th>
              <th><span class="sr">Health</span></th>
              {COLUMNS.map((c) => (
                <th aria-sort={sort === c.key ? (dir === 1 ? 'ascending' : 'descending') : undefined}>
                  <button type="button" class="sort" onClick={() => setQuery({ sort: c.key, dir: sort === c.key && dir === 1 ? 'desc' : null })}>
                    {c.label}{sort === c.key ? (dir === 1 ? ' ▲' : ' ▼') : ''}
                  </button>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shown.map((n) => (
              <tr data-node={n.id}>
                <td><input type="checkbox" aria-label={`Select ${n.id}`} checked={selected.includes(n.id)} onChange={() => toggle(n.id)} /></td>
                <td><span class={`dot ${n.health}`} title={n.health} /></td>
                {COLUMNS.map((c) => (
                  <td class={`col-${c.key}`}>
                    {c.key === 'id' ? <Link href={`/nodes/${encodeURIComponent(n.id)}`}>{n.id}</Link> : c.render(n)}
                    {(c.key === 'cpu' || c.key === 'ram' || c.key === 'disk') && <Bar pct={c.value(n) as number | null} />}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {nodes.some((n) => n.role === 'mongodb' || 'mongodb' in n.families) && <MongoPanel />}
    </section>
  );
}
