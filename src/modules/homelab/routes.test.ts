/**
 * The home-lab API on every backend, fed through the push path (the same parsers and
 * writes as SSH collection, without a network): registration and its 400s, device list
 * and detail with the last collection, containers and drives (current and history), the
 * collection audit, the collector's performance and analysis, the cache, time ranges.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { enabledBackends } from '../../../test/support/backends.ts';
import { buildTestRuntime, type TestRuntime } from '../../../test/support/app.ts';
import { createApiKey, loginAs } from '../../../test/support/auth.ts';
import { Writable } from 'node:stream';
import ssh2 from 'ssh2';
import { test as topTest } from 'node:test';
import { createLogger } from '../../runtime.ts';
import { ManualClock } from '../../domain/clock.ts';
import { IO_SAMPLE_1, IO_SAMPLE_2, expectedIoRows } from '../../../test/support/homelab-io-samples.ts';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/homelab/${f}`, import.meta.url), 'utf8');

const SYSTEM = {
  stat: 'cpu  100 0 100 700 100 0 0 0 0 0\n',
  meminfo: 'MemTotal:        2000 kB\nMemAvailable:     500 kB\nSwapTotal: 0 kB\nSwapFree: 0 kB\n',
  loadavg: '0.50 1.25 2.00 3/185 6207\n',
  netdev: 'Inter-|\n face |\n  eth0: 123456     100    2    0    0     0          0         0    654321     90    1    0    0     0       0          0\n',
  diskstats: '   8       0 sda 100 0 2000 10 50 0 4000 20 0 30 30 0 0 0 0\n',
  df: 'Filesystem     1-blocks      Used  Available Capacity Mounted on\n/dev/sda1     1000000    250000     750000      25% /\n',
};

topTest('the logger censors a device\'s private key, passphrase and sealed key wherever a log object carries them', () => {
  const lines: string[] = [];
  const logger = createLogger({ logLevel: 'info' }, new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString('utf8')), cb()) }));
  logger.info({ body: { privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----x', passphrase: 'hunter2' }, row: { private_key_sealed: 'v1.abc' } }, 'a careless line');
  const line = JSON.parse(lines.join(''));
  assert.deepEqual([line.body.privateKey, line.body.passphrase, line.row.private_key_sealed], ['[redacted]', '[redacted]', '[redacted]']);
});

for (const kind of enabledBackends()) {
  describe(`home-lab API [${kind}]`, () => {
    let rt: TestRuntime;
    let admin: string;
    let viewer: string;
    let ingest: string;
    let n = 0;
    const req = (method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE', url: string, authorization: string, payload?: unknown) =>
      rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });
    const register = async (extra: Record<string, unknown> = {}) => {
      const id = `dev-${kind}-${++n}`;
      const res = await req('POST', '/api/v1/devices', admin, { id, address: '192.168.1.20', port: 22, username: 'pi', generate: true, deviceType: 'nas', metadata: { rack: 'closet' }, ...extra });
      assert.equal(res.statusCode, 201, res.body);
      return { id, body: res.json() };
    };

    before(async () => {
      rt = await buildTestRuntime(kind);
      admin = await loginAs(rt, 'admin');
      viewer = await loginAs(rt, 'viewer');
      ingest = `Bearer ${await createApiKey(rt, ['ingest'])}`;
    });
    after(async () => {
      await rt?.destroy();
    });

    test('registration: generated key shown (public half only), sealed at rest; bad address, port, key, config path → 400 naming the field', async () => {
      const { id, body } = await register({ configPaths: ['/etc/nginx/nginx.conf'] });
      assert.equal(body.success, true);
      assert.match(body.data.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+ opsdeck@/);
      assert.ok(!JSON.stringify(body).includes('PRIVATE KEY'));
      assert.deepEqual([body.data.deviceType, body.data.metadata, body.data.hostKey.state, body.data.lastCollectionStatus], ['nas', { rack: 'closet' }, 'unpinned', null]);
      const detail = (await req('GET', `/api/v1/devices/${id}`, viewer)).json();
      assert.equal(detail.data.publicKey, body.data.publicKey, 'the public half stays visible');
      const node = await rt.db.queryOne<{ id: string }>('SELECT id FROM nodes WHERE id = $1', [id]);
      assert.equal(node?.id, id, 'a device is a node');
      for (const [payload, field] of [
        [{ address: 'bad host!' }, 'address'],
        [{ port: 0 }, 'port'],
        [{ generate: false, privateKey: 'not a key' }, 'privateKey'],
        [{ configPaths: ['relative/path'] }, 'configPaths.0'],
        [{ configPaths: ['/etc/../shadow'] }, 'configPaths.0'],
      ] as const) {
        const res = await req('POST', '/api/v1/devices', admin, { id: `bad-${kind}-${++n}`, username: 'root', generate: true, address: '10.0.0.5', ...(payload as Record<string, unknown>) });
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.ok(JSON.stringify(res.json().errors ?? []).includes(field), `${field}: ${res.body}`);
      }
      assert.equal((await req('POST', '/api/v1/devices', viewer, { id: 'x', address: '10.0.0.5', username: 'root', generate: true })).statusCode, 403);
      // An uploaded key (and its passphrase) never reach the audit trail of the request.
      const pair = ssh2.utils.generateKeyPairSync('ed25519', { passphrase: 'correct horse', cipher: 'aes256-ctr', rounds: 16 });
      const up = await req('POST', '/api/v1/devices', admin, { id: `up-${kind}-${++n}`, address: 'nas.lan', username: 'root', privateKey: pair.private, passphrase: 'correct horse' });
      assert.equal(up.statusCode, 201, up.body);
      assert.equal(up.json().data.authKind, 'uploaded');
      const entries = await rt.db.queryMany<{ summary: unknown }>(`SELECT summary FROM audit_entries WHERE action LIKE '%devices%' OR target_type LIKE '%device%'`);
      assert.ok(entries.length >= 1);
      const text = JSON.stringify(entries);
      assert.ok(!text.includes('PRIVATE KEY') && !text.includes('correct horse'), text.slice(0, 500));
    });

    test('change a device (address, port, user, a new key, config paths, scheduling off) and remove it: its target, key, schedules and cache go, the node and its data stay', async () => {
      const { id, body } = await register({ configPaths: ['/etc/hosts'] });
      const oldKey = await rt.db.queryOne<{ k: string }>('SELECT private_key_sealed AS k FROM device_ssh_targets WHERE node_id = $1', [id]);
      const patched = await req('PATCH', `/api/v1/devices/${id}`, admin, { address: 'nas2.lan', port: 2222, username: 'backup', generate: true, configPaths: ['/etc/fstab'], enabled: false, deviceType: 'server', hostname: 'nas2' });
      assert.equal(patched.statusCode, 200, patched.body);
      const d = patched.json().data;
      assert.deepEqual([d.address, d.port, d.username, d.configPaths, d.enabled, d.deviceType, d.hostname, d.metadata], ['nas2.lan', 2222, 'backup', ['/etc/fstab'], false, 'server', 'nas2', { rack: 'closet' }]);
      assert.match(d.publicKey, /^ssh-ed25519 /);
      assert.notEqual(d.publicKey, body.data.publicKey, 'a new pair: a new public half to install');
      assert.ok(!JSON.stringify(patched.json()).includes('PRIVATE KEY'));
      const newKey = await rt.db.queryOne<{ k: string }>('SELECT private_key_sealed AS k FROM device_ssh_targets WHERE node_id = $1', [id]);
      assert.notEqual(newKey?.k, oldKey?.k, 'the sealed key was replaced');
      // Bad fields: 400 naming them, nothing changed.
      for (const [payload, field] of [
        [{ address: 'bad host!' }, 'address'],
        [{ port: 70000 }, 'port'],
        [{ privateKey: 'not a key' }, 'privateKey'],
        [{ configPaths: ['/etc/../shadow'] }, 'configPaths.0'],
      ] as const) {
        const res = await req('PATCH', `/api/v1/devices/${id}`, admin, payload);
        assert.equal(res.statusCode, 400, JSON.stringify(payload));
        assert.ok(JSON.stringify(res.json().errors ?? []).includes(field), `${field}: ${res.body}`);
      }
      assert.equal((await req('GET', `/api/v1/devices/${id}`, viewer)).json().data.address, 'nas2.lan', 'refused changes changed nothing');
      assert.equal((await req('PATCH', `/api/v1/devices/${id}`, viewer, { enabled: true })).statusCode, 403);
      assert.equal((await req('PATCH', '/api/v1/devices/no-such-device', admin, { enabled: true })).statusCode, 404);

      await rt.db.query(`INSERT INTO cache_metadata (cache_key, node_id, data_type, created_at, last_accessed, expires_at, ttl_seconds, command_hash) VALUES ($1, $2, 'system', now(), now(), now() + interval '1 minute', 60, 'x')`, [`${id}:system:x`, id]);
      assert.equal((await req('DELETE', `/api/v1/devices/${id}`, viewer)).statusCode, 403);
      assert.equal((await req('DELETE', `/api/v1/devices/${id}`, admin)).statusCode, 204);
      assert.equal((await req('GET', `/api/v1/devices/${id}`, viewer)).statusCode, 404);
      const left = await rt.db.queryOne<{ t: number; s: number; c: number; n: number }>(
        `SELECT (SELECT count(*)::int FROM device_ssh_targets WHERE node_id = $1) AS t, (SELECT count(*)::int FROM device_collection_schedules WHERE node_id = $1) AS s,
                (SELECT count(*)::int FROM cache_metadata WHERE node_id = $1) AS c, (SELECT count(*)::int FROM nodes WHERE id = $1) AS n`,
        [id],
      );
      assert.deepEqual(left, { t: 0, s: 0, c: 0, n: 1 });
      assert.equal((await req('DELETE', `/api/v1/devices/${id}`, admin)).statusCode, 404);
    });

    test('schedules per data type: read, change the interval (due one interval later), disable; out-of-range interval → 400', async () => {
      const { id } = await register();
      const before = (await req('GET', `/api/v1/devices/${id}/schedules`, viewer)).json().data;
      assert.deepEqual(before.map((x: { dataType: string; intervalSeconds: number }) => [x.dataType, x.intervalSeconds]), [['config', 300], ['containers', 120], ['drives', 3600], ['system', 60]]);
      const res = await req('PUT', `/api/v1/devices/${id}/schedules`, admin, { system: { intervalSeconds: 30 }, drives: { enabled: false } });
      assert.equal(res.statusCode, 200, res.body);
      const after = res.json().data as { dataType: string; intervalSeconds: number; enabled: boolean; nextDueAt: string }[];
      assert.deepEqual(after.map((x) => [x.dataType, x.intervalSeconds, x.enabled]), [['config', 300, true], ['containers', 120, true], ['drives', 3600, false], ['system', 30, true]]);
      assert.equal((await req('PUT', `/api/v1/devices/${id}/schedules`, admin, { system: { intervalSeconds: 5 } })).statusCode, 400);
      assert.equal((await req('PUT', `/api/v1/devices/${id}/schedules`, viewer, { system: { intervalSeconds: 60 } })).statusCode, 403);
    });

    test('push: the same parsers and tables; audited as push; list and detail show the last collection', async () => {
      const { id } = await register();
      const res = await req('POST', `/api/v1/devices/${id}/push`, ingest, {
        system: SYSTEM,
        containers: { dockerPs: fixture('docker-ps.jsonl'), dockerStats: fixture('docker-stats.jsonl') },
        drives: [{ name: '/dev/sdb', smartctl: fixture('smartctl-WDC_WD20EFRX-68EUZN0_17.json') }, { name: '/dev/sda;reboot', smartctl: '{}' }],
      });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().data.map((o: { dataType: string; status: string; method: string }) => [o.dataType, o.status, o.method]), [['system', 'success', 'push'], ['containers', 'success', 'push'], ['drives', 'partial', 'push']]);
      const m = await rt.db.queryOne<{ ram_percent: number; disk_percent: number }>('SELECT ram_percent, disk_percent FROM metrics_system WHERE node_id = $1', [id]);
      assert.deepEqual(m, { ram_percent: 75, disk_percent: 25 });
      const containers = (await req('GET', `/api/v1/devices/${id}/containers`, viewer)).json().data;
      assert.deepEqual(containers.map((c: { name: string; state: string }) => [c.name, c.state]), [['boring_keldysh', 'running'], ['cache', 'exited']]);
      const drives = (await req('GET', `/api/v1/devices/${id}/drives`, viewer)).json().data;
      assert.deepEqual(drives.map((d: { driveName: string; temperatureCelsius: number; powerOnHours: number; isHealthy: boolean }) => [d.driveName, d.temperatureCelsius, d.powerOnHours, d.isHealthy]), [['/dev/sdb', 34, 47657, true]]);
      const history = (await req('GET', `/api/v1/devices/${id}/drives/history`, viewer)).json().data;
      assert.equal(history.length, 1);
      const audit = (await req('GET', `/api/v1/collection/audit?device_id=${id}`, viewer)).json();
      assert.equal(audit.total, 3);
      assert.deepEqual(audit.items.map((a: { collectionMethod: string }) => a.collectionMethod), ['push', 'push', 'push']);
      const drivesAudit = audit.items.find((a: { dataType: string }) => a.dataType === 'drives');
      assert.match(drivesAudit.warnings[0], /sda;reboot/);
      const list = (await req('GET', '/api/v1/devices?device_type=nas&pageSize=100', viewer)).json();
      const mine = list.items.find((d: { id: string }) => d.id === id);
      assert.equal(mine.lastCollectionStatus, 'partial');
      assert.ok(mine.lastSuccessfulCollection);
      assert.ok(typeof list.total === 'number' && list.page === 1);
      const perf = (await req('GET', '/api/v1/collection/performance', viewer)).json().data;
      assert.ok(perf.some((p: { serviceName: string; operationsTotal: number }) => p.serviceName === 'homelab-collector' && p.operationsTotal >= 3));
      const analysis = (await req('GET', '/api/v1/collection/analysis/collection-performance', viewer)).json().data;
      assert.deepEqual(
        analysis.filter((a: { deviceId: string }) => a.deviceId === id).map((a: { dataType: string; operations: number; successful: number }) => [a.dataType, a.operations, a.successful]),
        [['containers', 1, 1], ['drives', 1, 1], ['system', 1, 1]],
      );
      assert.equal((await req('GET', '/api/v1/collection/analysis/service-metrics', viewer)).statusCode, 200);
      assert.equal((await req('POST', `/api/v1/devices/${id}/push`, viewer, { system: SYSTEM })).statusCode, 403);
    });

    test('time ranges (the document\'s start_time/end_time as from/to): to must be after from → 400 INVALID_TIME_RANGE', async () => {
      const { id } = await register();
      for (const url of [`/api/v1/devices/${id}/containers/history`, `/api/v1/devices/${id}/drives/history`, '/api/v1/collection/audit', '/api/v1/collection/performance']) {
        const res = await req('GET', `${url}?from=2026-06-02T00:00:00Z&to=2026-06-01T00:00:00Z`, viewer);
        assert.equal(res.statusCode, 400, url);
        assert.equal(res.json().code, 'INVALID_TIME_RANGE');
        assert.equal(res.json().errors[0].path, 'body.to');
      }
    });

    test('GET /api/v1/system/database covers the home-lab tables and devices', async () => {
      const { id } = await register();
      await rt.db.query(`UPDATE device_ssh_targets SET host_key_state = 'mismatch', last_collection_status = 'failed' WHERE node_id = $1`, [id]);
      assert.equal((await req('POST', `/api/v1/devices/${id}/push`, ingest, { system: SYSTEM })).statusCode, 200);
      const rep = (await req('GET', '/api/v1/system/database', viewer)).json();
      assert.deepEqual(rep.collection.tables.map((t: { table: string }) => t.table), ['container_snapshots', 'drive_health', 'data_collection_audit', 'device_io', 'service_performance_metrics', 'cache_metadata', 'device_ssh_targets', 'device_collection_schedules']);
      const audit = rep.collection.tables.find((t: { table: string }) => t.table === 'data_collection_audit');
      assert.equal(audit.kind, kind === 'timescale' ? 'hypertable' : 'partitioned');
      assert.ok(audit.newest);
      assert.ok(rep.collection.devices >= 1);
      assert.ok(rep.collection.hostKeyMismatches >= 1);
    });

    test('cache: entries listed and invalidated by device; an unknown device is 404', async () => {
      const { id } = await register();
      await rt.db.query(
        `INSERT INTO cache_metadata (cache_key, node_id, data_type, created_at, last_accessed, expires_at, ttl_seconds, command_hash) VALUES ($1, $2, 'system', now(), now(), now() + interval '1 hour', 3600, 'abc')`,
        [`${id}:system:abc`, id],
      );
      const list = (await req('GET', `/api/v1/cache?device_id=${id}`, viewer)).json();
      assert.deepEqual(list.items.map((c: { cacheKey: string; fresh: boolean }) => [c.cacheKey, c.fresh]), [[`${id}:system:abc`, true]]);
      const inv = await req('POST', '/api/v1/cache/invalidate', admin, { device_id: id, reason: 'test' });
      assert.equal(inv.statusCode, 200, inv.body);
      assert.deepEqual(inv.json().data, { invalidated: 1 });
      const after = (await req('GET', `/api/v1/cache?device_id=${id}`, viewer)).json();
      assert.deepEqual(after.items.map((c: { invalidated: boolean; fresh: boolean; invalidationReason: string }) => [c.invalidated, c.fresh, c.invalidationReason]), [[true, false, 'test']]);
      assert.equal((await req('GET', '/api/v1/devices/nope', viewer)).statusCode, 404);
      assert.equal((await req('POST', '/api/v1/devices/nope/host-key/accept', admin, {})).statusCode, 404);
    });
  });
}

for (const kind of enabledBackends()) {
  describe(`home-lab per-disk, per-interface and per-filesystem breakdown [${kind}]`, () => {
    let rt: TestRuntime;
    // An hour boundary an hour ago (ingest refuses events older than the retention, by the wall clock).
    const T0 = Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000;
    const iso = (offsetMs: number) => new Date(T0 + offsetMs).toISOString();
    const clock = new ManualClock(T0);
    before(async () => {
      rt = await buildTestRuntime(kind, {}, { clock });
    });
    after(async () => {
      await rt?.destroy();
    });

    test('two pushes 10 s apart write device_io rows (rates from the previous push); GET /api/v1/devices/:id/io reads the latest per name or a series', async () => {
      const admin = await loginAs(rt, 'admin');
      const viewer = await loginAs(rt, 'viewer');
      const ingest = `Bearer ${await createApiKey(rt, ['ingest'])}`;
      const id = `io-${kind}`;
      const req = (method: 'GET' | 'POST', url: string, authorization: string, payload?: unknown) =>
        rt.app.inject({ method, url, headers: { authorization }, ...(payload === undefined ? {} : { payload: payload as object }) });
      assert.equal((await req('POST', '/api/v1/devices', admin, { id, address: '192.168.1.21', port: 22, username: 'pi', generate: true })).statusCode, 201);
      const first = await req('POST', `/api/v1/devices/${id}/push`, ingest, { system: IO_SAMPLE_1 });
      assert.equal(first.statusCode, 200, first.body);
      // 1 metrics_system row + 2 disks + 2 interfaces (lo left out) + 2 filesystems.
      assert.equal(first.json().data[0].recordsCreated, 7);
      clock.advance(10_000);
      assert.equal((await req('POST', `/api/v1/devices/${id}/push`, ingest, { system: IO_SAMPLE_2 })).statusCode, 200);

      const rows = await rt.db.queryMany<Record<string, unknown>>('SELECT * FROM device_io WHERE node_id = $1 ORDER BY time, kind, name', [id]);
      assert.equal(rows.length, 12);
      const at = (t: string) =>
        Object.fromEntries(
          rows
            .filter((r) => (r.time as Date).toISOString() === t)
            .map((r) => [`${String(r.kind)}/${String(r.name)}`, r]),
        );
      const project = (got: Record<string, Record<string, unknown>>, exp: Record<string, Record<string, unknown>>) =>
        Object.fromEntries(Object.entries(exp).map(([k, e]) => [k, got[k] ? Object.fromEntries(Object.keys(e).map((c) => [c, got[k]![c] === null ? null : Number(got[k]![c])])) : undefined]));
      assert.deepEqual(project(at(iso(0)), expectedIoRows(false)), expectedIoRows(false));
      assert.deepEqual(project(at(iso(10_000)), expectedIoRows(true)), expectedIoRows(true));

      // Latest per name (no range): the second push.
      const latest = await req('GET', `/api/v1/devices/${id}/io`, viewer);
      assert.equal(latest.statusCode, 200, latest.body);
      const items = latest.json().data as { time: string; kind: string; name: string; readBytesPerSec: number | null; rxBytesPerSec: number | null; usedPercent: number | null }[];
      assert.deepEqual(items.map((r) => [r.kind, r.name, r.time]), [
        ['disk', 'nvme0n1', iso(10_000)],
        ['disk', 'sda', iso(10_000)],
        ['filesystem', '/', iso(10_000)],
        ['filesystem', '/srv/media', iso(10_000)],
        ['interface', 'eth0', iso(10_000)],
        ['interface', 'wlan0', iso(10_000)],
      ]);
      assert.equal(items.find((r) => r.name === 'sda')!.readBytesPerSec, 51200);
      assert.equal(items.find((r) => r.name === 'eth0')!.rxBytesPerSec, 25000);
      assert.equal(items.find((r) => r.name === '/srv/media')!.usedPercent, 75);
      const disks = (await req('GET', `/api/v1/devices/${id}/io?kind=disk`, viewer)).json().data as { name: string }[];
      assert.deepEqual(disks.map((r) => r.name), ['nvme0n1', 'sda']);
      // A range: the series, oldest first.
      const series = await req('GET', `/api/v1/devices/${id}/io?kind=interface&from=${iso(-3_600_000)}&to=${iso(3_600_000)}`, viewer);
      assert.equal(series.statusCode, 200, series.body);
      assert.deepEqual((series.json().data as { name: string; time: string; txBytesPerSec: number | null }[]).map((r) => [r.time, r.name, r.txBytesPerSec]), [
        [iso(0), 'eth0', null],
        [iso(0), 'wlan0', null],
        [iso(10_000), 'eth0', 3000],
        [iso(10_000), 'wlan0', 0],
      ]);
      assert.equal((await req('GET', `/api/v1/devices/${id}/io?kind=cpu`, viewer)).statusCode, 400);
      const bad = await req('GET', `/api/v1/devices/${id}/io?from=${iso(3_600_000)}&to=${iso(-3_600_000)}`, viewer);
      assert.equal(bad.json().code, 'INVALID_TIME_RANGE');
      assert.equal((await req('GET', '/api/v1/devices/nope/io', viewer)).statusCode, 404);
      // The stream takes no events through the generic ingest route; it is read through the generic events route too.
      assert.equal((await req('POST', '/api/v1/events/device_io', ingest, [{ timestamp: iso(20_000), nodeId: id, kind: 'disk', name: 'sda' }])).statusCode, 404);
      assert.equal((await req('GET', `/api/v1/events/device_io?from=${iso(-3_600_000)}&to=${iso(3_600_000)}`, viewer)).statusCode, 200);
    });
  });
}
