/**
 * The agent ledger beyond runs: tool calls waiting for the signed-in user's approval,
 * LLM cost by model, agent and day, tool success rates, and the audit log (admins).
 */
import { useState } from 'preact/hooks';
import { api, can, type Role } from '../../api.ts';
import { Chart } from '../../chart.tsx';
import { tick, useData } from '../../data.ts';
import { formatNumber, formatPercent, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import { errorsOf, FieldError } from '../../components/form.tsx';
import { formatDuration, Command, type PageEnvelope } from '../lab/ui.tsx';
import { AgentsNav } from './common.tsx';
import { formatUsd, type CostRow, type ToolCall } from './runs.tsx';

/** Approve or reject one held call: a reason is required (checked here, then by the API). */
function Decide({ call }: { call: ToolCall }) {
  const [reason, setReason] = useState('');
  const [local, setLocal] = useState<string | null>(null);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const decide = async (d: 'approve' | 'reject') => {
    setProblem(null);
    const r = reason.trim();
    if (!r) return setLocal('Give a reason: it is kept with the decision in the audit trail.');
    if (r.length > 2000) return setLocal('At most 2000 characters.');
    setLocal(null);
    setBusy(true);
    try {
      await api(`/api/v1/tool-calls/${call.id}/${d}`, { method: 'POST', body: { reason: r } });
      tick.set(tick.get() + 1);
    } catch (err) {
      setProblem(err);
    } finally {
      setBusy(false);
    }
  };
  const errors = errorsOf(problem);
  return (
    <form class="lab-form" data-form="decide" onSubmit={(e) => e.preventDefault()}>
      <div class="field">
        <input name="reason" aria-label="Reason" placeholder="Reason (required)" maxLength={2000} value={reason} onInput={(e) => setReason((e.target as HTMLInputElement).value)} />
        <FieldError messages={[local, errors.reason]} />
      </div>
      <button type="button" class="primary" data-action="approve" disabled={busy} onClick={() => void decide('approve')}>Approve</button>
      <button type="button" data-action="reject" disabled={busy} onClick={() => void decide('reject')}>Reject</button>
      {errors[''] && <p class="error">{errors['']}</p>}
    </form>
  );
}

export function ApprovalsPage({ user, time }: PageProps) {
  const list = useData((signal) => api<PageEnvelope<ToolCall>>('/api/v1/tool-calls?approval=pending&pageSize=200', { signal }), []);
  const all = list.data?.items ?? [];
  const mine = all.filter((c) => can(user, (c.approverRole ?? 'operator') as Role));
  const others = all.length - mine.length;
  return (
    <section class="page agents approvals">
      <h1>Approvals</h1>
      <AgentsNav user={user} current="approvals" />
      {list.error && <p class="error">{list.error}</p>}
      {list.data && mine.length === 0 && <p class="hint">Nothing waits for your approval. A tool call waits when an approval policy matches it (<code>GET /api/v1/policies</code>; admins add them with <code>POST /api/v1/policies</code>).</p>}
      {others > 0 && <p class="hint">{others} more wait{others === 1 ? 's' : ''} for a user with a higher role.</p>}
      {mine.map((c) => (
        <article class="approval" data-approval={String(c.id)}>
          <p>
            <strong>{c.tool}</strong> in <Link href={`/agents/runs/${c.runId}`}>run #{c.runId}</Link> · asked {formatTime(c.requestedAt, time.tz)} · needs {c.approverRole ?? 'operator'}
            {!c.argsValid && <span class="error"> (arguments do not satisfy the tool's schema)</span>}
          </p>
          <pre>{JSON.stringify(c.arguments, null, 2)}</pre>
          <Decide call={c} />
        </article>
      ))}
    </section>
  );
}

function CostTable({ title, rows, keyLabel }: { title: string; rows: CostRow[]; keyLabel: string }) {
  const max = Math.max(0, ...rows.map((r) => r.cost));
  return (
    <div class="table-wrap">
      <table class="table" data-table={`cost-${keyLabel}`}>
        <caption class="sr">{title}</caption>
        <thead><tr><th>{keyLabel}</th><th>Cost (USD)</th><th>Requests</th><th>Input tokens</th><th>Cached</th><th>Output tokens</th><th>Unpriced</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr data-key={r.key}>
              <td class="wrap">{r.key}</td>
              <td>{formatUsd(r.cost)}<span class="hbar" style={{ width: `${max > 0 ? Math.round((60 * r.cost) / max) : 0}px` }} /></td>
              <td>{formatNumber(r.requests)}</td>
              <td>{formatNumber(r.inputTokens)}</td>
              <td>{formatNumber(r.cachedInputTokens)}</td>
              <td>{formatNumber(r.outputTokens)}</td>
              <td>{r.unpricedRequests ? formatNumber(r.unpricedRequests) : ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function UsagePage({ user, time }: PageProps) {
  const range = `from=${time.from.toISOString()}&to=${time.to.toISOString()}`;
  const deps = [time.from.getTime(), time.to.getTime()];
  const byModel = useData((signal) => api<{ items: CostRow[] }>(`/api/v1/usage/costs?groupBy=model&${range}`, { signal }), deps);
  const byAgent = useData((signal) => api<{ items: CostRow[] }>(`/api/v1/usage/costs?groupBy=agent&${range}`, { signal }), deps);
  // Cost per UTC day over whole days, at least the last 7 (a day's cost over a shorter range says little).
  const dayFrom = new Date(Math.min(Date.UTC(time.from.getUTCFullYear(), time.from.getUTCMonth(), time.from.getUTCDate()), time.to.getTime() - 7 * 86_400_000));
  const byDay = useData((signal) => api<{ items: CostRow[] }>(`/api/v1/usage/costs?groupBy=day&from=${dayFrom.toISOString()}&to=${time.to.toISOString()}`, { signal }), [dayFrom.getTime(), time.to.getTime()]);
  const tools = useData((signal) => api<{ items: { tool: string; calls: number; successes: number; successRate: number; avgDurationMs: number | null }[] }>('/api/v1/tools/success-rate', { signal }), []);
  const days = byDay.data?.items ?? [];
  const dayTimes = days.map((d) => Date.parse(`${d.key}T00:00:00Z`));
  return (
    <section class="page agents usage">
      <h1>Cost and tools</h1>
      <AgentsNav user={user} current="usage" />
      <h2>LLM cost <small>USD, in the time range</small></h2>
      {(byModel.error ?? byAgent.error ?? byDay.error) && <p class="error">{byModel.error ?? byAgent.error ?? byDay.error}</p>}
      {byModel.data && byModel.data.items.length === 0 && (
        <div class="empty-state">
          <p>No LLM call in this time range. Agents record their calls with the token counts; Opsdeck prices them from its price table:</p>
          <Command>{`curl -X POST /api/v1/runs/$RUN/llm-calls -H "authorization: Bearer $KEY" \\\n  -d '{"items":[{"provider":"openai","model":"gpt-5","usage":{"inputTokens":1200,"outputTokens":300}}]}'`}</Command>
        </div>
      )}
      {days.length > 0 && (
        <div class="grid2 cost-days">
          <Chart title="Cost per day" unit="USD" series={[{ label: 'cost (USD)', time: dayTimes, values: days.map((d) => d.cost) }]} tz="utc" from={dayFrom} to={time.to} height={200} />
          <p class="hint">Per UTC day, over at least the last 7 days; the tables below hold the chosen time range.</p>
        </div>
      )}
      {byModel.data && byModel.data.items.length > 0 && (
        <>
          <h2>By model</h2>
          <CostTable title="Cost by model" rows={byModel.data.items} keyLabel="model" />
        </>
      )}
      {byAgent.data && byAgent.data.items.length > 0 && (
        <>
          <h2>By agent</h2>
          <CostTable title="Cost by agent" rows={byAgent.data.items} keyLabel="agent" />
        </>
      )}
      <h2>Tool success rates <small>every call with an outcome</small></h2>
      {tools.error && <p class="error">{tools.error}</p>}
      {tools.data && tools.data.items.length === 0 && <p class="hint">No tool call has an outcome yet. Tools are defined by an admin (<code>PUT /api/v1/tools/&#123;name&#125;</code>); agents report results with <code>POST /api/v1/tool-calls/&#123;id&#125;/result</code>.</p>}
      {tools.data && tools.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-table="tools">
            <thead><tr><th>Tool</th><th>Calls</th><th>Successes</th><th>Success rate</th><th>Average duration</th></tr></thead>
            <tbody>
              {tools.data.items.map((t) => (
                <tr data-tool={t.tool}>
                  <td>{t.tool}</td>
                  <td>{formatNumber(t.calls)}</td>
                  <td>{formatNumber(t.successes)}</td>
                  <td>{formatPercent(t.successRate * 100)}</td>
                  <td>{formatDuration(t.avgDurationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface AuditEntry { id: number; at: string; actorKind: string; actorId: string | null; actorName: string | null; action: string; targetType: string; targetId: string | null; ip: string | null; requestId: string | null; summary: Record<string, unknown> }

export function AuditPage({ user, time, query }: PageProps) {
  const admin = can(user, 'admin');
  const before = query.get('before');
  const action = query.get('action') ?? '';
  const actor = query.get('actor') ?? '';
  const q = new URLSearchParams({ limit: '100', from: time.from.toISOString(), to: time.to.toISOString() });
  if (before) q.set('before', before);
  if (action) q.set('action', action);
  if (actor) q.set('actor', actor);
  const list = useData((signal) => (admin ? api<{ items: AuditEntry[]; nextCursor: number | null }>(`/api/v1/audit?${q}`, { signal }) : Promise.resolve(null)), [admin, q.toString()]);
  return (
    <section class="page agents audit">
      <h1>Audit log</h1>
      <AgentsNav user={user} current="audit" />
      {!admin && <p class="hint">The audit log is shown to admins only.</p>}
      {admin && (
        <>
          <div class="toolbar">
            <input type="search" aria-label="Action" placeholder="Action (alerts.acknowledge)" value={action} onChange={(e) => setQuery({ action: (e.target as HTMLInputElement).value.trim() || null, before: null })} />
            <input type="search" aria-label="Actor" placeholder="User or API key" value={actor} onChange={(e) => setQuery({ actor: (e.target as HTMLInputElement).value.trim() || null, before: null })} />
          </div>
          {list.error && <p class="error">{list.error}</p>}
          {list.data && list.data.items.length === 0 && <p class="hint">No audit entry in this time range{action || actor ? ' with these filters' : ''}. Every change made through the API is recorded here.</p>}
          {list.data && list.data.items.length > 0 && (
            <div class="table-wrap">
              <table class="table" data-table="audit">
                <thead><tr><th>When</th><th>Who</th><th>Action</th><th>Target</th><th>From</th><th>Summary</th></tr></thead>
                <tbody>
                  {list.data.items.map((a) => (
                    <tr data-audit={String(a.id)}>
                      <td>{formatTime(a.at, time.tz)}</td>
                      <td>{a.actorName ?? a.actorId ?? '—'} <small class="hint">{a.actorKind}</small></td>
                      <td>{a.action}</td>
                      <td class="wrap">{a.targetType}{a.targetId ? ` ${a.targetId}` : ''}</td>
                      <td>{a.ip ?? ''}</td>
                      <td class="wrap"><code>{JSON.stringify(a.summary)}</code></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          <div class="pager">
            {before && <button type="button" onClick={() => setQuery({ before: null })}>‹ Newest</button>}
            {list.data?.nextCursor && <button type="button" onClick={() => setQuery({ before: String(list.data!.nextCursor) })}>Older ›</button>}
          </div>
        </>
      )}
    </section>
  );
}
