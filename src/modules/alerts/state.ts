/**
 * The alert state machine, pure: given the open event of a series (or none),
 * what the evaluator observed and the rule, what happens now.
 *
 *   (none) ──holds──▶ pending ──held for `for`──▶ firing ──ack──▶ acknowledged
 *      │                 │ condition gone              │                │
 *      │                 ▼                             ▼ recovered      ▼ recovered
 *      └─ for = 0 ─▶ firing                        resolved          resolved
 *
 * A pending event whose condition stops holding resolves without a notice (it
 * never fired). A firing or acknowledged event resolves only when the value has
 * passed the recovery threshold (hysteresis). Notices (contracts.ts AlertNotice)
 * are due on firing, on resolving an event people were told about, every
 * repeat interval while firing and unacknowledged, and at each escalation step
 * (minutes after firing without an acknowledgement).
 */
import type { EscalationStep, EventStatus } from './schema.ts';

export interface OpenEvent {
  status: Exclude<EventStatus, 'resolved'>;
  createdAt: Date;
  firedAt: Date | null;
  lastNotifiedAt: Date | null;
  escalationLevel: number;
}

export interface RuleTiming {
  forSeconds: number;
  repeatIntervalSeconds: number;
  escalation: readonly EscalationStep[];
}

/** What the evaluator saw for a series: data (holds/recovered), `keep` (keep the state as it is) or `absent` (the series is gone). */
export type Seen = { holds: boolean; recovered: boolean } | 'keep' | 'absent';

export type Transition =
  | { kind: 'open'; status: 'pending' | 'firing' }
  | { kind: 'fire' }
  | { kind: 'resolve'; reason: string }
  | { kind: 'stay' }
  | { kind: 'none' };

export type DueNotice = { reason: 'fired' } | { reason: 'repeat' } | { reason: 'escalation'; level: number; step: EscalationStep };

export function transition(ev: OpenEvent | null, seen: Seen, rule: RuleTiming, now: Date): Transition {
  if (ev === null) {
    if (typeof seen === 'string' || !seen.holds) return { kind: 'none' };
    return { kind: 'open', status: rule.forSeconds === 0 ? 'firing' : 'pending' };
  }
  if (seen === 'keep') return { kind: 'stay' };
  if (seen === 'absent') return { kind: 'resolve', reason: 'the series is gone' };
  if (ev.status === 'pending') {
    if (!seen.holds) return { kind: 'resolve', reason: 'the condition stopped holding before its for duration' };
    return now.getTime() - ev.createdAt.getTime() >= rule.forSeconds * 1000 ? { kind: 'fire' } : { kind: 'stay' };
  }
  return seen.recovered ? { kind: 'resolve', reason: 'recovered' } : { kind: 'stay' };
}

/** Notices due for an event that is (still, or now) firing or acknowledged. */
export function dueNotices(ev: OpenEvent, rule: RuleTiming, now: Date): DueNotice[] {
  if (ev.status !== 'firing') return [];
  const out: DueNotice[] = [];
  const t = now.getTime();
  if (ev.lastNotifiedAt === null) out.push({ reason: 'fired' });
  else if (t - ev.lastNotifiedAt.getTime() >= rule.repeatIntervalSeconds * 1000) out.push({ reason: 'repeat' });
  const fired = ev.firedAt ?? ev.createdAt;
  // Every step due (a round may have been missed), lowest first.
  for (let i = ev.escalationLevel; i < rule.escalation.length; i++) {
    const step = rule.escalation[i]!;
    if (t - fired.getTime() >= step.afterMinutes * 60_000) out.push({ reason: 'escalation', level: i + 1, step });
    else break;
  }
  return out;
}
