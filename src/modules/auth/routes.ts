/**
 * /api/v1/auth/* (login, refresh, logout, password, me), /api/v1/users and
 * /api/v1/api-keys.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ROLES, SCOPES, type Principal } from '../../domain/access.ts';
import type { App, AppDeps } from '../../http/app.ts';
import { HttpError, problemSchema } from '../../http/problem.ts';
import { pageOf, pageQuery } from '../../http/pagination.ts';
import { idParams } from '../../http/params.ts';
import type { AuthServices } from './index.ts';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from './passwords.ts';
import { toUserView } from './users.ts';
import { canonicalUsername, USERNAME_MAX_LENGTH, USERNAME_RULE } from './usernames.ts';

/** The calling user; API keys are refused on routes that act on "my" account. */
export function requireUser(req: FastifyRequest): Extract<Principal, { kind: 'user' }> {
  const p = req.principal;
  if (p?.kind !== 'user') throw new HttpError(403, 'USER_TOKEN_REQUIRED', 'this endpoint acts on a user account: use a user access token, not an API key');
  return p;
}

export const userView = z
  .object({
    id: z.number().int(),
    username: z.string(),
    role: z.enum(ROLES),
    email: z.string().nullable(),
    disabled: z.boolean(),
    mustChangePassword: z.boolean().describe('The user should change the password (first login with a generated or admin-set password)'),
    createdAt: z.string(),
    updatedAt: z.string(),
    passwordChangedAt: z.string(),
    lastLoginAt: z.string().nullable(),
    telegramId: z.number().int().nullable().describe('Telegram user id: Telegram notification channels that name this user send to it'),
  })
  .describe('A dashboard user');

const tokenResponse = z.object({
  accessToken: z.string().describe('JWT (HS256); send as Authorization: Bearer <accessToken>'),
  tokenType: z.literal('Bearer'),
  expiresIn: z.number().int().describe('Seconds until the access token expires'),
  refreshToken: z.string().describe('Opaque; exchange at POST /api/v1/auth/refresh. Single use: every refresh returns a new one'),
  refreshExpiresIn: z.number().int().describe('Seconds until the refresh token expires'),
  user: userView,
});

const newPassword = z.string().min(PASSWORD_MIN_LENGTH).max(PASSWORD_MAX_LENGTH);
/** A new username, stored in its canonical form (NFKC, lower case, see usernames.ts). */
const username = z
  .string()
  .min(1)
  .max(USERNAME_MAX_LENGTH * 4)
  .transform((v, ctx) => {
    const c = canonicalUsername(v);
    if (c === null) {
      ctx.addIssue({ code: 'custom', message: USERNAME_RULE });
      return z.NEVER;
    }
    return c;
  })
  .describe(`Stored in canonical form (Unicode NFKC, lower case): ${USERNAME_RULE}`);
const noContent = z.null().describe('No content');

/** The password rule (password-policy.ts) in route descriptions. */
const PASSWORD_RULE =
  `Passwords need at least ${PASSWORD_MIN_LENGTH} characters, not only whitespace, must not contain the username and must not be a common password (400 PASSWORD_TOO_WEAK).`;

const USER = { role: 'viewer', scope: 'read' } as const;
/** Appended to the description of routes that act on the caller's own account. */
export const USER_ONLY = 'User access tokens only: API keys get 403 USER_TOKEN_REQUIRED.';
const ADMIN = { role: 'admin', scope: 'admin' } as const;

export function authRoutes(app: App, _deps: AppDeps, s: AuthServices): void {
  app.post(
    '/api/v1/auth/login',
    {
      config: { access: 'public', audit: false },
      schema: {
        tags: ['auth'],
        summary: 'Log in with username and password',
        description:
          'Returns a short-lived access token and a refresh token. An unknown user, a wrong password and a disabled user all get the same 401 INVALID_CREDENTIALS. ' +
          'Usernames are compared in canonical form (Unicode NFKC, lower case). ' +
          'Failed attempts are limited per (username, client address) pair and per client address; over the limit the answer is 429 RATE_LIMITED with Retry-After, ' +
          'the same whether or not the user exists.',
        body: z.strictObject({ username: z.string().min(1).max(128), password: z.string().min(1).max(PASSWORD_MAX_LENGTH) }),
        response: { 200: tokenResponse, 401: problemSchema, 429: problemSchema },
      },
    },
    async (req) => s.sessions.login(req.body.username, req.body.password, req.ip),
  );

  app.post(
    '/api/v1/auth/refresh',
    {
      config: { access: 'public', audit: false },
      schema: {
        tags: ['auth'],
        summary: 'Exchange a refresh token for a new access token and a new refresh token',
        description: 'The presented refresh token is used up. Presenting one that was already used revokes the whole session (401 REFRESH_TOKEN_REUSED).',
        body: z.strictObject({ refreshToken: z.string().min(1).max(256) }),
        response: { 200: tokenResponse, 401: problemSchema },
      },
    },
    async (req) => s.sessions.refresh(req.body.refreshToken),
  );

  app.post(
    '/api/v1/auth/logout',
    {
      config: { access: USER, passwordChangeExempt: true, audit: false },
      // An empty body (with or without a JSON content type) is the same as {}: the body is optional.
      preParsing: async (req, _reply, payload) => {
        const { 'content-length': length, 'transfer-encoding': chunked } = req.headers;
        if (chunked === undefined && (length === undefined || length === '0')) delete req.headers['content-type'];
        return payload;
      },
      preValidation: async (req) => {
        (req as { body: unknown }).body ??= {};
      },
      schema: {
        tags: ['auth'],
        summary: 'Log out: revoke a refresh token (its session) or every session of the caller',
        description: `Access tokens already issued stay valid until they expire (at most the access-token TTL). ${USER_ONLY}`,
        body: z
          .strictObject({
            refreshToken: z.string().min(1).max(256).optional(),
            allSessions: z.boolean().default(false).describe('Revoke every refresh token of the caller'),
          })
          .default({ allSessions: false }),
        response: { 204: noContent },
      },
    },
    async (req, reply) => {
      const u = requireUser(req);
      await s.sessions.logout(u.userId, req.body);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/api/v1/auth/password',
    {
      config: { access: USER, passwordChangeExempt: true },
      schema: {
        tags: ['auth'],
        summary: 'Change your own password',
        description: `${PASSWORD_RULE} Ends every other session (refresh tokens revoked, older access tokens refused) and returns fresh tokens. ${USER_ONLY}`,
        body: z.strictObject({ currentPassword: z.string().min(1).max(PASSWORD_MAX_LENGTH), newPassword }),
        response: { 200: tokenResponse, 429: problemSchema },
      },
    },
    async (req) => s.sessions.changePassword(requireUser(req).userId, req.body.currentPassword, req.body.newPassword, req.ip),
  );

  app.get(
    '/api/v1/auth/me',
    {
      config: { access: USER, passwordChangeExempt: true },
      schema: { tags: ['auth'], summary: 'The calling user', description: USER_ONLY, response: { 200: userView } },
    },
    async (req) => s.sessions.me(requireUser(req).userId),
  );
}

export function userRoutes(app: App, _deps: AppDeps, s: AuthServices): void {
  app.get(
    '/api/v1/users',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['users'],
        summary: 'List users',
        querystring: pageQuery.extend({ role: z.enum(ROLES).optional(), disabled: z.enum(['true', 'false']).transform((v) => v === 'true').optional() }),
        response: { 200: pageOf(userView) },
      },
    },
    async (req) => s.users.list(req.query),
  );

  app.post(
    '/api/v1/users',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['users'],
        summary: 'Create a user',
        description: `Usernames are stored in canonical form and are unique (409 USERNAME_TAKEN). ${PASSWORD_RULE}`,
        body: z.strictObject({
          username,
          password: newPassword,
          role: z.enum(ROLES),
          email: z.email().max(254).nullable().optional(),
          mustChangePassword: z.boolean().default(true).describe('Ask the user to change this password (default true)'),
        }),
        response: { 201: userView, 409: problemSchema },
      },
    },
    async (req, reply) => {
      const row = await s.users.create(req.body);
      return reply.code(201).send(toUserView(row));
    },
  );

  app.patch(
    '/api/v1/users/:id',
    {
      // Any user may reach it (to change their own email); the per-field rules are in UserStore.update.
      config: { access: { role: 'viewer', scope: 'admin' } },
      schema: {
        tags: ['users'],
        summary: 'Change a user: role, disabled, email',
        description:
          'Admins may change any user; other users only their own email. Nobody can raise their own role (403 CANNOT_RAISE_OWN_ROLE); ' +
          'the last active admin cannot be demoted or disabled (409 LAST_ADMIN). Disabling a user ends their sessions immediately.',
        params: idParams,
        body: z.strictObject({
          role: z.enum(ROLES).optional(),
          disabled: z.boolean().optional(),
          email: z.email().max(254).nullable().optional(),
          telegramId: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().optional().describe('Your Telegram user id (message @userinfobot), for Telegram channels that name you'),
        }),
        response: { 200: userView, 404: problemSchema, 409: problemSchema },
      },
    },
    async (req) => {
      if (!req.principal) throw new HttpError(401, 'UNAUTHENTICATED', 'authentication required');
      return toUserView(await s.users.update(req.principal, req.params.id, req.body));
    },
  );
}

const apiKeyView = z.object({
  id: z.number().int(),
  name: z.string(),
  prefix: z.string().describe('Visible part of the key (odk_<prefix>_…)'),
  scopes: z.array(z.enum(SCOPES)),
  status: z.enum(['active', 'expired', 'revoked']),
  createdBy: z
    .number()
    .int()
    .nullable()
    .describe("The user the key acts for: its creator, or the user behind the key it was created with. The key stops working while that user is disabled, and its scopes never exceed that user's role (null: no such user; the key does not work)"),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  lastUsedAt: z.string().nullable().describe('Updated at most once a minute'),
});

export function apiKeyRoutes(app: App, _deps: AppDeps, s: AuthServices): void {
  app.post(
    '/api/v1/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['api-keys'],
        summary: 'Create an API key (the key is shown only in this response)',
        description:
          'Scopes: `read` (queries), `ingest` (POST /api/v1/metrics), `admin` (everything). Send as Authorization: Bearer <key>. ' +
          "The key acts for the calling user: it is refused (401 API_KEY_OWNER_DISABLED) while that user is disabled, and it never gets more than that user's current role allows (admin: any scope; operator: read, ingest; viewer: read).",
        body: z.strictObject({
          name: z.string().trim().min(1).max(100),
          scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length),
          expiresAt: z.iso.datetime({ offset: true }).nullable().optional().describe('Expiry (ISO 8601, in the future); omitted or null: never'),
        }),
        response: { 201: apiKeyView.extend({ key: z.string().describe('The full key. Store it now: it cannot be shown again') }) },
      },
    },
    async (req, reply) => {
      const created = await s.apiKeys.create(req.principal!, {
        name: req.body.name,
        scopes: req.body.scopes,
        expiresAt: req.body.expiresAt ? new Date(req.body.expiresAt) : null,
      });
      return reply.code(201).send(created);
    },
  );

  app.get(
    '/api/v1/api-keys',
    {
      config: { access: ADMIN },
      schema: {
        tags: ['api-keys'],
        summary: 'List API keys (never their secrets)',
        querystring: pageQuery.extend({
          includeInactive: z
            .enum(['true', 'false'])
            .default('false')
            .transform((v) => v === 'true')
            .describe('Also list revoked and expired keys'),
        }),
        response: { 200: pageOf(apiKeyView) },
      },
    },
    async (req) => s.apiKeys.list(req.query),
  );

  app.delete(
    '/api/v1/api-keys/:id',
    {
      config: { access: ADMIN },
      schema: { tags: ['api-keys'], summary: 'Revoke an API key', params: idParams, response: { 204: noContent, 404: problemSchema } },
    },
    async (req, reply) => {
      await s.apiKeys.revoke(req.params.id);
      return reply.code(204).send(null);
    },
  );
}
