/**
 * metrics_zonemta: one row per ZoneMTA instance and sending zone every 15 s.
 *
 * Queue sizes are gauges read from the delivery queue (the zone-queue collection of
 * ZoneMTA's MongoDB, the same counts as the API's /counter/zone/:zone) and roll up with
 * MAX: a backlog peak is what matters. Delivery outcomes are per-interval counts the
 * agent takes from ZoneMTA's delivery log (log:entry events, the source of the
 * zonemta_delivery_status counter, which has no zone label), summed by the rollups.
 *
 * The requirements' §6.1 columns follow under their names: mta_role, queue_size,
 * active_deliveries, the *_total counters (totals since the MTA started, as Prometheus
 * counters are: a bucket keeps the last value), connections_active, throughput_per_sec.
 * Opsdeck's own columns stay beside them: the queue by state and the outcomes per
 * interval per zone, which the totals alone cannot give per bucket. A sender that does not
 * split by zone (the mail-cluster agent) reports under the zone `all`.
 */
import { CEILING, defineFamily, METRICS_15S } from '../../timeseries/family.ts';

const counter = 'A counter: it only grows, restarts at 0 when the MTA restarts, and a bucket keeps its last value (the increase between two buckets is what happened in between).';
const perInterval = 'Per-interval count (the agent counts the events of the zone since its previous sample), so rollups sum it.';

export const metricsZonemta = defineFamily({
  table: 'metrics_zonemta',
  key: 'zonemta',
  title: 'ZoneMTA metrics',
  description: 'Queue size by state and delivery outcomes of every ZoneMTA instance, per sending zone, sampled every 15 s.',
  identity: {
    node_id: { description: 'Node running the ZoneMTA instance (nodes.id)' },
    zone: { description: 'Sending zone (the ZoneMTA "zones" configuration key, e.g. default, bulk)' },
  },
  ...METRICS_15S,
  rollups: { '5m': 'zonemta_stats_5m', '1h': 'zonemta_stats_1h', '1d': 'zonemta_stats_daily' },
  columns: {
    queue_queued: {
      type: 'integer',
      unit: 'deliveries',
      agg: 'max',
      min: 0,
      max: CEILING.int32,
      description: 'Deliveries waiting for their first attempt (or due now); rolls up with MAX',
      source: 'zone-queue collection: sendingZone = zone, no _deferred, locked = false (≈ API /counter/zone/:zone active.rows − queue_sending)',
    },
    queue_deferred: {
      type: 'integer',
      unit: 'deliveries',
      agg: 'max',
      min: 0,
      max: CEILING.int32,
      description: 'Deliveries that failed temporarily and wait for a later retry; rolls up with MAX',
      source: 'zone-queue collection: sendingZone = zone, _deferred set (= API /counter/zone/:zone deferred.rows)',
    },
    queue_sending: {
      type: 'integer',
      unit: 'deliveries',
      agg: 'max',
      min: 0,
      max: CEILING.int32,
      description: 'Deliveries locked by a sender process and being attempted right now; rolls up with MAX',
      source: 'zone-queue collection: sendingZone = zone, locked = true',
    },
    delivered: { type: 'bigint', unit: 'deliveries', agg: 'sum', min: 0, max: CEILING.perInterval, description: `Deliveries accepted by the remote MX (2xx). ${perInterval}`, source: 'ZoneMTA log:entry action DELIVERED (zonemta_delivery_status{result="delivered"}), per zone' },
    bounced: {
      type: 'bigint',
      unit: 'deliveries',
      agg: 'sum',
      min: 0,
      max: CEILING.perInterval,
      description: `Deliveries that failed for good and produced a bounce: a hard rejection or a deferral that ran out of retries. ${perInterval}`,
      source: 'ZoneMTA log:entry action BOUNCED, per zone',
    },
    deferred: {
      type: 'bigint',
      unit: 'deliveries',
      agg: 'sum',
      min: 0,
      max: CEILING.perInterval,
      description: `Delivery attempts that failed temporarily (4xx, connection or DNS error) and were rescheduled. ${perInterval}`,
      source: 'ZoneMTA log:entry action DEFERRED (zonemta_delivery_status{result="deferred"}), per zone',
    },
    rejected: {
      type: 'bigint',
      unit: 'deliveries',
      agg: 'sum',
      min: 0,
      max: CEILING.perInterval,
      description: `Delivery attempts the remote MX refused permanently (5xx); each also counts as bounced. ${perInterval}`,
      source: 'ZoneMTA log:entry action REJECTED (zonemta_delivery_status{result="rejected"}), per zone',
    },
    mta_role: { type: 'text', unit: 'label', agg: 'last', description: 'Role of the MTA instance (local: accepts from the cluster; outbound: delivers to the Internet)', source: 'agent configuration' },
    queue_size: { type: 'integer', unit: 'deliveries', agg: 'max', min: 0, max: CEILING.int32, description: 'Deliveries in the queue, every state; rolls up with MAX', source: 'API /counter/zone/:zone (active + deferred rows)' },
    active_deliveries: { type: 'integer', unit: 'deliveries', agg: 'max', min: 0, max: CEILING.int32, description: 'Deliveries due or being attempted now; rolls up with MAX', source: 'API /counter/zone/:zone active rows' },
    sent_total: { type: 'bigint', unit: 'messages', agg: 'last', min: 0, max: CEILING.counter, description: `Messages pushed to the queue since the MTA started. ${counter}`, source: 'Prometheus zonemta_message_push' },
    delivered_total: { type: 'bigint', unit: 'deliveries', agg: 'last', min: 0, max: CEILING.counter, description: `Deliveries accepted by the remote MX since the MTA started. ${counter}`, source: 'Prometheus zonemta_delivery_status{status="delivered"}' },
    bounced_total: { type: 'bigint', unit: 'deliveries', agg: 'last', min: 0, max: CEILING.counter, description: `Deliveries that bounced since the MTA started. ${counter}`, source: 'Prometheus zonemta_delivery_status{status="bounced"}' },
    deferred_total: {
      type: 'bigint',
      unit: 'deliveries',
      agg: 'last',
      min: 0,
      max: CEILING.counter,
      description: `Delivery attempts deferred since the MTA started. ${counter} (The mail-cluster agent 0.5.4 sends the size of the deferred queue here; see docs/integrations.md.)`,
      source: 'Prometheus zonemta_delivery_status{status="deferred"}',
    },
    rejected_total: { type: 'bigint', unit: 'deliveries', agg: 'last', min: 0, max: CEILING.counter, description: `Deliveries the remote MX refused permanently since the MTA started. ${counter}`, source: 'Prometheus zonemta_delivery_status{status="rejected"}' },
    connections_active: { type: 'integer', unit: 'connections', agg: 'avg', min: 0, max: CEILING.int32, description: 'Outbound SMTP connections open', source: 'Prometheus zonemta_connection_pool_size' },
    throughput_per_sec: { type: 'double', unit: 'messages/s', agg: 'avg', min: 0, max: CEILING.perSecond, description: 'Messages sent per second over the interval', source: 'increase of sent_total / seconds between samples' },
  },
});
