/**
 * Tests of SystemCollector: against a fake proc tree in a temp folder (known
 * counter deltas → exact rates and percentages), with missing sources, and
 * against this machine's real /proc (sane ranges only).
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, statfs, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SystemCollector, sanitizeNodeId, type SystemSampleRow } from './collector.ts';
import { metricsSystem } from '../system-metrics/family.ts';
import { ingestRowSchema } from '../../timeseries/ingest.ts';

const schema = ingestRowSchema(metricsSystem);
const ROW_FIELDS = ['nodeId', 'timestamp', ...metricsSystem.columns.map((c) => c.field)].sort();
const DELTA_FIELDS = ['cpuPercent', 'cpuIowaitPercent', 'diskReadBytesSec', 'diskWriteBytesSec', 'netRxBytesSec', 'netTxBytesSec'] as const;

/** Asserts the row has exactly the family's fields and passes the strict ingest schema. */
function assertIngestable(row: SystemSampleRow): void {
  assert.deepEqual(Object.keys(row).sort(), ROW_FIELDS);
  const parsed = schema.safeParse(row);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues));
}

const tmpRoots: string[] = [];
after(async () => {
  await Promise.all(tmpRoots.map((d) => rm(d, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'opsdeck-selfmon-'));
  tmpRoots.push(d);
  return d;
}

async function writeProc(root: string, files: Record<string, string>): Promise<void> {
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(dirname(join(root, rel)), { recursive: true });
    await writeFile(join(root, rel), text);
  }
}

const netDev = (rows: [string, number, number][]) =>
  'Inter-|   Receive                                                |  Transmit\n' +
  ' face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n' +
  rows.map(([n, rx, tx]) => `${n.padStart(6)}: ${rx} 100 0 0 0 0 0 0 ${tx} 100 0 0 0 0 0 0`).join('\n') +
  '\n';

const diskstats = (rows: [string, number, number][]) =>
  rows.map(([n, r, w], i) => `   8       ${i} ${n} 100 0 ${r} 50 200 0 ${w} 80 0 120 130 0 0 0 0 0 0`).join('\n') + '\n';

const TCP_HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n';
const tcpLine = (i: number, st: string) =>
  `  ${i}: 0A00020F:${(40000 + i).toString(16).toUpperCase()} 2E73D9AC:01BB ${st} 00000000:00000000 00:00000000 00000000  1000        0 ${40000 + i} 1 00000000e1f2a3b4 28 4 30 10 -1\n`;
const TCP6_LINE =
  '   0: 20010DB8000000000000000000000001:01BB 20010DB8000000000000000000000002:C350 01 00000000:00000000 02:000A7B2C 00000000     0        0 42107 2 000000004b5a6978 20 4 29 10 -1\n';

const STATIC_FILES = {
  meminfo: 'MemTotal:       16384000 kB\nMemFree:         2000000 kB\nMemAvailable:    4096000 kB\nSwapTotal:       2097148 kB\nSwapFree:        1048572 kB\n',
  loadavg: '1.50 0.75 0.25 3/412 12345\n',
  'net/tcp': TCP_HEADER + tcpLine(0, '0A') + tcpLine(1, '01') + tcpLine(2, '01') + tcpLine(3, '06') + tcpLine(4, '06'),
  'net/tcp6': TCP_HEADER + TCP6_LINE,
  'sys/fs/file-nr': '4096\t0\t9223372036854775807\n',
};

test('two samples over a fake /proc give exact rates and percentages', async () => {
  const proc = await tempDir();
  const disk = await tempDir();
  await writeProc(proc, {
    ...STATIC_FILES,
    stat: 'cpu  1000 0 500 8000 500 0 0 0 100 0\ncpu0 1000 0 500 8000 500 0 0 0 100 0\nctxt 1\n',
    diskstats: diskstats([['sda', 1000, 5000], ['sda1', 900, 4000], ['nvme0n1', 0, 10000], ['sdb', 700000, 700000], ['dm-0', 0, 0], ['loop0', 0, 0]]),
    'net/dev': netDev([['lo', 1000, 1000], ['eth0', 1_000_000, 200_000], ['docker0', 5_000_000, 5_000_000]]),
  });
  const c = new SystemCollector({ nodeId: 'mx-1', nodeRole: 'wildduck', procRoot: proc, diskPath: disk });
  const t0 = new Date('2026-03-01T12:00:00.000Z');
  const first = await c.collect(t0);

  assertIngestable(first);
  for (const f of DELTA_FIELDS) assert.equal(first[f], null, `${f} is null on the first sample`);
  const fs = await statfs(disk);
  // Other processes write to the same filesystem between the collector's statfs and ours.
  const expectedUsed = (fs.blocks - fs.bfree) * fs.bsize;
  assert.ok(Math.abs((first.diskUsedBytes ?? -1) - expectedUsed) <= 256 * 1024 * 1024, `diskUsedBytes ${first.diskUsedBytes} vs ${expectedUsed}`);
  assert.ok(Math.abs((first.diskFreeBytes ?? -1) - fs.bfree * fs.bsize) <= 256 * 1024 * 1024, `diskFreeBytes ${first.diskFreeBytes}`);
  const expectedPercent = (100 * (fs.blocks - fs.bfree)) / fs.blocks;
  assert.ok(Math.abs((first.diskPercent ?? -1) - expectedPercent) < 0.5, `diskPercent ${first.diskPercent} vs ${expectedPercent}`);
  assert.deepEqual({ ...first, diskUsedBytes: expectedUsed, diskFreeBytes: fs.bfree * fs.bsize, diskPercent: expectedPercent }, {
    nodeId: 'mx-1',
    timestamp: '2026-03-01T12:00:00.000Z',
    nodeRole: 'wildduck',
    cpuPercent: null,
    cpuIowaitPercent: null,
    ramUsedBytes: (16384000 - 4096000) * 1024,
    ramTotalBytes: 16384000 * 1024,
    swapUsedBytes: 1048576 * 1024,
    diskUsedBytes: (fs.blocks - fs.bfree) * fs.bsize,
    diskTotalBytes: fs.blocks * fs.bsize,
    diskReadBytesSec: null,
    diskWriteBytesSec: null,
    netRxBytesSec: null,
    netTxBytesSec: null,
    load1m: 1.5,
    load5m: 0.75,
    load15m: 0.25,
    tcpEstablished: 3, // two IPv4 + one IPv6
    tcpTimeWait: 2,
    openFiles: 4096,
    ramPercent: 75, // (16384000 - 4096000) / 16384000
    diskPercent: expectedPercent,
    diskFreeBytes: fs.bfree * fs.bsize,
    netRxErrors: 0,
    netTxErrors: 0,
  });

  await writeProc(proc, {
    // +300 user (incl. +50 guest), +100 system, +500 idle, +100 iowait = 1000 ticks.
    stat: 'cpu  1300 0 600 8500 600 0 0 0 150 0\ncpu0 1300 0 600 8500 600 0 0 0 150 0\nctxt 2\n',
    diskstats: diskstats([
      ['sda', 1000 + 20480, 5000 + 2048], // +10 MiB read, +1 MiB written
      ['sda1', 900 + 20480, 4000 + 2048], // partition: already in sda
      ['nvme0n1', 0, 10000 + 40960], // +20 MiB written
      ['sdb', 10, 10], // counter reset: contributes 0
      ['dm-0', 20480, 20480], // stacked on sda: ignored
      ['loop0', 99999, 99999], // ignored
      ['sdc', 123456, 123456], // new disk: no baseline yet
    ]),
    'net/dev': netDev([
      ['lo', 9_000_000, 9_000_000], // loopback: ignored
      ['eth0', 6_000_000, 1_200_000], // +5 000 000 rx, +1 000 000 tx
      ['docker0', 1000, 1000], // re-created: contributes 0
      ['veth9', 7_777_777, 7_777_777], // new: no baseline yet
    ]),
  });
  const second = await c.collect(new Date(t0.getTime() + 10_000));
  assertIngestable(second);
  assert.equal(second.timestamp, '2026-03-01T12:00:10.000Z');
  assert.equal(second.cpuPercent, 40);
  assert.equal(second.cpuIowaitPercent, 10);
  assert.equal(second.diskReadBytesSec, (20480 * 512) / 10);
  assert.equal(second.diskWriteBytesSec, ((2048 + 40960) * 512) / 10);
  assert.equal(second.netRxBytesSec, 500_000);
  assert.equal(second.netTxBytesSec, 100_000);
  assert.equal(second.ramTotalBytes, 16384000 * 1024);

  // Third sample: the reset devices now have a baseline again and count normally.
  await writeProc(proc, {
    diskstats: diskstats([['sda', 21480, 7048], ['nvme0n1', 0, 50960], ['sdb', 10 + 1024, 10], ['sdc', 123456, 123456]]),
    'net/dev': netDev([['eth0', 6_000_000, 1_200_000], ['docker0', 1000 + 40_000, 1000], ['veth9', 7_777_777 + 20_000, 7_777_777]]),
  });
  const third = await c.collect(new Date(t0.getTime() + 30_000));
  assert.equal(third.diskReadBytesSec, (1024 * 512) / 20);
  assert.equal(third.diskWriteBytesSec, 0);
  assert.equal(third.netRxBytesSec, 3000);
  assert.equal(third.netTxBytesSec, 0);
  assert.equal(third.cpuPercent, null, 'no CPU tick between the samples');
});

test('rates are null when no time elapsed or the clock went backwards, and values are clamped', async () => {
  const proc = await tempDir();
  await writeProc(proc, {
    stat: 'cpu  100 0 0 100 0 0 0 0 0 0\n',
    diskstats: diskstats([['sda', 0, 0]]),
    'net/dev': netDev([['eth0', 0, 0]]),
  });
  const c = new SystemCollector({ nodeId: 'n1', procRoot: proc });
  const t = new Date('2026-03-01T00:00:00Z');
  await c.collect(t);
  await writeProc(proc, { diskstats: diskstats([['sda', 100, 100]]), 'net/dev': netDev([['eth0', 100, 100]]) });
  const same = await c.collect(t);
  assert.equal(same.diskReadBytesSec, null);
  assert.equal(same.netRxBytesSec, null);
  const earlier = await c.collect(new Date(t.getTime() - 5000));
  assert.equal(earlier.netTxBytesSec, null);

  // Busy ticks only, with iowait going backwards: clamped to 100 and 0.
  await writeProc(proc, { stat: 'cpu  100 0 0 100 50 0 0 0 0 0\n' });
  await c.collect(new Date(t.getTime() + 1000));
  await writeProc(proc, { stat: 'cpu  200 0 0 100 20 0 0 0 0 0\n' });
  const busy = await c.collect(new Date(t.getTime() + 2000));
  assert.equal(busy.cpuPercent, 100);
  assert.equal(busy.cpuIowaitPercent, 0);
});

test('missing sources give null fields and nothing throws', async () => {
  const empty = await tempDir();
  const c = new SystemCollector({ nodeId: 'n1', procRoot: empty, diskPath: join(empty, 'does-not-exist') });
  for (const when of [new Date('2026-03-01T00:00:00Z'), new Date('2026-03-01T00:00:15Z')]) {
    const row = await c.collect(when);
    assertIngestable(row);
    for (const [k, v] of Object.entries(row)) {
      if (k === 'nodeId' || k === 'timestamp' || k === 'nodeRole') continue;
      assert.equal(v, null, `${k} is null`);
    }
    assert.equal(row.nodeRole, 'opsdeck');
  }
});

test('a file that appears later gets its baseline first; tcp6 missing still counts tcp', async () => {
  const proc = await tempDir();
  await writeProc(proc, { 'net/tcp': TCP_HEADER + tcpLine(0, '01') + tcpLine(1, '06') });
  const c = new SystemCollector({ nodeId: 'n1', procRoot: proc });
  const a = await c.collect(new Date('2026-03-01T00:00:00Z'));
  assert.equal(a.tcpEstablished, 1);
  assert.equal(a.tcpTimeWait, 1);
  await writeProc(proc, { 'net/dev': netDev([['eth0', 1000, 1000]]) });
  const b = await c.collect(new Date('2026-03-01T00:00:10Z'));
  assert.equal(b.netRxBytesSec, null, 'no previous reading of net/dev');
  await writeProc(proc, { 'net/dev': netDev([['eth0', 2000, 1500]]) });
  const d = await c.collect(new Date('2026-03-01T00:00:20Z'));
  assert.equal(d.netRxBytesSec, 100);
  assert.equal(d.netTxBytesSec, 50);
});

test('concurrent collect() calls are serialized: the second measures from the first', async () => {
  const proc = await tempDir();
  await writeProc(proc, { 'net/dev': netDev([['eth0', 1000, 1000]]) });
  const c = new SystemCollector({ nodeId: 'n1', procRoot: proc });
  const [a, b] = await Promise.all([c.collect(new Date('2026-03-01T00:00:00Z')), c.collect(new Date('2026-03-01T00:00:02Z'))]);
  assert.equal(a.netRxBytesSec, null);
  assert.equal(b.netRxBytesSec, 0);
  await assert.rejects(c.collect(new Date(Number.NaN)), RangeError);
});

test('node id: default is the sanitized hostname; an invalid explicit id or role is refused', () => {
  const c = new SystemCollector();
  assert.match(c.nodeId, /^[A-Za-z0-9][A-Za-z0-9._:@-]*$/);
  assert.equal(c.nodeRole, 'opsdeck');
  assert.equal(c.diskPath, process.cwd());
  assert.equal(c.procRoot, '/proc');
  assert.equal(new SystemCollector({ nodeRole: null }).nodeRole, null);
  assert.equal(sanitizeNodeId('mail-1.example.com'), 'mail-1.example.com');
  assert.equal(sanitizeNodeId('_my host (2)'), 'my-host--2-');
  assert.equal(sanitizeNodeId('--'), 'localhost');
  assert.equal(sanitizeNodeId('a'.repeat(300)).length, 128);
  assert.throws(() => new SystemCollector({ nodeId: 'bad id' }), TypeError);
  assert.throws(() => new SystemCollector({ nodeId: '-leading' }), TypeError);
  assert.throws(() => new SystemCollector({ nodeId: 'x'.repeat(129) }), TypeError);
  assert.throws(() => new SystemCollector({ nodeRole: 'r'.repeat(257) }), TypeError);
});

const linuxProc = process.platform === 'linux' && existsSync('/proc/stat');

test('real /proc of this machine: sane ranges after two samples', { skip: !linuxProc && 'needs Linux /proc' }, async () => {
  const c = new SystemCollector({ nodeRole: 'host' });
  const first = await c.collect();
  assertIngestable(first);
  assert.equal(first.cpuPercent, null);
  // Burn a little CPU so ticks certainly elapse (USER_HZ is 100).
  const until = Date.now() + 150;
  while (Date.now() < until) Math.sqrt(Math.random());
  await sleep(100);
  const row = await c.collect();
  assertIngestable(row);

  assert.ok(Date.parse(row.timestamp) > Date.parse(first.timestamp));
  assert.ok(row.ramTotalBytes !== null && row.ramTotalBytes > 0);
  assert.ok(row.ramUsedBytes !== null && row.ramUsedBytes > 0 && row.ramUsedBytes <= row.ramTotalBytes);
  assert.ok(row.swapUsedBytes !== null && row.swapUsedBytes >= 0);
  assert.ok(row.diskTotalBytes !== null && row.diskTotalBytes > 0);
  assert.ok(row.diskUsedBytes !== null && row.diskUsedBytes >= 0 && row.diskUsedBytes <= row.diskTotalBytes);
  assert.ok(row.cpuPercent !== null && row.cpuPercent > 0 && row.cpuPercent <= 100, `cpuPercent ${row.cpuPercent}`);
  assert.ok(row.cpuIowaitPercent !== null && row.cpuIowaitPercent >= 0 && row.cpuIowaitPercent <= 100);
  for (const [f, file] of [['diskReadBytesSec', 'diskstats'], ['diskWriteBytesSec', 'diskstats'], ['netRxBytesSec', 'net/dev'], ['netTxBytesSec', 'net/dev']] as const) {
    if (!existsSync(`/proc/${file}`)) continue;
    const v = row[f];
    assert.ok(v !== null && v >= 0 && Number.isFinite(v), `${f} ${v}`);
  }
  for (const f of ['load1m', 'load5m', 'load15m'] as const) assert.ok(row[f] !== null && row[f] >= 0, `${f} ${row[f]}`);
  assert.ok(row.tcpEstablished !== null && Number.isInteger(row.tcpEstablished) && row.tcpEstablished >= 0);
  assert.ok(row.tcpTimeWait !== null && Number.isInteger(row.tcpTimeWait) && row.tcpTimeWait >= 0);
  assert.ok(row.openFiles !== null && row.openFiles > 0);
});
