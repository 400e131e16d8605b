/** Dark/light theme: follows prefers-color-scheme until the user picks one (remembered in localStorage). */
import { createStore } from './store.ts';

export type ThemeChoice = 'auto' | 'dark' | 'light';
const KEY = 'opsdeck.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');

function stored(): ThemeChoice {
  const v = localStorage.getItem(KEY);
  return v === 'dark' || v === 'light' ? v : 'auto';
}

export const theme = createStore<ThemeChoice>(stored());
/** The theme in effect (changes with the system setting while the choice is auto): charts redraw on it. */
export const effectiveTheme = createStore<'dark' | 'light'>('dark');

export function resolvedTheme(): 'dark' | 'light' {
  const t = theme.get();
  return t === 'auto' ? (media.matches ? 'dark' : 'light') : t;
}

function apply(): void {
  document.documentElement.dataset.theme = resolvedTheme();
  effectiveTheme.set(resolvedTheme());
}

export function setTheme(t: ThemeChoice): void {
  if (t === 'auto') localStorage.removeItem(KEY);
  else localStorage.setItem(KEY, t);
  theme.set(t);
  apply();
}

media.addEventListener('change', apply);
apply();
