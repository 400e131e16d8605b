/**
 * A recorded pair of /proc samples of one home-lab device, taken 10 s apart, and the
 * per-disk / per-interface / per-filesystem rows they give (device_io), computed by hand.
 * Used by the parser test and by the push test of the home-lab routes.
 */
// The df and the rest are the same both times.
const NETDEV_HEAD = 'Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n';
export const IO_SAMPLE_1 = {
  stat: 'cpu  1000 0 500 8000 100 0 0 0 0 0\n',
  meminfo: 'MemTotal: 4000 kB\nMemAvailable: 1000 kB\n',
  loadavg: '0.10 0.20 0.30 1/100 42\n',
  netdev:
    NETDEV_HEAD +
    '    lo:  900000     100    0    0    0     0          0         0   900000     100    0    0    0     0       0          0\n' +
    '  eth0: 1000000    1000    3    0    0     0          0         0   500000     800    1    0    0     0       0          0\n' +
    ' wlan0:  200000     300    0    0    0     0          0         0    40000      50    0    0    0     0       0          0\n',
  diskstats:
    '   8       0 sda 1000 0 20000 100 500 0 40000 200 0 300 300 0 0 0 0\n' +
    '   8       1 sda1 900 0 18000 90 450 0 36000 180 0 270 270 0 0 0 0\n' +
    ' 259       0 nvme0n1 300 0 8000 10 200 0 10000 20 0 30 30 0 0 0 0\n' +
    '   7       0 loop0 5 0 10 0 0 0 0 0 0 0 0 0 0 0 0\n',
  df: 'Filesystem     1-blocks      Used  Available Capacity Mounted on\n/dev/sda1     1000000000 250000000 750000000  25% /\ntmpfs             1000         0      1000   0% /run\n/dev/nvme0n1p1 200000000 150000000 50000000  75% /srv/media\n',
};
export const IO_SAMPLE_2 = {
  ...IO_SAMPLE_1,
  stat: 'cpu  1200 0 600 8600 200 0 0 0 0 0\n',
  netdev:
    NETDEV_HEAD +
    '    lo:  999999     200    0    0    0     0          0         0   999999     200    0    0    0     0       0          0\n' +
    '  eth0: 1250000    1200    5    0    0     0          0         0   530000     900    1    0    0     0       0          0\n' +
    ' wlan0:  200000     300    0    0    0     0          0         0    40000      50    0    0    0     0       0          0\n',
  diskstats:
    '   8       0 sda 1100 0 21000 110 600 0 50000 220 0 330 330 0 0 0 0\n' +
    '   8       1 sda1 990 0 18900 99 540 0 45000 198 0 297 297 0 0 0 0\n' +
    ' 259       0 nvme0n1 400 0 10000 12 300 0 10000 22 0 33 33 0 0 0 0\n' +
    '   7       0 loop0 6 0 20 0 0 0 0 0 0 0 0 0 0 0 0\n',
};

/** The breakdown rows the two samples above give, computed by hand. */
export function expectedIoRows(secondSample: boolean): Record<string, Record<string, unknown>> {
  return {
    // sda: sectors read 20000 → 21000 = 1000 × 512 B = 512000 B / 10 s = 51200 B/s; written 40000 → 50000 = 10000 × 512 / 10 = 512000 B/s.
    'disk/sda': { read_bytes_per_sec: secondSample ? 51200 : null, write_bytes_per_sec: secondSample ? 512000 : null },
    // nvme0n1: read 8000 → 10000 = 2000 × 512 / 10 = 102400 B/s; written 10000 → 10000 = 0 B/s.
    'disk/nvme0n1': { read_bytes_per_sec: secondSample ? 102400 : null, write_bytes_per_sec: secondSample ? 0 : null },
    // eth0: rx 1000000 → 1250000 = 250000 / 10 = 25000 B/s; tx 500000 → 530000 = 3000 B/s; errors are the counters of the sample.
    'interface/eth0': { rx_bytes_per_sec: secondSample ? 25000 : null, tx_bytes_per_sec: secondSample ? 3000 : null, rx_errors: secondSample ? 5 : 3, tx_errors: 1 },
    // wlan0: no traffic between the samples.
    'interface/wlan0': { rx_bytes_per_sec: secondSample ? 0 : null, tx_bytes_per_sec: secondSample ? 0 : null, rx_errors: 0, tx_errors: 0 },
    // df: / 250000000 of 1000000000 = 25 %; /srv/media 150000000 of 200000000 = 75 % (tmpfs left out).
    'filesystem//': { size_bytes: 1000000000, used_bytes: 250000000, used_percent: 25 },
    'filesystem//srv/media': { size_bytes: 200000000, used_bytes: 150000000, used_percent: 75 },
  };
}

