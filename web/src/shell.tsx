/** The frame of every page: sidebar navigation (collapsible on a phone), time-range bar, theme toggle, user menu. */
import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { logout, type User } from './api.ts';
import { tick } from './data.ts';
import { PAGES } from './pages/index.ts';
import { navigate, setQuery } from './router.ts';
import { SavedViews } from './pages/ops/saved-views.tsx';
import { Link } from './link.tsx';
import { useStore } from './store.ts';
import { setTheme, theme, type ThemeChoice } from './theme.ts';
import { fromInputValue, PRESETS, REFRESHES, toInputValue, type Preset, type Refresh, type TimeView } from './time.ts';

function TimeBar({ time }: { time: TimeView }) {
  const [custom, setCustom] = useState(false);
  const [from, setFrom] = useState(toInputValue(time.from, time.tz));
  const [to, setTo] = useState(toInputValue(time.to, time.tz));
  useEffect(() => {
    if (time.refresh === 'off' || time.preset === null) return;
    const id = setInterval(() => tick.set(tick.get() + 1), REFRESHES[time.refresh] * 1000);
    return () => clearInterval(id);
  }, [time.refresh, time.preset]);
  return (
    <div class="timebar" role="group" aria-label="Time range">
      <select aria-label="Range" value={time.preset ?? 'custom'} onChange={(e) => {
        const v = (e.target as HTMLSelectElement).value;
        if (v === 'custom') {
          setFrom(toInputValue(time.from, time.tz));
          setTo(toInputValue(time.to, time.tz));
          setCustom(true);
        } else {
          setCustom(false);
          setQuery({ range: v as Preset, from: null, to: null });
        }
      }}>
        {Object.keys(PRESETS).map((p) => <option value={p}>Last {p}</option>)}
        <option value="custom">Custom…</option>
      </select>
      {(custom || time.preset === null) && (
        <form class="custom-range" onSubmit={(e) => {
          e.preventDefault();
          const f = fromInputValue(from, time.tz);
          const t = fromInputValue(to, time.tz);
          if (f && t && t > f) {
            setQuery({ range: null, from: f.toISOString(), to: t.toISOString() });
            setCustom(false);
          }
        }}>
          <input type="datetime-local" aria-label="From" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
          <input type="datetime-local" aria-label="To" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
          <button type="submit">Apply</button>
        </form>
      )}
      <select aria-label="Auto-refresh" value={time.refresh} disabled={time.preset === null} onChange={(e) => setQuery({ refresh: (e.target as HTMLSelectElement).value as Refresh })}>
        {Object.keys(REFRESHES).map((r) => <option value={r}>{r === 'off' ? 'Refresh off' : `Every ${r}`}</option>)}
      </select>
      <select aria-label="Time zone" value={time.tz} onChange={(e) => setQuery({ tz: (e.target as HTMLSelectElement).value === 'utc' ? 'utc' : null })}>
        <option value="local">Local time</option>
        <option value="utc">UTC</option>
      </select>
      <button type="button" class="icon" title="Refresh now" aria-label="Refresh now" onClick={() => tick.set(tick.get() + 1)}>↻</button>
    </div>
  );
}

export function Shell(props: { user: User; time: TimeView; current: string | null; children: ComponentChildren }) {
  const [open, setOpen] = useState(false);
  const choice = useStore(theme);
  const next: Record<ThemeChoice, ThemeChoice> = { auto: 'dark', dark: 'light', light: 'auto' };
  return (
    <div class={`shell${open ? ' nav-open' : ''}`}>
      <header class="topbar">
        <button type="button" class="icon nav-toggle" aria-label="Menu" aria-expanded={open} onClick={() => setOpen(!open)}>☰</button>
        <Link href="/" class="brand">Opsdeck</Link>
        <TimeBar time={props.time} />
        <div class="user">
          <button type="button" class="icon" title={`Theme: ${choice}`} aria-label="Theme" onClick={() => setTheme(next[choice])}>{choice === 'dark' ? '☾' : choice === 'light' ? '☀' : '◐'}</button>
          <SavedViews />
          <span class="who" title={`role: ${props.user.role}`}>{props.user.username} <small>{props.user.role}</small></span>
          <button type="button" onClick={() => void logout().finally(() => navigate('/', { keepShared: false }))}>Log out</button>
        </div>
      </header>
      <nav class="sidebar" aria-label="Pages" onClick={() => setOpen(false)}>
        {PAGES.filter((p) => p.nav).map((p) => (
          <Link href={p.path} class={props.current === p.path || (p.path !== '/' && props.current?.startsWith(p.path)) ? 'active' : ''}>{p.nav}</Link>
        ))}
        <a href="/docs" class="ext">API docs</a>
      </nav>
      <main>{props.children}</main>
    </div>
  );
}
