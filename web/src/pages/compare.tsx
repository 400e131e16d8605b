/** 2–5 nodes side by side: each system metric with one overlaid series per node. */
import { Chart } from '../chart.tsx';
import { fetchSeries, useData } from '../data.ts';
import { Link } from '../link.tsx';
import type { PageProps } from './index.ts';
import { SYSTEM_CHARTS } from './node.tsx';

export function ComparePage({ query, time }: PageProps) {
  const ids = (query.get('nodes') ?? '').split(',').map((s) => s.trim()).filter(Boolean).slice(0, 5);
  const fields = SYSTEM_CHARTS.flatMap((c) => c.fields.map(([f]) => f));
  const data = useData((signal) => fetchSeries('system', { nodeIds: ids, fields, from: time.from, to: time.to, signal }), [ids.join(','), time.from.getTime(), time.to.getTime()]);
  if (ids.length < 2) return <section class="page"><h1>Compare nodes</h1><p class="hint">Select 2 to 5 nodes on the <Link href="/nodes">Nodes</Link> page.</p></section>;
  const byNode = new Map((data.data?.series ?? []).map((s) => [s.identity.nodeId ?? '', s]));
  return (
    <section class="page compare">
      <h1>Compare {ids.join(', ')}</h1>
      {data.error && <p class="error">{data.error}</p>}
      <div class="grid2">
        {SYSTEM_CHARTS.flatMap((c) =>
          c.fields.map(([f, l]) => (
            <Chart
              title={c.fields.length > 1 ? `${c.title} ${l}` : c.title}
              unit={c.unit}
              tz={time.tz}
              from={time.from}
              to={time.to}
              series={ids.map((id) => ({ label: id, time: byNode.get(id)?.time ?? [], values: byNode.get(id)?.fields[f] ?? [] }))}
            />
          )),
        )}
      </div>
    </section>
  );
}
