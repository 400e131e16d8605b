/**
 * Client-side routing on the history API. The query string carries the view's state
 * (time range, refresh, time zone, filters): shareable, never tokens.
 */
import { createStore, useStore } from './store.ts';

export interface Location {
  path: string;
  query: URLSearchParams;
}

function read(): Location {
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

export const location = createStore<Location>(read());

window.addEventListener('popstate', () => location.set(read()));

/** Query keys every page shares (the time-range selector); kept when moving between pages. */
export const SHARED_KEYS = ['range', 'from', 'to', 'refresh', 'tz'] as const;

/** Goes to `path` (which may carry its own query); the shared keys of the current URL are kept unless given. */
export function navigate(path: string, options: { replace?: boolean; keepShared?: boolean } = {}): void {
  const url = new URL(path, window.location.origin);
  if (options.keepShared !== false) {
    const current = new URLSearchParams(window.location.search);
    for (const k of SHARED_KEYS) {
      const v = current.get(k);
      if (v !== null && !url.searchParams.has(k)) url.searchParams.set(k, v);
    }
  }
  const target = url.pathname + url.search;
  if (target === window.location.pathname + window.location.search) return;
  if (options.replace) window.history.replaceState(null, '', target);
  else window.history.pushState(null, '', target);
  location.set(read());
  window.scrollTo(0, 0);
}

/** Changes query keys of the current URL (null removes one). */
export function setQuery(changes: Record<string, string | null>, options: { replace?: boolean } = {}): void {
  const q = new URLSearchParams(window.location.search);
  for (const [k, v] of Object.entries(changes)) {
    if (v === null || v === '') q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  navigate(window.location.pathname + (s ? `?${s}` : ''), { replace: options.replace ?? true, keepShared: false });
}

export function useLocation(): Location {
  return useStore(location);
}

/** A link that navigates without a reload (and still opens in a new tab on middle/ctrl click). */
export function onLinkClick(e: MouseEvent, href: string): void {
  if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  e.preventDefault();
  navigate(href);
}

/** `href` with the shared query keys of the current URL. */
export function withShared(path: string): string {
  const url = new URL(path, window.location.origin);
  const current = new URLSearchParams(window.location.search);
  for (const k of SHARED_KEYS) {
    const v = current.get(k);
    if (v !== null && !url.searchParams.has(k)) url.searchParams.set(k, v);
  }
  return url.pathname + url.search;
}
