/**
 * mongodb_events: replica-set role transitions (elections, step-downs, members
 * lost and back), as the mail-cluster agent detects them by comparing
 * consecutive replSetGetStatus snapshots. An event stream: irregular,
 * append-only, read back by time window, node and type.
 */
import { z } from 'zod';
import { defineStream } from '../../timeseries/stream.ts';
import { NODE_ID_MAX, NODE_ID_PATTERN, NODE_ID_RULE } from '../../timeseries/family.ts';

export const MONGODB_EVENT_TYPES = ['election', 'step_down', 'step_up', 'member_unreachable', 'member_recovered'] as const;
/** replSetGetStatus `stateStr` values. */
export const MONGODB_MEMBER_STATES = ['STARTUP', 'PRIMARY', 'SECONDARY', 'RECOVERING', 'STARTUP2', 'UNKNOWN', 'ARBITER', 'DOWN', 'ROLLBACK', 'REMOVED'] as const;

export const mongodbEvents = defineStream({
  table: 'mongodb_events',
  key: 'mongodb',
  title: 'MongoDB replication events',
  description: 'Replica-set role transitions of MongoDB members (election, step-down, step-up, member unreachable or recovered), one row per member and transition.',
  columns: {
    event_id: { type: 'uuid', dimension: true, description: 'Event id; derived from the event when the sender gives none (the same event sent twice is stored once)', source: 'Opsdeck' },
    node_id: { type: 'text', required: true, dimension: true, maxLength: NODE_ID_MAX, pattern: NODE_ID_PATTERN, patternRule: NODE_ID_RULE, description: 'The member the transition is about (its node id)', source: 'agent: replSetGetStatus member name' },
    event_type: { type: 'text', required: true, dimension: true, values: MONGODB_EVENT_TYPES, description: 'election (several members became PRIMARY in one cycle), step_down, step_up, member_unreachable, member_recovered', source: 'agent: comparison of consecutive replSetGetStatus snapshots' },
    old_role: { type: 'text', dimension: true, values: MONGODB_MEMBER_STATES, description: 'Member state before the transition', source: 'replSetGetStatus stateStr' },
    new_role: { type: 'text', dimension: true, values: MONGODB_MEMBER_STATES, description: 'Member state after the transition (none when the member disappeared from the status)', source: 'replSetGetStatus stateStr' },
    details: { type: 'jsonb', json: z.record(z.string(), z.unknown()), maxJsonBytes: 8192, description: 'Extra details of the transition as the sender gives them', source: 'agent' },
  },
  idempotencyKey: ['event_id'],
  derivedKey: 'event_id',
  indexes: [['node_id'], ['event_type']],
  chunkInterval: '7 days',
  retention: '365 days',
  compressAfter: '30 days',
  segmentBy: 'node_id',
  statsGroupBy: ['event_type'],
  maxListWindow: '92 days',
  rollups: [
    {
      name: 'mongodb_events_daily',
      level: '1d',
      description: 'Replication events per day by member and type',
      groupBy: ['node_id', 'event_type'],
      measures: { event_count: { fn: 'count' } },
      refreshEvery: '1 hour',
      retention: '730 days',
    },
  ],
});
