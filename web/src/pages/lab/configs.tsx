/**
 * Configuration history (docs/config-tracking.md): change events of every device with
 * their risk and restart need, and a device's tracked files with a side-by-side diff of
 * any two snapshots of a file (the API's diff answer, drawn as text lines).
 */
import { api, can } from '../../api.ts';
import { useData } from '../../data.ts';
import { formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import { LabNav } from './devices.tsx';
import { SideBySideDiff } from './diff.tsx';
import { useActions } from '../../components/action.ts';
import { Pager } from '../../components/pager.tsx';
import { Table } from '../../components/table.tsx';
import { Badge, RiskBadge, type PageEnvelope } from './ui.tsx';

type Risk = 'LOW' | 'MEDIUM' | 'HIGH';
interface KeyChange { key: string; change: 'added' | 'removed' | 'changed'; old?: string | null; new?: string | null; masked?: true }
interface RuleMatch { rule: string; risk: Risk; reason: string; keys: string[] }
interface ChangeEvent {
  id: string;
  nodeId: string;
  snapshotId: string;
  time: string;
  configType: string;
  filePath: string;
  changeType: string;
  affectedServices: string[];
  requiresRestart: boolean;
  restartServices: string[];
  changesSummary: { lines?: { added: number; removed: number; changed: number }; rules?: RuleMatch[]; restart?: unknown };
  riskLevel: Risk;
  processed: boolean;
}
interface TrackedFile { filePath: string; configType: string; snapshots: number; changes: number; firstSeen: string; lastSnapshotId: string; lastSnapshotAt: string; riskLevel: Risk }
interface Snapshot { id: string; time: string; filePath: string; configType: string; changeType: 'created' | 'modified'; contentHash: string; fileSizeBytes: number | null; collectionSource: string; affectedServices: string[]; requiresRestart: boolean; riskLevel: Risk }
interface Diff {
  filePath: string;
  configType: string;
  from: Snapshot;
  to: Snapshot;
  identical: boolean;
  lines: { added: number; removed: number; changed: number };
  unifiedDiff: string;
  truncated: boolean;
  parsed: boolean;
  keyChanges: KeyChange[];
  rules: RuleMatch[];
  riskLevel: Risk;
}

const enc = encodeURIComponent;
const RISKS: Risk[] = ['LOW', 'MEDIUM', 'HIGH'];

function Lines({ l }: { l: { added: number; removed: number; changed: number } | undefined }) {
  if (!l) return <>–</>;
  return <span title="added / removed / changed lines">+{l.added} −{l.removed} ~{l.changed}</span>;
}

function Restart({ required, services }: { required: boolean; services: string[] }) {
  return required ? <Badge kind="warn">restart: {services.join(', ') || 'yes'}</Badge> : <span class="hint">no restart</span>;
}

export function ConfigChangesPage({ user, time, query }: PageProps) {
  const page = Math.max(1, Number(query.get('page')) || 1);
  const minRisk = RISKS.find((r) => r === query.get('minRisk')) ?? null;
  const unprocessed = query.get('processed') === 'false';
  const device = query.get('device') ?? '';
  const { message, act } = useActions();
  const q = new URLSearchParams({ page: String(page), pageSize: '50', from: time.from.toISOString(), to: time.to.toISOString() });
  if (minRisk) q.set('minRisk', minRisk);
  if (unprocessed) q.set('processed', 'false');
  if (device) q.set('nodeId', device);
  const list = useData((signal) => api<PageEnvelope<ChangeEvent>>(`/api/v1/config-changes?${q}`, { signal }), [q.toString()]);
  const mark = (c: ChangeEvent) =>
    act(`${c.filePath} on ${c.nodeId}: marked ${c.processed ? 'not processed' : 'processed'}`, () => api(`/api/v1/config-changes/${c.id}/processed`, { method: 'PUT', body: { processed: !c.processed } }));
  return (
    <section class="page lab configs">
      <h1>Configuration changes</h1>
      <LabNav current="configs" />
      <div class="toolbar">
        <input type="search" aria-label="Device" placeholder="Device id" value={device} onChange={(e) => setQuery({ device: (e.target as HTMLInputElement).value.trim() || null, page: null })} />
        <select aria-label="Risk" value={minRisk ?? ''} onChange={(e) => setQuery({ minRisk: (e.target as HTMLSelectElement).value || null, page: null })}>
          <option value="">Every risk</option>
          {RISKS.map((r) => <option value={r}>{r} or higher</option>)}
        </select>
        <label><input type="checkbox" checked={unprocessed} onChange={() => setQuery({ processed: unprocessed ? null : 'false', page: null })} /> not processed only</label>
      </div>
      {message && <p class="notice" role="status">{message}</p>}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.total === 0 && (
        <p class="hint">
          No configuration change in this time range. Files are tracked when a device lists them in <code>configPaths</code> (<code>PATCH /api/v1/devices/&#123;id&#125;</code>) or pushes them as <code>configFiles</code>; the first snapshot is the baseline, later changes show here.
        </p>
      )}
      {list.data && list.data.total > 0 && (
        <Table
          items={list.data.items}
          head={<><th>When</th><th>Device</th><th>File</th><th>Risk</th><th>Restart</th><th>Lines</th><th>Why</th><th /></>}
          row={(c) => (
            <tr data-change={c.id}>
              <td>{formatTime(c.time, time.tz)}</td>
              <td><Link href={`/lab/devices/${enc(c.nodeId)}`}>{c.nodeId}</Link></td>
              <td class="wrap"><Link href={`/lab/devices/${enc(c.nodeId)}/configs?path=${enc(c.filePath)}&to=${c.snapshotId}`}>{c.filePath}</Link> <small class="hint">{c.configType}</small></td>
              <td><RiskBadge risk={c.riskLevel} />{c.processed ? <small class="hint"> processed</small> : null}</td>
              <td><Restart required={c.requiresRestart} services={c.restartServices} /></td>
              <td><Lines l={c.changesSummary.lines} /></td>
              <td class="wrap">{(c.changesSummary.rules ?? []).map((r) => r.reason).join('; ')}</td>
              <td>{can(user, 'operator') && <button type="button" data-action="processed" onClick={() => void mark(c)}>{c.processed ? 'Reopen' : 'Mark processed'}</button>}</td>
            </tr>
          )}
        />
      )}
      <Pager page={page} totalPages={list.data?.totalPages} />
    </section>
  );
}

function DiffView({ deviceId, from, to, tz }: { deviceId: string; from: string; to: string; tz: 'local' | 'utc' }) {
  const diff = useData((signal) => api<Diff>(`/api/v1/devices/${enc(deviceId)}/configs/diff?from=${from}&to=${to}`, { signal }), [deviceId, from, to]);
  const d = diff.data;
  return (
    <div class="config-diff">
      {diff.error && <p class="error">{diff.error}</p>}
      {d && (
        <>
          <p>
            <RiskBadge risk={d.riskLevel} /> <Restart required={d.to.requiresRestart} services={d.to.affectedServices} /> <Lines l={d.lines} /> · {formatTime(d.from.time, tz)} → {formatTime(d.to.time, tz)}
          </p>
          {d.rules.length > 0 && <ul>{d.rules.map((r) => <li><RiskBadge risk={r.risk} /> {r.reason}</li>)}</ul>}
          {d.keyChanges.length > 0 && (
            <div class="table-wrap">
              <table class="table" data-table="key-changes">
                <thead><tr><th>Key</th><th>Change</th><th>Old</th><th>New</th></tr></thead>
                <tbody>
                  {d.keyChanges.map((k) => (
                    <tr><td class="wrap">{k.key}</td><td>{k.change}</td><td class="wrap">{k.masked ? '(secret)' : (k.old ?? '')}</td><td class="wrap">{k.masked ? '(secret)' : (k.new ?? '')}</td></tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {d.identical && <p class="hint">The two snapshots have the same content.</p>}
          {!d.identical && d.unifiedDiff === '' && <p class="hint">The file was rewritten from end to end: too many edits for a line diff ({d.lines.removed} lines removed, {d.lines.added} added).</p>}
          {d.unifiedDiff !== '' && <SideBySideDiff unified={d.unifiedDiff} />}
          {d.truncated && d.unifiedDiff !== '' && <p class="hint">The diff is cut at 64 KiB.</p>}
        </>
      )}
    </div>
  );
}

export function DeviceConfigsPage({ time, params, query }: PageProps) {
  const id = params.id!;
  const path = query.get('path');
  const files = useData((signal) => api<PageEnvelope<TrackedFile>>(`/api/v1/devices/${enc(id)}/configs?pageSize=500`, { signal }), [id]);
  const snaps = useData(
    (signal) => (path ? api<PageEnvelope<Snapshot>>(`/api/v1/devices/${enc(id)}/configs/snapshots?path=${enc(path)}&pageSize=100`, { signal }) : Promise.resolve(null)),
    [id, path],
  );
  const list = snaps.data?.items ?? [];
  // Default: the newest snapshot (or the one asked for) against the one before it.
  const toId = query.get('to') ?? list[0]?.id ?? null;
  const toIndex = list.findIndex((s) => s.id === toId);
  const fromId = query.get('from') ?? (toIndex >= 0 ? list[toIndex + 1]?.id : undefined) ?? null;
  return (
    <section class="page lab device-configs">
      <h1>{id}: configuration</h1>
      <LabNav current="configs" />
      <p><Link href={`/lab/devices/${enc(id)}`}>‹ {id}</Link></p>
      {files.error && <p class="error">{files.error}</p>}
      {files.data && files.data.total === 0 && <p class="hint">No configuration file of this device has been collected. List the files to track in <code>configPaths</code> (<code>PATCH /api/v1/devices/{id}</code>, an admin) or push them as <code>configFiles</code>.</p>}
      {files.data && files.data.total > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="files">
            <thead><tr><th>File</th><th>Type</th><th>Snapshots</th><th>Changes</th><th>Last change</th><th>Risk of the last</th></tr></thead>
            <tbody>
              {files.data.items.map((f) => (
                <tr data-file={f.filePath} class={f.filePath === path ? 'selected' : ''}>
                  <td class="wrap"><Link href={`/lab/devices/${enc(id)}/configs?path=${enc(f.filePath)}`}>{f.filePath}</Link></td>
                  <td>{f.configType}</td>
                  <td>{f.snapshots}</td>
                  <td>{f.changes}</td>
                  <td>{formatTime(f.lastSnapshotAt, time.tz)}</td>
                  <td><RiskBadge risk={f.riskLevel} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {path && (
        <>
          <h2>{path}</h2>
          {snaps.error && <p class="error">{snaps.error}</p>}
          {snaps.data && list.length < 2 && <p class="hint">Only the baseline snapshot so far: a diff needs a change of the file.</p>}
          {list.length >= 2 && (
            <div class="toolbar">
              <label>From <select aria-label="From snapshot" value={fromId ?? ''} onChange={(e) => setQuery({ from: (e.target as HTMLSelectElement).value || null })}>
                {list.map((s) => <option value={s.id}>{formatTime(s.time, time.tz)} ({s.changeType})</option>)}
              </select></label>
              <label>To <select aria-label="To snapshot" value={toId ?? ''} onChange={(e) => setQuery({ to: (e.target as HTMLSelectElement).value || null })}>
                {list.map((s) => <option value={s.id}>{formatTime(s.time, time.tz)} ({s.changeType})</option>)}
              </select></label>
            </div>
          )}
          {fromId && toId && fromId !== toId && <DiffView deviceId={id} from={fromId} to={toId} tz={time.tz} />}
        </>
      )}
    </section>
  );
}
