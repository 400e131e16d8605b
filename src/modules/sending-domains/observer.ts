/**
 * The `domain_auth` alert condition, evaluated over sending_domains (alerts' ConditionObserver):
 * one series per active domain that has been checked. It holds while a required part (SPF, DKIM,
 * DMARC) is not configured as of the last check DNS answered — a record that disappears, breaks,
 * is revoked or stops authorising a sending IP raises it, and it resolves once a check finds the
 * record back — or while the last `errorChecks` checks in a row could not read DNS.
 */
import type { Queryable } from '../../db/database.ts';
import type { AlertObservation, ConditionObserver } from '../alerts/contracts.ts';
import { DMARC_POLICIES, type DmarcPolicy } from './schema.ts';

interface Row {
  domain: string;
  spf_configured: boolean;
  dkim_configured: boolean;
  dmarc_configured: boolean;
  dmarc_policy: DmarcPolicy | null;
  last_checked_at: Date;
  consecutive_check_errors: number;
}

type Part = 'spf' | 'dkim' | 'dmarc';
const LABEL: Record<Part, string> = { spf: 'SPF', dkim: 'DKIM', dmarc: 'DMARC' };

export function domainAuthObservations(rows: readonly Row[], require: readonly Part[], minDmarcPolicy: DmarcPolicy, errorChecks: number): AlertObservation[] {
  const rank = (p: DmarcPolicy | null) => (p === null ? -1 : DMARC_POLICIES.indexOf(p));
  return rows.map((r) => {
    const problems: string[] = [];
    const failing: Part[] = [];
    for (const part of require) {
      const ok = part === 'spf' ? r.spf_configured : part === 'dkim' ? r.dkim_configured : r.dmarc_configured && rank(r.dmarc_policy) >= rank(minDmarcPolicy);
      if (ok) continue;
      failing.push(part);
      problems.push(part === 'dmarc' && r.dmarc_configured ? `DMARC policy ${r.dmarc_policy} is weaker than ${minDmarcPolicy}` : `${LABEL[part]} not configured`);
    }
    const dnsFailing = r.consecutive_check_errors >= errorChecks;
    if (dnsFailing) problems.push(`the last ${r.consecutive_check_errors} checks could not read DNS`);
    const holds = problems.length > 0;
    return {
      series: { domain: r.domain },
      nodeId: null,
      serviceName: null,
      holds,
      recovered: !holds,
      value: holds ? [...failing, ...(dnsFailing ? ['dns_error'] : [])].join(',') : 'ok',
      message: holds ? `${r.domain}: ${problems.join('; ')}` : `${r.domain}: ${require.map((p) => LABEL[p]).join(', ')} configured`,
      details: {
        domain: r.domain,
        spfConfigured: r.spf_configured,
        dkimConfigured: r.dkim_configured,
        dmarcConfigured: r.dmarc_configured,
        dmarcPolicy: r.dmarc_policy,
        lastCheckedAt: r.last_checked_at.toISOString(),
        consecutiveCheckErrors: r.consecutive_check_errors,
      },
    };
  });
}

export const domainAuthObserver: ConditionObserver = {
  async observe(db: Queryable, condition) {
    const c = condition as unknown as { require: Part[]; minDmarcPolicy: DmarcPolicy; errorChecks: number };
    const rows = await db.queryMany<Row>(
      `SELECT domain, spf_configured, dkim_configured, dmarc_configured, dmarc_policy, last_checked_at, consecutive_check_errors
         FROM sending_domains WHERE status = 'active' AND last_checked_at IS NOT NULL ORDER BY domain`,
    );
    return domainAuthObservations(rows, c.require, c.minDmarcPolicy, c.errorChecks);
  },
};
