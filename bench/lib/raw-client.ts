/**
 * A lean HTTP/1.1 keep-alive sender for the single-request phases: one raw TCP
 * socket per connection, request bytes encoded before the clock starts, and a
 * response parser that reads only the status line, Content-Length (or a chunked
 * body's end) — what wrk or autocannon do. node:http's client cost about as much
 * CPU per request as the server handling it, on the same two cores.
 */
import { connect, type Socket } from 'node:net';

interface Pending {
  resolve: (r: { status: number; body: Buffer }) => void;
  reject: (err: Error) => void;
}

/** One keep-alive connection; requests are sent one at a time (no pipelining). */
export class RawConnection {
  private readonly socket: Socket;
  private buf: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private readonly ready: Promise<void>;

  constructor(host: string, port: number) {
    this.socket = connect({ host, port, noDelay: true });
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve());
      this.socket.once('error', reject);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
      this.parse();
    });
    this.socket.on('error', (err) => this.fail(err));
    this.socket.on('close', () => this.fail(new Error('connection closed')));
  }

  private fail(err: Error): void {
    const p = this.pending;
    this.pending = null;
    p?.reject(err);
  }

  private parse(): void {
    if (!this.pending) return;
    const headEnd = this.buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = this.buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    let end: number;
    let body: Buffer;
    if (m) {
      end = headEnd + 4 + Number(m[1]);
      if (this.buf.length < end) return;
      body = this.buf.subarray(headEnd + 4, end);
    } else if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
      const last = this.buf.indexOf('\r\n0\r\n\r\n', headEnd + 2);
      if (last < 0) return;
      end = last + 7;
      body = this.buf.subarray(headEnd + 4, end); // chunk framing kept: only error texts read it
    } else {
      end = headEnd + 4;
      body = Buffer.alloc(0);
    }
    this.buf = this.buf.subarray(end);
    const p = this.pending;
    this.pending = null;
    p.resolve({ status, body });
  }

  async send(request: Buffer): Promise<{ status: number; body: Buffer }> {
    await this.ready;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(request);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** The bytes of one POST with a JSON body. */
export function postBytes(host: string, path: string, token: string, body: Buffer): Buffer {
  const head = `POST ${path} HTTP/1.1\r\nhost: ${host}\r\nauthorization: Bearer ${token}\r\naccept: application/json\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}
