/** Every time-series family Opsdeck knows. Adding a family = declare it in its module, list it here, generate its migration. */
import { metricsMongodb } from '../modules/mongodb/family.ts';
import { metricsRedis } from '../modules/redis/family.ts';
import { metricsRspamd } from '../modules/rspamd/family.ts';
import { metricsSystem } from '../modules/system-metrics/family.ts';
import { metricsZonemta } from '../modules/zonemta/family.ts';
import type { Family } from './family.ts';

export const FAMILIES: readonly Family[] = [metricsSystem, metricsMongodb, metricsRedis, metricsZonemta, metricsRspamd];

export function findFamily(nameOrKey: string): Family | undefined {
  return FAMILIES.find((f) => f.key === nameOrKey || f.table === nameOrKey);
}
