/**
 * Agent runs (docs/agent-ledger.md): the list (status, agent, task, cost, duration) and
 * one run with its events, live while it runs: the run's server-sent event stream
 * (GET /api/v1/runs/{id}/events/stream), read with fetch so the bearer token goes in a
 * header, resumed after the last seq when the connection drops.
 */
import { useEffect, useState } from 'preact/hooks';
import { api, apiResponse } from '../../api.ts';
import { useData } from '../../data.ts';
import { formatNumber, formatTime } from '../../format.ts';
import { Link } from '../../link.tsx';
import { setQuery } from '../../router.ts';
import type { PageProps } from '../index.ts';
import { errorText } from '../../components/form.tsx';
import { Pager } from '../../components/pager.tsx';
import { Table } from '../../components/table.tsx';
import { Badge, Command, formatDuration, type PageEnvelope } from '../lab/ui.tsx';
import { AgentsNav, Windowed } from './common.tsx';

export const RUN_STATUSES = ['queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled'] as const;
const FINISHED = ['succeeded', 'failed', 'cancelled'];

export type { Run } from '../../../../src/modules/ledger/runs.ts';
import type { Run } from '../../../../src/modules/ledger/runs.ts';
import type { ToolCall } from '../../../../src/modules/ledger/tools.ts';
interface Task { id: number; title: string }
interface RunEvent { seq: number; id: number; kind: string; message: string | null; data: Record<string, unknown>; at: string }
export interface CostRow { key: string; requests: number; inputTokens: number; cachedInputTokens: number; outputTokens: number; reasoningTokens: number; cost: number; unpricedRequests: number }
export type { ToolCall };

const tasks = new Map<number, Promise<Task>>();
/** A task's title, read once per page load. */
function taskOf(id: number): Promise<Task> {
  let t = tasks.get(id);
  if (!t) {
    t = api<Task>(`/api/v1/tasks/${id}`).catch((err: unknown) => {
      tasks.delete(id);
      throw err;
    });
    tasks.set(id, t);
  }
  return t;
}

export function formatUsd(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  return `$${v === 0 || v >= 1 ? v.toFixed(2) : v.toFixed(4)}`;
}

function finishedAt(r: Run): string | null {
  return r.succeededAt ?? r.failedAt ?? r.cancelledAt;
}

/** From the start (or queueing) to the end, or to now while it is not finished. */
export function runDuration(r: Run, now = Date.now()): number {
  const start = new Date(r.startedAt ?? r.queuedAt).getTime();
  const end = finishedAt(r);
  return (end ? new Date(end).getTime() : now) - start;
}

export function RunStatus({ status }: { status: string }) {
  return <Badge kind={status}>{status.replace('_', ' ')}</Badge>;
}

export function RunsPage({ user, time, query }: PageProps) {
  const page = Math.max(1, Number(query.get('page')) || 1);
  const status = RUN_STATUSES.find((s) => s === query.get('status')) ?? null;
  const agent = query.get('agent') ?? '';
  const q = new URLSearchParams({ page: String(page), pageSize: '25' });
  if (status) q.set('status', status);
  if (agent) q.set('agent', agent);
  // One page of runs, with each run's task title and cost (GET /api/v1/usage/costs with runId, one call per run shown).
  const list = useData(async (signal) => {
    const runs = await api<PageEnvelope<Run>>(`/api/v1/runs?${q}`, { signal });
    const titles = await Promise.all(runs.items.map((r) => taskOf(r.taskId).then((t) => t.title, () => `task ${r.taskId}`)));
    const costs = await Promise.all(runs.items.map((r) => api<{ items: CostRow[] }>(`/api/v1/usage/costs?groupBy=provider&runId=${r.id}`, { signal }).then((a) => a.items)));
    return { ...runs, rows: runs.items.map((r, i) => ({ run: r, title: titles[i] ?? '', cost: costs[i] ?? [] })) };
  }, [q.toString()]);
  return (
    <section class="page agents">
      <h1>Agent runs</h1>
      <AgentsNav user={user} current="runs" />
      <div class="toolbar">
        <select aria-label="Status" value={status ?? ''} onChange={(e) => setQuery({ status: (e.target as HTMLSelectElement).value || null, page: null })}>
          <option value="">Every status</option>
          {RUN_STATUSES.map((s) => <option value={s}>{s.replace('_', ' ')}</option>)}
        </select>
        <input type="search" aria-label="Agent" placeholder="Agent" value={agent} onChange={(e) => setQuery({ agent: (e.target as HTMLInputElement).value.trim() || null, page: null })} />
      </div>
      {list.error && <p class="error">{list.error}</p>}
      {list.data && list.data.total === 0 && (
        <div class="empty-state">
          <p>No runs{status || agent ? ' match these filters' : ' yet'}. An agent records its work with an API key with the <code>ingest</code> scope: a task, a run, its events (docs/agent-ledger.md; <code>examples/agent-session.ts</code> plays one):</p>
          <Command>{`curl -X POST /api/v1/tasks -H "authorization: Bearer $KEY" -d '{"title":"Restart Plex"}'\ncurl -X POST /api/v1/tasks/1/runs -H "authorization: Bearer $KEY" -d '{"agent":"my-agent/1.0"}'`}</Command>
        </div>
      )}
      {list.data && list.data.total > 0 && (
        <Table
          items={list.data.rows}
          head={<><th>Run</th><th>Status</th><th>Agent</th><th>Task</th><th>Target</th><th>Cost</th><th>Duration</th><th>Queued</th></>}
          row={({ run: r, title, cost }) => (
            <tr data-run={String(r.id)}>
              <td><Link href={`/agents/runs/${r.id}`}>#{r.id}</Link></td>
              <td><RunStatus status={r.status} /></td>
              <td>{r.agent}</td>
              <td class="wrap">{title}</td>
              <td>{r.node ?? '—'}</td>
              <td class="col-cost">{cost.length ? formatUsd(cost.reduce((n, c) => n + c.cost, 0)) : '–'}</td>
              <td>{formatDuration(runDuration(r))}{FINISHED.includes(r.status) ? '' : ' so far'}</td>
              <td>{formatTime(r.queuedAt, time.tz)}</td>
            </tr>
          )}
        />
      )}
      <Pager page={page} totalPages={list.data?.totalPages} />
    </section>
  );
}

/** One frame of a text/event-stream: its data lines joined, or null (a comment, a retry). */
function frameData(frame: string): string | null {
  const data = frame.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(l.startsWith('data: ') ? 6 : 5));
  return data.length ? data.join('\n') : null;
}

/** The run's events: everything so far, then live until the run finishes. */
function useRunEvents(runId: number): { events: RunEvent[]; live: boolean; error: string | null; version: number } {
  const [state, setState] = useState<{ events: RunEvent[]; live: boolean; error: string | null; version: number }>({ events: [], live: false, error: null, version: 0 });
  useEffect(() => {
    const ctl = new AbortController();
    const events: RunEvent[] = [];
    let version = 0;
    const publish = (live: boolean, error: string | null = null) => !ctl.signal.aborted && setState({ events: events.slice(), live, error, version });
    void (async () => {
      while (!ctl.signal.aborted) {
        const after = events[events.length - 1]?.seq ?? 0;
        try {
          const res = await apiResponse(`/api/v1/runs/${runId}/events/stream?after=${after}`, { signal: ctl.signal, headers: { accept: 'text/event-stream' } });
          publish(true);
          const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
          let buf = '';
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            buf += value.replace(/\r\n/g, '\n');
            let changed = false;
            for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
              const data = frameData(buf.slice(0, i));
              buf = buf.slice(i + 2);
              if (data === null) continue;
              const e = JSON.parse(data) as RunEvent;
              if (e.seq > (events[events.length - 1]?.seq ?? 0)) {
                events.push(e);
                changed = true;
                if (e.kind === 'state' || e.kind === 'tool_call' || e.kind === 'llm_call') version++;
              }
            }
            if (changed) publish(true);
          }
          // The stream ends after the last event of a finished run; otherwise (a restart of the server) resume.
          const run = await api<Run>(`/api/v1/runs/${runId}`, { signal: ctl.signal });
          if (FINISHED.includes(run.status) && (events[events.length - 1]?.seq ?? 0) >= run.lastEventSeq) {
            version++;
            publish(false);
            return;
          }
        } catch (err) {
          if (ctl.signal.aborted) return;
          publish(false, errorText(err));
        }
        await new Promise((r) => setTimeout(r, 2000));
      }
    })();
    return () => ctl.abort();
  }, [runId]);
  return state;
}

function EventDetail({ e, tz }: { e: RunEvent; tz: 'local' | 'utc' }) {
  return (
    <div class="event-detail" data-event-detail={String(e.seq)}>
      <p><strong>#{e.seq} {e.kind}</strong> · {formatTime(e.at, tz)}</p>
      {e.message !== null && <pre>{e.message}</pre>}
      {Object.keys(e.data).length > 0 && <pre>{JSON.stringify(e.data, null, 2)}</pre>}
    </div>
  );
}

function eventLine(e: RunEvent): string {
  const d = e.data as { from?: unknown; to?: unknown; tool?: unknown; model?: unknown };
  if (e.message) return e.message;
  if (e.kind === 'state' && d.to) return `${String(d.from ?? '')} → ${String(d.to)}`;
  if (e.kind === 'tool_call' && d.tool) return String(d.tool);
  if (e.kind === 'llm_call' && d.model) return String(d.model);
  return JSON.stringify(e.data);
}

export function RunPage({ user, time, params }: PageProps) {
  const id = Number(params.id);
  const live = useRunEvents(id);
  const run = useData((signal) => api<Run>(`/api/v1/runs/${id}`, { signal }), [id, live.version]);
  const task = useData(() => (run.data ? taskOf(run.data.taskId) : Promise.resolve(null)), [run.data?.taskId]);
  const cost = useData((signal) => api<{ items: CostRow[] }>(`/api/v1/usage/costs?groupBy=model&runId=${id}`, { signal }), [id, live.version]);
  const calls = useData((signal) => api<PageEnvelope<ToolCall>>(`/api/v1/tool-calls?runId=${id}&pageSize=100`, { signal }), [id, live.version]);
  const [selected, setSelected] = useState<number | null>(null);
  const r = run.data;
  const chosen = selected === null ? undefined : live.events[selected];
  return (
    <section class="page agents run">
      <h1>Run #{Number.isFinite(id) ? id : params.id}</h1>
      <AgentsNav user={user} current="runs" />
      {run.error && <p class="error">{run.error}</p>}
      {r && (
        <dl class="facts-grid">
          <dt>Status</dt><dd data-run-status><RunStatus status={r.status} />{r.error ? <span class="error"> {r.error}</span> : null}</dd>
          <dt>Task</dt><dd>{task.data?.title ?? `#${r.taskId}`}</dd>
          <dt>Agent</dt><dd>{r.agent}</dd>
          <dt>Target</dt><dd>{r.node ?? '—'}{r.workloadId ? ` · workload ${r.workloadId}` : ''}</dd>
          <dt>Prompt</dt><dd>{r.userPrompt}</dd>
          <dt>Queued</dt><dd>{formatTime(r.queuedAt, time.tz)} by {r.createdBy}</dd>
          <dt>Duration</dt><dd>{formatDuration(runDuration(r))}</dd>
          <dt>Cost</dt><dd>{formatUsd((cost.data?.items ?? []).reduce((n, c) => n + c.cost, 0))} {(cost.data?.items ?? []).map((c) => `${c.key}: ${formatUsd(c.cost)} (${formatNumber(c.inputTokens)} in / ${formatNumber(c.outputTokens)} out)`).join(' · ')}</dd>
        </dl>
      )}
      <h2>Events <small>{live.events.length}</small> {live.live && <span class="live" data-live>● live</span>}</h2>
      {live.error && <p class="error">{live.error}</p>}
      {live.events.length === 0 && !live.error && <p class="hint">No events yet: the agent appends them with POST /api/v1/runs/{id}/events.</p>}
      {live.events.length > 0 && (
        <Windowed
          items={live.events}
          rowHeight={30}
          height={420}
          follow
          onRow={setSelected}
          row={(e, i) => (
            <span class={`event${i === selected ? ' selected' : ''}`} data-seq={String(e.seq)} style={{ display: 'contents' }}>
              <span class="seq">{e.seq}</span>
              <Badge kind={e.kind === 'error' ? 'error' : e.kind}>{e.kind}</Badge>
              <span class="msg">{eventLine(e)}</span>
              <time class="hint">{formatTime(e.at, time.tz)}</time>
            </span>
          )}
        />
      )}
      {chosen && <EventDetail e={chosen} tz={time.tz} />}
      <h2>Tool calls</h2>
      {calls.error && <p class="error">{calls.error}</p>}
      {calls.data && calls.data.items.length === 0 && <p class="hint">No tool call recorded.</p>}
      {calls.data && calls.data.items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead><tr><th>Tool</th><th>Approval</th><th>Outcome</th><th>Duration</th><th>Requested</th></tr></thead>
            <tbody>
              {calls.data.items.map((c) => (
                <tr data-tool-call={String(c.id)}>
                  <td>{c.tool}{c.argsValid ? '' : ' (invalid arguments)'}</td>
                  <td><Badge kind={c.approval}>{c.approval.replace('_', ' ')}</Badge>{c.decidedBy ? ` by ${c.decidedBy}` : ''}</td>
                  <td>{c.outcome ?? '—'}</td>
                  <td>{formatDuration(c.durationMs)}</td>
                  <td>{formatTime(c.requestedAt, time.tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
