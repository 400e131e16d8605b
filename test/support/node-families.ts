/**
 * Two test families (not shipped) for the node choice of a family declaration:
 *   probe_service — no node column (`node: null`): rows keyed by a probed service and its
 *                   address (an IP address, IPv6 included: its own identity pattern);
 *   probe_mailq   — node column `host`, the SECOND identity column, with a role column.
 * Create their tables with familyDDL(f, tier) in a migrated database (see createNodeFamilies).
 */
import type { Database } from '../../src/db/database.ts';
import type { StorageTier } from '../../src/db/tier.ts';
import { familyDDL } from '../../src/timeseries/ddl.ts';
import { defineFamily } from '../../src/timeseries/family.ts';

const storage = {
  sampleInterval: '30 seconds',
  chunkInterval: '1 hour',
  retention: { raw: '90 days', '5m': '90 days', '1h': '365 days', '1d': '730 days' },
  compressAfter: '7 days',
} as const;

export const probeService = defineFamily({
  table: 'metrics_probe_service',
  key: 'probe_service',
  title: 'Service probe (test)',
  description: 'test family without a node column',
  node: null,
  identity: {
    service: { description: 'Probed service name' },
    address: { description: 'Probed IP address (v4 or v6)', pattern: /^[0-9A-Fa-f.:]+$/, maxLength: 45 },
  },
  ...storage,
  rollups: { '5m': 'probe_service_5m', '1h': 'probe_service_1h', '1d': 'probe_service_daily' },
  columns: {
    up: { type: 'integer', unit: 'flag', agg: 'min', min: 0, max: 1, description: '1 when the probe succeeded' },
    latency_ms: { type: 'double', unit: 'milliseconds', agg: 'avg', min: 0, max: 86_400_000, description: 'Probe round trip' },
  },
});

export const probeMailq = defineFamily({
  table: 'metrics_probe_mailq',
  key: 'probe_mailq',
  title: 'Mail queue probe (test)',
  description: 'test family whose node column is its second identity column',
  node: 'host',
  roleColumn: 'host_role',
  identity: {
    queue: { description: 'Queue name' },
    host: { description: 'Node holding the queue (nodes.id)' },
  },
  ...storage,
  rollups: { '5m': 'probe_mailq_5m', '1h': 'probe_mailq_1h', '1d': 'probe_mailq_daily' },
  columns: {
    host_role: { type: 'text', unit: 'label', agg: 'last', description: 'Role of the host' },
    depth: { type: 'integer', unit: 'messages', agg: 'max', min: 0, max: 2_147_483_647, description: 'Messages queued' },
  },
});

export const NODE_TEST_FAMILIES = [probeService, probeMailq] as const;

/** Creates the test families' tables and rollups from their generated DDL. */
export async function createNodeFamilies(db: Database, tier: StorageTier): Promise<void> {
  for (const f of NODE_TEST_FAMILIES) await db.exec(familyDDL(f, tier));
}
