/**
 * The `opsdeck` command.
 *
 *   opsdeck serve                   migrate, seed, start jobs, self-monitoring and the API
 *   opsdeck db migrate              apply pending migrations
 *   opsdeck db migrate status       applied / pending, one line each
 *   opsdeck db migrate init         initialise a fresh database (refuses a migrated one)
 *   opsdeck db seed [--sample]      idempotent seed data (--sample: a week of mail-cluster data)
 *   opsdeck db reset [--force]      drop everything and migrate again (refuses NODE_ENV=production without --force)
 *   opsdeck jobs run <name>         run one periodic job now
 */
import { resolve } from 'node:path';
import { loadConfig, type Config } from '../config.ts';
import { dropAll, formatStatus, initDatabase, migrate, migrationStatus } from '../db/migrator.ts';
import { createLogger, createRuntime, openDatabase, VERSION } from '../runtime.ts';
import { runSeed } from './seed.ts';
import { startupErrorLine } from './errors.ts';
import { serve } from './serve.ts';

/** The configuration once loaded: start-up error messages name its database. */
let loaded: Config | undefined;

const USAGE = `opsdeck ${VERSION}

Usage:
  opsdeck serve                    run the API server (migrates and seeds first)
  opsdeck db migrate               apply pending migrations
  opsdeck db migrate status        show applied and pending migrations
  opsdeck db migrate init          initialise a fresh database
  opsdeck db seed [--sample]       load seed data (--sample: a week of demo mail-cluster data)
  opsdeck db reset [--force]       drop all data and migrate again
  opsdeck jobs run <name>          run one periodic job now

Configuration comes from the environment; see the README.`;

async function withDb<T>(config: Config, fn: (db: Awaited<ReturnType<typeof openDatabase>>) => Promise<T>): Promise<T> {
  const logger = createLogger({ logLevel: config.logLevel === 'info' ? 'warn' : config.logLevel });
  const db = await openDatabase(config, logger);
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

async function main(argv: string[]): Promise<number> {
  // Whatever this process creates (embedded database, data files) is the owner's only.
  process.umask(0o077);
  const [cmd, sub, ...rest] = argv;
  const flags = new Set(argv.filter((a) => a.startsWith('--')));
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    console.log(USAGE);
    return 0;
  }
  if (cmd === '--version' || cmd === 'version') {
    console.log(VERSION);
    return 0;
  }
  const config = loadConfig();
  loaded = config;
  if (cmd === 'serve') return serve(config);
  if (cmd === 'db') {
    const action = sub === 'migrate' ? (rest.find((r) => !r.startsWith('--')) ?? 'up') : sub;
    switch (sub === 'migrate' ? `migrate:${action}` : action) {
      case 'migrate:up':
        return withDb(config, async (db) => {
          const r = await migrate(db, { tierPreference: config.storageTier, onApplied: (m) => console.log(`✓ Applied | Version ${m.version} | ${m.name} | ${m.durationMs} ms`) });
          if (r.tier.notice) console.error(`opsdeck: ${r.tier.notice}`);
          console.log(r.applied.length ? `${r.applied.length} migration(s) applied; version ${r.currentVersion} (${r.tier.tier} tier)` : `nothing to apply; version ${r.currentVersion} (${r.tier.tier} tier)`);
          return 0;
        });
      case 'migrate:status':
        return withDb(config, async (db) => {
          console.log(formatStatus(await migrationStatus(db)));
          return 0;
        });
      case 'migrate:init':
        return withDb(config, async (db) => {
          const r = await initDatabase(db, { tierPreference: config.storageTier, onApplied: (m) => console.log(`✓ Applied | Version ${m.version} | ${m.name} | ${m.durationMs} ms`) });
          if (r.tier.notice) console.error(`opsdeck: ${r.tier.notice}`);
          const seeded = await runSeed(config, db, { sample: false });
          for (const line of seeded) console.log(line);
          console.log(`initialised on the ${r.tier.tier} tier (${r.tier.reason}); version ${r.currentVersion}`);
          return 0;
        });
      case 'seed':
        return withDb(config, async (db) => {
          await migrate(db, { tierPreference: config.storageTier });
          for (const line of await runSeed(config, db, { sample: flags.has('--sample') })) console.log(line);
          return 0;
        });
      case 'reset': {
        if (config.nodeEnv === 'production' && !flags.has('--force')) {
          console.error('refusing to reset a production database (NODE_ENV=production); add --force if you mean it');
          return 1;
        }
        await withDb(config, (db) => dropAll(db));
        // A new connection: TimescaleDB cannot be re-created in the session that dropped it.
        return withDb(config, async (db) => {
          const r = await migrate(db, { tierPreference: config.storageTier });
          for (const line of await runSeed(config, db, { sample: flags.has('--sample') })) console.log(line);
          console.log(`database reset: ${r.applied.length} migration(s) applied on the ${r.tier.tier} tier`);
          return 0;
        });
      }
      default:
        console.error(`unknown db command: ${[sub, ...rest].join(' ')}\n\n${USAGE}`);
        return 2;
    }
  }
  if (cmd === 'jobs' && sub === 'run' && rest[0]) {
    const rt = await createRuntime({ ...config, logLevel: 'warn' });
    try {
      const r = await rt.jobs.runOnce(rest[0]);
      console.log(JSON.stringify(r, null, 2));
      return r.outcome === 'error' ? 1 : 0;
    } finally {
      await rt.close();
    }
  }
  console.error(`unknown command: ${argv.join(' ')}\n\n${USAGE}`);
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (code === 0) setTimeout(() => process.exit(0), 200).unref();
  },
  (err: unknown) => {
    const line = startupErrorLine(err, loaded?.databaseUrl, resolve(loaded?.dataDir ?? process.env.OPSDECK_DATA_DIR ?? './data'));
    if (line !== null) console.error(`opsdeck: ${line}`);
    else console.error('opsdeck:', err instanceof Error ? (err.stack ?? err.message) : err);
    process.exitCode = 1;
  },
);
