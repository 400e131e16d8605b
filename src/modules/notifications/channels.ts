/**
 * Notification channels: create, read, replace, delete. The kind's settings are validated
 * per kind (channel-config.ts); the secret ones are sealed with the SecretBox into one
 * column and never leave this service in clear except to the delivery job (`withSecrets`).
 * A URL or SMTP host whose address the outbound rules refuse is refused when the channel is
 * saved (400 naming the field), and again at every send.
 */
import type { z } from 'zod';
import type { Database } from '../../db/database.ts';
import { ConflictError, InvalidError, NotFoundError, UnavailableError, type FieldIssue } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { SecretKeyError, type SecretBox } from '../../crypto/secrets.ts';
import type { Outbound } from '../../net/outbound.ts';
import type { AlertSeverity } from '../alerts/contracts.ts';
import { isUniqueViolation } from '../auth/users.ts';
import { CHANNEL_CONFIG, REQUIRED_SECRETS, URL_FIELDS, type ChannelSecrets } from './channel-config.ts';
import type { ChannelKind, ChannelRow } from './schema.ts';

/** What seals the secret settings (the SecretBox of src/crypto/secrets.ts). */
export type Sealer = Pick<SecretBox, 'seal' | 'open'>;

/** The sealed secrets are bound to their channel's name (associated data): copied to another row, they do not open. */
const sealContext = (name: string) => `notification_channels.secrets:${name}`;

export interface Channel {
  id: number;
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  /** Names of the secret settings that are set (their values are never returned). */
  secretsSet: string[];
  minSeverity: AlertSeverity;
  groupBy: string[];
  groupWaitSeconds: number;
  groupIntervalSeconds: number;
  repeatIntervalSeconds: number;
  sendResolved: boolean;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A channel with its secrets opened: only for senders. */
export interface ChannelWithSecrets extends Channel {
  secrets: ChannelSecrets;
}

export interface ChannelInput {
  name: string;
  kind: ChannelKind;
  config: Record<string, unknown>;
  /** Secret settings: a string sets one, null clears it, an absent key keeps the stored value (on replace). */
  secrets?: Record<string, string | null | undefined> | undefined;
  minSeverity?: AlertSeverity | undefined;
  groupBy?: string[] | undefined;
  groupWaitSeconds?: number | undefined;
  groupIntervalSeconds?: number | undefined;
  repeatIntervalSeconds?: number | undefined;
  sendResolved?: boolean | undefined;
  enabled?: boolean | undefined;
}

export const DEFAULTS = { minSeverity: 'info', groupBy: ['alertname'], groupWaitSeconds: 30, groupIntervalSeconds: 300, repeatIntervalSeconds: 4 * 3600, sendResolved: true, enabled: true } as const;

export const channelNotFound = (id: number) => new NotFoundError('CHANNEL_NOT_FOUND', `no notification channel ${id}`);

export function toChannel(r: ChannelRow): Channel {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    config: r.config,
    secretsSet: [...r.secret_fields].sort(),
    minSeverity: r.min_severity,
    groupBy: r.group_by,
    groupWaitSeconds: r.group_wait_seconds,
    groupIntervalSeconds: r.group_interval_seconds,
    repeatIntervalSeconds: r.repeat_interval_seconds,
    sendResolved: r.send_resolved,
    enabled: r.enabled,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

function issuesOf(err: z.ZodError, prefix: string): FieldIssue[] {
  return err.issues.map((i) => ({ path: [prefix, ...i.path.map(String)].join('.'), message: i.message }));
}

export class ChannelStore {
  constructor(
    private readonly db: Database,
    private readonly sealer: Sealer,
    private readonly outbound: Outbound,
  ) {}

  async list(opts: { page: number; pageSize: number }): Promise<Page<Channel>> {
    const total = (await this.db.queryOne<{ n: number }>('SELECT count(*)::int AS n FROM notification_channels'))?.n ?? 0;
    const rows = await this.db.queryMany<ChannelRow>('SELECT * FROM notification_channels ORDER BY name, id LIMIT $1 OFFSET $2', [opts.pageSize, (opts.page - 1) * opts.pageSize]);
    return pageResult(rows.map(toChannel), total, opts.page, opts.pageSize);
  }

  async get(id: number): Promise<Channel> {
    return toChannel(await this.row(id));
  }

  /** The channel with its secrets opened, for a sender. */
  async withSecrets(id: number): Promise<ChannelWithSecrets> {
    const channel = this.open(await this.row(id));
    const cfg = channel.config as { username?: string; chatId?: string | number };
    if (channel.kind === 'telegram' && cfg.username !== undefined) {
      // A Telegram channel that names a dashboard user sends to the Telegram id that user set.
      const user = await this.db.queryOne<{ telegram_id: number | null }>('SELECT telegram_id FROM dashboard_users WHERE username = $1 AND NOT disabled', [cfg.username]);
      if (!user?.telegram_id) {
        throw new UnavailableError('TELEGRAM_USER_UNLINKED', `notification channel ${id} names the user ${JSON.stringify(cfg.username)}, who has no Telegram id (PATCH /api/v1/users/{id} with telegramId) or is disabled`);
      }
      return { ...channel, config: { ...channel.config, chatId: user.telegram_id } };
    }
    return channel;
  }

  /** Opens the channel's secrets; UnavailableError CHANNEL_SECRETS_UNREADABLE when they were sealed with a key this process lacks (or altered). */
  open(row: ChannelRow): ChannelWithSecrets {
    let secrets: ChannelSecrets = {};
    if (row.secrets_sealed) {
      try {
        secrets = JSON.parse(this.sealer.open(row.secrets_sealed, sealContext(row.name))) as ChannelSecrets;
      } catch (err) {
        if (!(err instanceof SecretKeyError)) throw err;
        throw new UnavailableError('CHANNEL_SECRETS_UNREADABLE', `the secrets of notification channel ${row.id} do not open: ${err.message}; or enter them again (PUT)`);
      }
    }
    return { ...toChannel(row), secrets };
  }

  async create(input: ChannelInput): Promise<Channel> {
    const v = await this.validate(input, {});
    try {
      const row = await this.db.queryOne<ChannelRow>(
        `INSERT INTO notification_channels (name, kind, config, secrets_sealed, secret_fields, min_severity, group_by,
           group_wait_seconds, group_interval_seconds, repeat_interval_seconds, send_resolved, enabled)
         VALUES ($1, $2, $3::text::jsonb, $4, $5::text::jsonb, $6, $7::text::jsonb, $8, $9, $10, $11, $12) RETURNING *`,
        [input.name, input.kind, ...v.params],
      );
      return toChannel(row!);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
  }

  /** Replaces every setting; secrets absent from the input keep their stored values. The kind cannot change. */
  async replace(id: number, input: ChannelInput): Promise<Channel> {
    const existing = await this.row(id);
    if (existing.kind !== input.kind)
      throw new InvalidError('CHANNEL_KIND_CHANGED', `channel ${id} is a ${existing.kind} channel; create a new channel for another kind`, [{ path: 'kind', message: `must stay ${existing.kind}` }]);
    let stored: ChannelSecrets;
    try {
      stored = this.open(existing).secrets;
    } catch (err) {
      // Unreadable secrets (another key): the admin repairs the channel by entering them again.
      if (!(err instanceof UnavailableError)) throw err;
      stored = {};
    }
    const v = await this.validate(input, stored);
    try {
      const row = await this.db.queryOne<ChannelRow>(
        `UPDATE notification_channels SET name = $2, config = $3::text::jsonb, secrets_sealed = $4, secret_fields = $5::text::jsonb,
           min_severity = $6, group_by = $7::text::jsonb, group_wait_seconds = $8, group_interval_seconds = $9,
           repeat_interval_seconds = $10, send_resolved = $11, enabled = $12, updated_at = now()
         WHERE id = $1 RETURNING *`,
        [id, input.name, ...v.params],
      );
      if (!row) throw channelNotFound(id);
      return toChannel(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw nameTaken(input.name);
      throw err;
    }
  }

  async remove(id: number): Promise<void> {
    const r = await this.db.queryOne<{ id: number }>('DELETE FROM notification_channels WHERE id = $1 RETURNING id', [id]);
    if (!r) throw channelNotFound(id);
  }

  private async row(id: number): Promise<ChannelRow> {
    const row = await this.db.queryOne<ChannelRow>('SELECT * FROM notification_channels WHERE id = $1', [id]);
    if (!row) throw channelNotFound(id);
    return row;
  }

  /** Validates config and secrets for the kind, checks the target addresses, seals the secrets; returns the column values ($3…$12). */
  private async validate(input: ChannelInput, stored: ChannelSecrets): Promise<{ params: unknown[] }> {
    const spec = CHANNEL_CONFIG[input.kind];
    const config = spec.config.safeParse(input.config ?? {});
    if (!config.success) throw new InvalidError('VALIDATION_FAILED', `invalid ${input.kind} channel settings`, issuesOf(config.error, 'config'));
    const given = input.secrets ?? {};
    const parsed = spec.secrets.safeParse(Object.fromEntries(Object.entries(given).filter(([, v]) => v !== null && v !== undefined)));
    if (!parsed.success) throw new InvalidError('VALIDATION_FAILED', `invalid ${input.kind} channel secrets`, issuesOf(parsed.error, 'secrets'));
    const secrets: ChannelSecrets = { ...stored };
    for (const [k, v] of Object.entries(given)) {
      if (v === null) delete secrets[k];
      else if (typeof v === 'string') secrets[k] = v;
    }
    // Keep only the secrets this kind knows (a stored one of a field since removed is dropped).
    const known = new Set(Object.keys(spec.secrets.shape));
    for (const k of Object.keys(secrets)) if (!known.has(k)) delete secrets[k];
    const missing = REQUIRED_SECRETS[input.kind].filter((k) => !secrets[k]);
    if (missing.length) throw new InvalidError('VALIDATION_FAILED', `a ${input.kind} channel needs ${missing.join(', ')}`, missing.map((k) => ({ path: `secrets.${k}`, message: 'required' })));
    const cfg = config.data as Record<string, unknown>;
    await this.checkTargets(input.kind, cfg, secrets);
    const fields = Object.keys(secrets).sort();
    return {
      params: [
        JSON.stringify(cfg),
        fields.length ? this.sealer.seal(JSON.stringify(secrets), sealContext(input.name)) : null,
        JSON.stringify(fields),
        input.minSeverity ?? DEFAULTS.minSeverity,
        JSON.stringify(input.groupBy ?? DEFAULTS.groupBy),
        input.groupWaitSeconds ?? DEFAULTS.groupWaitSeconds,
        input.groupIntervalSeconds ?? DEFAULTS.groupIntervalSeconds,
        input.repeatIntervalSeconds ?? DEFAULTS.repeatIntervalSeconds,
        input.sendResolved ?? DEFAULTS.sendResolved,
        input.enabled ?? DEFAULTS.enabled,
      ],
    };
  }

  /**
   * Refuses a target whose address the outbound rules refuse (400 naming the field). A name
   * that does not resolve now is accepted: DNS may change, and every send checks again.
   */
  private async checkTargets(kind: ChannelKind, config: Record<string, unknown>, secrets: ChannelSecrets): Promise<void> {
    for (const f of URL_FIELDS[kind]) {
      const value = f.in === 'config' ? config[f.field] : secrets[f.field];
      if (typeof value !== 'string') continue;
      const host = f.kind === 'url' ? new URL(value).hostname : value;
      let refused;
      try {
        refused = await this.outbound.check(host);
      } catch {
        continue;
      }
      if (refused)
        throw new InvalidError('OUTBOUND_ADDRESS_REFUSED', refused.message, [{ path: `${f.in}.${f.field}`, message: `${refused.address} is a ${refused.reason} address` }], {
          field: `${f.in}.${f.field}`,
        });
    }
  }
}

const nameTaken = (name: string) => new ConflictError('CHANNEL_NAME_TAKEN', `a notification channel named ${JSON.stringify(name)} exists`);
