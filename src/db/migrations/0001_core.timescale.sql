-- timescale tier: the extension that provides hypertables, continuous aggregates and policies.
CREATE EXTENSION IF NOT EXISTS timescaledb;
