/**
 * Access vocabulary of Opsdeck: user roles, API-key scopes, the principal a
 * request acts as, and the rule that decides whether a principal may do
 * something. Framework-free: services use it for their own checks; the HTTP
 * layer (src/http/access.ts) applies it to every route's declaration.
 */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export const SCOPES = ['read', 'ingest', 'admin'] as const;
export type Role = (typeof ROLES)[number];
export type Scope = (typeof SCOPES)[number];

export type Principal =
  | { kind: 'user'; userId: number; username: string; role: Role; mustChangePassword?: boolean }
  /** `scopes` are the key's effective scopes: its stored scopes within its creator's current role. */
  | { kind: 'apiKey'; keyId: number; name: string; scopes: Scope[]; ownerId?: number };

/**
 * The API-key scopes a user role may hold. A key acts for the user who created
 * it: its effective scopes are its stored scopes within this set for the
 * creator's current role (and none while the creator is disabled).
 */
export const SCOPES_OF_ROLE: Readonly<Record<Role, readonly Scope[]>> = {
  viewer: ['read'],
  operator: ['read', 'ingest'],
  admin: ['read', 'ingest', 'admin'],
};

/** What an operation needs: the least user role, or an API key with this scope (or `admin`). */
export interface AccessRule {
  role: Role;
  scope: Scope;
}

/**
 * Resolves a bearer credential (the value of an `Authorization` header) to a
 * principal: null when there is none, UnauthenticatedError (src/domain/errors.ts)
 * when it is malformed, invalid, expired or revoked.
 */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal | null>;
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Does the principal satisfy the rule? */
export function allowed(p: Principal, rule: AccessRule): boolean {
  if (p.kind === 'user') return roleAtLeast(p.role, rule.role);
  return p.scopes.includes('admin') || p.scopes.includes(rule.scope);
}
