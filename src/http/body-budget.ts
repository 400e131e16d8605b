/**
 * Admission control for request bodies: the bytes of the bodies Opsdeck reads and
 * processes at once are bounded, so memory under load is bounded by configuration
 * and not by how many clients send at the same moment. A request whose body does not
 * fit waits (first come, first served) up to `queueMs`, then gets 503 with
 * Retry-After — the answer agents already retry (VictoriaMetrics' -maxConcurrentInserts
 * and -insert.maxQueueDuration work the same way). A parsed body takes a few times its
 * size in memory (objects, column arrays, the insert's parameters), so the budget
 * is what sizes the heap a busy instance needs (docs/performance.md).
 *
 * What a request reserves: its Content-Length; for a compressed body (whose decoded
 * size is unknown until read) its Content-Length × ENCODED_FACTOR; without a length
 * (chunked) the body limit. Never more than the body limit. The reservation is
 * returned when the response has been sent or the connection closed.
 */

/** Reservation of a compressed body per byte sent (its decoded size is not known ahead). */
export const ENCODED_FACTOR = 8;

interface Waiter {
  bytes: number;
  grant: () => void;
}

export class BodyBudget {
  private used = 0;
  private inFlight = 0;
  private readonly queue: Waiter[] = [];

  constructor(
    /** Bytes of bodies being processed at once. */
    readonly capacity: number,
    /** Longest wait for room before a request is refused. */
    readonly queueMs: number,
  ) {}

  /** Bytes reserved now, and requests holding them (for self-monitoring and tests). */
  stats(): { usedBytes: number; requests: number; waiting: number } {
    return { usedBytes: this.used, requests: this.inFlight, waiting: this.queue.length };
  }

  /**
   * Reserves `bytes`; resolves with the release function, or with null when there was
   * no room within queueMs. A request larger than the whole budget runs alone.
   */
  acquire(bytes: number): Promise<(() => void) | null> {
    const n = Math.min(bytes, this.capacity);
    if (this.queue.length === 0 && this.fits(n)) return Promise.resolve(this.take(n));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes: n,
        grant: () => {
          clearTimeout(timer);
          resolve(this.take(n));
        },
      };
      const timer = setTimeout(() => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        resolve(null);
        // The head of the queue may have been the one too large to fit: the next may fit now.
        this.drain();
      }, this.queueMs);
      this.queue.push(waiter);
    });
  }

  private fits(n: number): boolean {
    return this.inFlight === 0 || this.used + n <= this.capacity;
  }

  private take(n: number): () => void {
    this.used += n;
    this.inFlight++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      this.inFlight--;
      this.drain();
    };
  }

  /** Grants waiters in arrival order while the head fits. */
  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.bytes)) this.queue.shift()!.grant();
  }
}

/** The bytes a request with these headers reserves (0: no body). */
export function bodyReservation(headers: { 'content-length'?: string | undefined; 'content-encoding'?: string | undefined; 'transfer-encoding'?: string | undefined }, bodyLimit: number): number {
  const length = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
  const encoded = (headers['content-encoding'] ?? 'identity').toLowerCase() !== 'identity';
  if (Number.isFinite(length)) return Math.min(bodyLimit, encoded ? length * ENCODED_FACTOR : length);
  return headers['transfer-encoding'] ? bodyLimit : 0;
}
