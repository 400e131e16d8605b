/**
 * Drizzle declarations of the agent operations ledger's tables
 * (src/db/migrations/0019_ledger.sql) and the enum tuples shared by the
 * columns, their CHECKs and the routes' Zod schemas. Compared with the migrated
 * database in src/modules/tables.test.ts. Hosts are `nodes` (src/modules/nodes).
 */
import { sql } from 'drizzle-orm';
import { bigint, boolean, check, customType, inet, integer, jsonb, numeric, pgTable, text, unique } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { ROLES } from '../../domain/access.ts';
import { nodes } from '../nodes/schema.ts';

export const WORKLOAD_KINDS = ['deployment', 'pod', 'vm', 'lxc', 'container'] as const;
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];
export const WORKLOAD_STATUSES = ['running', 'stopped', 'pending', 'failed', 'unknown'] as const;
export type WorkloadStatus = (typeof WORKLOAD_STATUSES)[number];
export const TASK_KINDS = ['template', 'one_off'] as const;
export const RUN_STATUSES = ['queued', 'running', 'awaiting_approval', 'succeeded', 'failed', 'cancelled'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const FINISHED_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'cancelled'];
export const EVENT_KINDS = ['message', 'log', 'tool_call', 'llm_call', 'state', 'error'] as const;
export type EventKind = (typeof EVENT_KINDS)[number];
export const RISK_LEVELS = ['low', 'medium', 'high', 'critical'] as const;
export type RiskLevel = (typeof RISK_LEVELS)[number];
export const APPROVAL_STATES = ['not_required', 'pending', 'approved', 'rejected'] as const;
export const TOOL_OUTCOMES = ['success', 'error', 'timeout', 'rejected', 'invalid'] as const;
export type ToolOutcome = (typeof TOOL_OUTCOMES)[number];
export const PRICE_SOURCES = ['table', 'client', 'none'] as const;
export type PriceSource = (typeof PRICE_SOURCES)[number];
export const LLM_RESPONSE_STATUSES = ['ok', 'error'] as const;
export const ACTOR_KINDS = ['user', 'api_key', 'system'] as const;

const bytea = customType<{ data: Buffer; driverData: Buffer }>({ dataType: () => 'bytea' });
const id64 = () => bigint({ mode: 'number' });
const num = () => numeric({ mode: 'number' });
const createdAt = () => tstz().notNull().defaultNow();

export const services = pgTable(
  'services',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique(),
    description: text(),
    labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    created_at: createdAt(),
    updated_at: createdAt(),
  },
  (t) => [check('services_name_check', sql`length(${t.name}) BETWEEN 1 AND 128`)],
);

export const workloads = pgTable(
  'workloads',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    kind: text({ enum: WORKLOAD_KINDS }).notNull(),
    name: text().notNull(),
    node_id: text().references(() => nodes.id, { onDelete: 'set null' }),
    service_id: integer().references(() => services.id, { onDelete: 'set null' }),
    status: text({ enum: WORKLOAD_STATUSES }).notNull().default('unknown'),
    spec: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    created_at: createdAt(),
    updated_at: createdAt(),
  },
  (t) => [
    check('workloads_kind_check', sql`${t.kind} IN (${sqlList(WORKLOAD_KINDS)})`),
    check('workloads_name_check', sql`length(${t.name}) BETWEEN 1 AND 253`),
    check('workloads_status_check', sql`${t.status} IN (${sqlList(WORKLOAD_STATUSES)})`),
    unique('workloads_kind_name_key').on(t.kind, t.name),
  ],
);
export type WorkloadRow = typeof workloads.$inferSelect;

export const tasks = pgTable(
  'tasks',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    title: text().notNull(),
    description: text(),
    kind: text({ enum: TASK_KINDS }).notNull().default('one_off'),
    prompt: text(),
    node_id: text().references(() => nodes.id, { onDelete: 'set null' }),
    workload_id: integer().references(() => workloads.id, { onDelete: 'set null' }),
    created_by: text().notNull(),
    created_at: createdAt(),
  },
  (t) => [check('tasks_title_check', sql`length(${t.title}) BETWEEN 1 AND 200`), check('tasks_kind_check', sql`${t.kind} IN (${sqlList(TASK_KINDS)})`)],
);
export type TaskRow = typeof tasks.$inferSelect;

export const taskRuns = pgTable(
  'task_runs',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    task_id: integer()
      .notNull()
      .references(() => tasks.id),
    status: text({ enum: RUN_STATUSES }).notNull().default('queued'),
    user_prompt: text().notNull(),
    agent: text().notNull(),
    node_id: text().references(() => nodes.id, { onDelete: 'set null' }),
    workload_id: integer().references(() => workloads.id, { onDelete: 'set null' }),
    created_by: text().notNull(),
    queued_at: createdAt(),
    started_at: tstz(),
    approval_requested_at: tstz(),
    approval_decided_at: tstz(),
    succeeded_at: tstz(),
    failed_at: tstz(),
    cancelled_at: tstz(),
    error: text(),
    event_seq: integer().notNull().default(0),
  },
  (t) => [check('task_runs_status_check', sql`${t.status} IN (${sqlList(RUN_STATUSES)})`), check('task_runs_agent_check', sql`length(${t.agent}) BETWEEN 1 AND 128`)],
);
export type TaskRunRow = typeof taskRuns.$inferSelect;

export const taskEvents = pgTable(
  'task_events',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    run_id: id64()
      .notNull()
      .references(() => taskRuns.id, { onDelete: 'cascade' }),
    seq: integer().notNull(),
    kind: text({ enum: EVENT_KINDS }).notNull(),
    message: text(),
    data: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    at: createdAt(),
  },
  (t) => [check('task_events_kind_check', sql`${t.kind} IN (${sqlList(EVENT_KINDS)})`), unique('task_events_run_seq_key').on(t.run_id, t.seq)],
);
export type TaskEventRow = typeof taskEvents.$inferSelect;

export const artifacts = pgTable(
  'artifacts',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    run_id: id64()
      .notNull()
      .references(() => taskRuns.id, { onDelete: 'cascade' }),
    name: text().notNull(),
    media_type: text().notNull(),
    size_bytes: integer().notNull(),
    sha256: text().notNull(),
    content: bytea().notNull(),
    created_at: createdAt(),
  },
  (t) => [
    check('artifacts_name_check', sql`length(${t.name}) BETWEEN 1 AND 255`),
    check('artifacts_media_type_check', sql`${t.media_type} ~ '^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$'`),
    check('artifacts_size_bytes_check', sql`${t.size_bytes} >= 0`),
    check('artifacts_sha256_check', sql`${t.sha256} ~ '^[0-9a-f]{64}$'`),
  ],
);

export const providerPricing = pgTable(
  'provider_pricing',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    provider: text().notNull(),
    model_pattern: text().notNull(),
    input_per_mtok: num().notNull(),
    cached_input_per_mtok: num(),
    output_per_mtok: num().notNull(),
    currency: text().notNull().default('USD'),
    valid_from: tstz().notNull(),
    valid_to: tstz(),
    source: text(),
    created_at: createdAt(),
  },
  (t) => [
    check('provider_pricing_provider_check', sql`${t.provider} ~ '^[a-z0-9][a-z0-9._-]{0,63}$'`),
    check('provider_pricing_model_pattern_check', sql`length(${t.model_pattern}) BETWEEN 1 AND 128`),
    check('provider_pricing_prices_check', sql`${t.input_per_mtok} >= 0`),
    check('provider_pricing_period_check', sql`${t.valid_to} IS NULL OR ${t.valid_to} > ${t.valid_from}`),
    unique('provider_pricing_version_key').on(t.provider, t.model_pattern, t.valid_from),
  ],
);
export type ProviderPricingRow = typeof providerPricing.$inferSelect;

export const llmRequests = pgTable('llm_requests', {
  id: id64().primaryKey().generatedAlwaysAsIdentity(),
  run_id: id64()
    .notNull()
    .references(() => taskRuns.id, { onDelete: 'cascade' }),
  task_event_id: id64()
    .notNull()
    .references(() => taskEvents.id, { onDelete: 'cascade' }),
  provider: text().notNull(),
  model: text().notNull(),
  request: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
  requested_at: createdAt(),
});

export const llmResponses = pgTable(
  'llm_responses',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    request_id: id64()
      .notNull()
      .unique()
      .references(() => llmRequests.id, { onDelete: 'cascade' }),
    status: text({ enum: LLM_RESPONSE_STATUSES }).notNull().default('ok'),
    finish_reason: text(),
    latency_ms: integer(),
    response: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    error: text(),
    received_at: createdAt(),
  },
  (t) => [check('llm_responses_status_check', sql`${t.status} IN (${sqlList(LLM_RESPONSE_STATUSES)})`), check('llm_responses_latency_ms_check', sql`${t.latency_ms} >= 0`)],
);

export const tokenUsage = pgTable(
  'token_usage',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    run_id: id64()
      .notNull()
      .references(() => taskRuns.id, { onDelete: 'cascade' }),
    task_event_id: id64()
      .notNull()
      .references(() => taskEvents.id, { onDelete: 'cascade' }),
    llm_request_id: id64()
      .notNull()
      .unique()
      .references(() => llmRequests.id, { onDelete: 'cascade' }),
    provider: text().notNull(),
    model: text().notNull(),
    input_tokens: id64().notNull(),
    cached_input_tokens: id64().notNull().default(0),
    output_tokens: id64().notNull(),
    reasoning_tokens: id64(),
    price_source: text({ enum: PRICE_SOURCES }).notNull(),
    pricing_id: integer().references(() => providerPricing.id),
    input_per_mtok: num(),
    cached_input_per_mtok: num(),
    output_per_mtok: num(),
    cost: num(),
    currency: text().notNull().default('USD'),
    occurred_at: tstz().notNull(),
  },
  (t) => [
    check('token_usage_price_source_check', sql`${t.price_source} IN (${sqlList(PRICE_SOURCES)})`),
    check('token_usage_tokens_check', sql`${t.input_tokens} >= 0`),
  ],
);

export const toolDefinitions = pgTable(
  'tool_definitions',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique(),
    description: text().notNull().default(''),
    args_schema: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
    risk_level: text({ enum: RISK_LEVELS }).notNull().default('low'),
    created_at: createdAt(),
    updated_at: createdAt(),
  },
  (t) => [
    check('tool_definitions_name_check', sql`${t.name} ~ '^[A-Za-z0-9_.:-]{1,128}$'`),
    check('tool_definitions_risk_level_check', sql`${t.risk_level} IN (${sqlList(RISK_LEVELS)})`),
  ],
);
export type ToolDefinitionRow = typeof toolDefinitions.$inferSelect;

export const policies = pgTable(
  'policies',
  {
    id: integer().primaryKey().generatedAlwaysAsIdentity(),
    name: text().notNull().unique(),
    description: text(),
    tool_name: text(),
    min_risk_level: text({ enum: RISK_LEVELS }),
    node_labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    workload_labels: jsonb().notNull().default({}).$type<Record<string, string>>(),
    approver_role: text({ enum: ROLES }).notNull().default('operator'),
    enabled: boolean().notNull().default(true),
    created_at: createdAt(),
    updated_at: createdAt(),
  },
  (t) => [
    check('policies_name_check', sql`length(${t.name}) BETWEEN 1 AND 128`),
    check('policies_min_risk_level_check', sql`${t.min_risk_level} IN (${sqlList(RISK_LEVELS)})`),
    check('policies_approver_role_check', sql`${t.approver_role} IN (${sqlList(ROLES)})`),
  ],
);
export type PolicyRow = typeof policies.$inferSelect;

export const toolCallRecords = pgTable(
  'tool_call_records',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    run_id: id64()
      .notNull()
      .references(() => taskRuns.id, { onDelete: 'cascade' }),
    task_event_id: id64()
      .notNull()
      .references(() => taskEvents.id, { onDelete: 'cascade' }),
    tool_id: integer()
      .notNull()
      .references(() => toolDefinitions.id),
    tool_name: text().notNull(),
    arguments: jsonb().notNull().$type<unknown>(),
    args_valid: boolean().notNull(),
    validation_errors: jsonb().$type<{ path: string; message: string }[]>(),
    approval: text({ enum: APPROVAL_STATES }).notNull().default('not_required'),
    policy_id: integer().references(() => policies.id, { onDelete: 'set null' }),
    decided_by: text(),
    decision_reason: text(),
    decided_at: tstz(),
    outcome: text({ enum: TOOL_OUTCOMES }),
    duration_ms: integer(),
    output_size_bytes: id64(),
    output: jsonb().$type<unknown>(),
    requested_at: createdAt(),
    finished_at: tstz(),
  },
  (t) => [
    check('tool_call_records_approval_check', sql`${t.approval} IN (${sqlList(APPROVAL_STATES)})`),
    check('tool_call_records_outcome_check', sql`${t.outcome} IN (${sqlList(TOOL_OUTCOMES)})`),
    check('tool_call_records_measures_check', sql`${t.duration_ms} >= 0`),
  ],
);
export type ToolCallRow = typeof toolCallRecords.$inferSelect;

export const auditEntries = pgTable(
  'audit_entries',
  {
    id: id64().primaryKey().generatedAlwaysAsIdentity(),
    at: createdAt(),
    actor_kind: text({ enum: ACTOR_KINDS }).notNull(),
    actor_id: text(),
    actor_name: text(),
    action: text().notNull(),
    target_type: text().notNull(),
    target_id: text(),
    ip: inet(),
    request_id: text(),
    summary: jsonb().notNull().default({}).$type<Record<string, unknown>>(),
  },
  (t) => [
    check('audit_entries_actor_kind_check', sql`${t.actor_kind} IN (${sqlList(ACTOR_KINDS)})`),
    check('audit_entries_action_check', sql`length(${t.action}) BETWEEN 1 AND 128`),
  ],
);
export type AuditEntryRow = typeof auditEntries.$inferSelect;

export const LEDGER_TABLES = [
  services,
  workloads,
  tasks,
  taskRuns,
  taskEvents,
  artifacts,
  providerPricing,
  llmRequests,
  llmResponses,
  tokenUsage,
  toolDefinitions,
  policies,
  toolCallRecords,
  auditEntries,
] as const;
