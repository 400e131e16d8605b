-- Refresh windows of the continuous aggregates follow the retention of their
-- source (timescale tier). Until now the policies covered the last 3 days
-- (5m, 1h) and 6 days (1d): rows stored before the first refresh or arriving
-- later than that window never reached the rollups, although ingest accepts
-- rows up to the raw retention. A policy run recomputes only the invalidated
-- buckets inside its window, so a window as wide as the source's retention
-- costs nothing when nothing old changed; it stops one bucket short of the
-- source's retention because a refresh over chunks that retention dropped
-- would delete or truncate the rollup's buckets there. buckets_per_batch = 0:
-- one refresh per run over the whole window (see
-- docs/adr/0006-rollup-refresh-windows.md).
-- alter_job keeps the job ids and schedules. Generated with
-- refreshPolicyConfigSQL (src/timeseries/ddl.ts); new families get the same
-- settings from their generated DDL.
-- Existing databases: the first run of each policy after this migration
-- materializes the buckets that were never materialized (once).

-- metrics_system
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:55:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'system_stats_5m') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:00:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'system_stats_1h') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '364 days', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'system_stats_daily') s;

-- metrics_mongodb
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:55:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'mongodb_stats_5m') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:00:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'mongodb_stats_1h') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '364 days', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'mongodb_stats_daily') s;

-- metrics_redis
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:55:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'redis_stats_5m') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:00:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'redis_stats_1h') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '364 days', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'redis_stats_daily') s;

-- metrics_zonemta
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:55:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'zonemta_stats_5m') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:00:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'zonemta_stats_1h') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '364 days', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'zonemta_stats_daily') s;

-- metrics_rspamd
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:55:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'rspamd_stats_5m') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '89 days 23:00:00', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'rspamd_stats_1h') s;
SELECT count(*) FROM (SELECT alter_job(job_id, config => config || jsonb_build_object('start_offset', '364 days', 'buckets_per_batch', 0)) FROM timescaledb_information.jobs WHERE proc_name = 'policy_refresh_continuous_aggregate' AND hypertable_schema = 'public' AND hypertable_name = 'rspamd_stats_daily') s;
