/**
 * Tools, the calls agents make with them, and the policies that put a call on
 * hold until someone with the right role approves it.
 *
 * A call's arguments are validated against its tool's JSON Schema (ajv) when it
 * is written; an invalid call is recorded (args_valid = false, outcome
 * `invalid`, the validation errors kept), never dropped. A valid call that a
 * policy matches (tool name, least risk level, labels of the run's node and
 * workload; the strictest approver role wins) is recorded `pending` and moves
 * its run to awaiting_approval; approving moves the run back to running,
 * rejecting fails it. Only a user whose role is at least the policy's may
 * decide — never an API key, so an agent cannot approve itself.
 */
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { Database, Queryable } from '../../db/database.ts';
import { roleAtLeast, type Role } from '../../domain/access.ts';
import { ConflictError, ForbiddenError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { isUniqueViolation } from '../auth/users.ts';
import { recordAudit, type Actor } from './audit.ts';
import { appendLocked, applyTransition, lockRun, type TaskEvent } from './runs.ts';
import { FINISHED_STATUSES, RISK_LEVELS, type PolicyRow, type RiskLevel, type ToolCallRow, type ToolDefinitionRow, type ToolOutcome } from './schema.ts';

// ---------------------------------------------------------------- definitions

export interface ToolDefinition {
  id: number;
  name: string;
  description: string;
  argsSchema: Record<string, unknown>;
  riskLevel: RiskLevel;
  createdAt: string;
  updatedAt: string;
}

const toTool = (r: ToolDefinitionRow): ToolDefinition => ({
  id: r.id,
  name: r.name,
  description: r.description,
  argsSchema: r.args_schema,
  riskLevel: r.risk_level,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

// JSON Schema draft-07 / 2019 keywords with the standard formats (uri, date-time, ipv4, …); unknown keywords are allowed and ignored.
const ajv = new Ajv({ allErrors: true, strict: false, validateSchema: true, logger: false });
addFormats.default(ajv);
/** Compiled validators by tool id and update time (a changed schema compiles again). */
const validators = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>, field = 'argsSchema'): ValidateFunction {
  try {
    return ajv.compile(schema);
  } catch (err) {
    throw new InvalidError('ARGS_SCHEMA_INVALID', `the arguments schema is not a valid JSON Schema: ${(err as Error).message}`, [{ path: field, message: (err as Error).message }]);
  }
}

function validatorOf(t: ToolDefinitionRow): ValidateFunction {
  const key = `${t.id}@${t.updated_at.getTime()}`;
  let v = validators.get(key);
  if (!v) {
    v = compile(t.args_schema);
    if (validators.size > 1000) validators.clear();
    validators.set(key, v);
  }
  return v;
}

export interface ToolInput {
  name: string;
  description?: string | undefined;
  argsSchema: Record<string, unknown>;
  riskLevel: RiskLevel;
}

/** Creates or replaces a tool definition (by name). */
export async function putTool(db: Database, actor: Actor, t: ToolInput): Promise<{ tool: ToolDefinition; created: boolean }> {
  compile(t.argsSchema);
  return db.transaction(async (tx) => {
    const r = await tx.queryOne<ToolDefinitionRow & { inserted: boolean }>(
      `INSERT INTO tool_definitions (name, description, args_schema, risk_level) VALUES ($1, coalesce($2, ''), $3::text::jsonb, $4)
       ON CONFLICT (name) DO UPDATE SET description = EXCLUDED.description, args_schema = EXCLUDED.args_schema, risk_level = EXCLUDED.risk_level, updated_at = clock_timestamp()
       RETURNING *, (xmax = 0) AS inserted`,
      [t.name, t.description ?? null, JSON.stringify(t.argsSchema), t.riskLevel],
    );
    await recordAudit(tx, { ...actor, action: r!.inserted ? 'tool.create' : 'tool.update', targetType: 'tool', targetId: t.name, summary: { riskLevel: t.riskLevel } });
    return { tool: toTool(r!), created: r!.inserted };
  });
}

export async function listTools(db: Queryable): Promise<ToolDefinition[]> {
  return (await db.queryMany<ToolDefinitionRow>('SELECT * FROM tool_definitions ORDER BY name')).map(toTool);
}

export async function getTool(db: Queryable, name: string): Promise<ToolDefinition> {
  const r = await db.queryOne<ToolDefinitionRow>('SELECT * FROM tool_definitions WHERE name = $1', [name]);
  if (!r) throw toolNotFound(name);
  return toTool(r);
}

const toolNotFound = (name: string) => new NotFoundError('TOOL_NOT_FOUND', `no tool named ${JSON.stringify(name)}; define it first (PUT /api/v1/tools/{name})`, { tool: name });

// ---------------------------------------------------------------- policies

export interface Policy {
  id: number;
  name: string;
  description: string | null;
  toolName: string | null;
  minRiskLevel: RiskLevel | null;
  nodeLabels: Record<string, string>;
  workloadLabels: Record<string, string>;
  approverRole: Role;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

const toPolicy = (r: PolicyRow): Policy => ({
  id: r.id,
  name: r.name,
  description: r.description,
  toolName: r.tool_name,
  minRiskLevel: r.min_risk_level,
  nodeLabels: r.node_labels,
  workloadLabels: r.workload_labels,
  approverRole: r.approver_role,
  enabled: r.enabled,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

export interface PolicyInput {
  name: string;
  description?: string | null | undefined;
  toolName?: string | null | undefined;
  minRiskLevel?: RiskLevel | null | undefined;
  nodeLabels?: Record<string, string> | undefined;
  workloadLabels?: Record<string, string> | undefined;
  approverRole: Role;
  enabled?: boolean | undefined;
}

const policyNotFound = (id: number) => new NotFoundError('POLICY_NOT_FOUND', `no policy ${id}`);
const policyNameTaken = (name: string) => new ConflictError('POLICY_NAME_TAKEN', `a policy named ${JSON.stringify(name)} exists`);

export async function savePolicy(db: Database, actor: Actor, p: PolicyInput, id?: number): Promise<Policy> {
  const params = [
    p.name,
    p.description ?? null,
    p.toolName ?? null,
    p.minRiskLevel ?? null,
    JSON.stringify(p.nodeLabels ?? {}),
    JSON.stringify(p.workloadLabels ?? {}),
    p.approverRole,
    p.enabled ?? true,
  ];
  try {
    return await db.transaction(async (tx) => {
      const r =
        id === undefined
          ? await tx.queryOne<PolicyRow>(
              `INSERT INTO policies (name, description, tool_name, min_risk_level, node_labels, workload_labels, approver_role, enabled)
               VALUES ($1, $2, $3, $4, $5::text::jsonb, $6::text::jsonb, $7, $8) RETURNING *`,
              params,
            )
          : await tx.queryOne<PolicyRow>(
              `UPDATE policies SET name = $1, description = $2, tool_name = $3, min_risk_level = $4, node_labels = $5::text::jsonb, workload_labels = $6::text::jsonb,
                 approver_role = $7, enabled = $8, updated_at = now() WHERE id = $9 RETURNING *`,
              [...params, id],
            );
      if (!r) throw policyNotFound(id!);
      await recordAudit(tx, { ...actor, action: id === undefined ? 'policy.create' : 'policy.update', targetType: 'policy', targetId: r.id, summary: { ...p } });
      return toPolicy(r);
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw policyNameTaken(p.name);
    throw err;
  }
}

export async function deletePolicy(db: Database, actor: Actor, id: number): Promise<void> {
  await db.transaction(async (tx) => {
    const r = await tx.queryOne<{ name: string }>('DELETE FROM policies WHERE id = $1 RETURNING name', [id]);
    if (!r) throw policyNotFound(id);
    await recordAudit(tx, { ...actor, action: 'policy.delete', targetType: 'policy', targetId: id, summary: { name: r.name } });
  });
}

export async function listPolicies(db: Queryable): Promise<Policy[]> {
  return (await db.queryMany<PolicyRow>('SELECT * FROM policies ORDER BY name')).map(toPolicy);
}

const RISK_ARRAY = `ARRAY[${RISK_LEVELS.map((r) => `'${r}'`).join(', ')}]`;

/** The strictest enabled policy matching a call of `tool` in `run`'s target, or null. */
async function matchingPolicy(tx: Queryable, tool: ToolDefinitionRow, nodeId: string | null, workloadId: number | null): Promise<PolicyRow | null> {
  return tx.queryOne<PolicyRow>(
    `SELECT p.* FROM policies p
       LEFT JOIN nodes n ON n.id = $3
       LEFT JOIN workloads w ON w.id = $4
     WHERE p.enabled
       AND (p.tool_name IS NULL OR p.tool_name = $1)
       AND (p.min_risk_level IS NULL OR array_position(${RISK_ARRAY}, $2) >= array_position(${RISK_ARRAY}, p.min_risk_level))
       AND (p.node_labels = '{}'::jsonb OR coalesce(n.labels, '{}'::jsonb) @> p.node_labels)
       AND (p.workload_labels = '{}'::jsonb OR coalesce(w.labels, '{}'::jsonb) @> p.workload_labels)
     ORDER BY array_position(ARRAY['viewer', 'operator', 'admin'], p.approver_role) DESC, p.id
     LIMIT 1`,
    [tool.name, tool.risk_level, nodeId, workloadId],
  );
}

// ---------------------------------------------------------------- calls

export interface ToolCall {
  id: number;
  runId: number;
  eventSeq: number;
  tool: string;
  arguments: unknown;
  argsValid: boolean;
  validationErrors: { path: string; message: string }[] | null;
  approval: 'not_required' | 'pending' | 'approved' | 'rejected';
  policyId: number | null;
  approverRole: Role | null;
  decidedBy: string | null;
  decisionReason: string | null;
  decidedAt: string | null;
  outcome: ToolOutcome | null;
  durationMs: number | null;
  outputSizeBytes: number | null;
  requestedAt: string;
  finishedAt: string | null;
}

type CallRow = ToolCallRow & { seq: number; approver_role: Role | null };

const toCall = (r: CallRow): ToolCall => ({
  id: r.id,
  runId: r.run_id,
  eventSeq: r.seq,
  tool: r.tool_name,
  arguments: r.arguments,
  argsValid: r.args_valid,
  validationErrors: r.validation_errors,
  approval: r.approval,
  policyId: r.policy_id,
  approverRole: r.approver_role,
  decidedBy: r.decided_by,
  decisionReason: r.decision_reason,
  decidedAt: r.decided_at?.toISOString() ?? null,
  outcome: r.outcome,
  durationMs: r.duration_ms,
  outputSizeBytes: r.output_size_bytes,
  requestedAt: r.requested_at.toISOString(),
  finishedAt: r.finished_at?.toISOString() ?? null,
});

const CALL_SELECT = `SELECT c.*, e.seq, p.approver_role FROM tool_call_records c JOIN task_events e ON e.id = c.task_event_id LEFT JOIN policies p ON p.id = c.policy_id`;

export async function getCall(db: Queryable, id: number): Promise<ToolCall> {
  const r = await db.queryOne<CallRow>(`${CALL_SELECT} WHERE c.id = $1`, [id]);
  if (!r) throw callNotFound(id);
  return toCall(r);
}

const callNotFound = (id: number) => new NotFoundError('TOOL_CALL_NOT_FOUND', `no tool call ${id}`);

export interface ToolResult {
  outcome: 'success' | 'error' | 'timeout';
  durationMs?: number | undefined;
  outputSizeBytes?: number | undefined;
  output?: unknown;
}

export interface CallInput {
  tool: string;
  arguments: unknown;
  /** The call already ran (no approval needed): its result. */
  result?: ToolResult | undefined;
}

/**
 * Records a tool call of a running run. Returns the call; `approval: 'pending'`
 * means the run now waits (awaiting_approval) and the agent must not run the
 * tool until it is approved.
 */
export async function recordCall(db: Database, actor: Actor, runId: number, input: CallInput): Promise<ToolCall> {
  return db.transaction(async (tx) => {
    const tool = await tx.queryOne<ToolDefinitionRow>('SELECT * FROM tool_definitions WHERE name = $1', [input.tool]);
    if (!tool) throw toolNotFound(input.tool);
    let run = await lockRun(tx, runId);
    if (run.status === 'awaiting_approval') throw new ConflictError('RUN_AWAITING_APPROVAL', `run ${runId} waits for the approval of a tool call; no other call until it is decided`, { runStatus: run.status });
    if (run.status !== 'running') throw new ConflictError('RUN_NOT_RUNNING', `run ${runId} is ${run.status}; tool calls are recorded while it is running`, { runStatus: run.status });

    const validate = validatorOf(tool);
    const valid = validate(input.arguments) === true;
    const errors = valid ? null : (validate.errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'invalid' }));
    const policy = valid ? await matchingPolicy(tx, tool, run.node_id, run.workload_id) : null;
    if (policy && input.result) {
      throw new ConflictError('TOOL_CALL_NEEDS_APPROVAL', `policy ${JSON.stringify(policy.name)} requires approval by ${policy.approver_role} before ${tool.name} runs; send the call without a result and wait for the approval`, {
        policyId: policy.id,
        approverRole: policy.approver_role,
      });
    }
    const fresh: TaskEvent[] = [];
    run = await appendLocked(
      tx,
      run,
      [{ kind: 'tool_call', message: tool.name, data: { tool: tool.name, argsValid: valid, ...(policy ? { approval: 'pending', policyId: policy.id } : {}), ...(input.result ? { outcome: input.result.outcome } : {}) } }],
      fresh,
    );
    const outcome: ToolOutcome | null = !valid ? 'invalid' : (input.result?.outcome ?? null);
    const r = await tx.queryOne<{ id: number }>(
      `INSERT INTO tool_call_records (run_id, task_event_id, tool_id, tool_name, arguments, args_valid, validation_errors, approval, policy_id, outcome, duration_ms, output_size_bytes, output, finished_at)
       VALUES ($1, $2, $3, $4, $5::text::jsonb, $6, $7::text::jsonb, $8, $9, $10, $11, $12, $13::text::jsonb, CASE WHEN $10::text IS NOT NULL THEN now() END) RETURNING id`,
      [
        runId,
        fresh[0]!.id,
        tool.id,
        tool.name,
        JSON.stringify(input.arguments ?? null),
        valid,
        errors ? JSON.stringify(errors) : null,
        policy ? 'pending' : 'not_required',
        policy?.id ?? null,
        outcome,
        input.result?.durationMs ?? null,
        input.result?.outputSizeBytes ?? null,
        input.result?.output === undefined ? null : JSON.stringify(input.result.output),
      ],
    );
    if (policy) await applyTransition(tx, run, 'awaiting_approval', 'tool', { data: { toolCallId: r!.id, policyId: policy.id, approverRole: policy.approver_role } });
    await recordAudit(tx, {
      ...actor,
      action: 'tool_call.record',
      targetType: 'tool_call',
      targetId: r!.id,
      summary: { runId, tool: tool.name, argsValid: valid, approval: policy ? 'pending' : 'not_required', outcome },
    });
    return getCall(tx, r!.id);
  });
}

/** The result of a call recorded earlier (after its approval, or a long-running one). */
export async function recordResult(db: Database, actor: Actor, callId: number, result: ToolResult): Promise<ToolCall> {
  return db.transaction(async (tx) => {
    const call = await tx.queryOne<ToolCallRow>('SELECT * FROM tool_call_records WHERE id = $1', [callId]);
    if (!call) throw callNotFound(callId);
    let run = await lockRun(tx, call.run_id);
    const locked = (await tx.queryOne<ToolCallRow>('SELECT * FROM tool_call_records WHERE id = $1 FOR UPDATE', [callId]))!;
    if (locked.approval === 'pending' || locked.approval === 'rejected') {
      throw new ConflictError('TOOL_CALL_NOT_APPROVED', `tool call ${callId} is ${locked.approval}; its result is accepted once it is approved`, { approval: locked.approval });
    }
    if (locked.outcome !== null) throw new ConflictError('TOOL_CALL_FINISHED', `tool call ${callId} already has its outcome (${locked.outcome})`, { outcome: locked.outcome });
    if (FINISHED_STATUSES.includes(run.status)) throw new ConflictError('RUN_FINISHED', `run ${run.id} already finished (${run.status})`, { runStatus: run.status });
    await tx.query(
      `UPDATE tool_call_records SET outcome = $2, duration_ms = $3, output_size_bytes = $4, output = $5::text::jsonb, finished_at = now() WHERE id = $1`,
      [callId, result.outcome, result.durationMs ?? null, result.outputSizeBytes ?? null, result.output === undefined ? null : JSON.stringify(result.output)],
    );
    run = await appendLocked(tx, run, [{ kind: 'tool_call', message: `${locked.tool_name} ${result.outcome}`, data: { toolCallId: callId, outcome: result.outcome, durationMs: result.durationMs } }]);
    await recordAudit(tx, { ...actor, action: 'tool_call.result', targetType: 'tool_call', targetId: callId, summary: { runId: run.id, outcome: result.outcome } });
    return getCall(tx, callId);
  });
}

/**
 * Approves or rejects a pending call: a user (not an API key) whose role is at
 * least the policy's. Approval moves the run back to running; rejection records
 * the call as rejected and fails the run.
 */
export async function decideCall(db: Database, actor: Actor, callId: number, decision: 'approve' | 'reject', reason: string): Promise<ToolCall> {
  const p = actor.principal;
  if (!p || p.kind !== 'user') throw new ForbiddenError('APPROVAL_NEEDS_USER', 'approvals are made by a signed-in user, not an API key');
  return db.transaction(async (tx) => {
    const call = await tx.queryOne<ToolCallRow>('SELECT * FROM tool_call_records WHERE id = $1', [callId]);
    if (!call) throw callNotFound(callId);
    const run = await lockRun(tx, call.run_id);
    const locked = (await tx.queryOne<ToolCallRow & { approver_role: Role | null }>(
      'SELECT c.*, p.approver_role FROM tool_call_records c LEFT JOIN policies p ON p.id = c.policy_id WHERE c.id = $1 FOR UPDATE OF c',
      [callId],
    ))!;
    if (locked.approval !== 'pending') throw new ConflictError('TOOL_CALL_NOT_PENDING', `tool call ${callId} is not waiting for approval (${locked.approval})`, { approval: locked.approval });
    // A deleted policy leaves the call pending: then only an admin decides.
    const needed: Role = locked.approver_role ?? 'admin';
    if (!roleAtLeast(p.role, needed)) {
      throw new ForbiddenError('APPROVAL_ROLE_REQUIRED', `this call needs approval by role ${needed} or higher; you are ${p.role}`, { approverRole: needed });
    }
    const approved = decision === 'approve';
    await tx.query(
      `UPDATE tool_call_records SET approval = $2, decided_by = $3, decision_reason = $4, decided_at = now(),
         outcome = CASE WHEN $2 = 'rejected' THEN 'rejected' ELSE outcome END, finished_at = CASE WHEN $2 = 'rejected' THEN now() ELSE finished_at END
       WHERE id = $1`,
      [callId, approved ? 'approved' : 'rejected', p.username, reason],
    );
    await applyTransition(tx, run, approved ? 'running' : 'failed', 'approval', {
      error: approved ? null : `tool call ${callId} (${locked.tool_name}) rejected by ${p.username}: ${reason}`,
      data: { toolCallId: callId, decision: approved ? 'approved' : 'rejected', by: p.username, reason },
    });
    await recordAudit(tx, { ...actor, action: approved ? 'tool_call.approve' : 'tool_call.reject', targetType: 'tool_call', targetId: callId, summary: { runId: run.id, tool: locked.tool_name, reason } });
    return getCall(tx, callId);
  });
}

export interface CallFilter {
  page: number;
  pageSize: number;
  runId?: number | undefined;
  tool?: string | undefined;
  approval?: ToolCall['approval'] | undefined;
}

export async function listCalls(db: Queryable, f: CallFilter): Promise<Page<ToolCall>> {
  const where = `($1::bigint IS NULL OR c.run_id = $1) AND ($2::text IS NULL OR c.tool_name = $2) AND ($3::text IS NULL OR c.approval = $3)`;
  const params = [f.runId ?? null, f.tool ?? null, f.approval ?? null];
  const total = (await db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM tool_call_records c WHERE ${where}`, params))?.n ?? 0;
  const rows = await db.queryMany<CallRow>(`${CALL_SELECT} WHERE ${where} ORDER BY c.id DESC LIMIT $4 OFFSET $5`, [...params, f.pageSize, (f.page - 1) * f.pageSize]);
  return pageResult(rows.map(toCall), total, f.page, f.pageSize);
}

export interface ToolSuccessRate {
  tool: string;
  calls: number;
  successes: number;
  successRate: number;
  avgDurationMs: number | null;
}

/** The rows of the view tool_call_success_rate (calls with an outcome). */
export async function toolSuccessRates(db: Queryable): Promise<ToolSuccessRate[]> {
  const rows = await db.queryMany<{ tool_name: string; calls: number; successes: number; success_rate: number; avg_duration_ms: number | null }>(
    'SELECT * FROM tool_call_success_rate ORDER BY tool_name',
  );
  return rows.map((r) => ({ tool: r.tool_name, calls: Number(r.calls), successes: Number(r.successes), successRate: Number(r.success_rate), avgDurationMs: r.avg_duration_ms }));
}
