/**
 * Tests of the pure /proc parsers and counter-delta helpers on fixture text
 * copied from real Linux hosts (kernel 5.x/6.x layouts, plus older variants).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  countTcpStates,
  cpuPercentages,
  parseDiskstats,
  parseFileNr,
  parseLoadavg,
  parseMeminfo,
  parseNetDev,
  parseProcStat,
  sumCounterDeltas,
  wholeDisks,
  type CpuTimes,
} from './proc-parsers.ts';

const PROC_STAT = `cpu  6578 12 4816 122030 123 7 54 9 3 1
cpu0 2861 0 2249 61651 11 0 15 4 0 0
cpu1 3716 12 2567 60378 112 7 39 5 3 1
intr 1234567 0 9 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
ctxt 2345678
btime 1718000000
processes 3882
procs_running 1
procs_blocked 0
softirq 456789 0 123 0 456 0 0 789 0 0 1234
`;

test('parseProcStat reads the aggregate cpu line, not cpu0/cpu1', () => {
  assert.deepEqual(parseProcStat(PROC_STAT), {
    user: 6578,
    nice: 12,
    system: 4816,
    idle: 122030,
    iowait: 123,
    irq: 7,
    softirq: 54,
    steal: 9,
    guest: 3,
    guestNice: 1,
  });
});

test('parseProcStat fills fields missing on old kernels with 0 and rejects garbage', () => {
  // 2.6.0-era layout: user nice system idle iowait irq softirq only.
  const old = parseProcStat('cpu  100 0 50 1000 5 1 2\ncpu0 100 0 50 1000 5 1 2\n');
  assert.equal(old?.softirq, 2);
  assert.equal(old?.steal, 0);
  assert.equal(old?.guestNice, 0);
  assert.equal(parseProcStat('cpu0 1 2 3 4\n'), null, 'no aggregate line');
  assert.equal(parseProcStat('cpu  1 2 3\n'), null, 'too few fields');
  assert.equal(parseProcStat('cpu  1 2 x 4\n'), null, 'non-numeric field');
  assert.equal(parseProcStat(''), null);
});

const cpu = (p: Partial<CpuTimes>): CpuTimes => ({
  user: 0, nice: 0, system: 0, idle: 0, iowait: 0, irq: 0, softirq: 0, steal: 0, guest: 0, guestNice: 0, ...p,
});

test('cpuPercentages: busy = 1 - (idle+iowait)/total, guest not double counted', () => {
  const prev = cpu({ user: 1000, system: 500, idle: 8000, iowait: 500, guest: 100 });
  // +300 user (of which +50 guest), +100 system, +500 idle, +100 iowait: total 1000 ticks.
  const cur = cpu({ user: 1300, system: 600, idle: 8500, iowait: 600, guest: 150 });
  assert.deepEqual(cpuPercentages(prev, cur), { cpuPercent: 40, cpuIowaitPercent: 10 });
  // irq, softirq and steal count as busy time.
  assert.deepEqual(cpuPercentages(cpu({}), cpu({ irq: 10, softirq: 10, steal: 20, idle: 60 })), { cpuPercent: 40, cpuIowaitPercent: 0 });
});

test('cpuPercentages: a counter going backwards counts as 0, no tick elapsed gives null', () => {
  // The kernel's iowait counter can go backwards; that must not make the busy share exceed 100.
  const prev = cpu({ user: 1000, idle: 1000, iowait: 500 });
  const cur = cpu({ user: 1100, idle: 1000, iowait: 400 });
  assert.deepEqual(cpuPercentages(prev, cur), { cpuPercent: 100, cpuIowaitPercent: 0 });
  assert.equal(cpuPercentages(prev, prev), null);
  // Everything went backwards (a different boot): no usable interval.
  assert.equal(cpuPercentages(cur, cpu({})), null);
});

const MEMINFO = `MemTotal:       24684092 kB
MemFree:        24306864 kB
MemAvailable:   24287128 kB
Buffers:            4124 kB
Cached:           170768 kB
SwapCached:            0 kB
Active:           120372 kB
Active(anon):      46716 kB
SwapTotal:       2097148 kB
SwapFree:        1572860 kB
Zswap:                 0 kB
HugePages_Total:       0
Hugepagesize:       2048 kB
DirectMap1G:     4194304 kB
`;

test('parseMeminfo converts kB to bytes', () => {
  assert.deepEqual(parseMeminfo(MEMINFO), {
    memTotal: 24684092 * 1024,
    memAvailable: 24287128 * 1024,
    swapTotal: 2097148 * 1024,
    swapFree: 1572860 * 1024,
  });
});

test('parseMeminfo leaves missing keys null (pre-3.14 kernels lack MemAvailable)', () => {
  assert.deepEqual(parseMeminfo('MemTotal:        1016324 kB\nMemFree:          110620 kB\n'), {
    memTotal: 1016324 * 1024,
    memAvailable: null,
    swapTotal: null,
    swapFree: null,
  });
  assert.deepEqual(parseMeminfo(''), { memTotal: null, memAvailable: null, swapTotal: null, swapFree: null });
});

// Kernel 5.5+ layout (20 columns) mixed with a 4.x 14-column line (sdb).
const DISKSTATS = `   7       0 loop0 61 0 2392 19 0 0 0 0 0 40 19 0 0 0 0 0 0
   7       1 loop1 5 0 16 1 0 0 0 0 0 4 1 0 0 0 0 0 0
   7      10 loop10 7 0 20 1 0 0 0 0 0 4 1 0 0 0 0 0 0
   8       0 sda 120934 31050 9821530 50133 488201 410239 15332008 482119 0 341732 577934 0 0 0 0 20102 45681
   8       1 sda1 120712 31050 9812202 50075 488201 410239 15332008 482119 0 341692 532194 0 0 0 0 0 0
   8      16 sdb 4200 10 88000 900 700 20 12000 300 0 800 1200
   8      17 sdb1 4100 10 87000 890 700 20 12000 300 0 790 1190
   8     240 sdp 10 0 80 1 0 0 0 0 0 1 1 0 0 0 0 0 0
   8     241 sdp1 10 0 80 1 0 0 0 0 0 1 1 0 0 0 0 0 0
 259       0 nvme0n1 351200 1200 23318490 60511 901234 120002 40211992 780210 0 401232 840721 0 0 0 0 50122 9121
 259       1 nvme0n1p1 402 0 12566 61 2 0 2 0 0 81 61 0 0 0 0 0 0
 259       2 nvme0n1p2 350700 1200 23300000 60400 901232 120002 40211990 780210 0 401100 840610 0 0 0 0 0 0
 179       0 mmcblk0 3000 5 64000 700 100 3 8000 90 0 600 790 0 0 0 0 0 0
 179       1 mmcblk0p1 2990 5 63900 699 100 3 8000 90 0 599 789 0 0 0 0 0 0
 253       0 dm-0 151000 0 9800000 61000 898000 0 15300000 900000 0 340000 961000 0 0 0 0 0 0
   9       0 md0 500 0 4000 0 600 0 4800 0 0 0 0 0 0 0 0 0 0
 252       0 zram0 300 0 2400 1 4000 0 32000 10 0 20 11 0 0 0 0 0 0
  11       0 sr0 12 0 1024 10 0 0 0 0 0 12 10 0 0 0 0 0 0
`;

test('parseDiskstats reads name, sectors read (field 6) and written (field 10) of every line', () => {
  const all = parseDiskstats(DISKSTATS);
  assert.equal(all.length, 18);
  assert.deepEqual(all.find((d) => d.name === 'sda'), { major: 8, minor: 0, name: 'sda', sectorsRead: 9821530, sectorsWritten: 15332008 });
  assert.deepEqual(all.find((d) => d.name === 'sdb'), { major: 8, minor: 16, name: 'sdb', sectorsRead: 88000, sectorsWritten: 12000 });
  assert.deepEqual(parseDiskstats('8 0 sda 1 2\n\n   garbage line here\n'), []);
});

test('wholeDisks keeps whole disks only: no partitions, loop, ram, zram, dm-*, md*', () => {
  const names = wholeDisks(parseDiskstats(DISKSTATS)).map((d) => d.name);
  assert.deepEqual(names, ['sda', 'sdb', 'sdp', 'nvme0n1', 'mmcblk0', 'sr0']);
});

test('wholeDisks: a name ending in digits is a partition only when its parent is listed', () => {
  const d = (name: string) => ({ major: 0, minor: 0, name, sectorsRead: 0, sectorsWritten: 0 });
  // vda without partitions; nbd0 (digit-ending whole disk) whose partitions would be nbd0p1.
  assert.deepEqual(wholeDisks([d('vda'), d('nbd0'), d('nbd1'), d('nbd0p1'), d('xvda'), d('xvda1')]).map((x) => x.name), ['vda', 'nbd0', 'nbd1', 'xvda']);
  // nvme0n10 is not a partition of nvme0n1 (that would be nvme0n1p10).
  assert.deepEqual(wholeDisks([d('nvme0n1'), d('nvme0n10')]).map((x) => x.name), ['nvme0n1', 'nvme0n10']);
});

const NET_DEV = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo:    3193      29    0    0    0     0          0         0     3193      29    0    0    0     0       0          0
  eth0: 690113443   18215    7    0    0     0          0         0  1524895   11704    3    0    0     0       0          0
docker0: 18446744073 90210    0    0    0     0          0         0 2233445566   80210    0    0    0     0       0          0
wlan0:123456 789 2 0 0 0 0 0 654321 987 0 0 0 0 0 0
`;

test('parseNetDev reads receive (1st) and transmit (9th) bytes and errors (3rd, 11th), old spacing included', () => {
  assert.deepEqual(parseNetDev(NET_DEV), [
    { name: 'lo', rxBytes: 3193, txBytes: 3193, rxErrors: 0, txErrors: 0 },
    { name: 'eth0', rxBytes: 690113443, txBytes: 1524895, rxErrors: 7, txErrors: 3 },
    { name: 'docker0', rxBytes: 18446744073, txBytes: 2233445566, rxErrors: 0, txErrors: 0 },
    { name: 'wlan0', rxBytes: 123456, txBytes: 654321, rxErrors: 2, txErrors: 0 },
  ]);
  assert.deepEqual(parseNetDev('eth0: 1 2 3\n'), [], 'truncated line skipped');
});

test('parseLoadavg reads the three averages', () => {
  assert.deepEqual(parseLoadavg('0.24 0.17 0.10 1/82 3882\n'), { load1m: 0.24, load5m: 0.17, load15m: 0.1 });
  assert.deepEqual(parseLoadavg('12.50 8.03 4.00 17/1203 99123'), { load1m: 12.5, load5m: 8.03, load15m: 4 });
  assert.equal(parseLoadavg('0.24 0.17'), null);
  assert.equal(parseLoadavg(''), null);
});

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:07E8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1590 1 0000000096d2c22e 100 0 0 10 0
   1: 0100007F:1538 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999        0 22011 1 00000000c3a8e4d7 100 0 0 10 0
   2: 0A00020F:0016 0202000A:D4F2 01 00000000:00000000 02:0009E3B7 00000000     0        0 40213 4 000000007a2b1c3d 20 4 31 10 -1
   3: 0A00020F:9C40 2E73D9AC:01BB 01 00000000:00000000 00:00000000 00000000  1000        0 40977 1 00000000e1f2a3b4 28 4 30 10 -1
   4: 0A00020F:A1B2 2E73D9AC:01BB 06 00000000:00000000 03:00000E5A 00000000     0        0 0 3 000000005c6d7e8f
  10: 0A00020F:A1B4 2E73D9AC:0050 08 00000000:00000000 00:00000000 00000000  1000        0 41010 1 00000000aabbccdd 20 4 0 10 -1
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1603 1 000000008f1e2d3c 100 0 0 10 0
   1: 0000000000000000FFFF00000F02000A:0016 0000000000000000FFFF00000202000A:E6A4 01 00000000:00000000 02:000A7B2C 00000000     0        0 42107 2 000000004b5a6978 20 4 29 10 -1
   2: 20010DB8000000000000000000000001:01BB 20010DB8000000000000000000000002:C350 06 00000000:00000000 03:000011A2 00000000     0        0 0 3 0000000012345678
`;

test('countTcpStates counts ESTABLISHED (01) and TIME_WAIT (06) in tcp and tcp6', () => {
  assert.deepEqual(countTcpStates(TCP), { established: 2, timeWait: 1 });
  assert.deepEqual(countTcpStates(TCP6), { established: 1, timeWait: 1 });
  assert.deepEqual(countTcpStates(TCP.split('\n')[0]!), { established: 0, timeWait: 0 }, 'header only');
  assert.deepEqual(countTcpStates(''), { established: 0, timeWait: 0 });
});

test('parseFileNr reads the first field', () => {
  assert.equal(parseFileNr('342\t0\t2466177\n'), 342);
  assert.equal(parseFileNr('10240\t0\t9223372036854775807\n'), 10240);
  assert.equal(parseFileNr(''), null);
  assert.equal(parseFileNr('abc\t0\t1\n'), null);
});

test('sumCounterDeltas: sums increases; resets and new keys contribute 0, never negative', () => {
  const prev = new Map([['eth0', 1_000_000], ['eth1', 500], ['docker0', 5_000_000]]);
  const cur = new Map([
    ['eth0', 1_600_000], // +600 000
    ['eth1', 800], // +300
    ['docker0', 1_000], // reset (interface re-created): 0, not -4 999 000
    ['veth9', 9_999_999], // new: no baseline yet
  ]);
  assert.equal(sumCounterDeltas(prev, cur), 600_300);
  // Every counter reset: 0, not negative.
  assert.equal(sumCounterDeltas(prev, new Map([['eth0', 0], ['eth1', 0], ['docker0', 0]])), 0);
  assert.equal(sumCounterDeltas(new Map(), cur), 0);
});
