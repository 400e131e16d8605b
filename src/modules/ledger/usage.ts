/**
 * LLM calls, their token usage and cost, and the versioned price table.
 *
 * Cost rule (docs/agent-ledger.md, "Cost"): prices are per 1M tokens;
 *   cost = (input − cached) × input price + cached × cached-input price
 *          (the input price when the entry has none) + output × output price, / 10⁶.
 * Output tokens include reasoning tokens (as OpenAI and Google report them);
 * reasoningTokens is kept for information and not billed twice. The cost is
 * computed in SQL (numeric, exact) when the usage is written, and the unit
 * prices applied are copied into the row with the price entry's id — later
 * price changes never rewrite it. A price sent with the call overrides the
 * table (`price_source = 'client'`); no price at all leaves the cost null
 * (`'none'`). Which entry applies: same provider, valid at the call's time,
 * a pattern equal to the model name or to its prefix before `-`, `@` or `:`,
 * the longest pattern winning (`gpt-4o-2024-08-06` → `gpt-4o`, while
 * `gpt-4o-mini-2024-07-18` → `gpt-4o-mini`).
 */
import type { Database, Queryable } from '../../db/database.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { recordAudit, type Actor } from './audit.ts';
import { appendLocked, lockRun, type TaskEvent } from './runs.ts';
import { FINISHED_STATUSES, type PriceSource, type ProviderPricingRow } from './schema.ts';

/** Most LLM calls per request. */
export const MAX_LLM_CALLS_PER_REQUEST = 500;

export interface Price {
  id: number;
  provider: string;
  modelPattern: string;
  inputPerMTok: number;
  cachedInputPerMTok: number | null;
  outputPerMTok: number;
  currency: string;
  validFrom: string;
  validTo: string | null;
  source: string | null;
}

const toPrice = (r: ProviderPricingRow): Price => ({
  id: r.id,
  provider: r.provider,
  modelPattern: r.model_pattern,
  inputPerMTok: Number(r.input_per_mtok),
  cachedInputPerMTok: r.cached_input_per_mtok === null ? null : Number(r.cached_input_per_mtok),
  outputPerMTok: Number(r.output_per_mtok),
  currency: r.currency,
  validFrom: r.valid_from.toISOString(),
  validTo: r.valid_to?.toISOString() ?? null,
  source: r.source,
});

/** SQL: the price entry for provider $P, model $M at time $T (placeholders given). */
const PRICE_LOOKUP = (p: string, m: string, t: string) => `
  SELECT * FROM provider_pricing pp
  WHERE pp.provider = ${p}
    AND (${m} = pp.model_pattern OR left(${m}, length(pp.model_pattern) + 1) IN (pp.model_pattern || '-', pp.model_pattern || '@', pp.model_pattern || ':'))
    AND pp.valid_from <= ${t} AND (pp.valid_to IS NULL OR pp.valid_to > ${t})
  ORDER BY length(pp.model_pattern) DESC, pp.valid_from DESC LIMIT 1`;

export async function resolvePrice(db: Queryable, provider: string, model: string, at: Date): Promise<Price | null> {
  const r = await db.queryOne<ProviderPricingRow>(PRICE_LOOKUP('$1', '$2', '$3::timestamptz'), [provider, model, at.toISOString()]);
  return r ? toPrice(r) : null;
}

export async function listPrices(db: Queryable, f: { provider?: string | undefined; at?: Date | undefined }): Promise<Price[]> {
  const rows = await db.queryMany<ProviderPricingRow>(
    `SELECT * FROM provider_pricing WHERE ($1::text IS NULL OR provider = $1)
       AND ($2::timestamptz IS NULL OR (valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)))
     ORDER BY provider, model_pattern, valid_from`,
    [f.provider ?? null, f.at?.toISOString() ?? null],
  );
  return rows.map(toPrice);
}

export interface PriceInput {
  provider: string;
  modelPattern: string;
  inputPerMTok: number;
  cachedInputPerMTok?: number | null | undefined;
  outputPerMTok: number;
  currency?: string | undefined;
  validFrom: Date;
  validTo?: Date | null | undefined;
  source?: string | undefined;
}

/**
 * Adds a price version. A new open-ended version closes the open-ended one of
 * the same provider and pattern that started earlier, where the new one starts;
 * any other overlap is 409 PRICE_PERIOD_OVERLAP. An end not after its start is
 * 400 naming validTo. Usage already written keeps its cost.
 */
export async function addPrice(db: Database, actor: Actor, p: PriceInput): Promise<Price> {
  if (p.validTo && p.validTo.getTime() <= p.validFrom.getTime()) {
    throw new InvalidError('PRICE_PERIOD_INVALID', `validTo (${p.validTo.toISOString()}) must be after validFrom (${p.validFrom.toISOString()})`, [
      { path: 'validTo', message: 'must be after validFrom' },
    ]);
  }
  return db.transaction(async (tx) => {
    // One writer per (provider, pattern) at a time.
    await tx.query(`SELECT pg_advisory_xact_lock(hashtext('opsdeck:pricing:' || $1 || ':' || $2))`, [p.provider, p.modelPattern]);
    const from = p.validFrom.toISOString();
    const to = p.validTo?.toISOString() ?? null;
    // Only an open-ended new version takes over from the open one before it; a bounded
    // period inside it would leave a gap after its end, so it counts as an overlap.
    const closed = to
      ? []
      : await tx.queryMany<{ id: number }>(
          `UPDATE provider_pricing SET valid_to = $3::timestamptz
           WHERE provider = $1 AND model_pattern = $2 AND valid_to IS NULL AND valid_from < $3::timestamptz RETURNING id`,
          [p.provider, p.modelPattern, from],
        );
    const overlap = await tx.queryOne<{ id: number; valid_from: Date; valid_to: Date | null }>(
      `SELECT id, valid_from, valid_to FROM provider_pricing WHERE provider = $1 AND model_pattern = $2
         AND tstzrange(valid_from, valid_to) && tstzrange($3::timestamptz, $4::timestamptz) LIMIT 1`,
      [p.provider, p.modelPattern, from, to],
    );
    if (overlap) {
      throw new ConflictError(
        'PRICE_PERIOD_OVERLAP',
        `entry ${overlap.id} of ${p.provider}/${p.modelPattern} already covers [${overlap.valid_from.toISOString()}, ${overlap.valid_to?.toISOString() ?? '∞'})`,
        { conflictingId: overlap.id },
      );
    }
    const r = await tx.queryOne<ProviderPricingRow>(
      `INSERT INTO provider_pricing (provider, model_pattern, input_per_mtok, cached_input_per_mtok, output_per_mtok, currency, valid_from, valid_to, source)
       VALUES ($1, $2, $3::numeric, $4::numeric, $5::numeric, coalesce($6, 'USD'), $7, $8, $9) RETURNING *`,
      [p.provider, p.modelPattern, String(p.inputPerMTok), p.cachedInputPerMTok == null ? null : String(p.cachedInputPerMTok), String(p.outputPerMTok), p.currency ?? null, from, to, p.source ?? null],
    );
    await recordAudit(tx, {
      ...actor,
      action: 'pricing.create',
      targetType: 'provider_pricing',
      targetId: r!.id,
      summary: { provider: p.provider, modelPattern: p.modelPattern, input: p.inputPerMTok, cachedInput: p.cachedInputPerMTok, output: p.outputPerMTok, validFrom: from, validTo: to, closed: closed.map((c) => c.id) },
    });
    return toPrice(r!);
  });
}

// ---------------------------------------------------------------- LLM calls

export interface LlmCallInput {
  provider: string;
  model: string;
  request?: Record<string, unknown> | undefined;
  response?: { status?: 'ok' | 'error' | undefined; finishReason?: string | undefined; latencyMs?: number | undefined; body?: Record<string, unknown> | undefined; error?: string | undefined } | undefined;
  usage: { inputTokens: number; outputTokens: number; cachedInputTokens?: number | undefined; reasoningTokens?: number | undefined };
  price?: { inputPerMTok: number; cachedInputPerMTok?: number | undefined; outputPerMTok: number; currency?: string | undefined } | undefined;
  occurredAt?: Date | undefined;
  /** The run's event that caused the call; without it an `llm_call` event is appended. */
  eventSeq?: number | undefined;
}

export interface UsageRecord {
  llmRequestId: number;
  eventSeq: number;
  provider: string;
  model: string;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number | null;
  priceSource: PriceSource;
  pricingId: number | null;
  inputPerMTok: number | null;
  cachedInputPerMTok: number | null;
  outputPerMTok: number | null;
  cost: number | null;
  currency: string;
  occurredAt: string;
}

interface UsageRow {
  llm_request_id: number;
  seq: number;
  provider: string;
  model: string;
  input_tokens: number;
  cached_input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number | null;
  price_source: PriceSource;
  pricing_id: number | null;
  input_per_mtok: number | null;
  cached_input_per_mtok: number | null;
  output_per_mtok: number | null;
  cost: number | null;
  currency: string;
  occurred_at: Date;
}

const toUsage = (r: UsageRow): UsageRecord => ({
  llmRequestId: r.llm_request_id,
  eventSeq: r.seq,
  provider: r.provider,
  model: r.model,
  inputTokens: r.input_tokens,
  cachedInputTokens: r.cached_input_tokens,
  outputTokens: r.output_tokens,
  reasoningTokens: r.reasoning_tokens,
  priceSource: r.price_source,
  pricingId: r.pricing_id,
  inputPerMTok: r.input_per_mtok === null ? null : Number(r.input_per_mtok),
  cachedInputPerMTok: r.cached_input_per_mtok === null ? null : Number(r.cached_input_per_mtok),
  outputPerMTok: r.output_per_mtok === null ? null : Number(r.output_per_mtok),
  cost: r.cost === null ? null : Number(r.cost),
  currency: r.currency,
  occurredAt: r.occurred_at.toISOString(),
});

/** Rules Zod cannot state alone: cached ≤ input, and the event a call names must exist. */
function checkCalls(calls: readonly LlmCallInput[]): void {
  const issues = calls.flatMap((c, i) =>
    (c.usage.cachedInputTokens ?? 0) > c.usage.inputTokens ? [{ path: `items.${i}.usage.cachedInputTokens`, message: 'cached input tokens are part of the input tokens: at most inputTokens' }] : [],
  );
  const seen = new Set<number>();
  for (const [i, c] of calls.entries()) {
    if (c.eventSeq === undefined) continue;
    if (seen.has(c.eventSeq)) issues.push({ path: `items.${i}.eventSeq`, message: 'another call of this request names the same event' });
    seen.add(c.eventSeq);
  }
  if (issues.length) throw new InvalidError('USAGE_INVALID', issues.map((x) => `${x.path}: ${x.message}`).join('; '), issues);
}

/**
 * Records LLM calls of a run (request, response, token usage with its cost) in
 * one transaction: all or none.
 */
export async function recordLlmCalls(db: Database, clock: Clock, actor: Actor, runId: number, calls: readonly LlmCallInput[]): Promise<UsageRecord[]> {
  checkCalls(calls);
  return db.transaction(async (tx) => {
    let run = await lockRun(tx, runId);
    if (FINISHED_STATUSES.includes(run.status)) throw new ConflictError('RUN_FINISHED', `run ${runId} already finished (${run.status})`, { runStatus: run.status });
    // The causing events: named ones must exist in this run; the others are appended.
    const eventIds: { id: number; seq: number }[] = [];
    const fresh: TaskEvent[] = [];
    const toAppend = calls.filter((c) => c.eventSeq === undefined);
    run = await appendLocked(
      tx,
      run,
      toAppend.map((c) => ({ kind: 'llm_call' as const, message: `${c.provider}/${c.model}`, data: { provider: c.provider, model: c.model, usage: c.usage } })),
      fresh,
    );
    let k = 0;
    for (const [i, c] of calls.entries()) {
      if (c.eventSeq === undefined) {
        const e = fresh[k++]!;
        eventIds.push({ id: e.id, seq: e.seq });
      } else {
        const e = await tx.queryOne<{ id: number; seq: number }>('SELECT id, seq FROM task_events WHERE run_id = $1 AND seq = $2', [runId, c.eventSeq]);
        if (!e) throw new InvalidError('EVENT_NOT_FOUND', `run ${runId} has no event ${c.eventSeq}`, [{ path: `items.${i}.eventSeq`, message: 'no such event in this run' }]);
        eventIds.push(e);
      }
    }
    const now = clock.now();
    const items = calls.map((c, i) => ({
      ord: i,
      event_id: eventIds[i]!.id,
      provider: c.provider,
      model: c.model,
      request: c.request ?? {},
      status: c.response?.status ?? 'ok',
      finish_reason: c.response?.finishReason ?? null,
      latency_ms: c.response?.latencyMs ?? null,
      response: c.response?.body ?? {},
      error: c.response?.error ?? null,
      input: c.usage.inputTokens,
      cached: c.usage.cachedInputTokens ?? 0,
      output: c.usage.outputTokens,
      reasoning: c.usage.reasoningTokens ?? null,
      // Prices travel as JSON strings so numeric keeps the decimal exactly.
      c_in: c.price ? String(c.price.inputPerMTok) : null,
      c_cached: c.price?.cachedInputPerMTok !== undefined ? String(c.price.cachedInputPerMTok) : null,
      c_out: c.price ? String(c.price.outputPerMTok) : null,
      c_currency: c.price?.currency ?? null,
      at: (c.occurredAt ?? now).toISOString(),
    }));
    const rows = await tx.queryMany<UsageRow>(
      `WITH x AS (
         SELECT * FROM jsonb_to_recordset($2::text::jsonb) AS x(ord int, event_id bigint, provider text, model text, request jsonb, status text, finish_reason text,
           latency_ms int, response jsonb, error text, input bigint, cached bigint, output bigint, reasoning bigint, c_in numeric, c_cached numeric, c_out numeric,
           c_currency text, at timestamptz)
       ),
       req AS (
         INSERT INTO llm_requests (run_id, task_event_id, provider, model, request, requested_at)
         SELECT $1, x.event_id, x.provider, x.model, x.request, x.at FROM x ORDER BY x.ord
         RETURNING id, task_event_id
       ),
       j AS (SELECT x.*, req.id AS request_id FROM x JOIN req ON req.task_event_id = x.event_id),
       resp AS (
         INSERT INTO llm_responses (request_id, status, finish_reason, latency_ms, response, error)
         SELECT j.request_id, j.status, j.finish_reason, j.latency_ms, j.response, j.error FROM j
       ),
       priced AS (
         SELECT j.*, p.id AS pricing_id, p.input_per_mtok AS t_in, coalesce(p.cached_input_per_mtok, p.input_per_mtok) AS t_cached, p.output_per_mtok AS t_out, p.currency AS t_currency
         FROM j LEFT JOIN LATERAL (${PRICE_LOOKUP('j.provider', 'j.model', 'j.at')}) p ON j.c_in IS NULL
       ),
       applied AS (
         SELECT priced.*,
           CASE WHEN c_in IS NOT NULL THEN 'client' WHEN pricing_id IS NOT NULL THEN 'table' ELSE 'none' END AS source,
           coalesce(c_in, t_in) AS a_in,
           CASE WHEN c_in IS NOT NULL THEN coalesce(c_cached, c_in) ELSE t_cached END AS a_cached,
           coalesce(c_out, t_out) AS a_out,
           coalesce(c_currency, t_currency, 'USD') AS a_currency
         FROM priced
       )
       INSERT INTO token_usage (run_id, task_event_id, llm_request_id, provider, model, input_tokens, cached_input_tokens, output_tokens, reasoning_tokens,
         price_source, pricing_id, input_per_mtok, cached_input_per_mtok, output_per_mtok, cost, currency, occurred_at)
       SELECT $1, a.event_id, a.request_id, a.provider, a.model, a.input, a.cached, a.output, a.reasoning, a.source,
         CASE WHEN a.source = 'table' THEN a.pricing_id END, a.a_in, a.a_cached, a.a_out,
         ((a.input - a.cached) * a.a_in + a.cached * a.a_cached + a.output * a.a_out) / 1000000,
         a.a_currency, a.at
       FROM applied a ORDER BY a.ord
       RETURNING llm_request_id, (SELECT seq FROM task_events e WHERE e.id = task_event_id) AS seq, provider, model, input_tokens, cached_input_tokens, output_tokens,
         reasoning_tokens, price_source, pricing_id, input_per_mtok, cached_input_per_mtok, output_per_mtok, cost, currency, occurred_at`,
      [runId, JSON.stringify(items)],
    );
    if (rows.length !== calls.length) throw new Error(`recorded ${rows.length} of ${calls.length} LLM calls`);
    const out = rows.map(toUsage).sort((a, b) => a.llmRequestId - b.llmRequestId);
    await recordAudit(tx, {
      ...actor,
      action: 'run.llm_calls.record',
      targetType: 'task_run',
      targetId: runId,
      summary: { count: calls.length, cost: out.reduce((s, u) => s + (u.cost ?? 0), 0), unpriced: out.filter((u) => u.cost === null).length },
    });
    return out;
  });
}

// ---------------------------------------------------------------- cost queries

export const COST_GROUPS = ['provider', 'model', 'agent', 'task', 'host', 'day'] as const;
export type CostGroup = (typeof COST_GROUPS)[number];

const GROUP_SQL: Record<CostGroup, string> = {
  provider: 'u.provider',
  model: "u.provider || '/' || u.model",
  agent: 'r.agent',
  task: 'r.task_id::text',
  host: "coalesce(r.node_id, '(none)')",
  day: `to_char(date_trunc('day', u.occurred_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')`,
};

export interface CostRow {
  key: string;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cost: number;
  unpricedRequests: number;
}

export interface CostFilter {
  groupBy: CostGroup;
  from?: Date | undefined;
  to?: Date | undefined;
  provider?: string | undefined;
  model?: string | undefined;
  agent?: string | undefined;
  runId?: number | undefined;
}

/** Usage and cost summed by one dimension, largest cost first (the day grouping: by day). */
export async function costBy(db: Queryable, f: CostFilter): Promise<CostRow[]> {
  const key = GROUP_SQL[f.groupBy];
  const rows = await db.queryMany<{ key: string; requests: number; input: number; cached: number; output: number; reasoning: number; cost: number; unpriced: number }>(
    `SELECT ${key} AS key, count(*)::int AS requests, sum(u.input_tokens)::bigint AS input, sum(u.cached_input_tokens)::bigint AS cached,
       sum(u.output_tokens)::bigint AS output, coalesce(sum(u.reasoning_tokens), 0)::bigint AS reasoning, coalesce(sum(u.cost), 0) AS cost,
       count(*) FILTER (WHERE u.cost IS NULL)::int AS unpriced
     FROM token_usage u JOIN task_runs r ON r.id = u.run_id
     WHERE ($1::timestamptz IS NULL OR u.occurred_at >= $1) AND ($2::timestamptz IS NULL OR u.occurred_at < $2)
       AND ($3::text IS NULL OR u.provider = $3) AND ($4::text IS NULL OR u.model = $4) AND ($5::text IS NULL OR r.agent = $5) AND ($6::bigint IS NULL OR u.run_id = $6)
     GROUP BY 1 ORDER BY ${f.groupBy === 'day' ? '1' : '7 DESC, 1'}`,
    [f.from?.toISOString() ?? null, f.to?.toISOString() ?? null, f.provider ?? null, f.model ?? null, f.agent ?? null, f.runId ?? null],
  );
  return rows.map((r) => ({
    key: r.key,
    requests: r.requests,
    inputTokens: Number(r.input),
    cachedInputTokens: Number(r.cached),
    outputTokens: Number(r.output),
    reasoningTokens: Number(r.reasoning),
    cost: Number(r.cost),
    unpricedRequests: r.unpriced,
  }));
}

export interface RecentUsage {
  provider: string;
  model: string;
  requests: number;
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  reasoningTokens: number | null;
  cost: number | null;
  unpricedRequests: number;
}

/** The rows of the view recent_token_usage_summary (last 30 days by provider and model). */
export async function recentUsage(db: Queryable): Promise<RecentUsage[]> {
  const rows = await db.queryMany<{
    provider: string;
    model: string;
    requests: number;
    input_tokens: number;
    cached_input_tokens: number;
    output_tokens: number;
    reasoning_tokens: number | null;
    cost: number | null;
    unpriced_requests: number;
  }>('SELECT * FROM recent_token_usage_summary ORDER BY provider, model');
  return rows.map((r) => ({
    provider: r.provider,
    model: r.model,
    requests: Number(r.requests),
    inputTokens: Number(r.input_tokens),
    cachedInputTokens: Number(r.cached_input_tokens),
    outputTokens: Number(r.output_tokens),
    reasoningTokens: r.reasoning_tokens === null ? null : Number(r.reasoning_tokens),
    cost: r.cost === null ? null : Number(r.cost),
    unpricedRequests: Number(r.unpriced_requests),
  }));
}

export async function getPrice(db: Queryable, id: number): Promise<Price> {
  const r = await db.queryOne<ProviderPricingRow>('SELECT * FROM provider_pricing WHERE id = $1', [id]);
  if (!r) throw new NotFoundError('PRICE_NOT_FOUND', `no price entry ${id}`);
  return toPrice(r);
}
