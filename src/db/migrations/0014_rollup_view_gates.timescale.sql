-- Nothing on the timescale tier: its rollups are continuous aggregates (see 0014_rollup_view_gates.postgres.sql).
SELECT 1;
