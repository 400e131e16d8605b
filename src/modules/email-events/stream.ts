/**
 * email_events: every delivery event of the mail cluster (sent, delivered,
 * bounced, deferred, rejected, received), the main source of mail analytics.
 * Columns as the mail-cluster requirements list them (§6.1 of
 * ../shared/reference/wildduck-dashboard-requirements.md, with the §5.8 event
 * fields it leaves out), an event id as idempotency key, and the three rollups
 * of §6.3 under their names.
 */
import { z } from 'zod';
import { defineStream, type MeasureDecl, type StreamRollupDecl } from '../../timeseries/stream.ts';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../../timeseries/family.ts';

export const EMAIL_EVENT_TYPES = ['sent', 'delivered', 'bounced', 'deferred', 'rejected', 'received', 'complaint'] as const;
export const BOUNCE_TYPES = ['hard', 'soft'] as const;
/**
 * The requirements' categories (user_unknown, mailbox_full, policy, spam, other) and four
 * that ZoneMTA's bounce rules tell apart and reputation work needs kept apart: the sending
 * IP is on a blocklist, the receiver rate-limits, greylists, or the network failed.
 */
export const BOUNCE_CATEGORIES = ['user_unknown', 'mailbox_full', 'policy', 'spam', 'other', 'blacklist', 'rate_limit', 'greylist', 'network'] as const;
/** Authentication-Results values of RFC 8601 for each method. */
export const DKIM_RESULTS = ['pass', 'fail', 'none', 'neutral', 'policy', 'temperror', 'permerror'] as const;
export const SPF_RESULTS = ['pass', 'fail', 'softfail', 'neutral', 'none', 'temperror', 'permerror'] as const;
export const DMARC_RESULTS = ['pass', 'fail', 'none', 'temperror', 'permerror'] as const;
/** Rspamd's actions, spelled with underscores as the requirements do. */
export const SPAM_ACTIONS = ['no_action', 'add_header', 'rewrite_subject', 'greylist', 'soft_reject', 'reject'] as const;

const HOST_RULE = 'a host name: letters, digits, dots, hyphens and underscores';
const HOST = /^[A-Za-z0-9_.-]+$/;

const INT_MAX = 2_147_483_647;

/**
 * The RFC 3463 enhanced status code in an SMTP reply text ("550 5.1.1 User unknown" →
 * 5.1.1): a class 2, 4 or 5, then two numbers of 1–3 digits, standing alone (not part of a
 * version number or an address). The same rule in SQL for the events already stored.
 */
const ENHANCED_STATUS = /(?:^|[^0-9.])([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|$)/;
export const ENHANCED_STATUS_SQL = `substring(coalesce(status_message, bounce_message) from '(?:^|[^0-9.])([245]\\.[0-9]{1,3}\\.[0-9]{1,3})(?:[^0-9.]|$)')`;
export function enhancedStatusOf(event: Readonly<Record<string, unknown>>): string | null {
  const text = (event.statusMessage ?? event.bounceMessage) as string | null | undefined;
  return typeof text === 'string' ? (ENHANCED_STATUS.exec(text)?.[1] ?? null) : null;
}

/** The measures of email_stats_5m (§6.3), kept by the overview rollups too. */
const STATS_5M_MEASURES = {
  event_count: { fn: 'count' },
  avg_delivery_ms: { fn: 'avg', column: 'delivery_time_ms' },
  p95_delivery_ms: { fn: 'quantile', column: 'delivery_time_ms', q: 0.95 },
  avg_message_size: { fn: 'avg', column: 'message_size' },
  dkim_pass: { fn: 'countWhere', column: 'dkim_result', equals: 'pass' },
  spf_pass: { fn: 'countWhere', column: 'spf_result', equals: 'pass' },
  dmarc_pass: { fn: 'countWhere', column: 'dmarc_result', equals: 'pass' },
} as const;

/** What a sending domain's reputation overview reads (sending-domains/reputation.ts). */
const SENDER_HEALTH_MEASURES = {
  event_count: { fn: 'count' },
  avg_delivery_ms: STATS_5M_MEASURES.avg_delivery_ms,
  hard_bounces: { fn: 'countWhere', column: 'bounce_type', equals: 'hard' },
  dkim_results: { fn: 'count', column: 'dkim_result' },
  dkim_pass: STATS_5M_MEASURES.dkim_pass,
  spf_results: { fn: 'count', column: 'spf_result' },
  spf_pass: STATS_5M_MEASURES.spf_pass,
  dmarc_results: { fn: 'count', column: 'dmarc_result' },
  dmarc_pass: STATS_5M_MEASURES.dmarc_pass,
} as const;

export const emailEvents = defineStream({
  table: 'email_events',
  key: 'email',
  title: 'Email delivery events',
  description:
    'One row per mail event of the cluster (ZoneMTA deliveries, bounces and deferrals, WildDuck/Haraka receptions, Rspamd verdicts): the source of delivery analytics, message tracing and reputation.',
  columns: {
    event_id: {
      type: 'uuid',
      dimension: true,
      description: 'Event id (§5.8 `event_id`): the idempotency key with time. When the sender gives none, Opsdeck derives it from the event (the same event sent twice gets the same id).',
      source: 'the sender (ZoneMTA plugin: a UUID per delivery attempt)',
    },
    event_type: {
      type: 'text',
      required: true,
      dimension: true,
      values: EMAIL_EVENT_TYPES,
      description: 'What happened: sent, delivered, bounced, deferred, rejected, received, complaint (a recipient reported the message as spam)',
      source: 'ZoneMTA hooks (queue, delivered, bounced, deferred), WildDuck/Haraka (received), Rspamd (rejected), feedback-loop (ARF) reports (complaint)',
    },
    message_id: { type: 'text', dimension: true, maxLength: 998, description: 'RFC 5322 Message-ID, with angle brackets', source: 'the Message-ID header' },
    queue_id: { type: 'text', dimension: true, maxLength: 128, description: 'The MTA queue id of the message', source: 'ZoneMTA queue id / Haraka transaction id' },
    from_address: { type: 'text', dimension: true, maxLength: 320, description: 'Envelope sender (MAIL FROM)', source: 'SMTP envelope' },
    from_user: { type: 'text', dimension: true, maxLength: 64, description: 'Local part of the sender address (the account)', source: 'SMTP envelope / WildDuck user' },
    from_domain: { type: 'text', dimension: true, maxLength: 253, lowercase: true, pattern: HOST, patternRule: HOST_RULE, description: 'Domain of the sender address (stored lower-case)', source: 'SMTP envelope' },
    to_address: { type: 'text', dimension: true, maxLength: 320, description: 'Envelope recipient (RCPT TO)', source: 'SMTP envelope' },
    to_domain: { type: 'text', dimension: true, maxLength: 253, lowercase: true, pattern: HOST, patternRule: HOST_RULE, description: 'Domain of the recipient address (stored lower-case)', source: 'SMTP envelope' },
    mta_node: { type: 'text', dimension: true, maxLength: NODE_ID_MAX, pattern: NODE_ID_PATTERN, patternRule: NODE_ID_RULE, description: 'Node that handled the event (a node id of the inventory)', source: 'the plugin\'s configured node id' },
    sending_ip: { type: 'inet', dimension: true, description: 'Local IPv4 (or IPv6) address the message left from', source: 'ZoneMTA sending zone / pool address' },
    sending_ip_v6: { type: 'inet', dimension: true, description: 'Local IPv6 address, when the zone sends over IPv6', source: 'ZoneMTA sending zone' },
    mx_host: { type: 'text', dimension: true, maxLength: 253, lowercase: true, pattern: HOST, patternRule: HOST_RULE, description: 'MX host the delivery went to (stored lower-case)', source: 'ZoneMTA delivery info' },
    status_code: { type: 'smallint', dimension: true, min: 100, max: 599, unit: 'SMTP code', description: 'SMTP reply code of the remote server', source: 'the remote server\'s reply' },
    status_message: { type: 'text', maxLength: 2000, description: 'SMTP reply text (enhanced status code and message)', source: 'the remote server\'s reply' },
    delivery_time_ms: {
      type: 'integer',
      min: 0,
      max: INT_MAX,
      unit: 'ms',
      description: 'Delivery time: from the start of the attempt to the remote reply (plugin), or from first to last queue attempt (the agent\'s queue watcher: days for a message deferred for days)',
      source: 'ZoneMTA delivery timer / zone-queue first and last',
    },
    queue_time_ms: { type: 'integer', min: 0, max: INT_MAX, unit: 'ms', description: 'Time the message waited in the queue', source: 'ZoneMTA queue timestamps' },
    total_time_ms: { type: 'integer', min: 0, max: INT_MAX, unit: 'ms', description: 'From acceptance to this event', source: 'ZoneMTA queue timestamps' },
    bounce_type: { type: 'text', dimension: true, values: BOUNCE_TYPES, description: 'hard (permanent, 5xx) or soft (temporary, 4xx)', source: 'derived from the SMTP code by the sender' },
    bounce_category: { type: 'text', dimension: true, values: BOUNCE_CATEGORIES, description: 'Why the message bounced', source: 'the sender\'s classification of the reply' },
    bounce_message: { type: 'text', maxLength: 2000, description: 'Bounce text as received', source: 'the remote server\'s reply / DSN' },
    message_size: { type: 'integer', min: 0, max: INT_MAX, unit: 'bytes', description: 'Message size', source: 'ZoneMTA envelope' },
    has_attachment: { type: 'boolean', description: 'The message has attachments (§5.8)', source: 'the message structure' },
    attachment_count: { type: 'smallint', min: 0, max: 32767, unit: 'count', description: 'Number of attachments (§5.8)', source: 'the message structure' },
    subject_hash: { type: 'text', maxLength: 64, pattern: /^[A-Za-z0-9:+/=_-]+$/, patternRule: 'a hash: letters, digits and : + / = _ -', description: 'Hash of the subject (the subject itself is not stored, for privacy; §5.8)', source: 'the sender' },
    dkim_result: { type: 'text', dimension: true, values: DKIM_RESULTS, description: 'DKIM result (RFC 8601)', source: 'Rspamd / Authentication-Results' },
    spf_result: { type: 'text', dimension: true, values: SPF_RESULTS, description: 'SPF result (RFC 8601)', source: 'Rspamd / Authentication-Results' },
    dmarc_result: { type: 'text', dimension: true, values: DMARC_RESULTS, description: 'DMARC result (RFC 8601)', source: 'Rspamd / Authentication-Results' },
    spam_score: { type: 'double', min: -10_000, max: 10_000, unit: 'score', description: 'Spam score', source: 'Rspamd `score`' },
    spam_action: { type: 'text', dimension: true, values: SPAM_ACTIONS, description: 'Spam filter action', source: 'Rspamd `action`' },
    spam_symbols: {
      type: 'jsonb',
      json: z.array(z.string().min(1).max(128)).max(500),
      maxJsonBytes: 32_768,
      description: 'Spam filter symbols that matched (§5.8), a JSON array of names',
      source: 'Rspamd `symbols`',
    },
    enhanced_status: {
      type: 'text',
      dimension: true,
      maxLength: 9,
      pattern: /^[245]\.[0-9]{1,3}\.[0-9]{1,3}$/,
      patternRule: 'an RFC 3463 enhanced status code: class.subject.detail, e.g. 5.1.1',
      description: 'RFC 3463 enhanced status code of the reply (5.1.1 = bad mailbox), read by Opsdeck from the reply text when the sender gives none',
      source: 'the SMTP reply text (status_message, else bounce_message)',
      derive: { fn: enhancedStatusOf, sql: ENHANCED_STATUS_SQL },
    },
  },
  idempotencyKey: ['event_id'],
  derivedKey: 'event_id',
  indexes: [['from_domain'], ['to_domain'], ['mta_node'], ['sending_ip'], ['from_user', 'from_domain'], ['event_type'], ['message_id']],
  chunkInterval: '1 day',
  retention: '180 days',
  compressAfter: '7 days',
  segmentBy: 'mta_node',
  statsGroupBy: ['event_type'],
  maxListWindow: '31 days',
  rollups: [
    {
      name: 'email_stats_5m',
      level: '5m',
      description: 'Email events per 5 minutes by sender domain, MTA node, sending IP and event type',
      groupBy: ['from_domain', 'mta_node', 'sending_ip', 'event_type'],
      measures: STATS_5M_MEASURES,
      refreshEvery: '5 minutes',
      retention: '90 days',
    },
    {
      name: 'email_stats_1h',
      level: '1h',
      description: 'Email events per hour by sender domain, recipient domain, MTA node and event type',
      groupBy: ['from_domain', 'to_domain', 'mta_node', 'event_type'],
      measures: {
        event_count: { fn: 'count' },
        avg_delivery_ms: { fn: 'avg', column: 'delivery_time_ms' },
        p95_delivery_ms: { fn: 'quantile', column: 'delivery_time_ms', q: 0.95 },
      },
      refreshEvery: '30 minutes',
      retention: '365 days',
    },
    // Opsdeck's own overview rollups: few groups per bucket (node × event type), so the
    // cluster-wide charts (volume, delivery rates, delivery time) over days read thousands
    // of rows, not the millions the requirements' per-domain rollups hold at scale.
    {
      name: 'email_stats_overview_5m',
      level: '5m',
      description: 'Email events per 5 minutes by MTA node and event type (Opsdeck overview rollup)',
      groupBy: ['mta_node', 'event_type'],
      measures: STATS_5M_MEASURES,
      refreshEvery: '1 minute',
      retention: '90 days',
    },
    {
      name: 'email_stats_overview_1h',
      level: '1h',
      description: 'Email events per hour by MTA node and event type (Opsdeck overview rollup)',
      groupBy: ['mta_node', 'event_type'],
      measures: STATS_5M_MEASURES,
      refreshEvery: '5 minutes',
      retention: '730 days',
    },
    {
      name: 'email_stats_daily',
      level: '1d',
      description: 'Email events per day by sender domain and user, recipient domain, MTA node, sending IP and event type',
      groupBy: ['from_domain', 'from_user', 'to_domain', 'mta_node', 'sending_ip', 'event_type'],
      measures: {
        event_count: { fn: 'count' },
        avg_delivery_ms: { fn: 'avg', column: 'delivery_time_ms' },
      },
      refreshEvery: '1 hour',
      retention: '730 days',
    },
    // Opsdeck's per-question rollups: each keeps one dimension (or the failure reasons) by event
    // type, at 1 h and 1 d, so an answer over a week reads a few thousand rows — the stats planner
    // reads the whole days of a window from the daily one and the edges from the hourly one (the
    // requirements' rollups above group by nearly every dimension at once and hold about as many
    // rows as there are events). When two rollups at one level fit a question, the one declared
    // first is read: the overview rollups above stay the answer for cluster-wide series.
    ...perQuestion('ip', ['sending_ip'], 'sending IP', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }),
    ...perQuestion('sender', ['from_domain'], 'sender domain', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }),
    // Counts alone by recipient domain and by MX host, declared before their twins with histograms:
    // a list of every domain or host over a window counts all their rows, and rows without a
    // histogram are a tenth as wide (a day of the week run: 25,000 rows on 11,000 pages read from disk).
    ...perQuestion('destination_count', ['to_domain'], 'recipient domain (counts only)', { event_count: { fn: 'count' } }),
    ...perQuestion('mx_count', ['mx_host'], 'MX host (counts only)', { event_count: { fn: 'count' } }),
    ...perQuestion('destination', ['to_domain'], 'recipient domain', {
      event_count: { fn: 'count' },
      avg_delivery_ms: STATS_5M_MEASURES.avg_delivery_ms,
      p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms,
    }),
    ...perQuestion('mx', ['mx_host'], 'MX host', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }),
    ...perQuestion('failure', ['status_code', 'enhanced_status', 'bounce_category'], 'SMTP reply code, enhanced status code, bounce category', { event_count: { fn: 'count' } }),
    // One recipient domain in detail (its reply codes, MX hosts and sending IPs): read only for
    // queries filtered by recipient domain (readBy), through an index on it, so a page about
    // gmail.com reads gmail.com's rows of the window and not every domain's.
    ...perQuestion('dest_code', ['to_domain', 'status_code'], 'recipient domain and SMTP reply code', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }, 'to_domain'),
    ...perQuestion('dest_mx', ['to_domain', 'mx_host'], 'recipient domain and MX host', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }, 'to_domain'),
    ...perQuestion('dest_ip', ['to_domain', 'sending_ip', 'sending_ip_v6'], 'recipient domain and sending IP (IPv4 or IPv6)', { event_count: { fn: 'count' }, p95_delivery_ms: STATS_5M_MEASURES.p95_delivery_ms }, 'to_domain'),
    // One sending domain's health (its reputation overview): hard bounces and how many events
    // carry each authentication result and pass it, by event type, at 5 minutes (a window's
    // edges), 1 h and 1 d. The last 7 days of a domain that sends a third of the cluster's mail
    // then read a few hundred rows instead of millions of events. Read by sender domain only.
    {
      name: 'email_stats_sender_health_5m',
      level: '5m',
      description: 'Email events per 5 minutes by sender domain and event type, with hard bounces and authentication results (Opsdeck reputation rollup)',
      groupBy: ['from_domain', 'event_type'],
      measures: SENDER_HEALTH_MEASURES,
      refreshEvery: '5 minutes',
      retention: '90 days',
      readBy: 'from_domain',
    },
    ...perQuestion('sender_health', ['from_domain'], 'sender domain, with hard bounces and authentication results', SENDER_HEALTH_MEASURES, 'from_domain'),
  ],
});

/** An hourly (90 days) and a daily (730 days) rollup of email events by `dims` and event type. */
function perQuestion(name: string, dims: readonly string[], what: string, measures: Readonly<Record<string, MeasureDecl>>, readBy?: string): StreamRollupDecl[] {
  // A detail rollup is read by its one value (readBy); the others answer a page of groups too (the
  // p95 of the domains shown): indexed by their dimensions and event type.
  const quantiles = Object.values(measures).some((m) => m.fn === 'quantile');
  const by = readBy ? { readBy } : quantiles ? { groupIndexes: [[...dims, 'event_type']] } : {};
  return [
    { name: `email_stats_${name}_1h`, level: '1h', description: `Email events per hour by ${what} and event type (Opsdeck per-question rollup)`, groupBy: [...dims, 'event_type'], measures, refreshEvery: '5 minutes', retention: '90 days', ...by },
    { name: `email_stats_${name}_1d`, level: '1d', description: `Email events per day by ${what} and event type (Opsdeck per-question rollup)`, groupBy: [...dims, 'event_type'], measures, refreshEvery: '1 hour', retention: '730 days', ...by },
  ];
}
