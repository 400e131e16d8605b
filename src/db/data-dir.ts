/**
 * The data folder (OPSDECK_DATA_DIR) holds the embedded database, whose files
 * include the generated JWT secret (in its tables and WAL): it must be the
 * owner's only. Folders are 0700 and files 0600. PGlite unpacks its initial
 * cluster with the archive's modes (0666 files), so the tree is tightened again
 * after the database is created; what PostgreSQL creates later is 0600, and the
 * process umask (0077, set by the CLI) covers the rest.
 */
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export class DataDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataDirError';
  }
}

/** Owner-only modes: folders 0700, files 0600 (an owner's execute bit on a file is kept). */
const tightened = (mode: number, dir: boolean) => (dir ? 0o700 : mode & 0o700);

/**
 * Removes group and other permissions from `path` and everything under it. Symbolic
 * links are neither followed nor changed. Returns how many entries were changed;
 * throws DataDirError naming the entry when one cannot be changed (another owner).
 */
export function tightenTree(path: string): number {
  let changed = 0;
  const walk = (p: string) => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if (tightenOne(p, st)) changed++;
    if (st.isDirectory()) for (const name of readdirSync(p)) walk(join(p, name));
  };
  walk(path);
  return changed;
}

/** Removes group and other permissions from one entry (not following a symbolic link); true when it changed. */
function tightenOne(p: string, st = lstatSync(p)): boolean {
  if (st.isSymbolicLink() || (st.mode & 0o077) === 0) return false;
  try {
    chmodSync(p, tightened(st.mode & 0o777, st.isDirectory()));
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DataDirError(
      `${p} is open to other users (mode ${(st.mode & 0o777).toString(8)}) and cannot be made owner-only (${code}); run Opsdeck as its owner or fix it with: chmod -R go-rwx ${p}`,
    );
  }
}

/** What Opsdeck itself keeps in the data folder (tightened as a whole tree). */
export const OWN_ENTRIES = ['pglite'] as const;

/**
 * Creates the data folder owner-only, or tightens an existing one: the folder itself
 * (0700, which already closes everything in it to other users) and Opsdeck's own
 * entries in it, recursively. Other entries keep their modes, so a data folder set
 * to a folder that holds other things (a home folder, say) does not have all of
 * them rewritten. Returns its absolute path.
 */
export function secureDataDir(dataDir: string): string {
  const dir = resolve(dataDir);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    throw new DataDirError(`cannot create the data folder ${dir} (${code}): set OPSDECK_DATA_DIR to a folder this user can create or owns`);
  }
  tightenOne(dir);
  for (const name of OWN_ENTRIES) {
    const p = join(dir, name);
    if (existsSync(p)) tightenTree(p);
  }
  return dir;
}
