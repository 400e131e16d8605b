import { HttpError } from './problem.ts';

/**
 * Access control vocabulary. Every route declares `config.access`: either
 * 'public' or the least user role and the API-key scope it needs. The check
 * runs in one onRequest hook (src/http/app.ts); a route without a declaration
 * fails at start-up.
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

export type Access = 'public' | { role: Role; scope: Scope };

/** Resolves the Authorization header to a principal; throws HttpError(401) for a bad credential. */
export interface Authenticator {
  authenticate(authorization: string | undefined): Promise<Principal | null>;
}

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

/** Does the principal satisfy the route's access rule? */
export function allowed(p: Principal, access: Exclude<Access, 'public'>): boolean {
  if (p.kind === 'user') return roleAtLeast(p.role, access.role);
  return p.scopes.includes('admin') || p.scopes.includes(access.scope);
}

/**
 * The access decision of the onRequest hook for a non-public route: 403
 * FORBIDDEN when the role or scope is too weak, 403 PASSWORD_CHANGE_REQUIRED
 * when the user must change the password first and the route is not one of
 * those marked `passwordChangeExempt` (password change, logout, own user).
 */
export function authorize(p: Principal, access: Exclude<Access, 'public'>, route: { passwordChangeExempt?: boolean } | undefined): void {
  if (p.kind === 'user' && p.mustChangePassword && !route?.passwordChangeExempt) {
    throw new HttpError(403, 'PASSWORD_CHANGE_REQUIRED', 'change your password first (POST /api/v1/auth/password)');
  }
  if (!allowed(p, access)) {
    throw new HttpError(403, 'FORBIDDEN', p.kind === 'user' ? `this action needs role ${access.role} or higher` : `this action needs an API key with scope ${access.scope}`);
  }
}

export function describeAccess(access: Access): string {
  return access === 'public' ? 'Public.' : `Requires a user with role ≥ ${access.role} or an API key with scope \`${access.scope}\`.`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
    /** Allowed while the user must change the password (otherwise 403 PASSWORD_CHANGE_REQUIRED). */
    passwordChangeExempt?: boolean;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
