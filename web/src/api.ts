/**
 * Session and API calls. Token storage (docs/adr/0024-web-dashboard.md):
 * - the access token lives in memory only (a module variable): never in storage or URLs;
 * - the refresh token lives in sessionStorage: this tab only, gone when it closes, so a
 *   reload keeps the session. Script injection could read it, which the page CSP
 *   (no inline or foreign script) and rendering every monitored value as text prevent.
 * The access token is refreshed a minute before it expires; a call answered 401 is
 * refreshed and repeated once; a refresh answered 401 ends the session: the login
 * page shows, and after logging in the user is back where they were.
 */
import { createStore } from './store.ts';

export type Role = 'viewer' | 'operator' | 'admin';

export interface User {
  id: number;
  username: string;
  role: Role;
  mustChangePassword: boolean;
}

interface TokenAnswer {
  accessToken: string;
  expiresIn: number;
  refreshToken: string;
  user: User;
}

export type Session = { state: 'starting' } | { state: 'anonymous'; reason?: string } | { state: 'signed-in'; user: User };

export const session = createStore<Session>({ state: 'starting' });

/** Counts logins made with the login form in this page load (a resumed session is not one): the saved-views control opens the default view after one. */
export const logins = createStore(0);

const REFRESH_KEY = 'opsdeck.refreshToken';
let accessToken: string | null = null;
let expiresAt = 0;
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
let refreshing: Promise<boolean> | null = null;

/** An error answer of the API (application/problem+json). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The problem's field errors (`errors[].path` such as `body.reason`), shown next to their fields. */
    readonly errors: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

function accept(answer: TokenAnswer): void {
  accessToken = answer.accessToken;
  expiresAt = Date.now() + answer.expiresIn * 1000;
  sessionStorage.setItem(REFRESH_KEY, answer.refreshToken);
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => void refresh(), Math.max(5_000, (answer.expiresIn - 60) * 1000));
  session.set({ state: 'signed-in', user: answer.user });
}

/** Ends the session in this tab (the server side is revoked by logout()). */
function drop(reason?: string): void {
  accessToken = null;
  expiresAt = 0;
  clearTimeout(refreshTimer);
  sessionStorage.removeItem(REFRESH_KEY);
  session.set(reason ? { state: 'anonymous', reason } : { state: 'anonymous' });
}

async function problemOf(res: Response): Promise<ApiError> {
  let code = 'HTTP_' + res.status;
  let detail = res.statusText || `HTTP ${res.status}`;
  let errors: { path: string; message: string }[] = [];
  try {
    const p = (await res.json()) as { code?: string; detail?: string; errors?: { path?: unknown; message?: unknown }[] };
    if (p.code) code = p.code;
    if (p.detail) detail = p.detail;
    if (Array.isArray(p.errors)) errors = p.errors.map((e) => ({ path: String(e.path ?? ''), message: String(e.message ?? '') }));
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(res.status, code, detail, errors);
}

async function post<T>(path: string, body: unknown, auth: boolean): Promise<T> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth && accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
  if (!res.ok) throw await problemOf(res);
  return (res.status === 204 ? null : await res.json()) as T;
}

/** Exchanges the refresh token; false (and the session ended) when it is refused. Concurrent callers share one exchange. */
export function refresh(): Promise<boolean> {
  refreshing ??= (async () => {
    const token = sessionStorage.getItem(REFRESH_KEY);
    if (!token) {
      drop();
      return false;
    }
    try {
      accept(await post<TokenAnswer>('/api/v1/auth/refresh', { refreshToken: token }, false));
      return true;
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 400)) {
        drop('Your session ended. Log in again to continue where you were.');
        return false;
      }
      throw err;
    } finally {
      refreshing = null;
    }
  })();
  return refreshing;
}

/** At page load: resumes the tab's session when it has a refresh token. */
export async function resume(): Promise<void> {
  if (!sessionStorage.getItem(REFRESH_KEY)) {
    session.set({ state: 'anonymous' });
    return;
  }
  try {
    await refresh();
  } catch {
    session.set({ state: 'anonymous', reason: 'The server could not be reached.' });
  }
}

export async function login(username: string, password: string): Promise<User> {
  const answer = await post<TokenAnswer>('/api/v1/auth/login', { username, password }, false);
  logins.set(logins.get() + 1);
  accept(answer);
  return answer.user;
}

export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  accept(await post<TokenAnswer>('/api/v1/auth/password', { currentPassword, newPassword }, true));
}

export async function logout(): Promise<void> {
  const token = sessionStorage.getItem(REFRESH_KEY);
  try {
    if (accessToken && token) await post('/api/v1/auth/logout', { refreshToken: token }, true);
  } finally {
    drop();
  }
}

/** A call of the API as the signed-in user: JSON in and out; ApiError on a problem answer. */
export async function api<T>(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal } = {}): Promise<T> {
  const res = await apiResponse(path, init);
  return (res.status === 204 ? null : await res.json()) as T;
}

/**
 * The same call answered as the Response, its body unread: for a streamed answer
 * (a run's server-sent events, read with fetch because EventSource cannot send the
 * bearer token). ApiError on a problem answer.
 */
export async function apiResponse(path: string, init: { method?: string; body?: unknown; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<Response> {
  if (!accessToken || Date.now() > expiresAt - 10_000) {
    if (!(await refresh())) throw new ApiError(401, 'UNAUTHENTICATED', 'session ended');
  }
  const call = () => {
    const headers: Record<string, string> = { ...init.headers, authorization: `Bearer ${accessToken ?? ''}` };
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(path, {
      method: init.method ?? 'GET',
      headers,
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
      ...(init.signal ? { signal: init.signal } : {}),
      credentials: 'same-origin',
    });
  };
  let res = await call();
  if (res.status === 401) {
    if (!(await refresh())) throw new ApiError(401, 'UNAUTHENTICATED', 'session ended');
    res = await call();
  }
  if (!res.ok) throw await problemOf(res);
  return res;
}

/** Can the signed-in user do what needs `role`? Buttons a user cannot use are not shown. */
export function can(user: User, role: Role): boolean {
  const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };
  return rank[user.role] >= rank[role];
}
