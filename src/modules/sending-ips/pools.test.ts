/**
 * IP pools over HTTP on every backend: creating, renaming and deleting pools, putting IPs
 * in by list and by filter (all or nothing), listing by pool, hand-set shares, and the
 * ZoneMTA `pools` configuration of a node — paused IPs left out, the PTR as EHLO name,
 * a warming IP's share from its warm-up limit and the pool's last 24 h of email_events —
 * as JSON and as TOML. Expected values are written by hand.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { loginAs } from '../../../test/support/auth.ts';
import { ManualClock } from '../../domain/clock.ts';

for (const kind of enabledBackends()) {
  describe(`IP pools [${kind}]`, () => {
    let rt: TestRuntime;
    let op: string;
    let viewer: string;
    const NOW = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const clock = new ManualClock(new Date(NOW).toISOString());
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });

    before(async () => {
      rt = await buildTestRuntime(kind, {}, { clock });
      op = await loginAs(rt, 'operator');
      viewer = await loginAs(rt, 'viewer');
      await rt.db.query(`INSERT INTO nodes (id, role) VALUES ('pool-mta-1', 'zonemta-outbound'), ('pool-mta-2', 'zonemta-outbound') ON CONFLICT DO NOTHING`);
      for (const [ip, node] of [
        ['192.0.2.10', 'pool-mta-1'],
        ['192.0.2.11', 'pool-mta-1'],
        ['192.0.2.12', 'pool-mta-1'],
        ['192.0.2.13', 'pool-mta-1'],
        ['192.0.2.20', 'pool-mta-2'],
        ['2001:db8::5', 'pool-mta-1'],
      ]) assert.equal((await req('POST', '/api/v1/ips', op, { ip, nodeId: node })).statusCode, 201);
    });
    after(async () => {
      await rt?.destroy();
    });

    test('pools: created, a duplicate is 409, a bad or reserved name is 400 naming the field, viewers cannot create', async () => {
      for (const name of ['transactional', 'marketing']) assert.equal((await req('POST', '/api/v1/ip-pools', op, { name, description: `${name} mail` })).statusCode, 201);
      assert.equal((await req('POST', '/api/v1/ip-pools', op, { name: 'marketing' })).json().code, 'POOL_EXISTS');
      const bad = await req('POST', '/api/v1/ip-pools', op, { name: 'Not A Name' });
      assert.deepEqual([bad.statusCode, bad.json().errors.map((e: { path: string }) => e.path)], [400, ['body.name']]);
      const reserved = await req('POST', '/api/v1/ip-pools', op, { name: 'zonemta' });
      assert.deepEqual([reserved.statusCode, reserved.json().code], [400, 'POOL_NAME_RESERVED']);
      assert.equal((await req('POST', '/api/v1/ip-pools', viewer, { name: 'viewers' })).statusCode, 403);
      const list = (await req('GET', '/api/v1/ip-pools', viewer)).json().items;
      assert.deepEqual(list.map((p: { name: string; description: string; ips: { total: number } }) => [p.name, p.description, p.ips.total]), [
        ['marketing', 'marketing mail', 0],
        ['transactional', 'transactional mail', 0],
      ]);
    });

    test('assigning by list and by filter; an unknown address changes nothing; listing by pool', async () => {
      const none = await req('POST', '/api/v1/ip-pools/assign', op, { pool: 'transactional', ips: ['192.0.2.10', '198.51.100.99'] });
      assert.equal(none.statusCode, 400, none.body);
      assert.deepEqual(none.json().errors.map((e: { path: string }) => e.path), ['body.ips.1']);
      assert.equal((await req('GET', '/api/v1/ips/192.0.2.10', viewer)).json().pool, null, 'all or nothing');

      const byList = await req('POST', '/api/v1/ip-pools/assign', op, { pool: 'transactional', ips: ['192.0.2.11', '192.0.2.10', '2001:db8::5'] });
      assert.deepEqual(byList.json(), { pool: 'transactional', changed: ['192.0.2.10', '192.0.2.11', '2001:db8::5'], unchanged: 0 });
      const byFilter = await req('POST', '/api/v1/ip-pools/assign', op, { pool: 'marketing', filter: { subnet: '192.0.2.12/31' } });
      assert.deepEqual(byFilter.json(), { pool: 'marketing', changed: ['192.0.2.12', '192.0.2.13'], unchanged: 0 });
      const again = await req('POST', '/api/v1/ip-pools/assign', op, { pool: 'marketing', filter: { subnet: '192.0.2.12/31' } });
      assert.deepEqual(again.json(), { pool: 'marketing', changed: [], unchanged: 2 });
      assert.equal((await req('POST', '/api/v1/ip-pools/assign', op, { pool: 'nope', ips: ['192.0.2.20'] })).json().code, 'UNKNOWN_POOL');

      assert.deepEqual((await req('GET', '/api/v1/ips?pool=marketing', viewer)).json().items.map((i: { ip: string }) => i.ip), ['192.0.2.12', '192.0.2.13']);
      assert.deepEqual((await req('GET', '/api/v1/ips?pool=-&search=192.0.2.', viewer)).json().items.map((i: { ip: string }) => i.ip), ['192.0.2.20']);
      const t = (await req('GET', '/api/v1/ip-pools/transactional', viewer)).json();
      assert.deepEqual([t.ips.total, t.ips.active], [3, 3]);
    });

    test('a hand-set share needs a pool and is dropped when the IP moves; a pool with IPs cannot be deleted; a rename carries its IPs', async () => {
      const set = await req('PATCH', '/api/v1/ips/192.0.2.11', op, { poolRatio: 0.25 });
      assert.deepEqual([set.statusCode, set.json().poolRatio], [200, 0.25]);
      const lone = await req('PATCH', '/api/v1/ips/192.0.2.20', op, { poolRatio: 0.5 });
      assert.deepEqual([lone.statusCode, lone.json().code, lone.json().errors.map((e: { path: string }) => e.path)], [400, 'NOT_IN_POOL', ['body.poolRatio']]);
      assert.equal((await req('PATCH', '/api/v1/ips/192.0.2.11', op, { poolRatio: 1.5 })).statusCode, 400);

      assert.equal((await req('POST', '/api/v1/ip-pools', op, { name: 'spare' })).statusCode, 201);
      const moved = await req('PATCH', '/api/v1/ips/192.0.2.11', op, { pool: 'spare' });
      assert.deepEqual([moved.json().pool, moved.json().poolRatio], ['spare', null]);
      const busy = await req('DELETE', '/api/v1/ip-pools/spare', op);
      assert.deepEqual([busy.statusCode, busy.json().code], [409, 'POOL_NOT_EMPTY']);
      const renamed = await req('PUT', '/api/v1/ip-pools/spare', op, { name: 'reserve' });
      assert.deepEqual([renamed.json().name, renamed.json().ips.total], ['reserve', 1]);
      assert.equal((await req('GET', '/api/v1/ips/192.0.2.11', viewer)).json().pool, 'reserve');
      // Back where it was, with its share.
      assert.equal((await req('PATCH', '/api/v1/ips/192.0.2.11', op, { pool: 'transactional', poolRatio: 0.25 })).json().poolRatio, 0.25);
      assert.equal((await req('DELETE', '/api/v1/ip-pools/reserve', op)).statusCode, 204);
      assert.equal((await req('GET', '/api/v1/ip-pools/reserve', viewer)).statusCode, 404);
    });

    test('ZoneMTA pools of a node: paused IPs left out, PTR names, a warming IP\'s share from its limit and the pool\'s 24 h; TOML', async () => {
      // 192.0.2.10: PTR confirmed; 192.0.2.13 warming on the moderate plan (day 1: 50); 192.0.2.12 sent 1,000 in the last 24 h.
      await rt.db.query(`UPDATE sending_ips SET ptr_record = 'tx1.mail.example', ptr_confirmed = true, ptr_checked_at = now() WHERE ip = '192.0.2.10'`);
      await rt.db.query(`UPDATE sending_ips SET ptr_record = 'wrong.example', ptr_confirmed = false, ptr_checked_at = now() WHERE ip = '2001:db8::5'`);
      const moderate = (await req('GET', '/api/v1/warmup-plans', viewer)).json().items.find((p: { name: string }) => p.name === 'moderate');
      const warm = await req('PUT', '/api/v1/ips/192.0.2.13/warmup', op, { planId: moderate.id });
      assert.deepEqual([warm.json().status, warm.json().dailyLimit], ['warming', 50]);
      await rt.streams.ingest(
        'email',
        Array.from({ length: 1000 }, (_, i) => ({ timestamp: new Date(NOW - 3_600_000 + i * 1000).toISOString(), eventType: 'delivered', sendingIp: '192.0.2.12', toDomain: 'example.org' })),
      );
      // Emergency stop of one IP.
      assert.equal((await req('POST', '/api/v1/ips/bulk-action', op, { action: 'pause', ips: ['192.0.2.11'], reason: 'abuse report' })).statusCode, 200);

      const c = (await req('GET', '/api/v1/ip-pools/zonemta?nodeId=pool-mta-1', viewer)).json();
      assert.deepEqual(c.pools, {
        marketing: [{ address: '192.0.2.12' }, { address: '192.0.2.13', ratio: 0.05 }],
        transactional: [{ address: '192.0.2.10', name: 'tx1.mail.example' }, { address: '2001:db8::5' }],
      });
      assert.deepEqual(c.excluded, [{ ip: '192.0.2.11', pool: 'transactional', status: 'paused', reason: 'abuse report' }]);
      assert.deepEqual(
        c.ratios.map((r: { ip: string; ratio: number | null; basis: string }) => [r.ip, r.ratio, r.basis]),
        [
          ['192.0.2.12', null, 'equal'],
          ['192.0.2.13', 0.05, 'warmup'],
          ['192.0.2.10', null, 'equal'],
          ['2001:db8::5', null, 'equal'],
        ],
        '50 of the pool\'s 1,000 attempts in 24 h = 0.05 (under an equal share, 1/2)',
      );
      assert.deepEqual(c.warnings, []);
      // Node 2 has no IP in a pool: nothing to configure, nothing to warn about.
      assert.deepEqual((await req('GET', '/api/v1/ip-pools/zonemta?nodeId=pool-mta-2', viewer)).json().pools, {});

      const toml = await req('GET', '/api/v1/ip-pools/zonemta?nodeId=pool-mta-1&format=toml', viewer);
      assert.equal(toml.statusCode, 200);
      assert.match(toml.headers['content-type'] as string, /^application\/toml/);
      const body = toml.body.split('\n').filter((l) => l !== '' && !l.startsWith('# ZoneMTA IP pools, written') && !l.startsWith('# Paste'));
      assert.deepEqual(body, [
        '# left out: 192.0.2.11 (pool transactional) is paused: abuse report',
        '[[pools.marketing]]',
        'address = "192.0.2.12"',
        '[[pools.marketing]]',
        'address = "192.0.2.13"',
        'ratio = 0.05',
        '[[pools.transactional]]',
        'address = "192.0.2.10"',
        'name = "tx1.mail.example"',
        '[[pools.transactional]]',
        'address = "2001:db8::5"',
      ]);

      // Every IP of transactional paused: the pool is left out with a warning.
      await req('POST', '/api/v1/ips/bulk-action', op, { action: 'pause', filter: { pool: 'transactional' } });
      const stopped = (await req('GET', '/api/v1/ip-pools/zonemta?nodeId=pool-mta-1', viewer)).json();
      assert.deepEqual(Object.keys(stopped.pools), ['marketing']);
      assert.deepEqual(stopped.warnings, ['pool transactional has no IP that may send on pool-mta-1: ZoneMTA would send its zones from the default interface']);
    });
  });
}
