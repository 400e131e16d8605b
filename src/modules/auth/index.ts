/**
 * Access control: users (argon2id passwords), JWT access tokens with rotating
 * refresh tokens, API keys, and the user-owned saved views. The composition
 * root (src/runtime.ts) uses `createAuthModule`; the HTTP app calls
 * `authenticator.authenticate` for every non-public route.
 *
 * See sessions.ts for the token design and rate-limit.ts for login limiting.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config.ts';
import type { Database } from '../../db/database.ts';
import type { Authenticator } from '../../domain/access.ts';
import type { RouteModule } from '../../http/app.ts';
import { savedViewRoutes } from '../saved-views/routes.ts';
import { SavedViewStore } from '../saved-views/service.ts';
import { ApiKeyStore } from './api-keys.ts';
import { generatePassword, hashPassword } from './passwords.ts';
import { passwordProblem, WeakPasswordError } from './password-policy.ts';
import { DEFAULT_LOGIN_LIMITS, LoginLimiter, type LoginLimits } from './rate-limit.ts';
import { apiKeyRoutes, authRoutes, userRoutes } from './routes.ts';
import { Sessions } from './sessions.ts';
import { loadJwtSecret, TokenSigner } from './tokens.ts';
import { UserStore } from './users.ts';

export interface AuthModule {
  authenticator: Authenticator;
  /** auth, users, api-keys and saved-views routes. */
  routes: RouteModule;
  /** Idempotent: creates the first admin when there are no users; returns a generated password once. */
  seed(): Promise<{ createdAdmin: boolean; generatedPassword: string | null }>;
  /** The services behind the routes (CLI commands, test helpers). */
  services: AuthServices;
}

export interface AuthServices {
  users: UserStore;
  apiKeys: ApiKeyStore;
  sessions: Sessions;
  savedViews: SavedViewStore;
  limiter: LoginLimiter;
}

export interface AuthModuleOptions {
  /** Failed-login limits (default: 10 per (username, address) pair and 50 per address in 15 min). */
  loginLimits?: LoginLimits;
  /** Password verification at login (default: argon2); tests inject a counting one. */
  verifyPassword?: (hash: string, password: string) => Promise<boolean>;
}

export async function createAuthModule(deps: { db: Database; config: Config; logger: Logger; options?: AuthModuleOptions }): Promise<AuthModule> {
  const { db, config, logger } = deps;
  const secret = await loadJwtSecret(db, config.jwtSecret);
  const signer = new TokenSigner(secret, config.accessTokenTtlSeconds);
  const limiter = new LoginLimiter(deps.options?.loginLimits ?? DEFAULT_LOGIN_LIMITS);
  const users = new UserStore(db);
  const apiKeys = new ApiKeyStore(db, logger);
  const savedViews = new SavedViewStore(db);
  const dummyHash = await hashPassword(generatePassword(32));
  users.onAccessChanged = (userId) => apiKeys.forgetOwner(userId);
  const sessions = new Sessions({ db, config, logger, users, apiKeys, signer, limiter, dummyHash, ...(deps.options?.verifyPassword ? { verifyPassword: deps.options.verifyPassword } : {}) });
  const services: AuthServices = { users, apiKeys, sessions, savedViews, limiter };

  return {
    authenticator: sessions,
    services,
    routes: async (app, appDeps) => {
      authRoutes(app, appDeps, services);
      userRoutes(app, appDeps, services);
      apiKeyRoutes(app, appDeps, services);
      savedViewRoutes(app, appDeps, savedViews);
    },
    async seed() {
      if ((await users.count()) > 0) return { createdAdmin: false, generatedPassword: null };
      // The first admin follows the same password rule as every other password.
      const problem = config.adminPassword === undefined ? null : passwordProblem(config.adminPassword, 'admin');
      if (problem) throw new Error(`OPSDECK_ADMIN_PASSWORD is not acceptable: ${new WeakPasswordError(problem).message}`);
      let generated = config.adminPassword ? null : generatePassword(20);
      while (generated !== null && passwordProblem(generated, 'admin')) generated = generatePassword(20);
      const passwordHash = await hashPassword(config.adminPassword ?? generated!);
      // Concurrent first starts: the unique username index lets exactly one insert win.
      const row = await users.insertHashed({ username: 'admin', passwordHash, role: 'admin', mustChangePassword: generated !== null });
      if (!row) return { createdAdmin: false, generatedPassword: null };
      logger.info({ username: 'admin', generatedPassword: generated !== null }, 'created the first admin user');
      return { createdAdmin: true, generatedPassword: generated };
    },
  };
}
