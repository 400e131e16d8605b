/**
 * Every regular (non-time-series) table of Opsdeck with a Drizzle declaration.
 * Adding a table = a migration, its `pgTable` in the module's schema.ts (enum
 * columns take their tuple from the module, shared with the CHECK and the Zod
 * schemas), and a line here: src/modules/tables.test.ts then compares the
 * declaration with the migrated database on every backend. Time-series tables
 * are declared as families instead (src/modules/families.ts); tables named
 * `opsdeck_*` and `schema_migrations` belong to the infrastructure
 * (src/db, src/jobs, src/timeseries) and are not declared here.
 */
import type { PgTable } from 'drizzle-orm/pg-core';
import { apiKeys, dashboardUsers, refreshTokens } from './auth/schema.ts';
import { alertEvents, alertEventTransitions, alertMaintenanceWindows, alertRuleDefaults, alertRules, alertSilences } from './alerts/schema.ts';
import { agentCounterTotals } from './mail-agent/schema.ts';
import { nodeProcesses, nodes } from './nodes/schema.ts';
import { notificationChannels, notificationDeliveries } from './notifications/schema.ts';
import { monitors, serviceHealthChecks, serviceHealthHourly } from './probes/schema.ts';
import { savedViews } from './saved-views/schema.ts';
import { sendingDomainChecks, sendingDomains } from './sending-domains/schema.ts';
import { LEDGER_TABLES } from './ledger/schema.ts';
import { configurationChangeEvents, configurationSnapshots } from './config-tracking/schema.ts';
import { HOMELAB_TABLES } from './homelab/schema.ts';
import { ipPools, sendingIps, warmupPlans } from './sending-ips/schema.ts';
import { dnsblListings, dnsblTiers, dnsblZones } from './dnsbl/schema.ts';

export const TABLES: readonly PgTable[] = [nodes, nodeProcesses, dashboardUsers, apiKeys, refreshTokens, savedViews, agentCounterTotals, alertRules, alertRuleDefaults, alertEvents, alertEventTransitions, alertSilences, alertMaintenanceWindows, notificationChannels, notificationDeliveries, monitors, serviceHealthChecks, serviceHealthHourly, sendingDomains, sendingDomainChecks, ...LEDGER_TABLES, ...HOMELAB_TABLES, warmupPlans, ipPools, sendingIps, dnsblTiers, dnsblZones, dnsblListings, configurationSnapshots, configurationChangeEvents];
