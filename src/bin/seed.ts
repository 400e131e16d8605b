/**
 * `opsdeck db seed`: idempotent seed data. Always: the first admin user (when
 * there is none). With --sample: a week of demo data for a small mail cluster
 * (metrics of every family, and ~680,000 email delivery events).
 */
import pino from 'pino';
import type { Config } from '../config.ts';
import type { Database } from '../db/database.ts';
import { recordedTier } from '../db/tier.ts';
import { createAuthModule } from '../modules/auth/index.ts';
import { FAMILIES } from '../modules/families.ts';
import { STREAMS } from '../modules/streams.ts';
import { TimeseriesStore } from '../timeseries/store.ts';
import { StreamStore } from '../timeseries/stream-store.ts';

export async function runSeed(config: Config, db: Database, opts: { sample: boolean }): Promise<string[]> {
  const out: string[] = [];
  const logger = pino({ level: 'silent' });
  const auth = await createAuthModule({ db, config, logger });
  const s = await auth.seed();
  if (s.createdAdmin) {
    out.push(
      s.generatedPassword
        ? `created user admin with password ${s.generatedPassword} (shown once; change it after logging in)`
        : 'created user admin with the password from OPSDECK_ADMIN_PASSWORD',
    );
  } else out.push('users: already seeded');
  if (opts.sample) {
    // The callers migrate first; the tier is the one recorded then.
    const tier = await recordedTier(db);
    if (!tier) throw new Error('the database is not migrated; run `opsdeck db migrate` first');
    const store = new TimeseriesStore({ db, tier, families: FAMILIES });
    const { loadSampleData, loadSampleEvents, SAMPLE_SEED_EVENT_SCALE } = await import('../modules/mail-cluster/sample-data.ts');
    const now = new Date();
    const r = await loadSampleData(store, { now });
    out.push(`sample data: ${JSON.stringify(r)}`);
    const streams = new StreamStore({ db, tier, streams: STREAMS, logger });
    const e = await loadSampleEvents(streams, { now, scale: SAMPLE_SEED_EVENT_SCALE });
    out.push(`sample email events: ${JSON.stringify(e)}`);
  }
  return out;
}
