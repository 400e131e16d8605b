/**
 * The Mission Control database layer's client contract, through its own examples
 * (examples/database-client.ts, shown in docs/database.md) on every backend: query,
 * queryOne, queryMany, transaction (all or nothing), healthCheck, getPoolStats.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../test/support/backends.ts';
import { databaseClientExample } from '../../examples/database-client.ts';

forEachBackend('the documented database client examples', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('run against the migrated tables and give what the document says', async () => {
    const r = await databaseClientExample(m.db);
    assert.equal(r.inserted.id, 'pedro');
    assert.deepEqual(r.inserted.labels, { type: 'k8s-node', cluster: 'k8s-prod' });
    assert.deepEqual(r.inserted.addresses, { lan: '192.168.50.20' });
    assert.ok(r.online.some((h) => h.id === 'pedro'));
    assert.equal(r.one?.hostname, 'pedro');
    assert.equal(r.healthy, true);
    assert.equal(r.runStatus, 'queued');
    const run = await m.db.queryOne<{ task_id: number; user_prompt: string }>('SELECT task_id, user_prompt FROM task_runs WHERE id = $1', [r.runId]);
    assert.deepEqual(run, { task_id: r.taskId, user_prompt: 'Restart Plex and verify health' });
    assert.deepEqual(Object.keys(r.stats).sort(), ['idle', 'total', 'waiting']);
    assert.deepEqual(m.db.getPoolStats(), m.db.poolStats());
  });

  test('a transaction that fails half-way leaves nothing', async () => {
    const before = await m.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM tasks');
    await assert.rejects(
      m.db.transaction(async (client) => {
        await client.query('INSERT INTO tasks (title, created_by) VALUES ($1, $2)', ['Half', 'system']);
        // task_runs needs an existing task: this fails, and the task above goes with it.
        await client.query('INSERT INTO task_runs (task_id, user_prompt, agent, created_by) VALUES ($1, $2, $3, $4)', [-1, 'x', 'a', 'system']);
      }),
    );
    assert.deepEqual(await m.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM tasks'), before);
  });
});
