/**
 * SSH connections of the home-lab collector (ADR 0022): a small pool keyed by device,
 * reused across commands and collections and closed after an idle timeout; host keys
 * checked against the pin during the handshake (a key that differs is refused before
 * authentication); a per-command timeout that closes the channel; SFTP reads capped in size.
 *
 * The address is resolved once per connection and connected to as checked. SSH targets are
 * registered by an admin and may be private or loopback (that registration is the allow
 * decision); link-local (169.254.0.0/16 — cloud metadata — and fe80::/10), multicast,
 * unspecified and broadcast addresses are still refused.
 */
import { createHash } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Client as SshClient, ConnectConfig, SFTPWrapper } from 'ssh2';
import { refusedRange } from '../../net/outbound.ts';

type Ssh2 = typeof import('ssh2');
let ssh2: Promise<Ssh2> | undefined;

/**
 * The ssh2 package, loaded on first use. A process that collects from no device does not
 * hold it: its sources and the 16 MB WebAssembly memory of its Poly1305 module, created
 * when it is imported.
 */
export function loadSsh2(): Promise<Ssh2> {
  // A CommonJS package: its exports object is the namespace's default.
  return (ssh2 ??= import('ssh2').then((m) => (m as unknown as { default: Ssh2 }).default));
}

export interface SshTarget {
  nodeId: string;
  address: string;
  port: number;
  username: string;
  privateKey: string;
  passphrase?: string | undefined;
  /** `SHA256:<base64>` of the pinned host key; null before first contact. */
  pinnedHostKey: string | null;
}

export class HostKeyMismatchError extends Error {
  constructor(
    readonly pinned: string,
    readonly presented: string,
  ) {
    super(`the device presented host key ${presented}, not the pinned ${pinned}: collection stopped until an admin accepts the new key`);
    this.name = 'HostKeyMismatchError';
  }
}

export class SshCommandTimeoutError extends Error {
  constructor(readonly command: string, readonly timeoutMs: number) {
    super(`command timed out after ${timeoutMs} ms: ${command}`);
    this.name = 'SshCommandTimeoutError';
  }
}

export class SshAddressRefusedError extends Error {
  constructor(readonly address: string, readonly reason: string) {
    super(`refused to connect to ${address}: ${reason}`);
    this.name = 'SshAddressRefusedError';
  }
}

/** Address ranges refused even for admin-registered devices. */
const ALWAYS_REFUSED = /^(link-local|multicast|unspecified|broadcast)/;

/** Null when an address literal may be an SSH target, else the reason. */
export function sshAddressProblem(address: string): string | null {
  const r = refusedRange(address);
  return r && ALWAYS_REFUSED.test(r) ? r : null;
}

export function hostKeySha256(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

interface Entry {
  key: string;
  client: SshClient;
  presentedHostKey: string;
  idle: NodeJS.Timeout | null;
  busy: number;
  closed: boolean;
}

export interface SshPoolOptions {
  idleMs?: number;
  commandTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Name → address (tests; default: the system resolver). */
  resolve?: (host: string) => Promise<string>;
}

export interface SshPoolCounters {
  created: number;
  reused: number;
  commands: number;
  bytes: number;
}

export class SshPool {
  private readonly entries = new Map<string, Entry>();
  readonly counters: SshPoolCounters = { created: 0, reused: 0, commands: 0, bytes: 0 };
  readonly idleMs: number;
  readonly commandTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly resolver: (host: string) => Promise<string>;

  constructor(o: SshPoolOptions = {}) {
    this.idleMs = o.idleMs ?? 60_000;
    this.commandTimeoutMs = o.commandTimeoutMs ?? 20_000;
    this.connectTimeoutMs = o.connectTimeoutMs ?? 10_000;
    this.resolver = o.resolve ?? (async (h) => (await lookup(h)).address);
  }

  /** Open connections (for the tests and the performance table). */
  get size(): number {
    return this.entries.size;
  }

  private static keyOf(t: SshTarget): string {
    return createHash('sha256').update([t.nodeId, t.address, t.port, t.username, createHash('sha256').update(t.privateKey).digest('hex')].join('\0')).digest('hex');
  }

  /** A connection for the target: the pooled one when alive, else a new one. Returns the host key it presented. */
  async connection(t: SshTarget): Promise<{ entry: Entry; reused: boolean }> {
    const existing = this.entries.get(t.nodeId);
    if (existing && !existing.closed && existing.key === SshPool.keyOf(t) && (!t.pinnedHostKey || existing.presentedHostKey === t.pinnedHostKey)) {
      this.counters.reused++;
      return { entry: existing, reused: true };
    }
    if (existing) this.drop(t.nodeId);
    const address = isIP(t.address) ? t.address : await this.resolver(t.address);
    const refused = sshAddressProblem(address);
    if (refused) throw new SshAddressRefusedError(address, refused);
    let presented = '';
    const client = new (await loadSsh2()).Client();
    const entry: Entry = { key: SshPool.keyOf(t), client, presentedHostKey: '', idle: null, busy: 0, closed: false };
    await new Promise<void>((resolve, reject) => {
      let mismatch: HostKeyMismatchError | null = null;
      const cfg: ConnectConfig = {
        host: address,
        port: t.port,
        username: t.username,
        privateKey: t.privateKey,
        ...(t.passphrase ? { passphrase: t.passphrase } : {}),
        readyTimeout: this.connectTimeoutMs,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 2,
        hostVerifier: (key: Buffer) => {
          presented = hostKeySha256(key);
          if (t.pinnedHostKey && presented !== t.pinnedHostKey) {
            mismatch = new HostKeyMismatchError(t.pinnedHostKey, presented);
            return false;
          }
          return true;
        },
      };
      client
        .once('ready', () => resolve())
        .once('error', (err) => reject(mismatch ?? err))
        .on('close', () => {
          entry.closed = true;
          if (this.entries.get(t.nodeId) === entry) this.entries.delete(t.nodeId);
          reject(mismatch ?? new Error('the connection closed during the handshake'));
        })
        .connect(cfg);
    });
    client.on('error', () => {
      entry.closed = true;
    });
    entry.presentedHostKey = presented;
    this.counters.created++;
    this.entries.set(t.nodeId, entry);
    this.touch(t.nodeId, entry);
    return { entry, reused: false };
  }

  private touch(nodeId: string, e: Entry): void {
    if (e.idle) clearTimeout(e.idle);
    e.idle = setTimeout(() => {
      if (e.busy === 0) this.drop(nodeId);
    }, this.idleMs);
    e.idle.unref();
  }

  /** Runs one allow-listed command (a constant string: see commands.ts) with a timeout. */
  async exec(t: SshTarget, command: string, timeoutMs = this.commandTimeoutMs, maxBytes = 8 * 1024 * 1024): Promise<ExecResult> {
    const { entry } = await this.connection(t);
    entry.busy++;
    try {
      return await new Promise<ExecResult>((resolve, reject) => {
        entry.client.exec(command, (err, stream) => {
          if (err) return reject(err);
          this.counters.commands++;
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let size = 0;
          const timer = setTimeout(() => {
            stream.close();
            reject(new SshCommandTimeoutError(command, timeoutMs));
          }, timeoutMs);
          stream.on('data', (d: Buffer) => {
            size += d.length;
            if (size > maxBytes) {
              clearTimeout(timer);
              stream.close();
              reject(new Error(`output of ${command} over ${maxBytes} bytes`));
              return;
            }
            out.push(d);
          });
          stream.stderr.on('data', (d: Buffer) => {
            if (errOut.length < 64) errOut.push(d);
          });
          stream.on('close', (code: number | null) => {
            clearTimeout(timer);
            const stdout = Buffer.concat(out);
            this.counters.bytes += stdout.length;
            resolve({ stdout: stdout.toString('utf8'), stderr: Buffer.concat(errOut).toString('utf8').slice(0, 2000), code: code ?? null });
          });
        });
      });
    } finally {
      entry.busy--;
      if (!entry.closed) this.touch(t.nodeId, entry);
    }
  }

  /** Reads a file over SFTP (no shell), at most maxBytes. */
  async readFile(t: SshTarget, path: string, maxBytes: number, timeoutMs = this.commandTimeoutMs): Promise<{ content: Buffer; mtime: Date | null; truncated: boolean }> {
    const { entry } = await this.connection(t);
    entry.busy++;
    try {
      const sftp = await new Promise<SFTPWrapper>((resolve, reject) => entry.client.sftp((err, s) => (err ? reject(err) : resolve(s))));
      try {
        const work = (async () => {
          const st = await new Promise<{ size: number; mtime: number }>((resolve, reject) => sftp.stat(path, (err, s) => (err ? reject(err) : resolve(s))));
          const len = Math.min(st.size, maxBytes);
          const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
          const buf = Buffer.alloc(len);
          let pos = 0;
          while (pos < len) {
            const n = await new Promise<number>((resolve, reject) => sftp.read(handle, buf, pos, len - pos, pos, (err, bytes) => (err ? reject(err) : resolve(bytes))));
            if (n === 0) break;
            pos += n;
          }
          await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
          this.counters.bytes += pos;
          return { content: buf.subarray(0, pos), mtime: st.mtime ? new Date(st.mtime * 1000) : null, truncated: st.size > maxBytes };
        })();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new SshCommandTimeoutError(`sftp read ${path}`, timeoutMs)), timeoutMs);
        });
        try {
          return await Promise.race([work, timeout]);
        } finally {
          clearTimeout(timer);
        }
      } finally {
        sftp.end();
      }
    } finally {
      entry.busy--;
      if (!entry.closed) this.touch(t.nodeId, entry);
    }
  }

  /** The host key the pooled connection presented (after connection()). */
  presentedHostKey(nodeId: string): string | null {
    return this.entries.get(nodeId)?.presentedHostKey ?? null;
  }

  drop(nodeId: string): void {
    const e = this.entries.get(nodeId);
    if (!e) return;
    this.entries.delete(nodeId);
    if (e.idle) clearTimeout(e.idle);
    e.closed = true;
    e.client.end();
  }

  closeAll(): void {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }
}
