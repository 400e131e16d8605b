/**
 * Maintenance windows (`/api/v1/maintenance-windows`, docs/alerts.md "Silences and
 * maintenance"): the list with whether each is in force now, and for operators a form to
 * create or edit one — nodes and/or services; once (start … end) or daily / weekly from a
 * start time for a duration in an IANA time zone — and deleting one (after a confirmation).
 * Start and end are entered in the shell's time zone, like the silences.
 */
import { useState } from 'preact/hooks';
import { api } from '../../api.ts';
import { useActions } from '../../components/action.ts';
import { Field, FormErrors, inputValue, PathErrors, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { Table } from '../../components/table.tsx';
import { tick, useData } from '../../data.ts';
import { formatTime } from '../../format.ts';
import { fromInputValue, toInputValue, type TimeView } from '../../time.ts';
import type { MaintenanceWindow } from '../../../../src/modules/alerts/service.ts';
import { listOf } from './form.tsx';

type Recurrence = MaintenanceWindow['recurrence'];

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const NODE_ID = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;
const HHMM = /^([01][0-9]|2[0-3]):[0-5][0-9]$/;

/** The browser's IANA time zones, or null where Intl cannot list them (then the API alone checks the zone). */
function timeZones(): string[] | null {
  const list = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf;
  if (typeof list !== 'function') return null;
  try {
    return list('timeZone');
  } catch {
    return null;
  }
}

function browserZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

interface Draft {
  name: string;
  nodeIds: string;
  services: string;
  recurrence: Recurrence;
  startsAt: string;
  endsAt: string;
  startTime: string;
  durationMinutes: string;
  weekdays: number[];
  timeZone: string;
  comment: string;
}

const emptyDraft = (tz: TimeView['tz']): Draft => ({
  name: '',
  nodeIds: '',
  services: '',
  recurrence: 'none',
  startsAt: toInputValue(new Date(), tz),
  endsAt: toInputValue(new Date(Date.now() + 2 * 3600_000), tz),
  startTime: '02:00',
  durationMinutes: '60',
  weekdays: [],
  timeZone: browserZone(),
  comment: '',
});

const draftOf = (w: MaintenanceWindow, tz: TimeView['tz']): Draft => ({
  name: w.name,
  nodeIds: w.nodeIds.join(', '),
  services: w.services.join(', '),
  recurrence: w.recurrence,
  startsAt: toInputValue(new Date(w.startsAt), tz),
  endsAt: w.endsAt ? toInputValue(new Date(w.endsAt), tz) : '',
  startTime: w.startTime ?? '02:00',
  durationMinutes: w.durationMinutes === null ? '60' : String(w.durationMinutes),
  weekdays: w.weekdays,
  timeZone: w.timeZone,
  comment: w.comment,
});

/** The request body of a draft and what is wrong with it before sending (the API's rules, field by field). */
export function buildWindow(d: Draft, tz: TimeView['tz'], zones: string[] | null): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const nodeIds = listOf(d.nodeIds);
  const services = listOf(d.services);
  if (!d.name.trim()) errors.name = 'a name';
  else if (d.name.trim().length > 200) errors.name = 'at most 200 characters';
  nodeIds.forEach((n, i) => {
    if (!NODE_ID.test(n)) errors[`nodeIds.${i}`] = `${n}: a node id (letters, digits and . _ : @ -)`;
  });
  if (services.some((s) => s.length > 100)) errors.services = 'service names of at most 100 characters';
  if (nodeIds.length === 0 && services.length === 0) errors.nodeIds = 'name at least one node or service';
  const start = fromInputValue(d.startsAt, tz);
  const end = d.endsAt ? fromInputValue(d.endsAt, tz) : null;
  if (!start) errors.startsAt = 'a date and time';
  if (d.endsAt && !end) errors.endsAt = 'a date and time';
  else if (start && end && end <= start) errors.endsAt = 'after the start';
  else if (d.recurrence === 'none' && !end) errors.endsAt = 'a one-off window needs an end';
  const minutes = Number(d.durationMinutes);
  if (d.recurrence !== 'none') {
    if (!HHMM.test(d.startTime)) errors.startTime = 'HH:MM, e.g. 02:30';
    if (!/^\d+$/.test(d.durationMinutes.trim()) || minutes < 1 || minutes > 10_080) errors.durationMinutes = 'whole minutes from 1 to 10080 (a week)';
    if (d.recurrence === 'weekly' && d.weekdays.length === 0) errors.weekdays = 'choose at least one weekday';
  }
  const zone = d.timeZone.trim();
  if (!zone) errors.timeZone = 'an IANA time zone, e.g. Europe/Berlin';
  else if (zones && zone !== 'UTC' && !zones.includes(zone)) errors.timeZone = `not a time zone this browser knows (e.g. Europe/Berlin)`;
  if (d.comment.length > 2000) errors.comment = 'at most 2000 characters';
  const recurring = d.recurrence !== 'none';
  const body: Record<string, unknown> = {
    name: d.name.trim(),
    nodeIds,
    services,
    recurrence: d.recurrence,
    startsAt: start?.toISOString(),
    endsAt: end ? end.toISOString() : null,
    startTime: recurring ? d.startTime : null,
    durationMinutes: recurring ? minutes : null,
    weekdays: d.recurrence === 'weekly' ? [...d.weekdays].sort((a, b) => a - b) : [],
    timeZone: zone,
    comment: d.comment,
  };
  return { body, errors };
}

/** "weekly Mon, Wed at 02:30 for 90 min (Europe/Berlin)" or the one-off span. */
function describeWindow(w: MaintenanceWindow, tz: TimeView['tz']): string {
  if (w.recurrence === 'none') return `${formatTime(w.startsAt, tz)} → ${formatTime(w.endsAt, tz)}`;
  const days = w.recurrence === 'weekly' ? ` ${w.weekdays.map((d) => WEEKDAYS[d] ?? String(d)).join(', ')}` : '';
  const within = `from ${formatTime(w.startsAt, tz)}${w.endsAt ? ` until ${formatTime(w.endsAt, tz)}` : ''}`;
  return `${w.recurrence}${days} at ${w.startTime ?? '?'} for ${w.durationMinutes ?? '?'} min (${w.timeZone}), ${within}`;
}

const FIELDS = ['name', 'nodeIds', 'services', 'recurrence', 'startsAt', 'endsAt', 'startTime', 'durationMinutes', 'weekdays', 'timeZone', 'comment'];

function WindowForm({ time, editing, onDone }: { time: TimeView; editing: MaintenanceWindow | null; onDone: (message: string) => void }) {
  const [draft, setDraft] = useState<Draft>(() => (editing ? draftOf(editing, time.tz) : emptyDraft(time.tz)));
  const set = (p: Partial<Draft>) => setDraft({ ...draft, ...p });
  const zones = timeZones();
  let body: Record<string, unknown> = {};
  const form = useSubmit({
    check: () => {
      const built = buildWindow(draft, time.tz, zones);
      body = built.body;
      return built.errors;
    },
    send: () =>
      editing
        ? api<MaintenanceWindow>(`/api/v1/maintenance-windows/${editing.id}`, { method: 'PUT', body })
        : api<MaintenanceWindow>('/api/v1/maintenance-windows', { method: 'POST', body }),
    done: (w) => {
      if (!editing) setDraft(emptyDraft(time.tz));
      onDone(`Maintenance window “${w.name}” ${editing ? 'saved' : 'created'}`);
    },
  });
  const { errors } = form;
  const recurring = draft.recurrence !== 'none';
  return (
    <form class="ops-form window-form" noValidate onSubmit={form.onSubmit} data-editing={editing ? String(editing.id) : undefined}>
      <fieldset>
        <legend>What it covers</legend>
        <Field label="Name" path="name" errors={errors}><input name="name" value={draft.name} onInput={(e) => set({ name: inputValue(e) })} /></Field>
        <Field label="Node ids (comma-separated)" path="nodeIds" errors={errors}><input name="nodeIds" placeholder="mx-1, mx-2" value={draft.nodeIds} onInput={(e) => set({ nodeIds: inputValue(e) })} /></Field>
        <Field label="Services (comma-separated)" path="services" errors={errors}><input name="services" placeholder="imap, smtp" value={draft.services} onInput={(e) => set({ services: inputValue(e) })} /></Field>
        <Field label="Comment" path="comment" errors={errors}><input name="comment" value={draft.comment} onInput={(e) => set({ comment: inputValue(e) })} /></Field>
      </fieldset>
      <fieldset>
        <legend>When</legend>
        <Field label="Repeats" path="recurrence" errors={errors}>
          <select name="recurrence" value={draft.recurrence} onChange={(e) => set({ recurrence: inputValue(e) as Recurrence })}>
            <option value="none">once</option>
            <option value="daily">daily</option>
            <option value="weekly">weekly</option>
          </select>
        </Field>
        <Field label={`${recurring ? 'In force from' : 'Starts'} (${time.tz === 'utc' ? 'UTC' : 'local time'})`} path="startsAt" errors={errors}><input type="datetime-local" name="startsAt" value={draft.startsAt} onInput={(e) => set({ startsAt: inputValue(e) })} /></Field>
        <Field label={`${recurring ? 'Until (optional)' : 'Ends'} (${time.tz === 'utc' ? 'UTC' : 'local time'})`} path="endsAt" errors={errors}><input type="datetime-local" name="endsAt" value={draft.endsAt} onInput={(e) => set({ endsAt: inputValue(e) })} /></Field>
        {recurring && (
          <>
            <Field label="Start time (HH:MM in its time zone)" path="startTime" errors={errors}><input type="time" name="startTime" value={draft.startTime} onInput={(e) => set({ startTime: inputValue(e) })} /></Field>
            <Field label="Duration (minutes)" path="durationMinutes" errors={errors}><input name="durationMinutes" inputMode="numeric" value={draft.durationMinutes} onInput={(e) => set({ durationMinutes: inputValue(e) })} /></Field>
          </>
        )}
        {draft.recurrence === 'weekly' && (
          <div class="field" data-field="weekdays" role="group" aria-label="Weekdays">
            <span class="field-label">Weekdays</span>
            <span class="checks">
              {WEEKDAYS.map((label, day) => (
                <label><input type="checkbox" name="weekdays" value={String(day)} checked={draft.weekdays.includes(day)} onChange={() => set({ weekdays: draft.weekdays.includes(day) ? draft.weekdays.filter((x) => x !== day) : [...draft.weekdays, day] })} /> {label}</label>
              ))}
            </span>
            <PathErrors errors={errors} path="weekdays" />
          </div>
        )}
        <Field label="Time zone (IANA)" path="timeZone" errors={errors}>
          <input name="timeZone" list="maintenance-time-zones" value={draft.timeZone} onInput={(e) => set({ timeZone: inputValue(e) })} />
        </Field>
        {zones && <datalist id="maintenance-time-zones">{zones.map((z) => <option value={z} />)}</datalist>}
      </fieldset>
      <FormErrors errors={errors} shown={FIELDS} />
      <div class="form-actions">
        <button type="submit" class="primary" disabled={form.busy}>{editing ? 'Save window' : 'Create window'}</button>
        {editing && <button type="button" data-action="cancel-edit" onClick={() => onDone('')}>Cancel</button>}
      </div>
    </form>
  );
}

export function MaintenanceWindows({ time, mayChange }: { time: TimeView; mayChange: boolean }) {
  const windows = useData((signal) => api<{ items: MaintenanceWindow[] }>('/api/v1/maintenance-windows?pageSize=100', { signal }), []);
  const [editing, setEditing] = useState<MaintenanceWindow | null>(null);
  const [deleting, setDeleting] = useState<number | null>(null);
  const { message, setMessage, act } = useActions();
  const done = (m: string) => {
    setEditing(null);
    setMessage(m || null);
    tick.set(tick.get() + 1);
  };
  const remove = (w: MaintenanceWindow) => {
    setDeleting(null);
    if (editing?.id === w.id) setEditing(null);
    return act(`Maintenance window “${w.name}” deleted`, () => api(`/api/v1/maintenance-windows/${w.id}`, { method: 'DELETE' }));
  };
  const items = windows.data?.items ?? [];
  return (
    <>
      <h2>Maintenance windows</h2>
      {message && <p class="notice" role="status" data-window-message>{message}</p>}
      {windows.error && <p class="error">{windows.error}</p>}
      {windows.data && items.length === 0 && <p class="empty-state">No maintenance windows. {mayChange ? 'Create one below or with ' : 'Operators create them with '}POST /api/v1/maintenance-windows (nodes, services, once or daily / weekly; docs/alerts.md).</p>}
      {items.length > 0 && (
        <Table
          items={items}
          name="windows"
          head={<><th>Name</th><th>Now</th><th>Covers</th><th>When</th><th>Comment</th>{mayChange && <th>Actions</th>}</>}
          row={(w) => (
            <tr data-window={String(w.id)}>
              <td class="wrap">{w.name}</td>
              <td>{w.active ? <strong>active</strong> : 'inactive'}</td>
              <td class="wrap">{[...w.nodeIds, ...w.services].join(', ') || '—'}</td>
              <td class="wrap">{describeWindow(w, time.tz)}</td>
              <td class="wrap">{w.comment}</td>
              {mayChange && (
                <td class="actions">
                  <button type="button" data-action="edit" onClick={() => setEditing(w)}>Edit</button>
                  {deleting === w.id ? (
                    <>
                      <button type="button" data-action="confirm-delete" onClick={() => void remove(w)}>Delete “{w.name}”</button>
                      <button type="button" data-action="cancel-delete" onClick={() => setDeleting(null)}>Keep</button>
                    </>
                  ) : (
                    <button type="button" data-action="delete" onClick={() => setDeleting(w.id)}>Delete</button>
                  )}
                </td>
              )}
            </tr>
          )}
        />
      )}
      {mayChange && (
        <>
          <h3>{editing ? `Edit “${editing.name}”` : 'New maintenance window'}</h3>
          <WindowForm key={editing ? `edit-${editing.id}` : 'new'} time={time} editing={editing} onDone={done} />
        </>
      )}
    </>
  );
}
