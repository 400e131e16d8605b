/**
 * A real DNS server on loopback for the tests of Opsdeck's DNS checks (DNSBL
 * listings, SPF/DKIM/DMARC records, forward-confirmed reverse DNS): Debian's
 * dnsmasq (package `dnsmasq-base`, installed by .ci/run when missing), started
 * with its own configuration on a free UDP/TCP port of 127.0.0.1, answering
 * only from the records a test gives it.
 *
 * - Names under `authoritative` zones that have no record get NXDOMAIN (dnsmasq
 *   `local=/zone/`), as a real zone answers a name it does not hold — that is how
 *   a DNSBL says "not listed".
 * - `a` / `aaaa` records also answer the reverse (PTR) query of their address
 *   (dnsmasq `host-record`); `ptr` adds PTR records of its own.
 * - `update(records)` restarts the server with new records on the same port
 *   (a listing appears, a record changes).
 *
 * `blackhole()` opens a UDP port that reads queries and never answers: the
 * timeout case.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Resolver } from 'node:dns/promises';

export interface DnsRecords {
  /** Zones answered only from these records: unknown names get NXDOMAIN. */
  authoritative?: readonly string[];
  /** name → IPv4 addresses (also the PTR of each address). */
  a?: Readonly<Record<string, readonly string[]>>;
  /** name → IPv6 addresses (also the PTR of each address). */
  aaaa?: Readonly<Record<string, readonly string[]>>;
  /** name → TXT strings (one record per string; strings over 255 bytes are split by dnsmasq). */
  txt?: Readonly<Record<string, readonly string[]>>;
  /** reverse name (e.g. 7.2.0.192.in-addr.arpa) → target name. */
  ptr?: Readonly<Record<string, string>>;
  /** name → target name. */
  cname?: Readonly<Record<string, string>>;
}

export interface DnsServer {
  host: '127.0.0.1';
  port: number;
  /** `127.0.0.1:port`, the form node's Resolver#setServers takes. */
  server: string;
  update(records: DnsRecords): Promise<void>;
  stop(): Promise<void>;
}

const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq'];

async function freePort(): Promise<number> {
  // A TCP port free on loopback; dnsmasq binds UDP and TCP on it.
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

const quote = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

function configOf(port: number, dir: string, r: DnsRecords): string {
  const lines = [
    `port=${port}`,
    'listen-address=127.0.0.1',
    'bind-interfaces',
    'no-resolv',
    'no-hosts',
    'no-negcache',
    'cache-size=0',
    'log-facility=-',
    `pid-file=${join(dir, 'dnsmasq.pid')}`,
    // Stay root-owned or not as started; dnsmasq would otherwise switch to `nobody`/`dip`.
    'user=',
    'group=',
  ];
  for (const z of r.authoritative ?? []) lines.push(`local=/${z}/`);
  const v4 = r.a ?? {};
  const v6 = r.aaaa ?? {};
  for (const name of new Set([...Object.keys(v4), ...Object.keys(v6)])) {
    lines.push(`host-record=${[name, ...(v4[name] ?? []), ...(v6[name] ?? [])].join(',')}`);
  }
  for (const [name, texts] of Object.entries(r.txt ?? {})) for (const t of texts) lines.push(`txt-record=${name},${quote(t)}`);
  for (const [name, target] of Object.entries(r.ptr ?? {})) lines.push(`ptr-record=${name},${target}`);
  for (const [name, target] of Object.entries(r.cname ?? {})) lines.push(`cname=${name},${target}`);
  return lines.join('\n') + '\n';
}

async function waitAnswering(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const resolver = new Resolver({ timeout: 200, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dnsmasq exited with ${child.exitCode}: ${stderr()}`);
    try {
      await resolver.resolve4('opsdeck-probe.invalid');
      return;
    } catch (e) {
      const code = (e as { code?: string }).code;
      // Any DNS answer (NXDOMAIN, REFUSED, SERVFAIL) means the server is up.
      if (code && code !== 'ETIMEOUT' && code !== 'ECONNREFUSED') return;
    }
    if (Date.now() > deadline) throw new Error(`dnsmasq did not answer on 127.0.0.1:${port}: ${stderr()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startDnsServer(records: DnsRecords): Promise<DnsServer> {
  const bin = DNSMASQ.find((p) => existsSync(p));
  if (!bin) throw new Error('dnsmasq is not installed (Debian package dnsmasq-base; .ci/run installs it)');
  const dir = await mkdtemp(join(tmpdir(), 'opsdeck-dns-'));
  const port = await freePort();
  let child: ChildProcess | null = null;
  let err = '';

  const start = async (r: DnsRecords) => {
    const conf = join(dir, 'dnsmasq.conf');
    await writeFile(conf, configOf(port, dir, r));
    err = '';
    const c = spawn(bin, ['--keep-in-foreground', `--conf-file=${conf}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    c.stderr?.on('data', (d: Buffer) => {
      err = (err + d.toString()).slice(-4000);
    });
    child = c;
    await waitAnswering(port, c, () => err);
  };
  const halt = async () => {
    const c = child;
    child = null;
    if (!c || c.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGTERM');
    });
  };

  await start(records);
  return {
    host: '127.0.0.1',
    port,
    server: `127.0.0.1:${port}`,
    async update(r) {
      await halt();
      await start(r);
    },
    async stop() {
      await halt();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A UDP port on 127.0.0.1 that receives DNS queries and never answers (a server that is away). */
export async function blackhole(): Promise<{ server: string; queries: () => number; stop(): Promise<void> }> {
  const sock: Socket = createSocket('udp4');
  let n = 0;
  sock.on('message', () => {
    n++;
  });
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
  const port = sock.address().port;
  return {
    server: `127.0.0.1:${port}`,
    queries: () => n,
    stop: () => new Promise<void>((resolve) => sock.close(() => resolve())),
  };
}
