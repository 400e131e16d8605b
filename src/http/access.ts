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
  | { kind: 'user'; userId: number; username: string; role: Role }
  | { kind: 'apiKey'; keyId: number; name: string; scopes: Scope[] };

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

export function describeAccess(access: Access): string {
  return access === 'public' ? 'Public.' : `Requires a user with role ≥ ${access.role} or an API key with scope \`${access.scope}\`.`;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: Access;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
