/**
 * `opsdeck serve` (= `npm start`): migrate, seed, start jobs, self-monitoring
 * and the API; print where it listens and how to log in; shut down cleanly on
 * SIGTERM/SIGINT (in-flight requests finish, new ones get 503, jobs stop, pool
 * closes, exit within 10 s).
 */
import { resolve } from 'node:path';
import type { Config } from '../config.ts';
import { createRuntime, VERSION, type Runtime } from '../runtime.ts';
import { EmbeddedPostgresDatabase } from '../db/connect.ts';
import { startSelfMonitor, type SelfMonitor } from '../modules/selfmon/service.ts';

const HARD_EXIT_MS = 10_000;

export async function serve(config: Config): Promise<number> {
  const rt = await createRuntime(config);
  try {
    return await run(config, rt);
  } catch (err) {
    // A start that fails after the database opened (the HTTP port in use, say) stops the embedded server too.
    await rt.close().catch(() => undefined);
    throw err;
  }
}

async function run(config: Config, rt: Runtime): Promise<number> {
  const { logger } = rt;
  const seeded = await rt.auth.seed();
  // The connection that migrated and seeded keeps the catalogue of every relation it touched; serve on fresh ones.
  await rt.db.renewConnections();
  if (config.jobs) rt.jobs.start();
  let selfmon: SelfMonitor | null = null;
  if (config.selfMonitor) {
    selfmon = startSelfMonitor({ store: rt.store, nodeId: config.nodeId, intervalMs: config.selfMonitorIntervalSeconds * 1000, logger, diskPath: resolve(config.dataDir) });
  }
  const address = await rt.app.listen({ port: config.port, host: config.host });
  const base = address.replace('://[::1]', '://localhost');
  const storage = config.databaseUrl
    ? `PostgreSQL server (${rt.tier.tier} tier: ${rt.tier.reason})`
    : rt.db instanceof EmbeddedPostgresDatabase
      ? `embedded PostgreSQL ${rt.db.server.major} in ${rt.db.server.clusterDir} (${rt.tier.tier} tier; Unix socket in ${rt.db.server.socketDir}${rt.db.server.runAs.name === 'this user' ? '' : `; runs as ${rt.db.server.runAs.name}`})`
      : `embedded PGlite in ${resolve(config.dataDir)} (${rt.tier.tier} tier)`;
  const login = seeded.generatedPassword
    ? `user "admin", password "${seeded.generatedPassword}" (generated now and shown only once — change it with POST /api/v1/auth/password)`
    : seeded.createdAdmin
      ? 'user "admin" with the password from OPSDECK_ADMIN_PASSWORD'
      : 'an existing user (the first one is "admin")';
  const lines = [
    '',
    `  Opsdeck ${VERSION} listening on ${base}`,
    ...(config.dashboard ? [`  Dashboard:  ${base}/`] : []),
    `  API docs:   ${base}/docs   (OpenAPI: ${base}/openapi.json)`,
    `  Storage:    ${storage}`,
    `  Log in:     ${login}`,
    `              curl -s -X POST ${base}/api/v1/auth/login -H 'content-type: application/json' -d '{"username":"admin","password":"…"}'`,
    `  Self-monitoring: ${config.selfMonitor ? `node "${config.nodeId}" every ${config.selfMonitorIntervalSeconds} s` : 'off'}`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  return new Promise<number>((resolveExit) => {
    let stopping = false;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: draining requests');
      const hard = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, HARD_EXIT_MS);
      hard.unref();
      rt.state.draining = true;
      void (async () => {
        try {
          await selfmon?.stop();
          const closed = await Promise.race([
            rt.close().then(() => true),
            new Promise<boolean>((r) => setTimeout(() => r(false), config.shutdownTimeoutMs).unref()),
          ]);
          if (closed) logger.info('stopped');
          else logger.warn({ shutdownTimeoutMs: config.shutdownTimeoutMs }, 'shutdown timeout reached before requests and connections were closed; exiting anyway');
          resolveExit(0);
        } catch (err) {
          logger.error({ err }, 'error during shutdown');
          resolveExit(1);
        }
      })();
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
  });
}
