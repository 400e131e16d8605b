/**
 * `opsdeck db seed`: idempotent seed data. Always: the first admin user (when
 * there is none). With --sample: a week of demo data for a small mail cluster.
 */
import pino from 'pino';
import type { Config } from '../config.ts';
import type { Database } from './database.ts';
import { migrate } from './migrator.ts';
import { createAuthModule } from '../modules/auth/index.ts';
import { FAMILIES } from '../timeseries/registry.ts';
import { TimeseriesStore } from '../timeseries/store.ts';

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
    const tier = (await migrate(db, { tierPreference: config.storageTier })).tier.tier;
    const store = new TimeseriesStore({ db, tier, families: FAMILIES });
    const { loadSampleData } = await import('../modules/mail-cluster/sample-data.ts');
    const r = await loadSampleData(store, {});
    out.push(`sample data: ${JSON.stringify(r)}`);
  }
  return out;
}
