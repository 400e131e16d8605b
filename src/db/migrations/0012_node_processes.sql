-- The processes an agent watches on each node (name, running, pid, CPU, memory):
-- the latest report per node replaces the previous one (the process manager of
-- the mail-cluster requirements, §8.2). Declared in src/modules/nodes/schema.ts.
CREATE TABLE node_processes (
  node_id text NOT NULL REFERENCES nodes (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
  running boolean NOT NULL,
  pid integer CHECK (pid >= 0),
  cpu_percent double precision CHECK (cpu_percent >= 0),
  memory_mb double precision CHECK (memory_mb >= 0),
  reported_at timestamptz NOT NULL,
  PRIMARY KEY (node_id, name)
);
