/**
 * Home lab: the devices collected over SSH (or pushing), and one device with its last
 * collections, containers, drives (SMART health and its history), I/O breakdown and
 * "collect now" for operators (docs/homelab.md).
 */
import { useState } from 'preact/hooks';
import { api, can } from '../../api.ts';
import { Chart, type Series } from '../../chart.tsx';
import { tick, useData } from '../../data.ts';
import { formatBytes, formatNumber, formatPercent, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import type { TimeView } from '../../time.ts';
import type { PageProps } from '../index.ts';
import type { DeviceView as Device } from '../../../../src/modules/homelab/devices.ts';
import { errorsOf, FieldError } from '../../components/form.tsx';
import { Pager } from '../../components/pager.tsx';
import { Table } from '../../components/table.tsx';
import { Badge, Command, formatDuration, type PageEnvelope } from './ui.tsx';

export type { Device };
interface Container { time: string; containerId: string; name: string | null; image: string | null; status: string | null; state: string | null; runtime: string | null; cpuPercent: number | null; memoryUsageBytes: number | null; memoryLimitBytes: number | null }
interface Drive { time: string; driveName: string; model: string | null; serialNumber: string | null; protocol: string | null; temperatureCelsius: number | null; powerOnHours: number | null; isHealthy: boolean | null; reallocatedSectors: number | null; pendingSectors: number | null }
interface Io { time: string; kind: 'disk' | 'interface' | 'filesystem'; name: string; readBytesPerSec: number | null; writeBytesPerSec: number | null; rxBytesPerSec: number | null; txBytesPerSec: number | null; rxErrors: number | null; txErrors: number | null; sizeBytes: number | null; usedBytes: number | null; usedPercent: number | null }
interface AuditRow { time: string; operationId: string; dataType: string; collectionMethod: string; collectionSource: string | null; cacheHit: boolean; durationMs: number | null; status: string; errorMessage: string | null; warnings: string[]; recordsCreated: number | null }
interface Operation { operationId: string; dataType: string; status: string; durationMs: number; error: string | null; warnings: string[] }

const DATA_TYPES = ['system', 'containers', 'drives', 'config'] as const;
const enc = encodeURIComponent;

export function LabNav({ current }: { current: 'devices' | 'configs' }) {
  return (
    <nav class="subnav" aria-label="Home lab">
      <Link href="/lab" class={current === 'devices' ? 'active' : ''}>Devices</Link>
      <Link href="/lab/configs" class={current === 'configs' ? 'active' : ''}>Configuration changes</Link>
    </nav>
  );
}

export function StatusBadge({ status }: { status: string | null }) {
  if (!status) return <Badge kind="none">never collected</Badge>;
  return <Badge kind={status}>{status === 'success' ? 'ok' : status}</Badge>;
}

export function DevicesPage({ time, query }: PageProps) {
  const page = Math.max(1, Number(query.get('page')) || 1);
  const list = useData((signal) => api<PageEnvelope<Device>>(`/api/v1/devices?page=${page}&pageSize=50`, { signal }), [page]);
  return (
    <section class="page lab">
      <h1>Home lab</h1>
      <LabNav current="devices" />
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.total === 0 && (
        <div class="empty-state">
          <p>No devices yet. Register one (an admin) and put the answer's <code>data.publicKey</code> in the device's <code>authorized_keys</code> (docs/homelab.md):</p>
          <Command>{`curl -X POST /api/v1/devices -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n  -d '{"id":"nas","address":"192.168.1.20","username":"monitor","generate":true}'`}</Command>
          <p>A device SSH cannot reach pushes the same outputs to <code>POST /api/v1/devices/&#123;id&#125;/push</code> with an ingest API key.</p>
        </div>
      )}
      {list.data && list.data.total > 0 && (
        <Table
          items={list.data.items}
          head={<><th>Device</th><th>Type</th><th>Address</th><th>Last collection</th><th>When</th><th>Last success</th><th>Error</th></>}
          row={(d) => (
            <tr data-device={d.id}>
              <td><Link href={`/lab/devices/${enc(d.id)}`}>{d.id}</Link>{d.hostname ? <div class="hint">{d.hostname}</div> : null}</td>
              <td>{d.deviceType ?? '—'}</td>
              <td>{d.username}@{d.address}:{d.port}</td>
              <td><StatusBadge status={d.lastCollectionStatus} />{d.hostKey.state === 'mismatch' && <> <Badge kind="failed">host key changed</Badge></>}{!d.enabled && <> <Badge kind="none">paused</Badge></>}</td>
              <td>{formatTime(d.lastCollectionAt, time.tz)}</td>
              <td>{formatTime(d.lastSuccessfulCollection, time.tz)}</td>
              <td class="wrap">{d.lastError ?? ''}</td>
            </tr>
          )}
        />
      )}
      <Pager page={page} totalPages={list.data?.totalPages} />
    </section>
  );
}

/** "Collect now": the data types to collect, validated before sending; the operations' outcome shown. */
function CollectNow({ deviceId }: { deviceId: string }) {
  const [types, setTypes] = useState<string[]>([...DATA_TYPES]);
  const [force, setForce] = useState(true);
  const [busy, setBusy] = useState(false);
  const [problem, setProblem] = useState<unknown>(null);
  const [local, setLocal] = useState<string | null>(null);
  const [done, setDone] = useState<Operation[] | null>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    setDone(null);
    if (types.length === 0) {
      setLocal('Choose at least one data type.');
      return;
    }
    setLocal(null);
    setBusy(true);
    try {
      const answer = await api<{ data: Operation[] }>(`/api/v1/devices/${enc(deviceId)}/collect`, { method: 'POST', body: { dataTypes: types, force_refresh: force } });
      setDone(answer.data);
      tick.set(tick.get() + 1);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="lab-form" data-form="collect" onSubmit={(e) => void submit(e)}>
      <div class="field">
        <span>
          {DATA_TYPES.map((t) => (
            <label><input type="checkbox" name="dataTypes" value={t} checked={types.includes(t)} onChange={() => setTypes(types.includes(t) ? types.filter((x) => x !== t) : [...types, t])} /> {t}</label>
          ))}
        </span>
        <FieldError messages={[local, errorsOf(problem).dataTypes]} />
      </div>
      <label><input type="checkbox" name="force" checked={force} onChange={() => setForce(!force)} /> bypass the cache</label>
      <button type="submit" class="primary" data-action="collect" disabled={busy}>{busy ? 'Collecting…' : 'Collect now'}</button>
      {errorsOf(problem)[''] && <p class="error">{errorsOf(problem)['']}</p>}
      {done && (
        <p class="notice" role="status">
          {done.map((o) => `${o.dataType}: ${o.status}${o.error ? ` (${o.error})` : ''}`).join(' · ')}
        </p>
      )}
    </form>
  );
}

function DriveCharts({ deviceId, drive, time }: { deviceId: string; drive: string; time: TimeView }) {
  const hist = useData(
    (signal) => api<{ data: Drive[] }>(`/api/v1/devices/${enc(deviceId)}/drives/history?drive=${enc(drive)}&from=${time.from.toISOString()}&to=${time.to.toISOString()}&limit=10000`, { signal }),
    [deviceId, drive, time.from.getTime(), time.to.getTime()],
  );
  const rows = [...(hist.data?.data ?? [])].reverse();
  const t = rows.map((r) => new Date(r.time).getTime());
  const series = (label: string, pick: (r: Drive) => number | null): Series[] => [{ label, time: t, values: rows.map(pick) }];
  // Sector counts are drawn when some sample is above 0; a count that stayed 0 is said in words.
  const counts: [string, string, (r: Drive) => number | null][] = [
    ['reallocated sectors', 'reallocated', (r) => r.reallocatedSectors],
    ['pending sectors', 'pending', (r) => r.pendingSectors],
  ];
  const quiet = counts.filter(([, , pick]) => !rows.some((r) => (pick(r) ?? 0) > 0)).map(([title]) => `${title[0]!.toUpperCase()}${title.slice(1)}`);
  return (
    <div class="grid2" data-drive-charts={drive}>
      {hist.error && <p class="error">{hist.error}</p>}
      <Chart title={`${drive} temperature`} unit="°C" series={series('temperature', (r) => r.temperatureCelsius)} tz={time.tz} from={time.from} to={time.to} height={160} />
      {counts.map(([title, label, pick]) =>
        rows.some((r) => (pick(r) ?? 0) > 0) ? (
          <Chart title={`${drive} ${title}`} unit="sectors" series={series(label, pick)} tz={time.tz} from={time.from} to={time.to} height={160} />
        ) : null,
      )}
      {hist.data && rows.length > 0 && quiet.length > 0 && <p class="hint">{quiet.join(', ')}: 0 in every sample of this range.</p>}
    </div>
  );
}

function IoCharts({ deviceId, time }: { deviceId: string; time: TimeView }) {
  const q = (kind: string) => `/api/v1/devices/${enc(deviceId)}/io?kind=${kind}&from=${time.from.toISOString()}&to=${time.to.toISOString()}&limit=10000`;
  const disks = useData((signal) => api<{ data: Io[] }>(q('disk'), { signal }), [deviceId, time.from.getTime(), time.to.getTime()]);
  const nics = useData((signal) => api<{ data: Io[] }>(q('interface'), { signal }), [deviceId, time.from.getTime(), time.to.getTime()]);
  const byName = (rows: Io[], fields: [keyof Io, string][]): Series[] => {
    const names = [...new Set(rows.map((r) => r.name))].sort();
    return names.flatMap((n) => {
      const mine = rows.filter((r) => r.name === n);
      return fields.map(([f, l]) => ({ label: `${n} ${l}`, time: mine.map((r) => new Date(r.time).getTime()), values: mine.map((r) => r[f] as number | null) }));
    });
  };
  return (
    <div class="grid2">
      {(disks.error ?? nics.error) && <p class="error">{disks.error ?? nics.error}</p>}
      <Chart title="Disk throughput" unit="bytes/s" series={byName(disks.data?.data ?? [], [['readBytesPerSec', 'read'], ['writeBytesPerSec', 'written']])} tz={time.tz} from={time.from} to={time.to} />
      <Chart title="Network per interface" unit="bytes/s" series={byName(nics.data?.data ?? [], [['rxBytesPerSec', 'received'], ['txBytesPerSec', 'sent']])} tz={time.tz} from={time.from} to={time.to} />
    </div>
  );
}

export function DevicePage({ user, time, params }: PageProps) {
  const id = params.id!;
  const base = `/api/v1/devices/${enc(id)}`;
  const dev = useData((signal) => api<{ data: Device }>(base, { signal }), [id]);
  const audit = useData((signal) => api<PageEnvelope<AuditRow>>(`/api/v1/collection/audit?device_id=${enc(id)}&from=${new Date(Date.now() - 30 * 86_400_000).toISOString()}&pageSize=12`, { signal }), [id]);
  const containers = useData((signal) => api<{ data: Container[] }>(`${base}/containers`, { signal }), [id]);
  const drives = useData((signal) => api<{ data: Drive[] }>(`${base}/drives`, { signal }), [id]);
  const io = useData((signal) => api<{ data: Io[] }>(`${base}/io`, { signal }), [id]);
  const d = dev.data?.data;
  const fs = (io.data?.data ?? []).filter((r) => r.kind === 'filesystem');
  return (
    <section class="page lab device">
      <h1>{id}</h1>
      <LabNav current="devices" />
      {dev.error && <p class="error">{dev.error}</p>}
      {d && (
        <dl class="facts-grid">
          <dt>Last collection</dt><dd><StatusBadge status={d.lastCollectionStatus} /> {formatTime(d.lastCollectionAt, time.tz)}</dd>
          <dt>Last success</dt><dd>{formatTime(d.lastSuccessfulCollection, time.tz)}</dd>
          {d.lastError && <><dt>Last error</dt><dd class="error">{d.lastError}</dd></>}
          <dt>Reached as</dt><dd>{d.username}@{d.address}:{d.port}{d.enabled ? '' : ' (scheduled collection paused)'}</dd>
          <dt>Type</dt><dd>{d.deviceType ?? '—'}</dd>
          <dt>Host name</dt><dd>{d.hostname ?? '—'}</dd>
          <dt>Host key</dt><dd>{d.hostKey.state}{d.hostKey.sha256 ? ` ${d.hostKey.sha256}` : ''}{d.hostKey.state === 'mismatch' ? ` — presented ${d.hostKey.presentedSha256 ?? '?'}: check it on the device, then POST ${base}/host-key/accept` : ''}</dd>
          <dt>Configuration</dt><dd><Link href={`/lab/devices/${enc(id)}/configs`}>tracked files and their history</Link>{d.configPaths.length ? ` (${d.configPaths.length} read over SSH)` : ''}</dd>
          {Object.entries(d.metadata).map(([k, v]) => <><dt>{k}</dt><dd>{typeof v === 'string' ? v : JSON.stringify(v)}</dd></>)}
        </dl>
      )}
      {d && can(user, 'operator') && <CollectNow deviceId={id} />}

      <h2>Recent collections</h2>
      {audit.error && <p class="error">{audit.error}</p>}
      {audit.data && audit.data.items.length === 0 && <p class="hint">No collection in the last 30 days: the homelab-collection job collects what is due every 10 s, or collect now.</p>}
      {audit.data && audit.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="collections">
            <thead><tr><th>When</th><th>Data</th><th>Outcome</th><th>How</th><th>Duration</th><th>Records</th><th>Warnings / error</th></tr></thead>
            <tbody>
              {audit.data.items.map((a) => (
                <tr data-operation={a.operationId}>
                  <td>{formatTime(a.time, time.tz)}</td>
                  <td>{a.dataType}</td>
                  <td><StatusBadge status={a.status} />{a.cacheHit ? ' (cache)' : ''}</td>
                  <td>{a.collectionMethod}{a.collectionSource && a.collectionSource !== a.collectionMethod ? ` · ${a.collectionSource}` : ''}</td>
                  <td>{formatDuration(a.durationMs)}</td>
                  <td>{formatNumber(a.recordsCreated)}</td>
                  <td class="wrap">
                    {a.errorMessage && <div class="error">{a.errorMessage}</div>}
                    {a.warnings.length > 0 && <ul class="warnings">{a.warnings.map((w) => <li>{w}</li>)}</ul>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      <h2>Containers</h2>
      {containers.error && <p class="error">{containers.error}</p>}
      {containers.data && containers.data.data.length === 0 && <p class="hint">No container reported. The device needs <code>docker</code> or <code>podman</code> on the collecting user's PATH (or push <code>containers.dockerPs</code>).</p>}
      {containers.data && containers.data.data.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="containers">
            <thead><tr><th>Name</th><th>Image</th><th>State</th><th>Status (restarts show here)</th><th>CPU</th><th>Memory</th></tr></thead>
            <tbody>
              {containers.data.data.map((c) => (
                <tr data-container={c.containerId}>
                  <td class="wrap">{c.name ?? c.containerId}</td>
                  <td class="wrap">{c.image ?? '—'}</td>
                  <td><Badge kind={c.state === 'running' ? 'ok' : c.state === 'restarting' || c.state === 'paused' ? 'warn' : 'bad'}>{c.state ?? 'unknown'}</Badge></td>
                  <td class="wrap">{c.status ?? '—'}</td>
                  <td>{formatPercent(c.cpuPercent)}</td>
                  <td>{formatBytes(c.memoryUsageBytes)}{c.memoryLimitBytes ? ` / ${formatBytes(c.memoryLimitBytes)}` : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="hint">As of {formatTime(containers.data.data[0]?.time, time.tz)}.</p>
        </div>
      )}

      <h2>Drives</h2>
      {drives.error && <p class="error">{drives.error}</p>}
      {drives.data && drives.data.data.length === 0 && <p class="hint">No drive reported. The device needs <code>smartctl</code> (root or the disk group), or push <code>drives: [&#123;name, smartctl&#125;]</code>.</p>}
      {drives.data && drives.data.data.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="drives">
            <thead><tr><th>Drive</th><th>Model</th><th>SMART</th><th>Temperature</th><th>Power-on</th><th>Reallocated</th><th>Pending</th><th>As of</th></tr></thead>
            <tbody>
              {drives.data.data.map((r) => (
                <tr data-drive={r.driveName}>
                  <td>{r.driveName}</td>
                  <td class="wrap">{r.model ?? '—'}{r.serialNumber ? ` (${r.serialNumber})` : ''}</td>
                  <td data-smart>{r.isHealthy === null ? <Badge kind="none">unknown</Badge> : r.isHealthy ? <Badge kind="ok">PASSED</Badge> : <Badge kind="bad">FAILING</Badge>}</td>
                  <td>{r.temperatureCelsius === null ? '–' : `${r.temperatureCelsius} °C`}</td>
                  <td>{r.powerOnHours === null ? '–' : `${formatNumber(r.powerOnHours)} h`}</td>
                  <td>{formatNumber(r.reallocatedSectors)}</td>
                  <td>{formatNumber(r.pendingSectors)}</td>
                  <td>{formatTime(r.time, time.tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {drives.data?.data.map((r) => <DriveCharts deviceId={id} drive={r.driveName} time={time} />)}

      <h2>I/O breakdown</h2>
      {io.error && <p class="error">{io.error}</p>}
      {io.data && io.data.data.length === 0 && <p class="hint">No per-disk, per-interface or per-filesystem rows yet: they come with each system collection (rates need two).</p>}
      {io.data && io.data.data.length > 0 && <IoCharts deviceId={id} time={time} />}
      {fs.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="filesystems">
            <thead><tr><th>Mount point</th><th>Used</th><th>Size</th><th>Use</th></tr></thead>
            <tbody>
              {fs.map((r) => (
                <tr><td class="wrap">{r.name}</td><td>{formatBytes(r.usedBytes)}</td><td>{formatBytes(r.sizeBytes)}</td><td>{formatPercent(r.usedPercent)}</td></tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
