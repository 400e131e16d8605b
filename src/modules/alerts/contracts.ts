/**
 * The seams between the three parts of alerting, so each can be built and
 * tested on its own and wired in src/runtime.ts:
 *
 *   probes (src/modules/probes)  ──ServiceStateChange──▶  alerts (this module)
 *   probes                       ◀──ProbeStateSource───  alerts' rule evaluator
 *   alerts                       ──AlertNotice──▶  notifications (src/modules/notifications)
 *
 * Notifications are an outbox: the alerts module calls `AlertNotifier.enqueue`
 * with the transaction that records the alert transition, so a transition and
 * the deliveries it causes commit together (or neither does); the
 * notifications module's delivery job sends them later, outside any
 * transaction, with retries.
 */
import type { Queryable } from '../../db/database.ts';

export const ALERT_SEVERITIES = ['info', 'warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const SERVICE_STATUSES = ['healthy', 'degraded', 'down'] as const;
export type ServiceStatus = (typeof SERVICE_STATUSES)[number];

/** A monitored service's confirmed state changed (after the probe's failure/success thresholds). */
export interface ServiceStateChange {
  serviceName: string;
  /** null on the first confirmed state of a new service. */
  from: ServiceStatus | null;
  to: ServiceStatus;
  at: Date;
  /** What the deciding check said (error message, status code, latency …). */
  message: string;
  details: Record<string, unknown>;
  /** Labels of the monitored service (for silences, routing). */
  labels: Record<string, string>;
  /** Notification channels the monitored service names for its alerts (besides any configured for every service). */
  channelIds?: readonly number[];
}

/** Receives confirmed service state changes (implemented by the alerts module). */
export interface ServiceAlertSink {
  serviceStateChanged(change: ServiceStateChange): Promise<void>;
}

/** Current confirmed state of every monitored service (implemented by the probes module). */
export interface ProbeStateSource {
  states(): Promise<{ serviceName: string; status: ServiceStatus | 'unknown'; since: Date | null; labels: Record<string, string>; channelIds?: readonly number[] }[]>;
}

/** What a rule's condition says about one series (a node, an IP × zone, a device …) in one evaluation round. */
export interface AlertObservation {
  /** Labels that tell this series apart within its rule (node, zone, service, role …). */
  series: Record<string, string>;
  nodeId: string | null;
  serviceName: string | null;
  /** null: no data in the window. */
  holds: boolean | null;
  /** The value passed the recovery threshold (equal to !holds without one). */
  recovered: boolean;
  value: number | string | null;
  message: string;
  details: Record<string, unknown>;
}

/**
 * Evaluates the condition kinds whose data another module owns (DNSBL listings, warm-up gates,
 * sending-domain DNS state, home-lab collection …). The owning module implements it next to its
 * tables; src/runtime.ts hands it to the alerts module by kind, and the evaluator calls it inside
 * its round's transaction (`db`) for every enabled rule of that kind. The condition was validated
 * by the kind's schema in conditions.ts. Until a kind has an observer, its rules evaluate to
 * "no data yet" (no event, whatever their no-data policy).
 */
export interface ConditionObserver {
  observe(db: Queryable, condition: { kind: string } & Record<string, unknown>, scope: { kind: string; values: readonly string[] }, now: Date): Promise<AlertObservation[]>;
}

/** One thing to tell people about an alert event. */
export interface AlertNotice {
  eventId: number;
  /** Stable identity of the alert (rule + labels); equal for every notice of one alert. */
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** Why this notice exists. `escalation` carries `escalationLevel` (1 = first escalation). */
  reason: 'fired' | 'repeat' | 'resolved' | 'escalation';
  escalationLevel?: number;
  alertName: string;
  severity: AlertSeverity;
  message: string;
  /** Alert labels (alertname, severity, node, service, rule labels …); what grouping and Alertmanager see. */
  labels: Record<string, string>;
  /** Values that fired it, links … (Alertmanager annotations are built from these, as strings). */
  details: Record<string, unknown>;
  startsAt: Date;
  endsAt: Date | null;
  ruleId: number | null;
  nodeId: string | null;
  serviceName: string | null;
}

/** Queues notices for delivery (implemented by the notifications module). */
export interface AlertNotifier {
  /**
   * Records deliveries of `notice` to each channel in `channelIds` inside `tx` (the caller's
   * transaction). Unknown or disabled channels are skipped and said in the result.
   */
  enqueue(tx: Queryable, notice: AlertNotice, channelIds: readonly number[]): Promise<{ queued: number; skipped: number[] }>;
}
