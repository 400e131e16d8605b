/**
 * Drizzle declaration of agent_counter_totals (migration 0013): the totals the
 * mail-cluster agent last reported per node, metrics type and series (the zone of a
 * ZoneMTA row, '' otherwise). The agent sends counters as totals since the server
 * started; Opsdeck stores their increase per sample (counters.ts).
 */
import { sql } from 'drizzle-orm';
import { check, jsonb, pgTable, primaryKey, text } from 'drizzle-orm/pg-core';
import { sqlList, tstz } from '../../db/drizzle.ts';
import { nodes } from '../nodes/schema.ts';

/** The agent's metrics types whose counters are totals. */
export const COUNTER_AGENT_TYPES = ['mongodb', 'redis', 'zonemta', 'rspamd'] as const;
export type CounterAgentType = (typeof COUNTER_AGENT_TYPES)[number];

export const agentCounterTotals = pgTable(
  'agent_counter_totals',
  {
    node_id: text()
      .notNull()
      .references(() => nodes.id, { onDelete: 'cascade' }),
    agent_type: text({ enum: COUNTER_AGENT_TYPES }).notNull(),
    series: text().notNull().default(''),
    sample_time: tstz().notNull(),
    totals: jsonb().notNull().$type<Record<string, number>>(),
  },
  (t) => [
    primaryKey({ columns: [t.node_id, t.agent_type, t.series] }),
    check('agent_counter_totals_agent_type_check', sql`${t.agent_type} IN (${sqlList(COUNTER_AGENT_TYPES)})`),
    check('agent_counter_totals_series_check', sql`length(${t.series}) <= 128`),
    check('agent_counter_totals_totals_check', sql`jsonb_typeof(${t.totals}) = 'object'`),
  ],
);
