/**
 * What every sender needs to say about one group of notices: the notices (as stored in the
 * outbox), the labels they share, their annotations as strings, and the one-line title
 * (`[FIRING:2] HighCpu node=a`, Alertmanager's style). Framework-free and pure.
 */
import type { AlertNotice, AlertSeverity } from '../alerts/contracts.ts';

/** A notice as stored in `notification_deliveries.notice` (dates as ISO text). */
export interface StoredNotice {
  eventId: number;
  fingerprint: string;
  status: 'firing' | 'resolved';
  reason: AlertNotice['reason'];
  escalationLevel?: number | undefined;
  alertName: string;
  severity: AlertSeverity;
  message: string;
  labels: Record<string, string>;
  details: Record<string, unknown>;
  startsAt: string;
  endsAt: string | null;
  ruleId: number | null;
  nodeId: string | null;
  serviceName: string | null;
}

export function storeNotice(n: AlertNotice): StoredNotice {
  return {
    eventId: n.eventId,
    fingerprint: n.fingerprint,
    status: n.status,
    reason: n.reason,
    ...(n.escalationLevel !== undefined ? { escalationLevel: n.escalationLevel } : {}),
    alertName: n.alertName,
    severity: n.severity,
    message: n.message,
    labels: { ...n.labels },
    details: { ...n.details },
    startsAt: n.startsAt.toISOString(),
    endsAt: n.endsAt ? n.endsAt.toISOString() : null,
    ruleId: n.ruleId,
    nodeId: n.nodeId,
    serviceName: n.serviceName,
  };
}

/** The labels of a notice with alertname and severity always present (what grouping and receivers see). */
export function noticeLabels(n: StoredNotice): Record<string, string> {
  // alertname first, the others by name (jsonb does not keep the order they were given in).
  const out: Record<string, string> = { alertname: n.labels.alertname ?? n.alertName };
  const all: Record<string, string> = { ...n.labels, severity: n.labels.severity ?? n.severity };
  for (const k of Object.keys(all).sort()) if (k !== 'alertname') out[k] = all[k]!;
  return out;
}

/** Annotations: the message as `summary`, every detail as a string. */
export function noticeAnnotations(n: StoredNotice): Record<string, string> {
  const out: Record<string, string> = { summary: n.message };
  for (const [k, v] of Object.entries(n.details)) {
    if (v === undefined || v === null) continue;
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  }
  return out;
}

/** The group key of a notice for a channel grouping by `groupBy` label names. */
export function groupKeyOf(n: StoredNotice, groupBy: readonly string[]): string {
  const labels = noticeLabels(n);
  return JSON.stringify(groupBy.map((l) => [l, labels[l] ?? '']));
}

/** Labels whose value is the same in every notice of the group. */
function commonOf(maps: Record<string, string>[]): Record<string, string> {
  if (maps.length === 0) return {};
  const [first, ...rest] = maps;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first!)) if (rest.every((m) => m[k] === v)) out[k] = v;
  return out;
}

export interface NoticeGroup {
  /** Channel name (Alertmanager's `receiver`). */
  receiver: string;
  notices: StoredNotice[];
  /** The channel's group-by labels with this group's values. */
  groupLabels: Record<string, string>;
  groupKey: string;
}

export interface GroupSummary {
  status: 'firing' | 'resolved';
  firing: StoredNotice[];
  resolved: StoredNotice[];
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
  /** Highest severity among the firing notices (or among all when every one is resolved). */
  severity: AlertSeverity;
  /** `[FIRING:2] HighCpu node=a` / `[RESOLVED] HighCpu node=a`. */
  title: string;
}

const SEVERITY_RANK: Record<AlertSeverity, number> = { info: 0, warning: 1, critical: 2 };
export const severityAtLeast = (s: AlertSeverity, min: AlertSeverity): boolean => SEVERITY_RANK[s] >= SEVERITY_RANK[min];

export function summarize(g: NoticeGroup): GroupSummary {
  const firing = g.notices.filter((n) => n.status === 'firing');
  const resolved = g.notices.filter((n) => n.status === 'resolved');
  const status = firing.length > 0 ? 'firing' : 'resolved';
  const commonLabels = commonOf(g.notices.map(noticeLabels));
  const commonAnnotations = commonOf(g.notices.map(noticeAnnotations));
  const pool = firing.length > 0 ? firing : resolved;
  const severity = pool.reduce<AlertSeverity>((m, n) => (SEVERITY_RANK[n.severity] > SEVERITY_RANK[m] ? n.severity : m), 'info');
  const name = commonLabels.alertname ?? [...new Set(g.notices.map((n) => n.alertName))].join(', ');
  const extra = Object.entries(g.groupLabels)
    .filter(([k, v]) => k !== 'alertname' && v !== '')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const head = status === 'firing' ? `[FIRING:${firing.length}]` : '[RESOLVED]';
  return { status, firing, resolved, commonLabels, commonAnnotations, severity, title: [head, name, extra].filter(Boolean).join(' ') };
}

/** One line per notice, for plain-text bodies. */
export function noticeLine(n: StoredNotice): string {
  const labels = Object.entries(noticeLabels(n))
    .filter(([k]) => k !== 'alertname')
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const when = n.status === 'resolved' && n.endsAt ? `resolved ${n.endsAt}` : `since ${n.startsAt}`;
  return `${n.status.toUpperCase()} ${n.alertName} (${labels}) ${when}: ${n.message}`;
}
