/**
 * Notification channels: the list, a form to create or edit one (the kind picks its
 * settings), and "send test". Secret settings are write-only: the API never returns them,
 * it says which are set (`secretsSet`); the form shows "set" and sends a secret only when
 * one is typed (left empty it keeps its value; "clear" sends null). Changing channels is
 * for admins (they hold credentials); everyone sees the list.
 */
import { useState } from 'preact/hooks';
import { api, can } from '../../api.ts';
import { tick, useData } from '../../data.ts';
import type { PageProps } from '../index.ts';
import { errorsOf, Field, inputValue, otherErrors, type FieldErrors } from '../../components/form.tsx';
import { listOf, pairsText, parsePairs } from './form.tsx';
import { AlertsTabs } from './tabs.tsx';

interface Channel {
  id: number;
  name: string;
  kind: string;
  config: Record<string, unknown>;
  secretsSet: string[];
  minSeverity: string;
  sendResolved: boolean;
  enabled: boolean;
}

interface Setting { key: string; label: string; type: 'text' | 'int' | 'bool' | 'list' | 'pairs'; optional?: boolean; initial?: string }

/** Each kind's clear settings and its secret ones (src/modules/notifications/channel-config.ts). */
const KINDS: Record<string, { config: Setting[]; secrets: { key: string; label: string; required?: boolean }[] }> = {
  webhook: { config: [{ key: 'url', label: 'URL' }, { key: 'headers', label: 'Extra headers (Name=value, one a line)', type: 'pairs', optional: true }].map((s) => ({ type: 'text', ...s }) as Setting), secrets: [{ key: 'hmacSecret', label: 'Signing secret (HMAC)' }, { key: 'authorization', label: 'Authorization header' }] },
  email: {
    config: [
      { key: 'host', label: 'SMTP host', type: 'text' },
      { key: 'port', label: 'Port', type: 'int', initial: '587' },
      { key: 'secure', label: 'Implicit TLS (465)', type: 'bool' },
      { key: 'requireTls', label: 'Require STARTTLS', type: 'bool' },
      { key: 'user', label: 'SMTP user', type: 'text', optional: true },
      { key: 'from', label: 'From', type: 'text' },
      { key: 'to', label: 'To (comma-separated)', type: 'list' },
    ],
    secrets: [{ key: 'password', label: 'SMTP password' }],
  },
  slack: { config: [], secrets: [{ key: 'webhookUrl', label: 'Incoming-webhook URL', required: true }] },
  telegram: {
    config: [
      { key: 'chatId', label: 'Chat id (or a user below)', type: 'text', optional: true },
      { key: 'username', label: 'Dashboard user', type: 'text', optional: true },
      { key: 'apiBaseUrl', label: 'Bot API base URL', type: 'text', optional: true },
    ],
    secrets: [{ key: 'botToken', label: 'Bot token', required: true }],
  },
  inapp: { config: [], secrets: [] },
  alertmanager: {
    config: [
      { key: 'url', label: 'Alertmanager URL', type: 'text' },
      { key: 'username', label: 'Basic-auth user', type: 'text', optional: true },
      { key: 'repostIntervalSeconds', label: 'Re-post every (seconds)', type: 'int', initial: '60' },
    ],
    secrets: [{ key: 'password', label: 'Basic-auth password' }],
  },
};

interface Draft { id: number | null; kind: string; name: string; minSeverity: string; sendResolved: boolean; enabled: boolean; config: Record<string, string>; secrets: Record<string, string>; clear: string[]; secretsSet: string[] }

const blank = (kind = 'webhook'): Draft => ({ id: null, kind, name: '', minSeverity: 'info', sendResolved: true, enabled: true, config: Object.fromEntries((KINDS[kind]?.config ?? []).map((s) => [s.key, s.initial ?? ''])), secrets: {}, clear: [], secretsSet: [] });

function draftOf(c: Channel): Draft {
  const config: Record<string, string> = {};
  for (const s of KINDS[c.kind]?.config ?? []) {
    const v = c.config[s.key];
    config[s.key] = v === undefined || v === null ? '' : s.type === 'pairs' ? pairsText(v as Record<string, string>) : Array.isArray(v) ? v.join(', ') : String(v);
  }
  return { id: c.id, kind: c.kind, name: c.name, minSeverity: c.minSeverity, sendResolved: c.sendResolved, enabled: c.enabled, config, secrets: {}, clear: [], secretsSet: c.secretsSet };
}

function build(d: Draft): { body: Record<string, unknown>; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const config: Record<string, unknown> = {};
  for (const s of KINDS[d.kind]?.config ?? []) {
    const text = (d.config[s.key] ?? '').trim();
    const path = `config.${s.key}`;
    if (s.type === 'bool') {
      config[s.key] = text === 'true';
      continue;
    }
    if (text === '') {
      if (!s.optional) errors[path] = 'required';
      continue;
    }
    if (s.type === 'int') {
      const n = Number(text);
      if (!Number.isInteger(n)) errors[path] = 'a whole number';
      else config[s.key] = n;
    } else if (s.type === 'list') config[s.key] = listOf(text);
    else if (s.type === 'pairs') {
      const p = parsePairs(text);
      if (!p) errors[path] = 'Name=value, one a line';
      else config[s.key] = p;
    } else config[s.key] = text;
  }
  if (d.kind === 'telegram' && (config.chatId === undefined) === (config.username === undefined)) errors['config.chatId'] = 'give a chat id or a dashboard user, one of the two';
  const secrets: Record<string, string | null> = {};
  for (const s of KINDS[d.kind]?.secrets ?? []) {
    const v = d.secrets[s.key] ?? '';
    if (v !== '') secrets[s.key] = v;
    else if (d.clear.includes(s.key)) secrets[s.key] = null;
    else if (s.required && !d.secretsSet.includes(s.key)) errors[`secrets.${s.key}`] = 'required';
  }
  if (!d.name.trim()) errors.name = 'required';
  return { body: { kind: d.kind, name: d.name.trim(), config, secrets, minSeverity: d.minSeverity, sendResolved: d.sendResolved, enabled: d.enabled }, errors };
}

export function ChannelsPage({ user }: PageProps) {
  const list = useData((signal) => api<{ items: Channel[] }>('/api/v1/notification-channels?pageSize=100', { signal }), []);
  const admin = can(user, 'admin');
  const [draft, setDraft] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [message, setMessage] = useState<{ text: string; ok: boolean } | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (e: Event) => {
    e.preventDefault();
    if (!draft) return;
    const b = build(draft);
    setErrors(b.errors);
    if (Object.keys(b.errors).length > 0) return;
    setBusy(true);
    try {
      await api(draft.id === null ? '/api/v1/notification-channels' : `/api/v1/notification-channels/${draft.id}`, { method: draft.id === null ? 'POST' : 'PUT', body: b.body });
      setMessage({ text: `Channel “${draft.name.trim()}” saved`, ok: true });
      setDraft(null);
      tick.set(tick.get() + 1);
    } catch (err) {
      setErrors(errorsOf(err));
    }
    setBusy(false);
  };
  const test = async (c: Channel) => {
    setMessage({ text: `Sending a test to “${c.name}”…`, ok: true });
    try {
      const r = await api<{ ok: boolean; peerStatus: number | null; detail: string }>(`/api/v1/notification-channels/${c.id}/test`, { method: 'POST' });
      setMessage({ text: `Test to “${c.name}”: ${r.ok ? 'accepted' : 'failed'}${r.peerStatus !== null ? ` (${r.peerStatus})` : ''}: ${r.detail}`, ok: r.ok });
    } catch (err) {
      setMessage({ text: Object.values(errorsOf(err)).join('; '), ok: false });
    }
  };
  const remove = async (c: Channel) => {
    if (!confirm(`Delete the channel “${c.name}” and its delivery log?`)) return;
    try {
      await api(`/api/v1/notification-channels/${c.id}`, { method: 'DELETE' });
    } catch (err) {
      setMessage({ text: Object.values(errorsOf(err)).join('; '), ok: false });
    }
    tick.set(tick.get() + 1);
  };

  const spec = draft ? KINDS[draft.kind] : undefined;
  return (
    <section class="page channels">
      <div class="page-head">
        <h1>Notification channels</h1>
        {admin && !draft && <button type="button" class="primary" onClick={() => { setErrors({}); setDraft(blank()); }}>New channel</button>}
      </div>
      <AlertsTabs current="channels" />
      {message && <p class={message.ok ? 'notice' : 'error'} role="status" data-test-result>{message.text}</p>}
      {draft && spec && (
        <form class="ops-form channel-form" noValidate onSubmit={save}>
          <fieldset>
            <legend>{draft.id === null ? 'New channel' : `Edit “${draft.name}”`}</legend>
            <Field label="Kind" path="kind" errors={errors}>
              <select name="kind" value={draft.kind} disabled={draft.id !== null} onChange={(e) => setDraft({ ...blank(inputValue(e)), name: draft.name })}>
                {Object.keys(KINDS).map((k) => <option value={k}>{k}</option>)}
              </select>
            </Field>
            <Field label="Name" path="name" errors={errors}><input name="name" value={draft.name} onInput={(e) => setDraft({ ...draft, name: inputValue(e) })} /></Field>
            <Field label="Minimum severity" path="minSeverity" errors={errors}>
              <select name="minSeverity" value={draft.minSeverity} onChange={(e) => setDraft({ ...draft, minSeverity: inputValue(e) })}>
                {['info', 'warning', 'critical'].map((s) => <option value={s}>{s}</option>)}
              </select>
            </Field>
            <label class="field check"><input type="checkbox" name="sendResolved" checked={draft.sendResolved} onChange={(e) => setDraft({ ...draft, sendResolved: (e.target as HTMLInputElement).checked })} /> Send resolved</label>
            <label class="field check"><input type="checkbox" name="enabled" checked={draft.enabled} onChange={(e) => setDraft({ ...draft, enabled: (e.target as HTMLInputElement).checked })} /> Enabled</label>
          </fieldset>
          {spec.config.length > 0 && (
            <fieldset>
              <legend>Settings</legend>
              {spec.config.map((s) =>
                s.type === 'bool' ? (
                  <label class="field check"><input type="checkbox" name={`config.${s.key}`} checked={draft.config[s.key] === 'true'} onChange={(e) => setDraft({ ...draft, config: { ...draft.config, [s.key]: String((e.target as HTMLInputElement).checked) } })} /> {s.label}</label>
                ) : (
                  <Field label={s.label} path={`config.${s.key}`} errors={errors}>
                    {s.type === 'pairs'
                      ? <textarea name={`config.${s.key}`} value={draft.config[s.key] ?? ''} onInput={(e) => setDraft({ ...draft, config: { ...draft.config, [s.key]: inputValue(e) } })} />
                      : <input name={`config.${s.key}`} value={draft.config[s.key] ?? ''} onInput={(e) => setDraft({ ...draft, config: { ...draft.config, [s.key]: inputValue(e) } })} />}
                  </Field>
                ),
              )}
            </fieldset>
          )}
          {spec.secrets.length > 0 && (
            <fieldset>
              <legend>Secrets (write-only: never shown again)</legend>
              {spec.secrets.map((s) => {
                const isSet = draft.secretsSet.includes(s.key) && !draft.clear.includes(s.key);
                return (
                  <Field label={s.label} path={`secrets.${s.key}`} errors={errors} {...(isSet ? { hint: 'Set. Type a new value to replace it; leave empty to keep it.' } : {})}>
                    <input type="password" autocomplete="new-password" name={`secrets.${s.key}`} placeholder={isSet ? '•••••• (set)' : ''} value={draft.secrets[s.key] ?? ''} onInput={(e) => setDraft({ ...draft, secrets: { ...draft.secrets, [s.key]: inputValue(e) } })} />
                    {isSet && !s.required && <button type="button" class="link" onClick={() => setDraft({ ...draft, clear: [...draft.clear, s.key] })}>Clear</button>}
                  </Field>
                );
              })}
            </fieldset>
          )}
          {otherErrors(errors, ['kind', 'name', 'minSeverity', 'config', 'secrets', 'sendResolved', 'enabled']).map((m) => <p class="error" role="alert">{m}</p>)}
          <div class="form-actions">
            <button type="submit" class="primary" disabled={busy}>Save channel</button>
            <button type="button" onClick={() => setDraft(null)}>Cancel</button>
          </div>
        </form>
      )}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.items.length === 0 && <p class="empty-state">No notification channels. {admin ? 'Add one with “New channel” or ' : 'An admin adds them with '}POST /api/v1/notification-channels (webhook, email, Slack, Telegram, in-app, Alertmanager; docs/notifications.md).</p>}
      {list.data && list.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Name</th><th>Kind</th><th>Target</th><th>Secrets</th><th>Min. severity</th><th>Enabled</th>{admin && <th>Actions</th>}</tr></thead>
            <tbody>
              {list.data.items.map((c) => (
                <tr data-channel={c.name}>
                  <td class="wrap">{c.name}</td>
                  <td>{c.kind}</td>
                  <td class="wrap">{String(c.config.url ?? c.config.host ?? c.config.chatId ?? c.config.username ?? '—')}</td>
                  <td>{c.secretsSet.length ? c.secretsSet.map((s) => `${s} set`).join(', ') : '—'}</td>
                  <td>{c.minSeverity}</td>
                  <td>{c.enabled ? 'yes' : 'no'}</td>
                  {admin && (
                    <td class="actions">
                      <button type="button" data-action="test" onClick={() => void test(c)}>Send test</button>
                      <button type="button" data-action="edit" onClick={() => { setErrors({}); setDraft(draftOf(c)); }}>Edit</button>
                      <button type="button" data-action="delete" onClick={() => void remove(c)}>Delete</button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
