/**
 * The MongoDB replica set as the agents report it (GET /api/v1/mongodb/cluster-status): one
 * line for the set (primary, lag, oplog window, problems) and a row per member. Shown on the
 * Nodes page when any node reports the mongodb family; nothing otherwise.
 */
import { api } from '../api.ts';
import { useData } from '../data.ts';
import { formatAge, formatNumber, formatPercent } from '../format.ts';
import { Link } from '../link.tsx';

interface Member {
  nodeId: string;
  hostname: string | null;
  role: string | null;
  status: string;
  ageSeconds: number | null;
  replLagSeconds: number | null;
  opsPerSecond: number | null;
  connectionsPercent: number | null;
  cachePercent: number | null;
  oplogWindowHours: number | null;
}

interface MongoStatus {
  nodes: Member[];
  replicaSet: { members: number; primaries: string[]; hasPrimary: boolean; multiplePrimaries: boolean; staleCount: number; laggingCount: number; worstLagSeconds: number | null; shortestOplogWindowHours: number | null; status: string; problems: string[] };
  lagThresholdSeconds: number;
}

/** A status word's colour: ok, something to watch, or broken. */
export function stateClass(status: string): string {
  return status === 'ok' || status === 'healthy' ? 'state-ok' : status === 'lagging' || status === 'degraded' || status === 'warning' ? 'state-warn' : 'state-bad';
}

export function MongoPanel() {
  const st = useData((signal) => api<MongoStatus>('/api/v1/mongodb/cluster-status', { signal }), []);
  const s = st.data;
  if (st.error) return <p class="error">{st.error}</p>;
  if (!s || s.nodes.length === 0) return null;
  const rs = s.replicaSet;
  return (
    <section class="mongo" data-panel="mongodb">
      <h2>MongoDB replica set <span class={`badge ${stateClass(rs.status)}`}>{rs.status}</span></h2>
      <p class="hint">
        {rs.members} members · primary {rs.primaries.length ? rs.primaries.join(', ') : 'none'} · worst lag {rs.worstLagSeconds === null ? '–' : `${formatNumber(rs.worstLagSeconds, 1)} s`} (threshold {s.lagThresholdSeconds} s) · shortest oplog window {rs.shortestOplogWindowHours === null ? '–' : `${formatNumber(rs.shortestOplogWindowHours, 1)} h`}
      </p>
      {rs.problems.length > 0 && (
        <ul class="problems">
          {rs.problems.map((p) => <li>{p}</li>)}
        </ul>
      )}
      <div class="table-wrap">
        <table class="table">
          <thead>
            <tr><th>Member</th><th>Role</th><th>Status</th><th>Lag</th><th>Ops/s</th><th>Connections</th><th>Cache</th><th>Oplog window</th><th>Last sample</th></tr>
          </thead>
          <tbody>
            {s.nodes.map((m) => (
              <tr data-member={m.nodeId}>
                <td><Link href={`/nodes/${encodeURIComponent(m.nodeId)}`}>{m.nodeId}</Link></td>
                <td>{m.role ?? '—'}</td>
                <td><span class={`badge ${stateClass(m.status)}`}>{m.status}</span></td>
                <td>{m.replLagSeconds === null ? '–' : `${formatNumber(m.replLagSeconds, 1)} s`}</td>
                <td>{formatNumber(m.opsPerSecond, 1)}</td>
                <td>{formatPercent(m.connectionsPercent)}</td>
                <td>{formatPercent(m.cachePercent)}</td>
                <td>{m.oplogWindowHours === null ? '–' : `${formatNumber(m.oplogWindowHours, 1)} h`}</td>
                <td>{formatAge(m.ageSeconds)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
