/**
 * PostgreSQL's binary COPY format, written field by field (the "Binary Format" section of the
 * COPY page of PostgreSQL's manual): a signature and two empty header words, then per row its
 * field count and each field as a byte length and the type's binary form (network byte order),
 * -1 for NULL, and a trailer. The server reads it without parsing text: about half the CPU of
 * an INSERT of the same rows from array literals (docs/adr/0033-large-batches-by-binary-copy.md).
 *
 * The forms written here are the ones whose binary layout is fixed and documented by the type's
 * send/receive functions: float8, int4, int8, bool, timestamptz (microseconds since 2000-01-01
 * UTC) and text (its UTF-8 bytes; the server checks them against its encoding).
 */

/** 2000-01-01T00:00:00Z, PostgreSQL's epoch for timestamps, in microseconds since 1970. */
const PG_EPOCH_MICROS = 946_684_800_000_000;
const TWO_32 = 4_294_967_296;
const SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');

export class CopyBinaryWriter {
  private buf: Buffer;
  private view: DataView;
  private o = 0;

  /** `capacity`: bytes to start with (grown when needed). */
  constructor(capacity = 1 << 16) {
    this.buf = Buffer.allocUnsafe(Math.max(64, capacity));
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    SIGNATURE.copy(this.buf, 0);
    this.view.setInt32(11, 0); // flags
    this.view.setInt32(15, 0); // header extension length
    this.o = 19;
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.o + n, this.buf.length * 2));
    this.buf.copy(bigger, 0, 0, this.o);
    this.buf = bigger;
    this.view = new DataView(bigger.buffer, bigger.byteOffset, bigger.byteLength);
  }

  /** Starts a row of `fields` fields. */
  row(fields: number): void {
    this.room(2);
    this.view.setInt16(this.o, fields);
    this.o += 2;
  }

  null(): void {
    this.room(4);
    this.view.setInt32(this.o, -1);
    this.o += 4;
  }

  /** A double; negative zero is written as zero, as its text form ("0") would store it. */
  float8(x: number): void {
    this.room(12);
    this.view.setInt32(this.o, 8);
    this.view.setFloat64(this.o + 4, x === 0 ? 0 : x);
    this.o += 12;
  }

  /** A whole number in int4's range. */
  int4(x: number): void {
    this.room(8);
    this.view.setInt32(this.o, 4);
    this.view.setInt32(this.o + 4, x);
    this.o += 8;
  }

  /** A whole number a double holds exactly (|x| ≤ 2^53 - 1: what Opsdeck accepts for int8 columns). */
  int8(x: number): void {
    this.room(12);
    const hi = Math.floor(x / TWO_32);
    this.view.setInt32(this.o, 8);
    this.view.setInt32(this.o + 4, hi);
    this.view.setUint32(this.o + 8, x - hi * TWO_32);
    this.o += 12;
  }

  /** A time in microseconds since 1970-01-01T00:00:00Z (whole microseconds). */
  timestamptz(micros: number): void {
    this.int8(micros - PG_EPOCH_MICROS);
  }

  bool(b: boolean): void {
    this.room(5);
    this.view.setInt32(this.o, 1);
    this.buf[this.o + 4] = b ? 1 : 0;
    this.o += 5;
  }

  text(s: string): void {
    this.room(4 + s.length * 3);
    const n = this.buf.write(s, this.o + 4, 'utf8');
    this.view.setInt32(this.o, n);
    this.o += 4 + n;
  }

  /** The data with its trailer; the writer is not used after. */
  finish(): Uint8Array {
    this.room(2);
    this.view.setInt16(this.o, -1);
    this.o += 2;
    return this.buf.subarray(0, this.o);
  }
}
