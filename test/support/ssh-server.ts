/**
 * A real SSH server on loopback for the home-lab collector's tests: Debian's
 * /usr/sbin/sshd started with its own config, host key (ssh-keygen) and authorized_keys in a
 * temp folder, on a free port. `SetEnv PATH=<bin>:…` puts a temp bin/ first on the PATH of
 * every session, holding stand-ins for `docker`, `podman` and `smartctl` that print the
 * recorded outputs of test/fixtures/homelab (copied to <dir>/out/, where a test may replace
 * one). /proc, df and cat are this machine's own.
 *
 * A stand-in hangs (sleeps 600 s) while <dir>/hang-<name> exists (`hang('docker')`).
 * `stop()` kills the listener and every per-connection sshd child (a device that went away);
 * `start({ newHostKey: true })` comes back on the same port with another host key.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FIXTURES = new URL('../fixtures/homelab/', import.meta.url).pathname;

export interface SshServer {
  host: string;
  port: number;
  dir: string;
  /** SHA-256 fingerprint of the current host key, as `SHA256:<base64 without padding>`. */
  hostKeySha256: string;
  /** Adds a public key line to authorized_keys. */
  authorize(publicKeyLine: string): void;
  /** Replaces the output a stand-in prints (name: docker-ps, docker-stats, podman-ps, smartctl-scan, smartctl-<dev>). */
  setOutput(name: string, content: string): void;
  hang(stand_in: 'docker' | 'podman' | 'smartctl', on?: boolean): void;
  stop(): Promise<void>;
  start(opts?: { newHostKey?: boolean }): Promise<void>;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function fingerprint(pubLine: string): string {
  const blob = Buffer.from(pubLine.trim().split(/\s+/)[1]!, 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Every descendant of pid (from /proc). */
function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(e));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const STAND_INS: Record<string, string> = {
  docker: `case "$1" in
  ps) f=docker-ps ;;
  stats) f=docker-stats ;;
  *) echo "docker stand-in: unsupported $1" >&2; exit 2 ;;
esac`,
  podman: `case "$1" in
  ps) f=podman-ps ;;
  *) echo "podman stand-in: unsupported $1" >&2; exit 2 ;;
esac`,
  smartctl: `f=""
for a in "$@"; do
  case "$a" in
    --scan-open) f=smartctl-scan ;;
    /dev/*) f="smartctl-$(basename "$a")" ;;
  esac
done
[ -n "$f" ] || { echo "smartctl stand-in: unsupported $*" >&2; exit 2; }`,
};

export async function startSshServer(): Promise<SshServer> {
  if (!existsSync('/usr/sbin/sshd')) throw new Error('/usr/sbin/sshd is missing (Debian openssh-server; .ci/run installs it)');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // sshd's privilege-separation folder
  const dir = mkdtempSync(join(tmpdir(), 'opsdeck-sshd-'));
  const bin = join(dir, 'bin');
  const out = join(dir, 'out');
  mkdirSync(bin);
  mkdirSync(out);
  const fixtures: Record<string, string> = {
    'docker-ps': 'docker-ps.jsonl',
    'docker-stats': 'docker-stats.jsonl',
    'podman-ps': 'podman-ps.json',
    'smartctl-scan': 'smartctl-scan.json',
    'smartctl-sdb': 'smartctl-WDC_WD20EFRX-68EUZN0_17.json',
    'smartctl-nvme0': 'smartctl-nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json',
  };
  for (const [name, file] of Object.entries(fixtures)) copyFileSync(join(FIXTURES, file), join(out, name));
  for (const [name, body] of Object.entries(STAND_INS)) {
    const p = join(bin, name);
    writeFileSync(p, `#!/bin/sh\n${body}\n[ -e "${dir}/hang-${name}" ] && exec sleep 600\nexec cat "${out}/$f"\n`);
    chmodSync(p, 0o755);
  }
  writeFileSync(join(dir, 'authorized_keys'), '');
  const port = await freePort();
  const keyPath = join(dir, 'host_key');
  const makeHostKey = () => {
    rmSync(keyPath, { force: true });
    rmSync(`${keyPath}.pub`, { force: true });
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', keyPath], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`);
    return fingerprint(readFileSync(`${keyPath}.pub`, 'utf8'));
  };
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${keyPath}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // HOME points at the temp folder so the login user's own shell start-up files (root's .bashrc here) are not read.
      `SetEnv PATH=${bin}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=${dir}`,
      'Subsystem sftp internal-sftp',
      'MaxSessions 50',
      'MaxStartups 100',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | null = null;
  const server: SshServer = {
    host: '127.0.0.1',
    port,
    dir,
    hostKeySha256: makeHostKey(),
    authorize(line) {
      writeFileSync(join(dir, 'authorized_keys'), `${readFileSync(join(dir, 'authorized_keys'), 'utf8')}${line.trim()}\n`);
    },
    setOutput(name, content) {
      writeFileSync(join(out, name), content);
    },
    hang(name, on = true) {
      const p = join(dir, `hang-${name}`);
      if (on) writeFileSync(p, '');
      else rmSync(p, { force: true });
    },
    async start(opts = {}) {
      if (proc) throw new Error('sshd already running');
      if (opts.newHostKey) server.hostKeySha256 = makeHostKey();
      const p = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      proc = p;
      // Ready when the port accepts connections.
      for (let i = 0; i < 200; i++) {
        if (p.exitCode !== null) throw new Error(`sshd exited: ${stderr}`);
        const ok = await new Promise<boolean>((resolve) => {
          const s = new Socket();
          s.once('connect', () => (s.destroy(), resolve(true)));
          s.once('error', () => resolve(false));
          s.connect(port, '127.0.0.1');
        });
        if (ok) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`sshd did not listen on ${port}: ${stderr}`);
    },
    async stop() {
      const p = proc;
      if (!p || p.exitCode !== null) {
        proc = null;
        return;
      }
      const kids = descendants(p.pid!);
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      for (const k of kids) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await exited;
      proc = null;
    },
    async close() {
      server.hang('docker', false);
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
