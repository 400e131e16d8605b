/**
 * Tasks, their runs, the runs' event log and artifacts.
 *
 * A run moves queued → running → succeeded | failed | cancelled, with
 * running ⇄ awaiting_approval when a tool call needs approval (tools.ts).
 * Every change of a run happens under its row lock (`SELECT … FOR UPDATE`) in
 * one transaction: the status check, the timestamp of the transition, a `state`
 * event in task_events and the audit entry commit together or not at all.
 *
 * task_events is a plain append-only table, numbered per run (`seq`, from the
 * run's `event_seq` counter bumped under the same row lock). Because appends to
 * one run are serialised by that lock, a reader that saw `seq = n` committed
 * never later finds a committed `seq < n` appearing: polling `seq > n` (the SSE
 * stream, from any Opsdeck process on the database) misses nothing.
 */
import { createHash } from 'node:crypto';
import type { Database, Queryable } from '../../db/database.ts';
import { ConflictError, InvalidError, NotFoundError, TooLargeError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { actorLabel, recordAudit, type Actor } from './audit.ts';
import { checkRefs } from './inventory.ts';
import { FINISHED_STATUSES, type EventKind, type RunStatus, type TaskEventRow, type TaskRow, type TaskRunRow } from './schema.ts';

/** Largest artifact kept (decoded bytes); larger → 413 ARTIFACT_TOO_LARGE. */
export const DEFAULT_MAX_ARTIFACT_BYTES = 4 * 1024 * 1024;
/** Most events per append request. */
export const MAX_EVENTS_PER_REQUEST = 500;

// ---------------------------------------------------------------- tasks

export interface Task {
  id: number;
  title: string;
  description: string | null;
  kind: 'template' | 'one_off';
  prompt: string | null;
  node: string | null;
  workloadId: number | null;
  createdBy: string;
  createdAt: string;
}

const toTask = (r: TaskRow): Task => ({
  id: r.id,
  title: r.title,
  description: r.description,
  kind: r.kind,
  prompt: r.prompt,
  node: r.node_id,
  workloadId: r.workload_id,
  createdBy: r.created_by,
  createdAt: r.created_at.toISOString(),
});

export interface TaskInput {
  title: string;
  description?: string | undefined;
  kind?: 'template' | 'one_off' | undefined;
  prompt?: string | undefined;
  node?: string | undefined;
  workloadId?: number | undefined;
}

export async function createTask(db: Database, actor: Actor, t: TaskInput): Promise<Task> {
  return db.transaction(async (tx) => {
    await checkRefs(tx, { node: t.node, workloadId: t.workloadId });
    const r = await tx.queryOne<TaskRow>(
      `INSERT INTO tasks (title, description, kind, prompt, node_id, workload_id, created_by) VALUES ($1, $2, coalesce($3, 'one_off'), $4, $5, $6, $7) RETURNING *`,
      [t.title, t.description ?? null, t.kind ?? null, t.prompt ?? null, t.node ?? null, t.workloadId ?? null, actorLabel(actor)],
    );
    await recordAudit(tx, { ...actor, action: 'task.create', targetType: 'task', targetId: r!.id, summary: { title: t.title, kind: t.kind ?? 'one_off' } });
    return toTask(r!);
  });
}

export async function getTask(db: Queryable, id: number): Promise<Task> {
  const r = await db.queryOne<TaskRow>('SELECT * FROM tasks WHERE id = $1', [id]);
  if (!r) throw new NotFoundError('TASK_NOT_FOUND', `no task ${id}`);
  return toTask(r);
}

export async function listTasks(db: Queryable, f: { page: number; pageSize: number; kind?: 'template' | 'one_off' | undefined }): Promise<Page<Task>> {
  const total = (await db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM tasks WHERE ($1::text IS NULL OR kind = $1)', [f.kind ?? null]))?.n ?? 0;
  const rows = await db.queryMany<TaskRow>('SELECT * FROM tasks WHERE ($1::text IS NULL OR kind = $1) ORDER BY id DESC LIMIT $2 OFFSET $3', [f.kind ?? null, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toTask), total, f.page, f.pageSize);
}

// ---------------------------------------------------------------- runs

export interface Run {
  id: number;
  taskId: number;
  status: RunStatus;
  userPrompt: string;
  agent: string;
  node: string | null;
  workloadId: number | null;
  createdBy: string;
  queuedAt: string;
  startedAt: string | null;
  approvalRequestedAt: string | null;
  approvalDecidedAt: string | null;
  succeededAt: string | null;
  failedAt: string | null;
  cancelledAt: string | null;
  error: string | null;
  lastEventSeq: number;
}

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toRun = (r: TaskRunRow): Run => ({
  id: r.id,
  taskId: r.task_id,
  status: r.status,
  userPrompt: r.user_prompt,
  agent: r.agent,
  node: r.node_id,
  workloadId: r.workload_id,
  createdBy: r.created_by,
  queuedAt: r.queued_at.toISOString(),
  startedAt: iso(r.started_at),
  approvalRequestedAt: iso(r.approval_requested_at),
  approvalDecidedAt: iso(r.approval_decided_at),
  succeededAt: iso(r.succeeded_at),
  failedAt: iso(r.failed_at),
  cancelledAt: iso(r.cancelled_at),
  error: r.error,
  lastEventSeq: r.event_seq,
});

export const runNotFound = (id: number) => new NotFoundError('RUN_NOT_FOUND', `no run ${id}`);

export interface RunInput {
  userPrompt?: string | undefined;
  agent: string;
  node?: string | undefined;
  workloadId?: number | undefined;
}

/** Queues a run of a task; its target defaults to the task's. The first event (seq 1) is the `queued` state. */
export async function createRun(db: Database, actor: Actor, taskId: number, input: RunInput): Promise<Run> {
  return db.transaction(async (tx) => {
    const task = await getTask(tx, taskId);
    const prompt = input.userPrompt ?? task.prompt;
    if (!prompt) throw new InvalidError('USER_PROMPT_REQUIRED', 'the task has no prompt: send userPrompt', [{ path: 'userPrompt', message: 'required when the task has no prompt' }]);
    await checkRefs(tx, { node: input.node, workloadId: input.workloadId });
    const r = await tx.queryOne<TaskRunRow>(
      `INSERT INTO task_runs (task_id, user_prompt, agent, node_id, workload_id, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
      [taskId, prompt, input.agent, input.node ?? task.node, input.workloadId ?? task.workloadId, actorLabel(actor)],
    );
    await appendLocked(tx, r!, [{ kind: 'state', message: 'queued', data: { to: 'queued' } }]);
    await recordAudit(tx, { ...actor, action: 'run.create', targetType: 'task_run', targetId: r!.id, summary: { taskId, agent: input.agent } });
    return getRun(tx, r!.id);
  });
}

export async function getRun(db: Queryable, id: number): Promise<Run> {
  const r = await db.queryOne<TaskRunRow>('SELECT * FROM task_runs WHERE id = $1', [id]);
  if (!r) throw runNotFound(id);
  return toRun(r);
}

export interface RunFilter {
  page: number;
  pageSize: number;
  status?: RunStatus | undefined;
  agent?: string | undefined;
  node?: string | undefined;
  taskId?: number | undefined;
}

export async function listRuns(db: Queryable, f: RunFilter): Promise<Page<Run>> {
  const where = `($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR agent = $2) AND ($3::text IS NULL OR node_id = $3) AND ($4::int IS NULL OR task_id = $4)`;
  const params = [f.status ?? null, f.agent ?? null, f.node ?? null, f.taskId ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM task_runs WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<TaskRunRow>(`SELECT * FROM task_runs WHERE ${where} ORDER BY id DESC LIMIT $5 OFFSET $6`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toRun), total, f.page, f.pageSize);
}

export interface ActiveRun {
  id: number;
  taskId: number;
  taskTitle: string;
  status: RunStatus;
  agent: string;
  node: string | null;
  workloadId: number | null;
  userPrompt: string;
  queuedAt: string;
  startedAt: string | null;
  approvalRequestedAt: string | null;
  lastEventSeq: number;
}

/** The rows of the view active_task_runs (every run not finished). */
export async function activeRuns(db: Queryable): Promise<ActiveRun[]> {
  const rows = await db.queryMany<{
    id: number;
    task_id: number;
    task_title: string;
    status: RunStatus;
    agent: string;
    node_id: string | null;
    workload_id: number | null;
    user_prompt: string;
    queued_at: Date;
    started_at: Date | null;
    approval_requested_at: Date | null;
    event_seq: number;
  }>('SELECT * FROM active_task_runs ORDER BY id');
  return rows.map((r) => ({
    id: r.id,
    taskId: r.task_id,
    taskTitle: r.task_title,
    status: r.status,
    agent: r.agent,
    node: r.node_id,
    workloadId: r.workload_id,
    userPrompt: r.user_prompt,
    queuedAt: r.queued_at.toISOString(),
    startedAt: iso(r.started_at),
    approvalRequestedAt: iso(r.approval_requested_at),
    lastEventSeq: r.event_seq,
  }));
}

/** Locks a run's row for the rest of the transaction. */
export async function lockRun(tx: Queryable, id: number): Promise<TaskRunRow> {
  const r = await tx.queryOne<TaskRunRow>('SELECT * FROM task_runs WHERE id = $1 FOR UPDATE', [id]);
  if (!r) throw runNotFound(id);
  return r;
}

/**
 * The transitions a run may make, and how: `api` through POST
 * …/runs/:id/transitions, `tool` by a tool call that needs approval,
 * `approval` by approving or rejecting it.
 */
const TRANSITIONS: Readonly<Record<RunStatus, Partial<Record<RunStatus, 'api' | 'tool' | 'approval' | 'api+approval'>>>> = {
  queued: { running: 'api', cancelled: 'api' },
  running: { succeeded: 'api', failed: 'api', cancelled: 'api', awaiting_approval: 'tool' },
  awaiting_approval: { running: 'approval', failed: 'approval', cancelled: 'api' },
  succeeded: {},
  failed: {},
  cancelled: {},
};

const STAMP: Record<RunStatus, string> = {
  queued: 'queued_at',
  running: 'started_at',
  awaiting_approval: 'approval_requested_at',
  succeeded: 'succeeded_at',
  failed: 'failed_at',
  cancelled: 'cancelled_at',
};

/** The next states a run in `from` may reach through the transitions API. */
export function nextStates(from: RunStatus): RunStatus[] {
  return (Object.entries(TRANSITIONS[from]) as [RunStatus, string][]).filter(([, how]) => how.startsWith('api')).map(([to]) => to);
}

/**
 * Checks and applies one transition of a locked run: stamps its time column
 * (approval decisions stamp approval_decided_at; started_at keeps the first
 * start), appends the `state` event. 409 RUN_FINISHED for a finished run,
 * RUN_AWAITING_APPROVAL for a run waiting on an approval, RUN_TRANSITION_INVALID
 * (naming from, to and the allowed next states) for any other step not allowed.
 */
export async function applyTransition(
  tx: Queryable,
  run: TaskRunRow,
  to: RunStatus,
  via: 'api' | 'tool' | 'approval',
  details: { error?: string | null | undefined; data?: Record<string, unknown> } = {},
): Promise<TaskRunRow> {
  const from = run.status;
  if (FINISHED_STATUSES.includes(from)) {
    throw new ConflictError('RUN_FINISHED', `run ${run.id} already finished (${from}); a finished run cannot move to ${to}`, { from, to });
  }
  const how = TRANSITIONS[from][to];
  if (!how || !how.includes(via)) {
    if (from === 'awaiting_approval' && via === 'api') {
      throw new ConflictError('RUN_AWAITING_APPROVAL', `run ${run.id} waits for the approval of a tool call; approve or reject it (or cancel the run)`, { from, to, allowed: nextStates(from) });
    }
    const skipped = from === 'queued' && (to === 'succeeded' || to === 'failed') ? ` (skips running)` : '';
    throw new ConflictError('RUN_TRANSITION_INVALID', `run ${run.id} cannot move from ${from} to ${to}${skipped}; allowed: ${nextStates(from).join(', ') || 'none'}`, {
      from,
      to,
      allowed: nextStates(from),
    });
  }
  const stamp = via === 'approval' ? 'approval_decided_at' : STAMP[to];
  const keepFirst = to === 'running' && via !== 'approval';
  const updated = await tx.queryOne<TaskRunRow>(
    `UPDATE task_runs SET status = $2, ${stamp} = ${keepFirst ? `coalesce(${stamp}, now())` : 'now()'}
       ${via === 'approval' && to === 'failed' ? ', failed_at = now()' : ''}
       , error = CASE WHEN $3::text IS NOT NULL THEN $3 ELSE error END
     WHERE id = $1 RETURNING *`,
    [run.id, to, details.error ?? null],
  );
  const after = await appendLocked(tx, updated!, [{ kind: 'state', message: to, data: { from, to, ...(details.error ? { error: details.error } : {}), ...details.data } }]);
  return after;
}

/** POST …/runs/:id/transitions: running, succeeded, failed or cancelled. */
export async function transitionRun(db: Database, actor: Actor, id: number, to: RunStatus, error?: string | undefined): Promise<Run> {
  return db.transaction(async (tx) => {
    const run = await lockRun(tx, id);
    const after = await applyTransition(tx, run, to, 'api', { error: to === 'failed' ? (error ?? null) : null });
    await recordAudit(tx, { ...actor, action: 'run.transition', targetType: 'task_run', targetId: id, summary: { from: run.status, to, error } });
    return toRun(after);
  });
}

// ---------------------------------------------------------------- events

export interface EventInput {
  kind: EventKind;
  message?: string | null | undefined;
  data?: Record<string, unknown> | undefined;
}

export interface TaskEvent {
  seq: number;
  id: number;
  kind: EventKind;
  message: string | null;
  data: Record<string, unknown>;
  at: string;
}

const toEvent = (r: TaskEventRow): TaskEvent => ({ seq: r.seq, id: r.id, kind: r.kind, message: r.message, data: r.data, at: r.at.toISOString() });

/**
 * Appends events to a run whose row the caller has locked; returns the row
 * with its new event_seq. The inserted events' ids are in `inserted`.
 */
export async function appendLocked(tx: Queryable, run: TaskRunRow, events: readonly EventInput[], inserted?: TaskEvent[]): Promise<TaskRunRow> {
  if (events.length === 0) return run;
  const rows = await tx.queryMany<TaskEventRow>(
    `INSERT INTO task_events (run_id, seq, kind, message, data)
     SELECT $1, $2 + x.ord, x.kind, x.message, coalesce(x.data, '{}'::jsonb)
     FROM jsonb_to_recordset($3::text::jsonb) AS x(ord int, kind text, message text, data jsonb)
     RETURNING *`,
    [run.id, run.event_seq, JSON.stringify(events.map((e, i) => ({ ord: i + 1, kind: e.kind, message: e.message ?? null, data: e.data ?? {} })))],
  );
  inserted?.push(...rows.map(toEvent).sort((a, b) => a.seq - b.seq));
  const r = await tx.queryOne<TaskRunRow>('UPDATE task_runs SET event_seq = event_seq + $2 WHERE id = $1 RETURNING *', [run.id, events.length]);
  return r!;
}

/** Appends client events (message, log, error) to a run that has not finished; all or none. */
export async function appendEvents(db: Database, actor: Actor, runId: number, events: readonly EventInput[]): Promise<{ runId: number; firstSeq: number; lastSeq: number }> {
  return db.transaction(async (tx) => {
    const run = await lockRun(tx, runId);
    if (FINISHED_STATUSES.includes(run.status)) throw new ConflictError('RUN_FINISHED', `run ${runId} already finished (${run.status}); its log is closed`, { runStatus: run.status });
    const after = await appendLocked(tx, run, events);
    await recordAudit(tx, { ...actor, action: 'run.events.append', targetType: 'task_run', targetId: runId, summary: { count: events.length, firstSeq: run.event_seq + 1 } });
    return { runId, firstSeq: run.event_seq + 1, lastSeq: after.event_seq };
  });
}

/** Events of a run after `afterSeq`, in order. */
export async function eventsAfter(db: Queryable, runId: number, afterSeq: number, limit: number): Promise<TaskEvent[]> {
  const rows = await db.queryMany<TaskEventRow>('SELECT * FROM task_events WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3', [runId, afterSeq, limit]);
  return rows.map(toEvent);
}

/** A run's status and last event number, or null when there is no such run. */
export async function runProgress(db: Queryable, runId: number): Promise<{ status: RunStatus; lastSeq: number } | null> {
  const r = await db.queryOne<{ status: RunStatus; event_seq: number }>('SELECT status, event_seq FROM task_runs WHERE id = $1', [runId]);
  return r ? { status: r.status, lastSeq: r.event_seq } : null;
}

// ---------------------------------------------------------------- artifacts

export interface Artifact {
  id: number;
  runId: number;
  name: string;
  mediaType: string;
  sizeBytes: number;
  sha256: string;
  createdAt: string;
}

interface ArtifactRow {
  id: number;
  run_id: number;
  name: string;
  media_type: string;
  size_bytes: number;
  sha256: string;
  created_at: Date;
}

const toArtifact = (r: ArtifactRow): Artifact => ({ id: r.id, runId: r.run_id, name: r.name, mediaType: r.media_type, sizeBytes: r.size_bytes, sha256: r.sha256, createdAt: r.created_at.toISOString() });

/**
 * Stores an artifact of a run: content in the database (bytea), with its size
 * and SHA-256 computed here. The name is a label, never a path.
 */
export async function addArtifact(
  db: Database,
  actor: Actor,
  runId: number,
  a: { name: string; mediaType: string; content: Buffer },
  maxBytes: number = DEFAULT_MAX_ARTIFACT_BYTES,
): Promise<Artifact> {
  if (a.content.length > maxBytes) {
    throw new TooLargeError('ARTIFACT_TOO_LARGE', `the artifact is ${a.content.length} bytes; at most ${maxBytes} are kept`, { maxBytes });
  }
  const sha256 = createHash('sha256').update(a.content).digest('hex');
  return db.transaction(async (tx) => {
    const run = await lockRun(tx, runId);
    const r = await tx.queryOne<ArtifactRow>(
      `INSERT INTO artifacts (run_id, name, media_type, size_bytes, sha256, content) VALUES ($1, $2, $3, $4, $5, decode($6, 'base64'))
       RETURNING id, run_id, name, media_type, size_bytes, sha256, created_at`,
      [runId, a.name, a.mediaType, a.content.length, sha256, a.content.toString('base64')],
    );
    await appendLocked(tx, run, [{ kind: 'log', message: `artifact ${a.name}`, data: { artifactId: r!.id, sha256, sizeBytes: a.content.length, mediaType: a.mediaType } }]);
    await recordAudit(tx, { ...actor, action: 'artifact.create', targetType: 'task_run', targetId: runId, summary: { artifactId: r!.id, name: a.name, sizeBytes: a.content.length, sha256 } });
    return toArtifact(r!);
  });
}

export async function listArtifacts(db: Queryable, runId: number): Promise<Artifact[]> {
  await getRun(db, runId);
  const rows = await db.queryMany<ArtifactRow>('SELECT id, run_id, name, media_type, size_bytes, sha256, created_at FROM artifacts WHERE run_id = $1 ORDER BY id', [runId]);
  return rows.map(toArtifact);
}

export async function artifactContent(db: Queryable, id: number): Promise<{ artifact: Artifact; content: Buffer }> {
  const r = await db.queryOne<ArtifactRow & { b64: string }>(
    `SELECT id, run_id, name, media_type, size_bytes, sha256, created_at, encode(content, 'base64') AS b64 FROM artifacts WHERE id = $1`,
    [id],
  );
  if (!r) throw new NotFoundError('ARTIFACT_NOT_FOUND', `no artifact ${id}`);
  return { artifact: toArtifact(r), content: Buffer.from(r.b64, 'base64') };
}
