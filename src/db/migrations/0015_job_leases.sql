-- Leases of jobs that must not hold a transaction while they run (probes and
-- notification deliveries wait on the network): one holder per job across every
-- Opsdeck process sharing the database, until `expires_at`; the holder renews it
-- while it runs and gives it back when done. A holder that dies leaves a lease
-- that simply expires. Infrastructure table of src/jobs/runner.ts.
CREATE TABLE opsdeck_job_leases (
  job text PRIMARY KEY,
  holder text NOT NULL,
  acquired_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
