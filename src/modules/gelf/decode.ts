/**
 * GELF datagrams (https://go2docs.graylog.org/current/getting_in_log_data/gelf.html):
 * a chunk starts with the magic bytes 0x1e 0x0f, then an 8-byte message id, the chunk's
 * sequence number and the chunk count (at most 128); a whole message is plain JSON,
 * zlib-deflated (what the `gelf` npm package that WildDuck, ZoneMTA and their plugins use
 * sends) or gzip-compressed. Chunks of one message are kept until all arrived, with a
 * timeout and caps on open messages and their bytes; the caller counts what is dropped.
 */
import { gunzipSync, inflateSync } from 'node:zlib';

export const CHUNK_MAGIC = [0x1e, 0x0f] as const;
export const CHUNK_HEADER = 12;
export const MAX_CHUNKS = 128;

export type DecodeResult = { ok: true; message: Record<string, unknown> } | { ok: false; reason: 'garbage' | 'oversize' };

/** Decompresses (gzip, zlib or none) and parses one whole GELF message; never throws. */
export function decodeMessage(payload: Buffer, maxBytes: number): DecodeResult {
  let text: Buffer;
  try {
    if (payload.length >= 2 && payload[0] === 0x1f && payload[1] === 0x8b) text = gunzipSync(payload, { maxOutputLength: maxBytes });
    else if (payload.length >= 2 && (payload[0]! & 0x0f) === 8 && ((payload[0]! << 8) | payload[1]!) % 31 === 0) text = inflateSync(payload, { maxOutputLength: maxBytes });
    else if (payload.length > maxBytes) return { ok: false, reason: 'oversize' };
    else text = payload;
  } catch (err) {
    // zlib refuses output beyond maxOutputLength with ERR_BUFFER_TOO_LARGE
    return { ok: false, reason: (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE' ? 'oversize' : 'garbage' };
  }
  let v: unknown;
  try {
    v = JSON.parse(text.toString('utf8'));
  } catch {
    return { ok: false, reason: 'garbage' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, reason: 'garbage' };
  return { ok: true, message: v as Record<string, unknown> };
}

interface Open {
  parts: (Buffer | undefined)[];
  received: number;
  bytes: number;
  firstAt: number;
}

export interface AssemblerOptions {
  /** A message whose chunks did not all arrive within this time is dropped (GELF: 5 s). */
  timeoutMs: number;
  /** Most messages being assembled at once; a chunk of a new message beyond it is dropped. */
  maxOpenMessages: number;
  /** Most bytes held by messages being assembled. */
  maxOpenBytes: number;
  now: () => number;
}

export type ChunkResult =
  | { kind: 'complete'; payload: Buffer }
  | { kind: 'pending' }
  | { kind: 'duplicate-chunk' }
  | { kind: 'invalid' }
  | { kind: 'overflow' };

/** Reassembles chunked messages; `sweep()` drops those past the timeout and returns how many. */
export class ChunkAssembler {
  private readonly open = new Map<string, Open>();
  private bytes = 0;

  constructor(private readonly opts: AssemblerOptions) {}

  static isChunk(b: Buffer): boolean {
    return b.length >= 2 && b[0] === CHUNK_MAGIC[0] && b[1] === CHUNK_MAGIC[1];
  }

  get openMessages(): number {
    return this.open.size;
  }

  get openBytes(): number {
    return this.bytes;
  }

  add(b: Buffer): ChunkResult {
    if (b.length <= CHUNK_HEADER) return { kind: 'invalid' };
    const id = b.subarray(2, 10).toString('hex');
    const seq = b[10]!;
    const count = b[11]!;
    if (count === 0 || count > MAX_CHUNKS || seq >= count) return { kind: 'invalid' };
    const data = b.subarray(CHUNK_HEADER);
    let m = this.open.get(id);
    if (!m) {
      if (count === 1) return { kind: 'complete', payload: Buffer.from(data) };
      if (this.open.size >= this.opts.maxOpenMessages || this.bytes + data.length > this.opts.maxOpenBytes) return { kind: 'overflow' };
      m = { parts: new Array<Buffer | undefined>(count), received: 0, bytes: 0, firstAt: this.opts.now() };
      this.open.set(id, m);
    }
    if (m.parts.length !== count) return { kind: 'invalid' };
    if (m.parts[seq]) return { kind: 'duplicate-chunk' };
    if (this.bytes + data.length > this.opts.maxOpenBytes) {
      this.drop(id, m);
      return { kind: 'overflow' };
    }
    m.parts[seq] = Buffer.from(data);
    m.received++;
    m.bytes += data.length;
    this.bytes += data.length;
    if (m.received < count) return { kind: 'pending' };
    this.drop(id, m);
    return { kind: 'complete', payload: Buffer.concat(m.parts as Buffer[]) };
  }

  private drop(id: string, m: Open): void {
    this.open.delete(id);
    this.bytes -= m.bytes;
  }

  /** Drops the messages older than the timeout; returns how many were dropped. */
  sweep(): number {
    const limit = this.opts.now() - this.opts.timeoutMs;
    let n = 0;
    for (const [id, m] of this.open) {
      if (m.firstAt <= limit) {
        this.drop(id, m);
        n++;
      }
    }
    return n;
  }
}
