/**
 * Sending domains (`/mail/domains`): SPF / DKIM / DMARC state of each domain, its last check
 * and "check now" for operators, who can also add a domain; one domain
 * (`/mail/domains/:domain`): the evidence of the last check, the reputation overview (24 h
 * and 7 d windows, health score and what it lost points for) and the check history.
 */
import { useState } from 'preact/hooks';
import { api, ApiError, can } from '../../api.ts';
import { useActions } from '../../components/action.ts';
import { errorsOf, errorText, Field, FormErrors, useSubmit, type FieldErrors } from '../../components/form.tsx';
import { pageOf, Pager } from '../../components/pager.tsx';
import { Table } from '../../components/table.tsx';
import { tick, useData } from '../../data.ts';
import { formatNumber, formatPercent, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { navigate, setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import type { WindowFigures as Window } from '../../../../src/modules/sending-domains/reputation.ts';
import { isDomain, MailNav, Stat } from './common.tsx';

type Part = 'configured' | 'missing' | 'invalid' | 'error' | string;
interface Evidence {
  spf: { state: Part; reason: string; records: string[]; all: string | null; ips: { ip: string; result: string; lookups: number; detail: string }[]; error?: string };
  dkim: { state: Part; reason: string; selectors: { selector: string; name: string; state: string; record: string | null; keyType: string | null; error?: string }[] };
  dmarc: { state: Part; reason: string; records: string[]; policy: string | null; subdomainPolicy: string | null; pct: number | null; rua: string[]; error?: string };
  sendingIps: string[];
}
interface Domain {
  domain: string;
  status: string;
  dailyLimit: number | null;
  dkimSelectors: string[];
  spfConfigured: boolean;
  dkimConfigured: boolean;
  dmarcConfigured: boolean;
  dmarcPolicy: string | null;
  lastCheckedAt: string | null;
  lastCheckOutcome: string | null;
  consecutiveCheckErrors: number;
  lastCheck: Evidence | null;
}
interface Reputation {
  problems: string[];
  last24h: Window;
  last7d: Window;
  health: { score: number | null; deductions: { term: string; points: number; value: number | null }[]; notEvaluated: string[] };
}
interface Check {
  id: number;
  checkedAt: string;
  outcome: string;
  spf: Part;
  dkim: Part;
  dmarc: Part;
  dmarcPolicy: string | null;
  durationMs: number;
}

function Flag({ ok, label, state }: { ok: boolean; label: string; state?: string | undefined }) {
  return <span class={`badge auth ${ok ? 'ok' : state === 'error' ? 'warn' : 'bad'}`} data-auth={label} title={state}>{label} {ok ? '✓' : '✗'}</span>;
}

function AddDomain({ onAdded }: { onAdded: () => void }) {
  const [domain, setDomain] = useState('');
  const [selectors, setSelectors] = useState('');
  const [message, setMessage] = useState<string | null>(null);
  const d = domain.trim().toLowerCase().replace(/\.$/, '');
  const sel = selectors.split(/[\s,]+/).map((s) => s.trim().toLowerCase()).filter(Boolean);
  const form = useSubmit({
    check: () => {
      setMessage(null);
      const p: FieldErrors = {};
      if (!isDomain(d)) p.domain = 'a host name such as example.com: two or more labels of letters, digits and hyphens';
      if (sel.some((s) => !/^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(s))) p.dkimSelectors = 'DKIM selectors: labels of letters, digits, hyphens and underscores, separated by commas';
      if (sel.length > 20) p.dkimSelectors = 'at most 20 selectors';
      return p;
    },
    send: () => api('/api/v1/domains', { method: 'POST', body: { domain: d, dkimSelectors: sel } }),
    done: () => {
      setDomain('');
      setSelectors('');
      setMessage(`Added ${d}. Its records are read by the next check (or "Check now").`);
      onAdded();
    },
    problem: (err) => (err instanceof ApiError && err.code === 'DOMAIN_EXISTS' ? { domain: `${d} is already listed` } : errorsOf(err)),
  });
  const { errors } = form;
  return (
    <form class="mail-filters add-domain" noValidate onSubmit={form.onSubmit}>
      <Field class="mail-field" label="Add a sending domain" path="domain" errors={errors}>
        <input name="domain" placeholder="shop.example" value={domain} aria-invalid={errors.domain ? 'true' : undefined} onInput={(e) => setDomain((e.target as HTMLInputElement).value)} />
      </Field>
      <Field class="mail-field" label="DKIM selectors" path="dkimSelectors" errors={errors}>
        <input name="dkimSelectors" placeholder="s1, s2024" value={selectors} onInput={(e) => setSelectors((e.target as HTMLInputElement).value)} />
      </Field>
      <div class="mail-filter-actions"><button type="submit" class="primary" data-action="add-domain" disabled={form.busy}>Add</button></div>
      <FormErrors errors={errors} shown={['domain', 'dkimSelectors']} />
      {message && <p class="notice" role="status">{message}</p>}
    </form>
  );
}

export function DomainsPage({ user, time, query }: PageProps) {
  const page = pageOf(query);
  const search = query.get('search') ?? '';
  const [text, setText] = useState(search);
  const list = useData((signal) => api<{ items: Domain[]; total: number; totalPages: number }>(`/api/v1/domains?page=${page}&pageSize=50${search ? `&search=${encodeURIComponent(search)}` : ''}`, { signal }), [page, search]);
  const { message, setMessage, act } = useActions();
  const operator = can(user, 'operator');
  const check = (d: string) => {
    const checking = act((c: Check) => `${d}: SPF ${c.spf}, DKIM ${c.dkim}, DMARC ${c.dmarc} (${c.outcome}).`, () => api<Check>(`/api/v1/domains/${encodeURIComponent(d)}/check`, { method: 'POST' }));
    setMessage(`Checking ${d}…`);
    return checking;
  };
  return (
    <section class="page mail domains">
      <h1>Sending domains</h1>
      <MailNav current="domains" />
      {operator && <AddDomain onAdded={() => tick.set(tick.get() + 1)} />}
      <form class="toolbar" onSubmit={(e) => {
        e.preventDefault();
        setQuery({ search: text.trim().slice(0, 253) || null, page: null });
      }}>
        <input type="search" name="search" aria-label="Search domains" placeholder="Part of the domain name" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        <button type="submit">Search</button>
      </form>
      {message && <p class="notice" role="status">{message}</p>}
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.total === 0 && !search && (
        <div class="empty-state">
          <p>No sending domain is listed. Operators add one here or through the API; Opsdeck then reads its SPF, DKIM and DMARC records every hour (<code>OPSDECK_DOMAIN_CHECK_INTERVAL</code>):</p>
          <pre>{`curl -s -X POST ${window.location.origin}/api/v1/domains -H "authorization: Bearer $TOKEN" \\
  -H 'content-type: application/json' -d '{"domain":"shop.example","dkimSelectors":["s1"]}'`}</pre>
        </div>
      )}
      <Table
        items={list.data?.items ?? []}
        name="domains"
        head={<><th>Domain</th><th>Status</th><th>Authentication</th><th>DMARC policy</th><th>Last check</th>{operator && <th>Actions</th>}</>}
        row={(d) => (
          <tr data-domain={d.domain}>
            <td><Link href={`/mail/domains/${encodeURIComponent(d.domain)}`}>{d.domain}</Link></td>
            <td>{d.status}</td>
            <td class="auth-flags">
              <Flag ok={d.spfConfigured} label="SPF" state={d.lastCheck?.spf.state} /> <Flag ok={d.dkimConfigured} label="DKIM" state={d.lastCheck?.dkim.state} /> <Flag ok={d.dmarcConfigured} label="DMARC" state={d.lastCheck?.dmarc.state} />
            </td>
            <td>{d.dmarcPolicy ?? '–'}</td>
            <td>{d.lastCheckedAt ? `${formatTime(d.lastCheckedAt, time.tz)} (${d.lastCheckOutcome ?? ''})` : <span class="hint">never checked</span>}{d.consecutiveCheckErrors > 0 ? <span class="error"> · {d.consecutiveCheckErrors} failed in a row</span> : null}</td>
            {operator && <td class="actions"><button type="button" data-action="check" onClick={() => void check(d.domain)}>Check now</button></td>}
          </tr>
        )}
      />
      <Pager page={page} totalPages={list.data?.totalPages} />
    </section>
  );
}

function WindowFacts({ w, title }: { w: Window; title: string }) {
  const p = (v: number | null) => formatPercent(v);
  return (
    <div>
      <h3>{title}</h3>
      <dl class="facts">
        <dt>Attempts</dt><dd>{formatNumber(w.attempts)} ({formatNumber(w.delivered)} delivered)</dd>
        <dt>Bounce rate</dt><dd>{p(w.bounceRate)} (hard {p(w.hardBounceRate)})</dd>
        <dt>Complaints</dt><dd>{formatNumber(w.complaints)} ({p(w.complaintRate)})</dd>
        <dt>Average delivery</dt><dd>{w.avgDeliveryMs === null ? '–' : `${formatNumber(w.avgDeliveryMs)} ms`}</dd>
        <dt>DKIM / SPF / DMARC pass</dt><dd>{p(w.dkimPassRate)} / {p(w.spfPassRate)} / {p(w.dmarcPassRate)}</dd>
      </dl>
    </div>
  );
}

export function DomainPage({ user, time, params }: PageProps) {
  const name = params.domain ?? '';
  const d = useData((signal) => api<Domain>(`/api/v1/domains/${encodeURIComponent(name)}`, { signal }), [name]);
  const rep = useData((signal) => api<Reputation>(`/api/v1/domains/${encodeURIComponent(name)}/reputation`, { signal }), [name]);
  const history = useData((signal) => api<{ items: Check[] }>(`/api/v1/domains/${encodeURIComponent(name)}/history?pageSize=10`, { signal }), [name]);
  const { message, setMessage, act } = useActions();
  const operator = can(user, 'operator');
  const e = d.data?.lastCheck;
  const r = rep.data;
  return (
    <section class="page mail domain">
      <h1>{name}</h1>
      <MailNav current="domains" />
      <p><Link href="/mail/domains">‹ All sending domains</Link> · <Link href={`/mail?fromDomain=${encodeURIComponent(name)}`}>delivery from this domain</Link></p>
      {(d.error ?? rep.error) && <p class="error">{d.error ?? rep.error}</p>}
      {message && <p class="notice" role="status">{message}</p>}
      {operator && d.data && (
        <div class="toolbar">
          <button type="button" data-action="check" onClick={() => {
            void act((c: Check) => `SPF ${c.spf}, DKIM ${c.dkim}, DMARC ${c.dmarc} (${c.outcome}).`, () => api<Check>(`/api/v1/domains/${encodeURIComponent(name)}/check`, { method: 'POST' }));
            setMessage('Checking…');
          }}>Check now</button>
          <button type="button" data-action="delete" onClick={async () => {
            if (!window.confirm(`Remove ${name} and its check history?`)) return;
            try {
              await api(`/api/v1/domains/${encodeURIComponent(name)}`, { method: 'DELETE' });
              navigate('/mail/domains');
            } catch (err) {
              setMessage(errorText(err));
            }
          }}>Remove</button>
        </div>
      )}
      {d.data && r && (
        <div class="stats">
          <Stat label="Health score" value={r.health.score === null ? '–' : formatNumber(r.health.score, 1)} sub={r.health.score === null ? 'no delivery attempt in 24 h' : 'of 100, last 24 h'} tone={r.health.score === null ? undefined : r.health.score >= 90 ? 'ok' : r.health.score >= 70 ? 'warn' : 'bad'} />
          <Stat label="SPF" value={d.data.spfConfigured ? 'configured' : 'not configured'} tone={d.data.spfConfigured ? 'ok' : 'bad'} />
          <Stat label="DKIM" value={d.data.dkimConfigured ? 'configured' : 'not configured'} tone={d.data.dkimConfigured ? 'ok' : 'bad'} />
          <Stat label="DMARC" value={d.data.dmarcConfigured ? `p=${d.data.dmarcPolicy ?? '?'}` : 'not configured'} tone={d.data.dmarcConfigured ? (d.data.dmarcPolicy === 'none' ? 'warn' : 'ok') : 'bad'} />
          <Stat label="Last check" value={d.data.lastCheckedAt ? (d.data.lastCheckOutcome ?? '') : 'never'} sub={formatTime(d.data.lastCheckedAt, time.tz)} />
        </div>
      )}
      {r && r.problems.length > 0 && <ul class="reasons" data-problems>{r.problems.map((p) => <li>{p}</li>)}</ul>}
      {r && r.health.deductions.length > 0 && <p class="hint">Score deductions: {r.health.deductions.map((x) => `${x.term} −${x.points}`).join(', ')}{r.health.notEvaluated.length ? `; not evaluated: ${r.health.notEvaluated.join(', ')}` : ''}</p>}
      {r && (
        <div class="grid2">
          <WindowFacts w={r.last24h} title="Last 24 hours" />
          <WindowFacts w={r.last7d} title="Last 7 days" />
        </div>
      )}
      <h2>Evidence of the last check</h2>
      {d.data && !e && <p class="hint">Not checked yet. The <code>sending-domain-checks</code> job reads the records within {'OPSDECK_DOMAIN_CHECK_INTERVAL'} minutes{operator ? ', or use "Check now"' : ''}.</p>}
      {e && (
        <div class="evidence">
          <h3>SPF: {e.spf.state}</h3>
          <p class="hint">{e.spf.reason}{e.spf.error ? ` (${e.spf.error})` : ''}</p>
          {e.spf.records.map((x) => <pre class="record">{x}</pre>)}
          {e.spf.ips.length > 0 && (
            <div class="table-wrap"><table class="table compact"><thead><tr><th>Sending IP</th><th>Result</th><th class="num">Lookups</th><th>Detail</th></tr></thead>
              <tbody>{e.spf.ips.map((i) => <tr><td>{i.ip}</td><td>{i.result}</td><td class="num">{i.lookups}</td><td class="msg">{i.detail}</td></tr>)}</tbody></table></div>
          )}
          <h3>DKIM: {e.dkim.state}</h3>
          <p class="hint">{e.dkim.reason}</p>
          <div class="table-wrap"><table class="table compact"><thead><tr><th>Selector</th><th>State</th><th>Key</th><th>Record</th></tr></thead>
            <tbody>{e.dkim.selectors.map((s) => <tr><td>{s.name}</td><td>{s.state}</td><td>{s.keyType ?? '–'}</td><td class="msg">{s.record ?? s.error ?? '–'}</td></tr>)}</tbody></table></div>
          <h3>DMARC: {e.dmarc.state}</h3>
          <p class="hint">{e.dmarc.reason}{e.dmarc.error ? ` (${e.dmarc.error})` : ''}</p>
          {e.dmarc.records.map((x) => <pre class="record">{x}</pre>)}
          {e.dmarc.policy && <p>Policy p={e.dmarc.policy}, sp={e.dmarc.subdomainPolicy ?? e.dmarc.policy}, pct={e.dmarc.pct ?? 100}{e.dmarc.rua.length ? `, reports to ${e.dmarc.rua.join(', ')}` : ''}</p>}
        </div>
      )}
      <h2>Check history</h2>
      <div class="table-wrap">
        <table class="table compact" data-table="history">
          <thead><tr><th>Checked</th><th>Outcome</th><th>SPF</th><th>DKIM</th><th>DMARC</th><th>Policy</th><th class="num">Took</th></tr></thead>
          <tbody>
            {history.data?.items.length === 0 && <tr><td colSpan={7} class="hint">No check yet.</td></tr>}
            {history.data?.items.map((c) => <tr><td>{formatTime(c.checkedAt, time.tz)}</td><td>{c.outcome}</td><td>{c.spf}</td><td>{c.dkim}</td><td>{c.dmarc}</td><td>{c.dmarcPolicy ?? '–'}</td><td class="num">{formatNumber(c.durationMs)} ms</td></tr>)}
          </tbody>
        </table>
      </div>
    </section>
  );
}
