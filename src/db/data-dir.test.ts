import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirError, secureDataDir } from './data-dir.ts';

const mode = (p: string) => (lstatSync(p).mode & 0o777).toString(8);

test('secureDataDir tightens an existing data folder and its embedded database to the owner (0700 / 0600), and leaves what is not Opsdeck\'s', () => {
  const root = mkdtempSync(join(tmpdir(), 'opsdeck-datadir-'));
  const outside = join(root, 'outside.txt');
  try {
    const data = join(root, 'data');
    mkdirSync(join(data, 'pglite', 'base', '1'), { recursive: true });
    writeFileSync(join(data, 'pglite', 'PG_VERSION'), '17');
    writeFileSync(join(data, 'pglite', 'base', '1', '1247'), '');
    writeFileSync(join(data, 'tool.sh'), '');
    writeFileSync(outside, 'not ours');
    chmodSync(outside, 0o644);
    symlinkSync(outside, join(data, 'link'));
    for (const d of [data, join(data, 'pglite'), join(data, 'pglite', 'base'), join(data, 'pglite', 'base', '1')]) chmodSync(d, 0o777);
    chmodSync(join(data, 'pglite', 'PG_VERSION'), 0o666);
    chmodSync(join(data, 'pglite', 'base', '1', '1247'), 0o644);
    chmodSync(join(data, 'tool.sh'), 0o755);
    writeFileSync(join(data, 'pglite', 'postmaster.sh'), '');
    chmodSync(join(data, 'pglite', 'postmaster.sh'), 0o755);

    secureDataDir(data);

    assert.deepEqual(
      [data, join(data, 'pglite'), join(data, 'pglite', 'base'), join(data, 'pglite', 'base', '1')].map(mode),
      ['700', '700', '700', '700'],
    );
    assert.equal(mode(join(data, 'pglite', 'PG_VERSION')), '600');
    assert.equal(mode(join(data, 'pglite', 'base', '1', '1247')), '600');
    assert.equal(mode(join(data, 'tool.sh')), '755', 'a file that is not Opsdeck\'s keeps its mode (the 0700 folder already closes it to others)');
    assert.equal(mode(join(data, 'pglite', 'postmaster.sh')), '700', "the owner's execute bit stays");
    assert.equal((statSync(outside).mode & 0o777).toString(8), '644', 'a symbolic link is not followed');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('secureDataDir creates a missing data folder owner-only whatever the umask', () => {
  const root = mkdtempSync(join(tmpdir(), 'opsdeck-datadir-'));
  const previous = process.umask(0o022);
  try {
    const data = join(root, 'new', 'data');
    secureDataDir(data);
    assert.equal(mode(data), '700');
  } finally {
    process.umask(previous);
    rmSync(root, { recursive: true, force: true });
  }
});

test('secureDataDir: a data folder that cannot be created is a DataDirError that names it, not a raw file-system error', () => {
  const root = mkdtempSync(join(tmpdir(), 'opsdeck-datadir-'));
  try {
    // Under a regular file: no user, root included, can create it.
    writeFileSync(join(root, 'file'), '');
    const data = join(root, 'file', 'data');
    assert.throws(
      () => secureDataDir(data),
      (err: unknown) => {
        assert.ok(err instanceof DataDirError, String(err));
        assert.match(err.message, new RegExp(`cannot create the data folder ${data} \\(ENOTDIR\\)`));
        assert.match(err.message, /OPSDECK_DATA_DIR/);
        return true;
      },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
