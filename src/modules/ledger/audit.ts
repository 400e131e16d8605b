/**
 * The audit trail: who (a user or an API key) did what (action, target type
 * and id), when, from where (IP, request id), with a summary that never holds
 * secrets. `recordAudit` writes one entry in the caller's transaction, so an
 * entry exists exactly when the change it describes committed. The table is
 * append-only in the database itself (migration 0019: statement triggers refuse
 * UPDATE, DELETE and TRUNCATE; the privileges are revoked).
 */
import { isIP } from 'node:net';
import type { Queryable } from '../../db/database.ts';
import type { AuditActor, AuditRecord } from '../../domain/audit.ts';

/** Who acts and from where: built by the routes from the request. */
export type Actor = AuditActor;

/** One entry to write (the same shape the HTTP layer's audit sink receives). */
export type AuditEntryInput = AuditRecord;

export interface AuditEntry {
  id: number;
  at: string;
  actorKind: 'user' | 'api_key' | 'system';
  actorId: string | null;
  actorName: string | null;
  action: string;
  targetType: string;
  targetId: string | null;
  ip: string | null;
  requestId: string | null;
  summary: Record<string, unknown>;
}

/** The system itself (jobs, migrations): no principal. */
export const SYSTEM_ACTOR: Actor = { principal: null };

/** A short label of the actor for `created_by` columns: `user:alice`, `key:7:agent-1`, `system`. */
export function actorLabel(a: Actor): string {
  const p = a.principal;
  if (!p) return 'system';
  return p.kind === 'user' ? `user:${p.username}` : `key:${p.keyId}:${p.name}`;
}

// Keys whose values are never stored: any *password / *passphrase (currentPassword, newPassword),
// anything with "secret" (secrets, hmacSecret), tokens of sessions, bots and APIs (but not token
// counts such as inputTokens), keys, authorization, credentials, cookies, file contents.
const SECRET_KEY = /^(.*pass(word|phrase)|.*secret.*|((access|refresh|bot|api|auth|bearer|session|heartbeat)_?)?token|api_?key|key|private_?key|authorization|credentials?|cookie|content(_?base64)?)$/i;
const MAX_STRING = 256;
const MAX_DEPTH = 4;

/**
 * The summary as stored: values under secret-looking keys replaced by
 * "[redacted]", long strings cut, deep nesting flattened to "[…]".
 */
export function redactSummary(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > MAX_STRING ? `${v.slice(0, MAX_STRING)}…` : v;
  if (v === null || typeof v !== 'object') return v;
  if (depth >= MAX_DEPTH) return '[…]';
  if (Array.isArray(v)) return v.slice(0, 50).map((x) => redactSummary(x, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = SECRET_KEY.test(k) ? '[redacted]' : redactSummary(x, depth + 1);
  return out;
}

/** Writes one audit entry in the caller's transaction (or alone, outside one). */
export async function recordAudit(tx: Queryable, e: AuditEntryInput): Promise<void> {
  const p = e.principal;
  const kind = !p ? 'system' : p.kind === 'user' ? 'user' : 'api_key';
  const actorId = !p ? null : p.kind === 'user' ? String(p.userId) : String(p.keyId);
  const actorName = !p ? null : p.kind === 'user' ? p.username : p.name;
  const ip = e.ip && isIP(e.ip) !== 0 ? e.ip : null;
  await tx.query(
    `INSERT INTO audit_entries (actor_kind, actor_id, actor_name, action, target_type, target_id, ip, request_id, summary)
     VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8, $9::text::jsonb)`,
    [kind, actorId, actorName, e.action, e.targetType, e.targetId == null ? null : String(e.targetId), ip, e.requestId ?? null, JSON.stringify(redactSummary(e.summary ?? {}))],
  );
}

export interface AuditFilter {
  actorKind?: AuditEntry['actorKind'] | undefined;
  actorName?: string | undefined;
  action?: string | undefined;
  targetType?: string | undefined;
  targetId?: string | undefined;
  from?: Date | undefined;
  to?: Date | undefined;
  /** Keyset cursor: entries with a smaller id than this (the previous page's nextCursor). */
  before?: number | undefined;
  limit: number;
}

interface AuditRow {
  id: number;
  at: Date;
  actor_kind: AuditEntry['actorKind'];
  actor_id: string | null;
  actor_name: string | null;
  action: string;
  target_type: string;
  target_id: string | null;
  ip: string | null;
  request_id: string | null;
  summary: Record<string, unknown>;
}

/** Newest first, keyset-paged by id: `nextCursor` is null on the last page. */
export async function listAudit(db: Queryable, f: AuditFilter): Promise<{ items: AuditEntry[]; nextCursor: number | null }> {
  const rows = await db.queryMany<AuditRow>(
    `SELECT id, at, actor_kind, actor_id, actor_name, action, target_type, target_id, host(ip) AS ip, request_id, summary
     FROM audit_entries
     WHERE ($1::text IS NULL OR actor_kind = $1) AND ($2::text IS NULL OR actor_name = $2) AND ($3::text IS NULL OR action = $3)
       AND ($4::text IS NULL OR target_type = $4) AND ($5::text IS NULL OR target_id = $5)
       AND ($6::timestamptz IS NULL OR at >= $6) AND ($7::timestamptz IS NULL OR at < $7) AND ($8::bigint IS NULL OR id < $8)
     ORDER BY id DESC LIMIT $9`,
    [f.actorKind ?? null, f.actorName ?? null, f.action ?? null, f.targetType ?? null, f.targetId ?? null, f.from?.toISOString() ?? null, f.to?.toISOString() ?? null, f.before ?? null, f.limit + 1],
  );
  const more = rows.length > f.limit;
  const page = rows.slice(0, f.limit);
  return {
    items: page.map((r) => ({
      id: r.id,
      at: r.at.toISOString(),
      actorKind: r.actor_kind,
      actorId: r.actor_id,
      actorName: r.actor_name,
      action: r.action,
      targetType: r.target_type,
      targetId: r.target_id,
      ip: r.ip,
      requestId: r.request_id,
      summary: r.summary,
    })),
    nextCursor: more ? page[page.length - 1]!.id : null,
  };
}
