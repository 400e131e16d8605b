/**
 * The settings of each channel kind: `config` (kept in clear, returned by the API) and
 * `secrets` (sealed with the SecretBox, never returned; the API says which are set). One
 * Zod schema per kind, used by the service to validate a command and by the routes to
 * document the body. `URL_FIELDS` names the fields whose host the outbound rules check
 * when a channel is saved.
 */
import { z } from 'zod';
import type { ChannelKind } from './schema.ts';

const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return (u.protocol === 'http:' || u.protocol === 'https:') && u.hostname !== '' && u.username === '' && u.password === '';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL without credentials in it');

const headerName = z.string().regex(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,64}$/, 'must be an HTTP header name');
const headerValue = z.string().max(1024).regex(/^[^\r\n\0]*$/, 'must not contain line breaks');
/** Headers Opsdeck sets itself on a webhook request. */
const RESERVED_HEADERS = new Set(['host', 'content-type', 'content-length', 'x-opsdeck-timestamp', 'x-opsdeck-signature', 'authorization', 'connection', 'transfer-encoding']);

const email = z.string().max(320).regex(/^[^\s@<>,;]+@[^\s@<>,;]+$/, 'must be an email address');
const hostName = z.string().min(1).max(253).regex(/^[A-Za-z0-9.:[\]-]+$/, 'must be a host name or an IP address');

export const CHANNEL_CONFIG = {
  webhook: {
    config: z.strictObject({
      url: httpUrl.describe('Where the JSON body is POSTed'),
      headers: z
        .record(headerName, headerValue)
        .default({})
        .refine((h) => Object.keys(h).every((k) => !RESERVED_HEADERS.has(k.toLowerCase())), 'Content-Type, Authorization and the X-Opsdeck-* signature headers are set by Opsdeck')
        .describe('Extra request headers (not secret; put a credential in secrets.authorization)'),
    }),
    secrets: z.strictObject({
      hmacSecret: z.string().min(16).max(512).nullable().optional().describe('Signing secret: X-Opsdeck-Signature v1=<hex HMAC-SHA256 of timestamp + "." + body>'),
      authorization: headerValue.min(1).nullable().optional().describe('Value of the Authorization header'),
    }),
  },
  email: {
    config: z.strictObject({
      host: hostName.describe('SMTP server (checked by the outbound rules like any other address)'),
      port: z.number().int().min(1).max(65535).default(587),
      secure: z.boolean().default(false).describe('Implicit TLS (port 465); otherwise STARTTLS when the server offers it'),
      requireTls: z.boolean().default(false).describe('Refuse to send unless STARTTLS succeeds'),
      user: z.string().min(1).max(256).nullable().default(null).describe('SMTP login (its password is secrets.password)'),
      from: email,
      to: z.array(email).min(1).max(50),
    }),
    secrets: z.strictObject({
      password: z.string().min(1).max(512).nullable().optional().describe('SMTP password'),
    }),
  },
  slack: {
    config: z.strictObject({}),
    secrets: z.strictObject({
      webhookUrl: httpUrl.describe('Slack incoming-webhook URL (it is a credential, so it is sealed)'),
    }),
  },
  telegram: {
    config: z
      .strictObject({
        chatId: z
          .union([z.string().regex(/^(-?[0-9]{1,20}|@[A-Za-z0-9_]{5,64})$/, 'must be a numeric chat id or @channelusername'), z.number().int()])
          .optional()
          .describe('Chat, group or channel id (or give `username`)'),
        username: z.string().min(1).max(64).optional().describe('A dashboard user instead of a chat: messages go to the Telegram id the user set (`telegramId`, PATCH /api/v1/users/{id})'),
        apiBaseUrl: httpUrl.default('https://api.telegram.org').describe('Bot API base URL (a local Bot API server, tests)'),
      })
      .refine((c) => (c.chatId === undefined) !== (c.username === undefined), { message: 'give chatId or username, one of the two', path: ['chatId'] }),
    secrets: z.strictObject({
      botToken: z.string().regex(/^[0-9]{1,20}:[A-Za-z0-9_-]{20,100}$/, 'must be a Telegram bot token (123456:ABC…)').describe('Bot token from @BotFather'),
    }),
  },
  inapp: {
    config: z.strictObject({}),
    secrets: z.strictObject({}),
  },
  alertmanager: {
    config: z.strictObject({
      url: httpUrl.describe('Alertmanager base URL; alerts are POSTed to <url>/api/v2/alerts'),
      username: z.string().min(1).max(256).nullable().default(null).describe('Basic-auth user (its password is secrets.password)'),
      repostIntervalSeconds: z
        .number()
        .int()
        .min(10)
        .max(3600)
        .default(60)
        .describe("Firing alerts are posted again this often until resolved; keep it well under Alertmanager's resolve_timeout (default 5 min)"),
    }),
    secrets: z.strictObject({
      password: z.string().min(1).max(512).nullable().optional().describe('Basic-auth password'),
    }),
  },
} as const satisfies Record<ChannelKind, { config: z.ZodType; secrets: z.ZodType }>;

export type ChannelConfig<K extends ChannelKind> = z.output<(typeof CHANNEL_CONFIG)[K]['config']>;
export type ChannelSecrets = Record<string, string>;

/** Fields whose host must pass the outbound rules, as (where, field) pairs. */
export const URL_FIELDS: Record<ChannelKind, { in: 'config' | 'secrets'; field: string; kind: 'url' | 'host' }[]> = {
  webhook: [{ in: 'config', field: 'url', kind: 'url' }],
  email: [{ in: 'config', field: 'host', kind: 'host' }],
  slack: [{ in: 'secrets', field: 'webhookUrl', kind: 'url' }],
  telegram: [{ in: 'config', field: 'apiBaseUrl', kind: 'url' }],
  inapp: [],
  alertmanager: [{ in: 'config', field: 'url', kind: 'url' }],
};

/** Secrets a kind cannot work without. */
export const REQUIRED_SECRETS: Record<ChannelKind, string[]> = {
  webhook: [],
  email: [],
  slack: ['webhookUrl'],
  telegram: ['botToken'],
  inapp: [],
  alertmanager: [],
};
