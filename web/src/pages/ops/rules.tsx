/**
 * Alert rules: the list (enabled, severity, kind, last evaluation), and the editor with a
 * structured condition builder — the kind picks its fields (those of the API's condition
 * schema, src/modules/alerts/conditions.ts); a metric condition offers the families and
 * their value columns of GET /api/v1/metrics. Checked before sending; the API's field
 * errors (body.condition.threshold …) show next to their field.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, can } from '../../api.ts';
import { families, tick, useData, type FamilyInfo } from '../../data.ts';
import { formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { navigate } from '../../router.ts';
import { SeverityBadge } from '../alerts.tsx';
import type { PageProps } from '../index.ts';
import { pageOf, Pager } from '../../components/pager.tsx';
import { Table } from '../../components/table.tsx';
import { errorsOf, Field, inputValue, otherErrors, type FieldErrors } from '../../components/form.tsx';
import { listOf, pairsText, parsePairs } from './form.tsx';
import { AlertsTabs } from './tabs.tsx';

export interface Rule {
  id: number;
  name: string;
  description: string;
  severity: 'info' | 'warning' | 'critical';
  condition: Record<string, unknown> & { kind: string };
  forSeconds: number;
  scope: { kind: 'all' | 'role' | 'node' | 'service'; values: string[] };
  noDataPolicy: string;
  channels: number[];
  repeatIntervalSeconds: number;
  labels: Record<string, string>;
  enabled: boolean;
  muted: boolean;
  isDefault: boolean;
  lastEvaluatedAt: string | null;
  lastEvaluation: { state?: string; open?: number; series?: number; error?: string; message?: string } | null;
}

const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='];
const AGGREGATIONS = ['avg', 'min', 'max', 'last', 'sum', 'count', 'predict_linear'];

/** One field of a condition kind: its path inside the condition and how its text becomes JSON. */
interface CondField {
  path: string;
  label: string;
  /** number/int: a number; threshold: a number when it reads as one, else the text; list: comma-separated; pairs: name=value; checks: some of options. */
  type: 'number' | 'int' | 'threshold' | 'text' | 'select' | 'list' | 'pairs' | 'checks';
  options?: string[];
  optional?: boolean;
  min?: number;
  max?: number;
  initial?: string;
  hint?: string;
}

const cmp: CondField = { path: 'comparison', label: 'Comparison', type: 'select', options: COMPARISONS, initial: '>' };
const windowField: CondField = { path: 'windowSeconds', label: 'Window (seconds)', type: 'int', min: 15, max: 604_800, initial: '300' };
const silent: CondField = { path: 'silentSeconds', label: 'Silent for (seconds)', type: 'int', min: 15, max: 604_800, initial: '300' };

/** The condition kinds of the API and their fields (the metric kind's family/column choices come from GET /api/v1/metrics). */
export const KINDS: Record<string, { label: string; fields: CondField[] }> = {
  metric: {
    label: 'Metric threshold',
    fields: [
      { path: 'family', label: 'Metric family', type: 'select', options: [] },
      { path: 'column', label: 'Column', type: 'select', options: [] },
      { path: 'divideBy', label: 'Divided by (column)', type: 'select', options: [], optional: true },
      { path: 'aggregation', label: 'Aggregation', type: 'select', options: AGGREGATIONS, initial: 'avg' },
      { path: 'horizonSeconds', label: 'Horizon (seconds, predict_linear)', type: 'int', optional: true, min: 60 },
      cmp,
      { path: 'threshold', label: 'Threshold', type: 'threshold', hint: 'A number; text for a text column with == or !=' },
      { path: 'recoveryThreshold', label: 'Recovery threshold', type: 'number', optional: true, hint: 'Resolves only past this value (hysteresis)' },
      windowField,
    ],
  },
  stream: {
    label: 'Event stream ratio or count',
    fields: [
      { path: 'stream', label: 'Stream', type: 'text', initial: 'email' },
      { path: 'measure', label: 'Measure', type: 'select', options: ['ratio', 'count'], initial: 'ratio' },
      { path: 'match.column', label: 'Counted: column', type: 'text' },
      { path: 'match.values', label: 'Counted: values (comma-separated)', type: 'list' },
      { path: 'of.column', label: 'Share of: column', type: 'text', optional: true },
      { path: 'of.values', label: 'Share of: values', type: 'list', optional: true },
      { path: 'per', label: 'Per', type: 'select', options: ['cluster', 'node'], initial: 'cluster' },
      { path: 'minEvents', label: 'Minimum events', type: 'int', min: 0, initial: '0' },
      cmp,
      { path: 'threshold', label: 'Threshold', type: 'number', hint: 'ratio: percent (0 … 100)' },
      { path: 'recoveryThreshold', label: 'Recovery threshold', type: 'number', optional: true },
      windowField,
    ],
  },
  node_silence: { label: 'Node silent', fields: [silent] },
  probe: {
    label: 'Probe down or degraded',
    fields: [
      { path: 'statuses', label: 'Fires on', type: 'checks', options: ['down', 'degraded'], initial: 'down' },
      { path: 'match', label: 'Service labels (name=value, one a line)', type: 'pairs', optional: true },
    ],
  },
  role_down: { label: 'Every node of a role down', fields: [{ path: 'role', label: 'Role', type: 'text' }, silent] },
  mongodb_no_primary: { label: 'MongoDB without primary', fields: [] },
  dnsbl_listed: { label: 'Sending IP on a DNSBL', fields: [{ path: 'lists', label: 'Lists', type: 'select', options: ['critical', 'any'], initial: 'critical' }] },
  dnsbl_node_ips: { label: 'Listed IPs of a node', fields: [cmp, { path: 'threshold', label: 'Threshold (IPs)', type: 'int', min: 0 }] },
  warmup_bounce: { label: 'Warm-up bounce rate', fields: [cmp, { path: 'threshold', label: 'Threshold (%)', type: 'number' }, windowField] },
  warmup_held: { label: 'Warm-up held', fields: [] },
  user_abuse: { label: 'User abuse', fields: [] },
  cert_expiry: { label: 'Certificate expiry', fields: [{ path: 'withinDays', label: 'Within (days)', type: 'int', min: 1, max: 365, initial: '14' }] },
  domain_auth: {
    label: 'Sending-domain authentication',
    fields: [
      { path: 'require', label: 'Required', type: 'checks', options: ['spf', 'dkim', 'dmarc'], initial: 'spf,dkim,dmarc' },
      { path: 'minDmarcPolicy', label: 'Minimum DMARC policy', type: 'select', options: ['none', 'quarantine', 'reject'], initial: 'none' },
      { path: 'errorChecks', label: 'Failed DNS checks in a row', type: 'int', min: 1, max: 1000, initial: '3' },
    ],
  },
  config_change: { label: 'Configuration change', fields: [{ path: 'minRisk', label: 'Minimum risk', type: 'select', options: ['LOW', 'MEDIUM', 'HIGH'], initial: 'HIGH' }] },
  device_host_key_changed: { label: 'Device host key changed', fields: [] },
  device_collection_failed: { label: 'Device collection failed', fields: [] },
  smart_failing: { label: 'Drive SMART failing', fields: [] },
  smart_temperature: { label: 'Drive temperature', fields: [{ path: 'threshold', label: 'Threshold (°C)', type: 'int', min: 0, max: 150, initial: '55' }] },
  smart_sectors_rising: { label: 'Drive sectors rising', fields: [{ path: 'attribute', label: 'Attribute', type: 'select', options: ['reallocated', 'pending'], initial: 'reallocated' }, windowField] },
};

/** A condition as one line of text (the list's "condition" column). */
export function describeCondition(c: Record<string, unknown> & { kind: string }): string {
  if (c.kind === 'metric') return `${String(c.aggregation)}(${String(c.family)}.${String(c.column)}${c.divideBy ? ` / ${String(c.divideBy)}` : ''}) ${String(c.comparison)} ${JSON.stringify(c.threshold)} over ${String(c.windowSeconds)} s`;
  if (c.kind === 'stream') {
    const m = (x: unknown) => (x && typeof x === 'object' ? `${String((x as { column?: unknown }).column)} in ${((x as { values?: unknown[] }).values ?? []).join('|')}` : 'all');
    const what = c.measure === 'count' ? `count(${String(c.stream)}: ${m(c.match)})` : `ratio(${String(c.stream)}: ${m(c.match)} of ${m(c.of)})`;
    return `${what} per ${String(c.per)} ${String(c.comparison)} ${String(c.threshold)}${c.measure === 'ratio' ? ' %' : ''} over ${String(c.windowSeconds)} s`;
  }
  const rest = Object.entries(c).filter(([k]) => k !== 'kind').map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return `${c.kind}${rest.length ? ` (${rest.join(', ')})` : ''}`;
}

function lastState(r: Rule): { text: string; cls: string } {
  if (!r.enabled) return { text: 'disabled', cls: '' };
  const e = r.lastEvaluation;
  if (!e || !r.lastEvaluatedAt) return { text: 'not evaluated yet', cls: '' };
  if (e.state === 'error') return { text: `error: ${e.error ?? ''}`, cls: 'state-error' };
  if (e.state === 'no_data_yet') return { text: 'no data yet', cls: '' };
  if ((e.open ?? 0) > 0) return { text: `firing (${e.open})`, cls: 'state-firing' };
  return { text: e.state === 'no_data' ? 'no data' : `ok (${e.series ?? 0} series)`, cls: e.state === 'ok' ? 'state-ok' : '' };
}

export function RulesPage({ user, time, query }: PageProps) {
  const page = pageOf(query);
  const list = useData((signal) => api<{ items: Rule[]; total: number; totalPages: number }>(`/api/v1/alert-rules?page=${page}&pageSize=50`, { signal }), [page]);
  const mayChange = can(user, 'operator');
  const [message, setMessage] = useState<string | null>(null);
  const toggle = async (r: Rule) => {
    setMessage(null);
    try {
      await api(`/api/v1/alert-rules/${r.id}/${r.enabled ? 'disable' : 'enable'}`, { method: 'POST' });
    } catch (err) {
      setMessage(Object.values(errorsOf(err)).join('; '));
    }
    tick.set(tick.get() + 1);
  };
  return (
    <section class="page rules">
      <div class="page-head">
        <h1>Alert rules</h1>
        {mayChange && <Link href="/alerts/rules/new" class="button primary">New rule</Link>}
      </div>
      <AlertsTabs current="rules" />
      {message && <p class="error" role="alert">{message}</p>}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.items.length === 0 && (
        <p class="empty-state">No alert rules. {mayChange ? 'Create one with “New rule”, or ' : 'An operator creates them here or with '}POST /api/v1/alert-rules (docs/alerts.md).</p>
      )}
      {list.data && list.data.items.length > 0 && (
        <Table
          items={list.data.items}
          head={<><th>Enabled</th><th>Severity</th><th>Rule</th><th>Kind</th><th>Last state</th><th>Evaluated</th></>}
          row={(r) => {
            const st = lastState(r);
            return (
              <tr data-rule={r.name}>
                <td>{mayChange ? <input type="checkbox" aria-label={`Enabled: ${r.name}`} checked={r.enabled} onChange={() => void toggle(r)} /> : r.enabled ? 'yes' : 'no'}</td>
                <td><SeverityBadge severity={r.severity} /></td>
                <td class="wrap"><Link href={`/alerts/rules/${r.id}`}>{r.name}</Link>{r.muted ? ' (muted)' : ''}<div class="cond">{describeCondition(r.condition)}</div></td>
                <td>{KINDS[r.condition.kind]?.label ?? r.condition.kind}</td>
                <td class={`wrap ${st.cls}`}>{st.text}</td>
                <td><time>{formatTime(r.lastEvaluatedAt, time.tz)}</time></td>
              </tr>
            );
          }}
        />
      )}
      <Pager page={page} totalPages={list.data?.totalPages} />
    </section>
  );
}

// ------------------------------------------------------------------ editor

interface Draft {
  name: string;
  description: string;
  severity: string;
  kind: string;
  /** condition field path → its text */
  cond: Record<string, string>;
  forSeconds: string;
  scopeKind: string;
  scopeValues: string;
  noDataPolicy: string;
  repeatIntervalSeconds: string;
  labels: string;
  channels: number[];
  enabled: boolean;
}

function initialCond(kind: string): Record<string, string> {
  return Object.fromEntries((KINDS[kind]?.fields ?? []).map((f) => [f.path, f.initial ?? '']));
}

const emptyDraft = (): Draft => ({
  name: '', description: '', severity: 'warning', kind: 'metric', cond: initialCond('metric'), forSeconds: '0', scopeKind: 'all', scopeValues: '', noDataPolicy: 'nodata', repeatIntervalSeconds: '1800', labels: '', channels: [], enabled: true,
});

function get(obj: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
}

function draftOf(r: Rule): Draft {
  const kind = r.condition.kind;
  const cond: Record<string, string> = {};
  for (const f of KINDS[kind]?.fields ?? []) {
    const v = get(r.condition, f.path);
    if (v === undefined || v === null) cond[f.path] = '';
    else if (f.type === 'pairs') cond[f.path] = pairsText(v as Record<string, string>);
    else if (Array.isArray(v)) cond[f.path] = v.join(f.type === 'checks' ? ',' : ', ');
    else cond[f.path] = String(v);
  }
  return {
    name: r.name, description: r.description, severity: r.severity, kind, cond, forSeconds: String(r.forSeconds), scopeKind: r.scope.kind, scopeValues: r.scope.values.join(', '),
    noDataPolicy: r.noDataPolicy, repeatIntervalSeconds: String(r.repeatIntervalSeconds), labels: pairsText(r.labels), channels: r.channels, enabled: r.enabled,
  };
}

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = obj;
  for (const k of keys.slice(0, -1)) o = (o[k] ??= {}) as Record<string, unknown>;
  o[keys[keys.length - 1]!] = value;
}

/** The rule body of a draft, and the problems found before sending (paths as the API names them). */
export function buildRule(d: Draft): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const condition: Record<string, unknown> = { kind: d.kind };
  const intOf = (path: string, text: string, min?: number, max?: number): number | undefined => {
    const n = Number(text);
    if (text.trim() === '' || !Number.isInteger(n)) errors[path] = 'a whole number';
    else if ((min !== undefined && n < min) || (max !== undefined && n > max)) errors[path] = `between ${min ?? '…'} and ${max ?? '…'}`;
    else return n;
    return undefined;
  };
  for (const f of KINDS[d.kind]?.fields ?? []) {
    const text = (d.cond[f.path] ?? '').trim();
    const path = `condition.${f.path}`;
    if (text === '') {
      if (!f.optional) errors[path] = 'required';
      continue;
    }
    if (f.type === 'int') {
      const n = intOf(path, text, f.min, f.max);
      if (n !== undefined) setPath(condition, f.path, n);
    } else if (f.type === 'number') {
      const n = Number(text);
      if (!Number.isFinite(n)) errors[path] = 'a number';
      else setPath(condition, f.path, n);
    } else if (f.type === 'threshold') {
      // A text column compared with == / != takes a string; which columns are text, the API knows.
      const n = Number(text);
      setPath(condition, f.path, Number.isFinite(n) ? n : text);
    } else if (f.type === 'list' || f.type === 'checks') {
      const items = listOf(text);
      if (items.length === 0 && !f.optional) errors[path] = 'at least one';
      setPath(condition, f.path, items);
    } else if (f.type === 'pairs') {
      const pairs = parsePairs(text);
      if (!pairs) errors[path] = 'name=value, one a line';
      else setPath(condition, f.path, pairs);
    } else setPath(condition, f.path, text);
  }
  if (d.kind === 'probe' && !d.cond.statuses) errors['condition.statuses'] = 'at least one';
  if (d.kind === 'metric' && condition.aggregation === 'predict_linear' && condition.horizonSeconds === undefined) errors['condition.horizonSeconds'] = 'predict_linear needs a horizon';
  if (!d.name.trim()) errors.name = 'required';
  const labels = parsePairs(d.labels);
  if (!labels) errors.labels = 'name=value, one a line';
  else for (const k of Object.keys(labels)) if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(k)) errors.labels = `${k}: a label name is letters, digits and _`;
  const scopeValues = listOf(d.scopeValues);
  if (d.scopeKind !== 'all' && scopeValues.length === 0) errors['scope.values'] = `a ${d.scopeKind} scope needs at least one value`;
  const body = {
    name: d.name.trim(),
    description: d.description,
    severity: d.severity,
    condition,
    forSeconds: intOf('forSeconds', d.forSeconds, 0, 604_800) ?? 0,
    scope: { kind: d.scopeKind, values: d.scopeKind === 'all' ? [] : scopeValues },
    noDataPolicy: d.noDataPolicy,
    channels: d.channels,
    repeatIntervalSeconds: intOf('repeatIntervalSeconds', d.repeatIntervalSeconds, 60, 604_800) ?? 1800,
    labels: labels ?? {},
    enabled: d.enabled,
  };
  return { body, errors };
}

interface ChannelRef { id: number; name: string; kind: string }

export function RuleEditPage({ user, params }: PageProps) {
  const isNew = params.id === undefined;
  const id = params.id;
  const [draft, setDraft] = useState<Draft | null>(isNew ? emptyDraft() : null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [busy, setBusy] = useState(false);
  const [fams, setFams] = useState<FamilyInfo[]>([]);
  const [channels, setChannels] = useState<ChannelRef[]>([]);
  const [loadError, setLoadError] = useState<string | null>(null);
  const mayChange = can(user, 'operator');

  useEffect(() => {
    families().then(setFams, () => setFams([]));
    api<{ items: ChannelRef[] }>('/api/v1/notification-channels?pageSize=100').then((a) => setChannels(a.items), () => setChannels([]));
    if (!isNew) api<Rule>(`/api/v1/alert-rules/${encodeURIComponent(id ?? '')}`).then((r) => setDraft(draftOf(r)), (err: unknown) => setLoadError(Object.values(errorsOf(err)).join('; ')));
  }, [id]);

  if (loadError) return <section class="page"><h1>Alert rule</h1><p class="error">{loadError}</p></section>;
  if (!draft) return <section class="page"><h1>Alert rule</h1><p class="hint">Loading…</p></section>;

  const set = (change: Partial<Draft>) => setDraft({ ...draft, ...change });
  const setCond = (path: string, v: string) => {
    const cond = { ...draft.cond, [path]: v };
    if (path === 'family') {
      cond.column = '';
      cond.divideBy = '';
    }
    setDraft({ ...draft, cond });
  };
  const fam = fams.find((f) => f.key === draft.cond.family);
  const columns = (fam?.fields ?? []) as (FamilyInfo['fields'][number] & { column?: string })[];

  const optionsOf = (f: CondField): { value: string; label: string }[] => {
    if (draft.kind === 'metric' && f.path === 'family') return fams.filter((x) => x.fields.length > 0).map((x) => ({ value: x.key, label: x.title ? `${x.title} (${x.key})` : x.key }));
    if (draft.kind === 'metric' && (f.path === 'column' || f.path === 'divideBy')) return columns.map((c) => ({ value: c.column ?? c.field, label: `${c.column ?? c.field}${c.unit ? ` (${c.unit})` : ''}` }));
    return (f.options ?? []).map((o) => ({ value: o, label: o }));
  };

  const control = (f: CondField) => {
    const v = draft.cond[f.path] ?? '';
    const name = `condition.${f.path}`;
    if (f.type === 'select') {
      const opts = optionsOf(f);
      return (
        <select name={name} value={v} onChange={(e) => setCond(f.path, inputValue(e))}>
          {(f.optional || v === '' || !opts.some((o) => o.value === v)) && <option value="">{f.optional ? '—' : 'Choose…'}</option>}
          {v !== '' && !opts.some((o) => o.value === v) && <option value={v}>{v}</option>}
          {opts.map((o) => <option value={o.value}>{o.label}</option>)}
        </select>
      );
    }
    if (f.type === 'checks') {
      const chosen = new Set(listOf(v));
      return (
        <span class="checks">
          {(f.options ?? []).map((o) => (
            <label><input type="checkbox" name={`${name}.${o}`} checked={chosen.has(o)} onChange={(e) => {
              const next = new Set(chosen);
              if ((e.target as HTMLInputElement).checked) next.add(o);
              else next.delete(o);
              setCond(f.path, (f.options ?? []).filter((x) => next.has(x)).join(','));
            }} />{o}</label>
          ))}
        </span>
      );
    }
    if (f.type === 'pairs') return <textarea name={name} value={v} onInput={(e) => setCond(f.path, inputValue(e))} />;
    return <input name={name} inputMode={f.type === 'int' || f.type === 'number' ? 'decimal' : undefined} value={v} onInput={(e) => setCond(f.path, inputValue(e))} />;
  };

  const shownPaths = ['name', 'description', 'severity', 'condition', 'forSeconds', 'scope', 'noDataPolicy', 'repeatIntervalSeconds', 'labels', 'channels', 'enabled'];
  const submit = async (e: Event) => {
    e.preventDefault();
    const built = buildRule(draft);
    setErrors(built.errors);
    if (Object.keys(built.errors).length > 0) return;
    setBusy(true);
    try {
      const saved = await api<Rule>(isNew ? '/api/v1/alert-rules' : `/api/v1/alert-rules/${encodeURIComponent(id ?? '')}`, { method: isNew ? 'POST' : 'PUT', body: built.body });
      navigate(`/alerts/rules?saved=${encodeURIComponent(saved.name)}`);
    } catch (err) {
      setErrors(errorsOf(err));
      setBusy(false);
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the rule “${draft.name}”? Its open alerts resolve.`)) return;
    try {
      await api(`/api/v1/alert-rules/${encodeURIComponent(id ?? '')}`, { method: 'DELETE' });
      navigate('/alerts/rules');
    } catch (err) {
      setErrors(errorsOf(err));
    }
  };

  return (
    <section class="page rule-edit">
      <div class="page-head">
        <h1>{isNew ? 'New alert rule' : draft.name || 'Alert rule'}</h1>
        <Link href="/alerts/rules">All rules</Link>
      </div>
      <form class="ops-form" noValidate onSubmit={submit}>
        <fieldset disabled={!mayChange}>
          <legend>Rule</legend>
          <Field label="Name" path="name" errors={errors}><input name="name" value={draft.name} onInput={(e) => set({ name: inputValue(e) })} /></Field>
          <Field label="Severity" path="severity" errors={errors}>
            <select name="severity" value={draft.severity} onChange={(e) => set({ severity: inputValue(e) })}>
              {['info', 'warning', 'critical'].map((s) => <option value={s}>{s}</option>)}
            </select>
          </Field>
          <Field label="Description" path="description" errors={errors}><input name="description" value={draft.description} onInput={(e) => set({ description: inputValue(e) })} /></Field>
          <label class="field check"><input type="checkbox" name="enabled" checked={draft.enabled} onChange={(e) => set({ enabled: (e.target as HTMLInputElement).checked })} /> Enabled</label>
        </fieldset>
        <fieldset disabled={!mayChange} data-kind={draft.kind}>
          <legend>Condition</legend>
          <Field label="Kind" path="condition.kind" errors={errors}>
            <select name="condition.kind" value={draft.kind} onChange={(e) => {
              const kind = inputValue(e);
              setDraft({ ...draft, kind, cond: initialCond(kind) });
            }}>
              {Object.entries(KINDS).map(([k, d]) => <option value={k}>{d.label}</option>)}
            </select>
          </Field>
          {(KINDS[draft.kind]?.fields ?? []).map((f) => (
            <Field label={f.label} path={`condition.${f.path}`} errors={errors} {...(f.hint ? { hint: f.hint } : {})}>{control(f)}</Field>
          ))}
          {(KINDS[draft.kind]?.fields.length ?? 0) === 0 && <p class="hint">This kind has no settings: it fires on the state its module reports.</p>}
          <Field label="For (seconds before firing)" path="forSeconds" errors={errors}><input name="forSeconds" inputMode="numeric" value={draft.forSeconds} onInput={(e) => set({ forSeconds: inputValue(e) })} /></Field>
          <Field label="No data" path="noDataPolicy" errors={errors}>
            <select name="noDataPolicy" value={draft.noDataPolicy} onChange={(e) => set({ noDataPolicy: inputValue(e) })}>
              {['nodata', 'ok', 'alerting', 'keep_state'].map((s) => <option value={s}>{s}</option>)}
            </select>
          </Field>
        </fieldset>
        <fieldset disabled={!mayChange}>
          <legend>Scope, labels and notifications</legend>
          <Field label="Scope" path="scope.kind" errors={errors}>
            <select name="scope.kind" value={draft.scopeKind} onChange={(e) => set({ scopeKind: inputValue(e) })}>
              {['all', 'role', 'node', 'service'].map((s) => <option value={s}>{s}</option>)}
            </select>
          </Field>
          {draft.scopeKind !== 'all' && (
            <Field label={`${draft.scopeKind === 'node' ? 'Node ids' : draft.scopeKind === 'role' ? 'Roles' : 'Services'} (comma-separated)`} path="scope.values" errors={errors}>
              <input name="scope.values" value={draft.scopeValues} onInput={(e) => set({ scopeValues: inputValue(e) })} />
            </Field>
          )}
          <Field label="Labels (name=value, one a line)" path="labels" errors={errors}><textarea name="labels" value={draft.labels} onInput={(e) => set({ labels: inputValue(e) })} /></Field>
          <Field label="Repeat every (seconds)" path="repeatIntervalSeconds" errors={errors}><input name="repeatIntervalSeconds" inputMode="numeric" value={draft.repeatIntervalSeconds} onInput={(e) => set({ repeatIntervalSeconds: inputValue(e) })} /></Field>
          <Field label="Channels" path="channels" errors={errors} {...(channels.length === 0 ? { hint: 'No channels yet: add one under Alerts → Channels.' } : {})}>
            <span class="checks">
              {channels.map((c) => (
                <label><input type="checkbox" name={`channel.${c.id}`} checked={draft.channels.includes(c.id)} onChange={(e) => set({ channels: (e.target as HTMLInputElement).checked ? [...draft.channels, c.id] : draft.channels.filter((x) => x !== c.id) })} />{c.name}</label>
              ))}
            </span>
          </Field>
        </fieldset>
        {otherErrors(errors, shownPaths).map((m) => <p class="error" role="alert">{m}</p>)}
        {mayChange && (
          <div class="form-actions">
            <button type="submit" class="primary" disabled={busy}>{isNew ? 'Create rule' : 'Save rule'}</button>
            {!isNew && <button type="button" data-action="delete" onClick={() => void remove()}>Delete</button>}
          </div>
        )}
      </form>
    </section>
  );
}
