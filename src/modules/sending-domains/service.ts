/**
 * Sending domains: the list (§6.2 sending_domains), every DNS authentication check with its
 * time and evidence (sending_domain_checks), and the per-domain reputation overview from
 * email_events. The DNS lookups themselves happen in checker.ts, outside any transaction; this
 * store only reads and writes rows, each write in one short transaction.
 */
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, NotFoundError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import type { CheckEvidence } from './dns-check.ts';
import type { CheckOutcome, DmarcPolicy, DomainStatus, PartState, SendingDomainCheckRow, SendingDomainRow } from './schema.ts';

export interface SendingDomain {
  domain: string;
  status: DomainStatus;
  dailyLimit: number | null;
  dkimSelectors: string[];
  spfConfigured: boolean;
  dkimConfigured: boolean;
  dmarcConfigured: boolean;
  dmarcPolicy: DmarcPolicy | null;
  lastCheckedAt: string | null;
  lastCheckOutcome: CheckOutcome | null;
  /** Checks in a row whose lookups were not all answered (0 after a check that was). */
  consecutiveCheckErrors: number;
  lastCheck: CheckEvidence | null;
  createdAt: string;
  updatedAt: string;
}

export interface DomainCheck {
  id: number;
  domain: string;
  checkedAt: string;
  outcome: CheckOutcome;
  spf: PartState;
  dkim: PartState;
  dmarc: PartState;
  dmarcPolicy: DmarcPolicy | null;
  durationMs: number;
  evidence: CheckEvidence;
}

export interface DomainInput {
  domain: string;
  status?: DomainStatus | undefined;
  dailyLimit?: number | null | undefined;
  dkimSelectors?: readonly string[] | undefined;
}
export type DomainPatch = Partial<Omit<DomainInput, 'domain'>>;

export interface DomainListQuery {
  page: number;
  pageSize: number;
  status?: DomainStatus | undefined;
  spfConfigured?: boolean | undefined;
  dkimConfigured?: boolean | undefined;
  dmarcConfigured?: boolean | undefined;
  /** Part of the domain name. */
  search?: string | undefined;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export const toDomain = (r: SendingDomainRow): SendingDomain => ({
  domain: r.domain,
  status: r.status,
  dailyLimit: r.daily_limit,
  dkimSelectors: r.dkim_selectors,
  spfConfigured: r.spf_configured,
  dkimConfigured: r.dkim_configured,
  dmarcConfigured: r.dmarc_configured,
  dmarcPolicy: r.dmarc_policy,
  lastCheckedAt: iso(r.last_checked_at),
  lastCheckOutcome: r.last_check_outcome,
  consecutiveCheckErrors: r.consecutive_check_errors,
  lastCheck: r.last_check,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const toCheck = (r: SendingDomainCheckRow): DomainCheck => ({
  id: r.id,
  domain: r.domain,
  checkedAt: r.checked_at.toISOString(),
  outcome: r.outcome,
  spf: r.spf_state,
  dkim: r.dkim_state,
  dmarc: r.dmarc_state,
  dmarcPolicy: r.dmarc_policy,
  durationMs: r.duration_ms,
  evidence: r.evidence,
});

export const domainNotFound = (domain: string) => new NotFoundError('DOMAIN_NOT_FOUND', `no sending domain ${domain}`);
const selectorsLiteral = (s: readonly string[]) => `{${[...new Set(s)].join(',')}}`;

/** How long checks are kept (the sending-domain-check-retention job). */
export const CHECK_HISTORY_DAYS = 180;

export class SendingDomainStore {
  constructor(private readonly opts: { db: Database; clock: Clock }) {}

  private get db() {
    return this.opts.db;
  }

  async list(q: DomainListQuery): Promise<Page<SendingDomain>> {
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, v: unknown) => {
      params.push(v);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.status) add('status = ?', q.status);
    if (q.spfConfigured !== undefined) add('spf_configured = ?', q.spfConfigured);
    if (q.dkimConfigured !== undefined) add('dkim_configured = ?', q.dkimConfigured);
    if (q.dmarcConfigured !== undefined) add('dmarc_configured = ?', q.dmarcConfigured);
    if (q.search) add(`strpos(domain, ?) > 0`, q.search.toLowerCase());
    const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (await this.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM sending_domains ${w}`, params))?.n ?? 0;
    const rows = await this.db.queryMany<SendingDomainRow>(`SELECT * FROM sending_domains ${w} ORDER BY domain LIMIT $${params.length + 1} OFFSET $${params.length + 2}`, [...params, q.pageSize, (q.page - 1) * q.pageSize]);
    return pageResult(rows.map(toDomain), total, q.page, q.pageSize);
  }

  async row(domain: string, db: Queryable = this.db): Promise<SendingDomainRow> {
    const r = await db.queryOne<SendingDomainRow>('SELECT * FROM sending_domains WHERE domain = $1', [domain]);
    if (!r) throw domainNotFound(domain);
    return r;
  }

  async get(domain: string): Promise<SendingDomain> {
    return toDomain(await this.row(domain));
  }

  async create(input: DomainInput): Promise<SendingDomain> {
    const now = this.opts.clock.now();
    const r = await this.db.queryOne<SendingDomainRow>(
      `INSERT INTO sending_domains (domain, status, daily_limit, dkim_selectors, created_at, updated_at)
       VALUES ($1, $2, $3, $4::text::text[], $5, $5) ON CONFLICT (domain) DO NOTHING RETURNING *`,
      [input.domain, input.status ?? 'active', input.dailyLimit ?? null, selectorsLiteral(input.dkimSelectors ?? []), now],
    );
    if (!r) throw new ConflictError('DOMAIN_EXISTS', `the sending domain ${input.domain} is already listed`);
    return toDomain(r);
  }

  async update(domain: string, patch: DomainPatch): Promise<SendingDomain> {
    const sets: string[] = [];
    const params: unknown[] = [domain];
    const set = (col: string, v: unknown, cast = '') => {
      params.push(v);
      sets.push(`${col} = $${params.length}${cast}`);
    };
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.dailyLimit !== undefined) set('daily_limit', patch.dailyLimit);
    if (patch.dkimSelectors !== undefined) set('dkim_selectors', selectorsLiteral(patch.dkimSelectors), '::text::text[]');
    set('updated_at', this.opts.clock.now());
    const r = await this.db.queryOne<SendingDomainRow>(`UPDATE sending_domains SET ${sets.join(', ')} WHERE domain = $1 RETURNING *`, params);
    if (!r) throw domainNotFound(domain);
    return toDomain(r);
  }

  async remove(domain: string): Promise<void> {
    const r = await this.db.queryOne('DELETE FROM sending_domains WHERE domain = $1 RETURNING domain', [domain]);
    if (!r) throw domainNotFound(domain);
  }

  async history(domain: string, q: { page: number; pageSize: number }): Promise<Page<DomainCheck>> {
    await this.row(domain);
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM sending_domain_checks WHERE domain = $1', [domain]))?.n ?? 0;
    const rows = await this.db.queryMany<SendingDomainCheckRow>('SELECT * FROM sending_domain_checks WHERE domain = $1 ORDER BY checked_at DESC, id DESC LIMIT $2 OFFSET $3', [
      domain,
      q.pageSize,
      (q.page - 1) * q.pageSize,
    ]);
    return pageResult(rows.map(toCheck), total, q.page, q.pageSize);
  }

  /** Domains whose last check is older than `everyMs` at `now` (never checked first), at most `limit`. */
  async due(now: Date, everyMs: number, limit: number): Promise<string[]> {
    const rows = await this.db.queryMany<{ domain: string }>(
      `SELECT domain FROM sending_domains WHERE last_checked_at IS NULL OR last_checked_at <= $1 ORDER BY last_checked_at NULLS FIRST, domain LIMIT $2`,
      [new Date(now.getTime() - everyMs), limit],
    );
    return rows.map((r) => r.domain);
  }

  /**
   * Stores one check in one short transaction: the history row, and on the domain the last check
   * and each flag whose part DNS answered (a part in `error` keeps the flag it had). Returns null
   * when the domain was deleted while its lookups ran.
   */
  async recordCheck(domain: string, evidence: CheckEvidence, checkedAt: Date, durationMs: number): Promise<DomainCheck | null> {
    const outcome: CheckOutcome = [evidence.spf.state, evidence.dkim.state, evidence.dmarc.state].includes('error') ? 'error' : 'ok';
    const dmarcPolicy = evidence.dmarc.state === 'configured' ? evidence.dmarc.policy : null;
    return this.db.transaction(async (tx) => {
      const locked = await tx.queryOne('SELECT domain FROM sending_domains WHERE domain = $1 FOR UPDATE', [domain]);
      if (!locked) return null;
      const row = await tx.queryOne<SendingDomainCheckRow>(
        `INSERT INTO sending_domain_checks (domain, checked_at, outcome, spf_state, dkim_state, dmarc_state, dmarc_policy, evidence, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9) RETURNING *`,
        [domain, checkedAt, outcome, evidence.spf.state, evidence.dkim.state, evidence.dmarc.state, dmarcPolicy, JSON.stringify(evidence), Math.max(0, Math.round(durationMs))],
      );
      const sets = ['last_checked_at = $2', 'last_check_outcome = $3', 'last_check = $4::text::jsonb', `consecutive_check_errors = ${outcome === 'error' ? 'consecutive_check_errors + 1' : '0'}`];
      const params: unknown[] = [domain, checkedAt, outcome, JSON.stringify(evidence)];
      const flag = (col: string, v: unknown) => {
        params.push(v);
        sets.push(`${col} = $${params.length}`);
      };
      if (evidence.spf.state !== 'error') flag('spf_configured', evidence.spf.state === 'configured');
      if (evidence.dkim.state !== 'error') flag('dkim_configured', evidence.dkim.state === 'configured');
      if (evidence.dmarc.state !== 'error') {
        flag('dmarc_configured', evidence.dmarc.state === 'configured');
        flag('dmarc_policy', dmarcPolicy);
      }
      await tx.query(`UPDATE sending_domains SET ${sets.join(', ')} WHERE domain = $1`, params);
      return toCheck(row!);
    });
  }

  async deleteChecksOlderThan(days: number): Promise<number> {
    const cutoff = new Date(this.opts.clock.now().getTime() - days * 86_400_000);
    let deleted = 0;
    for (;;) {
      const r = await this.db.query('DELETE FROM sending_domain_checks WHERE id IN (SELECT id FROM sending_domain_checks WHERE checked_at < $1 LIMIT 5000)', [cutoff]);
      deleted += r.rowCount;
      if (r.rowCount < 5000) return deleted;
    }
  }
}
