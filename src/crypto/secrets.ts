/**
 * Secrets Opsdeck must use again (notification channel tokens, SMTP passwords,
 * SSH keys) are kept sealed: AES-256-GCM with a key that is never in the
 * database — OPSDECK_SECRET_KEY, or else a key file created once in the data
 * folder (`secret.key`, mode 0600). A copy of the database alone does not
 * reveal them.
 *
 * Sealed form: `v1.<key id>.<iv>.<tag>.<ciphertext>` (base64url parts). The key
 * id (first 8 bytes of SHA-256 of the key) lets open() say "sealed with
 * another key" instead of a bare authentication failure, and lets a previous
 * key (OPSDECK_SECRET_KEY_PREVIOUS) still open old values after a rotation.
 * `context` is bound as associated data: a value sealed for one row and field
 * does not open as another's.
 *
 * Infrastructure: imports nothing from src/modules.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const VERSION = 'v1';

export class SecretKeyError extends Error {
  constructor(
    readonly code: 'SECRET_KEY_MISMATCH' | 'SECRET_CORRUPT' | 'SECRET_KEY_INVALID',
    message: string,
  ) {
    super(message);
    this.name = 'SecretKeyError';
  }
}

/** A key from its configured text: 64 hex characters or 43/44 base64 characters are taken as the 32 bytes; any other text of at least 32 characters is hashed to 32 bytes. */
export function keyFromText(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === 32) return b;
  }
  if (t.length < 32) throw new SecretKeyError('SECRET_KEY_INVALID', 'a secret key must be at least 32 characters (or 32 bytes as hex/base64)');
  return createHash('sha256').update(t, 'utf8').digest();
}

function keyId(key: Buffer): string {
  return createHash('sha256').update(key).digest().subarray(0, 8).toString('base64url');
}

export class SecretBox {
  private readonly id: string;
  private readonly previous: Map<string, Buffer>;

  constructor(
    private readonly key: Buffer,
    previousKeys: readonly Buffer[] = [],
  ) {
    if (key.length !== 32) throw new SecretKeyError('SECRET_KEY_INVALID', 'a secret key is 32 bytes');
    this.id = keyId(key);
    this.previous = new Map(previousKeys.map((k) => [keyId(k), k]));
  }

  /** Id of the current key (safe to show: it identifies, it does not reveal). */
  get keyId(): string {
    return this.id;
  }

  seal(plaintext: string, context = ''): string {
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', this.key, iv);
    c.setAAD(Buffer.from(`opsdeck:${context}`, 'utf8'));
    const ct = Buffer.concat([c.update(plaintext, 'utf8'), c.final()]);
    return [VERSION, this.id, iv.toString('base64url'), c.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.');
  }

  open(sealed: string, context = ''): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new SecretKeyError('SECRET_CORRUPT', 'not a sealed secret of this Opsdeck version');
    const [, id, iv, tag, ct] = parts as [string, string, string, string, string];
    const key = id === this.id ? this.key : this.previous.get(id);
    if (!key) throw new SecretKeyError('SECRET_KEY_MISMATCH', `sealed with another key (${id}); this Opsdeck has ${this.id} — set OPSDECK_SECRET_KEY (or OPSDECK_SECRET_KEY_PREVIOUS) to the key it was sealed with`);
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
      d.setAAD(Buffer.from(`opsdeck:${context}`, 'utf8'));
      d.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]).toString('utf8');
    } catch {
      throw new SecretKeyError('SECRET_CORRUPT', 'the sealed secret does not open (altered, or sealed for another row or field)');
    }
  }

  /** Whether a value was sealed with an older key (re-seal it with the current one). */
  needsReseal(sealed: string): boolean {
    return sealed.split('.')[1] !== this.id;
  }
}

export interface SecretKeySource {
  /** OPSDECK_SECRET_KEY. */
  secretKey?: string | undefined;
  /** OPSDECK_SECRET_KEY_PREVIOUS (comma-separated). */
  previousKeys?: readonly string[] | undefined;
  dataDir: string;
}

/**
 * The SecretBox of this process: the configured key, else the key file in the data folder
 * (created with 32 random bytes, mode 0600, on first start). Several Opsdeck processes on one
 * database must share the key: set OPSDECK_SECRET_KEY on each.
 */
export function openSecretBox(src: SecretKeySource): { box: SecretBox; source: 'config' | 'file' | 'new-file'; path?: string } {
  const previous = (src.previousKeys ?? []).map(keyFromText);
  if (src.secretKey) return { box: new SecretBox(keyFromText(src.secretKey), previous), source: 'config' };
  const path = join(src.dataDir, 'secret.key');
  if (existsSync(path)) return { box: new SecretBox(keyFromText(readFileSync(path, 'utf8')), previous), source: 'file', path };
  mkdirSync(dirname(path), { recursive: true });
  const key = randomBytes(32);
  writeFileSync(path, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  chmodSync(path, 0o600);
  return { box: new SecretBox(key, previous), source: 'new-file', path };
}
