/**
 * The audit trail's seam: what the HTTP layer knows about a change (who, what, where) and
 * the sink that writes it in the change's own transaction (the agent ledger's
 * `audit_entries`, append-only in the database). Framework-free.
 */
import type { Principal } from './access.ts';

/** Who acts and from where. */
export interface AuditActor {
  principal: Principal | null;
  ip?: string | null | undefined;
  requestId?: string | null | undefined;
}

/** One audit entry as written: the HTTP layer builds it for every mutating request, modules for their own actions. */
export interface AuditRecord extends AuditActor {
  /** `<resource>.<verb>`, e.g. `alert-rules.create`, `alerts.acknowledge`, `users.update`. */
  action: string;
  /** The resource, e.g. `alert-rules`. */
  targetType: string;
  targetId?: string | number | null | undefined;
  /** Path parameters and the request body; the sink removes secrets before storing it. */
  summary?: Record<string, unknown> | undefined;
}

/** Writes one entry inside `tx` (the transaction of the change it describes). */
export interface AuditSink {
  record(tx: unknown, entry: AuditRecord): Promise<void>;
}

const VERBS: Record<string, string> = { POST: 'create', PUT: 'update', PATCH: 'update', DELETE: 'delete' };

/**
 * The action and target of a route: the path after `/api/v1` without parameters names the
 * resource; a last segment after a parameter is the verb (`POST /alerts/:id/acknowledge` →
 * `alerts.acknowledge`), else the method's (`POST /alert-rules` → `alert-rules.create`).
 */
export function auditActionOf(method: string, url: string): { action: string; targetType: string } {
  const parts = url.replace(/^\/api\/v1\//, '').split('/').filter(Boolean);
  const firstParam = parts.findIndex((p) => p.startsWith(':'));
  const resource = (firstParam === -1 ? parts : parts.slice(0, firstParam)).join('.');
  const after = firstParam === -1 ? [] : parts.slice(firstParam + 1).filter((p) => !p.startsWith(':'));
  const verb = after.length > 0 ? after.join('.') : (VERBS[method] ?? method.toLowerCase());
  return { action: `${resource}.${verb}`, targetType: resource };
}
