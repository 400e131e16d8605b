/**
 * The collector's parsers on the recorded outputs of test/fixtures/homelab (see its README)
 * and on /proc text in the kernel's format; every expected value is read off the recording
 * by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpuPercent, parseDf, parseDiskstats, parseDocker, parseLoadavg, parseMeminfo, parseNetDev, parsePodman, parseProcStat, parseSize, parseSmartctl, parseSmartScan, parseSystem, systemMetricsRow, deviceIoRows, type SystemSample } from './parsers.ts';
import { IO_SAMPLE_1, IO_SAMPLE_2, expectedIoRows } from '../../../test/support/homelab-io-samples.ts';
import { commandHash, configPathProblem, isSafeDriveName, smartctlCommand } from './commands.ts';

const fixture = (f: string) => readFileSync(new URL(`../../../test/fixtures/homelab/${f}`, import.meta.url), 'utf8');

test('CPU percent from two /proc/stat samples', () => {
  const a = parseProcStat('cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 50 0 50 350 50 0 0 0 0 0\nintr 1\n');
  const b = parseProcStat('cpu  250 0 250 1300 200 0 0 0 0 0\ncpu0 1 1 1 1 1 0 0 0 0 0\n');
  // delta total 1000: idle 600, iowait 100 → busy 300 = 30 %, iowait 10 %.
  assert.deepEqual(cpuPercent(a, b), { busy: 30, iowait: 10 });
  assert.equal(cpuPercent(b, b), null);
  assert.throws(() => parseProcStat('intr 1\n'));
});

test('memory, load, network and disks in the kernel formats', () => {
  const m = parseMeminfo('MemTotal:        2000 kB\nMemFree:          100 kB\nMemAvailable:     500 kB\nSwapTotal:       1000 kB\nSwapFree:         750 kB\n');
  assert.deepEqual(m, { totalBytes: 2000 * 1024, usedBytes: 1500 * 1024, swapUsedBytes: 250 * 1024, percent: 75 });
  assert.deepEqual(parseLoadavg('0.50 1.25 2.00 3/185 6207\n'), { load1: 0.5, load5: 1.25, load15: 2 });
  const net = parseNetDev(
    'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n    lo:  5000      10    0    0    0     0          0         0     5000      10    0    0    0     0       0          0\n  eth0: 123456     100    2    0    0     0          0         0    654321     90    1    0    0     0       0          0\n',
  );
  assert.deepEqual(net, { lo: { rxBytes: 5000, rxErrors: 0, txBytes: 5000, txErrors: 0 }, eth0: { rxBytes: 123456, rxErrors: 2, txBytes: 654321, txErrors: 1 } });
  const disks = parseDiskstats(
    '   8       0 sda 100 0 2000 10 50 0 4000 20 0 30 30 0 0 0 0\n   8       1 sda1 90 0 1800 9 45 0 3600 18 0 27 27 0 0 0 0\n   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0\n 259       0 nvme0n1 10 0 100 1 20 0 200 2 0 3 3 0 0 0 0\n 259       1 nvme0n1p1 10 0 100 1 20 0 200 2 0 3 3 0 0 0 0\n',
  );
  assert.deepEqual(disks, { sda: { readBytes: 2000 * 512, writeBytes: 4000 * 512 }, nvme0n1: { readBytes: 100 * 512, writeBytes: 200 * 512 } });
  const df = parseDf('Filesystem     1-blocks      Used  Available Capacity Mounted on\n/dev/sda1     1000000    250000     750000      25% /\ntmpfs           1000         0       1000       0% /run\n/dev/sdb1      500000    100000     400000      20% /srv/my data\n');
  assert.deepEqual(df, [
    { source: '/dev/sda1', mount: '/', totalBytes: 1000000, usedBytes: 250000, availableBytes: 750000 },
    { source: '/dev/sdb1', mount: '/srv/my data', totalBytes: 500000, usedBytes: 100000, availableBytes: 400000 },
  ]);
});

test('a metrics_system row: rates from the previous sample, loopback left out of network', () => {
  const base = (at: number, cpu: [number, number, number], rx: number, read: number): SystemSample => ({
    cpu: { total: cpu[0], idle: cpu[1], iowait: cpu[2] },
    memory: { totalBytes: 1000, usedBytes: 250, swapUsedBytes: 0, percent: 25 },
    load: { load1: 1, load5: 2, load15: 3 },
    net: { lo: { rxBytes: rx * 100, txBytes: 0, rxErrors: 0, txErrors: 0 }, eth0: { rxBytes: rx, txBytes: 0, rxErrors: 1, txErrors: 0 } },
    disks: { sda: { readBytes: read, writeBytes: 0 } },
    filesystems: [{ source: '/dev/sda1', mount: '/', totalBytes: 400, usedBytes: 100, availableBytes: 300 }],
    at,
  });
  const first = systemMetricsRow('dev1', base(0, [1000, 500, 0], 1000, 0), null);
  assert.equal(first.cpuPercent, null);
  assert.equal(first.netRxBytesSec, null);
  assert.equal(first.diskPercent, 25);
  const second = systemMetricsRow('dev1', base(10_000, [2000, 1000, 100], 21_000, 5_000), base(0, [1000, 500, 0], 1000, 0));
  assert.equal(second.cpuPercent, 40); // (1000 - 500 - 100) / 1000
  assert.equal(second.cpuIowaitPercent, 10);
  assert.equal(second.netRxBytesSec, 2000); // (21000 - 1000) / 10 s, lo not counted
  assert.equal(second.diskReadBytesSec, 500);
  assert.equal(second.ramPercent, 25);
});

test('docker ps + docker stats recordings → container rows', () => {
  const rows = parseDocker(fixture('docker-ps.jsonl'), fixture('docker-stats.jsonl'));
  assert.deepEqual(rows, [
    { containerId: 'a762a2b37a1d', name: 'boring_keldysh', image: 'nginx', status: 'Up 3 seconds', state: 'running', runtime: 'docker', cpuPercent: 0, memoryUsageBytes: Math.round(6.906 * 1024 ** 2), memoryLimitBytes: Math.round(1.952 * 1024 ** 3) },
    { containerId: '4d8f3b7a56e1', name: 'cache', image: 'redis:7', status: 'Exited (0) 2 minutes ago', state: 'exited', runtime: 'docker', cpuPercent: null, memoryUsageBytes: null, memoryLimitBytes: null },
  ]);
  assert.equal(parseSize('1.05kB'), 1050);
  assert.equal(parseSize('0B'), 0);
  assert.equal(parseSize('lots'), null);
});

test('podman ps recording → container rows', () => {
  assert.deepEqual(parsePodman(fixture('podman-ps.json')), [
    { containerId: '5e3694604817f71ed7a2b9e3ee3f85eb8b9c4ab3f64fb6b21a0aa27b8e0c3cf1', name: 'web', image: 'docker.io/library/nginx:latest', status: 'Up 3 minutes', state: 'running', runtime: 'podman', cpuPercent: null, memoryUsageBytes: null, memoryLimitBytes: null },
  ]);
  assert.deepEqual(parsePodman(''), []);
});

test('smartctl scan: safe drive names kept, anything a shell could read refused', () => {
  assert.deepEqual(parseSmartScan(fixture('smartctl-scan.json')), { drives: ['/dev/sdb', '/dev/nvme0'], refused: [] });
  const evil = JSON.stringify({ devices: [{ name: '/dev/sda;touch /tmp/x' }, { name: '/dev/../etc/passwd' }, { name: '/dev/$(id)' }, { name: '/dev/sdc' }, { name: '/dev/SDA' }] });
  assert.deepEqual(parseSmartScan(evil), { drives: ['/dev/sdc'], refused: ['/dev/sda;touch /tmp/x', '/dev/../etc/passwd', '/dev/$(id)', '/dev/SDA'] });
  assert.equal(smartctlCommand('/dev/sdb'), 'smartctl --json -a /dev/sdb');
  assert.throws(() => smartctlCommand('/dev/sda `reboot`'));
  assert.equal(isSafeDriveName('/dev/disk/by-id/ata-x_y-1'), true);
});

test('smartctl ATA recording (WDC WD20EFRX) → drive row', () => {
  const d = parseSmartctl(fixture('smartctl-WDC_WD20EFRX-68EUZN0_17.json'), '/dev/sdb');
  assert.equal(d.model, 'WDC WD20EFRX-68EUZN0');
  assert.equal(d.serialNumber, 'REDACTED');
  assert.equal(d.protocol, 'ATA');
  assert.equal(d.temperatureCelsius, 34);
  assert.equal(d.powerOnHours, 47657);
  assert.equal(d.isHealthy, true);
  assert.equal(d.reallocatedSectors, 0);
  assert.equal(d.pendingSectors, 0);
  assert.equal(d.smartAttributes.length, 17);
  assert.deepEqual(d.smartAttributes.find((a) => a.id === 193), { id: 193, name: 'Load_Cycle_Count', value: 200, worst: 200, thresh: 0, raw: 882, whenFailed: '' });
});

test('smartctl NVMe recording (Samsung 970 EVO Plus) → drive row', () => {
  const d = parseSmartctl(fixture('smartctl-nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json'), '/dev/nvme0');
  assert.equal(d.model, 'Samsung SSD 970 EVO Plus 250GB');
  assert.equal(d.protocol, 'NVMe');
  assert.equal(d.temperatureCelsius, 35);
  assert.equal(d.powerOnHours, 3149);
  assert.equal(d.isHealthy, true);
  assert.equal(d.reallocatedSectors, null);
  assert.ok(d.smartAttributes.some((a) => a.name === 'percentage_used'));
});

test('config paths: absolute, no .., no NUL', () => {
  assert.equal(configPathProblem('/etc/nginx/nginx.conf'), null);
  assert.equal(configPathProblem('etc/nginx.conf'), 'must be an absolute path');
  assert.equal(configPathProblem('/etc/../shadow'), 'must not contain ..');
  assert.equal(configPathProblem('/etc/a\0b'), 'must not contain NUL');
  assert.notEqual(commandHash('system'), commandHash('containers'));
});

test('per-disk, per-interface and per-filesystem rows from two /proc samples 10 s apart (loopback, partitions and loop devices left out)', () => {
  const t0 = Date.parse('2026-01-01T00:00:00Z');
  const s1 = parseSystem(IO_SAMPLE_1, t0);
  const s2 = parseSystem(IO_SAMPLE_2, t0 + 10_000);
  const byKey = (rows: Record<string, unknown>[]) => Object.fromEntries(rows.map((r) => [`${String(r.kind)}/${String(r.name)}`, r]));
  const pick = (rows: Record<string, unknown>[]) => {
    const m = byKey(rows);
    const exp = expectedIoRows(rows === second);
    return Object.fromEntries(Object.entries(exp).map(([k, e]) => [k, m[k] ? Object.fromEntries(Object.keys(e).map((c) => [c, m[k]![c.replace(/_([a-z])/g, (_, x: string) => x.toUpperCase())]])) : undefined]));
  };
  const first = deviceIoRows('dev1', s1, null);
  const second = deviceIoRows('dev1', s2, s1);
  assert.deepEqual(Object.keys(byKey(first)).sort(), ['disk/nvme0n1', 'disk/sda', 'filesystem//', 'filesystem//srv/media', 'interface/eth0', 'interface/wlan0']);
  assert.deepEqual(pick(first), expectedIoRows(false));
  assert.deepEqual(pick(second), expectedIoRows(true));
  assert.equal(second[0]!.timestamp, '2026-01-01T00:00:10.000Z');
  assert.ok(second.every((r) => r.nodeId === 'dev1'));
  // A mount point longer than device_io's name (255 characters) is left out, not cut (a cut name could collide with another).
  const long = `/srv/${'x'.repeat(251)}`;
  const withLong = parseSystem({ ...IO_SAMPLE_1, df: `${IO_SAMPLE_1.df}/dev/sdc1 100 50 50 50% ${long}\n` }, t0);
  assert.equal(long.length, 256);
  assert.deepEqual(deviceIoRows('dev1', withLong, null).filter((r) => r.kind === 'filesystem').map((r) => r.name), ['/', '/srv/media']);
  // A counter that went backwards (a reboot between samples) gives no rate rather than a negative one.
  const rebooted = deviceIoRows('dev1', s1, s2);
  assert.equal(byKey(rebooted)['disk/sda']!.readBytesPerSec, null);
  assert.equal(byKey(rebooted)['interface/eth0']!.rxBytesPerSec, null);
});
