/**
 * A counting semaphore with weights, first come first served, and a bounded wait: the
 * database pool's permits (weight 1 each) and the request-body budget (weight = bytes)
 * both queue on it. A unit larger than the whole capacity runs alone, so it is never
 * refused for its size alone.
 */
interface Waiter {
  units: number;
  grant: () => void;
}

export class Semaphore {
  private used = 0;
  private holders = 0;
  private readonly queue: Waiter[] = [];

  constructor(readonly capacity: number) {}

  /** Units held now. */
  get inUse(): number {
    return this.used;
  }
  /** Holders now (one per granted acquire not yet released). */
  get held(): number {
    return this.holders;
  }
  get waiting(): number {
    return this.queue.length;
  }

  /**
   * Takes `units` (at most the capacity counts); resolves with the release function, or
   * with null when there was no room within `timeoutMs`. Later callers wait behind earlier
   * ones even when they would fit.
   */
  acquire(units: number, timeoutMs: number): Promise<(() => void) | null> {
    const n = Math.min(units, this.capacity);
    if (this.queue.length === 0 && this.fits(n)) return Promise.resolve(this.take(n));
    return new Promise((resolve) => {
      const waiter: Waiter = {
        units: n,
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
      }, timeoutMs);
      this.queue.push(waiter);
    });
  }

  private fits(n: number): boolean {
    return this.holders === 0 || this.used + n <= this.capacity;
  }

  private take(n: number): () => void {
    this.used += n;
    this.holders++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= n;
      this.holders--;
      this.drain();
    };
  }

  /** Grants waiters in arrival order while the head fits. */
  private drain(): void {
    while (this.queue.length > 0 && this.fits(this.queue[0]!.units)) this.queue.shift()!.grant();
  }
}
