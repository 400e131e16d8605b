/**
 * Alert rule conditions: structured data (never SQL text), shaped by Zod and then
 * checked against the declarations of the time-series families and event streams
 * (src/modules/families.ts, src/modules/streams.ts). The evaluator
 * (src/modules/alerts/evaluate.ts) turns each kind into one SQL query over
 * declared tables and columns only.
 */
import { z } from 'zod';
import type { FieldIssue } from '../../domain/errors.ts';
import { NODE_ID_PATTERN } from '../../timeseries/family.ts';
import type { Family } from '../../timeseries/family.ts';
import type { Stream, StreamColumn } from '../../timeseries/stream.ts';
import { FAMILIES } from '../families.ts';
import { STREAMS } from '../streams.ts';
import { NO_DATA_POLICIES, SCOPE_KINDS } from './schema.ts';
import { ALERT_SEVERITIES } from './contracts.ts';
import { RISK_LEVELS } from '../config-tracking/schema.ts';

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];
export const AGGREGATIONS = ['avg', 'min', 'max', 'last', 'sum', 'count', 'predict_linear'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Longest evaluation window: 7 days of raw rows. */
export const MAX_WINDOW_SECONDS = 7 * 86_400;
const windowSeconds = z.number().int().min(15).max(MAX_WINDOW_SECONDS).describe('Evaluation window in seconds (15 s … 7 days)');
const silentSeconds = z.number().int().min(15).max(MAX_WINDOW_SECONDS);
const finite = z.number().refine(Number.isFinite, 'must be a finite number');
const ident = z.string().min(1).max(63);

const metricCondition = z.strictObject({
  kind: z.literal('metric'),
  family: ident.describe('Family key or table (system, redis, mongodb, zonemta, rspamd)'),
  column: ident.describe('Value column of the family (snake_case)'),
  divideBy: ident.optional().describe('A second column of the same family: the value is column / divideBy per row (redis memory_used_bytes / memory_max_bytes); rows where it is 0 or null are left out'),
  aggregation: z.enum(AGGREGATIONS).describe('How the window\'s rows become one value per series; predict_linear extrapolates a least-squares line to now + horizonSeconds'),
  horizonSeconds: z.number().int().min(60).max(366 * 86_400).optional().describe('predict_linear only: how far ahead to extrapolate'),
  comparison: z.enum(COMPARISONS),
  threshold: z.union([finite, z.string().max(256)]).describe('A number for numeric columns; a string (with == or !=) for a text column aggregated with last'),
  recoveryThreshold: finite.optional().describe('Hysteresis: a firing alert resolves only when the value no longer passes this (e.g. fire > 85, resolve at ≤ 80)'),
  windowSeconds,
});

const streamMatch = z.strictObject({ column: ident, values: z.array(z.string().min(1).max(256)).min(1).max(32) });
const streamCondition = z.strictObject({
  kind: z.literal('stream'),
  stream: ident.describe('Stream key or table (email, mongodb)'),
  measure: z.enum(['ratio', 'count']).describe('ratio: events matching `match` among events matching `of`, in percent; count: events matching `match`'),
  match: streamMatch.describe('The counted events: a dimension column and the values it must have'),
  of: streamMatch.optional().describe('ratio only: the events it is a share of (absent: every event of the window)'),
  per: z.enum(['node', 'cluster']).default('cluster').describe('One series per node (the stream\'s node column) or one for the cluster'),
  minEvents: z.number().int().min(0).max(1_000_000_000).default(0).describe('ratio only: fewer events of the denominator than this is no data (a 1-of-2 bounce is not a 50 % bounce rate)'),
  comparison: z.enum(COMPARISONS),
  threshold: finite,
  recoveryThreshold: finite.optional(),
  windowSeconds,
});

const nodeSilenceCondition = z.strictObject({
  kind: z.literal('node_silence'),
  silentSeconds: silentSeconds.describe('A node with no metrics (nodes.last_seen) for this long fires'),
});
const probeCondition = z.strictObject({
  kind: z.literal('probe'),
  statuses: z.array(z.enum(['down', 'degraded'])).min(1).default(['down']).describe('Service states that fire'),
  match: z.record(z.string().min(1).max(63), z.string().max(256)).default({}).describe('Labels the monitored service must have (e.g. {"port": "25"})'),
});
const roleDownCondition = z.strictObject({
  kind: z.literal('role_down'),
  role: z.string().min(1).max(63).describe('nodes.role whose every node must be silent'),
  silentSeconds: silentSeconds.describe('A node with no metrics for this long counts as down'),
});
const mongoNoPrimaryCondition = z.strictObject({
  kind: z.literal('mongodb_no_primary'),
});
// Kinds whose data a later module brings: declared and validated now, evaluated to "no data yet" while their tables do not exist.
const dnsblListedCondition = z.strictObject({
  kind: z.literal('dnsbl_listed'),
  lists: z.enum(['critical', 'any']).describe('critical: Spamhaus, Barracuda, SpamCop; any: every DNSBL checked'),
});
const dnsblNodeIpsCondition = z.strictObject({ kind: z.literal('dnsbl_node_ips'), comparison: z.enum(COMPARISONS), threshold: z.number().int().min(0) });
const warmupBounceCondition = z.strictObject({ kind: z.literal('warmup_bounce'), comparison: z.enum(COMPARISONS), threshold: finite, windowSeconds });
const warmupHeldCondition = z.strictObject({ kind: z.literal('warmup_held') }).describe('A warming sending IP held at its day by its plan\'s bounce or complaint gate');
const userAbuseCondition = z.strictObject({ kind: z.literal('user_abuse') });
const certExpiryCondition = z.strictObject({ kind: z.literal('cert_expiry'), withinDays: z.number().int().min(1).max(365) });
/** Evaluated by the sending-domains module (src/modules/sending-domains/observer.ts), one series per active domain. */
export const DOMAIN_AUTH_PARTS = ['spf', 'dkim', 'dmarc'] as const;
const domainAuthCondition = z.strictObject({
  kind: z.literal('domain_auth'),
  require: z.array(z.enum(DOMAIN_AUTH_PARTS)).min(1).max(3).default(['spf', 'dkim', 'dmarc']).describe('The parts a sending domain must have configured (its last check that DNS answered); one missing, invalid, revoked or no longer covering the sending IPs fires'),
  minDmarcPolicy: z.enum(['none', 'quarantine', 'reject']).default('none').describe('dmarc required: a policy (p=) weaker than this counts as not configured'),
  errorChecks: z.number().int().min(1).max(1000).default(3).describe('Also fires when this many checks in a row could not read DNS (timeout, SERVFAIL)'),
});
// Evaluated by the configuration-tracking module's observer (src/modules/config-tracking/observer.ts).
const configChangeCondition = z.strictObject({
  kind: z.literal('config_change'),
  minRisk: z.enum(RISK_LEVELS).default('HIGH').describe('One series per device and file: holds while the file has an unprocessed change event of this risk level or higher; marking the events processed resolves it'),
});
// Home-lab devices (src/modules/homelab/alerts.ts observes them).
const deviceHostKeyChangedCondition = z.strictObject({ kind: z.literal('device_host_key_changed') });
const deviceCollectionFailedCondition = z.strictObject({ kind: z.literal('device_collection_failed') });
const smartFailingCondition = z.strictObject({ kind: z.literal('smart_failing') });
const smartTemperatureCondition = z.strictObject({ kind: z.literal('smart_temperature'), threshold: z.number().int().min(0).max(150).describe('°C') });
const smartSectorsRisingCondition = z.strictObject({ kind: z.literal('smart_sectors_rising'), attribute: z.enum(['reallocated', 'pending']), windowSeconds });

export const conditionSchema = z.discriminatedUnion('kind', [
  metricCondition,
  streamCondition,
  nodeSilenceCondition,
  probeCondition,
  roleDownCondition,
  mongoNoPrimaryCondition,
  dnsblListedCondition,
  dnsblNodeIpsCondition,
  warmupBounceCondition,
  warmupHeldCondition,
  userAbuseCondition,
  certExpiryCondition,
  domainAuthCondition,
  configChangeCondition,
  deviceHostKeyChangedCondition,
  deviceCollectionFailedCondition,
  smartFailingCondition,
  smartTemperatureCondition,
  smartSectorsRisingCondition,
]);
export type Condition = z.infer<typeof conditionSchema>;
export type ConditionKind = Condition['kind'];
export type MetricCondition = z.infer<typeof metricCondition>;
export type StreamCondition = z.infer<typeof streamCondition>;
export type DomainAuthCondition = z.infer<typeof domainAuthCondition>;

/**
 * Kinds whose data another module brings, and the table each waits for. Until
 * `to_regclass(table)` finds it, a rule of the kind evaluates to "no data yet"
 * (no event, whatever its no-data policy).
 */
export const PENDING_SOURCES: Partial<Record<ConditionKind, string>> = {
  dnsbl_listed: 'blacklist_checks',
  dnsbl_node_ips: 'blacklist_checks',
  warmup_bounce: 'sending_ips',
  warmup_held: 'sending_ips',
  user_abuse: 'user_abuse_events',
  cert_expiry: 'probe_tls_checks',
  domain_auth: 'sending_domains',
  config_change: 'configuration_change_events',
  device_host_key_changed: 'device_ssh_targets',
  device_collection_failed: 'device_ssh_targets',
  smart_failing: 'drive_health',
  smart_temperature: 'drive_health',
  smart_sectors_rising: 'drive_health',
};

export const escalationStep = z.strictObject({
  afterMinutes: z.number().int().min(1).max(10_080).describe('Minutes after the alert fired without an acknowledgement'),
  channelIds: z.array(z.number().int().min(1)).min(1).max(50),
});

export const ruleInputSchema = z.strictObject({
  name: z.string().trim().min(1).max(200),
  description: z.string().max(2000).default(''),
  severity: z.enum(ALERT_SEVERITIES),
  condition: conditionSchema,
  forSeconds: z.number().int().min(0).max(604_800).default(0).describe('How long the condition must hold before the alert fires (pending until then)'),
  scope: z
    .strictObject({ kind: z.enum(SCOPE_KINDS), values: z.array(z.string().min(1).max(128)).max(200).default([]) })
    .default({ kind: 'all', values: [] })
    .describe('all; role (nodes.role in values); node (node ids); service (probe service names)'),
  noDataPolicy: z.enum(NO_DATA_POLICIES).default('nodata'),
  channels: z.array(z.number().int().min(1)).max(50).default([]).describe('Notification channel ids'),
  escalation: z.array(escalationStep).max(10).default([]),
  repeatIntervalSeconds: z.number().int().min(60).max(604_800).default(1800).describe('Re-notify a firing, unacknowledged alert this often (the seed\'s cooldown)'),
  labels: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/), z.string().max(256)).default({}),
  enabled: z.boolean().default(true),
});
export type RuleInput = z.infer<typeof ruleInputSchema>;

const NUMERIC_CMP = new Set<Comparison>(['>', '>=', '<', '<=']);

function findFamily(key: string): Family | undefined {
  return FAMILIES.find((f) => f.key === key || f.table === key);
}
function findStream(key: string): Stream | undefined {
  return STREAMS.find((s) => s.key === key || s.table === key);
}
/** The stream column holding node ids (its values follow the node-id rule), or null. */
export function streamNodeColumn(s: Stream): StreamColumn | null {
  return s.columns.find((c) => c.type === 'text' && c.pattern === NODE_ID_PATTERN) ?? null;
}

/**
 * Checks a rule against the declarations; every problem is a field issue with its
 * path inside the rule (`condition.column`, `scope.kind`, …). Empty: valid.
 */
/** Home-lab kinds: one series per device (node), so node and role scopes apply. */
const HOMELAB_NODE_KINDS: ReadonlySet<string> = new Set(['device_host_key_changed', 'device_collection_failed', 'smart_failing', 'smart_temperature', 'smart_sectors_rising']);

export function checkRule(rule: RuleInput): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const c = rule.condition;
  const nodeScoped = c.kind === 'metric' || c.kind === 'node_silence' || (c.kind === 'stream' && c.per === 'node') || HOMELAB_NODE_KINDS.has(c.kind);
  if (rule.scope.kind !== 'all' && rule.scope.values.length === 0) add('scope.values', `a ${rule.scope.kind} scope needs at least one value`);
  if (rule.scope.kind === 'service' && c.kind !== 'probe') add('scope.kind', `a service scope applies to probe conditions only, not ${c.kind}`);
  if ((rule.scope.kind === 'role' || rule.scope.kind === 'node') && !nodeScoped) add('scope.kind', `a ${rule.scope.kind} scope applies to conditions evaluated per node (metric, node_silence, stream per node), not ${c.kind}${c.kind === 'stream' ? ' per cluster' : ''}`);
  if (rule.scope.kind === 'node') rule.scope.values.forEach((v, i) => NODE_ID_PATTERN.test(v) || add(`scope.values.${i}`, 'not a node id'));

  if (c.kind === 'metric') {
    const f = findFamily(c.family);
    if (!f) {
      add('condition.family', `unknown family ${JSON.stringify(c.family)}; known: ${FAMILIES.map((x) => x.key).join(', ')}`);
      return issues;
    }
    const col = f.columns.find((x) => x.name === c.column);
    if (!col) {
      add('condition.column', `${f.key} has no value column ${JSON.stringify(c.column)}`);
      return issues;
    }
    const numeric = col.type !== 'text' && col.type !== 'boolean';
    if (c.divideBy !== undefined) {
      const d = f.columns.find((x) => x.name === c.divideBy);
      if (!d) add('condition.divideBy', `${f.key} has no value column ${JSON.stringify(c.divideBy)}`);
      else if (d.type === 'text' || d.type === 'boolean') add('condition.divideBy', `${c.divideBy} is ${d.type}, not a number`);
      if (!numeric) add('condition.column', `${c.column} is ${col.type}; only a numeric column can be divided`);
    }
    if (c.aggregation === 'predict_linear' && c.horizonSeconds === undefined) add('condition.horizonSeconds', 'predict_linear needs a horizon');
    if (c.aggregation !== 'predict_linear' && c.horizonSeconds !== undefined) add('condition.horizonSeconds', 'only predict_linear takes a horizon');
    if (!numeric && c.aggregation !== 'last' && c.aggregation !== 'count') add('condition.aggregation', `${c.column} is ${col.type}: only last or count apply`);
    const textValue = !numeric && c.aggregation === 'last';
    if (textValue) {
      if (NUMERIC_CMP.has(c.comparison)) add('condition.comparison', `${c.column} is ${col.type}: compare it with == or !=, not ${c.comparison}`);
      if (typeof c.threshold !== 'string') add('condition.threshold', `${c.column} is ${col.type}: the threshold must be a string`);
      else if (col.values && !col.values.includes(c.threshold)) add('condition.threshold', `${c.column} takes ${col.values.join(', ')}`);
      if (c.recoveryThreshold !== undefined) add('condition.recoveryThreshold', 'a text comparison has no recovery threshold');
    } else if (typeof c.threshold !== 'number') add('condition.threshold', `the threshold must be a number (${c.column} ${c.aggregation} is numeric)`);
  } else if (c.kind === 'stream') {
    const s = findStream(c.stream);
    if (!s) {
      add('condition.stream', `unknown stream ${JSON.stringify(c.stream)}; known: ${STREAMS.map((x) => x.key).join(', ')}`);
      return issues;
    }
    for (const part of ['match', 'of'] as const) {
      const m = c[part];
      if (!m) continue;
      const col = s.byName.get(m.column);
      if (!col) add(`condition.${part}.column`, `${s.key} has no column ${JSON.stringify(m.column)}`);
      else if (col.type !== 'text' || !col.dimension) add(`condition.${part}.column`, `${m.column} is not a text dimension of ${s.key}`);
      else if (col.values) m.values.forEach((v, i) => col.values!.includes(v) || add(`condition.${part}.values.${i}`, `${m.column} takes ${col.values!.join(', ')}`));
    }
    if (c.measure === 'count' && c.of) add('condition.of', 'a count has no denominator');
    if (c.per === 'node' && !streamNodeColumn(s)) add('condition.per', `${s.key} has no node column`);
    if (c.measure === 'ratio' && (c.threshold < 0 || c.threshold > 100)) add('condition.threshold', 'a ratio is a percentage: 0 … 100');
  } else if (c.kind === 'probe') {
    if (rule.scope.kind !== 'all' && rule.scope.kind !== 'service') add('scope.kind', 'a probe condition takes an all or service scope');
  }
  if ('recoveryThreshold' in c && c.recoveryThreshold !== undefined && typeof c.threshold === 'number') {
    const r = c.recoveryThreshold;
    const t = c.threshold;
    const bad = (c.comparison === '>' || c.comparison === '>=') ? r > t : (c.comparison === '<' || c.comparison === '<=') ? r < t : true;
    if (bad) add('condition.recoveryThreshold', c.comparison === '==' || c.comparison === '!=' ? `no recovery threshold with ${c.comparison}` : `must be on the resolving side of the threshold (${c.comparison === '>' || c.comparison === '>=' ? '≤' : '≥'} ${t})`);
  }
  const seen = new Set<number>();
  rule.escalation.forEach((s, i) => {
    if (seen.has(s.afterMinutes)) add(`escalation.${i}.afterMinutes`, 'two steps with the same delay');
    seen.add(s.afterMinutes);
    if (i > 0 && s.afterMinutes <= rule.escalation[i - 1]!.afterMinutes) add(`escalation.${i}.afterMinutes`, 'steps must be in increasing order');
  });
  return issues;
}

/** value <comparison> threshold */
export function compare(value: number | string, cmp: Comparison, threshold: number | string): boolean {
  switch (cmp) {
    case '>': return value > threshold;
    case '>=': return value >= threshold;
    case '<': return value < threshold;
    case '<=': return value <= threshold;
    case '==': return value === threshold;
    case '!=': return value !== threshold;
  }
}
