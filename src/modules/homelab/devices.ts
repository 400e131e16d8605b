/**
 * Home-lab devices: nodes with an SSH target (device_ssh_targets). Registration validates
 * the address, port, key and config paths (a 400 naming the field), seals the private key
 * and its passphrase with the SecretBox (bound to the node and field), and never returns
 * them; the public half is shown for authorized_keys. Host keys: pinned on first contact,
 * a mismatch is kept until an admin accepts the key the device presented.
 */
import { isIP } from 'node:net';
import type { Queryable } from '../../db/database.ts';
import type { SecretBox } from '../../crypto/secrets.ts';
import type { Clock } from '../../domain/clock.ts';
import { ConflictError, InvalidError, NotFoundError } from '../../domain/errors.ts';
import { pageResult, type Page } from '../../domain/paging.ts';
import { configPathProblem } from './commands.ts';
import type { DeviceSshTargetRow, HostKeyState } from './schema.ts';
import { loadSsh2, sshAddressProblem, type SshTarget } from './ssh.ts';
import { DATA_TYPES, type DataType } from './streams.ts';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/** Default collection intervals per data type (seconds), also the cache TTLs. */
export const DEFAULT_INTERVALS: Record<DataType, number> = { system: 60, containers: 120, drives: 3600, config: 300 };

export interface DeviceInput {
  id: string;
  hostname?: string | null | undefined;
  address: string;
  port: number;
  username: string;
  privateKey?: string | undefined;
  passphrase?: string | undefined;
  generate?: boolean | undefined;
  deviceType?: string | null | undefined;
  metadata?: Record<string, unknown> | undefined;
  configPaths?: string[] | undefined;
  schedules?: Partial<Record<DataType, number>> | undefined;
}

export interface DeviceView {
  id: string;
  hostname: string | null;
  deviceType: string | null;
  metadata: Record<string, unknown>;
  address: string;
  port: number;
  username: string;
  authKind: 'uploaded' | 'generated';
  publicKey: string;
  hostKey: { state: HostKeyState; sha256: string | null; pinnedAt: string | null; presentedSha256: string | null; presentedAt: string | null };
  configPaths: string[];
  enabled: boolean;
  lastCollectionAt: string | null;
  lastSuccessfulCollection: string | null;
  lastCollectionStatus: 'success' | 'failed' | 'partial' | null;
  lastError: string | null;
  createdAt: string;
  updatedAt: string;
}

type Row = DeviceSshTargetRow & { hostname: string | null; metadata: Record<string, unknown> };

const iso = (d: Date | null) => d?.toISOString() ?? null;

function toView(r: Row): DeviceView {
  return {
    id: r.node_id,
    hostname: r.hostname,
    deviceType: r.device_type,
    metadata: r.metadata,
    address: r.address,
    port: r.port,
    username: r.username,
    authKind: r.auth_kind,
    publicKey: r.public_key,
    hostKey: { state: r.host_key_state, sha256: r.host_key_sha256, pinnedAt: iso(r.host_key_pinned_at), presentedSha256: r.presented_host_key_sha256, presentedAt: iso(r.presented_at) },
    configPaths: r.config_paths,
    enabled: r.enabled,
    lastCollectionAt: iso(r.last_collection_at),
    lastSuccessfulCollection: iso(r.last_successful_collection),
    lastCollectionStatus: r.last_collection_status,
    lastError: r.last_error,
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

const SELECT = `SELECT t.*, n.hostname, n.metadata FROM device_ssh_targets t JOIN nodes n ON n.id = t.node_id`;

/** Context the sealed fields are bound to. */
export const sealContext = (nodeId: string, field: 'private_key' | 'passphrase') => `device_ssh_targets:${nodeId}:${field}`;

export function addressProblem(address: string): string | null {
  if (isIP(address)) return sshAddressProblem(address) ? `${address} is ${sshAddressProblem(address)}: never an SSH target` : null;
  return HOSTNAME.test(address) ? null : 'must be a host name or an IP address';
}

/** The public key line of a private key, or the reason it does not parse. */
export async function publicKeyOf(privateKey: string, passphrase: string | undefined, comment: string): Promise<{ line: string } | { problem: string }> {
  const { utils } = await loadSsh2();
  const parsed = utils.parseKey(privateKey, passphrase);
  if (parsed instanceof Error) return { problem: `does not parse as an OpenSSH/PEM private key: ${parsed.message}` };
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) return { problem: 'is not a private key' };
  return { line: `${key.type} ${key.getPublicSSH().toString('base64')} ${comment}` };
}

/**
 * A new ed25519 key pair for a device (OpenSSH private key, public key line). ssh2's generator
 * writes a private key its own parser refuses ("Malformed OpenSSH private key") about once in
 * 200 keys (measured: 14 of 3,000), and such a key could never log in: a pair is kept only when
 * it parses back to the same public key.
 */
export async function generateDeviceKey(nodeId: string): Promise<{ private: string; public: string }> {
  const { utils } = await loadSsh2();
  for (let attempt = 0; attempt < 20; attempt++) {
    const pair = utils.generateKeyPairSync('ed25519', { comment: `opsdeck@${nodeId}` });
    const parsed = utils.parseKey(pair.private);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    const publicKey = pair.public.trim();
    if (key && !(key instanceof Error) && key.isPrivateKey() && `${key.type} ${key.getPublicSSH().toString('base64')}` === publicKey.split(' ').slice(0, 2).join(' ')) {
      return { private: pair.private, public: publicKey };
    }
  }
  throw new Error('could not generate an ed25519 key that parses');
}

/** The key of a registration or a key change: generated, or uploaded and parsed. Problems go to `issues`; null when no key was given and none is required. */
async function keyMaterial(
  input: { privateKey?: string | undefined; passphrase?: string | undefined; generate?: boolean | undefined },
  nodeId: string,
  issues: { path: string; message: string }[],
  required: boolean,
): Promise<{ privateKey: string; publicKey: string; authKind: 'uploaded' | 'generated' } | null> {
  if (input.generate) {
    if (input.privateKey) issues.push({ path: 'privateKey', message: 'give a private key or generate: true, not both' });
    const pair = await generateDeviceKey(nodeId);
    return { privateKey: pair.private, publicKey: pair.public, authKind: 'generated' };
  }
  if (input.privateKey) {
    const r = await publicKeyOf(input.privateKey, input.passphrase, `opsdeck@${nodeId}`);
    if ('problem' in r) issues.push({ path: 'privateKey', message: r.problem });
    return { privateKey: input.privateKey, publicKey: 'line' in r ? r.line : '', authKind: 'uploaded' };
  }
  if (input.passphrase !== undefined) issues.push({ path: 'passphrase', message: 'a passphrase belongs to an uploaded private key' });
  if (required) issues.push({ path: 'privateKey', message: 'give a private key or generate: true' });
  return null;
}

/** What an admin may change on a registered device (absent = unchanged); a new key (uploaded or generated) replaces the old one. */
export type DevicePatch = Partial<Omit<DeviceInput, 'id' | 'schedules'>> & {
  /** false: no scheduled collection (collect-now and push still work). */
  enabled?: boolean | undefined;
};

export class DeviceRegistry {
  constructor(private readonly o: { db: Queryable; secrets: SecretBox; clock: Clock }) {}

  async register(input: DeviceInput): Promise<DeviceView> {
    const issues: { path: string; message: string }[] = [];
    const ap = addressProblem(input.address);
    if (ap) issues.push({ path: 'address', message: ap });
    if (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535) issues.push({ path: 'port', message: 'must be 1-65535' });
    (input.configPaths ?? []).forEach((p, i) => {
      const pp = configPathProblem(p);
      if (pp) issues.push({ path: `configPaths.${i}`, message: pp });
    });
    const key = await keyMaterial(input, input.id, issues, true);
    if (issues.length) throw new InvalidError('INVALID_DEVICE', `invalid device: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
    const db = this.o.db;
    const exists = await db.queryOne('SELECT 1 FROM device_ssh_targets WHERE node_id = $1', [input.id]);
    if (exists) throw new ConflictError('DEVICE_EXISTS', `device ${JSON.stringify(input.id)} is already registered`);
    const now = this.o.clock.now();
    await db.query(
      `INSERT INTO nodes (id, hostname, metadata) VALUES ($1, $2, $3::text::jsonb)
       ON CONFLICT (id) DO UPDATE SET hostname = coalesce(EXCLUDED.hostname, nodes.hostname), metadata = nodes.metadata || EXCLUDED.metadata, updated_at = now()`,
      [input.id, input.hostname ?? null, JSON.stringify(input.metadata ?? {})],
    );
    await db.query(
      `INSERT INTO device_ssh_targets (node_id, device_type, address, port, username, auth_kind, private_key_sealed, passphrase_sealed, public_key, config_paths, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::text::jsonb, $11, $11)`,
      [
        input.id,
        input.deviceType ?? null,
        input.address,
        input.port,
        input.username,
        key!.authKind,
        this.o.secrets.seal(key!.privateKey, sealContext(input.id, 'private_key')),
        input.passphrase ? this.o.secrets.seal(input.passphrase, sealContext(input.id, 'passphrase')) : null,
        key!.publicKey,
        JSON.stringify(input.configPaths ?? []),
        now,
      ],
    );
    for (const t of DATA_TYPES) {
      const interval = input.schedules?.[t] ?? DEFAULT_INTERVALS[t];
      await db.query('INSERT INTO device_collection_schedules (node_id, data_type, interval_seconds, next_due_at) VALUES ($1, $2, $3, $4)', [input.id, t, interval, now]);
    }
    return (await this.get(input.id))!;
  }

  async get(id: string): Promise<DeviceView | null> {
    const r = await this.o.db.queryOne<Row>(`${SELECT} WHERE t.node_id = $1`, [id]);
    return r ? toView(r) : null;
  }

  async mustGet(id: string): Promise<DeviceView> {
    const d = await this.get(id);
    if (!d) throw new NotFoundError('DEVICE_NOT_FOUND', `no device ${JSON.stringify(id)}`);
    return d;
  }

  async list(opts: { page: number; pageSize: number; deviceType?: string | undefined; status?: string | undefined }): Promise<Page<DeviceView>> {
    const where = `($1::text IS NULL OR t.device_type = $1) AND ($2::text IS NULL OR t.last_collection_status = $2)`;
    const params = [opts.deviceType ?? null, opts.status ?? null];
    const total = (await this.o.db.queryOne<{ n: number }>(`SELECT count(*)::int AS n FROM device_ssh_targets t WHERE ${where}`, params))?.n ?? 0;
    const rows = await this.o.db.queryMany<Row>(`${SELECT} WHERE ${where} ORDER BY t.node_id LIMIT $3 OFFSET $4`, [...params, opts.pageSize, (opts.page - 1) * opts.pageSize]);
    return pageResult(rows.map(toView), total, opts.page, opts.pageSize);
  }

  /** The collection schedule of a device per data type. */
  async schedules(id: string): Promise<{ dataType: DataType; intervalSeconds: number; enabled: boolean; nextDueAt: string; lastRunAt: string | null }[]> {
    await this.mustGet(id);
    const rows = await this.o.db.queryMany<{ data_type: DataType; interval_seconds: number; enabled: boolean; next_due_at: Date; last_run_at: Date | null }>(
      'SELECT data_type, interval_seconds, enabled, next_due_at, last_run_at FROM device_collection_schedules WHERE node_id = $1 ORDER BY data_type',
      [id],
    );
    return rows.map((r) => ({ dataType: r.data_type, intervalSeconds: r.interval_seconds, enabled: r.enabled, nextDueAt: r.next_due_at.toISOString(), lastRunAt: iso(r.last_run_at) }));
  }

  /** Changes the interval and/or enabled flag of data types; a changed interval is due one interval from now. */
  async setSchedules(id: string, changes: Partial<Record<DataType, { intervalSeconds?: number | undefined; enabled?: boolean | undefined }>>): Promise<Awaited<ReturnType<DeviceRegistry['schedules']>>> {
    await this.mustGet(id);
    const now = this.o.clock.now();
    for (const t of DATA_TYPES) {
      const c = changes[t];
      if (!c) continue;
      await this.o.db.query(
        `UPDATE device_collection_schedules SET interval_seconds = coalesce($3, interval_seconds), enabled = coalesce($4, enabled),
           next_due_at = CASE WHEN $3::int IS NULL THEN next_due_at ELSE $5::timestamptz + make_interval(secs => $3::int) END
         WHERE node_id = $1 AND data_type = $2`,
        [id, t, c.intervalSeconds ?? null, c.enabled ?? null, now],
      );
    }
    return this.schedules(id);
  }

  /** Accepts the host key the device presented (after a mismatch), or re-pins on next contact (`sha256` absent and nothing presented). */
  /**
   * Changes a device. The pinned host key stays: a new address that is another machine
   * presents another key, which stops collection until an admin accepts it. A new key
   * replaces the sealed one (the answer shows its public half for authorized_keys).
   */
  async update(id: string, patch: DevicePatch): Promise<DeviceView> {
    await this.mustGet(id);
    const issues: { path: string; message: string }[] = [];
    if (patch.address !== undefined) {
      const ap = addressProblem(patch.address);
      if (ap) issues.push({ path: 'address', message: ap });
    }
    if (patch.port !== undefined && (!Number.isInteger(patch.port) || patch.port < 1 || patch.port > 65535)) issues.push({ path: 'port', message: 'must be 1-65535' });
    (patch.configPaths ?? []).forEach((p, i) => {
      const pp = configPathProblem(p);
      if (pp) issues.push({ path: `configPaths.${i}`, message: pp });
    });
    const key = await keyMaterial(patch, id, issues, false);
    if (issues.length) throw new InvalidError('INVALID_DEVICE', `invalid device: ${issues.map((i) => `${i.path} ${i.message}`).join('; ')}`, issues);
    const now = this.o.clock.now();
    const db = this.o.db;
    await db.query(
      `UPDATE device_ssh_targets SET
         address = coalesce($2, address), port = coalesce($3, port), username = coalesce($4, username),
         device_type = CASE WHEN $5::boolean THEN $6 ELSE device_type END,
         config_paths = coalesce($7::text::jsonb, config_paths), enabled = coalesce($8, enabled), updated_at = $9
       WHERE node_id = $1`,
      [id, patch.address ?? null, patch.port ?? null, patch.username ?? null, patch.deviceType !== undefined, patch.deviceType ?? null, patch.configPaths ? JSON.stringify(patch.configPaths) : null, patch.enabled ?? null, now],
    );
    if (key) {
      await db.query('UPDATE device_ssh_targets SET auth_kind = $2, private_key_sealed = $3, passphrase_sealed = $4, public_key = $5 WHERE node_id = $1', [
        id,
        key.authKind,
        this.o.secrets.seal(key.privateKey, sealContext(id, 'private_key')),
        patch.passphrase ? this.o.secrets.seal(patch.passphrase, sealContext(id, 'passphrase')) : null,
        key.publicKey,
      ]);
    }
    if (patch.hostname !== undefined || patch.metadata !== undefined) {
      await db.query('UPDATE nodes SET hostname = CASE WHEN $2::boolean THEN $3 ELSE hostname END, metadata = coalesce($4::text::jsonb, metadata), updated_at = now() WHERE id = $1', [
        id,
        patch.hostname !== undefined,
        patch.hostname ?? null,
        patch.metadata ? JSON.stringify(patch.metadata) : null,
      ]);
    }
    return this.mustGet(id);
  }

  /**
   * Stops collecting from a device and forgets how to reach it: its SSH target (address, sealed
   * key, pinned host key), schedules and cache entries. The node and everything it reported stay
   * (they age out with each table's retention).
   */
  async remove(id: string): Promise<void> {
    await this.mustGet(id);
    await this.o.db.query('DELETE FROM cache_metadata WHERE node_id = $1', [id]);
    await this.o.db.query('DELETE FROM device_collection_schedules WHERE node_id = $1', [id]);
    await this.o.db.query('DELETE FROM device_ssh_targets WHERE node_id = $1', [id]);
  }

  async acceptHostKey(id: string, expected?: string): Promise<DeviceView> {
    const d = await this.mustGet(id);
    const presented = d.hostKey.presentedSha256;
    if (!presented) throw new ConflictError('NO_PRESENTED_HOST_KEY', 'the device has not presented a different host key: nothing to accept');
    if (expected && expected !== presented) throw new ConflictError('HOST_KEY_CHANGED_AGAIN', `the device presented ${presented}, not ${expected}`);
    await this.o.db.query(
      `UPDATE device_ssh_targets SET host_key_state = 'pinned', host_key_sha256 = presented_host_key_sha256, host_key_pinned_at = $2,
         presented_host_key_sha256 = NULL, presented_at = NULL, updated_at = $2 WHERE node_id = $1`,
      [id, this.o.clock.now()],
    );
    return this.mustGet(id);
  }

  /** The SSH target with its secrets opened (for the collector only; never returned by the API). */
  async target(id: string): Promise<{ target: SshTarget; state: HostKeyState; configPaths: string[]; enabled: boolean } | null> {
    const r = await this.o.db.queryOne<DeviceSshTargetRow>('SELECT * FROM device_ssh_targets WHERE node_id = $1', [id]);
    if (!r) return null;
    return {
      target: {
        nodeId: r.node_id,
        address: r.address,
        port: r.port,
        username: r.username,
        privateKey: this.o.secrets.open(r.private_key_sealed, sealContext(r.node_id, 'private_key')),
        passphrase: r.passphrase_sealed ? this.o.secrets.open(r.passphrase_sealed, sealContext(r.node_id, 'passphrase')) : undefined,
        pinnedHostKey: r.host_key_state === 'unpinned' ? null : r.host_key_sha256,
      },
      state: r.host_key_state,
      configPaths: r.config_paths,
      enabled: r.enabled,
    };
  }
}
