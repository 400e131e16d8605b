/**
 * The only commands the home-lab collector ever runs on a device (ADR 0022). Each is a
 * constant string: no text from a device or a user is ever interpolated into one. ssh2's
 * exec hands the string to the remote user's shell, so the one argument that is not a
 * constant — the drive path of `smartctl --json -a <dev>`, taken from smartctl's own scan
 * output — is accepted only when it matches DRIVE_NAME_PATTERN (`/dev/` + lower-case
 * letters, digits, `/ _ -`, no `..`), which leaves the shell nothing to interpret.
 * Configuration files are read over SFTP (no shell at all).
 */
import { createHash } from 'node:crypto';
import { DRIVE_NAME_PATTERN, type DataType } from './streams.ts';

export const SYSTEM_COMMANDS = {
  stat: 'cat /proc/stat',
  meminfo: 'cat /proc/meminfo',
  loadavg: 'cat /proc/loadavg',
  netdev: 'cat /proc/net/dev',
  diskstats: 'cat /proc/diskstats',
  df: 'df -P -B1',
} as const;

export const CONTAINER_COMMANDS = {
  dockerPs: "docker ps -a --no-trunc --format '{{json .}}'",
  dockerStats: "docker stats --no-stream --no-trunc --format '{{json .}}'",
  podmanPs: 'podman ps -a --format json',
} as const;

export const DRIVE_SCAN_COMMAND = 'smartctl --scan-open --json';

/** Every command string that can ever be sent, for the docs and the tests. */
export const ALLOWED_COMMANDS: readonly string[] = [...Object.values(SYSTEM_COMMANDS), ...Object.values(CONTAINER_COMMANDS), DRIVE_SCAN_COMMAND, 'smartctl --json -a /dev/<drive>'];

/** Whether a drive path from a scan may be used in a command. */
export function isSafeDriveName(name: string): boolean {
  return DRIVE_NAME_PATTERN.test(name) && !name.includes('..') && name.length <= 128;
}

/** `smartctl --json -a <drive>` for a validated drive path; throws for anything else. */
export function smartctlCommand(drive: string): string {
  if (!isSafeDriveName(drive)) throw new Error(`refused drive name ${JSON.stringify(drive)}`);
  return `smartctl --json -a ${drive}`;
}

/** The commands (or file paths) behind a data type, hashed: the cache key's command part. */
export function commandHash(dataType: DataType, extra: readonly string[] = []): string {
  const parts: readonly string[] =
    dataType === 'system' ? Object.values(SYSTEM_COMMANDS) : dataType === 'containers' ? Object.values(CONTAINER_COMMANDS) : dataType === 'drives' ? [DRIVE_SCAN_COMMAND] : [];
  return createHash('sha256').update([dataType, ...parts, ...extra].join('\n')).digest('hex');
}

/** A configuration path an admin may list: absolute, no `..` segment, no NUL, at most 1024 bytes. */
export function configPathProblem(path: string): string | null {
  if (!path.startsWith('/')) return 'must be an absolute path';
  if (path.includes('\0')) return 'must not contain NUL';
  if (path.split('/').includes('..')) return 'must not contain ..';
  if (Buffer.byteLength(path) > 1024) return 'must be at most 1024 bytes';
  return null;
}
