/**
 * The home-lab alert observers: SMART rules (failing assessment, reallocated/pending
 * sectors rising, temperature over a threshold) and device rules (host key changed,
 * collection failed), each observation with its reason; expected observations by hand.
 * Once through AlertsService.evaluate(): a changed host key fires the default rule.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../domain/clock.ts';
import { SecretBox } from '../../crypto/secrets.ts';
import { forEachBackend, openMigrated, type MigratedDatabase } from '../../../test/support/backends.ts';
import { AlertsService } from '../alerts/service.ts';
import { ruleInputSchema } from '../alerts/conditions.ts';
import { homelabObservers } from './alerts.ts';
import { DeviceRegistry } from './devices.ts';

const T0 = Date.parse('2026-06-01T12:00:00Z');

forEachBackend('home-lab alert observers', (kind) => {
  let m: MigratedDatabase;
  const clock = new ManualClock(T0);
  const obs = homelabObservers();
  let registry: DeviceRegistry;
  before(async () => {
    m = await openMigrated(kind);
    registry = new DeviceRegistry({ db: m.db, secrets: new SecretBox(Buffer.alloc(32, 1)), clock });
  });
  after(async () => {
    await m?.close();
  });

  const drive = (node: string, name: string, minutesAgo: number, v: { healthy?: boolean; temp?: number; realloc?: number; pending?: number }) =>
    m.streams.ingest('drives', [
      { timestamp: new Date(T0 - minutesAgo * 60_000).toISOString(), nodeId: node, driveName: name, isHealthy: v.healthy ?? true, temperatureCelsius: v.temp ?? 30, reallocatedSectors: v.realloc ?? 0, pendingSectors: v.pending ?? 0, smartAttributes: [] },
    ]);

  test('SMART: failing assessment, temperature over the threshold, sectors rising — with the reason', async () => {
    const node = `nas-${kind}`;
    await drive(node, '/dev/sda', 120, { realloc: 0, pending: 1 });
    await drive(node, '/dev/sda', 10, { realloc: 8, pending: 1, temp: 58 });
    await drive(node, '/dev/sdb', 10, { healthy: false, temp: 40 });
    const scope = { kind: 'node', values: [node] };
    const now = new Date(T0);

    const failing = await obs.smart_failing!.observe(m.db, { kind: 'smart_failing' }, scope, now);
    assert.deepEqual(failing.map((o) => [o.series.drive, o.holds]), [['/dev/sda', false], ['/dev/sdb', true]]);
    assert.match(failing[1]!.message, /\/dev\/sdb .* SMART overall-health self-assessment FAILED/);

    const hot = await obs.smart_temperature!.observe(m.db, { kind: 'smart_temperature', threshold: 55 }, scope, now);
    assert.deepEqual(hot.map((o) => [o.series.drive, o.holds, o.value]), [['/dev/sda', true, 58], ['/dev/sdb', false, 40]]);
    assert.match(hot[0]!.message, /58 °C, over 55 °C/);

    const realloc = await obs.smart_sectors_rising!.observe(m.db, { kind: 'smart_sectors_rising', attribute: 'reallocated', windowSeconds: 86_400 }, scope, now);
    assert.deepEqual(realloc.map((o) => [o.series.drive, o.holds]), [['/dev/sda', true], ['/dev/sdb', false]]);
    assert.match(realloc[0]!.message, /reallocated sectors of \/dev\/sda .* rose from 0 to 8/);
    const pending = await obs.smart_sectors_rising!.observe(m.db, { kind: 'smart_sectors_rising', attribute: 'pending', windowSeconds: 86_400 }, scope, now);
    assert.deepEqual(pending.map((o) => [o.series.drive, o.holds]), [['/dev/sda', false], ['/dev/sdb', false]]);
    const narrow = await obs.smart_sectors_rising!.observe(m.db, { kind: 'smart_sectors_rising', attribute: 'reallocated', windowSeconds: 1800 }, scope, now);
    assert.deepEqual(narrow.map((o) => [o.series.drive, o.holds]), [['/dev/sda', false], ['/dev/sdb', false]], 'the rise happened before this window');
  });

  test('a changed host key fires the default rule through the alerts service, with the fingerprints in the message', async () => {
    const id = `pi-${kind}`;
    await registry.register({ id, address: '192.168.1.30', port: 22, username: 'pi', generate: true });
    await m.db.query(`UPDATE device_ssh_targets SET host_key_state = 'mismatch', host_key_sha256 = 'SHA256:old', presented_host_key_sha256 = 'SHA256:new' WHERE node_id = $1`, [id]);
    const direct = await obs.device_host_key_changed!.observe(m.db, { kind: 'device_host_key_changed' }, { kind: 'node', values: [id] }, new Date(T0));
    assert.deepEqual(direct.map((o) => [o.nodeId, o.holds]), [[id, true]]);

    const alerts = new AlertsService({ db: m.db, clock, observers: obs });
    const rule = await alerts.createRule(ruleInputSchema.parse({ name: `host-key-${kind}`, severity: 'critical', condition: { kind: 'device_host_key_changed' }, scope: { kind: 'node', values: [id] } }));
    await alerts.evaluate();
    const events = await m.db.queryMany<{ status: string; message: string }>('SELECT status, message FROM alert_events WHERE rule_id = $1', [rule.id]);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.status, 'firing');
    assert.match(events[0]!.message, /presented SSH host key SHA256:new instead of the pinned SHA256:old/);

    await m.db.query(`UPDATE device_ssh_targets SET host_key_state = 'pinned', host_key_sha256 = 'SHA256:new', presented_host_key_sha256 = NULL WHERE node_id = $1`, [id]);
    clock.advance(60_000);
    await alerts.evaluate();
    assert.deepEqual((await m.db.queryMany<{ status: string }>('SELECT status FROM alert_events WHERE rule_id = $1', [rule.id])).map((e) => e.status), ['resolved']);
  });

  test('collection failed: the device\'s last error is the reason', async () => {
    const id = `nuc-${kind}`;
    await registry.register({ id, address: 'nuc.lan', port: 22, username: 'root', generate: true });
    await m.db.query(`UPDATE device_ssh_targets SET last_collection_status = 'failed', last_error = 'connect ECONNREFUSED 192.168.1.31:22' WHERE node_id = $1`, [id]);
    const o = await obs.device_collection_failed!.observe(m.db, { kind: 'device_collection_failed' }, { kind: 'node', values: [id] }, new Date(T0));
    assert.deepEqual(o.map((x) => [x.holds, x.message]), [[true, `collection from ${id} failed: connect ECONNREFUSED 192.168.1.31:22`]]);
  });
});
