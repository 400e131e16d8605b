/**
 * Silences and maintenance windows: the silences (active first, or all), a form to create
 * one (label matchers, start and end in the shell's time zone, comment), expiring one (its
 * end set to now), and the maintenance windows (maintenance.tsx: list, create, edit, delete).
 */
import { useState } from 'preact/hooks';
import { api, can } from '../../api.ts';
import { useActions } from '../../components/action.ts';
import { Field, FormErrors, inputValue, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { pageOf, Pager } from '../../components/pager.tsx';
import { tick, useData } from '../../data.ts';
import { formatTime } from '../../format.ts';
import { setQuery } from '../../router.ts';
import { fromInputValue, toInputValue } from '../../time.ts';
import type { PageProps } from '../index.ts';
import { MaintenanceWindows } from './maintenance.tsx';
import './ops.css';
import { AlertsTabs } from './tabs.tsx';

interface Matcher { name: string; op: '=' | '!=' | '=~' | '!~'; value: string }
interface Silence { id: number; matchers: Matcher[]; startsAt: string; endsAt: string; createdBy: string; comment: string }

const OPS = ['=', '!=', '=~', '!~'] as const;
const LABEL = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function SilencesPage({ user, time, query }: PageProps) {
  const all = query.get('show') === 'all';
  const page = pageOf(query);
  const silences = useData((signal) => api<{ items: Silence[]; totalPages: number }>(`/api/v1/silences?active=${all ? 'false' : 'true'}&page=${page}&pageSize=50`, { signal }), [all, page]);
  const mayChange = can(user, 'operator');
  const now = Date.now();
  const [matchers, setMatchers] = useState<Matcher[]>([{ name: 'alertname', op: '=', value: '' }]);
  const [startsAt, setStartsAt] = useState(toInputValue(new Date(now), time.tz));
  const [endsAt, setEndsAt] = useState(toInputValue(new Date(now + 2 * 3600_000), time.tz));
  const [comment, setComment] = useState('');
  const { message, setMessage, act } = useActions();
  const start = fromInputValue(startsAt, time.tz);
  const end = fromInputValue(endsAt, time.tz);
  const check = () => {
    setMessage(null);
    const found: FieldErrors = {};
    matchers.forEach((m, i) => {
      if (!LABEL.test(m.name)) found[`matchers.${i}.name`] = 'a label name (letters, digits, _)';
      if (m.op === '=~' || m.op === '!~') {
        try {
          new RegExp(m.value);
        } catch {
          found[`matchers.${i}.value`] = 'not a regular expression';
        }
      }
    });
    if (!start) found.startsAt = 'a date and time';
    if (!end) found.endsAt = 'a date and time';
    else if (start && end <= start) found.endsAt = 'after the start';
    return found;
  };
  const form = useSubmit({
    check,
    send: () => api('/api/v1/silences', { method: 'POST', body: { matchers, startsAt: start!.toISOString(), endsAt: end!.toISOString(), comment } }),
    done: () => {
      setMessage('Silence created');
      setComment('');
      tick.set(tick.get() + 1);
    },
  });
  const { errors } = form;
  const expire = (s: Silence) =>
    act('Silence expired', () =>
      new Date(s.startsAt).getTime() > Date.now()
        ? api(`/api/v1/silences/${s.id}`, { method: 'DELETE' })
        : api(`/api/v1/silences/${s.id}`, { method: 'PUT', body: { matchers: s.matchers, startsAt: s.startsAt, endsAt: new Date().toISOString(), comment: s.comment } }),
    );

  return (
    <section class="page silences">
      <div class="page-head"><h1>Silences and maintenance</h1></div>
      <AlertsTabs current="silences" />
      {message && <p class="notice" role="status">{message}</p>}
      <div class="tabs" role="tablist">
        <button type="button" role="tab" aria-selected={!all} onClick={() => setQuery({ show: null, page: null })}>Active</button>
        <button type="button" role="tab" aria-selected={all} onClick={() => setQuery({ show: 'all', page: null })}>All</button>
      </div>
      {silences.error && <p class="error">{silences.error}</p>}
      {silences.data && silences.data.items.length === 0 && <p class="empty-state">No {all ? '' : 'active '}silences. {mayChange ? 'Create one below, from an alert (Silence…), or ' : 'Operators create them with '}POST /api/v1/silences.</p>}
      {silences.data && silences.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Matchers</th><th>Starts</th><th>Ends</th><th>By</th><th>Comment</th>{mayChange && <th>Actions</th>}</tr></thead>
            <tbody>
              {silences.data.items.map((s) => {
                const ended = new Date(s.endsAt).getTime() <= Date.now();
                return (
                  <tr data-silence={String(s.id)}>
                    <td class="wrap cond">{s.matchers.map((m) => `${m.name}${m.op}"${m.value}"`).join(', ')}</td>
                    <td><time>{formatTime(s.startsAt, time.tz)}</time></td>
                    <td><time>{formatTime(s.endsAt, time.tz)}</time>{ended ? ' (ended)' : ''}</td>
                    <td>{s.createdBy.replace(/^user:/, '')}</td>
                    <td class="wrap">{s.comment}</td>
                    {mayChange && <td class="actions">{!ended && <button type="button" data-action="expire" onClick={() => void expire(s)}>Expire</button>}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <Pager page={page} totalPages={silences.data?.totalPages} newest />

      {mayChange && (
        <>
          <h2>New silence</h2>
          <form class="ops-form silence-form" noValidate onSubmit={form.onSubmit}>
            <fieldset>
              <legend>Matchers (all must match the alert's labels)</legend>
              {matchers.map((m, i) => (
                <div class="matcher">
                  <Field label="Label" path={`matchers.${i}.name`} errors={errors}><input name={`matchers.${i}.name`} value={m.name} onInput={(e) => setMatchers(matchers.map((x, j) => (j === i ? { ...x, name: inputValue(e) } : x)))} /></Field>
                  <Field label="Operator" path={`matchers.${i}.op`} errors={errors}>
                    <select name={`matchers.${i}.op`} value={m.op} onChange={(e) => setMatchers(matchers.map((x, j) => (j === i ? { ...x, op: inputValue(e) as Matcher['op'] } : x)))}>
                      {OPS.map((o) => <option value={o}>{o}</option>)}
                    </select>
                  </Field>
                  <Field label="Value" path={`matchers.${i}.value`} errors={errors}><input name={`matchers.${i}.value`} value={m.value} onInput={(e) => setMatchers(matchers.map((x, j) => (j === i ? { ...x, value: inputValue(e) } : x)))} /></Field>
                  {matchers.length > 1 && <button type="button" onClick={() => setMatchers(matchers.filter((_, j) => j !== i))}>Remove</button>}
                </div>
              ))}
              {matchers.length < 20 && <button type="button" onClick={() => setMatchers([...matchers, { name: '', op: '=', value: '' }])}>Add matcher</button>}
            </fieldset>
            <fieldset>
              <legend>When ({time.tz === 'utc' ? 'UTC' : 'local time'})</legend>
              <Field label="Starts" path="startsAt" errors={errors}><input type="datetime-local" name="startsAt" value={startsAt} onInput={(e) => setStartsAt(inputValue(e))} /></Field>
              <Field label="Ends" path="endsAt" errors={errors}><input type="datetime-local" name="endsAt" value={endsAt} onInput={(e) => setEndsAt(inputValue(e))} /></Field>
              <Field label="Comment" path="comment" errors={errors}><input name="comment" value={comment} onInput={(e) => setComment(inputValue(e))} /></Field>
            </fieldset>
            <FormErrors errors={errors} shown={['matchers', 'startsAt', 'endsAt', 'comment']} />
            <div class="form-actions"><button type="submit" class="primary" disabled={form.busy}>Create silence</button></div>
          </form>
        </>
      )}

      <MaintenanceWindows time={time} mayChange={mayChange} />
    </section>
  );
}
