/**
 * Backfilled and late rows reach the 5m / 1h / 1d rollups on every tier, at any
 * age ingest accepts: rows that were stored before the first refresh, and rows
 * that arrive after it into buckets the refresh already passed — older than the
 * last few days included. The rollups are brought up to date the way production
 * does it (Opsdeck's refresh on the postgres tier, TimescaleDB's own refresh
 * policies via CALL run_job on the timescale tier) and compared with values
 * computed by hand from the rows the test wrote.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { forEachBackend, openMigrated, refreshRollups, type MigratedDatabase } from '../../test/support/backends.ts';
import type { Resolution } from './family.ts';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

forEachBackend('rollups receive backfilled and late rows', (kind) => {
  let m: MigratedDatabase;
  before(async () => {
    m = await openMigrated(kind);
  });
  after(async () => {
    await m.close();
  });

  const points = async (nodeId: string, resolution: Resolution, from: number, to: number) =>
    (await m.store.query('system', { from: new Date(from), to: new Date(to), resolution, nodeIds: [nodeId], fields: ['cpuPercent'] })).points.map((p) => ({
      t: p.timestamp,
      samples: p.samples,
      cpu: p.cpuPercent,
    }));
  const iso = (t: number) => new Date(t).toISOString();

  test('rows 5 to 8 days old, stored before the first refresh, are in every rollup after it', async () => {
    const today = Math.floor(Date.now() / DAY) * DAY;
    const first = today - 8 * DAY;
    // Three whole UTC days, one row 30 s into every 5-minute bucket; cpu = 20 × day + hour of day.
    const rows: Record<string, unknown>[] = [];
    for (let d = 0; d < 3; d++) {
      for (let k = 0; k < 288; k++) {
        rows.push({ nodeId: 'backfill-1', timestamp: iso(first + d * DAY + k * 5 * MIN + 30_000), cpuPercent: 20 * d + Math.floor(k / 12) });
      }
    }
    await m.store.ingest('system', rows);
    // A current sample as well, as from a node that keeps reporting: the refresh moves past the old days.
    await m.store.ingest('system', [{ nodeId: 'backfill-1', timestamp: iso(Date.now() - 20 * MIN), cpuPercent: 1 }]);
    await refreshRollups(m, 'system');

    const daily = await points('backfill-1', '1d', first, first + 3 * DAY);
    assert.deepEqual(daily, [
      { t: iso(first), samples: 288, cpu: 11.5 },
      { t: iso(first + DAY), samples: 288, cpu: 31.5 },
      { t: iso(first + 2 * DAY), samples: 288, cpu: 51.5 },
    ]);
    const hourly = await points('backfill-1', '1h', first, first + 3 * DAY);
    const hourlyExpected = [];
    for (let h = 0; h < 72; h++) hourlyExpected.push({ t: iso(first + h * HOUR), samples: 12, cpu: 20 * Math.floor(h / 24) + (h % 24) });
    assert.deepEqual(hourly, hourlyExpected);
    const fiveMin = await points('backfill-1', '5m', first, first + 3 * DAY);
    const fiveMinExpected = [];
    for (let b = 0; b < 864; b++) fiveMinExpected.push({ t: iso(first + b * 5 * MIN), samples: 1, cpu: 20 * Math.floor(b / 288) + Math.floor((b % 288) / 12) });
    assert.deepEqual(fiveMin, fiveMinExpected);
  });

  test('rows five days old that arrive after a refresh are in every rollup after the next one', async () => {
    await m.store.ingest('system', [{ nodeId: 'late-old-1', timestamp: iso(Date.now() - 10 * MIN), cpuPercent: 5 }]);
    await refreshRollups(m, 'system');
    const bucket = Math.floor((Date.now() - 5 * DAY) / (5 * MIN)) * 5 * MIN;
    await m.store.ingest('system', [
      { nodeId: 'late-old-1', timestamp: iso(bucket + 60_000), cpuPercent: 20 },
      { nodeId: 'late-old-1', timestamp: iso(bucket + 120_000), cpuPercent: 40 },
    ]);
    await refreshRollups(m, 'system');

    const hour = Math.floor(bucket / HOUR) * HOUR;
    const day = Math.floor(bucket / DAY) * DAY;
    assert.deepEqual(await points('late-old-1', '5m', hour, hour + HOUR), [{ t: iso(bucket), samples: 2, cpu: 30 }]);
    assert.deepEqual(await points('late-old-1', '1h', day, day + DAY), [{ t: iso(hour), samples: 2, cpu: 30 }]);
    assert.deepEqual(await points('late-old-1', '1d', day, day + DAY), [{ t: iso(day), samples: 2, cpu: 30 }]);
  });

  test('late rows into already-materialized buckets: exact at once on the postgres tier, after the refresh on every tier', async () => {
    const hour = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
    const day = Math.floor(hour / DAY) * DAY;
    // On time: one row per minute with cpu 10; refreshed; then a node catching up adds one row per minute with cpu 40.
    await m.store.ingest('system', Array.from({ length: 60 }, (_, i) => ({ nodeId: 'late-1', timestamp: iso(hour + i * MIN), cpuPercent: 10 })));
    await refreshRollups(m, 'system');
    assert.deepEqual(await points('late-1', '1h', hour, hour + HOUR), [{ t: iso(hour), samples: 60, cpu: 10 }]);
    await m.store.ingest('system', Array.from({ length: 60 }, (_, i) => ({ nodeId: 'late-1', timestamp: iso(hour + i * MIN + 30_000), cpuPercent: 40 })));

    const expectHour = async (stage: string) => {
      assert.deepEqual(await points('late-1', '1h', hour, hour + HOUR), [{ t: iso(hour), samples: 120, cpu: 25 }], `${stage}: 1h`);
      assert.deepEqual(
        await points('late-1', '5m', hour, hour + HOUR),
        Array.from({ length: 12 }, (_, b) => ({ t: iso(hour + b * 5 * MIN), samples: 10, cpu: 25 })),
        `${stage}: 5m`,
      );
      assert.deepEqual(await points('late-1', '1d', day, day + DAY), [{ t: iso(day), samples: 120, cpu: 25 }], `${stage}: 1d`);
    };
    // The postgres tier reads buckets with pending invalidations live from their source.
    if (m.tier === 'postgres') await expectHour('before the refresh');
    await refreshRollups(m, 'system');
    await expectHour('after the refresh');
  });
});
