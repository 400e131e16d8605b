/**
 * The confirmed state of a monitored service, decided from consecutive probe
 * results (pure; docs/adr/0014-probes-scheduling-and-thresholds.md).
 *
 * A result is `healthy`, `degraded` (the probe succeeded but an expectation
 * that only degrades — latency, certificate days — was missed) or `down`.
 * Like Gatus, a service is confirmed `down` after `failureThreshold`
 * consecutive down results and back up after `successThreshold` consecutive
 * results that are not down. Between the two up states, a switch needs the
 * same streaks of the new result: `failureThreshold` degraded results in a
 * row to go from healthy to degraded, `successThreshold` healthy results in a
 * row to go back. The very first result of a new service confirms its state
 * at once (there is nothing to flap from); the change goes out with
 * `from: null`.
 */
import type { ServiceStatus } from './schema.ts';

export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
}

export interface ProbeState {
  /** Confirmed status; null before the first result. */
  status: ServiceStatus | null;
  since: Date | null;
  /** Consecutive `down` results. */
  consecutiveFailures: number;
  /** Consecutive results that were not `down`. */
  consecutiveSuccesses: number;
  /** The latest result and how many results in a row had it. */
  lastResult: ServiceStatus | null;
  resultStreak: number;
}

export const INITIAL_STATE: ProbeState = { status: null, since: null, consecutiveFailures: 0, consecutiveSuccesses: 0, lastResult: null, resultStreak: 0 };

export interface Transition {
  state: ProbeState;
  /** Set when the confirmed status changed with this result. */
  changed: { from: ServiceStatus | null; to: ServiceStatus } | null;
}

export function nextState(prev: ProbeState, result: ServiceStatus, at: Date, t: Thresholds): Transition {
  const down = result === 'down';
  const consecutiveFailures = down ? prev.consecutiveFailures + 1 : 0;
  const consecutiveSuccesses = down ? 0 : prev.consecutiveSuccesses + 1;
  const resultStreak = prev.lastResult === result ? prev.resultStreak + 1 : 1;
  let to: ServiceStatus | null = prev.status;
  if (prev.status === null) to = result;
  else if (down) {
    if (prev.status !== 'down' && consecutiveFailures >= t.failureThreshold) to = 'down';
  } else if (prev.status === 'down') {
    if (consecutiveSuccesses >= t.successThreshold) to = result;
  } else if (prev.status === 'healthy' && result === 'degraded') {
    if (resultStreak >= t.failureThreshold) to = 'degraded';
  } else if (prev.status === 'degraded' && result === 'healthy') {
    if (resultStreak >= t.successThreshold) to = 'healthy';
  }
  const changed = to !== prev.status && to !== null ? { from: prev.status, to } : null;
  return {
    state: { status: to, since: changed ? at : prev.since, consecutiveFailures, consecutiveSuccesses, lastResult: result, resultStreak },
    changed,
  };
}
