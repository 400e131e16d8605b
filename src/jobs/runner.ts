/**
 * Periodic jobs with run history in `opsdeck_job_runs`.
 *
 * A job runs one process at a time when several Opsdeck processes share a
 * database; the others record `skipped`. Two ways:
 *
 * - transactional (default): the run happens inside a transaction that first
 *   takes pg_try_advisory_xact_lock(job); everything the job writes commits
 *   with it. Right for jobs that only talk to the database.
 * - `transaction: false`: the run holds a lease row in `opsdeck_job_leases`
 *   (taken in one short statement, renewed while the job runs, given back at
 *   the end; a lease whose holder died expires) and no transaction or pooled
 *   connection while it waits on something else — probes and notification
 *   deliveries wait on the network. The job takes its own short transactions.
 *
 * stop() waits for the runs in flight, so SIGTERM ends cleanly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/database.ts';

export interface JobContext {
  signal: AbortSignal;
}

export interface JobDefinition {
  name: string;
  description: string;
  intervalMs: number;
  /** Delay before the first run after start() (default: a few seconds, spread per job). */
  initialDelayMs?: number;
  /**
   * false: run under a lease, outside any transaction (see the header). Default true: the run
   * happens inside the job's transaction (calls on the database join it).
   */
  transaction?: boolean;
  /** Lease length for `transaction: false` jobs (default: 3 × intervalMs, at least 60 s); renewed every third of it while running. */
  leaseMs?: number;
  /** Returns details for the history. */
  run(ctx: JobContext): Promise<Record<string, unknown> | void>;
}

/**
 * Thrown by a job whose work partly failed: the run is recorded as an error
 * with these details, but what the job did before throwing is committed (the
 * job has rolled its failed parts back to savepoints).
 */
export class JobFailedError extends Error {
  constructor(
    message: string,
    readonly details: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'JobFailedError';
  }
}

export interface JobRun {
  job: string;
  outcome: 'ok' | 'error' | 'skipped';
  startedAt: Date;
  durationMs: number;
  error: string | null;
  details: Record<string, unknown> | null;
}

export interface JobRunnerOptions {
  db: Database;
  logger?: Logger | undefined;
  instance?: string;
  onRun?: (run: JobRun) => void;
}

/** 64-bit advisory lock key of a job name (stable across processes). */
export function jobLockKey(name: string): string {
  const h = createHash('sha256').update(`opsdeck-job:${name}`).digest();
  return h.readBigInt64BE(0).toString();
}

export class JobRunner {
  private readonly jobs = new Map<string, JobDefinition>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly abort = new AbortController();
  private running = false;
  readonly instance: string;
  /** Lease holder: the instance plus a nonce, so two runners in one process are two holders. */
  private readonly holder: string;

  constructor(private readonly opts: JobRunnerOptions) {
    this.instance = opts.instance ?? `${hostname()}:${process.pid}`;
    this.holder = `${this.instance}#${randomBytes(6).toString('hex')}`;
  }

  register(job: JobDefinition): this {
    if (this.jobs.has(job.name)) throw new Error(`job ${job.name} registered twice`);
    this.jobs.set(job.name, job);
    return this;
  }

  list(): JobDefinition[] {
    return [...this.jobs.values()];
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    let i = 0;
    for (const job of this.jobs.values()) this.schedule(job, job.initialDelayMs ?? 1000 + 750 * i++);
  }

  private schedule(job: JobDefinition, delay: number): void {
    if (!this.running) return;
    const t = setTimeout(() => {
      const p = this.runOnce(job.name)
        .catch(() => undefined)
        .finally(() => {
          this.inFlight.delete(p);
          this.schedule(job, job.intervalMs);
        });
      this.inFlight.add(p);
    }, delay);
    t.unref();
    this.timers.set(job.name, t);
  }

  /** Runs one job now (under its lock) and records the outcome. */
  async runOnce(name: string): Promise<JobRun> {
    const job = this.jobs.get(name);
    if (!job) throw new Error(`unknown job ${name}`);
    const startedAt = new Date();
    const t0 = performance.now();
    let outcome: JobRun['outcome'] = 'ok';
    let error: string | null = null;
    let details: Record<string, unknown> | null = null;
    try {
      const r = job.transaction === false ? await this.runLeased(job) : await this.opts.db.transaction(async (tx) => {
        const lock = await tx.queryOne<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1::bigint) AS ok', [jobLockKey(name)]);
        if (!lock?.ok) return { skipped: true as const };
        try {
          return { skipped: false as const, details: (await job.run({ signal: this.abort.signal })) ?? null };
        } catch (err) {
          if (err instanceof JobFailedError) return { skipped: false as const, details: err.details, failure: err };
          throw err;
        }
      });
      if (r.skipped) outcome = 'skipped';
      else details = r.details;
      if ('failure' in r && r.failure) {
        outcome = 'error';
        error = r.failure.message;
        this.opts.logger?.error({ job: name, err: r.failure, details }, 'job failed');
      }
    } catch (err) {
      outcome = 'error';
      error = err instanceof Error ? err.message : String(err);
      this.opts.logger?.error({ job: name, err }, 'job failed');
    }
    const run: JobRun = { job: name, outcome, startedAt, durationMs: Math.round(performance.now() - t0), error, details };
    try {
      await this.opts.db.query(
        `INSERT INTO opsdeck_job_runs (job, instance, started_at, finished_at, duration_ms, outcome, error, details)
         VALUES ($1, $2, $3, clock_timestamp(), $4, $5, $6, $7::text::jsonb)`,
        [name, this.instance, startedAt.toISOString(), run.durationMs, outcome, error, details ? JSON.stringify(details) : null],
      );
    } catch (err) {
      this.opts.logger?.warn({ job: name, err }, 'could not record job run');
    }
    if (outcome !== 'skipped') this.opts.logger?.debug({ job: name, outcome, durationMs: run.durationMs, details }, 'job run');
    this.opts.onRun?.(run);
    return run;
  }

  private async runLeased(job: JobDefinition): Promise<{ skipped: true } | { skipped: false; details: Record<string, unknown> | null; failure?: JobFailedError }> {
    const leaseMs = job.leaseMs ?? Math.max(60_000, 3 * job.intervalMs);
    const got = await this.opts.db.queryOne<{ holder: string }>(
      `INSERT INTO opsdeck_job_leases AS l (job, holder, acquired_at, expires_at)
       VALUES ($1, $2, clock_timestamp(), clock_timestamp() + make_interval(secs => $3::double precision / 1000))
       ON CONFLICT (job) DO UPDATE SET holder = EXCLUDED.holder, acquired_at = EXCLUDED.acquired_at, expires_at = EXCLUDED.expires_at
       WHERE l.expires_at < clock_timestamp() OR l.holder = EXCLUDED.holder
       RETURNING holder`,
      [job.name, this.holder, leaseMs],
    );
    if (!got) return { skipped: true };
    const renew = setInterval(() => {
      this.opts.db
        .query(
          `UPDATE opsdeck_job_leases SET expires_at = clock_timestamp() + make_interval(secs => $3::double precision / 1000) WHERE job = $1 AND holder = $2`,
          [job.name, this.holder, leaseMs],
        )
        .catch((err: unknown) => this.opts.logger?.warn({ job: job.name, err }, 'could not renew job lease'));
    }, Math.max(1000, Math.floor(leaseMs / 3)));
    renew.unref();
    try {
      return { skipped: false, details: (await job.run({ signal: this.abort.signal })) ?? null };
    } catch (err) {
      if (err instanceof JobFailedError) return { skipped: false, details: err.details, failure: err };
      throw err;
    } finally {
      clearInterval(renew);
      await this.opts.db
        .query(`DELETE FROM opsdeck_job_leases WHERE job = $1 AND holder = $2`, [job.name, this.holder])
        .catch((err: unknown) => this.opts.logger?.warn({ job: job.name, err }, 'could not give back job lease'));
    }
  }

  /** Stops scheduling and waits for runs in flight. */
  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }
}

export interface JobRunRow {
  id: number;
  job: string;
  instance: string;
  started_at: Date;
  finished_at: Date | null;
  duration_ms: number | null;
  outcome: 'ok' | 'error' | 'skipped';
  error: string | null;
  details: Record<string, unknown> | null;
}

/** Latest runs, newest first, optionally of one job. */
export async function jobHistory(db: Database, opts: { job?: string; limit?: number } = {}): Promise<JobRunRow[]> {
  return db.queryMany<JobRunRow>(
    `SELECT id, job, instance, started_at, finished_at, duration_ms, outcome, error, details
     FROM opsdeck_job_runs WHERE ($1::text IS NULL OR job = $1) ORDER BY started_at DESC, id DESC LIMIT $2`,
    [opts.job ?? null, opts.limit ?? 50],
  );
}
