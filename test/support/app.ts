/** Builds the real runtime (migrations, store, routes, auth) on a test backend for app.inject() tests. */
import { loadConfig, type Config } from '../../src/config.ts';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.ts';
import { openDatabase, type BackendKind } from './backends.ts';
import pino from 'pino';

export interface TestRuntime extends Runtime {
  kind: BackendKind;
  /** Closes the runtime and drops the test database. */
  destroy(): Promise<void>;
}

export const TEST_ADMIN_PASSWORD = 'test-root-password-123';

export async function buildTestRuntime(kind: BackendKind, overrides: Partial<Config> = {}, options: Pick<RuntimeOptions, 'families' | 'alerts' | 'clock' | 'serviceAlertSink' | 'audit'> = {}): Promise<TestRuntime> {
  const t = await openDatabase(kind);
  const config = loadConfig(
    {},
    {
      logLevel: 'silent',
      selfMonitor: false,
      jobs: false,
      adminPassword: TEST_ADMIN_PASSWORD,
      jwtSecret: 'test-jwt-secret-0123456789abcdef0123456789',
      secretKey: 'test-secret-key-0123456789abcdef0123456789',
      ...overrides,
    },
  );
  const rt = await createRuntime(config, { ...options, db: t.db, logger: pino({ level: 'silent' }) });
  await rt.auth.seed();
  await rt.app.ready();
  return {
    ...rt,
    kind,
    async destroy() {
      await rt.close();
      await t.close();
    },
  };
}
