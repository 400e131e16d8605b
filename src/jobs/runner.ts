/**
 * Periodic jobs with run history in `opsdeck_job_runs`.
 *
 * Every run happens inside a transaction that first takes
 * pg_try_advisory_xact_lock(job): when several Opsdeck processes share a
 * database, one runs a given job and the others record `skipped`. stop() waits
 * for the runs in flight, so SIGTERM ends cleanly.
 */
import { createHash } from 'node:crypto';
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
  /** Runs inside the job's transaction (calls on the database join it). Returns details for the history. */
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

  constructor(private readonly opts: JobRunnerOptions) {
    this.instance = opts.instance ?? `${hostname()}:${process.pid}`;
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
      const r = await this.opts.db.transaction(async (tx) => {
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
