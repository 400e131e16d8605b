/** Every time-series family Opsdeck knows. Adding a family = declare it in its module, list it here, generate its migration. */
import { metricsSystem } from '../modules/system-metrics/family.ts';
import type { Family } from './family.ts';

export const FAMILIES: readonly Family[] = [metricsSystem];

export function findFamily(nameOrKey: string): Family | undefined {
  return FAMILIES.find((f) => f.key === nameOrKey || f.table === nameOrKey);
}
