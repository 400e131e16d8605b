/**
 * Every time-series family Opsdeck knows. Adding a family = declare it in its module, list it here, generate its migration.
 * The list lives with the modules because infrastructure (src/timeseries) imports no module: the store is given the families.
 */
import { metricsMongodb } from './mongodb/family.ts';
import { metricsRedis } from './redis/family.ts';
import { metricsRspamd } from './rspamd/family.ts';
import { metricsSystem } from './system-metrics/family.ts';
import { metricsZonemta } from './zonemta/family.ts';
import type { Family } from '../timeseries/family.ts';

export const FAMILIES: readonly Family[] = [metricsSystem, metricsMongodb, metricsRedis, metricsZonemta, metricsRspamd];

export function findFamily(nameOrKey: string): Family | undefined {
  return FAMILIES.find((f) => f.key === nameOrKey || f.table === nameOrKey);
}
