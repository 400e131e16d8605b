/**
 * The database client of the Mission Control database layer, as Opsdeck has it
 * (src/db/database.ts), with that document's own examples against Opsdeck's tables: its
 * `hosts` are Opsdeck's `nodes` (name → id and hostname, type and cluster → labels,
 * addresses → addresses), `tasks` and `task_runs` are the ledger's. docs/database.md shows
 * these; src/db/database-client-example.test.ts runs them on every backend.
 *
 *   DATABASE_URL=postgres://… node --import tsx examples/database-client.ts
 */
import type { Database, PoolStats } from '../src/db/database.ts';

interface Host {
  id: string;
  hostname: string | null;
  status: string;
  labels: Record<string, string>;
  addresses: Record<string, string>;
}

export interface ExampleResult {
  inserted: Host;
  online: Host[];
  one: Host | null;
  healthy: boolean;
  taskId: number;
  runId: number;
  runStatus: string;
  stats: PoolStats;
}

export async function databaseClientExample(db: Database): Promise<ExampleResult> {
  // Insert (a host is a node: the document's name, type, cluster and addresses)
  const result = await db.query<Host>(
    `INSERT INTO nodes (id, hostname, labels, addresses) VALUES ($1, $2, $3::text::jsonb, $4::text::jsonb) RETURNING *`,
    ['pedro', 'pedro', JSON.stringify({ type: 'k8s-node', cluster: 'k8s-prod' }), JSON.stringify({ lan: '192.168.50.20' })],
  );
  const inserted = result.rows[0]!;

  // Query all rows / a single row
  const online = await db.queryMany<Host>('SELECT * FROM nodes WHERE status = $1', ['active']);
  const one = await db.queryOne<Host>('SELECT * FROM nodes WHERE id = $1', ['pedro']);

  // Health check
  const healthy = await db.healthCheck();

  // Transactions: a task and its run commit together, or neither does
  const { task, run } = await db.transaction(async (client) => {
    const task = await client.query<{ id: number }>('INSERT INTO tasks (title, created_by) VALUES ($1, $2) RETURNING *', ['Restart Plex', 'system']);
    const run = await client.query<{ id: number; status: string }>(
      'INSERT INTO task_runs (task_id, user_prompt, status, agent, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *',
      [task.rows[0]!.id, 'Restart Plex and verify health', 'queued', 'example-agent', 'system'],
    );
    return { task: task.rows[0]!, run: run.rows[0]! };
  });

  // Pool statistics
  const stats = db.getPoolStats();
  return { inserted, online, one, healthy, taskId: task.id, runId: run.id, runStatus: run.status, stats };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { connectDatabase } = await import('../src/db/connect.ts');
  const db = await connectDatabase({ databaseUrl: process.env.DATABASE_URL, dataDir: process.env.OPSDECK_DATA_DIR ?? './data' });
  try {
    console.log(await databaseClientExample(db));
  } finally {
    await db.close();
  }
}
