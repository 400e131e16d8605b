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
import { Semaphore } from '../domain/semaphore.ts';

/** Reservation of a compressed body per byte sent (its decoded size is not known ahead). */
export const ENCODED_FACTOR = 8;

/** The bytes of request bodies processed at once (a Semaphore weighted in bytes). */
export class BodyBudget {
  private readonly sem: Semaphore;

  constructor(
    /** Bytes of bodies being processed at once. */
    capacity: number,
    /** Longest wait for room before a request is refused. */
    readonly queueMs: number,
  ) {
    this.sem = new Semaphore(capacity);
  }

  /** Bytes reserved now, and requests holding them (for self-monitoring and tests). */
  stats(): { usedBytes: number; requests: number; waiting: number } {
    return { usedBytes: this.sem.inUse, requests: this.sem.held, waiting: this.sem.waiting };
  }

  /**
   * Reserves `bytes`; resolves with the release function, or with null when there was
   * no room within queueMs. A request larger than the whole budget runs alone.
   */
  acquire(bytes: number): Promise<(() => void) | null> {
    return this.sem.acquire(bytes, this.queueMs);
  }
}

/** The bytes a request with these headers reserves (0: no body). */
export function bodyReservation(headers: { 'content-length'?: string | undefined; 'content-encoding'?: string | undefined; 'transfer-encoding'?: string | undefined }, bodyLimit: number): number {
  const length = headers['content-length'] === undefined ? NaN : Number(headers['content-length']);
  const encoded = (headers['content-encoding'] ?? 'identity').toLowerCase() !== 'identity';
  if (Number.isFinite(length)) return Math.min(bodyLimit, encoded ? length * ENCODED_FACTOR : length);
  return headers['transfer-encoding'] ? bodyLimit : 0;
}
