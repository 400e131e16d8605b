/**
 * Auth helpers for in-process HTTP tests:
 *
 *   const auth = await loginAs(rt, 'viewer');            // 'Bearer eyJ…'
 *   await rt.app.inject({ method: 'GET', url: '/api/v1/nodes', headers: { authorization: auth } });
 *   const key = await createApiKey(rt, ['ingest']);     // 'odk_…'
 *
 * loginAs creates the user `test-<role>` on first use (password
 * TEST_USER_PASSWORD) and logs in through POST /api/v1/auth/login, so the
 * token is a real one. Tokens are cached per runtime and role; use
 * createTestUser + login for a user whose state a test changes.
 */
import type { Role, Scope } from '../../src/domain/access.ts';
import type { Runtime } from '../../src/runtime.ts';

export const TEST_USER_PASSWORD = 'test-user-password-456';

const tokenCache = new WeakMap<Runtime['app'], Map<string, string>>();

/** Creates the user when missing (idempotent) and returns its id. */
export async function createTestUser(rt: Pick<Runtime, 'auth'>, username: string, role: Role, password = TEST_USER_PASSWORD): Promise<number> {
  const { users } = rt.auth.services;
  const existing = await users.findByUsername(username);
  if (existing) return existing.id;
  try {
    return (await users.create({ username, password, role, mustChangePassword: false })).id;
  } catch (err) {
    // Created concurrently by another caller: use that one.
    const again = await users.findByUsername(username);
    if (again) return again.id;
    throw err;
  }
}

/** Logs in through the HTTP API; returns the whole token response. */
export async function login(
  rt: Pick<Runtime, 'app'>,
  username: string,
  password = TEST_USER_PASSWORD,
): Promise<{ accessToken: string; refreshToken: string; authorization: string; user: { id: number; role: Role } }> {
  const res = await rt.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password } });
  if (res.statusCode !== 200) throw new Error(`login as ${username} failed: ${res.statusCode} ${res.body}`);
  const body = res.json() as { accessToken: string; refreshToken: string; user: { id: number; role: Role } };
  return { ...body, authorization: `Bearer ${body.accessToken}` };
}

/** `Bearer <access token>` of the user `test-<role>` (created when needed). */
export async function loginAs(rt: Pick<Runtime, 'app' | 'auth'>, role: Role): Promise<string> {
  let cache = tokenCache.get(rt.app);
  if (!cache) tokenCache.set(rt.app, (cache = new Map()));
  const cached = cache.get(role);
  if (cached) return cached;
  const username = `test-${role}`;
  await createTestUser(rt, username, role);
  const { authorization } = await login(rt, username);
  cache.set(role, authorization);
  return authorization;
}

/**
 * A new API key with these scopes, created for the seeded `admin` user (a key
 * acts for its creator, so the creator must be an active admin for every scope
 * to apply). Returns the full key.
 */
export async function createApiKey(rt: Pick<Runtime, 'auth'>, scopes: Scope[], options: { name?: string; expiresAt?: Date | null } = {}): Promise<string> {
  const owner = await rt.auth.services.users.findByUsername('admin');
  if (!owner) throw new Error('createApiKey: the seeded admin user is missing');
  const created = await rt.auth.services.apiKeys.create(
    { kind: 'user', userId: owner.id, username: owner.username, role: owner.role },
    { name: options.name ?? `test ${scopes.join('+')}`, scopes, expiresAt: options.expiresAt ?? null },
  );
  return created.key;
}
