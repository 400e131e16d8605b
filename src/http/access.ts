import { allowed, type AccessRule, type Principal } from '../domain/access.ts';
import { HttpError } from './problem.ts';

/**
 * Route access declarations. Every route declares `config.access`: either
 * 'public' or the least user role and the API-key scope it needs (the domain
 * vocabulary is src/domain/access.ts). The check runs in one onRequest hook
 * (src/http/app.ts); a route without a declaration fails at start-up.
 */
export type Access = 'public' | AccessRule;

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
    /**
     * Audit of a mutating route (POST, PUT, PATCH, DELETE): by default the handler runs in a
     * transaction that also writes its audit entry (src/http/app.ts). `false`: not audited
     * (telemetry ingest, sign-in sessions, pings, "test" actions — listed in
     * test/http/audit-coverage.test.ts); `self`: the module writes its own entries.
     */
    audit?: false | 'self';
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}
