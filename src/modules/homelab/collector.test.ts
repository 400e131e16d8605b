/**
 * The collector against a real OpenSSH server on loopback (test/support/ssh-server.ts):
 * stand-in docker/podman/smartctl print the recordings of test/fixtures/homelab, /proc is
 * this machine's. The SSH behaviour is the same on every backend, so this file runs on one
 * (the first enabled); storage on all three is covered by routes.test.ts.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, rmSync } from 'node:fs';
import ssh2 from 'ssh2';
import { ManualClock } from '../../domain/clock.ts';
import { SecretBox } from '../../crypto/secrets.ts';
import type { Queryable } from '../../db/database.ts';
import { enabledBackends, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { startSshServer, type SshServer } from '../../../test/support/ssh-server.ts';
import type { CollectedConfigFile, ConfigFileSink, ConfigRecordResult } from '../config-tracking/contracts.ts';
import { Collector } from './collector.ts';
import { DeviceRegistry } from './devices.ts';
import { SshPool, type ExecResult, type SshTarget } from './ssh.ts';
import { SYSTEM_COMMANDS } from './commands.ts';
import { deviceIoRows, parseSystem, type SystemOutputs } from './parsers.ts';
import { CollectionScheduler } from './scheduler.ts';
import { createConfigTrackingModule } from '../config-tracking/index.ts';

const kind = enabledBackends()[0] ?? 'pglite';

class RecordingSink implements ConfigFileSink {
  readonly calls: CollectedConfigFile[] = [];
  async record(_tx: Queryable, file: CollectedConfigFile): Promise<ConfigRecordResult> {
    this.calls.push(file);
    return { changeType: 'created', snapshotId: null, changeEventId: null };
  }
}

describe(`home-lab collection over SSH [${kind}]`, { timeout: 300_000 }, () => {
  let m: MigratedDatabase;
  let sshd: SshServer;
  let registry: DeviceRegistry;
  let pool: SshPool;
  let collector: Collector;
  const clock = new ManualClock(Date.now());
  const sink = new RecordingSink();
  const secrets = new SecretBox(Buffer.alloc(32, 7));
  let n = 0;

  const addDevice = async (configPaths: string[] = []) => {
    const id = `lab-${++n}`;
    const d = await registry.register({ id, address: sshd.host, port: sshd.port, username: 'root', generate: true, configPaths, deviceType: 'server' });
    sshd.authorize(d.publicKey);
    return id;
  };
  const audit = (id: string) =>
    m.db.queryMany<{ data_type: string; status: string; cache_hit: boolean; error_message: string | null; ssh_command_count: number; collection_method: string }>(
      'SELECT data_type, status, cache_hit, error_message, ssh_command_count, collection_method FROM data_collection_audit WHERE node_id = $1 ORDER BY time, data_type',
      [id],
    );

  before(async () => {
    m = await openMigrated(kind);
    sshd = await startSshServer();
    registry = new DeviceRegistry({ db: m.db, secrets, clock });
    pool = new SshPool({ commandTimeoutMs: 3_000 });
    collector = new Collector({ db: m.db, store: m.store, streams: m.streams, registry, pool, clock, sink });
  });
  after(async () => {
    pool.closeAll();
    await sshd?.close();
    await m?.close();
  });

  test('first contact pins the host key; system metrics reach metrics_system; the key is stored sealed', async () => {
    const id = await addDevice();
    assert.equal((await registry.get(id))!.hostKey.state, 'unpinned');
    const [r] = await collector.collect(id, { dataTypes: ['system'] });
    assert.equal(r!.status, 'success', r!.error ?? '');
    assert.equal(r!.commands, 6);
    const d = (await registry.get(id))!;
    assert.equal(d.hostKey.state, 'pinned');
    assert.equal(d.hostKey.sha256, sshd.hostKeySha256);
    assert.equal(d.lastCollectionStatus, 'success');
    assert.ok(d.lastSuccessfulCollection);
    const rows = await m.db.queryMany<{ ram_total_bytes: number; load_1m: number; node_role: string }>('SELECT ram_total_bytes, load_1m, node_role FROM metrics_system WHERE node_id = $1', [id]);
    assert.equal(rows.length, 1);
    assert.ok(rows[0]!.ram_total_bytes > 0);
    assert.equal(rows[0]!.node_role, 'homelab');
    const sealed = await m.db.queryOne<{ private_key_sealed: string }>('SELECT private_key_sealed FROM device_ssh_targets WHERE node_id = $1', [id]);
    assert.ok(sealed!.private_key_sealed.startsWith('v1.'));
    assert.ok(!sealed!.private_key_sealed.includes('PRIVATE KEY'));
    assert.deepEqual((await audit(id)).map((a) => [a.data_type, a.status, a.collection_method]), [['system', 'success', 'ssh']]);
  });

  test('connections are reused across commands and collections (created 1, reused ≥ 1); a second collection has CPU from the delta', async () => {
    const id = await addDevice();
    const before = { ...pool.counters };
    await collector.collect(id, { dataTypes: ['system'] });
    clock.advance(61_000);
    const [r] = await collector.collect(id, { dataTypes: ['system'] });
    assert.equal(r!.status, 'success', r!.error ?? '');
    assert.equal(pool.counters.created - before.created, 1);
    assert.ok(pool.counters.reused - before.reused >= 1);
    const perf = await m.db.queryOne<{ c: number; r: number }>('SELECT sum(ssh_connections_created)::int AS c, sum(ssh_connections_reused)::int AS r FROM service_performance_metrics');
    assert.ok(perf!.c >= 1 && perf!.r >= 1);
    const cpu = await m.db.queryMany<{ cpu_percent: number | null }>('SELECT cpu_percent FROM metrics_system WHERE node_id = $1 ORDER BY time', [id]);
    assert.equal(cpu.length, 2);
    assert.equal(cpu[0]!.cpu_percent, null);
    assert.equal(typeof cpu[1]!.cpu_percent, 'number');
  });

  test('a system collection writes the per-disk, per-interface and per-filesystem rows the parsers compute from the same command outputs (device_io)', async () => {
    // A pool that keeps what each system command printed, so the expected rows come from the very outputs the collector read.
    class RecordingPool extends SshPool {
      readonly printed = new Map<string, string>();
      override async exec(t: SshTarget, command: string, timeoutMs?: number, maxBytes?: number): Promise<ExecResult> {
        const r = await super.exec(t, command, timeoutMs, maxBytes);
        this.printed.set(command, r.stdout);
        return r;
      }
    }
    const rec = new RecordingPool({ commandTimeoutMs: 3_000 });
    const c = new Collector({ db: m.db, store: m.store, streams: m.streams, registry, pool: rec, clock, sink });
    const outputs = (): SystemOutputs => Object.fromEntries(Object.entries(SYSTEM_COMMANDS).map(([k, cmd]) => [k, rec.printed.get(cmd) ?? ''])) as unknown as SystemOutputs;
    try {
      const id = await addDevice();
      const at1 = clock.now().getTime();
      const [r1] = await c.collect(id, { dataTypes: ['system'] });
      assert.equal(r1!.status, 'success', r1!.error ?? '');
      const s1 = parseSystem(outputs(), at1);
      clock.advance(61_000);
      const at2 = clock.now().getTime();
      const [r2] = await c.collect(id, { dataTypes: ['system'], forceRefresh: true });
      assert.equal(r2!.status, 'success', r2!.error ?? '');
      const s2 = parseSystem(outputs(), at2);
      const expected = [...deviceIoRows(id, s1, null), ...deviceIoRows(id, s2, s1)];
      // This machine has at least one non-loopback interface, one whole disk and one real filesystem.
      assert.ok(['disk', 'interface', 'filesystem'].every((k) => expected.some((e) => e.kind === k)), JSON.stringify(expected.map((e) => [e.kind, e.name])));
      // Every row of both collections counts in the operation's records (plus the metrics_system row).
      assert.equal(r1!.recordsCreated, 1 + deviceIoRows(id, s1, null).length);
      assert.equal(r2!.recordsCreated, 1 + deviceIoRows(id, s2, s1).length);
      const rows = await m.db.queryMany<Record<string, unknown>>('SELECT * FROM device_io WHERE node_id = $1', [id]);
      const cols = ['read_bytes_per_sec', 'write_bytes_per_sec', 'rx_bytes_per_sec', 'tx_bytes_per_sec', 'rx_errors', 'tx_errors', 'size_bytes', 'used_bytes', 'used_percent'];
      const camel = (c: string) => c.replace(/_([a-z])/g, (_, x: string) => x.toUpperCase());
      const key = (time: string, kind: unknown, name: unknown) => `${time} ${String(kind)} ${String(name)}`;
      const got = Object.fromEntries(rows.map((r) => [key((r.time as Date).toISOString(), r.kind, r.name), cols.map((k) => (r[k] === null ? null : Number(r[k])))]));
      const want = Object.fromEntries(expected.map((e) => [key(String(e.timestamp), e.kind, e.name), cols.map((k) => (e[camel(k)] === undefined || e[camel(k)] === null ? null : Number(e[camel(k)])))]));
      assert.deepEqual(got, want);
      // The second collection has rates; the first has none.
      const second = rows.filter((r) => (r.time as Date).getTime() === at2 && r.kind === 'interface');
      assert.ok(second.length > 0 && second.every((r) => typeof r.rx_bytes_per_sec === 'number'));
      assert.ok(rows.filter((r) => (r.time as Date).getTime() === at1 && r.kind !== 'filesystem').every((r) => r.rx_bytes_per_sec === null && r.read_bytes_per_sec === null));
      assert.ok(!rows.some((r) => r.name === 'lo'));
    } finally {
      rec.closeAll();
    }
  });

  test('a second collection within the TTL is a cache hit (nothing runs); force_refresh bypasses it', async () => {
    const id = await addDevice();
    const [miss] = await collector.collect(id, { dataTypes: ['containers'] });
    assert.equal(miss!.status, 'success', miss!.error ?? '');
    clock.advance(5_000);
    const [hit] = await collector.collect(id, { dataTypes: ['containers'] });
    assert.equal(hit!.status, 'cached');
    assert.equal(hit!.commands, 0);
    const [forced] = await collector.collect(id, { dataTypes: ['containers'], forceRefresh: true });
    assert.equal(forced!.status, 'success');
    assert.ok(forced!.commands > 0);
    assert.deepEqual((await audit(id)).map((a) => [a.status, a.cache_hit]), [['success', false], ['cached', true], ['success', false]]);
    const c = await m.db.queryOne<{ access_count: number }>('SELECT access_count FROM cache_metadata WHERE node_id = $1', [id]);
    assert.equal(c!.access_count, 0, 'the forced refresh renewed the entry');
    const evictions = async () => (await m.db.queryOne<{ n: number }>('SELECT coalesce(sum(cache_evictions), 0)::int AS n FROM service_performance_metrics'))!.n;
    const before = await evictions();
    clock.advance(121_000); // past the containers TTL (120 s)
    const [expired] = await collector.collect(id, { dataTypes: ['containers'] });
    assert.equal(expired!.status, 'success');
    assert.equal(await evictions(), before + 1, 'the expired entry was replaced: one eviction');
  });

  test('containers and drives from the recordings', async () => {
    const id = await addDevice();
    const res = await collector.collect(id, { dataTypes: ['containers', 'drives'] });
    assert.deepEqual(res.map((r) => [r.dataType, r.status, r.error]), [['containers', 'success', null], ['drives', 'success', null]]);
    const cs = await m.db.queryMany<{ container_id: string; name: string; runtime: string; state: string }>('SELECT container_id, name, runtime, state FROM container_snapshots WHERE node_id = $1 ORDER BY name', [id]);
    assert.deepEqual(cs.map((c) => [c.name, c.runtime, c.state]), [['boring_keldysh', 'docker', 'running'], ['cache', 'docker', 'exited'], ['web', 'podman', 'running']]);
    const ds = await m.db.queryMany<{ drive_name: string; model: string; temperature_celsius: number; is_healthy: boolean }>('SELECT drive_name, model, temperature_celsius, is_healthy FROM drive_health WHERE node_id = $1 ORDER BY drive_name', [id]);
    assert.deepEqual(ds.map((d) => [d.drive_name, d.model, d.temperature_celsius, d.is_healthy]), [['/dev/nvme0', 'Samsung SSD 970 EVO Plus 250GB', 35, true], ['/dev/sdb', 'WDC WD20EFRX-68EUZN0', 34, true]]);
  });

  test('container and drive names with shell metacharacters are stored as text and nothing runs', async () => {
    const marker = `/tmp/opsdeck-homelab-marker-${process.pid}`;
    rmSync(marker, { force: true });
    const names = [`$(touch ${marker})`, `x;touch ${marker}`, `\`touch ${marker}\``];
    sshd.setOutput('docker-ps', names.map((name, i) => JSON.stringify({ ID: `evil${i}`, Names: name, Image: `img;touch ${marker}`, State: 'running', Status: 'Up' })).join('\n') + '\n');
    sshd.setOutput('docker-stats', '');
    sshd.setOutput('smartctl-scan', JSON.stringify({ devices: [{ name: `/dev/sda;touch ${marker}` }, { name: `/dev/$(touch ${marker})` }] }));
    try {
      const id = await addDevice();
      const res = await collector.collect(id, { dataTypes: ['containers', 'drives'] });
      assert.equal(res[0]!.status, 'success', res[0]!.error ?? '');
      assert.equal(res[1]!.status, 'partial');
      assert.equal(res[1]!.commands, 1, 'only the scan ran: no smartctl for a refused name');
      const stored = await m.db.queryMany<{ name: string }>("SELECT name FROM container_snapshots WHERE node_id = $1 AND runtime = 'docker' ORDER BY container_id", [id]);
      assert.deepEqual(stored.map((s) => s.name), names);
      assert.equal(existsSync(marker), false);
    } finally {
      sshd.setOutput('docker-ps', (await import('node:fs')).readFileSync(new URL('../../../test/fixtures/homelab/docker-ps.jsonl', import.meta.url), 'utf8'));
      sshd.setOutput('docker-stats', (await import('node:fs')).readFileSync(new URL('../../../test/fixtures/homelab/docker-stats.jsonl', import.meta.url), 'utf8'));
      sshd.setOutput('smartctl-scan', (await import('node:fs')).readFileSync(new URL('../../../test/fixtures/homelab/smartctl-scan.json', import.meta.url), 'utf8'));
    }
  });

  test('a command that hangs times out: the operation fails with the reason, the connection stays usable', async () => {
    const id = await addDevice();
    sshd.hang('docker');
    try {
      const [r] = await collector.collect(id, { dataTypes: ['containers'], forceRefresh: true });
      assert.equal(r!.status, 'failed');
      assert.match(r!.error!, /timed out after 3000 ms: docker ps/);
    } finally {
      sshd.hang('docker', false);
    }
    const [again] = await collector.collect(id, { dataTypes: ['system'] });
    assert.equal(again!.status, 'success', again!.error ?? '');
  });

  test('a config file is read over SFTP and handed to the sink', async () => {
    const { writeFileSync } = await import('node:fs');
    const path = `${sshd.dir}/app.env`;
    writeFileSync(path, 'PORT=8080\n');
    const id = await addDevice([path]);
    const [r] = await collector.collect(id, { dataTypes: ['config'] });
    assert.equal(r!.status, 'success', r!.error ?? '');
    const call = sink.calls.find((c) => c.nodeId === id)!;
    assert.equal(call.filePath, path);
    assert.equal(call.content.toString(), 'PORT=8080\n');
    assert.equal(call.collectionSource, 'ssh');
    assert.equal(call.operationId, r!.operationId);
  });

  test('with configuration tracking as the sink: an unchanged file stores nothing; a changed nginx listen stores one HIGH change event; a binary file is a warning, not a failure', async () => {
    const { writeFileSync } = await import('node:fs');
    const tracked = new Collector({ db: m.db, store: m.store, streams: m.streams, registry, pool, clock, sink: createConfigTrackingModule().sink });
    const conf = `${sshd.dir}/site.conf`;
    const blob = `${sshd.dir}/blob.bin`;
    writeFileSync(conf, 'server {\n    listen 80;\n    server_name lab.example;\n}\n');
    writeFileSync(blob, Buffer.from([0, 1, 2, 0, 255]));
    const id = await addDevice([conf, blob]);
    const collect = async () => {
      const [r] = await tracked.collect(id, { dataTypes: ['config'], forceRefresh: true });
      assert.equal(r!.status !== 'failed', true, r!.error ?? '');
      return r!;
    };
    const counts = async () =>
      (await m.db.queryOne<{ snaps: number; events: number }>(
        'SELECT (SELECT count(*)::int FROM configuration_snapshots WHERE node_id = $1) AS snaps, (SELECT count(*)::int FROM configuration_change_events WHERE node_id = $1) AS events',
        [id],
      ))!;
    await collect();
    assert.deepEqual(await counts(), { snaps: 1, events: 0 }, 'first sight: a baseline snapshot of the text file, no change event');
    const again = await collect();
    assert.deepEqual(await counts(), { snaps: 1, events: 0 }, 'unchanged: nothing new');
    assert.ok(
      again.warnings.some((w: string) => w.startsWith(`${blob}:`)),
      `the binary file is a warning: ${JSON.stringify(again.warnings)}`,
    );
    writeFileSync(conf, 'server {\n    listen 8443 ssl;\n    server_name lab.example;\n}\n');
    await collect();
    assert.deepEqual(await counts(), { snaps: 2, events: 1 });
    const ev = await m.db.queryOne<{ risk_level: string; file_path: string; change_type: string }>('SELECT risk_level, file_path, change_type FROM configuration_change_events WHERE node_id = $1', [id]);
    assert.deepEqual(ev, { risk_level: 'HIGH', file_path: conf, change_type: 'modified' });
  });

  test('a changed host key stops collection and is kept until accepted; sshd gone → failed with the reason, previous data kept', async () => {
    const id = await addDevice();
    const [first] = await collector.collect(id, { dataTypes: ['system'] });
    assert.equal(first!.status, 'success');
    const pinned = sshd.hostKeySha256;
    await sshd.stop();
    clock.advance(120_000);
    const [gone] = await collector.collect(id, { dataTypes: ['system'] });
    assert.equal(gone!.status, 'failed');
    // A new connection is refused; the pooled one, if it is still open when the collection
    // starts, closes with its channel request outstanding (ssh2: "No response from server").
    assert.match(gone!.error!, /ECONNREFUSED|closed|ECONNRESET|Not connected|No response from server/);
    assert.equal((await m.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM metrics_system WHERE node_id = $1', [id]))!.n, 1, 'previous data kept');
    const d = (await registry.get(id))!;
    assert.equal(d.lastCollectionStatus, 'failed');
    assert.ok(d.lastSuccessfulCollection);

    await sshd.start({ newHostKey: true });
    assert.notEqual(sshd.hostKeySha256, pinned);
    const [changed] = await collector.collect(id, { dataTypes: ['system', 'containers'], forceRefresh: true });
    assert.equal(changed!.status, 'failed');
    assert.match(changed!.error!, /host key/);
    const after = (await registry.get(id))!;
    assert.deepEqual([after.hostKey.state, after.hostKey.sha256, after.hostKey.presentedSha256], ['mismatch', pinned, sshd.hostKeySha256]);
    const [still] = await collector.collect(id, { dataTypes: ['system'], forceRefresh: true });
    assert.equal(still!.status, 'failed');
    assert.equal(still!.commands, 0);

    await registry.acceptHostKey(id, sshd.hostKeySha256);
    const [ok] = await collector.collect(id, { dataTypes: ['system'], forceRefresh: true });
    assert.equal(ok!.status, 'success', ok!.error ?? '');
  });

  test('the schedule claims due (device, data type) pairs once, moves them on by their interval, and collects them', async () => {
    const id = await addDevice();
    await m.db.query(`UPDATE device_collection_schedules SET enabled = (data_type = 'system'), next_due_at = $2 WHERE node_id = $1`, [id, clock.now()]);
    await m.db.query(`UPDATE device_collection_schedules SET enabled = false WHERE node_id <> $1`, [id]);
    const scheduler = new CollectionScheduler({ db: m.db, collector, clock, concurrency: 2 });
    const first = await scheduler.runDue();
    assert.deepEqual([first.due, first.devices, first.operations, first.failed], [1, 1, 1, 0]);
    const row = await m.db.queryOne<{ next_due_at: Date }>(`SELECT next_due_at FROM device_collection_schedules WHERE node_id = $1 AND data_type = 'system'`, [id]);
    assert.equal(row!.next_due_at.getTime(), clock.now().getTime() + 60_000);
    const again = await scheduler.runDue();
    assert.equal(again.due, 0, 'not due again before its interval');
    assert.deepEqual((await audit(id)).map((a) => [a.data_type, a.status]), [['system', 'success']]);
  });

  test('registration refuses a bad address, port, key and config path, naming the field', async () => {
    const bad = async (input: Record<string, unknown>, field: string) => {
      await assert.rejects(registry.register({ id: `bad-${++n}`, address: 'host.lan', port: 22, username: 'root', generate: true, ...input } as never), (e: { issues?: { path: string }[] }) => {
        assert.deepEqual(e.issues?.map((i) => i.path), [field]);
        return true;
      });
    };
    await bad({ address: 'not a host!' }, 'address');
    await bad({ address: '169.254.169.254' }, 'address');
    await bad({ port: 70000 }, 'port');
    await bad({ generate: false, privateKey: '-----BEGIN OPENSSH PRIVATE KEY-----\nnope\n-----END OPENSSH PRIVATE KEY-----\n' }, 'privateKey');
    await bad({ configPaths: ['/etc/../shadow'] }, 'configPaths.0');
    const pair = ssh2.utils.generateKeyPairSync('ed25519');
    const d = await registry.register({ id: `ok-${++n}`, address: '192.168.1.10', port: 2222, username: 'pi', privateKey: pair.private });
    assert.equal(d.publicKey.split(' ')[1], pair.public.split(' ')[1]);
  });
});
