/**
 * The warm-up plan templates of §19.2 (conservative 90 days, moderate 60,
 * aggressive 30), built from the ramp of §10.3 — day 1 = 50 messages, day 7 =
 * 500, day 30 = 5,000, day 60 = no limit — for the moderate plan and stretched
 * (×1.5) or compressed (×0.5) in time for the other two. Between those points
 * the daily limit grows geometrically (a straight line on a log scale), rounded
 * to tens; the last day allows 50,000, and after it the IP has no warm-up limit.
 * Migration 0022 seeds these exact arrays; they are editable afterwards.
 */
export interface PlanTemplate {
  name: string;
  description: string;
  schedule: number[];
}

function ramp(anchors: readonly (readonly [day: number, limit: number])[]): number[] {
  const days = anchors.at(-1)![0];
  const out: number[] = [];
  for (let d = 1; d <= days; d++) {
    const i = anchors.findIndex(([ad]) => ad >= d);
    const [d1, l1] = anchors[i]!;
    const [d0, l0] = i === 0 ? anchors[0]! : anchors[i - 1]!;
    const v = d1 === d0 ? l1 : Math.exp(Math.log(l0) + ((d - d0) / (d1 - d0)) * (Math.log(l1) - Math.log(l0)));
    out.push(Math.max(50, Math.round(v / 10) * 10));
  }
  return out;
}

export const PLAN_TEMPLATES: readonly PlanTemplate[] = [
  { name: 'conservative', description: '90 days: 50 on day 1, 500 by day 11, 5,000 by day 45, 50,000 on day 90', schedule: ramp([[1, 50], [11, 500], [45, 5000], [90, 50000]]) },
  { name: 'moderate', description: '60 days: 50 on day 1, 500 by day 7, 5,000 by day 30, 50,000 on day 60', schedule: ramp([[1, 50], [7, 500], [30, 5000], [60, 50000]]) },
  { name: 'aggressive', description: '30 days: 50 on day 1, 500 by day 4, 5,000 by day 15, 50,000 on day 30', schedule: ramp([[1, 50], [4, 500], [15, 5000], [30, 50000]]) },
];
