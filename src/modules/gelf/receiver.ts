/**
 * The GELF receiver: UDP datagrams (whole or chunked; plain, zlib or gzip) and GELF over
 * TCP (null-delimited plain JSON) on one port number, mapped to email_events rows
 * (mapping.ts) and written through the stream's ingest path in batches: at most
 * `batchRows` rows or `flushMs` after the first buffered row, one transaction per batch.
 * Each mapped event is validated on arrival, so one bad event never refuses a batch.
 * A re-sent message maps to the same event and therefore the same derived event id: stored
 * once. Every message has one outcome, counted in `opsdeck_gelf_messages_total{outcome}`.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type BlockList, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Counter, Gauge, type Registry } from 'prom-client';
import { allowList } from '../../net/outbound.ts';
import type { StreamStore } from '../../timeseries/stream-store.ts';
import { ChunkAssembler, decodeMessage } from './decode.ts';
import { mapGelf } from './mapping.ts';

/** What became of each message (or datagram that could not be one). */
export const GELF_OUTCOMES = ['stored', 'duplicate', 'ignored', 'invalid', 'garbage', 'oversize', 'incomplete', 'overflow', 'refused', 'failed'] as const;
export type GelfOutcome = (typeof GELF_OUTCOMES)[number];

export interface GelfReceiverOptions {
  streams: StreamStore;
  host: string;
  /** UDP and TCP port (0: any free port, for tests). */
  port: number;
  tcp?: boolean;
  /** Source addresses / CIDR ranges allowed to send; empty: any that reaches the port. */
  allow?: readonly string[];
  batchRows?: number;
  flushMs?: number;
  chunkTimeoutMs?: number;
  maxOpenMessages?: number;
  maxOpenBytes?: number;
  /** Largest message after decompression (and largest TCP frame). */
  maxMessageBytes?: number;
  /** A TCP connection that sends nothing for this long is closed (default 5 min). */
  tcpIdleMs?: number;
  /** Most TCP connections at once (default 256); more are refused by the server. */
  tcpMaxConnections?: number;
  /** UDP receive buffer asked of the kernel (Linux caps it at net.core.rmem_max). */
  recvBufferSize?: number;
  registry?: Registry;
  logger?: Logger;
  now?: () => number;
}

export class GelfReceiver {
  private readonly streams: StreamStore;
  private readonly opts: Required<Pick<GelfReceiverOptions, 'batchRows' | 'flushMs' | 'maxMessageBytes'>>;
  private readonly assembler: ChunkAssembler;
  private readonly allow: BlockList | null;
  private readonly counts = new Map<GelfOutcome | 'chunks', number>();
  private readonly messages: Counter<'outcome'>;
  private readonly chunks: Counter;
  private buffer: Record<string, unknown>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private sweeper: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();
  private udp: UdpSocket | null = null;
  private tcp: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly now: () => number;

  constructor(private readonly options: GelfReceiverOptions) {
    this.streams = options.streams;
    this.now = options.now ?? Date.now;
    this.opts = { batchRows: options.batchRows ?? 500, flushMs: options.flushMs ?? 1000, maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024 };
    this.assembler = new ChunkAssembler({
      timeoutMs: options.chunkTimeoutMs ?? 5000,
      maxOpenMessages: options.maxOpenMessages ?? 1000,
      maxOpenBytes: options.maxOpenBytes ?? 32 * 1024 * 1024,
      now: this.now,
    });
    this.allow = options.allow && options.allow.length > 0 ? allowList(options.allow) : null;
    const registers = options.registry ? [options.registry] : [];
    this.messages = new Counter({ name: 'opsdeck_gelf_messages_total', help: 'GELF messages received, by outcome (stored, duplicate, ignored: not a delivery event, invalid, garbage, oversize, incomplete: a chunk never arrived, overflow, refused: source not allowed, failed: write failed)', labelNames: ['outcome'] as const, registers });
    this.chunks = new Counter({ name: 'opsdeck_gelf_chunks_total', help: 'GELF chunks received', registers });
    const assembler = this.assembler;
    new Gauge({ name: 'opsdeck_gelf_open_messages', help: 'Chunked GELF messages being assembled', registers, collect() {
      this.set(assembler.openMessages);
    } });
  }

  private count(outcome: GelfOutcome | 'chunks', n = 1): void {
    if (n === 0) return;
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + n);
    if (outcome === 'chunks') this.chunks.inc(n);
    else this.messages.inc({ outcome }, n);
  }

  /** The counts so far (outcomes and chunks). */
  stats(): Record<GelfOutcome | 'chunks', number> {
    const out = {} as Record<GelfOutcome | 'chunks', number>;
    for (const k of [...GELF_OUTCOMES, 'chunks'] as const) out[k] = this.counts.get(k) ?? 0;
    return out;
  }

  async start(): Promise<{ udpPort: number; tcpPort: number | null }> {
    const host = this.options.host;
    const udp = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: this.options.recvBufferSize ?? 8 * 1024 * 1024 });
    this.udp = udp;
    udp.on('message', (msg, rinfo) => this.datagram(msg, rinfo));
    udp.on('error', (err) => this.options.logger?.warn({ err }, 'GELF UDP socket error'));
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(this.options.port, host, () => {
        udp.off('error', reject);
        resolve();
      });
    });
    const udpPort = udp.address().port;
    let tcpPort: number | null = null;
    if (this.options.tcp !== false) {
      const server = createServer((s) => this.connection(s));
      server.maxConnections = this.options.tcpMaxConnections ?? 256;
      this.tcp = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.options.port === 0 ? udpPort : this.options.port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      tcpPort = (server.address() as AddressInfo).port;
    }
    const timeout = this.options.chunkTimeoutMs ?? 5000;
    this.sweeper = setInterval(() => this.sweep(), Math.max(100, Math.min(1000, timeout / 2)));
    this.sweeper.unref();
    return { udpPort, tcpPort };
  }

  /** Stops listening, writes what is buffered. */
  async stop(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    for (const s of this.sockets) s.destroy();
    await Promise.all([
      this.udp ? new Promise<void>((r) => this.udp!.close(() => r())) : undefined,
      this.tcp ? new Promise<void>((r) => this.tcp!.close(() => r())) : undefined,
    ]);
    this.udp = null;
    this.tcp = null;
    await this.flush();
  }

  /** Drops chunked messages past the timeout, counting each as incomplete. */
  sweep(): void {
    this.count('incomplete', this.assembler.sweep());
  }

  private allowed(address: string, family: string): boolean {
    if (!this.allow) return true;
    const ok = this.allow.check(address, family === 'IPv6' ? 'ipv6' : 'ipv4');
    if (!ok) this.count('refused');
    return ok;
  }

  private datagram(msg: Buffer, rinfo: RemoteInfo): void {
    if (!this.allowed(rinfo.address, rinfo.family)) return;
    if (ChunkAssembler.isChunk(msg)) {
      this.count('chunks');
      const r = this.assembler.add(msg);
      if (r.kind === 'complete') this.whole(r.payload);
      else if (r.kind === 'invalid') this.count('garbage');
      else if (r.kind === 'overflow') this.count('overflow');
      return;
    }
    this.whole(msg);
  }

  private connection(s: Socket): void {
    if (!this.allowed(s.remoteAddress ?? '', s.remoteFamily ?? 'IPv4')) {
      s.destroy();
      return;
    }
    this.sockets.add(s);
    s.setTimeout(this.options.tcpIdleMs ?? 300_000, () => s.destroy());
    let pending: Buffer[] = [];
    let size = 0;
    s.on('data', (data: Buffer) => {
      let start = 0;
      for (let i = data.indexOf(0); i !== -1; i = data.indexOf(0, start)) {
        pending.push(data.subarray(start, i));
        const frame = Buffer.concat(pending);
        pending = [];
        size = 0;
        start = i + 1;
        if (frame.length > 0) this.whole(frame);
      }
      const rest = data.subarray(start);
      size += rest.length;
      if (size > this.opts.maxMessageBytes) {
        this.count('oversize');
        s.destroy();
        return;
      }
      if (rest.length > 0) pending.push(rest);
    });
    s.on('error', () => undefined);
    s.on('close', () => this.sockets.delete(s));
  }

  private whole(payload: Buffer): void {
    const d = decodeMessage(payload, this.opts.maxMessageBytes);
    if (!d.ok) {
      this.count(d.reason);
      return;
    }
    const m = mapGelf(d.message, this.now());
    if (m.kind === 'ignored') {
      this.count('ignored');
      return;
    }
    try {
      this.streams.prepare('email', [m.event]);
    } catch {
      this.count('invalid');
      return;
    }
    this.buffer.push(m.event);
    if (this.buffer.length >= this.opts.batchRows) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.opts.flushMs);
      this.timer.unref();
    }
  }

  /** Writes the buffered events in one transaction (batches are written one after another). */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const rows = this.buffer;
    this.buffer = [];
    this.writing = this.writing.then(async () => {
      if (rows.length === 0) return;
      try {
        const r = await this.streams.ingest('email', rows);
        this.count('stored', r.inserted);
        this.count('duplicate', r.duplicates);
      } catch (err) {
        this.count('failed', rows.length);
        this.options.logger?.warn({ err, rows: rows.length }, 'GELF: a batch of email events could not be written');
      }
    });
    return this.writing;
  }
}
