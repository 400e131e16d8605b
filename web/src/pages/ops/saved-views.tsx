/**
 * Saved views, in the shell's top bar: "save view" stores the current page's path and
 * query (filters, time range, time zone) under a name (POST /api/v1/saved-views, config
 * `{ path, query }`); the list opens one, makes one the default, deletes one. After a
 * login made at the dashboard's root (/) — where Log out leads — the default view opens;
 * a login on another page (a shared link, a session that ended) stays on that page.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, logins } from '../../api.ts';
import { navigate, useLocation } from '../../router.ts';
import { errorsOf, Field, inputValue, otherErrors, type FieldErrors } from '../../components/form.tsx';
import './ops.css';

export interface SavedView { id: number; name: string; config: { path?: unknown; query?: unknown }; isDefault: boolean }

/** The URL a view opens (only paths of this dashboard). */
export function viewHref(v: SavedView): string | null {
  // A path of this origin only: one leading slash, no backslash (a browser reads "/\\host" as another host).
  const path = typeof v.config.path === 'string' && /^\/(?![/\\])[^\\]*$/.test(v.config.path) ? v.config.path : null;
  if (!path) return null;
  const query = typeof v.config.query === 'string' ? v.config.query.replace(/^\?/, '') : '';
  return query ? `${path}?${query}` : path;
}

/** Logins already answered by opening the default view (one per login). */
let handledLogins = 0;

export function SavedViews() {
  const loc = useLocation();
  const [open, setOpen] = useState(false);
  const [views, setViews] = useState<SavedView[] | null>(null);
  const [name, setName] = useState('');
  const [asDefault, setAsDefault] = useState(false);
  const [errors, setErrors] = useState<FieldErrors>({});
  const [note, setNote] = useState<string | null>(null);

  const load = async (): Promise<SavedView[]> => {
    const a = await api<{ items: SavedView[] }>('/api/v1/saved-views?pageSize=100');
    setViews(a.items);
    return a.items;
  };

  useEffect(() => {
    const n = logins.get();
    if (n <= handledLogins) return;
    handledLogins = n;
    if (window.location.pathname !== '/') return;
    load().then((items) => {
      const d = items.find((v) => v.isDefault);
      const href = d ? viewHref(d) : null;
      if (href && window.location.pathname === '/') navigate(href, { replace: true, keepShared: false });
    }, () => undefined);
  }, []);

  useEffect(() => {
    if (open) load().catch((err: unknown) => setErrors(errorsOf(err)));
  }, [open]);

  const save = async (e: Event) => {
    e.preventDefault();
    setNote(null);
    if (!name.trim()) {
      setErrors({ name: 'required' });
      return;
    }
    setErrors({});
    try {
      await api('/api/v1/saved-views', { method: 'POST', body: { name: name.trim(), config: { path: loc.path, query: loc.query.toString() }, isDefault: asDefault } });
      setNote(`Saved “${name.trim()}”`);
      setName('');
      setAsDefault(false);
      await load();
    } catch (err) {
      setErrors(errorsOf(err));
    }
  };
  const makeDefault = async (v: SavedView) => {
    try {
      await api(`/api/v1/saved-views/${v.id}`, { method: 'PUT', body: { name: v.name, config: v.config, isDefault: true } });
      setNote(`“${v.name}” opens after login`);
      await load();
    } catch (err) {
      setErrors(errorsOf(err));
    }
  };
  const remove = async (v: SavedView) => {
    try {
      await api(`/api/v1/saved-views/${v.id}`, { method: 'DELETE' });
      await load();
    } catch (err) {
      setErrors(errorsOf(err));
    }
  };

  return (
    <div class="views">
      <button type="button" aria-expanded={open} aria-label="Saved views" data-action="views" onClick={() => setOpen(!open)}>Views ▾</button>
      {open && (
        <div class="views-panel" role="dialog" aria-label="Saved views">
          <form noValidate onSubmit={save}>
            <Field label="Save this view as" path="name" errors={errors}>
              <input type="text" name="viewName" value={name} maxLength={100} onInput={(e) => setName(inputValue(e))} />
            </Field>
            <label class="check"><input type="checkbox" name="viewDefault" checked={asDefault} onChange={(e) => setAsDefault((e.target as HTMLInputElement).checked)} /> default</label>
            <button type="submit" class="primary">Save view</button>
          </form>
          {note && <p class="notice" role="status">{note}</p>}
          {otherErrors(errors, ['name']).map((m) => <p class="error" role="alert">{m}</p>)}
          {views && views.length === 0 && <p class="hint">No saved views yet: pick a page, its filters and time range, then save it here.</p>}
          {views && views.length > 0 && (
            <ul>
              {views.map((v) => {
                const href = viewHref(v);
                return (
                  <li data-view={v.name}>
                    <span class="name">{href ? <a href={href} onClick={(e) => { e.preventDefault(); setOpen(false); navigate(href, { keepShared: false }); }}>{v.name}</a> : v.name}{v.isDefault ? ' (default)' : ''}</span>
                    {!v.isDefault && <button type="button" data-action="default" onClick={() => void makeDefault(v)}>Default</button>}
                    <button type="button" data-action="delete" aria-label={`Delete ${v.name}`} onClick={() => void remove(v)}>✕</button>
                  </li>
                );
              })}
            </ul>
          )}
        </div>
      )}
    </div>
  );
}
