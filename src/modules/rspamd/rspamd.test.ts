import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { IngestValidationError } from '../../timeseries/ingest.ts';
import { FAMILIES } from '../families.ts';
import { checkFamilyLifecycle } from '../mail-cluster/family-test-kit.ts';
import { metricsRspamd } from './family.ts';

forEachBackend('rspamd family', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  test('ingest → raw → 5m/1h/1d rollups → cluster status', async () => {
    await checkFamilyLifecycle(m, metricsRspamd, { nodeIds: ['rs-life-1'], families: FAMILIES });
  });

  test('one field per /stat action; the totals of a day add up', async () => {
    // the §6.1 names `rejected` and `greylist` for two of them, action_* for the rest
    const actions = metricsRspamd.columns.filter((c) => c.source?.startsWith('rspamd /stat: actions[')).map((c) => [c.name, c.source]);
    assert.deepEqual(actions, [
      ['rejected', 'reject'],
      ['action_soft_reject', 'soft reject'],
      ['action_rewrite_subject', 'rewrite subject'],
      ['action_add_header', 'add header'],
      ['greylist', 'greylist'],
      ['action_no_action', 'no action'],
    ].map(([n, a]) => [n, `rspamd /stat: actions["${a}"] (delta)`]));
    const day = Math.floor(Date.now() / 86_400_000) * 86_400_000 - 86_400_000;
    const rows = Array.from({ length: 24 }, (_, i) => ({
      nodeId: 'rs-day',
      timestamp: new Date(day + i * 3_600_000).toISOString(),
      scanned: 100 + i,
      spam: 30,
      ham: 70 + i,
      rejected: 20,
      actionAddHeader: 10,
      actionNoAction: 70 + i,
      scanTimeAvgMs: 100 + i * 10,
      scanTimeMaxMs: 500 + i,
    }));
    await m.store.ingest('rspamd', rows);
    const res = await m.store.query('rspamd', { from: new Date(day), to: new Date(day + 86_400_000), nodeIds: ['rs-day'], resolution: '1d' });
    const p = res.points[0]!;
    assert.equal(p.scanned, 24 * 100 + 276);
    assert.equal(p.spam, 720);
    assert.equal((p.ham as number) + (p.spam as number), p.scanned);
    assert.equal((p.rejected as number) + (p.actionAddHeader as number) + (p.actionNoAction as number), p.scanned);
    assert.equal(p.scanTimeAvgMs, 215);
    assert.equal(p.scanTimeMaxMs, 523);
  });

  test('counters cannot go negative (the agent sends deltas, not raw totals that reset)', async () => {
    await assert.rejects(
      () => m.store.ingest('rspamd', [{ nodeId: 'rs-bad', scanned: -1 }]),
      (e: unknown) => e instanceof IngestValidationError && e.issues[0]?.path[0] === 'scanned',
    );
  });
});
